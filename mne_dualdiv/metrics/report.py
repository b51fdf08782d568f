"""`evaluate`: every score of a synthetic set against real data, as one report with plots.

The report object itself (table, figures, HTML page) is :class:`EvaluationReport`, defined in
:mod:`._report_html` and importable from here.
"""

from .._checks import check_bool, check_int, check_labels, check_random_state
from .._logging import logger, use_verbose
from ._base import MetricScore, check_classifier, prepare_sets, scaled_flat
from ._report_html import EvaluationReport, check_html_name
from .fidelity import covariance_distance, discriminative_score, frechet_distance, psd_distance
from .information import (MIN_DIVERGENCE_SAMPLES, check_estimator_params, cluster_divergence,
                          dual_space, entropy_score, ood_rate, sample_divergence,
                          total_correlation)
from .privacy import (MIN_ENSEMBLE_NONMEMBERS, MIN_NONMEMBERS, check_privacy_sets,
                      membership_audit, privacy_scores, subject_linkage)
from .privacy.subjects import N_SPLITS, check_groups
from .utility import augmentation_score, tstr_score

#: Every metric of :func:`evaluate`, in report order, with its category.
METRICS = {
    "psd_distance": "fidelity",
    "covariance_distance": "fidelity",
    "discriminative_score": "fidelity",
    "frechet_distance": "fidelity",
    "sample_divergence": "information",
    "knn_entropy": "information",
    "max_cluster_divergence": "information",
    "channel_total_correlation": "information",
    "ood_rate": "information",
    "tstr_score": "utility",
    "augmentation_score": "utility",
    "median_dcr": "privacy",
    "membership_inference_auc": "privacy",
    "nndr": "privacy",
    "share_closer_to_members": "privacy",
    "membership_ensemble_auc": "privacy",
    "subject_linkage_rate": "privacy",
}
#: The metrics computed together by :func:`privacy_report_scores`.
PRIVACY_METRICS = ("median_dcr", "membership_inference_auc", "nndr", "share_closer_to_members")
_GROUPS = ("all", "fidelity", "information", "utility", "privacy")


def _privacy_details(members, nonmembers, synthetic, random_state):
    sets = check_privacy_sets(members, nonmembers, synthetic)
    return privacy_scores(*scaled_flat(*sets), random_state=random_state)


def privacy_report_scores(members, nonmembers, synthetic, random_state=None):
    """The four same-pool privacy scores of a synthetic set, as :class:`MetricScore` objects.

    Channels are scaled with the members' robust statistics before the Euclidean distances of
    :func:`~mne_dualdiv.metrics.privacy_scores` are taken. Members and non-members must come
    from the same pool of real samples: the generator was fitted on the members and never saw
    the non-members (``docs/metrics.md``, "Privacy").

    Parameters
    ----------
    members : array-like, shape (n_members, n_channels, n_times) | mne.Epochs
        The real samples the generator was fitted on.
    nonmembers : array-like, shape (n_nonmembers, n_channels, n_times) | mne.Epochs
        Real samples from the same pool that the generator never saw (at least 4).
    synthetic : array-like, shape (n_synthetic, n_channels, n_times) | mne.Epochs
        Generated samples.
    random_state : None | int | numpy.random.Generator
        Seed of the subsampling to equal sizes and of the reference's split.

    Returns
    -------
    scores : list of MetricScore
        ``'median_dcr'`` (scaled units, higher is more private; reference: the non-members'
        median distance to the closest member), ``'membership_inference_auc'`` (lower is
        better, reference about 0.5), ``'nndr'`` (higher is better, reference about 1) and
        ``'share_closer_to_members'`` (lower is better, reference about 0.5). The references
        of the last three release real non-members instead of synthetic samples. Every
        ``details`` is the full :func:`~mne_dualdiv.metrics.privacy_scores` dict.
    """
    d = _privacy_details(members, nonmembers, synthetic, random_state)
    return [
        MetricScore("median_dcr", "privacy", d["median_dcr_synthetic"],
                    d["median_dcr_nonmembers"], "higher", unit="scaled", details=d),
        MetricScore("membership_inference_auc", "privacy", d["membership_inference_auc"],
                    d["reference_membership_inference_auc"], "lower", details=d),
        MetricScore("nndr", "privacy", d["nndr"], d["reference_nndr"], "higher", details=d),
        MetricScore("share_closer_to_members", "privacy", d["share_closer_to_members"],
                    d["reference_share_closer_to_members"], "lower", details=d),
    ]


