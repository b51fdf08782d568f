"""A differentially private fit (``dp_epsilon``): what it releases, trains and keeps.

The fit reads the training samples only through the mechanisms of
:mod:`~mne_dualdiv.engine.dp_statistics` (the global scale, the mean image, the second
moments, the range of dual values) and of DP-SGD (:class:`~mne_dualdiv.engine.dp.PrivateSteps`),
whose composition :func:`~mne_dualdiv.engine.dp.calibrate` fits to the budget. Everything the
estimator keeps and samples from is computed from their outputs: the scaler, the walks'
separable Gaussian, the product of its pixel marginals (the training's ``Q``), the pixel
bounds, the end points and the stand-in dual values of the targets. No training sample is kept,
so nothing at sampling time can read one: the near-copy guard and the local check (which
compare samples with the training samples) are off, a ``subset`` and ``start='training'`` are
refused, and so are the methods that look training samples up.
"""

import math

import numpy as np
import torch

from .._logging import logger
from .bridges import train_bridges
from .dp import (MAX_GRAD_NORM, N_RELEASES, PrivateSteps, calibrate, composed_epsilon,
                 privacy_units)
from .dp_statistics import (pixel_bounds, release_dual_range, release_mean,
                            release_scale, release_second_moments, released_dual_space)
from .dualspace import find_clusters
from .fitting import new_network
from .gaussian import DataGaussian
from .marginals import path_masks, pixel_order
from .scaling import ChannelScaler

#: Draws of the released Gaussian and of its marginals whose dual values set the public range
#: the training samples' dual values are clipped to.
N_REFERENCE_DRAWS = 256
#: The released statistics a private fit keeps: key in the file -> the estimator's attribute.
RELEASED_ATTRIBUTES = dict(released_mean="released_mean_",
                           released_spatial="released_spatial_",
                           released_correlation="released_correlation_")


