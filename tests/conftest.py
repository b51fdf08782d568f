"""Fixtures shared by the test modules."""

import pytest
import torch


@pytest.fixture(scope="module")
def single_torch_thread():
    """One torch thread for a module's tests (``pytestmark = usefixtures(...)``).

    Two threads on a busy two-core machine make small convolutions many times slower.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
