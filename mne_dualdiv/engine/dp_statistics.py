"""The statistics a private fit releases, each through a Gaussian mechanism on clipped units.

Every release sums one contribution per privacy unit (an epoch, or the mean of a subject's
epochs: :func:`~mne_dualdiv.engine.dp.unit_means`) whose L2 norm is at most a public bound,
and adds Gaussian noise of ``noise_multiplier`` times that bound (:func:`gaussian_release`):
adding or removing one unit moves the sum by at most the bound, so each release is the
Gaussian mechanism with that sensitivity. The number of units is public (as in Opacus).
Everything else the walks use is computed from the released values (post-processing), never
from the training samples.
"""

import numpy as np

from .dp import unit_means
from .gaussian import shrink_mean
from .walk import BOUND_SDS

#: Public bins (log2 of a root mean square) of the global-scale histogram: 2^-60 to 2^20
#: covers the SI units of recordings (volts of EEG ~2^-17, tesla of MEG ~2^-40) and counts.
LOG2_SCALE_EDGES = np.arange(-60.0, 21.0, 1.0)
#: Half-width (natural log) of the clipped per-unit log power of the second moments: a unit's
#: mean channel variance counts between e^-3 and e^3 times the global scale's square.
LOG_POWER_RANGE = 3.0
#: The mean release clips each unit's image to this many times ``sqrt(n_channels * n_times)``
#: (the norm of an image whose channels all have the global scale's RMS).
MEAN_CLIP_RATIO = 3.0
#: Public frequency bands (log-spaced) of the released power spectrum.
N_SPECTRUM_BANDS = 32
#: Dual values are clipped to the range of those of released-Gaussian and marginal draws,
#: widened by this many times that range on each side.
DUAL_RANGE_MARGIN = 1.0
#: End points: the released mean of the dual values plus or minus this many released standard
#: deviations (about the minimum and maximum of 100-200 Gaussian values); robust end points:
#: the Gaussian's 2.5 and 97.5 percentiles.
ENDPOINT_SDS = 2.5
ROBUST_ENDPOINT_SDS = 1.959963984540054


def gaussian_release(contributions, clip_norm, noise_multiplier, rng):
    """Sum of per-unit contributions, each clipped to ``clip_norm``, plus Gaussian noise.

    Parameters
    ----------
    contributions : ndarray, shape (n_units, ...)
        One row per privacy unit.
    clip_norm : float
        L2 bound of a row: the sum's sensitivity to adding or removing one unit.
    noise_multiplier : float
        The noise's standard deviation is ``noise_multiplier * clip_norm``.
    rng : numpy.random.Generator
        Source of the noise.

    Returns
    -------
    noisy_sum : ndarray, shape contributions.shape[1:]
    """
    flat = np.asarray(contributions, dtype=np.float64).reshape(len(contributions), -1)
    norms = np.linalg.norm(flat, axis=1)
    factor = np.minimum(1.0, clip_norm / np.maximum(norms, 1e-300))
    total = (flat * factor[:, None]).sum(0)
    noisy = total + noise_multiplier * clip_norm * rng.standard_normal(total.shape)
    return noisy.reshape(np.shape(contributions)[1:])


def release_scale(X, units, n_units, noise_multiplier, rng):
    """Global scale of the data: the released mode of the units' median log2 channel RMS.

    The root mean square, not a spread around the mean: images divided by it have a norm
    near ``sqrt(n_channels * n_times)`` (the mean release's clipping bound) even when the
    channels carry offsets larger than their fluctuations (SelfRegulationSCP1's slow
    potentials). Each unit adds one (a subject: its epochs' shares, summing to one) to the bin
    of :data:`LOG2_SCALE_EDGES` holding its median channel RMS: the histogram's sensitivity
    is 1. The scale is 2 to the power of the count-weighted centre of the noisy histogram's
    highest window of three bins (counts below zero count as zero).

    Returns
    -------
    scale : float
    """
    with np.errstate(divide="ignore"):
        log2 = np.median(np.log2(np.sqrt(np.mean(X ** 2, axis=-1))), axis=1)
    bins = np.clip(np.searchsorted(LOG2_SCALE_EDGES, log2, side="right") - 1, 0,
                   len(LOG2_SCALE_EDGES) - 2)
    one_hot = np.zeros((len(X), len(LOG2_SCALE_EDGES) - 1))
    one_hot[np.arange(len(X)), bins] = 1.0
    counts = gaussian_release(unit_means(one_hot, units, n_units), 1.0, noise_multiplier, rng)
    best = int(np.argmax(np.convolve(counts, np.ones(3), mode="same")))
    window = slice(max(best - 1, 0), best + 2)
    centres = (LOG2_SCALE_EDGES[:-1] + LOG2_SCALE_EDGES[1:]) / 2
    weights = np.maximum(counts[window], 0.0) + 1e-12
    return float(2.0 ** (np.sum(weights * centres[window]) / np.sum(weights)))


