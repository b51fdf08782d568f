"""Compare the dual-divergence engine with the paper's baselines on small EEG and ephys sets.

For every data set, training size per class and seed, every method is fitted on a random subset
of the training pool, samples as many images as it was fitted on, and is scored by
:func:`mne_dualdiv.evaluate` against the real held-out set; fit time, sampling time and peak
memory are recorded. Everything goes into ``results.json``; ``comparison.md`` and the figures are
generated from that file only (``--from-json`` regenerates them without running anything).

Usage::

    python benchmarks/compare.py                      # the full grid, into docs/comparison/
    python benchmarks/compare.py --quick              # a reduced grid in a few minutes
    python benchmarks/compare.py --from-json docs/comparison/results.json

The code is split by concern: ``_compare_grid.py`` (data sets, sizes, methods, budgets),
``_compare_data.py`` (training pools, held-out sets, members and non-members),
``_compare_cell.py`` (one cell: every method fitted, sampled, timed and scored) and
``_compare_report.py`` (``comparison.md`` and the figures from ``results.json``).

Design decisions (also written into the outputs):

- Class-conditional generation by one model per class: the synthetic set of a cell is the union
  of per-class samples, labelled by the class they were generated from, which the utility
  metrics need. The engine needs at least 20 samples per fit (15 for training, 5 held out), so
  at 10 samples per class every method is fitted once on both classes pooled (20 samples), and
  the utility metrics are skipped at that size (the samples carry no label).
- Training budget: the engine and the six deep baselines get the same ``max_steps`` and
  ``batch_size`` (AdamW for all), small because of the 60-minute target on 2 cores. Two worker
  processes with one torch thread each: two threads per process on a busy two-core machine
  made small convolutions tens of times slower. A fixed part of the engine's cost does not
  depend on ``max_steps``: every fit ends with Donsker-Varadhan estimates on the held-out and
  on as many training samples, with ``n_final_draws`` (the default, 2,000) coupled pairs each,
  for every bridge (``BUDGETS['full']``). The engine's settings of the two grids are the
  presets ``'comparison'`` and ``'comparison_quick'`` of :mod:`mne_dualdiv.presets`.
- The engine's ``sample`` raises when too few walks pass its acceptance checks; it gets
  ``engine_max_rounds`` rounds, and a failure is recorded (with its fit time) instead of
  stopping the grid.
- The OOD rate needs the engine's end points: it is computed with the engine fitted on the
  same training data (per class: on each class's held-out and synthetic samples, averaged with
  the class sizes as weights). When the engine failed, the OOD rate is skipped.
- ``sample_divergence`` fits three fresh path estimators per evaluation; it is off unless
  ``--sample-divergence`` is given (it would multiply the cost of the full grid several times).
"""

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO_ROOT))

# The comparison by concern: the grid, the data, one cell, the report. The names other scripts
# import from here (``walk_probe.py``: BUDGETS, cached_dataset, split_pool) stay importable.
from _compare_cell import _init_worker, method_names, method_params, run_cell  # noqa: E402
from _compare_data import cached_dataset, split_pool, training_subset  # noqa: E402, F401
from _compare_grid import BUDGETS, DATASET_TITLES, DATASETS, MIN_SAMPLES_PER_FIT  # noqa: E402
from _compare_report import _size_key, write_report  # noqa: E402


