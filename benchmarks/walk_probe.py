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
    .venv/bin/python benchmarks/walk_probe.py ephys 25 1 --markdown docs/walk_probe/ephys.md

``--markdown`` writes the table (with the command, date and machine) to a file.
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

#: The engine's sampler defaults; every variant below changes some of them.
DEFAULT = dict(start="gaussian", target="nearest", walk_steps=25, walk_noise=0.5,
               walk_metric="data", walk_shrinkage=None)
#: Sampler settings tried; every one keeps the fit. ``None``: no walk at all.
VARIANTS = {
    "default": dict(DEFAULT),
    "gaussian_only": None,
    "newton_only": dict(DEFAULT, walk_steps=0, walk_noise=0.0),
    "density_targets": dict(DEFAULT, target="density"),
    "training_starts": dict(DEFAULT, start="training"),
    "euclidean_metric": dict(DEFAULT, walk_metric="euclidean"),
    "v1_like": dict(DEFAULT, start="training", target="density", walk_noise=0.2,
                    walk_metric="euclidean", walk_shrinkage=None),
    "private": dict(DEFAULT, walk_shrinkage=1.0),
    "shrinkage_0.9": dict(DEFAULT, walk_shrinkage=0.9),
}
METRICS = ["psd_distance", "covariance_distance", "tstr_score", "augmentation_score",
           "median_dcr", "membership_inference_auc", "nndr", "share_closer_to_members"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("size")
    parser.add_argument("seed", type=int)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--markdown", help="write the table to this Markdown file")
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
    fit_time = time.perf_counter() - start
    print(f"{args.dataset} size {size} seed {args.seed}: fit {fit_time:.1f} s", flush=True)
    rows = []
    for name in args.variants.split(","):
        start = time.perf_counter()
        synthetic, labels = [], []
        try:
            for index, (label, engine) in enumerate(engines.items()):
                n = int((y_train == label).sum())
                synthetic.append(draw(name, engine, train[y_train == label], n,
                                      args.seed + 1000 * index + 1,
                                      budget["engine_max_rounds"]))
                labels += [label] * n
        except RuntimeError as err:  # the engine's acceptance checks refused too many walks
            print(f"{name:16s} FAILED: {err}", flush=True)
            rows.append((name, time.perf_counter() - start, str(err)))
            continue
        sample_time = time.perf_counter() - start
        report = mdd.evaluate(train, heldout, np.concatenate(synthetic), sfreq=data["sfreq"],
                              y_train=y_train, y_heldout=y_heldout, y_synthetic=np.array(labels),
                              nonmembers=X_pool[nonmember_rows], metrics=METRICS,
                              random_state=args.seed)
        frame = report.to_dataframe().set_index("metric")
        figures = "  ".join(f"{m}={frame.loc[m, 'synthetic']:.3g}({frame.loc[m, 'reference']:.3g})"
                            for m in METRICS)
        print(f"{name:16s} sample {sample_time:5.1f} s  {figures}", flush=True)
        rows.append((name, sample_time, frame))
    if args.markdown:
        write_markdown(args, size, rows, fit_time)


def draw(name, engine, fitted_rows, n, seed, max_rounds):
    """``n`` samples of one class's engine with the sampler settings of variant ``name``."""
    if VARIANTS[name] is None:
        scaled = DataGaussian(engine.scaler_.transform(
            fitted_rows[engine.train_indices_]).astype(np.float32)).draw(
            n, torch.Generator().manual_seed(seed)).numpy().astype(np.float64)
        return engine.scaler_.inverse_transform(scaled)
    engine.set_params(**VARIANTS[name])
    return engine.sample(n, random_state=seed, max_rounds=max_rounds)


def write_markdown(args, size, rows, fit_time):
    """The probe's table, with what it needs to be reproduced."""
    import datetime
    import os
    import platform

    lines = [
        f"# Sampler probe: {args.dataset}, {size} per class, seed {args.seed}", "",
        "Generated by `" + " ".join(["python", "benchmarks/walk_probe.py", *sys.argv[1:]])
        + f"` on {datetime.date.today().isoformat()} ({platform.platform()}, "
        f"{os.cpu_count()} CPUs, torch 1 thread). One engine per class fitted once "
        f"({fit_time:.1f} s for all classes) at `compare.py`'s full budget; every row samples "
        "from the same fits. Columns: synthetic value (real reference).", "",
        "| variant | settings | sample (s) | " + " | ".join(METRICS) + " |",
        "|---" * (len(METRICS) + 3) + "|",
    ]
    for name, seconds, frame in rows:
        settings = "DataGaussian draws, no walk" if VARIANTS[name] is None else ", ".join(
            f"{k}={v}" for k, v in VARIANTS[name].items() if DEFAULT.get(k) != v) or "defaults"
        if isinstance(frame, str):  # the variant failed: its error message
            cells = " | ".join(["failed"] * len(METRICS)) + f" <!-- {frame} -->"
        else:
            cells = " | ".join(
                f"{frame.loc[m, 'synthetic']:.3g} ({frame.loc[m, 'reference']:.3g})"
                for m in METRICS)
        lines.append(f"| {name} | {settings} | {seconds:.1f} | {cells} |")
    Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
    Path(args.markdown).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
