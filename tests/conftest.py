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
