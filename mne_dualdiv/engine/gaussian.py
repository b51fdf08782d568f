"""The data-shaped Gaussian that the walks start from and diffuse with (walk v2)."""

import copy

import numpy as np
import torch


def stationary_correlation(centred):
    """Temporal autocorrelation shared by all channels, from the biased autocovariance.

    The biased estimator (each lag divided by ``n_times``, not by the number of products) is a
    positive semi-definite sequence, so its Toeplitz matrix is a valid correlation matrix.

    Parameters
    ----------
    centred : ndarray, shape (n_samples, n_channels, n_times)
        Images minus the pixel means.

    Returns
    -------
    rho : ndarray of float64, shape (n_times,)
        ``rho[0] = 1``; ``rho[lag]`` is the correlation at that lag.
    """
    n_times = centred.shape[-1]
    spectrum = np.fft.rfft(centred, n=2 * n_times, axis=-1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2).sum(axis=(0, 1))
    autocovariance = np.fft.irfft(power, n=2 * n_times)[:n_times]
    if autocovariance[0] <= 0:  # constant data: no temporal structure to copy
        return np.r_[1.0, np.zeros(n_times - 1)]
    return autocovariance / autocovariance[0]


def separable_target(centred):
    """The factors of the separable covariance target: spatial covariance, temporal correlation.

    Parameters
    ----------
    centred : ndarray, shape (n_samples, n_channels, n_times)
        Images minus the pixel means.

    Returns
    -------
    spatial : ndarray, shape (n_channels, n_channels)
        ``A``, the channel covariance pooled over samples and times.
    temporal : ndarray, shape (n_times, n_times)
        ``B``, the Toeplitz matrix of :func:`stationary_correlation`. ``A (x) B`` has the
        pixels' average variance of each channel on its diagonal.
    """
    n, _, n_times = centred.shape
    spatial = np.einsum("ict,idt->cd", centred, centred) / (n * n_times)
    rho = stationary_correlation(centred)
    lags = np.abs(np.arange(n_times)[:, None] - np.arange(n_times)[None, :])
    return spatial, rho[lags]


def kronecker_shrinkage(centred, spatial, temporal):
    """Ledoit-Wolf shrinkage intensity of the pixel covariance towards ``spatial (x) temporal``.

    With ``S = X^T X / n`` the sample covariance of the ``n`` flattened centred images and
    ``T = A (x) B`` the structured target, the intensity is ``min(1, beta / delta)`` with
    ``beta = (1/n^2) sum_i ||x_i x_i^T - S||_F^2`` (the estimation variance of ``S``) and
    ``delta = ||S - T||_F^2`` (Ledoit & Wolf 2004, with a general target as in Schafer &
    Strimmer 2005). Every term is computed from the ``n x n`` Gram matrix and from
    ``x_i^T T x_i = trace(D_i^T A D_i B)``, so the ``d x d`` matrices are never formed.

    Parameters
    ----------
    centred : ndarray, shape (n_samples, n_channels, n_times)
        Images minus the pixel means.
    spatial : ndarray, shape (n_channels, n_channels)
        ``A``, the spatial covariance.
    temporal : ndarray, shape (n_times, n_times)
        ``B``, the temporal correlation (unit diagonal).

    Returns
    -------
    alpha : float
        Shrinkage intensity in [0, 1].
    """
    n = len(centred)
    flat = centred.reshape(n, -1)
    gram = flat @ flat.T
    gram_sq = float((gram ** 2).sum())
    beta = (float((np.diag(gram) ** 2).sum()) - gram_sq / n) / n ** 2
    cross = float(np.einsum("ict,ict->", np.einsum("cd,idt->ict", spatial, centred) @ temporal,
                            centred)) / n
    delta = gram_sq / n ** 2 - 2 * cross + float((spatial ** 2).sum() * (temporal ** 2).sum())
    if delta <= 0:
        return 1.0
    return float(np.clip(beta / delta, 0.0, 1.0))


