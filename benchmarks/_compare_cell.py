"""One cell of the comparison: every method fitted, sampled, timed and scored."""

import math
import os
import threading
import time
import traceback

import numpy as np

from _compare_data import cached_dataset, split_pool
from _compare_grid import ENGINE, ENGINE_VARIANTS, MIN_SAMPLES_PER_FIT


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

