"""Fidelity scores: a real-vs-synthetic classifier and the Fréchet distance in a feature space.

The other fidelity scores live by concern and are re-exported here: power spectra
(:mod:`~mne_dualdiv.metrics.spectra`: :func:`welch_psd`, :class:`BandPowerCorrelationFeatures`,
:func:`psd_distance`) and spatial covariance (:mod:`~mne_dualdiv.metrics.covariance`:
:func:`mean_covariance`, :func:`log_euclidean_distance`, :func:`covariance_distance`).
"""

import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .._checks import check_int, check_random_state
from .._docs import fill_doc
from ._base import (MetricScore, check_classifier, check_sfreq, matched_sizes, prepare_sets,
                    seed_from, subsample)
from .covariance import covariance_distance, log_euclidean_distance, mean_covariance
from .spectra import BandPowerCorrelationFeatures, psd_distance, welch_psd

__all__ = ["psd_distance", "covariance_distance", "discriminative_score", "frechet_distance",
           "welch_psd", "mean_covariance", "log_euclidean_distance",
           "BandPowerCorrelationFeatures", "default_discriminator"]


def default_discriminator(sfreq=None):
    """The default real-vs-synthetic classifier of :func:`discriminative_score`.

    Parameters
    ----------
    sfreq : float | None
        Sampling frequency passed to the feature map.

    Returns
    -------
    classifier : sklearn.pipeline.Pipeline
        :class:`BandPowerCorrelationFeatures` → ``StandardScaler`` → ``LogisticRegression``
        (L2, ``C=1``, liblinear solver), taking arrays (n_samples, n_channels, n_times).
    """
    return make_pipeline(BandPowerCorrelationFeatures(sfreq=check_sfreq(sfreq)),
                         StandardScaler(), LogisticRegression(C=1.0, solver="liblinear"))


def _paired_folds(n_pairs, n_splits, rng):
    """Folds in which the i-th real and the i-th other sample are always tested together."""
    folds = np.array_split(rng.permutation(n_pairs), n_splits)
    for test_pairs in folds:
        test = np.r_[test_pairs, test_pairs + n_pairs]
        yield np.setdiff1d(np.arange(2 * n_pairs), test), test


def _discrimination(real, other, classifier, n_splits, seed):
    X = np.concatenate([real, other])
    y = np.r_[np.zeros(len(real), dtype=int), np.ones(len(other), dtype=int)]
    cv = list(_paired_folds(len(real), n_splits, np.random.default_rng(seed)))
    accuracy = cross_val_score(clone(classifier), X, y, cv=cv, scoring="accuracy").mean()
    return float(abs(accuracy - 0.5)), float(accuracy)


@fill_doc
def discriminative_score(train, heldout, synthetic, sfreq=None, classifier=None, n_splits=5,
                         random_state=None):
    """How well a cross-validated classifier tells a set from real held-out data, |acc - 0.5|.

    The held-out set and the other set are subsampled to the same size ``n`` (the smallest of
    the three sets), labelled 0 and 1, and classified with ``n_splits``-fold cross validation;
    the score is ``|accuracy - 0.5|``: 0 means indistinguishable from real data, 0.5 perfectly
    distinguishable. The folds are balanced and paired: the ``i``-th held-out and the ``i``-th
    other sample are always in the same fold. Without the pairing, a set of exact copies of the
    held-out samples would score far from 0, because each copy would be classified by its
    twin, seen in training with the opposite label (accuracy well below 0.5).

    Parameters
    ----------
    %(train_heldout_synthetic)s
    sfreq : float | None
        Sampling frequency in Hz for the default classifier (taken from Epochs when None).
    classifier : None | sklearn estimator
        A classifier taking arrays (n_samples, n_channels, n_times); cloned before use. None
        uses :func:`default_discriminator`.
    n_splits : int
        Number of cross-validation folds (at least 2).
    random_state : None | int | numpy.random.Generator
        Seed of the subsampling and of the folds.

    Returns
    -------
    score : MetricScore
        ``'discriminative_score'`` (lower is better): synthetic vs held-out; reference: training
        vs held-out. ``details``: ``accuracy_synthetic``, ``accuracy_reference``, ``n_samples``
        (per class).
    """
    train, heldout, synthetic, sfreq = prepare_sets(train, heldout, synthetic, sfreq)
    n_splits = check_int("n_splits", n_splits, minimum=2)
    rng = check_random_state(random_state)
    n = min(len(train), len(heldout), len(synthetic))
    if n < n_splits:
        raise ValueError(f"discriminative_score needs at least n_splits={n_splits} samples in "
                         f"every set, but the smallest set has {n}.")
    if check_classifier(classifier) is None:
        classifier = default_discriminator(sfreq)
    heldout_a, train_n, synthetic_n = (subsample(X, n, rng) for X in (heldout, train, synthetic))
    seed = seed_from(rng)
    score_syn, acc_syn = _discrimination(heldout_a, synthetic_n, classifier, n_splits, seed)
    score_ref, acc_ref = _discrimination(heldout_a, train_n, classifier, n_splits, seed)
    return MetricScore("discriminative_score", "fidelity", score_syn, score_ref, "lower",
                       details=dict(accuracy_synthetic=acc_syn, accuracy_reference=acc_ref,
                                    n_samples=n))


