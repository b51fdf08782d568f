"""Fidelity scores: power spectra, spatial covariance, a real-vs-synthetic classifier, Fréchet."""

import numpy as np
from scipy.signal import welch
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .._checks import check_array_3d, check_int, check_random_state
from ._base import (MetricScore, check_classifier, check_sfreq, matched_sizes, prepare_sets,
                    seed_from, subsample)

# Relative floor of eigenvalues and spectra before a logarithm: keeps rank-deficient inputs finite.
_RELATIVE_LOG_FLOOR = 1e-10
# Samples processed at once by the spectra, covariances and features: the temporary arrays of
# Welch's segments and of the channel correlations stay a fixed size for any number of samples.
_BATCH_SIZE = 256


def _batches(n_samples):
    """Slices of at most ``_BATCH_SIZE`` consecutive samples covering ``range(n_samples)``."""
    batch_size = _BATCH_SIZE
    return [slice(start, min(start + batch_size, n_samples))
            for start in range(0, n_samples, batch_size)]


def welch_psd(X, sfreq=None, n_per_seg=None):
    """Welch power spectral density of every channel of every sample.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_channels, n_times)
        The data: finite real values (NaN or Inf raise a ValueError). Not modified.
    sfreq : float | None
        Sampling frequency in Hz. None gives frequencies in cycles per sample (sfreq = 1).
    n_per_seg : int | None
        Welch segment length in samples, from 2 to ``n_times``; None uses
        ``min(n_times, 256)``. Hann window, 50 % overlap, constant detrending (scipy's
        defaults).

    Returns
    -------
    freqs : ndarray, shape (n_freqs,)
        Frequencies in Hz (or cycles per sample), without the DC bin.
    psd : ndarray, shape (n_samples, n_channels, n_freqs)
        Power spectral density in the data's units squared per Hz.
    """
    return _welch(check_array_3d(X, "X"), sfreq, n_per_seg)


def _welch(X, sfreq, n_per_seg):
    """:func:`welch_psd` of a validated float64 array."""
    sfreq = check_sfreq(sfreq)
    n_times = X.shape[-1]
    if n_per_seg is None:
        n_per_seg = min(n_times, 256)
    n_per_seg = check_int("n_per_seg", n_per_seg, minimum=2)
    if n_per_seg > n_times:
        raise ValueError(f"n_per_seg must be at most n_times={n_times}, got {n_per_seg}.")
    freqs, psd = welch(X, fs=1.0 if sfreq is None else sfreq, nperseg=n_per_seg, axis=-1)
    # The DC bin is removed by the detrending and would only add noise in log scale.
    return freqs[1:], psd[..., 1:]


def _band_edges(n_freqs, n_bands):
    """Indices of ``n_bands`` log-spaced, non-empty bands covering ``n_freqs`` bins."""
    edges = np.round(np.geomspace(1, n_freqs + 1, n_bands + 1)).astype(int) - 1
    return np.unique(edges)


