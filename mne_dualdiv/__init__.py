"""Synthetic EEG, MEG and extracellular data from small cohorts by dual-divergence sampling."""

from ._version import __version__
from ._io import InvalidFileError
from .engine import DualDivergenceGenerator, read_generator
from . import datasets
from . import baselines
from .metrics import evaluate
from .adapters.epochs import EpochsSynthesizer, augment, read_epochs_synthesizer
from .adapters.sampler import DualDivergenceSampler
from .presets import get_preset

__all__ = ["DualDivergenceGenerator", "read_generator", "datasets", "baselines", "evaluate",
           "__version__", "InvalidFileError",
           "EpochsSynthesizer", "augment", "read_epochs_synthesizer", "DualDivergenceSampler",
           "get_preset"]

#: The SpikeInterface and neo adapters need the optional 'ephys' dependencies: imported on first
#: use, so that ``import mne_dualdiv`` works without them.
_EPHYS_NAMES = {"RecordingSynthesizer": "recording", "SyntheticRecording": "recording",
                "read_recording_synthesizer": "recording", "PrivacyReport": "recording.privacy",
                "fidelity_report": "recording.fidelity",
                "RecordingFidelityReport": "recording.fidelity", "NeoSynthesizer": "neo"}


def __getattr__(name):
    if name in _EPHYS_NAMES:
        import importlib

        return getattr(importlib.import_module(f".adapters.{_EPHYS_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
