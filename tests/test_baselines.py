"""Specification of the baselines: the engine's fit/sample contract on FingerMovements epochs."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from mne_dualdiv.baselines import (BASELINES, DEEP_BASELINES, FGANGenerator, GaussianGenerator,
                                   JitterGenerator, MarginalShuffleGenerator, MixupGenerator,
                                   VAEGenerator)
from mne_dualdiv.datasets import load_finger_movements
from mne_dualdiv.engine.marginals import path_masks
from mne_dualdiv.engine.network import DualNetwork

N_SAMPLES = 40
# A small budget: these tests check the interface and the units, not the quality.
SMALL_BUDGET = dict(max_steps=40, batch_size=32)


pytestmark = pytest.mark.usefixtures("single_torch_thread")


def make(name, **params):
    """A baseline with the small budget (deep models) and the given parameters."""
    cls = BASELINES[name]
    budget = SMALL_BUDGET if name in DEEP_BASELINES else {}
    return cls(**budget, **params)


@pytest.fixture(scope="module")
def finger_movements():
    X, _ = load_finger_movements(return_epochs=False)
    return X  # (316, 28, 50) in volts


@pytest.fixture(scope="module")
def fitted(finger_movements):
    return {name: make(name, random_state=0).fit(finger_movements) for name in BASELINES}


@pytest.mark.parametrize("name", list(BASELINES))
def test_samples_have_the_shape_and_units_of_the_input(name, fitted, finger_movements):
    samples = fitted[name].sample(N_SAMPLES, random_state=0)
    assert samples.shape == (N_SAMPLES, 28, 50)
    assert samples.dtype == np.float64
    assert np.isfinite(samples).all()
    # Volts in, volts out: the typical amplitude within a factor of 3 overall, and within a
    # factor of 10 above and 100 below on every channel (after 40 steps, an adversarial
    # generator may still have collapsed a channel towards its median).
    overall = np.median(np.abs(samples)) / np.median(np.abs(finger_movements))
    assert 1 / 3 < overall < 3, overall
    ratio = (np.median(np.abs(samples), axis=(0, 2))
             / np.median(np.abs(finger_movements), axis=(0, 2)))
    assert np.all((ratio > 0.01) & (ratio < 10)), ratio


@pytest.mark.parametrize("name", list(BASELINES))
def test_same_random_state_gives_the_same_samples(name, fitted, finger_movements):
    refitted = make(name, random_state=0).fit(finger_movements)
    first = fitted[name].sample(8, random_state=1)
    np.testing.assert_array_equal(first, refitted.sample(8, random_state=1))
    assert not np.array_equal(first, fitted[name].sample(8, random_state=2))


@pytest.mark.parametrize("name", list(BASELINES))
def test_sample_before_fit_raises(name):
    with pytest.raises(RuntimeError, match="not fitted yet"):
        make(name).sample(3)


@pytest.mark.parametrize("name", list(BASELINES))
def test_fit_returns_self_and_leaves_the_input_alone(name, finger_movements):
    X = finger_movements[:30].copy()
    estimator = make(name, random_state=0)
    assert estimator.fit(X) is estimator
    np.testing.assert_array_equal(X, finger_movements[:30])


@pytest.mark.parametrize("name", list(BASELINES))
def test_parameters_round_trip_through_sklearn_clone(name):
    estimator = make(name, random_state=3)
    clone_params = clone(estimator).get_params()
    assert clone_params == estimator.get_params()
    assert clone_params["random_state"] == 3


@pytest.mark.parametrize("name", DEEP_BASELINES)
def test_deep_baselines_are_sized_like_the_engine(name, fitted):
    masks = path_masks(np.arange(28 * 50), 32)
    engine_count = sum(p.numel() for p in DualNetwork(masks, 28, 50).parameters())
    assert 0.75 < fitted[name].n_parameters_ / engine_count < 1.25
    assert len(fitted[name].history_) >= 1


@pytest.mark.parametrize("name", [n for n in BASELINES if n not in DEEP_BASELINES])
def test_references_train_no_parameters(name, fitted):
    assert fitted[name].n_parameters_ == 0


def test_fit_leaves_the_global_torch_random_state_alone(finger_movements):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    VAEGenerator(**SMALL_BUDGET, random_state=0).fit(finger_movements[:30])
    torch.testing.assert_close(torch.rand(3), expected)


def test_marginal_shuffle_draws_every_pixel_from_the_same_pixel_of_training_samples():
    X = np.random.default_rng(0).standard_normal((25, 3, 4)) * 1e-5
    samples = MarginalShuffleGenerator().fit(X).sample(50, random_state=0)
    for channel in range(3):
        for time in range(4):
            distances = np.abs(samples[:, channel, time][:, None] - X[:, channel, time][None])
            assert distances.min(1).max() < 1e-12 * X.std()


def test_mixup_samples_lie_between_training_samples():
    X = np.random.default_rng(0).standard_normal((10, 2, 3))
    samples = MixupGenerator(alpha=1.0).fit(X).sample(100, random_state=0)
    assert np.all(samples >= X.min(0) - 1e-12) and np.all(samples <= X.max(0) + 1e-12)


def test_jitter_stays_close_to_a_training_sample():
    X = np.random.default_rng(0).standard_normal((30, 4, 8))
    samples = JitterGenerator(noise=0.01).fit(X).sample(20, random_state=0)
    nearest = np.sqrt(((samples[:, None] - X[None]) ** 2).sum((2, 3))).min(1)
    assert nearest.max() < 0.2  # 32 pixels of noise 0.01 x robust scale (~1)


def test_gaussian_handles_more_pixels_than_samples():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 10, 30)) * 2e-6  # 300 pixels, 20 samples
    gaussian = GaussianGenerator().fit(X)
    assert 0 < gaussian.shrinkage_ <= 1
    samples = gaussian.sample(2000, random_state=0)
    # White data: the shrunk covariance keeps every pixel's variance near the data's.
    variance_ratio = samples.reshape(2000, -1).var(0).mean() / X.reshape(20, -1).var(0).mean()
    assert 0.8 < variance_ratio < 1.2


def test_gaussian_reproduces_a_known_covariance():
    rng = np.random.default_rng(0)
    correlation = 0.8 ** np.abs(np.subtract.outer(np.arange(8), np.arange(8)))
    X = (rng.standard_normal((2000, 8)) @ np.linalg.cholesky(correlation).T).reshape(2000, 1, 8)
    samples = GaussianGenerator(shrinkage=0.0).fit(X).sample(4000, random_state=0)
    empirical = np.corrcoef(X.reshape(2000, 8).T)  # what the unshrunk Gaussian reproduces
    np.testing.assert_allclose(np.corrcoef(samples.reshape(4000, 8).T), empirical, atol=0.04)


@pytest.mark.parametrize("divergence", ["kl", "reverse_kl", "js", "pearson",
                                        "squared_hellinger"])
def test_every_f_divergence_trains_to_finite_samples(divergence, finger_movements):
    fgan = FGANGenerator(divergence=divergence, **SMALL_BUDGET, random_state=0)
    assert np.isfinite(fgan.fit(finger_movements[:40]).sample(5, random_state=0)).all()


@pytest.mark.parametrize("estimator, match", [
    (VAEGenerator(max_steps=0), "max_steps must be at least 1"),
    (VAEGenerator(learning_rate=-1.0), "learning_rate must be > 0"),
    (FGANGenerator(divergence="tv"), "'divergence' parameter"),
    (JitterGenerator(noise=-0.1), "noise must be >= 0"),
    (GaussianGenerator(shrinkage=1.5), "shrinkage must be <= 1"),
    (MixupGenerator(alpha=0.0), "alpha must be > 0"),
])
def test_invalid_arguments_are_named(estimator, match):
    with pytest.raises(ValueError, match=match):
        estimator.fit(np.zeros((5, 2, 3)))


def test_invalid_data_and_sample_sizes_are_named(fitted):
    with pytest.raises(ValueError, match="X must have 3 dimensions"):
        JitterGenerator().fit(np.zeros((5, 6)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        MixupGenerator().fit(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="n_samples must be at least 1"):
        fitted["vae"].sample(0)
