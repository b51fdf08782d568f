"""Named settings of the engine and of the recording adapter, written once for every user.

The command line's ``--quick``, ``benchmarks/compare.py``'s grids and the tests' small fits
take their settings from here, so that one name means one set of values everywhere. Each
preset holds only the settings it changes; the rest keep the estimator's defaults.
"""

from ._checks import check_option

#: :class:`~mne_dualdiv.DualDivergenceGenerator` settings by name.
ENGINE_PRESETS = {
    # The engine's own defaults (about a minute per FingerMovements condition on 2 cores).
    "default": {},
    # The command line's ``--quick``: a fit of seconds per condition, for trying the pipeline
    # out; lower quality (one bridge, 60 steps, a small network).
    "fast": dict(max_steps=60, n_bridges=1, eval_every=30, patience=1, n_eval_draws=2,
                 n_local_draws=4, hidden=32, n_filters=8),
    # ``benchmarks/compare.py``'s full grid: the engine's defaults except the budget it shares
    # with the deep baselines (``max_steps``, ``batch_size``), 8 bridges instead of 32 and a
    # shorter early-stopping period. Whatever ``max_steps``, a fit ends with Donsker-Varadhan
    # estimates on 2 x ~2000 pairs for every bridge, a cost that grows with ``n_bridges``.
    "comparison": dict(max_steps=200, batch_size=32, n_bridges=8, eval_every=50, patience=3),
    # ``benchmarks/compare.py --quick``: the reduced grid of a few minutes (a smoke test).
    "comparison_quick": dict(max_steps=30, batch_size=32, n_bridges=4, n_filters=8, hidden=32,
                             eval_every=10, patience=2, n_local_draws=4),
    # The tests' smallest fit: well under a second, to exercise code paths, not quality.
    "tiny": dict(max_steps=10, n_bridges=2, eval_every=5, patience=1, walk_steps=2,
                 n_eval_draws=2, n_local_draws=2, n_final_draws=40, hidden=16, n_filters=4),
}

#: :class:`~mne_dualdiv.RecordingSynthesizer` settings by name (its engine has its own).
RECORDING_PRESETS = {
    "default": {},
    # The command line's ``--quick`` on a recording folder: spikes of the first minute (instead
    # of 5), background from 10 one-second chunks (instead of 30).
    "fast": dict(fit_duration=60.0, noise_duration=10.0, max_snippets=2000),
}

_PRESETS = {"engine": ENGINE_PRESETS, "recording": RECORDING_PRESETS}


def get_preset(name, kind="engine"):
    """Named settings, as a fresh dict of keyword arguments.

    Parameters
    ----------
    name : str
        The preset: for ``kind='engine'``, ``'default'`` (the engine's defaults), ``'fast'``
        (the command line's ``--quick``: seconds per fit), ``'comparison'`` and
        ``'comparison_quick'`` (``benchmarks/compare.py``'s full and quick grids) or
        ``'tiny'`` (the tests' smallest fit); for ``kind='recording'``, ``'default'`` or
        ``'fast'``.
    kind : 'engine' | 'recording'
        Whose settings: :class:`~mne_dualdiv.DualDivergenceGenerator`'s (also accepted by
        :func:`~mne_dualdiv.augment` and as a ``generator`` template) or
        :class:`~mne_dualdiv.RecordingSynthesizer`'s.

    Returns
    -------
    settings : dict
        A new dict on every call: changing it changes no preset.

    Examples
    --------
    >>> from mne_dualdiv import DualDivergenceGenerator, get_preset
    >>> generator = DualDivergenceGenerator(**get_preset("fast"), random_state=0)
    """
    check_option("kind", kind, tuple(_PRESETS))
    presets = _PRESETS[kind]
    check_option("name", name, tuple(presets))
    return dict(presets[name])
