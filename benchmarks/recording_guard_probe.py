"""Which check of ``UnitModel.draw_units`` shapes the synthetic units (docs/recording.md, 6).

Fits a :class:`~mne_dualdiv.adapters.recording.RecordingSynthesizer` (Gaussian templates) on
the first 45 s of a 60 s ground-truth recording, draws ``--n`` candidate templates with
:meth:`UnitModel.candidates`, and prints the median waveform features
(``recording_fidelity.shape_features``) of all candidates and of those that pass each check
of ``draw_units`` on its own: the guard (best similarity to every real unit below it), the
trough on the unit's own channel, and a single detected peak at half the threshold.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_guard_probe.py --case hard32
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording_fidelity import CASES, make_real, shape_features  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="hard32", choices=sorted(CASES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=600)
    args = parser.parse_args()
    from mne_dualdiv.adapters.recording import RecordingSynthesizer, spikes

    real, _ = make_real(args.case, 60.0, args.seed)
    synthesizer = RecordingSynthesizer(fit_duration=45.0, random_state=args.seed).fit(real)
    model, fs = synthesizer.units_, real.sampling_frequency
    candidates = model.candidates(args.n, np.random.default_rng(args.seed))
    band = spikes.band_filter(candidates, fs)
    to_real = spikes.best_similarity(band, spikes.band_filter(model.real_templates, fs)).max(1)
    amplitude = np.median(model.cluster_stats[:, 1])
    single = np.array([model.single_peak_scale(image, amplitude, synthesizer.threshold_)
                       is not None for image in band])
    checks = dict(all=np.ones(len(band), bool), guard=to_real < model.guard,
                  own_channel=candidates.min(axis=2).argmin(axis=1) == 0, single_peak=single)
    checks["all_three"] = checks["guard"] & checks["own_channel"] & single
    features = shape_features(candidates, fs, model.row_distances)
    print(f"{args.case}, seed {args.seed}: guard {model.guard:.3f}, {args.n} candidates")
    for name, keep in checks.items():
        print(f"{name:12s} {keep.sum():5d} " + " ".join(
            f"{key}={np.median(value[keep]):.3f}" if keep.any() else f"{key}=-"
            for key, value in features.items()))


if __name__ == "__main__":
    main()
