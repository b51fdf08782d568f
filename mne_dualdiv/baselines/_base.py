"""Scaffolding shared by the baselines: the fit/sample interface, scaling and the training loop."""

import contextlib
import math
import time

import numpy as np
import torch
from sklearn.base import BaseEstimator

from .._checks import (check_array_3d, check_device, check_fitted, check_float, check_int,
                       check_random_state)
from .._docs import fill_doc
from .._logging import logger, use_verbose
from ..engine.scaling import ChannelScaler
from ._networks import squeeze, squeeze_factor, unsqueeze


def count_parameters(*modules):
    """Number of trainable parameters of torch modules."""
    return int(sum(p.numel() for module in modules for p in module.parameters()
                   if p.requires_grad))


class BaseGenerator(BaseEstimator):
    """Fit/sample interface of the engine, on robustly scaled images.

    Subclasses implement ``_check_params`` (argument checks), ``_fit_scaled(scaled, rng)`` (learn
    from float64 images scaled per channel) and ``_sample_scaled(n_samples, rng)`` (return scaled
    images); this class validates the data, scales it with the engine's
    :class:`~mne_dualdiv.engine.scaling.ChannelScaler` and maps samples back to the input's units.
    """

    #: Fewest samples ``fit`` accepts.
    _min_samples = 2
    #: Most samples drawn at once by ``sample``: bounds the networks' activations and the
    #: Gaussian's weights for any ``n_samples``.
    _sample_batch_size = 1024

    def _check_params(self):
        """Check the constructor arguments (nothing to check by default)."""

    def _check_fitted(self, what):
        check_fitted(self, "scaler_", what)

    @fill_doc
    def fit(self, X, y=None):
        """Learn the distribution of ``X``.

        %(fit_parameters)s

        Returns
        -------
        self : instance of the generator
            The fitted estimator.
        """
        self._check_params()
        X = check_array_3d(X, "X")
        if len(X) < self._min_samples:
            raise ValueError(f"X must have at least {self._min_samples} samples for "
                             f"{type(self).__name__}, got {len(X)}.")
        rng = check_random_state(self.random_state)
        for name in ("scaler_", "n_parameters_"):  # a refit starts from scratch
            self.__dict__.pop(name, None)
        scaler = ChannelScaler().fit(X)
        self.n_channels_, self.n_times_ = X.shape[1:]
        with use_verbose(self.verbose):
            self._fit_scaled(scaler.transform(X), rng)
        self.scaler_ = scaler  # last: its presence marks a fitted model
        return self

    def sample(self, n_samples, random_state=None):
        """Draw new images from the fitted model.

        Parameters
        ----------
        n_samples : int
            Number of images to return (at least 1).
        random_state : None | int | numpy.random.Generator
            Seed of the sampling; the same seed gives the same samples.

        Returns
        -------
        X_new : ndarray of float64, shape (n_samples, n_channels, n_times)
            Samples in the units of the data given to ``fit``.

        Notes
        -----
        Samples are drawn in batches of at most 1024, so the memory beyond the returned array
        does not grow with ``n_samples``.
        """
        self._check_fitted("sample")
        n_samples = check_int("n_samples", n_samples, minimum=1)
        rng = check_random_state(random_state)
        samples = np.empty((n_samples, self.n_channels_, self.n_times_))
        for start in range(0, n_samples, self._sample_batch_size):
            size = min(self._sample_batch_size, n_samples - start)
            scaled = np.asarray(self._sample_scaled(size, rng), dtype=np.float64)
            samples[start:start + size] = self.scaler_.inverse_transform(scaled)
        return samples


