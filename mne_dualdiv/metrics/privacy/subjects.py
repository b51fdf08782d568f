"""Subject re-identification: can synthetic epochs be linked to the subjects they came from?

EEG identifies its subject (spatial patterns, spectra, electrode noise), so a synthetic cohort
whose epochs a subject classifier assigns to training subjects is not anonymous, whatever its
epoch-level membership AUC. :func:`subject_linkage` trains a subject classifier on the real
epochs and applies it to the synthetic ones, next to two references measured the same way on
real epochs: held-out epochs of the same subjects (cross-validated) and epochs of subjects the
classifier never saw (leave-subjects-out).
"""

import math
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..._checks import check_float, check_int, check_labels, check_random_state
from ..._docs import fill_doc
from .._base import as_data, check_classifier, check_same_shape, check_sfreq, seed_from
from ..spectra import BandPowerCorrelationFeatures

#: Posterior probability from which an epoch counts as linked to a subject. Measured on the
#: simulated cohort (``benchmarks/privacy_choices.py``, ``docs/privacy.md``): at 0.9,
#: held-out epochs of training subjects were linked about 4 times as often as epochs of
#: subjects the classifier never saw (8 subjects; 9 times with 20); at 0.5 only 1.2 to 1.8
#: times as often (a multinomial classifier is confident on new subjects too).
LINK_THRESHOLD = 0.9
#: Folds of the cross-validated real references.
N_SPLITS = 5
#: Fewest subjects for the unseen-subject reference (with two, a fold would train on one).
MIN_UNSEEN_SUBJECTS = 3