def _frechet(features_a, features_b):
    mean_a, mean_b = features_a.mean(0), features_b.mean(0)
    cov_a = np.atleast_2d(np.cov(features_a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(features_b, rowvar=False))
    # Tr((A B)^1/2) = Tr((A^1/2 B A^1/2)^1/2), computed on a symmetric matrix for stability.
    eigenvalues, eigenvectors = np.linalg.eigh(cov_a)
    sqrt_a = (eigenvectors * np.sqrt(np.maximum(eigenvalues, 0))) @ eigenvectors.T
    middle = sqrt_a @ cov_b @ sqrt_a
    trace_sqrt = np.sqrt(np.maximum(np.linalg.eigvalsh((middle + middle.T) / 2), 0)).sum()
    distance = ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt
    return float(max(distance, 0.0))


@fill_doc
def frechet_distance(train, heldout, synthetic, sfreq=None, n_components=20, random_state=None):
    """Fréchet distance between Gaussians fitted to two sets in a fixed feature space.

    Every sample is mapped by :class:`BandPowerCorrelationFeatures` (log band powers of each
    channel and the channel correlations), standardised with the training set's feature means
    and standard deviations, and projected on the ``n_components`` first principal axes of the
    training features. The distance between sets with feature means ``m1, m2`` and covariances
    ``S1, S2`` is ``|m1 - m2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` (as FID, without a learned
    network). It is 0 for identical sets and grows with the sampling noise of small sets, so
    compare it only with the reference computed at the same size.

    Parameters
    ----------
    %(train_heldout_synthetic)s
    sfreq : float | None
        Sampling frequency in Hz (taken from Epochs when None).
    n_components : int
        Number of principal axes kept (at most ``n_train - 1`` and the number of features).
    %(random_state_train_synthetic)s

    Returns
    -------
    score : MetricScore
        ``'frechet_distance'`` (lower is better): synthetic vs held-out; reference: training vs
        held-out. ``details``: ``n_components``, ``n_samples``.
    """
    train, heldout, synthetic, sfreq = prepare_sets(train, heldout, synthetic, sfreq,
                                                    min_samples=3)
    n_components = check_int("n_components", n_components, minimum=1)
    features = BandPowerCorrelationFeatures(sfreq=sfreq)
    train_features = features.fit_transform(train)
    scaler = StandardScaler().fit(train_features)
    n_components = min(n_components, len(train) - 1, train_features.shape[1])
    pca = PCA(n_components=n_components, svd_solver="full").fit(scaler.transform(train_features))

    def project(X):
        return pca.transform(scaler.transform(features.transform(X)))

    train_sub, synthetic_sub = matched_sizes(train, synthetic, check_random_state(random_state))
    projected_heldout = project(heldout)
    return MetricScore(
        "frechet_distance", "fidelity", _frechet(project(synthetic_sub), projected_heldout),
        _frechet(project(train_sub), projected_heldout), "lower",
        details=dict(n_components=n_components, n_samples=len(synthetic_sub)))
