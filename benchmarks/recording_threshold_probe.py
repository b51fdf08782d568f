"""Does ``trains.below_threshold`` infer the share of a unit's spikes the detector finds?

A unit near the detection threshold is seen only through the spikes the detector keeps;
``RecordingSynthesizer.fit`` fits its amplitude (a normal of the background's spread, truncated
at the threshold) and divides its detected rate by the share that normal puts beyond the
threshold. This probe checks both against the truth: a 6-channel line (20 µm apart) of white
noise (5 µV), one unit of known amplitude (its band-passed trough at ``--targets`` times the
threshold on its peak channel) firing 900 times in 60 s, SpikeInterface's locally exclusive
detector (the package's ``spikes.find_peaks``, 5 MAD), and ``below_threshold`` on the
amplitudes of the peaks within 0.5 ms of a spike. It prints, per amplitude, the share of
spikes detected, the share and amplitude the fit infers, and the detected median.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_threshold_probe.py
"""

import argparse
import warnings

import numpy as np

FS, DURATION, N_CHANNELS, NOISE_UV, N_SPIKES = 30000.0, 60.0, 6, 5.0, 900


def line_recording(traces):
    from spikeinterface.core import NumpyRecording

    recording = NumpyRecording(traces, FS)
    recording.set_dummy_probe_from_locations(
        np.column_stack([np.zeros(N_CHANNELS), 20.0 * np.arange(N_CHANNELS)]))
    return recording


def main():
    from mne_dualdiv.adapters.recording import spikes
    from mne_dualdiv.adapters.recording.trains import below_threshold, nearest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", type=float, default=[0.6, 0.8, 1.0, 1.2, 1.5])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(args.seed)
    t = np.arange(90) - 30
    shape = -np.exp(-0.5 * (t / 4.0) ** 2) + 0.3 * np.exp(-0.5 * ((t - 15) / 8.0) ** 2)
    spatial = np.exp(-0.5 * (np.arange(N_CHANNELS) - 2) ** 2)
    template = (shape[:, None] * spatial[None]).astype(np.float32)
    image = np.zeros((400, N_CHANNELS), np.float32)
    image[100 + t] += template
    band_trough = -spikes.band_filter(image.T[None].copy(), FS)[0][2].min()
    n = int(DURATION * FS)
    print("amplitude / threshold | share detected | fitted share | fitted amplitude / threshold"
          " | detected median / threshold")
    for target in args.targets:
        traces = (NOISE_UV * rng.standard_normal((n, N_CHANNELS))).astype(np.float32)
        level = spikes.noise_levels(spikes.spike_band(line_recording(traces.copy())))[2]
        threshold = spikes.DETECT_THRESHOLD * level
        frames = np.sort(rng.choice(np.arange(100, n - 100, 200), N_SPIKES, replace=False))
        for frame in frames:
            traces[frame + t] += target * threshold / band_trough * template
        band = spikes.spike_band(line_recording(traces))
        levels = spikes.noise_levels(band)
        peaks = spikes.find_peaks(band, levels)
        gap = np.abs(frames[nearest(frames, peaks["sample_index"])] - peaks["sample_index"])
        amplitudes = np.abs(peaks["amplitude"][gap <= 0.0005 * FS])
        threshold = spikes.DETECT_THRESHOLD * levels[2]
        mean, share, _ = below_threshold(amplitudes, threshold, levels[2])
        print(f"{target:.1f} | {len(amplitudes) / N_SPIKES:.2f} | {share:.2f} | "
              f"{mean / threshold:.2f} | {np.median(amplitudes) / threshold:.2f}", flush=True)


if __name__ == "__main__":
    main()
