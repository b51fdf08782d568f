"""Comparison models of the paper behind the engine's fit / sample interface.

Every class is a scikit-learn estimator: ``__init__`` stores its arguments, ``fit(X)`` learns from
images ``(n_samples, n_channels, n_times)`` in any units (robustly scaled per channel with the
engine's :class:`~mne_dualdiv.engine.scaling.ChannelScaler`) and returns ``self``, and
``sample(n_samples, random_state=None)`` returns images in the input's units. ``n_parameters_``
gives the number of trained parameters. Deep baselines (PyTorch): :class:`VAEGenerator`,
:class:`GANGenerator`, :class:`WGANGPGenerator`, :class:`FGANGenerator`,
:class:`RealNVPGenerator`, :class:`DDPMGenerator`; references without training:
:class:`JitterGenerator`, :class:`MixupGenerator`, :class:`GaussianGenerator`,
:class:`MarginalShuffleGenerator`. See ``docs/baselines.md`` for the sizing of each.
"""

from .ddpm import DDPMGenerator
from .flow import RealNVPGenerator
from .gan import FGANGenerator, GANGenerator, WGANGPGenerator
from .simple import GaussianGenerator, JitterGenerator, MarginalShuffleGenerator, MixupGenerator
from .vae import VAEGenerator

#: Name -> class of every baseline, deep models first.
BASELINES = {
    "vae": VAEGenerator,
    "gan": GANGenerator,
    "wgan_gp": WGANGPGenerator,
    "fgan": FGANGenerator,
    "realnvp": RealNVPGenerator,
    "ddpm": DDPMGenerator,
    "jitter": JitterGenerator,
    "mixup": MixupGenerator,
    "gaussian": GaussianGenerator,
    "marginal_shuffle": MarginalShuffleGenerator,
}

#: The baselines trained by gradient steps (``max_steps``, ``batch_size``).
DEEP_BASELINES = ("vae", "gan", "wgan_gp", "fgan", "realnvp", "ddpm")

__all__ = ["BASELINES", "DEEP_BASELINES", "VAEGenerator", "GANGenerator", "WGANGPGenerator",
           "FGANGenerator", "RealNVPGenerator", "DDPMGenerator", "JitterGenerator",
           "MixupGenerator", "GaussianGenerator", "MarginalShuffleGenerator"]