def release_mean(work, units, n_units, noise_multiplier, rng):
    """Released pixel mean of images in units of the global scale, denoised per frequency.

    Each unit's image is clipped to the norm ``sqrt(n_channels * n_times)`` (that of an image
    of unit variance) times :data:`MEAN_CLIP_RATIO`. The released mean is then shrunk per
    Fourier coefficient as :func:`~mne_dualdiv.engine.gaussian.shrink_mean` does, against the
    release's noise (white, of known variance) plus the sampling noise of a mean of
    unit-variance pixels, times the universal threshold; the constant is kept.

    Returns
    -------
    mean : ndarray, shape (n_channels, n_times)
    """
    n_channels, n_times = work.shape[1:]
    clip = MEAN_CLIP_RATIO * float(np.sqrt(n_channels * n_times))
    mean = gaussian_release(unit_means(work, units, n_units), clip, noise_multiplier,
                            rng) / n_units
    # The release's noise at the universal threshold: a coefficient of pure noise exceeds its
    # expected power t times with probability e^-t, so with t = log(n_coefficients) + 3 about
    # 5 % of a release's noise-only coefficients survive in all, where the gain at t = 1 kept
    # a third of them (whose power then inflated the second moments centred on this mean).
    # The sampling noise keeps the gain of a non-private fit.
    threshold = np.log(n_channels * (n_times // 2 + 1)) + 3.0
    noise_variance = threshold * (noise_multiplier * clip / n_units) ** 2 + 1.0 / n_units
    return shrink_mean(mean, np.full((n_channels, n_times // 2 + 1), n_times * noise_variance))


def spectrum_bands(n_times):
    """Band of every frequency of a ``2 n_times``-point FFT: 0 alone, then log-spaced."""
    n_freqs = n_times + 1
    edges = np.unique(np.round(np.geomspace(1, n_freqs, N_SPECTRUM_BANDS)).astype(int))
    return np.searchsorted(edges, np.arange(n_freqs), side="right")


def release_second_moments(centred, units, n_units, noise_multiplier, rng):
    """Released spatial covariance and temporal correlation of centred images.

    A unit contributes, side by side, its spatial covariance over its trace (Frobenius norm
    at most 1: the matrix is positive semi-definite), its log mean channel power clipped to
    ``+-LOG_POWER_RANGE`` over that range and the square of that (each at most 1), and its
    power in the bands of :func:`spectrum_bands` over its total (at most 1): a norm of at
    most 2, the release's sensitivity. The level is the log-normal mean of the released
    log powers' mean and variance (their plain exponentiated mean, the geometric mean,
    fell short of the mean power by a third on SelfRegulationSCP1, whose epochs' powers
    vary widely).

    Returns
    -------
    spatial : ndarray, shape (n_channels, n_channels)
        Positive definite: the mean normalised covariance (eigenvalues floored at 1e-3 of the
        largest) times the released typical channel power.
    rho : ndarray, shape (n_times,)
        Lag correlations from the released spectrum (a valid correlation sequence).
    """
    n, n_channels, n_times = centred.shape
    covariances = np.einsum("ict,idt->icd", centred, centred) / n_times
    traces = np.maximum(np.trace(covariances, axis1=1, axis2=2), 1e-300)
    log_power = np.clip(np.log(traces / n_channels), -LOG_POWER_RANGE, LOG_POWER_RANGE)
    spectrum = np.fft.rfft(centred, n=2 * n_times, axis=-1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2).sum(1)
    bands = spectrum_bands(n_times)
    band_power = np.zeros((n, bands.max() + 1))
    np.add.at(band_power.T, bands, power.T)
    band_power /= np.maximum(band_power.sum(1, keepdims=True), 1e-300)
    standard = log_power / LOG_POWER_RANGE
    rows = np.concatenate([covariances.reshape(n, -1) / traces[:, None],
                           standard[:, None], standard[:, None] ** 2, band_power], axis=1)
    released = gaussian_release(unit_means(rows, units, n_units), 2.0,
                                noise_multiplier, rng) / n_units
    normalised = released[:n_channels ** 2].reshape(n_channels, n_channels)
    eigenvalues, vectors = np.linalg.eigh((normalised + normalised.T) / 2)
    eigenvalues = np.maximum(eigenvalues, 1e-3 * max(eigenvalues.max(), 1e-12))
    spatial = (vectors * eigenvalues) @ vectors.T
    first = np.clip(released[n_channels ** 2], -1, 1)
    spread = max(released[n_channels ** 2 + 1] - first ** 2, 0.0)
    level = n_channels * np.exp(LOG_POWER_RANGE * first + LOG_POWER_RANGE ** 2 * spread / 2)
    spatial *= level / np.trace(spatial)
    band_values = np.maximum(released[n_channels ** 2 + 2:], 0.0) + 1e-6
    per_frequency = band_values[bands] / np.bincount(bands)[bands]
    autocovariance = np.fft.irfft(per_frequency, n=2 * n_times)[:n_times]
    return spatial, autocovariance / autocovariance[0]


def release_dual_range(values, reference_values, units, n_units, noise_multiplier, rng):
    """Released mean and standard deviation of the training samples' dual values.

    The values are clipped to a public range: that of ``reference_values`` (dual values of
    draws of the released Gaussian and marginals: post-processing), widened by
    :data:`DUAL_RANGE_MARGIN` times its width on each side. A unit contributes its mean
    clipped value and mean squared value, both mapped into [-1, 1] and [0, 1]: norm at most
    ``sqrt(2)``.

    Returns
    -------
    mean, sd : float
    """
    low, high = float(np.min(reference_values)), float(np.max(reference_values))
    width = max(high - low, 1e-6)
    low, high = low - DUAL_RANGE_MARGIN * width, high + DUAL_RANGE_MARGIN * width
    half, centre = (high - low) / 2, (high + low) / 2
    standard = (np.clip(values, low, high) - centre) / half
    rows = np.stack([standard, standard ** 2], axis=1)
    first, second = gaussian_release(unit_means(rows, units, n_units), np.sqrt(2.0),
                                     noise_multiplier, rng) / n_units
    first = float(np.clip(first, -1, 1))
    variance = max(float(second) - first ** 2, 1e-6)
    return centre + half * first, half * np.sqrt(variance)


def released_dual_space(mean, sd, n_values):
    """End points and stand-in training values (Gaussian quantiles) of a released range.

    Returns
    -------
    values : ndarray, shape (n_values,)
        Quantiles of ``N(mean, sd^2)`` at ``(i + 0.5) / n_values`` within the end points:
        what the walks' targets draw from in place of the training samples' values.
    endpoints, robust_endpoints : ndarray, shape (2,)
    """
    from scipy.stats import norm

    endpoints = mean + ENDPOINT_SDS * sd * np.array([-1.0, 1.0])
    robust = mean + ROBUST_ENDPOINT_SDS * sd * np.array([-1.0, 1.0])
    values = mean + sd * norm.ppf((np.arange(n_values) + 0.5) / n_values)
    return np.clip(values, *endpoints), endpoints, robust


def pixel_bounds(gaussian_mean, spatial):
    """Walk bounds from the released Gaussian: its mean plus or minus ``BOUND_SDS`` SDs."""
    spread = np.sqrt(np.diag(spatial))[:, None]
    return ((gaussian_mean - BOUND_SDS * spread).astype(np.float32),
            (gaussian_mean + BOUND_SDS * spread).astype(np.float32))
