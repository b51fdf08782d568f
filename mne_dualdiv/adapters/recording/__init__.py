"""Synthetic SpikeInterface recordings: fitted background noise plus synthetic units.

- :class:`RecordingSynthesizer` (``synthesizer.py``): fit on a recording, make lazy ones;
- :class:`SyntheticRecording` (``segment.py``): the lazy recording and its ground truth;
- ``noise.py``: the background model; ``units.py``: templates, guard and spike trains;
- ``spikes.py``: band, peaks, snippets and similarities, shared by fit and reports;
- ``fidelity.py``: how SpikeInterface's own tools see a synthetic recording next to the real
  one; ``privacy.py``: unit and snippet linkage audits and the membership attack ensemble on
  spike snippets; ``sorting_templates.py``: unit templates from a sorting.
"""

from .segment import SyntheticRecording
from .synthesizer import RecordingSynthesizer, read_recording_synthesizer

__all__ = ["RecordingSynthesizer", "SyntheticRecording", "read_recording_synthesizer"]
