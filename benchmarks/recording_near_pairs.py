"""How alike are clusters near the detection threshold: pieces of one unit, or distinct units?

Fits a :class:`~mne_dualdiv.adapters.recording.RecordingSynthesizer` on the first 45 s of a 60 s
case of ``benchmarks/recording_fidelity.py`` and keeps the clustering's input: HDBSCAN's
clusters before they are joined and their similarity on the probe (``clustering.
_merge_duplicates``' matrix). Each cluster's ground-truth owner is the unit most of its peaks
match (nearest spike within 0.5 ms). Prints every pair of clusters whose median amplitudes are
both below 1.6 thresholds (within ``trains.CUT_SDS`` noise levels of it at 5 MAD) and whose
similarity exceeds 0.6, with their owners, then the clusters near the threshold.
docs/recording.md (section 2, step 3) quotes it for si32 and hard32, seeds 0-2.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_near_pairs.py si32 0
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording_fidelity import CASES, make_real  # noqa: E402

NEAR, SHOWN = 1.6, 0.6


def main():
    from mne_dualdiv.adapters.recording import RecordingSynthesizer, clustering, units
    from mne_dualdiv.adapters.recording.trains import nearest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("seed", type=int)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    real, truth = make_real(args.case, 60.0, args.seed)
    seen = {}
    similarity, merge, cluster = (clustering.best_similarity, clustering._merge_duplicates,
                                  units.cluster_units)

    def spy_similarity(a, b, *rest, **kwargs):
        out = similarity(a, b, *rest, **kwargs)
        if a is b:
            seen["similarity"] = out
        return out

    def spy_merge(snippets, labels, clusters, *rest, **kwargs):
        seen.update(labels=labels.copy(), clusters=list(clusters))
        return merge(snippets, labels, clusters, *rest, **kwargs)

    def spy_cluster(snippets, features, peaks, *rest, **kwargs):
        seen["peaks"] = peaks
        return cluster(snippets, features, peaks, *rest, **kwargs)

    clustering.best_similarity, clustering._merge_duplicates = spy_similarity, spy_merge
    units.cluster_units = spy_cluster
    try:
        threshold = RecordingSynthesizer(fit_duration=45.0, random_state=args.seed).fit(
            real).threshold_
    finally:
        clustering.best_similarity, clustering._merge_duplicates = similarity, merge
        units.cluster_units = cluster
    peaks, labels, clusters = seen["peaks"], seen["labels"], seen["clusters"]
    trains = [truth.get_unit_spike_train(u) for u in truth.unit_ids]
    owner_of = np.concatenate([np.full(len(t), i) for i, t in enumerate(trains)])
    frames = np.concatenate(trains)
    order = np.argsort(frames)
    frames, owner_of = frames[order], owner_of[order]
    index = nearest(frames, peaks["sample_index"])
    match = np.where(np.abs(frames[index] - peaks["sample_index"]) <= 0.0005 * real.sampling_frequency,
                     owner_of[index], -1)
    amplitude = [np.median(np.abs(peaks["amplitude"][labels == u])) / threshold for u in clusters]
    owner = [np.bincount(match[labels == u] + 1).argmax() - 1 for u in clusters]
    for i in range(len(clusters)):
        for j in range(i):
            if max(amplitude[i], amplitude[j]) < NEAR and seen["similarity"][i, j] > SHOWN:
                print(f"{args.case} {args.seed}: clusters {j} and {i}: {amplitude[j]:.2f} and "
                      f"{amplitude[i]:.2f} thresholds, {seen['similarity'][i, j]:.2f} alike, "
                      f"ground-truth units {owner[j]} and {owner[i]}")
    print(f"{args.case} {args.seed}: near the threshold (cluster, thresholds, unit): "
          f"{[(i, round(float(a), 2), int(owner[i])) for i, a in enumerate(amplitude) if a < NEAR]}")


if __name__ == "__main__":
    main()
