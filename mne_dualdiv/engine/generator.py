"""`DualDivergenceGenerator`: fit the dual space of channel x time images and sample from it.

The work is done by :mod:`.fitting`, :mod:`.sampling`, :mod:`.guard` and :mod:`.state`.
"""

import numpy as np
import torch
from sklearn.base import BaseEstimator

from .._checks import (check_array_3d, check_device, check_fitted, check_int, check_labels,
                       check_output_memory, check_random_state)
from .._docs import fill_doc
from .._io import load_state
from .._logging import logger, use_verbose
from .devices import DeviceMixin
from .dp_fit import PrivateFitMixin
from .lookups import TrainingLookupMixin
from .distributed import process_group
# MIN_* stay importable from here, where they were defined before fitting.py and guard.py.
from .fitting import (MIN_HELDOUT_SAMPLES, MIN_SUBSET_SAMPLES, MIN_TRAIN_SAMPLES,  # noqa: F401
                      distinct_rows, fit_dual_space, fit_path, new_network, split_rows)
from .gaussian import DataGaussian
from .guard import MIN_NEAR_COPY_RATIO, near_copies  # noqa: F401
from .marginals import path_masks, pixel_order
from .params import check_params
from .sampling import accepted_walks, walk_in_batches, walk_targets
from .scaling import ChannelScaler
from .state import FORMAT, FORMAT_VERSION, SavedStateMixin
from .subsets import WalkStatistics, subset_positions, subset_statistics
from .walk import walk_bounds

#: Scaled values (robust standard deviations) beyond this are clipped before the float32
#: network: from about 1e19 its sums overflow and a far input's dual value was NaN; clipped,
#: it is finite and far outside the end points (real images lie within about 1e2).
MAX_SCALED_VALUE = 1e6


