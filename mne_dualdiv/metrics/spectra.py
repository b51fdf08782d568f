"""Spectral fidelity: Welch spectra, the band-power and correlation feature map, psd_distance.

:class:`BandPowerCorrelationFeatures` is also the fixed feature space of the classifier and the
Fréchet distance (:mod:`mne_dualdiv.metrics.fidelity`).
"""

import numpy as np
from scipy.signal import welch
from sklearn.base import BaseEstimator, TransformerMixin

from .._checks import check_array_3d, check_int, check_random_state
from .._docs import fill_doc
from ._base import (RELATIVE_LOG_FLOOR, MetricScore, batches, check_sfreq, matched_sizes,
                    prepare_sets)


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
        parts = [self._features(X[rows]) for rows in batches(len(X))]
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


def _mean_log_psd(X, sfreq, n_per_seg):
    """Mean Welch PSD over samples, in dB, accumulated batch by batch."""
    total = 0.0
    for rows in batches(len(X)):
        freqs, psd = _welch(X[rows], sfreq, n_per_seg)
        total = total + psd.sum(0)
    mean = total / len(X)
    return freqs, 10 * np.log10(np.maximum(mean, RELATIVE_LOG_FLOOR * mean.max()))


@fill_doc
def psd_distance(train, heldout, synthetic, sfreq=None, n_per_seg=None, random_state=None):
    """Distance between the average log power spectra of each channel, in dB.

    For each set, the Welch PSD of every channel is averaged over samples and converted to dB;
    the distance of a channel is the root-mean-square over frequencies (DC excluded) of the dB
    difference, and the score is its mean over channels. Identical sets score 0; the value does
    not depend on the units (a factor on the data shifts both spectra alike).

    Parameters
    ----------
    %(train_heldout_synthetic)s
    sfreq : float | None
        Sampling frequency in Hz (taken from Epochs when None). Only labels the frequencies.
    n_per_seg : int | None
        Welch segment length (see :func:`welch_psd`).
    %(random_state_train_synthetic)s

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
