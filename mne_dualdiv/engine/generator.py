"""`DualDivergenceGenerator`: fit the dual space of channel x time images and sample from it."""

import json
import math

import numpy as np
import torch
from sklearn.base import BaseEstimator

from .._version import __version__
from .._checks import (check_array_3d, check_bool, check_float, check_fname_for_writing,
                       check_int, check_option, check_random_state)
from .._io import load_state, save_state, state_json, state_tensors
from .._logging import logger, progress, use_verbose
from .bridges import bridge_divergences, train_bridges
from .dualspace import (DualClusters, distance_ratios, find_clusters, knn_indices,
                        local_dual_values, nearest_ratios, nearest_two_distances)
from .gaussian import DataGaussian
from .marginals import path_masks, pixel_order
from .network import DualNetwork
from .scaling import ChannelScaler
from .walk import gradient_walk, walk_bounds

#: Fewest training and held-out samples the method works with.
MIN_TRAIN_SAMPLES = 15
MIN_HELDOUT_SAMPLES = 5

_FORMAT = "mne_dualdiv.DualDivergenceGenerator"
_FORMAT_VERSION = 2

#: Lowest near-copy threshold on the nearest-neighbour distance ratio, whatever the held-out
#: samples give: a sample at most half as far from its closest training sample as from the
#: next one singles that sample out.
MIN_NEAR_COPY_RATIO = 0.5
#: Walks run in batches of at most this many, so that sampling's memory does not grow with n.
WALK_BATCH = 256
#: Reading rebuilds the walk's Gaussian, which forms ``n_train x n_train``, ``n_channels x
#: n_channels`` and ``n_times x n_times`` matrices: a file is refused when they would hold more
#: than this many times its training images' values, and more than ``MAX_DERIVED_FLOOR``
#: (2^22 values, 32 MB): only fits on lopsided images can be refused, such as fewer than 64
#: images of 1 channel x 4096 samples. A 20 kB file cannot ask for GBs this way.
MAX_DERIVED_RATIO = 64
MAX_DERIVED_FLOOR = 2 ** 22
#: Scaled values (robust standard deviations) beyond this are clipped before the float32
#: network: from about 1e19 its sums overflow and a far input's dual value was NaN; clipped,
#: it is finite and far outside the end points (real images lie within about 1e2).
MAX_SCALED_VALUE = 1e6


