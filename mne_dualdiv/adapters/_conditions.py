"""One generator per condition (class label) on arrays: fitting, counts and sampling."""

import numbers
import os

import numpy as np
import torch
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import clone

from .._checks import check_float, check_int, check_n_jobs, check_random_state
from .._logging import logger
from ..engine import DualDivergenceGenerator
from ..engine.fitting import MIN_SUBSET_SAMPLES

#: Key of the single generator fitted on all samples when conditions share one dual space.
POOLED = "__all__"
#: ``per_condition='auto'`` fits one generator per condition when every condition has at
#: least this many samples, and one shared dual space otherwise. Measured (``docs/method.md``,
#: section 7; FingerMovements and SCP1, two decoders): at 25 epochs per class the per-condition
#: engines were ahead in 3 of 4 cells (2 seeds) and level on label fidelity, so from 20 (the
#: engine's regular split) they stay, bit for bit as before; at 5 and 10 per class the two
#: were not separated (one seed; +0.5 points on average for per-condition, spread 2.3), and
#: the shared space is one fit instead of one per condition.
MIN_PER_CONDITION = 20


def check_per_condition(per_condition, counts, what="condition"):
    """Whether to fit one generator per condition: ``per_condition``, or its 'auto' choice.

    Parameters
    ----------
    per_condition : bool | 'auto'
        The adapter's parameter.
    counts : dict
        Number of samples per condition.
    what : str
        How a condition is called in messages.

    Returns
    -------
    per_condition : bool
    """
    if isinstance(per_condition, str) and per_condition == "auto":
        per_condition = min(counts.values()) >= MIN_PER_CONDITION
        logger.info("per_condition='auto': %s (smallest %s: %d samples; %d needed per %s)",
                    "one generator per condition" if per_condition else "one shared dual space",
                    what, min(counts.values()), MIN_PER_CONDITION, what)
    elif not isinstance(per_condition, (bool, np.bool_)):
        raise ValueError(f"Invalid value for the 'per_condition' parameter. Allowed values are "
                         f"True, False and 'auto', but got {per_condition!r} instead.")
    if not per_condition:
        small = {c: n for c, n in counts.items() if n < MIN_SUBSET_SAMPLES}
        if small:
            raise ValueError(
                f"In a shared dual space every {what} needs at least {MIN_SUBSET_SAMPLES} "
                f"samples for its walks' Gaussian, but {small} has fewer.")
    return bool(per_condition)


def check_template(generator, name="generator"):
    """Return a DualDivergenceGenerator to clone: the one given, or one with default settings."""
    if generator is None:
        return DualDivergenceGenerator()
    if not isinstance(generator, DualDivergenceGenerator):
        raise TypeError(
            f"{name} must be None or a DualDivergenceGenerator (used as a template of engine "
            f"settings), got {type(generator).__name__} instead."
        )
    return generator


def resolve_counts(n_synthetic, counts, name="n_synthetic"):
    """How many synthetic samples to make per condition.

    Parameters
    ----------
    n_synthetic : int | float | dict | 'balance'
        An int is a total, split like the class proportions of ``counts`` (largest remainders,
        so the parts add up exactly); a float is a ratio of each condition's count; a dict maps
        condition names to counts (conditions left out get none); ``'balance'`` tops every
        condition up to the largest one.
    counts : dict
        Number of real samples per condition, in the order to keep.
    name : str
        The argument name used in error messages.

    Returns
    -------
    n_per_condition : dict
        Synthetic count per condition, same keys and order as ``counts``.
    """
    if isinstance(n_synthetic, str):
        if n_synthetic != "balance":
            raise ValueError(
                f"Invalid value for the '{name}' parameter. Allowed values are an int (a total), "
                f"a float (a ratio per condition), a dict or 'balance', but got {n_synthetic!r} "
                "instead."
            )
        largest = max(counts.values())
        return {label: largest - n for label, n in counts.items()}
    if isinstance(n_synthetic, dict):
        unknown = [key for key in n_synthetic if key not in counts]
        if unknown:
            raise ValueError(
                f"{name} names condition(s) {unknown} that are not among the fitted conditions "
                f"{list(counts)}."
            )
        return {label: check_int(f"{name}[{label!r}]", n_synthetic.get(label, 0), minimum=0)
                for label in counts}
    if isinstance(n_synthetic, (numbers.Integral, np.integer)) and not isinstance(
            n_synthetic, bool):
        total = check_int(name, n_synthetic, minimum=0)
        n_real = np.array(list(counts.values()), dtype=float)
        exact = total * n_real / n_real.sum()
        parts = np.floor(exact).astype(int)
        # Largest remainders get the leftover samples; ties go to the earlier condition.
        leftover = total - parts.sum()
        parts[np.argsort(-(exact - parts), kind="stable")[:leftover]] += 1
        return dict(zip(counts, parts.tolist()))
    if isinstance(n_synthetic, (numbers.Real, np.floating)) and not isinstance(n_synthetic, bool):
        ratio = check_float(name, n_synthetic, low=0)
        return {label: int(round(ratio * n)) for label, n in counts.items()}
    raise TypeError(
        f"{name} must be an int (a total), a float (a ratio per condition), a dict of counts per "
        f"condition or 'balance', got {type(n_synthetic).__name__} instead."
    )