def membership_ensemble_score(members, nonmembers, synthetic, random_state=None):
    """The attack ensemble's headline as a :class:`MetricScore`.

    ``synthetic`` is the maximum AUC of :func:`~mne_dualdiv.metrics.membership_audit`'s
    attacks, ``reference`` the same maximum for a release of real non-members (lower is
    better); ``details`` is the audit's :meth:`~MembershipAudit.to_dict` (every attack's AUC
    and interval, the most exposed members).
    """
    audit = membership_audit(members, nonmembers, synthetic, random_state=random_state)
    return MetricScore("membership_ensemble_auc", "privacy", audit.max_auc,
                       audit.reference_max_auc, "lower", details=audit.to_dict())


def subject_linkage_score(real, synthetic, groups, synthetic_groups=None, sfreq=None,
                          random_state=None):
    """The subject audit's linkage rate as a :class:`MetricScore`.

    ``synthetic`` is :func:`~mne_dualdiv.metrics.subject_linkage`'s ``linkage_rate``,
    ``reference`` the same rate for real held-out epochs of the training subjects (lower is
    better); ``details`` is the linkage's :meth:`~SubjectLinkage.to_dict` (chance, the
    unseen-subject rate, the synthetic epochs linked to each subject).
    """
    linkage = subject_linkage(real, synthetic, groups, synthetic_groups=synthetic_groups,
                              sfreq=sfreq, random_state=random_state)
    return MetricScore("subject_linkage_rate", "privacy", linkage.linkage_rate,
                       linkage.real_heldout_rate, "lower", details=linkage.to_dict())


def check_metrics(metrics, name="metrics"):
    """``{metric: required}`` of what ``metrics`` names: names asked for explicitly are required.

    ``metrics`` is ``'all'``, a category, a metric name (see :data:`METRICS`) or a non-empty
    list of them; anything else is a TypeError (not a str) or a ValueError (an unknown name)
    naming ``name``.
    """
    items = [metrics] if isinstance(metrics, str) else metrics
    if not isinstance(items, (list, tuple)) or not items:
        raise TypeError(f"{name} must be 'all', a category name, a metric name or a non-empty "
                        f"list of them, got {metrics!r}.")
    wanted = {}
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{name} must hold metric or category names (str), got "
                            f"{type(item).__name__} {item!r:.40}.")
        if item in METRICS:
            wanted[item] = True
        elif item in _GROUPS:
            for metric, category in METRICS.items():
                if item == "all" or category == item:
                    wanted.setdefault(metric, False)
        else:
            allowed = ", ".join(repr(x) for x in (*_GROUPS, *METRICS))
            raise ValueError(f"Invalid value for the '{name}' parameter. Allowed values are "
                             f"{allowed}, but got {item!r} instead.")
    return {metric: wanted[metric] for metric in METRICS if metric in wanted}


def _check_options(train, generator, fit_estimators, estimator_params, classifier,
                   n_components):
    """The arguments of :func:`evaluate` that are not data, checked before any metric runs."""
    if train is None:
        raise TypeError("train must be an array (n_train, n_channels, n_times) or mne.Epochs, "
                        "got None.")
    if generator is not None:
        dual_space(generator)  # what ood_rate will need
    check_bool("fit_estimators", fit_estimators)
    check_estimator_params(estimator_params)
    check_classifier(classifier)
    check_int("n_components", n_components, minimum=1)