class PrivateFitMixin:
    """The private fit of :class:`~mne_dualdiv.DualDivergenceGenerator` and its refusals."""

    @property
    def _private(self):
        return getattr(self, "privacy_", None) is not None

    def _refuse_if_private(self, what):
        if self._private:
            raise ValueError(
                f"{what} reads training samples, which a private fit (dp_epsilon="
                f"{self.privacy_['target_epsilon']}) does not keep.")

    def _released_gaussian(self):
        return DataGaussian.from_moments(self.released_mean_, self.released_spatial_,
                                         self.released_correlation_)

    def _fit_private(self, X, rng, groups, ranks, repeats):
        if ranks.distributed:
            raise ValueError("dp_epsilon: a private fit runs in one process (the accountant "
                             "plans one Poisson-sampled DP-SGD), not under torchrun.")
        n_samples, n_channels, n_times = X.shape
        units, n_units = privacy_units(groups, n_samples)
        if n_units < 2:
            raise ValueError(f"dp_epsilon: X has {n_units} privacy unit(s) (subjects given as "
                             f"groups, or samples); a private fit needs at least 2.")
        budget = calibrate(self.dp_epsilon, self.dp_delta,
                           sample_rate=min(1.0, self.batch_size / n_units),
                           steps=self.max_steps, repeats=repeats)
        noise = budget.release_noise
        torch_gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        data = np.asarray(X, dtype=np.float64)
        scale = release_scale(data, units, n_units, noise, rng)
        work = data / scale
        mean = release_mean(work, units, n_units, noise, rng)[0]
        spatial, rho = release_second_moments(work - mean, units, n_units, noise, rng)
        center = mean.mean(1)
        self.scaler_ = ChannelScaler()
        self.scaler_.center_, self.scaler_.scale_ = center * scale, np.full(n_channels, scale)
        self.released_mean_ = (mean - center[:, None]).astype(np.float32)
        self.released_spatial_, self.released_correlation_ = spatial, rho
        gaussian = self._released_gaussian()
        train = (work - center[:, None]).astype(np.float32)
        self.n_channels_, self.n_times_ = n_channels, n_times
        self.train_indices_ = np.arange(n_samples)
        self.heldout_indices_ = np.empty(0, dtype=int)
        self.n_duplicates_ = 0
        self._train_scaled = np.empty((0, n_channels, n_times), np.float32)
        self.pixel_lower_, self.pixel_upper_ = pixel_bounds(self.released_mean_, spatial)
        self.walk_shrinkage_ = 1.0

        n_bridges = 1 if self.method == "direct" else self.n_bridges
        masks = path_masks(pixel_order(n_channels, n_times, self.pixel_order, rng), n_bridges)
        network = new_network(masks, n_channels, n_times, int(rng.integers(2**62)),
                              n_filters=self.n_filters, temporal_kernel=self.temporal_kernel,
                              hidden=self.hidden)
        marginal_sd = torch.from_numpy(np.sqrt(np.diag(spatial)).astype(np.float32))[:, None]

        def draw_marginals(n, generator):
            # The product of the released Gaussian's pixel marginals: the empirical ones would
            # put pixels of every training sample into every row of a batch.
            return gaussian.mean + marginal_sd * torch.randn((n, n_channels, n_times),
                                                             generator=generator)

        steps = PrivateSteps(units, n_units, budget, draw_marginals, int(rng.integers(2**62)))
        logger.info("Private fit: %d %s(s), DP-SGD noise multiplier %.3f at sampling rate "
                    "%.3f for %d steps, releases at %.3f", n_units,
                    "epoch" if groups is None else "subject", budget.sgd_noise,
                    budget.sample_rate, budget.steps, noise)
        train_bridges(network, torch.from_numpy(train), None, network.masks.view(n_bridges + 1, -1),
                      n_steps=self.max_steps, batch_size=self.batch_size,
                      learning_rate=self.learning_rate, weight_decay=self.weight_decay,
                      eval_every=self.eval_every, patience=self.patience,
                      n_eval_draws=self.n_eval_draws, generator=torch_gen, private=steps)
        self.network_ = network.cpu().eval()
        # No held-out samples (they would be read without noise): no divergence estimate, and
        # the training losses are not kept (history_ is empty).
        self.history_ = []
        self.divergence_ = self.train_divergence_ = math.nan
        self.bridge_divergences_ = np.empty(0)
        self.divergence_certified_ = False

        reference = self._dual_values_scaled(torch.cat([
            gaussian.draw(N_REFERENCE_DRAWS, torch_gen),
            draw_marginals(N_REFERENCE_DRAWS, torch_gen)]).numpy())
        dual_mean, dual_sd = release_dual_range(self._dual_values_scaled(train), reference,
                                                units, n_units, noise, rng)
        values, self.endpoints_, self.robust_endpoints_ = released_dual_space(
            dual_mean, dual_sd, n_units)
        self.dual_values_train_, self.clusters_ = values, find_clusters(values)
        self.local_dual_values_ = np.empty(0)
        self.local_endpoints_ = np.empty(0)
        self.heldout_nearest_distances_ = self.heldout_distance_ratios_ = np.empty(0)
        self.near_duplicate_groups_ = np.empty(0, dtype=int)
        self.near_copy_threshold_ = 0.0
        self.privacy_ = privacy_record(budget, self.dp_epsilon, groups is not None, n_units)
        logger.info("Private fit: epsilon %.3f at delta %g (%s level)", self.privacy_["epsilon"],
                    self.dp_delta, self.privacy_["unit"])


def privacy_record(budget, target_epsilon, subject_level, n_units):
    """What a private fit spent and how, as JSON values (the estimator's ``privacy_``)."""
    sgd, releases = budget.mechanisms
    return dict(
        epsilon=budget.epsilon, delta=budget.delta, target_epsilon=float(target_epsilon),
        unit="subject" if subject_level else "epoch", n_units=int(n_units),
        accountant="rdp", repeats=budget.repeats,
        sgd_noise_multiplier=budget.sgd_noise, sample_rate=budget.sample_rate,
        steps=budget.steps, max_grad_norm=MAX_GRAD_NORM,
        release_noise_multiplier=budget.release_noise, n_releases=N_RELEASES,
        epsilon_sgd=composed_epsilon([sgd], budget.delta),
        epsilon_statistics=composed_epsilon([releases], budget.delta),
        mechanisms=[list(m) for m in budget.mechanisms])
