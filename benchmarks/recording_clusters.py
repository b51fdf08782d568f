"""How well the unit clustering of ``RecordingSynthesizer.fit`` finds the real units.

The number of synthetic units is the number of clusters ``units.cluster_units`` finds in the
spike snippets (docs/recording.md, 5). For each case and seed this probe fits a
synthesizer on the first 45 s of a 60 s ground-truth recording, keeps the clustering's input,
matches every snippet's peak to the nearest ground-truth spike (within 0.5 ms) and reports, for
the package's clustering and for the variants named with ``--variants``:

- ``clusters``: units found (after joining), beside the ground-truth units with spikes there;
- ``raw``: HDBSCAN's clusters before joining;
- ``ami``: adjusted mutual information of the cluster labels (noise points assigned to the
  nearest cluster) with the ground-truth units;
- ``recovered``: ground-truth units holding the majority of one cluster that also holds
  at least half of that unit's matched snippets;
- ``guard``: the unit guard the clusters' mean snippets give (the lower, the fewer
  candidate templates pass it).

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_clusters.py \\
        --cases si32 hard32 --seeds 0 1 2
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording_fidelity import CASES, make_real  # noqa: E402


def capture(case, seed, cache):
    """The clustering's input for ``case`` and ``seed`` and the ground-truth unit of each snippet."""
    path = Path(cache) / f"clusters_v2_{case}_{seed}.npz"
    if path.exists():
        data = np.load(path, allow_pickle=False)
        return {key: data[key] for key in data.files}
    from mne_dualdiv.adapters.recording import RecordingSynthesizer, units

    real, truth = make_real(case, 60.0, seed)
    seen = {}
    original = units.cluster_units

    def spy(snippets, features, peaks, locations, neighbours, sampling_frequency, noise_levels,
            detect_threshold):
        seen.update(snippets=snippets, peaks=peaks, locations=locations,
                    neighbours=neighbours, fs=np.float64(sampling_frequency),
                    noise_levels=np.asarray(noise_levels),
                    detect_threshold=np.float64(detect_threshold))
        return original(snippets, features, peaks, locations, neighbours, sampling_frequency,
                        noise_levels, detect_threshold)

    units.cluster_units = spy
    try:
        RecordingSynthesizer(fit_duration=45.0, random_state=seed).fit(real)
    finally:
        units.cluster_units = original
    times = np.concatenate([truth.get_unit_spike_train(u) for u in truth.unit_ids])
    owner = np.concatenate([np.full(len(truth.get_unit_spike_train(u)), i)
                            for i, u in enumerate(truth.unit_ids)])
    order = np.argsort(times)
    times, owner = times[order], owner[order]
    frames = seen["peaks"]["sample_index"]
    right = np.clip(np.searchsorted(times, frames), 1, len(times) - 1)
    nearest = np.where(np.abs(times[right] - frames) < np.abs(times[right - 1] - frames),
                       right, right - 1)
    tolerance = int(0.0005 * seen["fs"])
    seen["truth"] = np.where(np.abs(times[nearest] - frames) <= tolerance, owner[nearest], -1)
    np.savez(path, **{k: v for k, v in seen.items() if k != "peaks"},
             peaks=seen["peaks"].astype(
                 [("sample_index", "i8"), ("channel_index", "i8"), ("amplitude", "f8"),
                  ("segment_index", "i8")]))
    return seen


def guard(labels, clusters, d):
    """The unit guard the clusters' mean snippets give (``units._guards``)."""
    from mne_dualdiv.adapters.recording import spikes, units

    templates = np.array([d["snippets"][labels == u].mean(axis=0) for u in clusters])
    return units._guards(spikes.band_filter(templates.astype(np.float32), float(d["fs"])))[0]