def evaluate(train, heldout, synthetic, sfreq=None, y_train=None, y_heldout=None,
             y_synthetic=None, generator=None, metrics="all", fit_estimators=False,
             estimator_params=None, classifier=None, n_components=10, nonmembers=None,
             groups=None, synthetic_groups=None, random_state=None, verbose=None):
    """Score a synthetic set against real held-out data, next to real training data.

    Every metric compares the synthetic set with the real held-out set and gives the same
    metric for the real training set as the reference (or, for properties of a single set,
    the held-out set's value); see ``docs/metrics.md``.

    Parameters
    ----------
    train : array-like, shape (n_train, n_channels, n_times) | mne.Epochs
        The real samples the generator was fitted on.
    heldout : array-like, shape (n_heldout, n_channels, n_times) | mne.Epochs
        Real samples the generator never saw.
    synthetic : array-like, shape (n_synthetic, n_channels, n_times) | mne.Epochs
        Generated samples, in the same units.
    sfreq : float | None
        Sampling frequency in Hz; taken from Epochs when None, else frequencies are in cycles
        per sample (only labels change).
    y_train, y_heldout, y_synthetic : array-like | None
        Class labels; the utility metrics run only when all three are given.
    generator : DualDivergenceGenerator | None
        A generator fitted on ``train``; the OOD rate (and
        :meth:`EvaluationReport.plot_dual_histogram`) runs only when given. The samples of any
        method (a baseline's too) can be scored under the end points of a dual-divergence
        generator fitted on the same training set. A private generator's epsilon, delta and
        privacy unit (``privacy_``) are shown with the scores.
    metrics : str | list of str
        ``'all'``, a category (``'fidelity'``, ``'information'``, ``'utility'``,
        ``'privacy'``), metric names (see :data:`METRICS`), or a list of them. Metrics reached
        through ``'all'`` or a category are skipped (and listed in ``report.skipped``) when
        their inputs are missing; a metric named explicitly raises an error instead.
    fit_estimators : bool
        Let ``'all'`` and ``'information'`` include ``'sample_divergence'``, which fits three
        fresh path estimators (the costliest metric). Naming it in ``metrics`` also runs it.
    estimator_params : dict | None
        Settings of those estimators (see
        :data:`~mne_dualdiv.metrics.information.DEFAULT_DIVERGENCE_PARAMS`).
    classifier : None | sklearn classifier
        The classifier of the utility metrics (None: :func:`default_classifier`).
    n_components : int
        Principal components of the entropy and cluster-divergence space.
    nonmembers : array-like, shape (n_nonmembers, n_channels, n_times) | mne.Epochs | None
        Real samples from the same pool as ``train`` that the generator never saw (at least
        4): the privacy metrics compare members (``train``) with them, so that they measure
        membership and not a shift between ``train`` and ``heldout`` (``docs/metrics.md``,
        "Privacy"). Without them the privacy metrics are skipped. When ``heldout`` comes from
        the same pool as ``train``, pass it here too. ``'membership_ensemble_auc'`` (the
        attack ensemble, :func:`~mne_dualdiv.metrics.membership_audit`) needs at least 8.
    groups : None | array-like, shape (n_train,) | str
        The subject of every training epoch, or the name of the column of ``train.metadata``
        that holds it: ``'subject_linkage_rate'``
        (:func:`~mne_dualdiv.metrics.subject_linkage`) runs only when given, and needs at
        least 2 subjects of at least 5 epochs each.
    synthetic_groups : None | array-like, shape (n_synthetic,)
        The source subject of every synthetic epoch, when known (a column of
        ``synthetic.metadata`` named by ``groups`` is read when it has no missing values).
    random_state : None | int | numpy.random.Generator
        Seed of all subsampling, cross-validation, clustering and estimator fits; each metric
        gets its own seed, so a metric's value does not depend on which others are computed.
    verbose : None | bool | str
        Logging level.

    Returns
    -------
    report : EvaluationReport
        ``report.to_dataframe()``, ``report['psd_distance']``, ``report.plot_metrics()``, ...
    """
    with use_verbose(verbose):
        wanted = check_metrics(metrics)
        _check_options(train, generator, fit_estimators, estimator_params, classifier,
                       n_components)
        train_data, heldout_data, synthetic_data, sfreq = prepare_sets(train, heldout, synthetic,
                                                                       sfreq)
        for name, y, X in (("y_train", y_train, train_data),
                           ("y_heldout", y_heldout, heldout_data),
                           ("y_synthetic", y_synthetic, synthetic_data)):
            if y is not None:
                check_labels(name, y, len(X))
        ch_names = next((X.info["ch_names"] for X in (train, heldout, synthetic)
                         if hasattr(X, "info")), None)
        labels = dict(y_train=y_train, y_heldout=y_heldout, y_synthetic=y_synthetic)
        rng = check_random_state(random_state)
        seeds = dict(zip(METRICS, rng.integers(2**31 - 1, size=len(METRICS))))
        data = (train_data, heldout_data, synthetic_data)
        have_labels = all(v is not None for v in labels.values())
        n_min = min(len(X) for X in data)
        missing = {
            "ood_rate": None if generator is not None else "no generator given",
            "tstr_score": None if have_labels else "y_train, y_heldout and y_synthetic needed",
            "augmentation_score": None if have_labels else
            "y_train, y_heldout and y_synthetic needed",
        }
        if nonmembers is not None:  # checked before any metric runs
            _, nonmembers, _ = check_privacy_sets(train_data, nonmembers, synthetic_data,
                                                  ("train", "nonmembers", "synthetic"))
            if len(nonmembers) < MIN_NONMEMBERS:
                raise ValueError(f"nonmembers must have at least {MIN_NONMEMBERS} samples, got "
                                 f"{len(nonmembers)}.")
            if len(nonmembers) < MIN_ENSEMBLE_NONMEMBERS:
                missing["membership_ensemble_auc"] = (
                    f"needs at least {MIN_ENSEMBLE_NONMEMBERS} nonmembers, got {len(nonmembers)}")
        else:
            for name in (*PRIVACY_METRICS, "membership_ensemble_auc"):
                missing[name] = ("nonmembers needed: real samples from the same pool as train "
                                 "that the generator never saw")
        if groups is not None or synthetic_groups is not None:  # checked before any metric runs
            check_groups(train, synthetic, groups, synthetic_groups, len(train_data),
                         len(synthetic_data), N_SPLITS)
        else:
            missing["subject_linkage_rate"] = "groups needed: the subject of every train epoch"
        if not (fit_estimators or wanted.get("sample_divergence")):
            missing["sample_divergence"] = "fit_estimators=False"
        elif n_min < MIN_DIVERGENCE_SAMPLES:
            missing["sample_divergence"] = (f"needs at least {MIN_DIVERGENCE_SAMPLES} samples "
                                            f"per set, the smallest has {n_min}")
        computers = {
            "psd_distance": lambda s: psd_distance(*data, sfreq=sfreq, random_state=s),
            "covariance_distance": lambda s: covariance_distance(*data, random_state=s),
            "discriminative_score": lambda s: discriminative_score(*data, sfreq=sfreq,
                                                                   random_state=s),
            "frechet_distance": lambda s: frechet_distance(*data, sfreq=sfreq, random_state=s),
            "sample_divergence": lambda s: sample_divergence(
                *data, estimator_params=estimator_params, random_state=s),
            "knn_entropy": lambda s: entropy_score(*data, n_components=n_components,
                                                   random_state=s),
            "max_cluster_divergence": lambda s: cluster_divergence(
                *data, n_components=n_components, random_state=s),
            "channel_total_correlation": lambda s: total_correlation(*data, random_state=s),
            "ood_rate": lambda s: ood_rate(heldout_data, synthetic_data, generator),
            "tstr_score": lambda s: tstr_score(*data, classifier=classifier, **labels),
            "augmentation_score": lambda s: augmentation_score(*data, classifier=classifier,
                                                               **labels),
            "membership_ensemble_auc": lambda s: membership_ensemble_score(
                train_data, nonmembers, synthetic_data, random_state=s),
            "subject_linkage_rate": lambda s: subject_linkage_score(
                train, synthetic, groups, synthetic_groups, sfreq=sfreq, random_state=s),
        }
        privacy = {}
        for name in PRIVACY_METRICS:
            def compute(_seed, name=name):
                if not privacy:  # the four scores come from one computation
                    privacy.update((score.name, score) for score in privacy_report_scores(
                        train_data, nonmembers, synthetic_data, random_state=seeds["median_dcr"]))
                return privacy[name]
            computers[name] = compute
        scores, skipped = [], {}
        for name, required in wanted.items():
            reason = missing.get(name)
            if reason is not None and required:
                raise ValueError(f"The metric {name!r} was asked for but cannot be computed: "
                                 f"{reason}.")
            if reason is not None:
                logger.info("Skipping %s: %s", name, reason)
                skipped[name] = reason
                continue
            logger.info("Computing %s", name)
            scores.append(computers[name](int(seeds[name])))
        dual_values_train = getattr(generator, "dual_values_train_", None)
    return EvaluationReport(
        scores, skipped,
        n_samples=dict(train=len(train_data), heldout=len(heldout_data),
                       synthetic=len(synthetic_data)),
        sfreq=sfreq, ch_names=ch_names, dual_values_train=dual_values_train,
        differential_privacy=getattr(generator, "privacy_", None))