class BandPowerCorrelationFeatures(TransformerMixin, BaseEstimator):
    """A fixed feature map of channel x time images: log band powers and channel correlations.

    For each sample: the natural log of the mean Welch power of every channel in ``n_bands``
    log-spaced frequency bands (from the lowest non-zero Welch frequency to Nyquist, so the
    same definition works for EEG at 100 Hz and for extracellular data at 30 kHz), followed by
    the upper triangle (without the diagonal) of the channel correlation matrix computed over
    the sample's time points. Nothing is learned: ``fit`` only checks the input.

    Parameters
    ----------
    sfreq : float | None
        Sampling frequency in Hz (None: cycles per sample). The bands are defined on the
        Welch frequency bins, so ``sfreq`` does not change the features.
    n_bands : int
        Number of log-spaced bands (fewer when the spectrum has fewer bins).
    n_per_seg : int | None
        Welch segment length (see :func:`welch_psd`).

    Attributes
    ----------
    n_features_out_ : int
        Number of features: ``n_channels * n_bands_used + n_channels * (n_channels - 1) / 2``.
    n_channels_, n_times_ : int
        Image size seen in ``fit``; ``transform`` of a fitted map refuses other sizes.

    Notes
    -----
    The features are computed in batches of 256 samples, so the temporary arrays (Welch
    segments, correlation matrices) do not grow with the number of samples.
    """

    def __init__(self, sfreq=None, n_bands=6, n_per_seg=None):
        self.sfreq = sfreq
        self.n_bands = n_bands
        self.n_per_seg = n_per_seg

    def fit(self, X, y=None):
        """Check the input and record the number of output features.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_channels, n_times)
            The data: finite real values. Not modified.
        y : None
            Ignored.

        Returns
        -------
        self : BandPowerCorrelationFeatures
        """
        X = check_array_3d(X, "X")
        for name in ("n_channels_", "n_times_"):  # a refit accepts any size
            self.__dict__.pop(name, None)
        self.n_features_out_ = self._features(X[:1]).shape[1]
        self.n_channels_, self.n_times_ = X.shape[1:]
        return self

    def transform(self, X):
        """Compute the features.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_channels, n_times)
            The data: finite real values, of the size seen in ``fit`` when fitted. Not
            modified.

        Returns
        -------
        features : ndarray, shape (n_samples, n_features)
        """
        X = check_array_3d(X, "X", *self._fitted_size)
        parts = [self._features(X[rows]) for rows in _batches(len(X))]
        return np.concatenate(parts)

    @property
    def _fitted_size(self):
        return (self.n_channels_, self.n_times_) if hasattr(self, "n_channels_") else (None, None)

    def _features(self, X):
        """The features of a validated float64 array (one batch)."""
        check_int("n_bands", self.n_bands, minimum=1)
        _, psd = _welch(X, self.sfreq, self.n_per_seg)
        edges = _band_edges(psd.shape[-1], self.n_bands)
        powers = np.stack([psd[..., lo:hi].mean(-1) for lo, hi in zip(edges[:-1], edges[1:])],
                          axis=-1)
        log_powers = np.log(np.maximum(powers, np.finfo(float).tiny))
        centered = X - X.mean(-1, keepdims=True)
        norms = np.linalg.norm(centered, axis=-1, keepdims=True)
        # A flat channel has no defined correlation; count it as uncorrelated.
        unit = np.divide(centered, norms, out=np.zeros_like(centered), where=norms > 0)
        correlation = unit @ unit.transpose(0, 2, 1)
        rows, cols = np.triu_indices(X.shape[1], k=1)
        return np.concatenate([log_powers.reshape(len(X), -1), correlation[:, rows, cols]], 1)


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


def _mean_log_psd(X, sfreq, n_per_seg):
    """Mean Welch PSD over samples, in dB, accumulated batch by batch."""
    total = 0.0
    for rows in _batches(len(X)):
        freqs, psd = _welch(X[rows], sfreq, n_per_seg)
        total = total + psd.sum(0)
    mean = total / len(X)
    return freqs, 10 * np.log10(np.maximum(mean, _RELATIVE_LOG_FLOOR * mean.max()))


def psd_distance(train, heldout, synthetic, sfreq=None, n_per_seg=None, random_state=None):
    """Distance between the average log power spectra of each channel, in dB.

    For each set, the Welch PSD of every channel is averaged over samples and converted to dB;
    the distance of a channel is the root-mean-square over frequencies (DC excluded) of the dB
    difference, and the score is its mean over channels. Identical sets score 0; the value does
    not depend on the units (a factor on the data shifts both spectra alike).

    Parameters
    ----------
    train, heldout, synthetic : array-like, shape (n, n_channels, n_times) | mne.Epochs
        Real training, real held-out and synthetic samples.
    sfreq : float | None
        Sampling frequency in Hz (taken from Epochs when None). Only labels the frequencies.
    n_per_seg : int | None
        Welch segment length (see :func:`welch_psd`).
    random_state : None | int | numpy.random.Generator
        Seed of the subsampling that gives the training and synthetic sets the same size.

    Returns
    -------
    score : MetricScore
        ``'psd_distance'`` (dB, lower is better): synthetic vs held-out; reference: training vs
        held-out. ``details``: ``per_channel_synthetic``, ``per_channel_reference`` (ndarray,
        shape (n_channels,)), ``freqs`` and the dB spectra ``psd_train``, ``psd_heldout``,
        ``psd_synthetic`` (ndarray, shape (n_channels, n_freqs)), ``n_samples``.
    """
    train, heldout, synthetic, sfreq = prepare_sets(train, heldout, synthetic, sfreq)
    train, synthetic = matched_sizes(train, synthetic, check_random_state(random_state))
    freqs, psd_heldout = _mean_log_psd(heldout, sfreq, n_per_seg)
    _, psd_train = _mean_log_psd(train, sfreq, n_per_seg)
    _, psd_synthetic = _mean_log_psd(synthetic, sfreq, n_per_seg)
    per_channel_syn = np.sqrt(((psd_synthetic - psd_heldout) ** 2).mean(-1))
    per_channel_ref = np.sqrt(((psd_train - psd_heldout) ** 2).mean(-1))
    return MetricScore(
        "psd_distance", "fidelity", float(per_channel_syn.mean()), float(per_channel_ref.mean()),
        "lower", unit="dB",
        details=dict(per_channel_synthetic=per_channel_syn, per_channel_reference=per_channel_ref,
                     freqs=freqs, psd_train=psd_train, psd_heldout=psd_heldout,
                     psd_synthetic=psd_synthetic, n_samples=len(synthetic)))