def denoised_mean(train):
    """Pixel means with the estimation noise of each channel's frequency components removed.

    The mean image of ``n`` samples carries, besides the signal (an evoked response, a spike
    template), estimation noise of variance ``S(f) / n`` at every frequency ``f`` of a channel
    (``S`` the channel's power spectrum around the mean). That noise is specific to the
    training samples: draws centred on it sit measurably closer to them than to unseen samples
    (``docs/method.md``, section 5). Each Fourier coefficient ``M`` of a channel's mean is
    multiplied by ``max(0, 1 - (S(f) / n) / |M|^2)`` (positive-part James-Stein per
    coefficient, a Wiener gain): a slow evoked potential or a spike, far above the noise of the
    mean, is kept; components at the noise level are removed. The channel's constant (``f = 0``)
    is kept as it is.

    Parameters
    ----------
    train : ndarray, shape (n_samples, n_channels, n_times)
        Training images.

    Returns
    -------
    mean : ndarray, shape (n_channels, n_times)
        The denoised pixel means.
    kept : float
        Fraction of the mean's non-constant energy kept, in [0, 1].
    """
    n, _, n_times = train.shape
    pixel_mean = train.mean(0)
    if n < 2:
        return pixel_mean, 1.0
    residual = np.fft.rfft(train - pixel_mean, axis=-1)
    noise_power = (residual.real ** 2 + residual.imag ** 2).sum(0) / (n * (n - 1))
    return shrink_mean(pixel_mean, noise_power)


def shrink_mean(pixel_mean, noise_power):
    """Each channel's Fourier coefficients of a mean image shrunk by their Wiener gain.

    Parameters
    ----------
    pixel_mean : ndarray, shape (n_channels, n_times)
        The mean image (of training images, or a private release of it).
    noise_power : ndarray, shape (n_channels, n_times // 2 + 1)
        Expected ``|N|^2`` of each coefficient's estimation noise.

    Returns
    -------
    mean : ndarray, shape (n_channels, n_times)
        The coefficients ``M`` times ``max(0, 1 - noise_power / |M|^2)``, the constant kept.
    kept : float
        Fraction of the mean's non-constant energy kept, in [0, 1].
    """
    n_times = pixel_mean.shape[-1]
    coefficients = np.fft.rfft(pixel_mean, axis=-1)
    power = coefficients.real ** 2 + coefficients.imag ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(power > 0, np.clip(1.0 - noise_power / power, 0.0, 1.0), 0.0)
    gain[:, 0] = 1.0
    energy = power[:, 1:].sum()
    kept = float((gain[:, 1:] ** 2 * power[:, 1:]).sum() / energy) if energy > 0 else 1.0
    return np.fft.irfft(gain * coefficients, n=n_times, axis=-1), kept


