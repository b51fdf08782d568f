"""Specification of the engine's differential privacy mode (``dp_epsilon``, issue 20 point 3)."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import brentq
from scipy.stats import norm

from mne_dualdiv import DualDivergenceGenerator, EpochsSynthesizer, read_generator
from mne_dualdiv.adapters.epochs import read_epochs_synthesizer
from mne_dualdiv.engine.dp import (N_RELEASES, STATISTICS_SHARE, PrivateSteps, calibrate,
                                   composed_epsilon, privacy_units)
from mne_dualdiv.engine.dp_statistics import gaussian_release

opacus = pytest.importorskip("opacus")
pytestmark = pytest.mark.usefixtures("single_torch_thread")


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return 1e-5 * rng.standard_normal((n, 3, 16)).cumsum(-1)


@pytest.fixture(scope="module")
def private_fit(tiny_params):
    X = _data()
    generator = DualDivergenceGenerator(**tiny_params, dp_epsilon=3.0, random_state=0)
    return generator.fit(X.copy()), X


# ------------------------------------------------------------------------------ accounting
def test_accountant_epsilon_is_opacus_rdp_accountant_for_the_same_noise_rate_and_steps():
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    for _ in range(200):
        accountant.step(noise_multiplier=1.1, sample_rate=0.05)
    assert composed_epsilon([(1.1, 0.05, 200)], 1e-5) == pytest.approx(
        accountant.get_epsilon(1e-5), rel=1e-12)


def test_calibrated_sgd_noise_is_opacus_noise_multiplier_without_releases():
    from opacus.accountants.utils import get_noise_multiplier

    budget = calibrate(2.0, 1e-5, sample_rate=0.1, steps=300, n_releases=0)
    expected = get_noise_multiplier(target_epsilon=2.0, target_delta=1e-5, sample_rate=0.1,
                                    steps=300, accountant="rdp", epsilon_tolerance=0.001)
    assert budget.sgd_noise == pytest.approx(expected, rel=2e-3)


def test_calibration_spends_the_target_by_rdp_composition_of_sgd_and_releases():
    budget = calibrate(3.0, 1e-5, sample_rate=0.25, steps=100)
    sgd, releases = budget.mechanisms
    assert releases == (budget.release_noise, 1.0, N_RELEASES)
    assert 0.995 * 3.0 <= budget.epsilon <= 3.0
    assert composed_epsilon([releases], 1e-5) == pytest.approx(STATISTICS_SHARE * 3.0, rel=1e-3)
    # RDP composition, tighter than adding the two epsilons (basic composition).
    assert budget.epsilon < composed_epsilon([sgd], 1e-5) + composed_epsilon([releases], 1e-5)
    assert budget.epsilon > composed_epsilon([sgd], 1e-5)


def test_gaussian_release_noise_is_the_calibrated_scale_and_clips_each_unit():
    rng = np.random.default_rng(0)
    noise = np.array([gaussian_release(np.zeros((5, 200)), 2.0, 1.5, rng) for _ in range(50)])
    assert noise.std() == pytest.approx(1.5 * 2.0, rel=0.03)
    contributions = np.zeros((3, 4))
    contributions[0, 0] = 10.0  # norm 10, clipped to the bound
    contributions[1, 1] = 0.5
    assert np.allclose(gaussian_release(contributions, 1.0, 0.0, rng), [1.0, 0.5, 0, 0])


def test_release_noise_gives_the_analytic_gaussian_mechanism_guarantee():
    # Balle & Wang (2018), theorem 8: N(0, (m * sensitivity)^2) is (eps, delta)-DP iff
    # Phi(1 / 2m - eps m) - e^eps Phi(-1 / 2m - eps m) <= delta.
    def exact_delta(eps, m):
        return norm.cdf(1 / (2 * m) - eps * m) - math.exp(eps) * norm.cdf(-1 / (2 * m) - eps * m)

    budget = calibrate(10.0, 1e-5, sample_rate=0.5, steps=60)
    m = budget.release_noise
    accounted = composed_epsilon([(m, 1.0, 1)], 1e-5)
    assert exact_delta(accounted, m) <= 1e-5
    exact = brentq(lambda eps: exact_delta(eps, m) - 1e-5, 1e-6, 100)
    assert 0.6 * accounted < exact < accounted  # RDP is conservative, not loose


# --------------------------------------------------------------------------------- the fit
def test_private_fit_spends_at_most_its_budget(private_fit):
    generator, _ = private_fit
    privacy = generator.privacy_
    assert privacy["unit"] == "epoch" and privacy["n_units"] == 40
    assert 0.99 * 3.0 <= privacy["epsilon"] <= 3.0 and privacy["delta"] == 1e-5
    assert privacy["epsilon"] == pytest.approx(
        composed_epsilon(privacy["mechanisms"], 1e-5), rel=1e-12)
    assert privacy["steps"] == generator.max_steps and generator.history_ == []


def test_private_model_file_holds_no_training_sample(private_fit, tmp_path):
    generator, X = private_fit
    state = generator.get_state()
    assert state["arrays"]["train_scaled"].numel() == 0
    rows = {tuple(np.round(x, 12)) for x in X.reshape(len(X), -1)}
    scaled = generator.scaler_.transform(X).reshape(len(X), -1)
    scaled_rows = {tuple(np.round(x, 5)) for x in scaled}
    for tensor in [*state["arrays"].values(), *state["network"].values()]:
        values = tensor.double().numpy().ravel()
        for block in values[:len(values) // 48 * 48].reshape(-1, 48):
            assert tuple(np.round(block, 12)) not in rows
            assert tuple(np.round(block, 5)) not in scaled_rows


def test_private_sampling_never_reads_the_training_array(tiny_params):
    X = _data(seed=1)
    generator = DualDivergenceGenerator(**tiny_params, dp_epsilon=3.0, random_state=0).fit(X)
    before = generator.sample(15, random_state=2)
    X[:] = np.nan  # the caller's array, overwritten after the fit
    after = generator.sample(15, random_state=2)
    assert np.isfinite(after).all() and np.array_equal(before, after)
    assert generator.last_sample_report_["near_copy"] == 0  # the guard is off


def test_epsilon_and_delta_survive_save_and_read(private_fit, tmp_path):
    generator, _ = private_fit
    generator.save(tmp_path / "private.pt")
    read = read_generator(tmp_path / "private.pt")
    assert read.privacy_ == generator.privacy_
    assert np.array_equal(read.sample(10, random_state=3), generator.sample(10, random_state=3))


def test_dp_off_is_the_fit_of_today(tiny_params):
    X = _data(seed=2)
    default = DualDivergenceGenerator(**tiny_params, random_state=0).fit(X)
    off = DualDivergenceGenerator(**tiny_params, dp_epsilon=None, random_state=0).fit(X)
    assert off.privacy_ is None
    assert np.array_equal(default.sample(8, random_state=1), off.sample(8, random_state=1))


# ---------------------------------------------------------------------- subjects and epochs
def test_dp_sgd_clips_one_gradient_per_sampled_subject():
    from mne_dualdiv.engine.bridges import _classification_loss
    from mne_dualdiv.engine.marginals import path_masks, pixel_order
    from mne_dualdiv.engine.network import DualNetwork

    groups = np.array(["s1", "s1", "s2", "s3", "s3", "s3"])
    units, n_units = privacy_units(groups, len(groups))
    assert n_units == 3 and list(units) == [0, 0, 1, 2, 2, 2]
    masks = path_masks(pixel_order(2, 8, "channel", np.random.default_rng(0)), 2)
    net = DualNetwork(masks, 2, 8, n_filters=4, hidden=8)
    X = torch.randn(6, 2, 8)
    budget = calibrate(5.0, 1e-5, sample_rate=1.0, steps=1)
    steps = PrivateSteps(units, n_units, budget, lambda n, g: torch.randn((n, 2, 8), generator=g),
                         0)
    masks_flat = net.masks.view(3, -1)
    steps.set_unit_gradients(net, X, masks_flat, _classification_loss,
                             torch.Generator().manual_seed(0))
    for p in net.parameters():
        assert p.grad_sample.shape == (3,) + tuple(p.shape)  # subjects, not epochs
    # The same draws again: every subject sampled (rate 1), each row's marginal and bridge.
    generator = torch.Generator().manual_seed(0)
    assert bool((torch.rand(3, generator=generator) < 1.0).all())
    z = torch.randn((6, 2, 8), generator=generator)
    bridge = torch.randint(0, 2, (6,), generator=generator)
    for unit, rows in [(0, [0, 1]), (1, [2]), (2, [3, 4, 5])]:
        net.zero_grad()
        loss = sum(_classification_loss(net, X[[r]], z[[r]], masks_flat, bridge[[r]])
                   for r in rows) / len(rows)  # a subject's gradient: its epochs' mean loss
        loss.backward()
        for p in net.parameters():
            torch.testing.assert_close(p.grad_sample[unit], p.grad, rtol=1e-4, atol=1e-6)


def test_synthetic_epochs_carry_the_release_epsilon(random_walk_epochs, tiny_params, tmp_path):
    epochs = random_walk_epochs(20, seed=0)
    template = DualDivergenceGenerator(**tiny_params, dp_epsilon=5.0)
    synthesizer = EpochsSynthesizer(generator=template, random_state=0).fit(epochs)
    privacy = synthesizer.privacy_
    assert privacy["composition"] == "parallel" and privacy["epsilon"] <= 5.0
    synthetic = synthesizer.sample(1.0, random_state=1)
    assert f"({privacy['epsilon']:.3g}, 1e-05)-differential privacy per epoch" in (
        synthetic.info["description"])
    synthesizer.save(tmp_path / "synthesizer.pt")
    assert read_epochs_synthesizer(tmp_path / "synthesizer.pt").privacy_ == privacy


def test_subject_level_guarantee_covers_every_condition(random_walk_epochs, tiny_params):
    epochs = random_walk_epochs(20, seed=1)
    subjects = np.tile(np.repeat(np.arange(5), 4), 2)  # every subject in both conditions
    template = DualDivergenceGenerator(**tiny_params, dp_epsilon=4.0)
    synthesizer = EpochsSynthesizer(generator=template, random_state=0).fit(
        epochs, groups=subjects)
    privacy = synthesizer.privacy_
    assert privacy["unit"] == "subject" and privacy["composition"] == "rdp"
    assert all(g.privacy_["n_units"] == 5 and g.privacy_["repeats"] == 2
               for g in synthesizer.generators_.values())
    assert 0.95 * 4.0 <= privacy["epsilon"] <= 4.0 * 1.01


# ------------------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("params, name", [
    (dict(dp_epsilon=0), "dp_epsilon"), (dict(dp_epsilon=-1.0), "dp_epsilon"),
    (dict(dp_epsilon=float("inf")), "dp_epsilon"), (dict(dp_epsilon="1"), "dp_epsilon"),
    (dict(dp_epsilon=1.0, dp_delta=0.0), "dp_delta"), (dict(dp_delta=1.0), "dp_delta"),
    (dict(dp_epsilon=1.0, start="training"), "start"),
    (dict(dp_epsilon=1.0, walk_shrinkage=0.5), "walk_shrinkage")])
def test_bad_dp_arguments_are_refused_by_name(params, name):
    with pytest.raises((ValueError, TypeError), match=name):
        DualDivergenceGenerator(**params).fit(_data())


def test_private_generator_refuses_what_reads_training_samples(private_fit, random_walk_epochs,
                                                                tiny_params):
    generator, X = private_fit
    for call, what in [(lambda: generator.nearest_training_indices(X[:2]),
                        "nearest_training_indices"),
                       (lambda: generator.local_dual_values(X[:2]), "local_dual_values"),
                       (lambda: generator.sample(2, subset=[0, 1, 2]), "subset")]:
        with pytest.raises(ValueError, match=what):
            call()
    template = DualDivergenceGenerator(**tiny_params, dp_epsilon=1.0)
    with pytest.raises(ValueError, match="per_condition"):
        EpochsSynthesizer(generator=template, per_condition=False).fit(random_walk_epochs(20))
    with pytest.raises(ValueError, match="groups"):
        EpochsSynthesizer(generator=template).fit(random_walk_epochs(20), groups="subject")
