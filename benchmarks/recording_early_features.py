"""What the units' templates hold more than 1 ms before their trough: synthetic against real.

A spike's template is small before its trough; a feature there (more than the detector's
1 ms exclusion before it) lies outside the spike mask of the noise figures and, negative, may
be detected as a peak of its own. For each case and seed this probe fits a synthesizer on the
first 45 s of a 60 s ground-truth recording (the benchmark's protocol), draws a synthetic
recording (seed + 1) and prints, for every real cluster template and every generated unit
template (spike band), the largest positive and negative value over all rows more than 1 ms
before the trough, each divided by the trough's depth on the peak channel; and the guard,
with the spreads of the candidate batches the draw went through.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_early_features.py \\
        --cases hard32 --seeds 1
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _watch import watching  # noqa: E402
from recording_fidelity import CASES, make_real  # noqa: E402

#: Features this long before the trough (s) are counted: the detector's exclusion.
BEFORE_S = 0.001


def early_features(images, nbefore, sampling_frequency):
    """(largest positive, largest negative) before the trough, over its depth, per template."""
    from mne_dualdiv.adapters.recording import spikes

    band = spikes.band_filter(np.asarray(images, np.float32), sampling_frequency)
    edge = nbefore - int(round(BEFORE_S * sampling_frequency))
    half = max(1, int(round(0.0002 * sampling_frequency)))
    depth = np.maximum(-band[:, 0, nbefore - half:nbefore + half + 1].min(axis=1), 1e-12)
    early = band[:, :, :edge].reshape(len(band), -1)
    return early.max(axis=1) / depth, -early.min(axis=1) / depth


def draw_watching_spreads(synthesizer, seed):
    """The units of a 10 s synthetic recording (``seed``), and the spread of every batch of
    candidates drawn for them (``units.SPREADS``: wider once the checks refuse many)."""
    from mne_dualdiv.adapters.recording import units

    with watching(units.UnitModel, "screened_candidates") as calls:
        drawn = synthesizer.sample(10.0, random_state=seed).units
    return drawn, [args[3] if len(args) > 3 else kwargs.get("spread", 1.0)
                   for args, kwargs, _ in calls]


def main():
    from mne_dualdiv.adapters.recording import RecordingSynthesizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["hard32"], choices=sorted(CASES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    args = parser.parse_args()
    for case in args.cases:
        for seed in args.seeds:
            real, _ = make_real(case, 60.0, seed)
            synthesizer = RecordingSynthesizer(fit_duration=45.0, random_state=seed).fit(real)
            units, spreads = draw_watching_spreads(synthesizer, seed + 1)
            fs = real.sampling_frequency
            print(f"== {case} seed {seed}: guard {synthesizer.units_.guard:.3f}, "
                  f"{len(spreads)} candidate batches, spreads {sorted(set(spreads))} "
                  "(features: positive / negative, over the trough's depth)")
            for name, images in (("real clusters", synthesizer.units_.real_templates),
                                 ("generated units", units.images)):
                positive, negative = early_features(images, units.nbefore, fs)
                print(f"{name:16s}: " + ", ".join(f"{p:.2f}/{n:.2f}"
                                                   for p, n in zip(positive, negative)))


if __name__ == "__main__":
    main()
