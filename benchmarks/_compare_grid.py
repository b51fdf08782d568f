"""The comparison's grid: data sets, training sizes, methods and budgets (``compare.py``)."""

from mne_dualdiv.presets import get_preset

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


def _budget(preset, cells, seeds, max_synthetic_per_fit, engine_max_rounds):
    """A grid's budget: the engine preset ``preset`` (:mod:`mne_dualdiv.presets`) split into
    the budget the engine shares with the deep baselines (``max_steps``, ``batch_size``) and
    the engine's own settings, and the grid's cells, seeds and sampling limits."""
    engine = get_preset(preset)
    return dict(cells=cells, seeds=seeds, max_steps=engine.pop("max_steps"),
                batch_size=engine.pop("batch_size"), max_synthetic_per_fit=max_synthetic_per_fit,
                engine=engine, engine_max_rounds=engine_max_rounds, n_jobs=2)


#: The grids. ``cells`` lists (data set, size) pairs; every pair runs for every seed. The
#: engine's settings are the presets ``'comparison'`` and ``'comparison_quick'``.
BUDGETS = {
    "full": _budget("comparison", [(dataset, size) for dataset in DATASETS for size in SIZES],
                    seeds=(0, 1, 2), max_synthetic_per_fit=100, engine_max_rounds=5),
    "quick": _budget("comparison_quick", [("finger_movements", 10), ("ephys", 25)],
                     seeds=(0,), max_synthetic_per_fit=25, engine_max_rounds=2),
}

DATASET_TITLES = {
    "finger_movements": "FingerMovements (EEG, 28 x 50, 100 Hz)",
    "scp1": "SelfRegulationSCP1 (EEG, 6 x 896, 256 Hz)",
    "ephys": "Simulated 32-channel extracellular recording (32 x 64 windows, 30 kHz)",
}
