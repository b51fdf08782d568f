"""Differential privacy of a fit: privacy units, the budget's accounting, and DP-SGD steps.

A fit with ``dp_epsilon`` spends its budget on two kinds of mechanism, composed by Opacus'
Rényi-DP accountant (:class:`opacus.accountants.RDPAccountant`):

- the training of the dual network by DP-SGD: Poisson sampling of privacy units at rate
  ``q``, each unit's gradient clipped to :data:`MAX_GRAD_NORM`, Gaussian noise of
  ``sigma_sgd * MAX_GRAD_NORM`` added to the sum (Opacus' :class:`~opacus.optimizers.DPOptimizer`),
  ``max_steps`` times: the subsampled Gaussian mechanism ``(sigma_sgd, q, max_steps)``;
- :data:`N_RELEASES` releases of statistics (:mod:`~mne_dualdiv.engine.dp_statistics`), each a
  Gaussian mechanism on clipped per-unit contributions, ``(sigma_release, 1, 1)``.

Their Rényi divergences add up at every order (adaptive composition), and the accountant
turns the sum into ``(epsilon, delta)``: :func:`composed_epsilon`. :func:`calibrate` sets
``sigma_release`` so that the releases alone would spend :data:`STATISTICS_SHARE` of the
target, then the smallest ``sigma_sgd`` with which the composition stays within it.
"""

import math
from typing import NamedTuple

import numpy as np
import torch

#: Per-unit gradient norm of DP-SGD (the classification loss's gradients are of this order).
MAX_GRAD_NORM = 1.0
#: Share of the target epsilon the statistics' releases would spend alone.
STATISTICS_SHARE = 0.5
#: Gaussian releases of one fit: scale, mean image, second moments, range of dual values.
N_RELEASES = 4
#: Relative precision of the noise multipliers found by :func:`calibrate`.
_SIGMA_PRECISION = 1e-4


def require_opacus():
    """Import Opacus, or say how to install it (``ImportError`` naming ``dp_epsilon``)."""
    try:
        import opacus  # noqa: F401
    except ImportError:
        raise ImportError("dp_epsilon needs Opacus: pip install 'mne_dualdiv[dp]' "
                          "(or pip install opacus).") from None


def privacy_units(groups, n_samples):
    """The privacy unit of each sample: itself, or its subject.

    Parameters
    ----------
    groups : None | ndarray, shape (n_samples,)
        Subject of each sample; None: every sample is its own unit (epoch-level privacy).

    Returns
    -------
    units : ndarray of int, shape (n_samples,)
        Unit index of each sample, in ``range(n_units)``.
    n_units : int
    """
    if groups is None:
        return np.arange(n_samples), n_samples
    _, units = np.unique(np.asarray(groups), return_inverse=True)
    return units.ravel(), int(units.max()) + 1


def unit_means(values, units, n_units):
    """Mean of each unit's rows of ``values`` (n_samples, ...) -> (n_units, ...).

    A subject's contribution to a release is the mean of its epochs' contributions, so that
    its norm is bounded like one epoch's whatever its number of epochs.
    """
    values = np.asarray(values, dtype=np.float64)
    if n_units == len(values) and np.array_equal(units, np.arange(n_units)):
        return values
    sums = np.zeros((n_units,) + values.shape[1:])
    np.add.at(sums, units, values)
    return sums / np.bincount(units, minlength=n_units).reshape((-1,) + (1,) * (values.ndim - 1))


def composed_epsilon(mechanisms, delta):
    """Epsilon of a composition of (subsampled) Gaussian mechanisms, by Opacus' RDP accountant.

    Parameters
    ----------
    mechanisms : list of (noise_multiplier, sample_rate, steps)
        Each a Gaussian mechanism with noise ``noise_multiplier`` times its L2 sensitivity,
        applied ``steps`` times to a Poisson sample of the units at ``sample_rate`` (1: to
        all of them).
    delta : float

    Returns
    -------
    epsilon : float
    """
    require_opacus()
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = [(float(sigma), float(rate), int(steps))
                          for sigma, rate, steps in mechanisms]
    return float(accountant.get_epsilon(delta))


def _smallest_sigma(fits):
    """Smallest noise multiplier ``sigma`` (to :data:`_SIGMA_PRECISION`) with ``fits(sigma)``,
    ``fits`` being monotone (more noise spends less)."""
    high = 1.0
    while not fits(high):
        high *= 2
    low = high / 2
    while fits(low) and low > 1e-3:
        high, low = low, low / 2
    while high - low > _SIGMA_PRECISION * high:
        middle = (low + high) / 2
        low, high = (low, middle) if fits(middle) else (middle, high)
    return high


class PrivacyBudget(NamedTuple):
    """Noise multipliers of a fit and what their composition spends."""

    sgd_noise: float
    sample_rate: float
    steps: int
    release_noise: float
    n_releases: int
    repeats: int
    epsilon: float
    delta: float

    @property
    def mechanisms(self):
        """The accountant's history of one fit, repeated ``repeats`` times."""
        return [(self.sgd_noise, self.sample_rate, self.steps * self.repeats),
                (self.release_noise, 1.0, self.n_releases * self.repeats)]


