"""Fixtures shared by the test modules."""

from types import MappingProxyType

import pytest
import torch

from mne_dualdiv.presets import get_preset


@pytest.fixture(scope="module")
def single_torch_thread():
    """One torch thread for a module's tests (``pytestmark = usefixtures(...)``).

    Two threads on a busy two-core machine make small convolutions many times slower.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny_params():
    """The engine's ``"tiny"`` preset: the smallest fit, to exercise code paths, not quality.

    Read-only (a mapping proxy), so that module-scoped fixtures can share it; unpack it
    (``DualDivergenceGenerator(**tiny_params, random_state=0)``) or copy it with
    ``dict(tiny_params, ...)``.
    """
    return MappingProxyType(get_preset("tiny"))


@pytest.fixture(scope="session")
def fast_params():
    """The engine's ``"fast"`` preset (the command line's ``--quick``), read-only as above."""
    return MappingProxyType(get_preset("fast"))


@pytest.fixture(scope="session")
def random_walk_epochs():
    """A maker of small EEG epochs: ``random_walk_epochs(n_per_condition, seed)`` gives two
    conditions (``a`` and ``b``) of 3 channels x 16 random-walk samples, in volts."""
    import mne
    import numpy as np

    def make(n_per_condition=22, seed=0):
        rng = np.random.default_rng(seed)
        codes = np.repeat([1, 2], n_per_condition)
        data = 1e-5 * rng.standard_normal((len(codes), 3, 16)).cumsum(-1)
        info = mne.create_info(["C3", "Cz", "C4"], 100.0, "eeg")
        events = np.column_stack([20 * np.arange(len(codes)), np.zeros(len(codes), int), codes])
        return mne.EpochsArray(data, info, events=events, event_id=dict(a=1, b=2),
                               verbose=False)

    return make
