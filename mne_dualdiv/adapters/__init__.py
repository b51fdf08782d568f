"""Adapters: MNE, SpikeInterface and neo objects to channel x time images and back."""

from .epochs import EpochsSynthesizer, augment, read_epochs_synthesizer
from .sampler import DualDivergenceSampler

__all__ = ["EpochsSynthesizer", "augment", "read_epochs_synthesizer", "DualDivergenceSampler"]