class TorchGenerator(BaseGenerator):
    """A baseline trained by a PyTorch loop of ``max_steps`` AdamW steps on random batches.

    The networks see images squeezed in time to about 64 time steps (see
    :func:`~mne_dualdiv.baselines._networks.squeeze`), of shape ``network_shape_``. Subclasses
    implement ``_build(n_channels, n_times)`` (create the networks for that shape and return the
    modules trained by each optimizer as a dict ``name -> list of modules``),
    ``_training_step(batch, step, generator)`` (compute losses, step the optimizers in
    ``self._optimizers`` and return a dict of float losses) and ``_generate(n_samples,
    generator)`` (a tensor of squeezed scaled images). Initialisation uses a forked global torch
    RNG, so fitting never changes the caller's torch random state.

    The networks train and sample on ``device`` and are kept on the CPU in between
    (:meth:`_on_device`). Random numbers come from a CPU generator whatever the device, through
    :meth:`_randn`, :meth:`_rand` and :meth:`_randint`, so that a model samples the same on a
    CPU and a GPU to float tolerance.
    """

    def __init__(self, n_filters, max_steps, batch_size, learning_rate, weight_decay, device,
                 random_state, verbose):
        # The settings every deep baseline shares; each subclass lists its own defaults.
        self.n_filters = n_filters
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    #: AdamW ``betas``; the adversarial baselines use the GAN literature's (0.5, 0.9).
    _betas = (0.9, 0.999)
    #: Log the running losses every this many steps.
    log_every = 100

    def _check_params(self):
        for name in ("n_filters", "max_steps", "batch_size"):
            check_int(name, getattr(self, name), minimum=1)
        check_float("learning_rate", self.learning_rate, low=0, low_inclusive=False)
        check_float("weight_decay", self.weight_decay, low=0)
        check_device(self.device)

    def _before_training(self, data):
        """Learn what the model needs from the (squeezed, scaled) training tensor besides SGD."""

    def _learning_rate(self, name):
        """Learning rate of the optimizer ``name`` (one rate for all by default)."""
        return self.learning_rate

    def _fit_scaled(self, scaled, rng):
        device = check_device(self.device)
        self.squeeze_factor_ = squeeze_factor(scaled.shape[2])
        data = squeeze(torch.from_numpy(scaled.astype(np.float32)), self.squeeze_factor_)
        self.network_shape_ = tuple(data.shape[1:])
        init_seed, loop_seed = (int(s) for s in rng.integers(2**62, size=2))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            groups = self._build(*self.network_shape_)
        self._trained_modules = list({id(m): m for group in groups.values()
                                      for m in group}.values())
        with self._on_device(device):
            self._train(groups, data.to(device), loop_seed)

    def _train(self, groups, data, loop_seed):
        """The training loop: ``max_steps`` steps on random batches of ``data``."""
        self._optimizers = {
            name: torch.optim.AdamW([p for m in modules for p in m.parameters()],
                                    lr=self._learning_rate(name), betas=self._betas,
                                    weight_decay=self.weight_decay)
            for name, modules in groups.items()}
        modules = self._trained_modules
        generator = torch.Generator().manual_seed(loop_seed)
        self._before_training(data)
        logger.info("Training %s (%d parameters) for %d steps on %d samples of %d x %d "
                    "(networks see %d x %d)", type(self).__name__, count_parameters(*modules),
                    self.max_steps, len(data), self.n_channels_, self.n_times_,
                    *self.network_shape_)
        for module in modules:
            module.train()
        self.history_, running = [], {}
        start = time.perf_counter()
        for step in range(1, self.max_steps + 1):
            rows = self._randint(len(data), (self.batch_size,), generator)
            losses = self._training_step(data[rows], step, generator)
            for key, value in losses.items():
                running.setdefault(key, []).append(value)
            if step % self.log_every == 0 or step == self.max_steps:
                entry = dict(step=step, **{k: float(np.mean(v)) for k, v in running.items()})
                if not all(math.isfinite(v) for v in entry.values()):
                    raise RuntimeError(f"{type(self).__name__} diverged at step {step}: {entry}. "
                                       "Lower learning_rate.")
                self.history_.append(entry)
                logger.info("step %5d  %s", step, "  ".join(
                    f"{k} {v:.4f}" for k, v in entry.items() if k != "step"))
                running = {}
        self.fit_time_ = time.perf_counter() - start
        for module in modules:
            module.eval()
        del self._optimizers  # not needed for sampling, and keeps the fitted object small
        self.n_parameters_ = count_parameters(*modules)

    @torch.no_grad()
    def _sample_scaled(self, n_samples, rng):
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        with self._on_device(check_device(self.device)):
            images = self._generate(n_samples, generator)
        return unsqueeze(images, self.squeeze_factor_).cpu().numpy()

    @contextlib.contextmanager
    def _on_device(self, device):
        """The trained networks on ``device`` for a while, back on the CPU afterwards (the
        fitted state stays on the CPU, so that a fitted model pickles and samples anywhere)."""
        self._device = device
        for module in self._trained_modules:
            module.to(device)
        try:
            yield
        finally:
            for module in self._trained_modules:
                module.cpu()
            self._device = torch.device("cpu")

    def _randn(self, shape, generator):
        """Standard normal draws from the CPU ``generator``, on the networks' device."""
        return torch.randn(shape, generator=generator).to(self._device)

    def _rand(self, shape, generator):
        """Uniform draws in [0, 1) from the CPU ``generator``, on the networks' device."""
        return torch.rand(shape, generator=generator).to(self._device)

    def _randint(self, high, shape, generator):
        """Integers in [0, ``high``) from the CPU ``generator``, on the networks' device."""
        return torch.randint(0, high, shape, generator=generator).to(self._device)

    @staticmethod
    def _step(optimizer, loss):
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
