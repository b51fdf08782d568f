"""Does ``trains.below_threshold`` infer the share of a unit's spikes the detector finds?

A unit near the detection threshold is seen only through the spikes the detector keeps;
``RecordingSynthesizer.fit`` fits its amplitude (a normal of the background's spread, truncated
at the threshold) and divides its detected rate by the share that normal puts beyond the
threshold. This probe checks both against the truth: a 6-channel line (20 µm apart) of white
noise (5 µV), one unit of known amplitude (its band-passed trough at ``--targets`` times the
threshold on its peak channel) firing 900 times in 60 s, SpikeInterface's locally exclusive
detector (the package's ``spikes.find_peaks``, 5 MAD), and ``below_threshold`` on the
amplitudes of the peaks within 0.5 ms of a spike, with the normal's share and with the
detector's (:mod:`mne_dualdiv.adapters.recording.detection`: the unit's band-passed template
over windows of the recording's background, as ``RecordingSynthesizer.fit`` measures it). It
prints, per amplitude, the share of spikes detected, the shares and amplitudes both infer, and
the detected median. ``--noise pink`` makes the background 1/f (amplitude spectrum
``f ** -0.5``) and spatially correlated (a common part of half its power); ``--width`` sets
the trough's standard deviation in frames (4: 0.13 ms).

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


def background(kind, n, rng):
    """``n`` frames of the probe's background (before scaling to ``NOISE_UV``)."""
    white = rng.standard_normal((n, N_CHANNELS))
    if kind == "white":
        return white
    freqs = np.fft.rfftfreq(n, 1 / FS)
    shaping = 1 / np.sqrt(np.maximum(freqs, 1.0))[:, None]
    common = rng.standard_normal((n, 1))
    mixed = np.sqrt(0.5) * white + np.sqrt(0.5) * common
    return np.fft.irfft(np.fft.rfft(mixed, axis=0) * shaping, n=n, axis=0)


def main():
    from mne_dualdiv.adapters.recording import spikes
    from mne_dualdiv.adapters.recording.detection import Background
    from mne_dualdiv.adapters.recording.trains import below_threshold, nearest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", type=float, default=[0.6, 0.8, 1.0, 1.2, 1.5])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", choices=("white", "pink"), default="white")
    parser.add_argument("--width", type=float, default=4.0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(args.seed)
    t = np.arange(90) - 30
    shape = (-np.exp(-0.5 * (t / args.width) ** 2)
             + 0.3 * np.exp(-0.5 * ((t - 15) / (2 * args.width)) ** 2))
    spatial = np.exp(-0.5 * (np.arange(N_CHANNELS) - 2) ** 2)
    template = (shape[:, None] * spatial[None]).astype(np.float32)
    image = np.zeros((400, N_CHANNELS), np.float32)
    image[100 + t] += template
    band_image = spikes.band_filter(image.T[None].copy(), FS)[0]
    band_trough = -band_image[2].min()
    locations = np.column_stack([np.zeros(N_CHANNELS), 20.0 * np.arange(N_CHANNELS)])
    neighbours = spikes.neighbourhoods(locations, N_CHANNELS)
    nbefore, nafter = 45, 75
    band_template = band_image[neighbours[2], 100 - nbefore:100 + nafter]
    n = int(DURATION * FS)
    print("amplitude / threshold | share detected | normal: share, amplitude / threshold | "
          "detector: share | detected median / threshold")
    for target in args.targets:
        traces = (NOISE_UV * background(args.noise, n, rng)).astype(np.float32)
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
        response = Background(band, peaks, neighbours, locations, nbefore, nafter, rng).response(
            band_template, 2, spikes.DETECT_THRESHOLD * levels)
        _, measured_share, _ = below_threshold(amplitudes, threshold, levels[2], response)
        print(f"{target:.1f} | {len(amplitudes) / N_SPIKES:.2f} | {share:.2f}, "
              f"{mean / threshold:.2f} | {measured_share:.2f} | "
              f"{np.median(amplitudes) / threshold:.2f}", flush=True)


if __name__ == "__main__":
    main()
