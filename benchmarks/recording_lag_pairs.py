"""Clusters locked to another at a lag: late dips of one unit, or distinct units?

``trains.join_locked`` joins a cluster whose peaks follow a louder cluster's at one lag (up to
``trains.LOCK_WINDOW_S``, for more than ``trains.LOCKED_SHARE`` of them) only where
``trains.late_dip`` says they are the louder unit's late dip. This probe fits a synthesizer
on the first 45 s of a 60 s ground-truth recording (the benchmark's protocol), keeps what
``join_locked`` was given, and prints every pair locked at a lag beyond the lag-0 tolerance
with a share above ``--share``: the lag, the share, the late-dip check, and the ground-truth
unit of each side (the follower's peaks moved back by the lag, the unit's as they are,
matched within 0.5 ms, by majority): ``same`` when both are one ground-truth unit.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_lag_pairs.py \\
        --cases si32 hard32 np384 --seeds 0 1 2
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording_fidelity import CASES  # noqa: E402
from recording_unit_rates import MATCH_S, fit_watching  # noqa: E402


def capture(case, seed):
    """What ``join_locked`` saw in a fit of ``case`` / ``seed``, its result, and the truth."""
    (args, _, out), truth = fit_watching(case, seed, "join_locked")
    frames, firing, clusters, _, fs, dips = args
    return dict(frames=frames, firing=firing, clusters=list(clusters), fs=fs, dips=dips,
                kept=out[1]), truth


def majority_unit(frames, times, owner, tolerance):
    """The ground-truth unit owning most of ``frames`` (-1: none matched)."""
    right = np.clip(np.searchsorted(times, frames), 1, len(times) - 1)
    near = np.where(np.abs(times[right] - frames) < np.abs(times[right - 1] - frames),
                    right, right - 1)
    units = owner[near][np.abs(times[near] - frames) <= tolerance]
    return int(np.bincount(units).argmax()) if len(units) else -1


def lag_pairs(seen, truth, least_share):
    """One dict per pair of clusters locked at a lag (see the module docstring)."""
    from mne_dualdiv.adapters.recording import trains

    fs, frames, firing, clusters = seen["fs"], seen["frames"], seen["firing"], seen["clusters"]
    spikes = [truth.get_unit_spike_train(u) for u in truth.unit_ids]
    times = np.concatenate(spikes)
    owner = np.concatenate([np.full(len(t), i) for i, t in enumerate(spikes)])
    order = np.argsort(times)
    times, owner = times[order], owner[order]
    tolerance = int(round(trains.COINCIDENCE_S * fs))
    window = int(round(trains.LOCK_WINDOW_S * fs))
    match = int(MATCH_S * fs)
    spike_trains = [np.sort(frames[firing == u]) for u in clusters]
    out = []
    for i, follower in enumerate(spike_trains):
        for j, unit in enumerate(spike_trains):
            if i == j or not len(follower) or (
                    trains.coincident(follower, unit, tolerance).mean() > trains.LOCKED_SHARE):
                continue
            lag, share = trains.locked_lag(follower, unit, tolerance, window)
            if lag <= tolerance or share <= least_share:
                continue
            a = majority_unit(follower - lag, times, owner, match)
            b = majority_unit(unit, times, owner, match)
            out.append(dict(follower=clusters[i], unit=clusters[j], n=len(follower),
                            lag_ms=lag / fs * 1e3, share=share,
                            late_dip=bool(seen["dips"](j, i, lag)), same=a == b >= 0))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["si32", "hard32"], choices=sorted(CASES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--share", type=float, default=0.2,
                        help="least share of the follower's peaks at the lag")
    args = parser.parse_args()
    for case in args.cases:
        for seed in args.seeds:
            seen, truth = capture(case, seed)
            print(f"== {case} seed {seed}: {len(seen['clusters'])} clusters, "
                  f"{len(seen['kept'])} units after joining")
            for p in lag_pairs(seen, truth, args.share):
                print(f"cluster {p['follower']} ({p['n']} peaks) after cluster {p['unit']}: "
                      f"lag {p['lag_ms']:.2f} ms, share {p['share']:.2f}, late dip "
                      f"{p['late_dip']}, ground truth {'same' if p['same'] else 'distinct'}")


if __name__ == "__main__":
    main()