def mean_covariance(X):
    """Channel covariance over time of each sample (mean removed), averaged over samples.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_channels, n_times)
        The data: finite real values. Not modified.

    Returns
    -------
    covariance : ndarray, shape (n_channels, n_channels)
    """
    return _mean_covariance(check_array_3d(X, "X"))


def _mean_covariance(X):
    """:func:`mean_covariance` of a validated array, accumulated batch by batch."""
    total = 0.0
    for rows in _batches(len(X)):
        centered = X[rows] - X[rows].mean(-1, keepdims=True)
        total = total + np.einsum("nct,ndt->cd", centered, centered)
    return total / (len(X) * max(X.shape[-1] - 1, 1))


def _check_covariance(matrix, name):
    """A finite, square, symmetric float64 matrix (symmetric up to rounding), or a clear error."""
    try:
        matrix = np.array(matrix, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of real numbers: {err}") from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix (n_channels, n_channels), "
                         f"got shape {matrix.shape}.")
    if not np.isfinite(matrix).all():
        raise ValueError(f"{name} contains NaN or Inf values.")
    scale = max(np.abs(matrix).max(), np.finfo(float).tiny)
    if np.abs(matrix - matrix.T).max() > 1e-8 * scale:
        raise ValueError(f"{name} must be symmetric (a covariance matrix).")
    return matrix


def _spd_log(matrix):
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    floor = _RELATIVE_LOG_FLOOR * max(eigenvalues.max(), np.finfo(float).tiny)
    return (eigenvectors * np.log(np.maximum(eigenvalues, floor))) @ eigenvectors.T


def log_euclidean_distance(A, B):
    """Log-Euclidean distance ``||logm(A) - logm(B)||_F`` between covariance matrices.

    Eigenvalues below ``1e-10`` times the largest are raised to that floor, so rank-deficient
    matrices give a finite (large) distance.

    Parameters
    ----------
    A, B : array-like, shape (n_channels, n_channels)
        Symmetric positive (semi-)definite matrices of the same size, finite (symmetric up to
        a relative ``1e-8``; otherwise a ValueError). Not modified.

    Returns
    -------
    distance : float
    """
    A, B = _check_covariance(A, "A"), _check_covariance(B, "B")
    if A.shape != B.shape:
        raise ValueError(f"A and B must have the same shape, got {A.shape} and {B.shape}.")
    return float(np.linalg.norm(_spd_log(A) - _spd_log(B)))


def covariance_distance(train, heldout, synthetic, random_state=None):
    """Log-Euclidean distance between the mean spatial covariance matrices of two sets.

    Each set is summarised by the channel covariance over time of every sample, averaged over
    its samples (:func:`mean_covariance`); two summaries are compared with
    :func:`log_euclidean_distance`, a Riemannian-like distance that is 0 for identical sets and
    does not change when the data are multiplied by a constant (the unit).

    Parameters
    ----------
    train, heldout, synthetic : array-like, shape (n, n_channels, n_times) | mne.Epochs
        Real training, real held-out and synthetic samples.
    random_state : None | int | numpy.random.Generator
        Seed of the subsampling that gives the training and synthetic sets the same size.

    Returns
    -------
    score : MetricScore
        ``'covariance_distance'`` (lower is better): synthetic vs held-out; reference: training
        vs held-out. ``details``: ``n_samples``.
    """
    train, heldout, synthetic, _ = prepare_sets(train, heldout, synthetic)
    train, synthetic = matched_sizes(train, synthetic, check_random_state(random_state))
    cov_heldout = _mean_covariance(heldout)
    return MetricScore(
        "covariance_distance", "fidelity",
        log_euclidean_distance(_mean_covariance(synthetic), cov_heldout),
        log_euclidean_distance(_mean_covariance(train), cov_heldout), "lower",
        details=dict(n_samples=len(synthetic)))


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
    train, heldout, synthetic : array-like, shape (n, n_channels, n_times) | mne.Epochs
        Real training, real held-out and synthetic samples.
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
    train, heldout, synthetic : array-like, shape (n, n_channels, n_times) | mne.Epochs
        Real training, real held-out and synthetic samples.
    sfreq : float | None
        Sampling frequency in Hz (taken from Epochs when None).
    n_components : int
        Number of principal axes kept (at most ``n_train - 1`` and the number of features).
    random_state : None | int | numpy.random.Generator
        Seed of the subsampling that gives the training and synthetic sets the same size.

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
