"""Specification of the data-shaped Gaussian that the engine's walks start from and move with."""

import numpy as np
import pytest
import torch

from mne_dualdiv.engine.gaussian import (DataGaussian, denoised_mean, kronecker_shrinkage,
                                         separable_target, stationary_correlation)

N_CHANNELS, N_TIMES = 4, 16


def separable(n, seed, rho=0.9):
    """Gaussian images with covariance A (x) B: AR(1) in time, equicorrelation 0.5 across."""
    rng = np.random.default_rng(seed)
    lags = np.abs(np.subtract.outer(np.arange(N_TIMES), np.arange(N_TIMES)))
    temporal = np.linalg.cholesky(rho ** lags)
    spatial = np.linalg.cholesky(np.full((N_CHANNELS, N_CHANNELS), 0.5) + 0.5 * np.eye(N_CHANNELS))
    white = rng.standard_normal((n, N_CHANNELS, N_TIMES))
    return spatial @ white @ temporal.T


def draw_covariance(gaussian, n, seed=0):
    draws = gaussian.draw_centred(n, torch.Generator().manual_seed(seed)).double().numpy()
    flat = draws.reshape(n, -1)
    return flat.T @ flat / n


def model_covariance(train, alpha):
    """(1 - alpha) S + alpha A (x) B written out in full (small sizes only)."""
    n = len(train)
    centred = train - train.mean(0)
    flat = centred.reshape(n, -1)
    sample = flat.T @ flat / n
    spatial, temporal = separable_target(centred)
    return (1 - alpha) * sample + alpha * np.kron(spatial, temporal)


def test_stationary_correlation_recovers_an_ar1_lag():
    rho = stationary_correlation(separable(2000, seed=0))
    assert rho[0] == 1.0
    assert rho[1] == pytest.approx(0.9 * (N_TIMES - 1) / N_TIMES, abs=0.02)  # biased estimator


def test_draws_have_the_models_covariance():
    train = separable(40, seed=1).astype(np.float32)
    gaussian = DataGaussian(train)
    expected = model_covariance(train.astype(np.float64), gaussian.shrinkage)
    empirical = draw_covariance(gaussian, 40000)
    assert np.abs(empirical - expected).max() < 0.05 * np.abs(expected).max()


def test_covariance_times_is_the_models_covariance_product():
    train = separable(30, seed=2).astype(np.float32)
    gaussian = DataGaussian(train, shrinkage=0.4)
    v = torch.randn((3, N_CHANNELS, N_TIMES), generator=torch.Generator().manual_seed(0))
    expected = model_covariance(train.astype(np.float64), 0.4) @ v.double().reshape(3, -1).numpy().T
    np.testing.assert_allclose(gaussian.covariance_times(v).reshape(3, -1).double().numpy(),
                               expected.T, rtol=1e-4, atol=1e-5)


def test_shrinkage_is_large_for_few_separable_samples_and_small_for_many_structured():
    few = separable(10, seed=3)
    many = np.concatenate([separable(2000, seed=4), separable(2000, seed=5)[:, ::-1]])
    many[:, 0] *= np.linspace(0.2, 3, N_TIMES)  # a non-stationary, non-separable channel
    assert _shrinkage(few) > 0.5
    assert _shrinkage(many) < 0.2


def _shrinkage(data):
    centred = data - data.mean(0)
    return kronecker_shrinkage(centred, *separable_target(centred))


def test_a_mean_that_is_only_noise_is_mostly_removed():
    noise = separable(25, seed=6, rho=0.0)
    mean, kept = denoised_mean(noise)
    raw = noise.mean(0) - noise.mean((0, 2))[:, None]
    denoised = mean - noise.mean((0, 2))[:, None]
    assert kept < 0.4
    assert (denoised ** 2).sum() < 0.4 * (raw ** 2).sum()
    np.testing.assert_allclose(mean.mean(1), noise.mean((0, 2)))  # channel constants kept


def test_a_mean_that_stands_out_of_the_noise_is_kept():
    signal = 3 * np.sin(np.linspace(0, 2 * np.pi, N_TIMES))[None, None, :]
    data = separable(25, seed=7) + signal
    mean, kept = denoised_mean(data)
    assert kept > 0.9
    assert np.corrcoef(mean.ravel(), np.broadcast_to(signal[0], mean.shape).ravel())[0, 1] > 0.95


def test_a_constant_channel_does_not_break_the_factors():
    train = separable(20, seed=8)
    train[:, 2] = 1.5
    gaussian = DataGaussian(train.astype(np.float32))
    draws = gaussian.draw(50, torch.Generator().manual_seed(0)).numpy()
    assert np.isfinite(draws).all()
    assert np.abs(draws[:, 2] - 1.5).max() < 1e-3
