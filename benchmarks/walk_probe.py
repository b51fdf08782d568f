"""Probe of the engine's sampler settings on one comparison cell (the evidence in method.md §5).

Fits one engine per class at ``benchmarks/compare.py``'s full budget on the cell's members
(same pool split as the comparison), then samples with several sampler settings from the
*same* fitted engines (``set_params`` changes only how ``sample`` walks) and scores each with
:func:`mne_dualdiv.evaluate`: PSD and covariance distances, train-on-synthetic, augmentation
and the same-pool privacy scores. ``gaussian`` is the walk's own start distribution with no
walk at all (draws of :class:`~mne_dualdiv.engine.gaussian.DataGaussian`).

Usage (from the repository root)::

    .venv/bin/python benchmarks/walk_probe.py scp1 50 0
    .venv/bin/python benchmarks/walk_probe.py finger_movements 25 0 --variants gaussian,v2
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import BUDGETS, cached_dataset, split_pool  # noqa: E402

import mne_dualdiv as mdd  # noqa: E402
from mne_dualdiv.engine.gaussian import DataGaussian  # noqa: E402

#: Sampler settings tried; every one keeps the fit.
VARIANTS = {
    "training_start": dict(start="training", target="density", walk_noise=0.2, walk_steps=25,
                           walk_metric="euclidean"),
    "gaussian": None,
    "euclidean": dict(start="gaussian", target="density", walk_noise=0.5, walk_steps=25,
                      walk_metric="euclidean"),
    "density": dict(start="gaussian", target="density", walk_noise=0.5, walk_steps=25),
    "density_training_start": dict(start="training", target="density", walk_noise=0.5,
                                   walk_steps=25),
    "nearest_25": dict(start="gaussian", target="nearest", walk_noise=0.5, walk_steps=25),
    "nearest_0": dict(start="gaussian", target="nearest", walk_noise=0.0, walk_steps=0),
    "nearest_0_shrink05": dict(start="gaussian", target="nearest", walk_noise=0.0,
                               walk_steps=0, walk_shrinkage=0.5),
    "nearest_0_shrink1": dict(start="gaussian", target="nearest", walk_noise=0.0,
                              walk_steps=0, walk_shrinkage=1.0),
    "nearest_25_shrink08": dict(start="gaussian", target="nearest", walk_noise=0.5,
                                walk_shrinkage=0.8),
    "nearest_25_shrink09": dict(start="gaussian", target="nearest", walk_noise=0.5,
                                walk_shrinkage=0.9),
    "nearest_25_shrink095": dict(start="gaussian", target="nearest", walk_noise=0.5,
                                 walk_shrinkage=0.95),
    "nearest_25_shrink1": dict(start="gaussian", target="nearest", walk_noise=0.5,
                               walk_shrinkage=1.0),
    "density_shrink1": dict(start="gaussian", target="density", walk_noise=0.5,
                            walk_shrinkage=1.0),
}
METRICS = ["psd_distance", "covariance_distance", "tstr_score", "augmentation_score",
           "median_dcr", "membership_inference_auc", "nndr", "share_closer_to_members"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("size")
    parser.add_argument("seed", type=int)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    threadpool_limits(1)
    size = args.size if args.size == "all" else int(args.size)
    data = cached_dataset(args.dataset)
    (X_pool, y_pool), (heldout, y_heldout) = data["train"], data["heldout"]
    rows, nonmember_rows = split_pool(y_pool, size, args.seed)
    train, y_train = X_pool[rows], y_pool[rows]
    budget = BUDGETS["full"]
    engines = {}
    start = time.perf_counter()
    for index, label in enumerate(np.unique(y_train)):
        engines[label] = mdd.DualDivergenceGenerator(
            max_steps=budget["max_steps"], batch_size=budget["batch_size"],
            random_state=args.seed + 1000 * index, **budget["engine"]).fit(train[y_train == label])
    print(f"{args.dataset} size {size} seed {args.seed}: fit {time.perf_counter() - start:.1f} s",
          flush=True)
    for name in args.variants.split(","):
        start = time.perf_counter()
        synthetic, labels = [], []
        for index, (label, engine) in enumerate(engines.items()):
            n = int((y_train == label).sum())
            rng_seed = args.seed + 1000 * index + 1
            if VARIANTS[name] is None:
                fitted = train[y_train == label][engine.train_indices_]
                scaled = DataGaussian(engine.scaler_.transform(fitted).astype(np.float32)).draw(
                    n, torch.Generator().manual_seed(rng_seed)).numpy().astype(np.float64)
                synthetic.append(engine.scaler_.inverse_transform(scaled))
            else:
                engine.set_params(**VARIANTS[name])
                synthetic.append(engine.sample(n, random_state=rng_seed,
                                               max_rounds=budget["engine_max_rounds"]))
            labels += [label] * n
        sample_time = time.perf_counter() - start
        report = mdd.evaluate(train, heldout, np.concatenate(synthetic), sfreq=data["sfreq"],
                              y_train=y_train, y_heldout=y_heldout, y_synthetic=np.array(labels),
                              nonmembers=X_pool[nonmember_rows], metrics=METRICS,
                              random_state=args.seed)
        frame = report.to_dataframe().set_index("metric")
        figures = "  ".join(f"{m}={frame.loc[m, 'synthetic']:.3g}({frame.loc[m, 'reference']:.3g})"
                            for m in METRICS)
        print(f"{name:16s} sample {sample_time:5.1f} s  {figures}", flush=True)


if __name__ == "__main__":
    main()
