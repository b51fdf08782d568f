"""Amplitude of synthetic traces with and without the walk's Langevin drift (384 channels).

Fits the 384-channel test set-up of ``tests/test_recording.py`` (NP1000 ground-truth recording,
40 windows of 8 samples, the test's tiny engine settings) twice, with ``walk_drift=True`` and
``False``, makes 0.2 s of synthetic recording from each, and prints, per setting, the median over
channels of the synthetic / real standard deviation and the largest and median shift of a
channel's median (in units of its real standard deviation). Run from the repository root::

    .venv/bin/python benchmarks/walk_drift_recording.py
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import test_recording as T  # noqa: E402

from mne_dualdiv import DualDivergenceGenerator  # noqa: E402
from mne_dualdiv.adapters.recording import RecordingSynthesizer  # noqa: E402


def main():
    make = T.recording384
    make = make._get_wrapped_function() if hasattr(make, "_get_wrapped_function") else make
    recording = make()
    real_uv = recording.get_traces(end_frame=60000, return_in_uV=True)
    real_std = np.std(real_uv, 0)
    for drift in (True, False):
        synthesizer = RecordingSynthesizer(
            window_duration=8 / T.SFREQ, max_windows=40, random_state=0,
            generator=DualDivergenceGenerator(**T.TINY_384, walk_drift=drift)).fit(recording)
        synthetic = synthesizer.sample(0.2, random_state=1, pool_size=16)
        uv = synthetic.get_traces(segment_index=0, end_frame=6000, return_in_uV=True)
        shift = np.abs(np.median(uv, 0) - np.median(real_uv, 0)) / real_std
        print(f"walk_drift={drift}: std synthetic / real (median over channels) "
              f"{np.median(np.std(uv, 0) / real_std):.2f}; median shift / std: largest "
              f"{shift.max():.2f}, median {np.median(shift):.2f}")


if __name__ == "__main__":
    main()