# --------------------------------------------------------------------------- the run
def machine_info():
    """CPUs, platform and the load average (other processes slow the timings down)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return dict(nproc=os.cpu_count(), platform=platform.platform(),
                python=platform.python_version(), processor=platform.processor() or None,
                torch_threads_per_worker=1, load_average_at_start=load)


def package_versions():
    versions = {}
    for module in ("mne_dualdiv", "numpy", "torch", "sklearn", "mne", "spikeinterface"):
        try:
            versions[module] = __import__(module).__version__
        except ImportError:
            versions[module] = None
    return versions


def run(budget_name, out_dir, n_jobs=None, with_sample_divergence=False, datasets=None,
        command=None):
    """Run a grid and write ``results.json``, ``comparison.md`` and the figures."""
    budget = dict(BUDGETS[budget_name])
    n_jobs = n_jobs or budget["n_jobs"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cells = [(d, s) for d, s in budget["cells"] if datasets is None or d in datasets]
    results = dict(
        command=command or " ".join(shlex.quote(a) for a in sys.argv),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        machine=machine_info(), versions=package_versions(), budget_name=budget_name,
        budget={k: v for k, v in budget.items() if k != "cells"},
        cells=[[d, s] for d, s in cells], n_jobs=n_jobs,
        with_sample_divergence=with_sample_divergence, min_samples_per_fit=MIN_SAMPLES_PER_FIT,
        methods=method_params(budget), datasets={}, skipped_datasets={}, records=[])
    for dataset in sorted({d for d, _ in cells}):
        try:
            data = cached_dataset(dataset)
        except (ImportError, FileNotFoundError) as err:
            results["skipped_datasets"][dataset] = f"{type(err).__name__}: {err}"
            continue
        X, y = data["train"]
        results["datasets"][dataset] = dict(
            title=DATASET_TITLES[dataset], description=data["description"],
            shape=list(X.shape[1:]), sfreq=data["sfreq"],
            pool_per_class={str(c): int((y == c).sum()) for c in np.unique(y)},
            heldout_per_class={str(c): int((data["heldout"][1] == c).sum())
                               for c in np.unique(data["heldout"][1])})
    tasks = [(d, s, seed) for d, s in cells if d in results["datasets"]
             for seed in budget["seeds"]]
    # Big images and large sizes first, so that the two workers finish together.
    tasks.sort(key=lambda t: (t[0] != "scp1", t[1] != "all", t[1] if t[1] != "all" else 0))
    start = time.perf_counter()
    json_path = out_dir / "results.json"
    if n_jobs == 1:
        for task in tasks:
            results["records"] += run_cell(*task, budget, with_sample_divergence)
            _write_json(results, json_path)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n_jobs, mp_context=context, initializer=_init_worker) as pool:
            futures = [pool.submit(run_cell, *task, budget, with_sample_divergence)
                       for task in tasks]
            for future in as_completed(futures):
                results["records"] += future.result()
                _write_json(results, json_path)  # partial results survive an interruption
    results["total_time_s"] = time.perf_counter() - start
    results["total_cpu_s"] = sum(r.get(key, 0.0) for r in results["records"]
                                 for key in ("fit_cpu_s", "sample_cpu_s", "eval_cpu_s"))
    if hasattr(os, "getloadavg"):
        results["machine"]["load_average_at_end"] = os.getloadavg()
    results["records"].sort(key=lambda r: (r["dataset"], _size_key(r["size"]), r["seed"],
                                           method_names().index(r["method"])))
    _write_json(results, json_path)
    write_report(results, out_dir)
    return results


def _write_json(results, path):
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=1, default=_json_default))
    tmp.replace(path)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Cannot write {type(value).__name__} to JSON.")


# --------------------------------------------------------------------------- command line
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="run the reduced grid (a few minutes) instead of the full one")
    parser.add_argument("--out-dir", default=None,
                        help="output folder (default: docs/comparison, or docs/comparison/quick "
                             "with --quick)")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="worker processes (default: 2), each with one torch thread")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=None,
                        help="restrict the grid to these data sets")
    parser.add_argument("--sample-divergence", action="store_true",
                        help="also compute sample_divergence (three extra engine fits per "
                             "evaluation: several times the cost of the grid)")
    parser.add_argument("--from-json", default=None,
                        help="regenerate the markdown and the figures from this results.json")
    args = parser.parse_args(argv)
    if args.from_json:
        path = Path(args.from_json)
        write_report(json.loads(path.read_text()), Path(args.out_dir or path.parent))
        print(f"wrote comparison.md and the figures into {args.out_dir or path.parent}")
        return
    budget_name = "quick" if args.quick else "full"
    out_dir = args.out_dir or REPO_ROOT / "docs" / "comparison" / (
        "quick" if args.quick else "")
    command = "python benchmarks/compare.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    results = run(budget_name, out_dir, n_jobs=args.n_jobs,
                  with_sample_divergence=args.sample_divergence, datasets=args.datasets,
                  command=command.strip())
    print(f"{len(results['records'])} records in {results['total_time_s'] / 60:.1f} min; "
          f"wrote {Path(out_dir) / 'results.json'} and comparison.md")


if __name__ == "__main__":
    main()