class DataGaussian:
    """Gaussian with the training images' mean and a shrunk, structured covariance.

    The covariance is ``(1 - alpha) S + alpha A (x) B``: the sample covariance ``S`` of all
    ``d = n_channels * n_times`` pixels, shrunk towards a separable target whose spatial factor
    ``A`` is the channel covariance (pooled over samples and times) and whose temporal factor
    ``B`` is a stationary (Toeplitz) correlation shared by the channels. ``alpha`` is the
    Ledoit-Wolf intensity for that target (:func:`kronecker_shrinkage`). ``S`` alone has rank
    ``n - 1`` and would keep every draw in the span of the training images; the white target
    of plain Ledoit-Wolf (``trace(S)/d I``) fills the other directions with white noise, which
    flattens the power spectrum and the spatial covariance of every draw. The separable target
    keeps both (``docs/method.md``, section 5). A draw costs three small matrix products and never
    forms a ``d x d`` matrix.

    Parameters
    ----------
    train : ndarray, shape (n_samples, n_channels, n_times)
        Scaled training images (float32).
    shrinkage : None | float
        ``alpha`` in [0, 1]; None estimates it (:func:`kronecker_shrinkage`). 1 keeps only the
        separable target, which depends on the training images through the pixel means, the
        ``n_channels x n_channels`` spatial covariance and ``n_times`` lag correlations alone.

    Attributes
    ----------
    mean : torch.Tensor, shape (n_channels, n_times)
        Pixel means.
    shrinkage : float
        ``alpha``.
    """

    def __init__(self, train, shrinkage=None):
        train = np.asarray(train, dtype=np.float64)
        n = len(train)
        mean, self.mean_energy_kept = denoised_mean(train)
        centred = train - train.mean(0)
        spatial, temporal = separable_target(centred)
        self.shrinkage = (kronecker_shrinkage(centred, spatial, temporal) if shrinkage is None
                          else float(shrinkage))
        self.mean = torch.from_numpy(mean.astype(np.float32))
        self._factor = torch.from_numpy((centred / np.sqrt(n)).astype(np.float32))
        self._spatial = torch.from_numpy(spatial.astype(np.float32))
        self._temporal = torch.from_numpy(temporal.astype(np.float32))
        self._spatial_factor = torch.from_numpy(_psd_factor(spatial).astype(np.float32))
        self._temporal_factor = torch.from_numpy(_psd_factor(temporal).astype(np.float32))

    @classmethod
    def from_moments(cls, mean, spatial, rho):
        """The separable Gaussian (``shrinkage`` 1) of released moments (a private fit).

        Parameters
        ----------
        mean : ndarray, shape (n_channels, n_times)
        spatial : ndarray, shape (n_channels, n_channels)
            ``A``, positive semi-definite.
        rho : ndarray, shape (n_times,)
            Lag correlations of the Toeplitz ``B``.
        """
        self = cls.__new__(cls)
        n_times = len(rho)
        temporal = np.asarray(rho)[np.abs(np.arange(n_times)[:, None]
                                          - np.arange(n_times)[None, :])]
        self.shrinkage, self.mean_energy_kept = 1.0, 1.0
        self.mean = torch.from_numpy(np.asarray(mean, dtype=np.float32))
        self._factor = torch.zeros((0,) + tuple(self.mean.shape))
        self._spatial = torch.from_numpy(np.asarray(spatial, dtype=np.float32))
        self._temporal = torch.from_numpy(temporal.astype(np.float32))
        self._spatial_factor = torch.from_numpy(_psd_factor(spatial).astype(np.float32))
        self._temporal_factor = torch.from_numpy(_psd_factor(temporal).astype(np.float32))
        return self

    def draw_centred(self, n, generator):
        """``n`` zero-mean draws with the model's covariance (scaled units).

        Parameters
        ----------
        n : int
            Number of draws.
        generator : torch.Generator
            Source of randomness, on the CPU: the normal draws are made there and moved to the
            model's device, so that the draws do not depend on the device.

        Returns
        -------
        noise : torch.Tensor, shape (n, n_channels, n_times)
            On the model's device.
        """
        device = self.mean.device
        weights = torch.randn((n, len(self._factor)), generator=generator).to(device)
        sample_part = torch.einsum("bn,nct->bct", weights, self._factor)
        white = torch.randn((n,) + tuple(self.mean.shape), generator=generator).to(device)
        structured = self._spatial_factor @ white @ self._temporal_factor.T
        return ((1 - self.shrinkage) ** 0.5 * sample_part
                + self.shrinkage ** 0.5 * structured)

    def covariance_times(self, v):
        """``Sigma v`` for a batch of images ``v`` (the walk's preconditioner).

        Parameters
        ----------
        v : torch.Tensor, shape (n, n_channels, n_times)

        Returns
        -------
        product : torch.Tensor, shape (n, n_channels, n_times)
        """
        weights = torch.einsum("bct,nct->bn", v, self._factor)
        sample_part = torch.einsum("bn,nct->bct", weights, self._factor)
        structured = self._spatial @ v @ self._temporal
        return (1 - self.shrinkage) * sample_part + self.shrinkage * structured

    def to(self, device):
        """This Gaussian with its tensors on ``device`` (itself when they are there already).

        Parameters
        ----------
        device : torch.device
            Where the walks run.

        Returns
        -------
        gaussian : DataGaussian
        """
        if self.mean.device == device:
            return self
        moved = copy.copy(self)
        for name in ("mean", "_factor", "_spatial", "_temporal", "_spatial_factor",
                     "_temporal_factor"):
            setattr(moved, name, getattr(self, name).to(device))
        return moved

    def draw(self, n, generator):
        """``n`` draws of the Gaussian (scaled units), shape (n, n_channels, n_times)."""
        return self.mean + self.draw_centred(n, generator)


def _psd_factor(matrix):
    """``L`` with ``L @ L.T == matrix`` for a positive semi-definite matrix.

    From the eigendecomposition with negative round-off eigenvalues set to 0: a Cholesky
    decomposition fails on the nearly singular temporal correlations of smooth (low-passed)
    signals, whose smallest eigenvalues are at the level of float round-off.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))