@fill_doc
class DualDivergenceGenerator(SavedStateMixin, TrainingLookupMixin, PrivateFitMixin, DeviceMixin,
                              BaseEstimator):
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
    %(generator_parameters)s

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
    near_duplicate_groups_ : ndarray of int, shape (n_train,)
        Lowest index of each training sample's group of near-duplicates, which the guard
        counts as one sample (:mod:`~mne_dualdiv.engine.guard`); ``arange(n_train)`` if none.
    heldout_nearest_distances_ : ndarray, shape (n_heldout,)
        Distance of each held-out sample to its closest training sample (scaled units).
    heldout_distance_ratios_ : ndarray, shape (n_heldout,)
        Nearest-neighbour distance ratio of each held-out sample against the training set
        (leave-one-group-out against ``near_duplicate_groups_`` when some are grouped).
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
    %(privacy_attribute)s
    """

    def __init__(self, method="path", n_bridges=32, pixel_order="channel", n_filters=32,
                 hidden=128, temporal_kernel=5, max_steps=1500, batch_size=128,
                 learning_rate=2e-3, weight_decay=1e-2, validation_fraction=0.2, eval_every=250,
                 patience=6, n_eval_draws=5, n_final_draws=2000, n_neighbors=10,
                 n_local_draws=16, walk_steps=25, walk_step_size=1.0, walk_noise=0.5,
                 start="gaussian", walk_metric="data", walk_shrinkage=None, target="nearest",
                 local_check=True, guard=True, guard_percentile=5.0, dp_epsilon=None,
                 dp_delta=1e-5, device="auto", random_state=None, verbose=None):
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
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        check_params(self.get_params())

    def _check_fitted(self, what):
        check_fitted(self, "network_", what)

    # ------------------------------------------------------------------ fit
    @fill_doc
    def fit(self, X, y=None, groups=None, dp_repeats=1):
        """Learn the dual space of ``X``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_channels, n_times)
            Real samples in any units (they are robustly scaled per channel). Not modified.
        y : None | array-like, shape (n_samples,)
            Class labels, used only to stratify the held-out split so that every class keeps
            training samples for ``sample(subset=...)``; the dual space is learned without
            them. None: an unstratified split.
        %(groups_dp)s

        Returns
        -------
        self : DualDivergenceGenerator
            The fitted estimator.
        """
        self._check_params()
        device = check_device(self.device)
        X = check_array_3d(X, "X")
        labels = None if y is None else check_labels("y", y, len(X))
        subjects = None if groups is None else check_labels("groups", groups, len(X))
        dp_repeats = check_int("dp_repeats", dp_repeats, minimum=1)
        rng = check_random_state(self.random_state)
        with use_verbose(self.verbose), process_group(device) as ranks:
            ranks.check_same(X)
            self.privacy_ = None
            if self.dp_epsilon is None:
                self._fit(X, ranks.same_rng(rng), labels, ranks)
            else:
                self._fit_private(X, ranks.same_rng(rng), subjects, ranks, dp_repeats)
        return self

    def _fit(self, X, rng, groups, ranks):
        n_samples, n_channels, n_times = X.shape
        torch_gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        unique_rows = distinct_rows(X)
        self.n_duplicates_ = n_samples - len(unique_rows)
        if self.n_duplicates_:
            logger.warning("X has %d sample(s) identical to an earlier one; fit uses the %d "
                           "distinct samples only.", self.n_duplicates_, len(unique_rows))
        train_pos, heldout_pos = split_rows(
            len(unique_rows), self.validation_fraction, self.n_neighbors, rng,
            groups=None if groups is None else groups[unique_rows])
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
        masks = path_masks(pixel_order(n_channels, n_times, self.pixel_order, rng), n_bridges)
        network = new_network(masks, n_channels, n_times, int(rng.integers(2**62)),
                              n_filters=self.n_filters, temporal_kernel=self.temporal_kernel,
                              hidden=self.hidden)
        for name, value in fit_path(network.to(ranks.device), train, heldout, self.get_params(),
                                    rng, torch_gen, ranks).items():
            setattr(self, name, value)
        self.network_ = network.cpu()  # the fitted state lives on the CPU (engine.devices)
        for name, value in fit_dual_space(
                self._dual_values_scaled, train, heldout, n_neighbors=self.n_neighbors,
                n_local_draws=self.n_local_draws, guard_percentile=self.guard_percentile,
                rng=rng).items():
            setattr(self, name, value)

    # ------------------------------------------------------------------ dual space
    @torch.no_grad()
    def _dual_values_scaled(self, scaled, batch_size=1024):
        device = self._compute_device()
        network = self._network_on(device)
        out = [network.dual_value(torch.from_numpy(np.clip(
            scaled[i:i + batch_size], -MAX_SCALED_VALUE, MAX_SCALED_VALUE).astype(np.float32)
        ).to(device)).double().cpu().numpy() for i in range(0, len(scaled), batch_size)]
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

    # ------------------------------------------------------------------ sampling
    def sample(self, n_samples, random_state=None, return_delta=False, max_rounds=20,
               subset=None):
        """Generate new images by walks in the dual space.

        Walks run in batches of at most ``WALK_BATCH`` (256), so memory does not grow with
        ``n_samples`` beyond the returned array. With ``subset`` they sample that part of the
        data (one class) in the dual space of all of it (``docs/method.md``, "Small cohorts").

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
        subset : None | array-like of int or bool
            Rows of the ``X`` given to ``fit`` (indices or a mask) whose walk statistics to
            use: walks start from and diffuse with the Gaussian of their training images
            (rows held out are not used; at least ``MIN_SUBSET_SAMPLES`` = 2 must be training
            rows) and aim at their dual values; end points, local check and near-copy guard
            stay those of all training samples. None: every training sample.

        Returns
        -------
        X_new : ndarray, shape (n_samples, n_channels, n_times)
            Samples in the units of the data given to ``fit``.
        delta : ndarray, shape (n_samples, n_channels, n_times)
            Only with ``return_delta=True``.
        """
        self._check_fitted("sample")
        n_samples = check_int("n_samples", n_samples, minimum=1)
        check_output_memory("n_samples", n_samples, (2 + return_delta) * 8 * n_samples
                            * self.n_channels_ * self.n_times_, "need float64 samples and copies")
        max_rounds = check_int("max_rounds", max_rounds, minimum=1)
        positions = None if subset is None else subset_positions(
            subset, self.train_indices_, len(self.train_indices_) + len(self.heldout_indices_)
            + self.n_duplicates_)
        rng = check_random_state(random_state)
        with use_verbose(self.verbose):
            scaled, delta = self._sample_scaled(n_samples, rng, max_rounds,
                                                self._walk_statistics(positions))
        X_new = self.scaler_.inverse_transform(scaled.astype(np.float64))
        if return_delta:
            return X_new, self.scaler_.inverse_transform_difference(delta.astype(np.float64))
        return X_new

    def _data_gaussian(self):
        """The walk's Gaussian: a deterministic function of the training images and
        ``walk_shrinkage``, so it is rebuilt (and cached) rather than stored in files."""
        cached = getattr(self, "_gaussian_cache", None)
        if cached is None or cached[0] != self.walk_shrinkage:
            cached = (self.walk_shrinkage, self._released_gaussian() if self._private
                      else DataGaussian(self._train_scaled, self.walk_shrinkage))
            self._gaussian_cache = cached
        return cached[1]

    def _walk_statistics(self, positions):
        """Walk statistics of the training samples at ``positions`` (None: all), cached."""
        if positions is None:
            return WalkStatistics(self._data_gaussian(), self.dual_values_train_,
                                  self.endpoints_, self.clusters_)
        self._refuse_if_private("sample(subset=...)")
        key = (self.walk_shrinkage, positions.tobytes())
        cache = self.__dict__.setdefault("_subset_cache", {})
        if key not in cache:
            cache[key] = subset_statistics(self._train_scaled, self.dual_values_train_,
                                           positions, self.walk_shrinkage)
        return cache[key]

    def _start_walks(self, n, rng, torch_gen, stats):
        """Start images (scaled, numpy) and target dual values of ``n`` new walks."""
        targets, starts = walk_targets(stats.values, stats.endpoints, stats.clusters, n, rng,
                                       target=self.target, n_neighbors=self.n_neighbors)
        if self.start == "training":
            x_from = self._train_scaled[starts if stats.positions is None
                                        else stats.positions[starts]]
        else:
            x_from = stats.gaussian.draw(len(starts), torch_gen).numpy()
        if self.target == "nearest":
            low, high = stats.endpoints
            margin = 1e-3 * (high - low)
            targets = np.clip(self._dual_values_scaled(x_from), low + margin, high - margin)
        return x_from, targets

    def _sample_scaled(self, n_samples, rng, max_rounds, stats):
        torch_gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        train = self._train_scaled
        device = self._compute_device()
        network, gaussian = self._network_on(device), stats.gaussian.to(device)
        scaled, delta, self.last_sample_report_ = accepted_walks(
            n_samples, rng,
            start_walks=lambda n, rng: self._start_walks(n, rng, torch_gen, stats),
            walk=lambda x_from, targets: walk_in_batches(
                network, x_from, targets, torch_gen, gaussian=gaussian,
                lower=self.pixel_lower_, upper=self.pixel_upper_, n_steps=self.walk_steps,
                step_size=self.walk_step_size, noise=self.walk_noise,
                precondition=self.walk_metric == "data"),
            dual_fn=self._dual_values_scaled, endpoints=self.endpoints_,
            local_fn=(self._local_values_scaled if self.local_check and not self._private
                      else None),
            local_endpoints=self.local_endpoints_,
            is_near_copy=((lambda x: near_copies(train, x, self.near_copy_threshold_,
                                                 self.near_duplicate_groups_))
                          if self.guard and not self._private else None),
            max_rounds=max_rounds)
        if len(scaled) < n_samples:
            report = {key: self.last_sample_report_[key]
                      for key in ("outside", "local", "near_copy")}
            raise RuntimeError(
                f"Only {len(scaled)} of the {n_samples} requested samples passed the acceptance "
                f"checks after {max_rounds} rounds of walks ({report}). Increase max_rounds, "
                "lower guard_percentile, or set local_check=False."
            )
        return scaled, delta


@fill_doc
def read_generator(fname):
    """Read a generator written by :meth:`DualDivergenceGenerator.save`.

    %(read_parameters)s

    Returns
    -------
    generator : DualDivergenceGenerator
        The fitted generator; its dual values and samples match the saved one's.

    %(read_raises)s
    """
    return load_state(fname, FORMAT, FORMAT_VERSION,
                      rebuild=DualDivergenceGenerator.from_state)
