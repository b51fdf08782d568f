"""Are the threshold crossings that match no spike the background's? Peaks of the noise alone.

``benchmarks/recording_peaks_probe.py`` finds, on ``hard32``, peaks that match no ground-truth
spike within 0.5 ms. This probe asks whether the simulated background holds them: it builds
the ``hard32`` generator's noise alone (``mne_dualdiv.datasets.simulate_recording``'s noise
recording, no units: 1/f spatially correlated sources, a common mode, independent noise of
channel-varying level) for seed ``seed``, detects peaks on it (the package's detector: locally
exclusive, 5 MAD), fits a :class:`~mne_dualdiv.adapters.recording.RecordingSynthesizer` on it
(it finds too few spikes to learn units: background only), draws the same duration and
detects peaks there. It prints peaks per second, their median amplitude and the median noise
level of both.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_background_probe.py 2
"""

import argparse
import warnings

import numpy as np

FS, DURATION = 30000.0, 45.0


def crossings(recording):
    """Peaks per second, their median absolute amplitude and the median noise level."""
    from mne_dualdiv.adapters.recording import spikes

    band = spikes.spike_band(recording)
    levels = spikes.noise_levels(band)
    peaks = spikes.find_peaks(band, levels)
    median = np.median(np.abs(peaks["amplitude"])) if len(peaks) else np.nan
    return len(peaks) / recording.get_total_duration(), median, np.median(levels)


def main():
    from mne_dualdiv.adapters.recording import RecordingSynthesizer
    from mne_dualdiv.datasets._recording_noise import noise_recording_class
    from mne_dualdiv.datasets._recordings import _make_probe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed", type=int)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    probe = _make_probe("linear", 32)
    locations = np.asarray(probe.contact_positions, dtype=float)
    noise = noise_recording_class()[0](channel_locations=locations.tolist(),
                                       sampling_frequency=FS, num_samples=int(DURATION * FS),
                                       noise_level=5.0, seed=args.seed)
    noise.set_probe(probe)
    noise.set_channel_gains(1.0)
    noise.set_channel_offsets(0.0)
    synthetic = RecordingSynthesizer(random_state=args.seed).fit(noise).sample(
        DURATION, random_state=args.seed + 1)
    for name, recording in (("simulated background", noise), ("synthetic", synthetic)):
        rate, amplitude, level = crossings(recording)
        print(f"{name}: {rate:.2f} peaks/s, median amplitude {amplitude:.1f} µV, "
              f"noise level {level:.2f} µV", flush=True)


if __name__ == "__main__":
    main()
