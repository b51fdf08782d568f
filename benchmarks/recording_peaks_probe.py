"""Which peaks does a synthetic recording lack? Peaks matched to ground-truth spikes, per unit.

Fits a :class:`~mne_dualdiv.adapters.recording.RecordingSynthesizer` on the first 45 s of a
60 s case of ``benchmarks/recording_fidelity.py`` (seed ``seed``), draws 60 s (seed + 1),
detects peaks on both (the package's detector: locally exclusive, 5 MAD) and matches each
peak to the nearest ground-truth spike within 0.5 ms. Per unit: spikes, peaks, peaks per
spike, peaks more than 50 µm from the unit's most frequent peak channel ("far": a unit seen
at two places) and their median amplitude, and peaks in the lowest amplitude decile; peaks
matched to no spike are the background's threshold crossings. docs/recording.md (section 2,
step 3) quotes its output for ``hard32 2``.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_peaks_probe.py hard32 2
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording_fidelity import make_real  # noqa: E402

FAR_UM, MATCH_S, NEAR_MS = 50.0, 0.0005, 3.0


def spike_table(sorting):
    """Every spike's frame and unit index, sorted by frame."""
    frames = [sorting.get_unit_spike_train(u) for u in sorting.unit_ids]
    labels = np.concatenate([np.full(len(f), i) for i, f in enumerate(frames)])
    frames = np.concatenate(frames)
    order = np.argsort(frames)
    return frames[order], labels[order]


def nearest_spike(peak_frames, frames, labels, tolerance):
    """The unit of the spike nearest each peak (-1: none within ``tolerance`` frames)."""
    from mne_dualdiv.adapters.recording.trains import nearest

    index = nearest(frames, peak_frames)
    return np.where(np.abs(frames[index] - peak_frames) <= tolerance, labels[index], -1)


def analyse(name, recording, sorting):
    from mne_dualdiv.adapters.recording import spikes
    from mne_dualdiv.adapters.recording.trains import nearest

    band = spikes.spike_band(recording)
    levels = spikes.noise_levels(band)
    peaks = spikes.find_peaks(band, levels)
    locations = spikes.channel_locations(recording)
    frames, labels = spike_table(sorting)
    unit = nearest_spike(peaks["sample_index"], frames, labels,
                         int(MATCH_S * recording.sampling_frequency))
    amplitude = np.abs(peaks["amplitude"])
    low = amplitude < np.percentile(amplitude, 10)
    duration = recording.get_total_duration()
    print(f"== {name}: {len(peaks)} peaks ({len(peaks) / duration:.1f}/s), threshold "
          f"{5 * np.median(levels):.1f}, amplitude p10/50/90 "
          f"{np.percentile(amplitude, [10, 50, 90]).round(1)}")
    print(f"  matched to no spike: {np.sum(unit < 0)} ({np.sum(unit < 0) / duration:.2f}/s), "
          f"{np.sum(low & (unit < 0))} of the {low.sum()} in the lowest decile")
    lone = peaks["sample_index"][unit < 0]
    if len(lone):
        index = nearest(frames, lone)
        offset = (lone - frames[index]) / recording.sampling_frequency * 1000
        within = np.abs(offset) <= NEAR_MS
        print(f"    of them within {NEAR_MS:g} ms of a spike: {within.sum()} (offset quantiles "
              f"10/50/90 %: {np.percentile(offset[within], [10, 50, 90]).round(2) if within.any() else '-'} ms; "
              f"units {np.bincount(labels[index][within], minlength=len(sorting.unit_ids)).tolist()})")
    for u in range(len(sorting.unit_ids)):
        mine = unit == u
        n_spikes = np.sum(labels == u)
        if not mine.any():
            print(f"  unit {u}: {n_spikes} spikes, no peaks")
            continue
        home = np.bincount(peaks["channel_index"][mine]).argmax()
        far = np.linalg.norm(locations[peaks["channel_index"][mine]] - locations[home],
                             axis=1) > FAR_UM
        far_amplitude = np.median(amplitude[mine][far]) if far.any() else np.nan
        print(f"  unit {u:2d}: spikes {n_spikes:5d} peaks {mine.sum():5d} "
              f"({mine.sum() / max(n_spikes, 1):.2f}/spike) far {far.sum():4d} "
              f"(median {far_amplitude:6.1f}) lowest decile {np.sum(low & mine):4d}")


def main():
    from mne_dualdiv.adapters.recording import RecordingSynthesizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case")
    parser.add_argument("seed", type=int)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    real, truth = make_real(args.case, 60.0, args.seed)
    synthesizer = RecordingSynthesizer(fit_duration=45.0, random_state=args.seed).fit(real)
    synthetic = synthesizer.sample(60.0, random_state=args.seed + 1)
    units = synthetic.units
    print(f"{len(truth.unit_ids)} real units, {units.n_units} synthetic units; second "
          f"footprints of units {units.parents[units.n_units:].tolist()}")
    analyse("real", real, truth)
    analyse("synthetic", synthetic, synthetic.get_ground_truth())


if __name__ == "__main__":
    main()