def calibrate(target_epsilon, delta, *, sample_rate, steps, n_releases=N_RELEASES, repeats=1):
    """Noise multipliers that spend at most ``target_epsilon`` (at ``delta``) in all.

    Parameters
    ----------
    target_epsilon, delta : float
        The budget.
    sample_rate : float
        Poisson sampling rate of the units in each DP-SGD step.
    steps : int
        DP-SGD steps (the fit's ``max_steps``: a DP fit has no early stopping).
    n_releases : int
        Gaussian releases of statistics, each with sensitivity-relative noise
        ``release_noise``.
    repeats : int
        Fits on the same units whose composition the budget covers (the epochs adapter's
        conditions in subject-level mode).

    Returns
    -------
    budget : PrivacyBudget
        With ``epsilon`` the composition's spent epsilon (at most the target).
    """
    release_noise = _smallest_sigma(lambda s: composed_epsilon(
        [(s, 1.0, n_releases * repeats)], delta) <= STATISTICS_SHARE * target_epsilon)

    def within(sgd_noise):
        return composed_epsilon([(sgd_noise, sample_rate, steps * repeats),
                                 (release_noise, 1.0, n_releases * repeats)],
                                delta) <= target_epsilon

    budget = PrivacyBudget(_smallest_sigma(within), float(sample_rate), int(steps),
                           release_noise, int(n_releases), int(repeats), math.nan, float(delta))
    return budget._replace(epsilon=composed_epsilon(budget.mechanisms, delta))


class PrivateSteps:
    """DP-SGD for :func:`~mne_dualdiv.engine.bridges.train_bridges`: Poisson batches of units,
    per-unit gradients, and Opacus' DPOptimizer (clipping, noise, averaging).

    A unit's gradient is that of the mean classification loss of its sampled rows (one row
    for an epoch, all of a sampled subject's epochs for a subject), computed with
    ``torch.func.vmap``; each row's marginal sample is drawn from ``draw_marginals`` (the
    released Gaussian's pixel marginals), so that no row's loss reads another unit's data.

    Parameters
    ----------
    units : ndarray of int, shape (n_train,)
        Unit of each training row (:func:`privacy_units`).
    n_units : int
    budget : PrivacyBudget
        ``sample_rate`` and ``sgd_noise``.
    draw_marginals : callable
        ``draw_marginals(n, generator)``: ``n`` product-of-marginals images (torch).
    noise_seed : int
        Seed of the gradient noise (so that a fit is reproducible).
    """

    def __init__(self, units, n_units, budget, draw_marginals, noise_seed):
        self.units = torch.from_numpy(np.asarray(units, dtype=np.int64))
        self.n_units = n_units
        self.budget = budget
        self.draw_marginals = draw_marginals
        self.noise_generator = torch.Generator().manual_seed(noise_seed)

    def wrap(self, optimizer):
        """The optimizer inside Opacus' DPOptimizer (the one point where DP-SGD enters)."""
        require_opacus()
        from opacus.optimizers import DPOptimizer

        return DPOptimizer(optimizer, noise_multiplier=self.budget.sgd_noise,
                           max_grad_norm=MAX_GRAD_NORM,
                           expected_batch_size=self.budget.sample_rate * self.n_units,
                           generator=self.noise_generator)

    def set_unit_gradients(self, net, X_train, masks, loss_fn, generator):
        """Draw a Poisson batch of units and set each parameter's ``grad_sample`` (one row
        per sampled unit), which the DPOptimizer clips, sums and noises.

        Parameters
        ----------
        net : DualNetwork
        X_train : torch.Tensor, shape (n_train, n_channels, n_times)
        masks : torch.Tensor of bool, shape (n_bridges + 1, n_pixels)
        loss_fn : callable
            ``loss_fn(model, x, z, masks, bridge)``, the classification loss of a batch.
        generator : torch.Generator
            Source of the sampling, the marginal draws and the bridges.
        """
        from torch.func import functional_call, grad, vmap

        chosen = torch.rand(self.n_units, generator=generator) < self.budget.sample_rate
        rows = torch.nonzero(chosen[self.units]).squeeze(1)
        z = self.draw_marginals(len(rows), generator)
        bridge = torch.randint(0, masks.shape[0] - 1, (len(rows),), generator=generator)
        params = {name: p.detach() for name, p in net.named_parameters()}
        buffers = dict(net.named_buffers())

        def row_loss(params, x, z, bridge):
            model = lambda *inputs: functional_call(net, (params, buffers), inputs)  # noqa: E731
            return loss_fn(model, x[None], z[None], masks, bridge[None])

        device = X_train.device
        if len(rows):
            per_row = vmap(grad(row_loss), in_dims=(None, 0, 0, 0))(
                params, X_train[rows.to(device)], z.to(device), bridge.to(device))
        # Rows of one unit are averaged into that unit's gradient.
        sampled, row_unit = torch.unique(self.units[rows], return_inverse=True)
        counts = torch.bincount(row_unit, minlength=len(sampled)).to(device)
        for name, p in net.named_parameters():
            per_unit = torch.zeros((len(sampled),) + tuple(p.shape), device=device)
            if len(rows):
                per_unit.index_add_(0, row_unit.to(device), per_row[name])
                per_unit /= counts.view((-1,) + (1,) * p.dim())
            p.grad_sample = per_unit