def score(labels, clusters, features, truth):
    """AMI (noise points to the nearest cluster) and recovered ground-truth units."""
    from sklearn.metrics import adjusted_mutual_info_score

    centres = np.array([features[labels == u].mean(axis=0) for u in clusters])
    full = labels.copy()
    noise = labels < 0
    if noise.any():
        full[noise] = np.asarray(clusters)[np.linalg.norm(
            features[noise][:, None] - centres[None], axis=2).argmin(axis=1)]
    matched = truth >= 0
    ami = adjusted_mutual_info_score(truth[matched], full[matched])
    recovered = set()
    for u in clusters:
        owners = truth[(full == u) & matched]
        if not len(owners):
            continue
        top = np.bincount(owners).argmax()
        if (owners == top).mean() > 0.5 and (owners == top).sum() >= 0.5 * (truth == top).sum():
            recovered.add(int(top))
    return ami, len(recovered)


def shape_features(d):
    """The features before 2026-12-07: 6 principal scores of the trough-normalised shapes, depth."""
    from mne_dualdiv.adapters.recording import clustering

    snippets, nbefore = d["snippets"], d["snippets"].shape[2] // 3  # troughs near a third in
    troughs = np.maximum(-snippets[:, 0].min(axis=1).astype(np.float64), 1e-12)
    flat = snippets.reshape(len(snippets), -1).astype(np.float64) / troughs[:, None]
    mean, components, _ = clustering.weighted_pca(flat, troughs ** 2)
    scores = (flat - mean) @ components[:6].T
    return np.column_stack([scores / (scores[:, :1].std() + 1e-12),
                            d["locations"][d["peaks"]["channel_index"], 1] / 40.0])


def variants():
    """Clusterings compared: name -> function of the captured input giving (labels, clusters, raw)."""
    from sklearn.cluster import HDBSCAN

    from mne_dualdiv.adapters.recording import clustering, units

    def joined(d, raw):
        clusters = [u for u in np.unique(raw) if u >= 0] or [0]
        raw = raw if (raw >= 0).any() else np.zeros_like(raw)
        labels, clusters = clustering._merge_duplicates(
            d["snippets"], raw, clusters, float(d["fs"]),
            d["neighbours"][d["peaks"]["channel_index"]], len(d["locations"]))
        return labels, clusters, len(set(raw[raw >= 0]))

    def features(d):
        return clustering.cluster_features(d["snippets"], d["peaks"], d["locations"])

    def hdbscan(features, size):
        return HDBSCAN(min_cluster_size=int(size), copy=True).fit_predict(features)

    def capped(cap):  # the package's features, 2 % of the snippets, at most ``cap``
        return lambda d: joined(d, hdbscan(features(d), np.clip(
            len(d["snippets"]) // clustering.CLUSTER_SHARE, clustering.MIN_CLUSTER_SIZE, cap)))

    def before(d):  # shape features, 2 % of the snippets per 32 channels, at least 15
        share = 50 * max(1.0, len(d["locations"]) / 32)
        return joined(d, hdbscan(shape_features(d), max(15, len(d["snippets"]) // share)))

    def package(d):
        labels, clusters = units.cluster_units(d["snippets"], features(d), d["peaks"],
                                               d["locations"], d["neighbours"], float(d["fs"]),
                                               d["noise_levels"], float(d["detect_threshold"]))
        return labels, clusters, -1

    return dict(package=package, before=before, uncapped=capped(10**9), cap_40=capped(40),
                cap_60=capped(60))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["si32", "hard32"], choices=sorted(CASES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--cache", default="/tmp", help="folder for the captured inputs")
    parser.add_argument("--variants", nargs="+", default=None)
    args = parser.parse_args()
    from mne_dualdiv.adapters.recording import clustering

    found = variants()
    names = args.variants or list(found)
    print("case   seed  variant        units  clusters  raw  ami    recovered  guard")
    for case in args.cases:
        for seed in args.seeds:
            d = capture(case, seed, args.cache)
            n_true = len(set(d["truth"][d["truth"] >= 0]))
            features = clustering.cluster_features(d["snippets"], d["peaks"], d["locations"])
            for name in names:
                labels, clusters, raw = found[name](d)
                ami, recovered = score(labels, clusters, features, d["truth"])
                print(f"{case:6s} {seed:4d}  {name:14s} {n_true:5d}  {len(clusters):8d}  "
                      f"{raw:3d}  {ami:.3f}  {recovered:9d}  {guard(labels, clusters, d):.3f}",
                      flush=True)


if __name__ == "__main__":
    main()