class DualDivergenceGenerator(BaseEstimator):
    """Generative sampling in the dual divergence space (Garg et al., 2024).

    ``fit`` estimates ``KL(P || Q)`` between the data ``P`` and the product of its pixel marginals
    ``Q`` along a path of diffusing dependencies, embeds every sample in the resulting 1-D dual
    space ``F(x) = sum_k f_k(x)``, and finds the end points and clusters of the real samples
    there. ``sample`` draws start images from a Gaussian shaped by the data (mean, and a
    covariance shrunk towards a spatial x temporal target), walks them in the dual space (into
    the end points, then along their level sets of ``F``), and keeps only those that land
    between the end points and are no near-copy of a training sample. See ``docs/method.md``
    for every design choice and its evidence.

    Parameters
    ----------
    method : 'path' | 'direct'
        ``'path'`` estimates the divergence as a sum of ``n_bridges`` small bridge divergences;
        ``'direct'`` uses a single bridge from ``P`` to ``Q`` (for comparison: it saturates).
    n_bridges : int
        Number of bridges ``K`` of the path (ignored for ``'direct'``). Keep every bridge to a
        few nats: ``divergence_ / n_bridges`` above ~3 nats means ``K`` should grow.
    pixel_order : 'channel' | 'time' | 'random'
        Order in which pixels are handed over to the marginal along the path.
    n_filters, hidden, temporal_kernel : int
        Size of the dual network (see :class:`mne_dualdiv.engine.network.DualNetwork`).
    max_steps : int
        Maximum number of training steps.
    batch_size : int
        Real samples (and as many marginal samples) per training step.
    learning_rate, weight_decay : float
        AdamW settings.
    validation_fraction : float
        Fraction of the samples held out for early stopping and for ``divergence_``.
    eval_every, patience : int
        Held-out evaluation period (steps) and the number of evaluations without improvement of
        the held-out loss after which training stops.
    n_eval_draws : int
        Marginal draws per held-out sample in each evaluation.
    n_final_draws : int
        Total coupled pairs (held-out samples x marginal draws) for the final estimates
        ``divergence_`` and ``train_divergence_``; their cost grows with it and ``n_bridges``.
    n_neighbors : int
        Neighbourhood size of the localized (kNN) dual values.
    n_local_draws : int
        Local marginal draws averaged for each localized value.
    walk_steps : int
        Noisy steps of the gradient walk.
    walk_step_size : float
        Newton damping of each walk step, in (0, 1].
    walk_noise : float
        In [0, 1]: square root of the fraction of the data-shaped Gaussian's variance that each
        noisy walk step renews (an Ornstein-Uhlenbeck move projected on the level set of ``F``;
        see :func:`~mne_dualdiv.engine.walk.gradient_walk`). 0 makes Newton steps only.
    start : 'gaussian' | 'training'
        Where walks start: fresh draws of the data-shaped Gaussian (mean and shrunk structured
        covariance of the training samples, :class:`~mne_dualdiv.engine.gaussian.DataGaussian`),
        so that no synthetic sample is tied to one training sample, or (the paper's walk)
        training samples whose dual values are near the target.
    walk_shrinkage : None | float
        Shrinkage in [0, 1] of the data-shaped Gaussian's covariance towards its separable
        spatial x temporal target; None estimates it (Ledoit-Wolf). Larger values tie
        samples less to individual training samples.
    walk_metric : 'data' | 'euclidean'
        Geometry of the walk: ``'data'`` moves along ``Sigma grad F`` (the gradient
        preconditioned by the data-shaped Gaussian's covariance, so that every step has the
        data's spectra and spatial covariance) and projects the noise orthogonally to
        ``grad F`` in that metric; ``'euclidean'`` moves along ``grad F`` itself.
    target : 'nearest' | 'density' | 'between_clusters'
        Where walk targets come from: ``'nearest'``, the start's own dual value clipped to the
        end points (a walk then only moves out-of-distribution starts into them, and along
        their level set); ``'density'``, draws from a kernel density of the training dual
        values; ``'between_clusters'``, the gaps between adjacent clusters (with
        ``start='training'``, walks start from the lower cluster's members nearest the gap).
    local_check : bool
        Also require a sample's localized value to lie within the training samples' range.
    guard : bool
        Walk near-copies on: samples whose nearest-neighbour distance ratio (distance to the
        closest training sample over the distance to the second closest) is below
        ``near_copy_threshold_``.
    guard_percentile : float
        Percentile (0-100) of the held-out samples' distance ratios used as the near-copy
        threshold (never below ``MIN_NEAR_COPY_RATIO`` = 0.5).
    random_state : None | int | numpy.random.Generator
        Seed of everything random in ``fit``.
    verbose : None | bool | str
        Logging level while fitting and sampling.

    Attributes
    ----------
    divergence_ : float
        Estimate of ``KL(P || Q)`` in nats: the sum of the bridge DV estimates on held-out data.
        A calibrated divergence only when ``divergence_certified_``; otherwise the scale of the
        dual space (EEG epochs carry hundreds of nats of dependence, far more than a few hundred
        samples can certify: ``docs/method.md``, section 2).
    divergence_certified_ : bool
        Whether every bridge estimate is below half of ``log`` of the number of pairs it was
        computed from, the most a Donsker-Varadhan estimate from them can certify.
    bridge_divergences_ : ndarray, shape (n_bridges,)
        Held-out DV estimate of each bridge ``KL(P_{k-1} || P_k)``.
    train_divergence_ : float
        The same estimate on as many training samples as are held out (larger when the network
        overfits).
    endpoints_ : ndarray, shape (2,)
        Smallest and largest dual value of the training samples.
    robust_endpoints_ : ndarray, shape (2,)
        The 2.5 and 97.5 percentiles of the training dual values.
    dual_values_train_ : ndarray, shape (n_train,)
        Dual values of the training samples.
    clusters_ : DualClusters
        Cut points and member labels of the training samples in the dual space.
    local_dual_values_ : ndarray, shape (n_train,)
        Localized (kNN) dual values of the training samples.
    local_endpoints_ : ndarray, shape (2,)
        Range of ``local_dual_values_``.
    near_copy_threshold_ : float
        Nearest-neighbour distance ratio under which a sample counts as a near-copy.
    heldout_nearest_distances_ : ndarray, shape (n_heldout,)
        Distance of each held-out sample to its closest training sample (scaled units).
    heldout_distance_ratios_ : ndarray, shape (n_heldout,)
        Nearest-neighbour distance ratio of each held-out sample against the training set.
    n_duplicates_ : int
        Samples of ``X`` dropped by ``fit`` as exact copies of an earlier sample.
    walk_shrinkage_ : float
        Shrinkage intensity of the data-shaped Gaussian's covariance (0: sample covariance,
        1: the separable spatial x temporal target).
    train_indices_, heldout_indices_ : ndarray of int
        Rows of ``X`` used for training and held out.
    n_channels_, n_times_ : int
        Image size seen in ``fit``.
    history_ : list of dict
        Training curve (step, train loss, held-out loss, held-out divergence).
    """

    def __init__(self, method="path", n_bridges=32, pixel_order="channel", n_filters=32,
                 hidden=128, temporal_kernel=5, max_steps=1500, batch_size=128,
                 learning_rate=2e-3, weight_decay=1e-2, validation_fraction=0.2, eval_every=250,
                 patience=6, n_eval_draws=5, n_final_draws=2000, n_neighbors=10,
                 n_local_draws=16, walk_steps=25, walk_step_size=1.0, walk_noise=0.5,
                 start="gaussian", walk_metric="data", walk_shrinkage=None, target="nearest",
                 local_check=True, guard=True, guard_percentile=5.0, random_state=None,
                 verbose=None):
        self.method = method
        self.n_bridges = n_bridges
        self.pixel_order = pixel_order
        self.n_filters = n_filters
        self.hidden = hidden
        self.temporal_kernel = temporal_kernel
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.eval_every = eval_every
        self.patience = patience
        self.n_eval_draws = n_eval_draws
        self.n_final_draws = n_final_draws
        self.n_neighbors = n_neighbors
        self.n_local_draws = n_local_draws
        self.walk_steps = walk_steps
        self.walk_step_size = walk_step_size
        self.walk_noise = walk_noise
        self.start = start
        self.walk_metric = walk_metric
        self.walk_shrinkage = walk_shrinkage
        self.target = target
        self.local_check = local_check
        self.guard = guard
        self.guard_percentile = guard_percentile
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        check_option("method", self.method, ("path", "direct"))
        check_option("pixel_order", self.pixel_order, ("channel", "time", "random"))
        check_option("target", self.target, ("nearest", "density", "between_clusters"))
        check_option("start", self.start, ("gaussian", "training"))
        check_option("walk_metric", self.walk_metric, ("data", "euclidean"))
        if self.walk_shrinkage is not None:
            check_float("walk_shrinkage", self.walk_shrinkage, low=0, high=1)
        for name in ("n_bridges", "n_filters", "hidden", "temporal_kernel", "max_steps",
                     "batch_size", "eval_every", "patience", "n_eval_draws", "n_final_draws",
                     "n_neighbors", "n_local_draws"):
            check_int(name, getattr(self, name), minimum=1)
        check_int("walk_steps", self.walk_steps, minimum=0)
        check_float("learning_rate", self.learning_rate, low=0, low_inclusive=False)
        check_float("weight_decay", self.weight_decay, low=0)
        check_float("validation_fraction", self.validation_fraction, low=0, high=1,
                    low_inclusive=False, high_inclusive=False)
        check_float("walk_step_size", self.walk_step_size, low=0, high=1, low_inclusive=False)
        check_float("walk_noise", self.walk_noise, low=0, high=1)
        check_float("guard_percentile", self.guard_percentile, low=0, high=100)
        for name in ("local_check", "guard"):
            check_bool(name, getattr(self, name))

    def _check_fitted(self, what):
        if not hasattr(self, "network_"):
            raise RuntimeError(
                f"This {type(self).__name__} is not fitted yet: call fit(X) before {what}."
            )

    def _split(self, n_samples, rng):
        n_heldout = max(MIN_HELDOUT_SAMPLES, int(round(self.validation_fraction * n_samples)))
        min_train = max(MIN_TRAIN_SAMPLES, self.n_neighbors + 1)
        if n_samples - n_heldout < min_train:
            minimum = min_train + MIN_HELDOUT_SAMPLES
            minimum = max(minimum, int(math.ceil(min_train / (1 - self.validation_fraction))))
            raise ValueError(
                f"X has {n_samples} distinct samples, fewer than the method can use: it needs at "
                f"least "
                f"{minimum} ({min_train} training samples, so that every pixel marginal and every "
                f"kNN neighbourhood of n_neighbors={self.n_neighbors} has enough values, and "
                f"{MIN_HELDOUT_SAMPLES} held out with validation_fraction="
                f"{self.validation_fraction})."
            )
        order = rng.permutation(n_samples)
        return np.sort(order[n_heldout:]), np.sort(order[:n_heldout])

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Learn the dual space of ``X``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_channels, n_times)
            Real samples in any units (they are robustly scaled per channel). Not modified.
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        self : DualDivergenceGenerator
            The fitted estimator.
        """
        self._check_params()
        X = check_array_3d(X, "X")
        rng = check_random_state(self.random_state)
        with use_verbose(self.verbose):
            self._fit(X, rng)
        return self

    def _fit(self, X, rng):
        n_samples, n_channels, n_times = X.shape
        torch_gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        # A sample given twice would sit at distance 0 from its copy and switch the near-copy
        # guard off (a held-out copy of a training sample has distance ratio 0); keep the first.
        _, first = np.unique(X.reshape(n_samples, -1), axis=0, return_index=True)
        unique_rows = np.sort(first)
        self.n_duplicates_ = n_samples - len(unique_rows)
        if self.n_duplicates_:
            logger.warning("X has %d sample(s) identical to an earlier one; fit uses the %d "
                           "distinct samples only.", self.n_duplicates_, len(unique_rows))
        train_pos, heldout_pos = self._split(len(unique_rows), rng)
        self.train_indices_ = unique_rows[train_pos]
        self.heldout_indices_ = unique_rows[heldout_pos]
        self.n_channels_, self.n_times_ = n_channels, n_times
        self.scaler_ = ChannelScaler().fit(X[self.train_indices_])
        scaled = self.scaler_.transform(X).astype(np.float32)
        train, heldout = scaled[self.train_indices_], scaled[self.heldout_indices_]
        self._train_scaled = train
        self.pixel_lower_, self.pixel_upper_ = walk_bounds(train)
        self.walk_shrinkage_ = self._data_gaussian().shrinkage

        n_bridges = 1 if self.method == "direct" else self.n_bridges
        order = pixel_order(n_channels, n_times, self.pixel_order, rng)
        masks = path_masks(order, n_bridges)
        # Network initialisation from its own seed, without reseeding the caller's torch.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(rng.integers(2**62)))
            self.network_ = DualNetwork(masks, n_channels, n_times, n_filters=self.n_filters,
                                        temporal_kernel=self.temporal_kernel, hidden=self.hidden)
        train_t, heldout_t = torch.from_numpy(train), torch.from_numpy(heldout)
        masks_t = self.network_.masks.view(n_bridges + 1, -1)
        logger.info("Fitting %d bridge(s) on %d training / %d held-out samples of %d x %d",
                    n_bridges, len(train), len(heldout), n_channels, n_times)
        self.history_ = train_bridges(
            self.network_, train_t, heldout_t, masks_t, n_steps=self.max_steps,
            batch_size=self.batch_size, learning_rate=self.learning_rate,
            weight_decay=self.weight_decay, eval_every=self.eval_every, patience=self.patience,
            n_eval_draws=self.n_eval_draws, generator=torch_gen)

        # Final estimates with more marginal draws than during training.
        n_draws = max(self.n_eval_draws, int(math.ceil(self.n_final_draws / len(heldout))))
        self.bridge_divergences_, _ = bridge_divergences(
            self.network_, heldout_t, train_t, masks_t, n_draws, torch_gen)
        self.divergence_ = float(self.bridge_divergences_.sum())
        # The training estimate uses as many samples and draws as the held-out one (a random
        # subset of the training samples), so that the two differ by overfitting, not by bias.
        subset = torch.from_numpy(np.sort(rng.choice(len(train), len(heldout), replace=False)))
        train_bridges_div, _ = bridge_divergences(self.network_, train_t[subset], train_t,
                                                  masks_t, n_draws, torch_gen)
        self.train_divergence_ = float(train_bridges_div.sum())
        # A DV estimate from n pairs cannot certify much more than log(n) nats (docs/method.md,
        # section 2): past half of it, divergence_ is the dual space's scale, not a calibrated KL.
        self.divergence_certified_ = bool(
            (self.bridge_divergences_ <= math.log(len(heldout) * n_draws) / 2).all())
        if not self.divergence_certified_:
            logger.info("Bridge estimates above half of log(n) nats: divergence_ is the scale "
                        "of the dual space, not a calibrated KL (a larger n_bridges splits it).")
        logger.info("Held-out KL(P||Q) = %.2f nats (training: %.2f)", self.divergence_,
                    self.train_divergence_)
        self._fit_dual_space(train, heldout, rng)

    def _fit_dual_space(self, train, heldout, rng):
        values = self._dual_values_scaled(train)
        self.dual_values_train_ = values
        self.endpoints_ = np.array([values.min(), values.max()])
        self.robust_endpoints_ = np.percentile(values, [2.5, 97.5])
        self.clusters_ = find_clusters(values)
        n_neighbors = min(self.n_neighbors, len(train) - 1)
        neighbors = knn_indices(train, train, n_neighbors, exclude_self=True)
        self.local_dual_values_ = local_dual_values(
            self._dual_values_scaled, train, train, neighbors, self.n_local_draws, rng)
        self.local_endpoints_ = np.array([self.local_dual_values_.min(),
                                          self.local_dual_values_.max()])
        first, second = nearest_two_distances(train, heldout)
        self.heldout_nearest_distances_ = first
        self.heldout_distance_ratios_ = nearest_ratios(first, second)
        # The lower tail of a few held-out ratios is poorly estimated (5 % of 10 samples is
        # their minimum): the training samples' leave-one-out ratios, distributed like unseen
        # samples' against one sample fewer, add n_train values (docs/method.md, section 5).
        train64 = train.astype(np.float64)
        reference_ratios = np.r_[self.heldout_distance_ratios_,
                                 distance_ratios(train64, train64, exclude_self=True)]
        self.near_copy_threshold_ = max(
            float(np.percentile(reference_ratios, self.guard_percentile)), MIN_NEAR_COPY_RATIO)

    # ------------------------------------------------------------------ dual space
    @torch.no_grad()
    def _dual_values_scaled(self, scaled, batch_size=1024):
        out = [self.network_.dual_value(torch.from_numpy(np.clip(
            scaled[i:i + batch_size], -MAX_SCALED_VALUE, MAX_SCALED_VALUE).astype(np.float32))
        ).double().numpy() for i in range(0, len(scaled), batch_size)]
        return np.concatenate(out) if out else np.empty(0)

    def dual_values(self, X):
        """Embed images in the 1-D dual space.

        Larger values mean more dependent (more joint-like) than the product of marginals:
        ``F(x)`` estimates ``log p(x) / q(x)`` up to a constant.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_channels, n_times)
            Images in the units of the data given to ``fit``. Not modified.

        Returns
        -------
        values : ndarray, shape (n_samples,)
        """
        self._check_fitted("dual_values")
        X = check_array_3d(X, "X", self.n_channels_, self.n_times_)
        return self._dual_values_scaled(self.scaler_.transform(X))

    def is_in_distribution(self, X, robust=False):
        """Whether each image's dual value lies between the end points.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_channels, n_times)
            Images in the units of the data given to ``fit``.
        robust : bool
            Use ``robust_endpoints_`` (2.5-97.5 percentiles) instead of ``endpoints_``.

        Returns
        -------
        inside : ndarray of bool, shape (n_samples,)
        """
        low, high = self.robust_endpoints_ if robust else self.endpoints_
        values = self.dual_values(X)
        return (values >= low) & (values <= high)

    def local_dual_values(self, X, random_state=None):
        """Localized (kNN) dual values of images against their nearest training samples.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_channels, n_times)
            Images in the units of the data given to ``fit``.
        random_state : None | int | numpy.random.Generator
            Seed of the local marginal draws.

        Returns
        -------
        local_values : ndarray, shape (n_samples,)
        """
        self._check_fitted("local_dual_values")
        X = check_array_3d(X, "X", self.n_channels_, self.n_times_)
        return self._local_values_scaled(self.scaler_.transform(X),
                                         check_random_state(random_state))

    def _local_values_scaled(self, scaled, rng):
        train = self._train_scaled
        neighbors = knn_indices(train, scaled, min(self.n_neighbors, len(train) - 1))
        return local_dual_values(self._dual_values_scaled, scaled, train, neighbors,
                                 self.n_local_draws, rng)

    # ------------------------------------------------------------------ sampling
    def sample(self, n_samples, random_state=None, return_delta=False, max_rounds=20):
        """Generate new images by walks in the dual space.

        Walks run in batches of at most ``WALK_BATCH`` (256), so memory does not grow with
        ``n_samples`` beyond the returned array.

        Parameters
        ----------
        n_samples : int
            Number of images to return (exactly this many, or an error).
        random_state : None | int | numpy.random.Generator
            Seed of the walks; the same seed gives the same samples.
        return_delta : bool
            Also return ``delta = x - x_start``, what each walk changed, in the input's units
            (``x_start`` is a Gaussian draw, or a training sample with ``start='training'``).
        max_rounds : int
            Batches of walks to try before giving up when too many samples are rejected.

        Returns
        -------
        X_new : ndarray, shape (n_samples, n_channels, n_times)
            Samples in the units of the data given to ``fit``.
        delta : ndarray, shape (n_samples, n_channels, n_times)
            Only with ``return_delta=True``.
        """
        self._check_fitted("sample")
        n_samples = check_int("n_samples", n_samples, minimum=1)
        max_rounds = check_int("max_rounds", max_rounds, minimum=1)
        rng = check_random_state(random_state)
        with use_verbose(self.verbose):
            scaled, delta = self._sample_scaled(n_samples, rng, max_rounds)
        X_new = self.scaler_.inverse_transform(scaled.astype(np.float64))
        if return_delta:
            return X_new, self.scaler_.inverse_transform_difference(delta.astype(np.float64))
        return X_new

    def _targets(self, n, rng):
        """Target dual values and, for ``start='training'``, the training rows to start from."""
        values = self.dual_values_train_
        low, high = self.endpoints_
        if self.target == "between_clusters" and self.clusters_.n_clusters > 1:
            gap = rng.integers(0, self.clusters_.n_clusters - 1, size=n)
            members = self.clusters_.members
            lo_edge = np.array([values[members[g]].max() for g in range(len(members) - 1)])
            hi_edge = np.array([values[members[g + 1]].min() for g in range(len(members) - 1)])
            targets = rng.uniform(lo_edge[gap], hi_edge[gap])
            pools = [members[g][np.argsort(values[members[g]])[::-1][:self.n_neighbors]]
                     for g in range(len(members) - 1)]
            starts = np.array([rng.choice(pools[g]) for g in gap])
            return targets, starts
        # Kernel density of the training values (Silverman bandwidth), kept inside the end points.
        bandwidth = 1.06 * values.std() * len(values) ** (-1 / 5)
        # Targets stay a hair inside the end points, so that float rounding of a walk that
        # lands on its target cannot put it outside.
        margin = 1e-3 * (high - low)
        targets = np.clip(rng.choice(values, size=n) + bandwidth * rng.standard_normal(n),
                          low + margin, high - margin)
        order = np.argsort(values)
        position = np.clip(np.searchsorted(values[order], targets), 0, len(values) - 1)
        # For start='training': one of the training samples whose value is nearest the target.
        offset = rng.integers(-self.n_neighbors // 2, self.n_neighbors // 2 + 1, size=n)
        starts = order[np.clip(position + offset, 0, len(values) - 1)]
        return targets, starts

    def _data_gaussian(self):
        """The walk's Gaussian: a deterministic function of the training images and
        ``walk_shrinkage``, so it is rebuilt (and cached) rather than stored in files."""
        cached = getattr(self, "_gaussian_cache", None)
        if cached is None or cached[0] != self.walk_shrinkage:
            cached = (self.walk_shrinkage, DataGaussian(self._train_scaled, self.walk_shrinkage))
            self._gaussian_cache = cached
        return cached[1]

    def _start_images(self, starts, torch_gen):
        if self.start == "training":
            return torch.from_numpy(self._train_scaled[starts])
        return self._data_gaussian().draw(len(starts), torch_gen)

    def _walk(self, x_from, targets, torch_gen):
        """Walk ``x_from`` to ``targets`` in batches of at most ``WALK_BATCH``."""
        lower, upper = torch.from_numpy(self.pixel_lower_), torch.from_numpy(self.pixel_upper_)
        out = []
        for begin in range(0, len(x_from), WALK_BATCH):
            x, _ = gradient_walk(
                self.network_, x_from[begin:begin + WALK_BATCH],
                torch.as_tensor(targets[begin:begin + WALK_BATCH], dtype=torch.float32),
                n_steps=self.walk_steps, step_size=self.walk_step_size, noise=self.walk_noise,
                n_final_steps=10, lower=lower, upper=upper, generator=torch_gen,
                gaussian=self._data_gaussian(), precondition=self.walk_metric == "data")
            out.append(x.numpy())
        return np.concatenate(out) if out else np.empty((0,) + self._train_scaled.shape[1:],
                                                          np.float32)

    def _sample_scaled(self, n_samples, rng, max_rounds):
        train = self._train_scaled
        torch_gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        low, high = self.endpoints_
        local_low, local_high = self.local_endpoints_
        kept, kept_delta, n_tried = [], [], 0
        counts = dict(outside=0, local=0, near_copy=0)
        # Near-copies are not dropped: their walks go on from where they stopped in the next
        # round, so the guard makes walks travel further rather than wasting them.
        going_on = (np.empty((0,) + train.shape[1:], np.float32), np.empty(0),
                    np.empty((0,) + train.shape[1:], np.float32))
        with progress(n_samples, "sample: accepted samples") as bar:
            for _ in range(max_rounds):
                n_kept = sum(len(k) for k in kept)
                n_missing = n_samples - n_kept
                if n_missing <= 0:
                    break
                # Start enough new walks to fill the gap at the acceptance rate so far (capped).
                rate = max((n_kept + 1) / (n_tried + 1), 0.05) if n_tried else 1.0
                n_walks = min(int(math.ceil(n_missing / rate * 1.15)) + 4, 20 * n_missing + 4)
                n_walks = max(n_walks - len(going_on[0]), 0)
                targets, starts = self._targets(n_walks, rng)
                new_from = self._start_images(starts, torch_gen).numpy()
                if self.target == "nearest":
                    margin = 1e-3 * (high - low)
                    targets = np.clip(self._dual_values_scaled(new_from), low + margin,
                                      high - margin)
                x_from = np.concatenate([going_on[0], new_from])
                targets = np.concatenate([going_on[1], targets])
                origins = np.concatenate([going_on[2], new_from])
                x = self._walk(torch.from_numpy(x_from), targets, torch_gen)
                # Values as dual_values() computes them, so that what is accepted here is what a
                # user's is_in_distribution() sees.
                values = self._dual_values_scaled(x)
                n_tried += n_walks
                ok = (values >= low) & (values <= high)
                counts["outside"] += int((~ok).sum())
                if self.local_check and ok.any():
                    local = np.full(len(x), np.nan)
                    local[ok] = self._local_values_scaled(x[ok], rng)
                    local_ok = (local >= local_low) & (local <= local_high)
                    counts["local"] += int((ok & ~local_ok).sum())
                    ok &= local_ok
                near = np.zeros(len(x), dtype=bool)
                if self.guard and ok.any():
                    near[ok] = distance_ratios(train, x[ok]) < self.near_copy_threshold_
                    counts["near_copy"] += int(near.sum())
                    ok &= ~near
                going_on = (x[near], targets[near], origins[near])
                kept.append(x[ok])
                bar.update(min(int(ok.sum()), max(n_missing, 0)))
                kept_delta.append(x[ok] - origins[ok])
        scaled = np.concatenate(kept)[:n_samples]
        delta = np.concatenate(kept_delta)[:n_samples]
        logger.info("Started %d walks, kept %d; rejected: %d outside the end points, %d by the "
                    "local check; %d near-copies walked on", n_tried, sum(len(k) for k in kept),
                    counts["outside"], counts["local"], counts["near_copy"])
        self.last_sample_report_ = dict(n_walks=n_tried, n_returned=len(scaled), **counts)
        if len(scaled) < n_samples:
            raise RuntimeError(
                f"Only {len(scaled)} of the {n_samples} requested samples passed the acceptance "
                f"checks after {max_rounds} rounds of walks ({counts}). Increase max_rounds, "
                "lower guard_percentile, or set local_check=False."
            )
        return scaled, delta

    def nearest_training_indices(self, X):
        """Row of the fitted ``X`` closest to each image (robust-scaled Euclidean distance).

        Parameters
        ----------
        X : array-like, shape (n_samples, n_channels, n_times)
            Images in the units of the data given to ``fit``.

        Returns
        -------
        rows : ndarray of int, shape (n_samples,)
            Indices into the ``X`` given to ``fit`` (values of ``train_indices_``).
        """
        self._check_fitted("nearest_training_indices")
        X = check_array_3d(X, "X", self.n_channels_, self.n_times_)
        scaled = self.scaler_.transform(X)
        # In blocks: knn_indices forms a (queries x training samples) distance matrix.
        nearest = [knn_indices(self._train_scaled, scaled[start:start + WALK_BATCH], 1)[:, 0]
                   for start in range(0, len(scaled), WALK_BATCH)]
        return self.train_indices_[np.concatenate(nearest)]

    # ------------------------------------------------------------------ I/O
    def _get_state(self):
        """Everything needed to rebuild the fitted estimator, as tensors and JSON strings."""
        self._check_fitted("save")
        arrays = dict(
            center=self.scaler_.center_, scale=self.scaler_.scale_,
            train_scaled=self._train_scaled, pixel_lower=self.pixel_lower_,
            pixel_upper=self.pixel_upper_, bridge_divergences=self.bridge_divergences_,
            endpoints=self.endpoints_, robust_endpoints=self.robust_endpoints_,
            dual_values_train=self.dual_values_train_, cut_points=self.clusters_.cut_points,
            cluster_labels=self.clusters_.labels, local_dual_values=self.local_dual_values_,
            local_endpoints=self.local_endpoints_,
            heldout_nearest_distances=self.heldout_nearest_distances_,
            heldout_distance_ratios=self.heldout_distance_ratios_,
            train_indices=self.train_indices_, heldout_indices=self.heldout_indices_,
        )
        params = self.get_params()
        if not (params["random_state"] is None or isinstance(params["random_state"], int)):
            params["random_state"] = None  # a Generator object is not serialisable
        scalars = dict(divergence=self.divergence_, train_divergence=self.train_divergence_,
                       near_copy_threshold=self.near_copy_threshold_,
                       n_duplicates=self.n_duplicates_,
                       divergence_certified=self.divergence_certified_,
                       n_channels=self.n_channels_, n_times=self.n_times_)
        return {
            "format": _FORMAT, "format_version": _FORMAT_VERSION, "package_version": __version__,
            "params": json.dumps(params), "scalars": json.dumps(scalars),
            "history": json.dumps(self.history_),
            "arrays": {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()},
            "network": self.network_.state_dict(),
        }

    @classmethod
    def _from_state(cls, state):
        if state.get("format") != _FORMAT:
            raise ValueError(f"Not a saved {cls.__name__}: format is {state.get('format')!r}.")
        if state["format_version"] > _FORMAT_VERSION:
            raise ValueError(f"This file was written by a newer mne_dualdiv "
                             f"({state['package_version']}); upgrade to read it.")
        cls._check_state(state)
        if state["format_version"] < _FORMAT_VERSION:
            raise ValueError(f"This file was written by mne_dualdiv {state['package_version']} "
                             f"(format {state['format_version']}), whose walk this version "
                             f"replaced; fit the generator again.")
        self = cls(**json.loads(state["params"]))
        arrays = {k: v.numpy() for k, v in state["arrays"].items()}
        scalars = json.loads(state["scalars"])
        self.scaler_ = ChannelScaler()
        self.scaler_.center_, self.scaler_.scale_ = arrays["center"], arrays["scale"]
        self._train_scaled = arrays["train_scaled"]
        self.pixel_lower_, self.pixel_upper_ = arrays["pixel_lower"], arrays["pixel_upper"]
        self.bridge_divergences_ = arrays["bridge_divergences"]
        self.endpoints_, self.robust_endpoints_ = arrays["endpoints"], arrays["robust_endpoints"]
        self.dual_values_train_ = arrays["dual_values_train"]
        self.clusters_ = DualClusters(arrays["cut_points"], arrays["cluster_labels"])
        self.local_dual_values_ = arrays["local_dual_values"]
        self.local_endpoints_ = arrays["local_endpoints"]
        self.heldout_nearest_distances_ = arrays["heldout_nearest_distances"]
        self.heldout_distance_ratios_ = arrays["heldout_distance_ratios"]
        self.train_indices_, self.heldout_indices_ = (arrays["train_indices"],
                                                      arrays["heldout_indices"])
        self.divergence_ = scalars["divergence"]
        self.train_divergence_ = scalars["train_divergence"]
        self.near_copy_threshold_ = scalars["near_copy_threshold"]
        self.n_duplicates_ = scalars["n_duplicates"]
        self.divergence_certified_ = scalars["divergence_certified"]
        self.walk_shrinkage_ = self._data_gaussian().shrinkage
        self.n_channels_, self.n_times_ = scalars["n_channels"], scalars["n_times"]
        self.history_ = json.loads(state["history"])
        masks = state["network"]["masks"]
        self.network_ = DualNetwork(masks.view(masks.shape[0], -1), self.n_channels_,
                                    self.n_times_, n_filters=self.n_filters,
                                    temporal_kernel=self.temporal_kernel, hidden=self.hidden)
        self.network_.load_state_dict(state["network"])
        self.network_.eval()
        return self

    @classmethod
    def _check_state(cls, state):
        """Refuse a state whose parameters are invalid or whose sizes disagree, before any
        array is allocated from them (a crafted file must not make the reader allocate GBs)."""
        params = state_json(state, "params", dict)
        try:
            template = cls(**params)
        except TypeError as err:
            raise ValueError(f"invalid parameters: {err}") from None
        template._check_params()
        scalars = state_json(state, "scalars", dict)
        state_json(state, "history", list)
        n_channels = check_int("n_channels", scalars.get("n_channels"), minimum=1)
        n_times = check_int("n_times", scalars.get("n_times"), minimum=1)
        threshold = check_float("near_copy_threshold", scalars.get("near_copy_threshold"),
                                low=0)
        if template.guard and threshold == 0:
            raise ValueError("near_copy_threshold is 0, which switches the near-copy guard off.")
        arrays, network = state_tensors(state, "arrays"), state_tensors(state, "network")
        train = arrays["train_scaled"]
        if train.ndim != 3 or tuple(train.shape[1:]) != (n_channels, n_times):
            raise ValueError(f"arrays['train_scaled'] has shape {tuple(train.shape)}, not "
                             f"(n_train, {n_channels}, {n_times}).")
        derived = len(train) ** 2 + n_channels ** 2 + n_times ** 2
        if derived > max(MAX_DERIVED_RATIO * train.numel(), MAX_DERIVED_FLOOR):
            raise ValueError(
                f"its {len(train)} training images of {n_channels} x {n_times} values would make "
                f"the reader form {derived} values of n_train^2 + n_channels^2 + n_times^2 "
                f"matrices, over {MAX_DERIVED_RATIO} times what the file holds.")
        masks = network["masks"]
        n_heads = template.n_bridges if template.method == "path" else 1
        if tuple(masks.shape) != (n_heads + 1, n_channels, n_times):
            raise ValueError(f"network['masks'] has shape {tuple(masks.shape)}, not "
                             f"({n_heads + 1}, {n_channels}, {n_times}).")
        with torch.device("meta"):  # shapes only: nothing is allocated
            expected = DualNetwork(torch.empty(n_heads + 1, n_channels * n_times, dtype=bool),
                                   n_channels, n_times, n_filters=template.n_filters,
                                   temporal_kernel=template.temporal_kernel,
                                   hidden=template.hidden).state_dict()
        wrong = [f"{key} {tuple(network[key].shape) if key in network else 'missing'} "
                 f"instead of {tuple(value.shape)}" for key, value in expected.items()
                 if key not in network or network[key].shape != value.shape]
        if wrong or set(network) - set(expected):
            raise ValueError(f"the network's weights do not match its parameters: "
                             f"{'; '.join(wrong) or sorted(set(network) - set(expected))}.")

    def save(self, fname, overwrite=False):
        """Write the fitted generator to a file that reading never executes.

        The file is written to a temporary name in the destination's folder and renamed when
        complete, so that an error never leaves a partial file (nor touches an existing one).
        It holds tensors, numbers and JSON strings only, and a SHA-256 digest of them that
        :func:`mne_dualdiv.read_generator` verifies (reading with
        ``torch.load(weights_only=True)``).

        Parameters
        ----------
        fname : str | path-like
            Destination, conventionally ending in ``.pt``.
        overwrite : bool
            Replace an existing file.
        """
        fname = check_fname_for_writing(fname, overwrite)
        save_state(self._get_state(), fname, overwrite=overwrite)


def read_generator(fname):
    """Read a generator written by :meth:`DualDivergenceGenerator.save`.

    Parameters
    ----------
    fname : str | path-like
        The file.

    Returns
    -------
    generator : DualDivergenceGenerator
        The fitted generator; its dual values and samples match the saved one's.

    Raises
    ------
    mne_dualdiv.InvalidFileError
        When the file is empty, truncated, damaged (its digest does not match), not a saved
        generator, written by a newer version, or inconsistent (invalid parameters, sizes that
        disagree).
    """
    return load_state(fname, _FORMAT, _FORMAT_VERSION,
                      rebuild=DualDivergenceGenerator._from_state)
