"""The engine's samples, values and threshold on fixed seeded inputs stay bit-identical.

The reference file is written by ``benchmarks/make_engine_regression.py`` (see its docstring
for the cases); a change that is meant to alter the engine's output regenerates it and says so.
"""

import numpy as np
import pytest

from benchmarks.make_engine_regression import (CASES, N_SAMPLES, REGRESSION_FILE, SMALL,
                                               case_outputs, gaussian_images)
from mne_dualdiv import DualDivergenceGenerator, read_generator

pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.fixture(scope="module")
def reference():
    with np.load(REGRESSION_FILE) as saved:
        return dict(saved)


@pytest.mark.parametrize("name", list(CASES))
def test_fit_and_sample_match_the_saved_reference(name, reference):
    outputs = case_outputs(name)
    assert set(outputs) == {key for key in reference if key.startswith(f"{name}/")}
    for key, value in outputs.items():
        assert np.array_equal(value, reference[key]), key


def test_a_saved_and_read_generator_samples_the_reference(reference, tmp_path):
    seed, n_images, params = CASES["guard_on"]
    generator = DualDivergenceGenerator(**SMALL, **params).fit(gaussian_images(n_images, seed))
    generator.save(tmp_path / "generator.pt")
    loaded = read_generator(tmp_path / "generator.pt")
    samples = loaded.sample(N_SAMPLES, random_state=seed + 10)
    assert np.array_equal(samples, reference["guard_on/samples"])
