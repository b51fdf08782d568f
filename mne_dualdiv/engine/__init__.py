"""The dual-divergence engine: numpy and torch only, on arrays (n_samples, n_channels, n_times)."""

from .generator import DualDivergenceGenerator, read_generator

__all__ = ["DualDivergenceGenerator", "read_generator"]
