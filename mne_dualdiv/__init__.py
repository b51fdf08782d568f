"""Synthetic EEG, MEG and extracellular data from small cohorts by dual-divergence sampling."""

__version__ = "0.1.0.dev0"

from .engine import DualDivergenceGenerator, read_generator  # noqa: E402
from . import datasets  # noqa: E402

__all__ = ["DualDivergenceGenerator", "read_generator", "datasets", "__version__"]
