"""Synthetic EEG, MEG and extracellular data from small cohorts by dual-divergence sampling."""

__version__ = "0.1.0.dev0"

from .engine import DualDivergenceGenerator, read_generator  # noqa: E402
from . import datasets  # noqa: E402
from .metrics import evaluate  # noqa: E402
from .adapters.epochs import EpochsSynthesizer, augment, read_epochs_synthesizer  # noqa: E402
from .adapters.sampler import DualDivergenceSampler  # noqa: E402

__all__ = ["DualDivergenceGenerator", "read_generator", "datasets", "evaluate", "__version__",
           "EpochsSynthesizer", "augment", "read_epochs_synthesizer", "DualDivergenceSampler"]
