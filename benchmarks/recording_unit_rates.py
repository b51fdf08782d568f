"""Each fitted unit's rate and amplitude against the ground-truth unit it comes from.

``RecordingSynthesizer.fit`` gives each real cluster a rate (its detected spikes over the
share a detector finds, ``trains.below_threshold``) and an amplitude. This probe fits a
synthesizer on the first 45 s of a 60 s ground-truth recording (the benchmark's protocol),
keeps what ``units.cluster_firing`` was given and returned, matches every peak to the nearest
ground-truth spike (within 0.5 ms) and prints, per cluster:

- ``core`` / ``added``: its core members and the HDBSCAN noise points given to it (the share of
  those from its main ground-truth unit, and matching no spike);
- ``purity``: the share of its core members from its main ground-truth unit;
- ``median``: the detected amplitudes' median, in thresholds;
- ``fit``: the fitted rate (Hz) and amplitude (thresholds);
- ``truth``: the main ground-truth unit's rate (Hz) over the fit's span, and the share of its
  spikes among the cluster's peaks.

``--only-near`` keeps the clusters whose median is under 1.5 thresholds (where the fit
departs from the detected spikes).

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_unit_rates.py \\
        --cases si32 hard32 --seeds 0 1 2 --only-near
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _watch import watching  # noqa: E402
from recording_fidelity import CASES, make_real  # noqa: E402

#: Peaks within this of a ground-truth spike (s) are that spike's.
MATCH_S = 0.0005


def fit_watching(case, seed, name):
    """Fit a synthesizer on ``case`` / ``seed`` (45 s of 60) and keep the last call of
    ``units.<name>``: ``((args, kwargs, result), truth)``."""
    from mne_dualdiv.adapters.recording import RecordingSynthesizer, units

    real, truth = make_real(case, 60.0, seed)
    with watching(units, name) as calls:
        RecordingSynthesizer(fit_duration=45.0, random_state=seed).fit(real)
    return calls[-1], truth


def capture(case, seed):
    """What ``cluster_firing`` saw and gave in a fit of ``case`` / ``seed``, and the truth."""
    (args, _, out), truth = fit_watching(case, seed, "cluster_firing")
    names = ("frames", "labels", "firing", "clusters", "amplitudes", "levels", "threshold",
             "fs", "duration")
    seen = dict(zip(names, args))
    seen.update(clusters=list(seen["clusters"]), stats=out[0])
    return seen, truth


def rows(seen, truth):
    """One dict per cluster (see the module docstring)."""
    fs, frames = seen["fs"], seen["frames"]
    trains = [truth.get_unit_spike_train(u) for u in truth.unit_ids]
    times = np.concatenate(trains)
    owner = np.concatenate([np.full(len(t), i) for i, t in enumerate(trains)])
    order = np.argsort(times)
    times, owner = times[order], owner[order]
    right = np.clip(np.searchsorted(times, frames), 1, len(times) - 1)
    near = np.where(np.abs(times[right] - frames) < np.abs(times[right - 1] - frames),
                    right, right - 1)
    gt = np.where(np.abs(times[near] - frames) <= int(MATCH_S * fs), owner[near], -1)
    span = frames.max() - frames.min() + 1
    out = []
    for i, u in enumerate(seen["clusters"]):
        core, fire = seen["labels"] == u, seen["firing"] == u
        added = fire & ~core
        top = np.bincount(gt[core & (gt >= 0)], minlength=len(trains)).argmax()
        level = np.median(seen["levels"][core])
        scale = level * seen["threshold"]
        spikes_in = ((trains[top] >= frames.min()) & (trains[top] <= frames.max())).sum()
        out.append(dict(
            cluster=int(u), core=int(core.sum()), added=int(added.sum()),
            added_main=float(np.mean(gt[added] == top)) if added.any() else float("nan"),
            added_none=float(np.mean(gt[added] < 0)) if added.any() else float("nan"),
            purity=float(np.mean(gt[core] == top)), truth_unit=int(top),
            median=float(np.median(seen["amplitudes"][core]) / scale),
            fit_rate=float(seen["stats"][i, 0]), fit_amplitude=float(seen["stats"][i, 1] / scale),
            truth_rate=float(spikes_in / span * fs),
            truth_detected=float(np.isin(np.flatnonzero(gt == top), np.flatnonzero(fire)).sum()
                                 / max(spikes_in, 1))))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["si32", "hard32"], choices=sorted(CASES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--only-near", action="store_true",
                        help="only clusters whose median is under 1.5 thresholds")
    args = parser.parse_args()
    for case in args.cases:
        for seed in args.seeds:
            print(f"== {case} seed {seed}")
            for r in rows(*capture(case, seed)):
                if args.only_near and r["median"] >= 1.5:
                    continue
                print(f"cluster {r['cluster']:3d}: core {r['core']:4d} (purity {r['purity']:.2f}, "
                      f"unit {r['truth_unit']}), added {r['added']:3d} (main {r['added_main']:.2f}, "
                      f"none {r['added_none']:.2f}) | median {r['median']:.2f} thr | fit "
                      f"{r['fit_rate']:5.1f} Hz at {r['fit_amplitude']:.2f} thr | truth "
                      f"{r['truth_rate']:5.1f} Hz, {r['truth_detected']:.2f} of it here")


if __name__ == "__main__":
    main()