def default_subject_classifier(sfreq=None):
    """The subject classifier of :func:`subject_linkage`.

    The fixed features of the fidelity metrics (log band powers of every channel and the
    channel correlations, :class:`~mne_dualdiv.metrics.BandPowerCorrelationFeatures`), then a
    multinomial logistic regression. On the simulated cohort these features told held-out
    epochs of 8 subjects apart at 0.93-0.98 accuracy, against 0.83-0.84 for the matrix
    logarithm of the channel covariance, 0.64-0.71 for the log-variances and correlations and
    0.12-0.18 (chance: 0.125) for 20 principal components of the images (``docs/privacy.md``).

    Parameters
    ----------
    sfreq : float | None
        Sampling frequency passed to the features (None: cycles per sample).

    Returns
    -------
    classifier : sklearn.pipeline.Pipeline
        ``BandPowerCorrelationFeatures`` → ``StandardScaler`` → ``LogisticRegression`` (L2,
        ``C=1``, lbfgs: one multinomial model whose probabilities over subjects sum to 1),
        taking arrays (n_epochs, n_channels, n_times).
    """
    return make_pipeline(BandPowerCorrelationFeatures(sfreq=check_sfreq(sfreq)),
                         StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


@dataclass(frozen=True)
class SubjectLinkage:
    """The result of :func:`subject_linkage`.

    Parameters
    ----------
    measure : 'accuracy' | 'linked_share'
        ``'accuracy'`` when the synthetic epochs carry their source subject: the share
        assigned to it. ``'linked_share'`` otherwise: the share of synthetic epochs assigned
        to some training subject with a probability of at least ``threshold``.
    linkage_rate : float
        The synthetic epochs' rate in ``measure``.
    real_heldout_rate : float
        The same rate for real held-out epochs of the training subjects (cross-validated):
        what releasing more real epochs of the same subjects would give.
    chance : float
        ``1 / n_subjects``: the accuracy of a guess.
    unseen_subject_rate : float
        The linked share of real epochs of subjects the classifier never saw
        (leave-subjects-out): what an anonymous cohort gives; NaN with fewer than 3 subjects.
    synthetic_accuracy, synthetic_linked_share : float
        Both rates of the synthetic epochs (the accuracy NaN without their source subjects).
    real_heldout_accuracy, real_heldout_linked_share : float
        Both rates of the real held-out epochs.
    linked_per_subject : dict
        Training subject -> synthetic epochs linked to it.
    linked_subjects : int
        Training subjects with at least one linked synthetic epoch. A linked share read
        without it can mislead: a release that a confident classifier sends to one subject
        wholesale (an average of the cohort, say) reads as fully linked, to one subject.
    threshold : float
        The probability from which an epoch counts as linked.
    n_subjects, n_real, n_synthetic : int
        Sizes.
    """

    measure: str
    linkage_rate: float
    real_heldout_rate: float
    chance: float
    unseen_subject_rate: float
    synthetic_accuracy: float
    synthetic_linked_share: float
    real_heldout_accuracy: float
    real_heldout_linked_share: float
    linked_per_subject: dict
    linked_subjects: int
    threshold: float
    n_subjects: int
    n_real: int
    n_synthetic: int

    def to_dict(self):
        """The fields as plain Python values, for JSON."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def __repr__(self):
        unseen = ("" if math.isnan(self.unseen_subject_rate)
                  else f", unseen subjects {self.unseen_subject_rate:.3f}")
        return (f"<SubjectLinkage | {self.measure} {self.linkage_rate:.3f} of "
                f"{self.n_synthetic} synthetic epochs; real held-out {self.real_heldout_rate:.3f}"
                f", chance {self.chance:.3f}{unseen}; linked to {self.linked_subjects} of "
                f"{self.n_subjects} subjects>")


def _column(epochs, column, name):
    metadata = getattr(epochs, "metadata", None)
    if metadata is None or column not in metadata.columns:
        raise ValueError(f"groups={column!r} names a metadata column, but {name} has "
                         f"{'no metadata' if metadata is None else 'no such column'}; pass "
                         "one subject per epoch instead.")
    return metadata[column].to_numpy()


def check_groups(real, synthetic, groups, synthetic_groups, n_real, n_synthetic, n_splits):
    """The subjects of the real and (when known) synthetic epochs, checked by name."""
    if isinstance(groups, str):
        column = groups
        groups = _column(real, column, "real")
        metadata = getattr(synthetic, "metadata", None)
        if (synthetic_groups is None and metadata is not None and column in metadata.columns
                and not metadata[column].isna().any()):
            synthetic_groups = metadata[column].to_numpy()
    if groups is None:
        raise TypeError("groups must be one subject per real epoch or a metadata column name, "
                        "got None.")
    groups = check_labels("groups", groups, n_real)
    subjects, counts = np.unique(groups, return_counts=True)
    if len(subjects) < 2:
        raise ValueError(f"groups must hold at least 2 subjects, got {len(subjects)} "
                         f"({subjects.tolist()}).")
    if counts.min() < n_splits:
        raise ValueError(f"groups: subject {subjects[np.argmin(counts)].item()!r} has "
                         f"{counts.min()} epoch(s); the cross-validated real rate needs at least "
                         f"n_splits={n_splits} epochs per subject.")
    if synthetic_groups is not None:
        synthetic_groups = check_labels("synthetic_groups", synthetic_groups, n_synthetic)
        unknown = sorted(set(synthetic_groups.tolist()) - set(subjects.tolist()))
        if unknown:
            raise ValueError(f"synthetic_groups holds subjects that are not in groups: "
                             f"{unknown[:5]}.")
    return groups, synthetic_groups


def _linked(probabilities, threshold):
    return probabilities.max(1) >= threshold


def _unseen_subject_share(classifier, X, groups, n_splits, threshold):
    """Linked share of real epochs of subjects left out of the classifier's training."""
    linked = np.empty(len(X), dtype=bool)
    for train, test in GroupKFold(n_splits=min(n_splits, len(np.unique(groups)))).split(
            X, groups, groups):
        model = clone(classifier).fit(X[train], groups[train])
        linked[test] = _linked(model.predict_proba(X[test]), threshold)
    return float(linked.mean())


@fill_doc
def subject_linkage(real, synthetic, groups, synthetic_groups=None, classifier=None,
                    threshold=LINK_THRESHOLD, n_splits=N_SPLITS, sfreq=None,
                    random_state=None):
    """Whether synthetic epochs can be linked to the subjects of the real epochs.

    A subject classifier is trained on the real epochs and applied to the synthetic ones.
    When the synthetic epochs carry their source subject (a generator fitted per subject),
    the linkage rate is the share assigned to it, against chance (``1 / n_subjects``) and the
    cross-validated accuracy on real held-out epochs of the same subjects. Otherwise (one
    generator for the cohort) it is the share of synthetic epochs assigned to a training
    subject with a probability of at least ``threshold``, against the same share for real
    held-out epochs of the training subjects and for real epochs of subjects the classifier
    never saw: a synthetic cohort that is anonymous links like the latter.

    Parameters
    ----------
    real : array-like, shape (n_real, n_channels, n_times) | mne.Epochs
        The real epochs the generator was fitted on, of several subjects.
    synthetic : array-like, shape (n_synthetic, n_channels, n_times) | mne.Epochs
        Generated epochs, in the same units.
    %(subject_groups)s
    synthetic_groups : None | array-like, shape (n_synthetic,)
        The source subject of every synthetic epoch, when known.
    classifier : None | sklearn classifier
        The subject classifier, with ``predict_proba`` (None:
        :func:`default_subject_classifier`); cloned for every fit.
    threshold : float
        Probability in (0, 1] from which an epoch counts as linked to a subject.
    n_splits : int
        Folds of the cross-validated references (every subject needs that many epochs).
    sfreq : float | None
        Sampling frequency in Hz for the default classifier; taken from Epochs when None.
    random_state : None | int | numpy.random.Generator
        Seed of the cross-validation folds.

    Returns
    -------
    linkage : SubjectLinkage

    References
    ----------
    .. [1] Marcel S, Millan JR (2007). Person authentication using brainwaves (EEG) and maximum
           a posteriori model adaptation. IEEE Trans Pattern Anal Mach Intell 29(4):743-752.
    .. [2] Fraschini M, Hillebrand A, Demuru M, Didaci L, Marcialis GL (2015). An EEG-based
           biometric system using eigenvector centrality in resting state brain networks.
           IEEE Signal Process Lett 22(6):666-670.
    """
    n_splits = check_int("n_splits", n_splits, minimum=2)
    threshold = check_float("threshold", threshold, low=0.0, high=1.0, low_inclusive=False)
    check_classifier(classifier)
    rng = check_random_state(random_state)
    X, real_sfreq, _ = as_data(real, "real", min_samples=2)
    synthetic_X, synthetic_sfreq, _ = as_data(synthetic, "synthetic", min_samples=1)
    check_same_shape("real", X, synthetic=synthetic_X)
    groups, synthetic_groups = check_groups(real, synthetic, groups, synthetic_groups, len(X),
                                             len(synthetic_X), n_splits)
    sfreq = check_sfreq(sfreq) or real_sfreq or synthetic_sfreq
    classifier = default_subject_classifier(sfreq) if classifier is None else classifier

    subjects = np.unique(groups)
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed_from(rng))
    heldout = cross_val_predict(clone(classifier), X, groups, cv=folds, method="predict_proba")
    real_accuracy = float(np.mean(subjects[heldout.argmax(1)] == groups))
    real_linked = float(_linked(heldout, threshold).mean())
    unseen = (_unseen_subject_share(classifier, X, groups, n_splits, threshold)
              if len(subjects) >= MIN_UNSEEN_SUBJECTS else math.nan)

    model = clone(classifier).fit(X, groups)
    probabilities = model.predict_proba(synthetic_X)
    predicted = model.classes_[probabilities.argmax(1)]
    linked = _linked(probabilities, threshold)
    synthetic_accuracy = (math.nan if synthetic_groups is None
                          else float(np.mean(predicted == synthetic_groups)))
    by_accuracy = synthetic_groups is not None
    linked_per_subject = {str(subject): int(np.sum(linked & (predicted == subject)))
                          for subject in model.classes_}
    return SubjectLinkage(
        measure="accuracy" if by_accuracy else "linked_share",
        linkage_rate=synthetic_accuracy if by_accuracy else float(linked.mean()),
        real_heldout_rate=real_accuracy if by_accuracy else real_linked,
        chance=1.0 / len(subjects), unseen_subject_rate=unseen,
        synthetic_accuracy=synthetic_accuracy, synthetic_linked_share=float(linked.mean()),
        real_heldout_accuracy=real_accuracy, real_heldout_linked_share=real_linked,
        linked_per_subject=linked_per_subject,
        linked_subjects=sum(count > 0 for count in linked_per_subject.values()),
        threshold=threshold, n_subjects=len(subjects), n_real=len(X),
        n_synthetic=len(synthetic_X))
