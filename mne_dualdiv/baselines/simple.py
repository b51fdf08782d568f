"""Reference generators without training: jitter, mixup, a shrunk Gaussian, marginal shuffles."""

import numpy as np
import torch
from sklearn.covariance import ledoit_wolf_shrinkage

from .._checks import check_float
from .._docs import fill_doc
from ..engine.marginals import marginal_samples
from ._base import BaseGenerator


class _StoredSamples(BaseGenerator):
    """A reference that keeps the scaled training samples and draws from them."""

    def _fit_scaled(self, scaled, rng):
        self._train_scaled = scaled
        self.n_parameters_ = 0


@fill_doc
class JitterGenerator(_StoredSamples):
    """Jittered copies: a random training sample plus white Gaussian noise.

    Each sample is a training sample drawn uniformly with replacement, plus independent noise of
    standard deviation ``noise`` per pixel in robust-scaled units (``noise`` times each
    channel's robust standard deviation in the input's units). The classic augmentation, and a
    lower bound on privacy: every sample is a near-copy of a training sample.

    Parameters
    ----------
    noise : float
        Noise standard deviation in units of each channel's robust standard deviation.
    %(random_state_reference)s
    %(verbose_fit)s

    Attributes
    ----------
    %(attributes_baseline)s
    """

    def __init__(self, noise=0.1, random_state=None, verbose=None):
        self.noise = noise
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        check_float("noise", self.noise, low=0)

    def _sample_scaled(self, n_samples, rng):
        train = self._train_scaled
        rows = rng.integers(0, len(train), size=n_samples)
        return train[rows] + self.noise * rng.standard_normal((n_samples, *train.shape[1:]))


@fill_doc
class MixupGenerator(_StoredSamples):
    """Mixup: convex combinations of two random training samples (Zhang et al., 2018).

    Each sample is ``lam * x_i + (1 - lam) * x_j`` with two different training samples drawn
    uniformly and ``lam ~ Beta(alpha, alpha)``. Small ``alpha`` puts ``lam`` near 0 or 1
    (near-copies), ``alpha = 1`` makes it uniform.

    Parameters
    ----------
    alpha : float
        Parameter of the symmetric Beta distribution of the mixing weight.
    %(random_state_reference)s
    %(verbose_fit)s

    Attributes
    ----------
    %(attributes_baseline)s

    References
    ----------
    .. [1] Zhang H, Cisse M, Dauphin YN, Lopez-Paz D (2018). mixup: Beyond empirical risk
           minimization. ICLR.
    """

    def __init__(self, alpha=0.4, random_state=None, verbose=None):
        self.alpha = alpha
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        check_float("alpha", self.alpha, low=0, low_inclusive=False)

    def _sample_scaled(self, n_samples, rng):
        train = self._train_scaled
        first = rng.integers(0, len(train), size=n_samples)
        # A second sample different from the first: shift by 1 .. n - 1 positions.
        second = (first + rng.integers(1, len(train), size=n_samples)) % len(train)
        lam = rng.beta(self.alpha, self.alpha, size=n_samples)[:, None, None]
        return lam * train[first] + (1 - lam) * train[second]


@fill_doc
class GaussianGenerator(BaseGenerator):
    """Multivariate Gaussian with the empirical mean and a shrunk covariance of all pixels.

    The images are flattened to ``d = n_channels * n_times`` values and the covariance is
    ``(1 - delta) S + delta (trace(S) / d) I`` with ``S`` the empirical covariance and ``delta``
    the Ledoit-Wolf shrinkage (or ``shrinkage`` when given), which is positive definite even when
    ``d > n``. The ``d x d`` matrix is never formed: since ``S = A^T A / n`` with ``A`` the
    centred data, a sample is ``mean + sqrt(1 - delta) A^T w / sqrt(n) + sqrt(delta trace(S) /
    d) e`` with ``w ~ N(0, I_n)`` and ``e ~ N(0, I_d)``, which has exactly that covariance.

    Parameters
    ----------
    shrinkage : None | float
        ``delta`` in [0, 1]; None estimates it with the Ledoit-Wolf formula.
    %(random_state_reference)s
    %(verbose_fit)s

    Attributes
    ----------
    %(attributes_baseline)s
    mean_ : ndarray, shape (n_channels * n_times,)
        Mean of the scaled, flattened images.
    shrinkage_ : float
        The shrinkage ``delta`` used.

    References
    ----------
    .. [1] Ledoit O, Wolf M (2004). A well-conditioned estimator for large-dimensional
           covariance matrices. Journal of Multivariate Analysis 88(2):365-411.
    """

    def __init__(self, shrinkage=None, random_state=None, verbose=None):
        self.shrinkage = shrinkage
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        if self.shrinkage is not None:
            check_float("shrinkage", self.shrinkage, low=0, high=1)

    def _fit_scaled(self, scaled, rng):
        flat = scaled.reshape(len(scaled), -1)
        self.mean_ = flat.mean(0)
        centred = flat - self.mean_
        self._centred = centred
        self.shrinkage_ = (float(ledoit_wolf_shrinkage(centred, assume_centered=True))
                           if self.shrinkage is None else float(self.shrinkage))
        # trace(S) / d: the average variance, the identity target of the shrinkage.
        self._average_variance = float(np.mean(centred ** 2))
        self.n_parameters_ = 0

    def _sample_scaled(self, n_samples, rng):
        centred = self._centred
        n, d = centred.shape
        weights = rng.standard_normal((n_samples, n))
        samples = (self.mean_ + np.sqrt(1 - self.shrinkage_) * weights @ centred / np.sqrt(n)
                   + np.sqrt(self.shrinkage_ * self._average_variance)
                   * rng.standard_normal((n_samples, d)))
        return samples.reshape(n_samples, self.n_channels_, self.n_times_)


@fill_doc
class MarginalShuffleGenerator(_StoredSamples):
    """Product of the pixel marginals: every pixel drawn from a different training sample.

    Uses the engine's :func:`~mne_dualdiv.engine.marginals.marginal_samples` with
    ``replace=False``: an independent permutation of the training samples per pixel), the distribution ``Q`` the engine's
    divergence is measured against: it keeps every pixel's distribution and destroys all
    dependencies across channels and time. A sanity floor for the dependency metrics.

    Parameters
    ----------
    %(random_state_reference)s
    %(verbose_fit)s

    Attributes
    ----------
    %(attributes_baseline)s
    """

    def __init__(self, random_state=None, verbose=None):
        self.random_state = random_state
        self.verbose = verbose

    def _sample_scaled(self, n_samples, rng):
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        return marginal_samples(torch.from_numpy(self._train_scaled), n_samples,
                                generator, replace=False).numpy()