def child_seeds(keys, random_state):
    """One int seed per key, drawn in the order of ``keys`` from ``random_state``."""
    rng = check_random_state(random_state)
    return {key: int(rng.integers(2**31 - 1)) for key in keys}


def run_in_workers(function, tasks, n_jobs):
    """``[function(*task) for task in tasks]`` through :class:`joblib.Parallel`.

    joblib picks the workers: ``n_jobs`` local processes by default (loky; ``None`` runs the
    tasks one after the other in this process), or those of the backend the caller has
    activated, e.g. the workers of a ``dask.distributed`` cluster inside
    ``with joblib.parallel_backend("dask"):``, where ``None`` takes all of them. Each task's
    seed is drawn before dispatch, so the results do not depend on where they run (to the
    last bit when torch runs as many threads there). While a task runs, torch keeps at most
    ``cpu_count // n_workers`` threads (at least 1, as many as before afterwards), so that
    workers on one machine do not oversubscribe its cores; torch's small convolutions slow
    down many times over when they do. The results come back in the order of ``tasks``.
    """
    check_n_jobs(n_jobs)
    if not tasks:
        return []
    n_workers = max(1, min(effective_n_jobs(n_jobs), len(tasks)))
    threads = max(1, (os.cpu_count() or 1) // n_workers)
    return Parallel(n_jobs=n_jobs)(
        delayed(_with_torch_threads)(threads, function, *task) for task in tasks)


def _with_torch_threads(threads, function, *args):
    previous = torch.get_num_threads()
    if previous > threads:
        torch.set_num_threads(threads)
    try:
        return function(*args)
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def _fit_one(generator, X, where, y=None, groups=None, dp_repeats=1):
    logger.info("Fitting the generator of %s (%d samples)", where, len(X))
    try:
        return generator.fit(X, y, groups=groups, dp_repeats=dp_repeats)
    except ValueError as err:
        raise ValueError(f"Cannot fit the generator of {where} ({len(X)} samples): "
                         f"{err}") from err


def fit_generators(X, labels, conditions, template, random_state, verbose, what="condition",
                   n_jobs=None, device=None, groups=None):
    """Fit one clone of ``template`` per condition (or one on all samples).

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_channels, n_times)
        The samples, in any units.
    labels : ndarray, shape (n_samples,)
        Condition of each sample.
    conditions : list
        Conditions to fit, in a fixed order (seeds are drawn in this order), or ``[POOLED]``
        for a single generator on all samples (given ``labels`` as ``y``, so that its held-out
        split leaves every condition training samples: :func:`sample_shared`).
    template : DualDivergenceGenerator
        Engine settings; cloned, never fitted itself.
    random_state : None | int | numpy.random.Generator
        Seeds the generators (their own ``random_state`` is replaced).
    verbose : None | bool | str | int
        Passed to the generators; ``None`` keeps the template's.
    what : str
        How a condition is called in messages (``'condition'``, ``'class'``).
    n_jobs : None | int
        Conditions fitted in parallel by joblib's workers (see :func:`run_in_workers`). The
        seeds do not depend on it; the thread count of torch can change the last bits of a
        fit.
    device : None | str | torch.device
        The generators' ``device``; ``None`` keeps the template's.
    groups : None | ndarray, shape (n_samples,)
        Subject of each sample, for a private template's subject-level guarantee: each
        generator gets its samples' subjects, and is calibrated for the composition of all
        the generators (``dp_repeats``: ``adapters/_epochs_privacy.py``).

    Returns
    -------
    generators : dict
        Fitted generator per condition, in the order of ``conditions``.
    """
    seeds = child_seeds(conditions, random_state)
    sizes = {c: len(X) if c == POOLED else int(np.sum(labels == c)) for c in conditions}
    # The smallest condition goes first, so that one too small for the engine fails at once.
    order = sorted(conditions, key=lambda c: sizes[c])
    tasks = []
    for condition in order:
        params = dict(random_state=seeds[condition])
        if verbose is not None:
            params["verbose"] = verbose
        if device is not None:
            params["device"] = device
        generator = clone(template).set_params(**params)
        rows = slice(None) if condition == POOLED else labels == condition
        where = "all samples" if condition == POOLED else f"{what} {condition!r}"
        tasks.append((generator, X[rows], where, labels if condition == POOLED else None,
                      None if groups is None else groups[rows], len(conditions)))
    fitted = dict(zip(order, run_in_workers(_fit_one, tasks, n_jobs)))
    return {condition: fitted[condition] for condition in conditions}


def _sample_one(generator, n, seed, subset=None):
    samples = generator.sample(n, random_state=seed, subset=subset)
    return samples, generator.last_sample_report_


def sample_generators(generators, n_per_condition, random_state, n_jobs=None):
    """Draw ``n_per_condition[c]`` samples from each condition's generator.

    ``n_jobs`` samples the conditions in parallel by joblib's workers (see
    :func:`run_in_workers`); the samples do not depend on it.

    Returns
    -------
    X_new : ndarray, shape (n_total, n_channels, n_times)
        Samples grouped by condition, in the order of ``generators``.
    labels : list
        Condition of each sample.
    """
    seeds = child_seeds(generators, random_state)
    tasks, labels = [], []
    for condition, generator in generators.items():
        n = n_per_condition.get(condition, 0)
        if n > 0:
            tasks.append((generator, n, seeds[condition]))
            labels.extend([condition] * n)
    if not tasks:
        generator = next(iter(generators.values()))
        return np.empty((0, generator.n_channels_, generator.n_times_)), []
    results = run_in_workers(_sample_one, tasks, n_jobs)
    for (generator, _, _), (_, report) in zip(tasks, results):
        generator.last_sample_report_ = report  # set in a worker's copy with n_jobs > 1
    return np.concatenate([samples for samples, _ in results]), labels


def sample_shared(generator, train_labels, n_per_condition, random_state, n_jobs=None):
    """Sample each condition from one generator fitted on all of them (a shared dual space).

    The walks of a condition start from and diffuse with the Gaussian of that condition's
    training samples and aim at their dual values
    (:meth:`~mne_dualdiv.DualDivergenceGenerator.sample` with ``subset``), so every sample
    belongs to the condition it was drawn for.

    Parameters
    ----------
    generator : DualDivergenceGenerator
        Fitted on all samples, with their conditions as ``y``.
    train_labels : ndarray, shape (n_fitted,)
        Condition of every sample given to ``fit``.
    n_per_condition : dict
        Samples to draw per condition, in the order to return them.
    random_state : None | int | numpy.random.Generator
        Seeds of the walks (one per condition, drawn in the order of ``n_per_condition``).
    n_jobs : None | int
        Conditions sampled in parallel by joblib's workers (see :func:`run_in_workers`); the
        samples do not depend on it.

    Returns
    -------
    X_new : ndarray, shape (n_total, n_channels, n_times)
        Samples grouped by condition.
    labels : list
        Condition of each sample.
    """
    seeds = child_seeds(n_per_condition, random_state)
    train_labels = np.asarray(train_labels)
    tasks, labels = [], []
    for condition, n in n_per_condition.items():
        if n > 0:
            tasks.append((generator, n, seeds[condition],
                          np.flatnonzero(train_labels == condition)))
            labels.extend([condition] * n)
    results = run_in_workers(_sample_one, tasks, n_jobs)
    if results:
        generator.last_sample_report_ = results[-1][1]  # the last condition's, as in a loop
    return np.concatenate([np.empty((0, generator.n_channels_, generator.n_times_))]
                          + [samples for samples, _ in results]), labels
