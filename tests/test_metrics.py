"""Specifications of the evaluation metrics: known answers on identical, shuffled, copied sets."""

import math

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

import mne_dualdiv
from mne_dualdiv import DualDivergenceGenerator
from mne_dualdiv.datasets import load_finger_movements
from mne_dualdiv.engine.marginals import marginal_samples
from mne_dualdiv.metrics import (
    METRICS,
    EvaluationReport,
    MetricScore,
    augmentation_score,
    cluster_divergence,
    covariance_distance,
    discriminative_score,
    entropy_score,
    evaluate,
    frechet_distance,
    gaussian_total_correlation,
    knn_entropy,
    knn_kl_divergence,
    ood_rate,
    privacy_report_scores,
    psd_distance,
    sample_divergence,
    total_correlation,
    tstr_score,
)

SFREQ = 100.0
#: A tiny engine budget: enough to tell dependent from independent pixels on 4 x 16 images.
TINY_ENGINE = dict(n_bridges=4, max_steps=100, eval_every=50, patience=2, batch_size=64,
                   n_eval_draws=4, n_local_draws=2, n_filters=4, hidden=16)


def _shuffled(X, seed=0):
    """Per-pixel marginal shuffle of ``X``: same marginals, no dependencies."""
    generator = torch.Generator().manual_seed(seed)
    return marginal_samples(torch.from_numpy(X), len(X), generator, replace=False).numpy()


def _ar_images(n, n_channels=4, n_times=16, rho=0.9, seed=0):
    """AR(1) along time, equicorrelated (0.6) channels, in volts."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n, n_channels, n_times))
    x = np.empty_like(noise)
    x[..., 0] = noise[..., 0]
    for t in range(1, n_times):
        x[..., t] = rho * x[..., t - 1] + np.sqrt(1 - rho**2) * noise[..., t]
    mixing = np.linalg.cholesky(np.full((n_channels, n_channels), 0.6) + 0.4 * np.eye(n_channels))
    return np.einsum("cd,ndt->nct", mixing, x) * 1e-5


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One BLAS and one torch thread: on a shared machine spinning threads cost 10-100x."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def finger():
    """FingerMovements in volts: 150 training, 60 held-out epochs (28 x 50 at 100 Hz)."""
    X, y = load_finger_movements("train", return_epochs=False)
    order = np.random.default_rng(0).permutation(len(X))
    train, heldout = order[:150], order[150:210]
    return X[train], X[heldout], y[train], y[heldout]


@pytest.fixture(scope="module")
def finger_shuffled(finger):
    return _shuffled(finger[0][:60])


@pytest.fixture(scope="module")
def finger_noise(finger):
    rng = np.random.default_rng(1)
    return rng.standard_normal((60,) + finger[0].shape[1:]) * finger[0].std()


@pytest.fixture(scope="module")
def small_generator():
    train = _ar_images(80)
    generator = DualDivergenceGenerator(**TINY_ENGINE, random_state=0).fit(train)
    return generator, train, _ar_images(40, seed=1)


# ----------------------------------------------------------------------------- MetricScore
@pytest.mark.parametrize("better, synthetic, reference, spread, expected", [
    ("lower", 1.0, 2.0, math.nan, True),
    ("lower", 3.0, 2.0, math.nan, False),
    ("higher", 3.0, 2.0, math.nan, True),
    ("closer", 2.5, 2.0, 1.0, True),
    ("closer", 4.0, 2.0, 1.0, False),
    ("closer", 4.0, 2.0, math.nan, None),
])
def test_as_good_as_reference_follows_the_direction(better, synthetic, reference, spread,
                                                    expected):
    score = MetricScore("m", "fidelity", synthetic, reference, better, real_spread=spread)
    assert score.as_good_as_reference is expected
    assert score.gap == pytest.approx(synthetic - reference)


def test_metric_score_refuses_an_unknown_direction():
    with pytest.raises(ValueError, match="'better' parameter"):
        MetricScore("m", "fidelity", 1.0, 1.0, "smaller")


# ----------------------------------------------------------------------------- fidelity
@pytest.mark.parametrize("metric", [psd_distance, covariance_distance, frechet_distance])
def test_distance_of_identical_sets_is_zero(metric, finger):
    train, heldout = finger[:2]
    score = metric(train, heldout, heldout.copy(), random_state=0)
    assert score.synthetic == pytest.approx(0.0, abs=1e-8)
    assert score.reference > 0.1
    assert score.better == "lower"


@pytest.mark.parametrize("metric", [psd_distance, covariance_distance, frechet_distance,
                                    discriminative_score])
def test_shuffled_and_noise_sets_score_worse_than_real_data(metric, finger, finger_shuffled,
                                                            finger_noise):
    train, heldout = finger[:2]
    for synthetic in (finger_shuffled, finger_noise):
        score = metric(train, heldout, synthetic, random_state=0)
        assert score.synthetic > 2 * score.reference
        assert score.as_good_as_reference is False


def test_discriminative_score_of_identical_sets_is_near_zero(finger):
    train, heldout = finger[:2]
    score = discriminative_score(train, heldout, heldout.copy(), sfreq=SFREQ, random_state=0)
    assert score.synthetic < 0.05
    assert score.reference < 0.2
    assert 0 <= score.synthetic <= 0.5
    assert score.details["n_samples"] == len(heldout)


def test_discriminative_score_detects_a_shuffle_almost_perfectly(finger, finger_shuffled):
    score = discriminative_score(*finger[:2], finger_shuffled, sfreq=SFREQ, random_state=0)
    assert score.synthetic > 0.4


def test_spectral_and_covariance_distances_do_not_depend_on_the_unit(finger, finger_shuffled):
    train, heldout = finger[:2]
    for metric in (psd_distance, covariance_distance):
        volts = metric(train, heldout, finger_shuffled, random_state=0)
        microvolts = metric(train * 1e6, heldout * 1e6, finger_shuffled * 1e6, random_state=0)
        assert microvolts.synthetic == pytest.approx(volts.synthetic, rel=1e-6)
        assert microvolts.reference == pytest.approx(volts.reference, rel=1e-6)


def test_psd_distance_details_have_one_value_per_channel(finger):
    train, heldout = finger[:2]
    score = psd_distance(train, heldout, train[:60], sfreq=SFREQ, random_state=0)
    assert score.details["per_channel_synthetic"].shape == (28,)
    assert score.details["psd_heldout"].shape == (28, len(score.details["freqs"]))
    assert score.details["freqs"].max() == pytest.approx(SFREQ / 2)
    assert score.synthetic == pytest.approx(score.details["per_channel_synthetic"].mean())


def test_same_random_state_gives_the_same_scores(finger, finger_shuffled):
    first = discriminative_score(*finger[:2], finger_shuffled, random_state=3)
    second = discriminative_score(*finger[:2], finger_shuffled, random_state=3)
    assert (first.synthetic, first.reference) == (second.synthetic, second.reference)
    assert first.details == second.details


# ----------------------------------------------------------------------------- estimators
def test_knn_entropy_of_a_gaussian_is_close_to_the_analytic_value():
    rng = np.random.default_rng(0)
    covariance = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])
    X = rng.multivariate_normal(np.zeros(3), covariance, size=3000)
    analytic = 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * covariance))
    assert knn_entropy(X, n_neighbors=3) == pytest.approx(analytic, abs=0.1)


def test_knn_kl_divergence_of_shifted_gaussians_is_half_the_squared_shift():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 2))
    Y = rng.standard_normal((2000, 2)) + np.array([1.5, 1.0])
    assert knn_kl_divergence(X, Y, n_neighbors=3) == pytest.approx(0.5 * (1.5**2 + 1.0), abs=0.2)
    same = rng.standard_normal((2000, 2))
    assert knn_kl_divergence(X, same, n_neighbors=3) == pytest.approx(0.0, abs=0.1)


def test_gaussian_total_correlation_on_gaussian_channels_matches_the_analytic_value():
    rng = np.random.default_rng(0)
    correlation = np.full((5, 5), 0.5) + 0.5 * np.eye(5)
    analytic = -0.5 * np.log(np.linalg.det(correlation))
    X = np.einsum("cd,ndt->nct", np.linalg.cholesky(correlation),
                  rng.standard_normal((80, 5, 100)))
    score = total_correlation(X, X, X, random_state=0)
    assert score.synthetic == pytest.approx(analytic, abs=0.05)
    assert gaussian_total_correlation(np.diag([1.0, 4.0, 9.0])) == pytest.approx(0.0)


# ----------------------------------------------------------------------------- information
@pytest.mark.parametrize("metric", [entropy_score, cluster_divergence, total_correlation])
def test_property_of_an_identical_set_equals_the_heldout_value(metric, finger):
    train, heldout = finger[:2]
    score = metric(train, heldout, heldout.copy(), random_state=0)
    assert score.better == "closer"
    assert score.synthetic == pytest.approx(score.reference)
    assert score.as_good_as_reference is True
    assert np.isfinite(score.real_spread)


@pytest.mark.parametrize("metric", [entropy_score, cluster_divergence, total_correlation])
def test_shuffled_and_noise_sets_are_farther_from_heldout_than_real_data(metric, finger,
                                                                         finger_shuffled,
                                                                         finger_noise):
    train, heldout = finger[:2]
    for synthetic in (finger_shuffled, finger_noise):
        score = metric(train, heldout, synthetic, random_state=0)
        assert abs(score.gap) > 2 * score.real_spread
        assert score.as_good_as_reference is False


def test_shuffling_destroys_channel_total_correlation(finger, finger_shuffled):
    score = total_correlation(*finger[:2], finger_shuffled, random_state=0)
    assert score.synthetic < 0.3 * score.reference


def test_mode_collapse_lowers_the_entropy(finger):
    train, heldout = finger[:2]
    collapsed = np.repeat(train[:6], 10, axis=0) + 1e-3 * train.std() * np.random.default_rng(
        0).standard_normal((60,) + train.shape[1:])
    score = entropy_score(train, heldout, collapsed, random_state=0)
    assert score.synthetic < score.reference - 2 * score.real_spread


def test_ood_rate_counts_values_outside_the_endpoints():
    class FixedDualSpace:
        endpoints_ = np.array([-1.0, 1.0])
        robust_endpoints_ = np.array([-0.5, 0.5])

        def dual_values(self, X):
            return X[:, 0, 0]

    values = np.array([-2.0, -0.8, 0.0, 0.9, 3.0]).reshape(-1, 1, 1)
    inside = np.zeros((4, 1, 1))
    score = ood_rate(inside, values, FixedDualSpace())
    assert score.synthetic == pytest.approx(2 / 5)
    assert score.reference == 0.0
    assert ood_rate(inside, values, FixedDualSpace(), robust=True).synthetic == pytest.approx(4 / 5)
    as_function = ood_rate(inside, values, FixedDualSpace().dual_values, endpoints=(-1.0, 1.0))
    assert as_function.synthetic == pytest.approx(2 / 5)
    with pytest.raises(ValueError, match="endpoints=\\(low, high\\) is required"):
        ood_rate(inside, values, FixedDualSpace().dual_values)


def test_marginal_shuffles_are_more_often_out_of_distribution(small_generator):
    generator, train, heldout = small_generator
    score = ood_rate(heldout, _shuffled(heldout), generator)
    assert score.synthetic > score.reference + 0.2


def test_ood_rate_refuses_an_object_without_a_dual_space(finger):
    with pytest.raises(TypeError, match="generator must be a fitted DualDivergenceGenerator"):
        ood_rate(finger[1], finger[1], object())


def test_sample_divergence_of_a_shuffled_set_is_near_zero():
    train, heldout = _ar_images(100), _ar_images(60, seed=1)
    params = dict(TINY_ENGINE, max_steps=200, eval_every=100)
    score = sample_divergence(train, heldout, _shuffled(heldout), estimator_params=params,
                              random_state=0)
    assert abs(score.synthetic) < 1.0
    assert score.reference > 3.0 and score.details["train"] > 3.0
    assert abs(score.gap) > score.real_spread
    assert score.details["estimator_params"]["max_steps"] == 200


def test_sample_divergence_needs_twenty_samples():
    X = _ar_images(19)
    with pytest.raises(ValueError, match="heldout must have at least 20 samples"):
        sample_divergence(_ar_images(40), X, _ar_images(40))


# ----------------------------------------------------------------------------- utility
@pytest.fixture(scope="module")
def two_classes():
    """AR images with a class-dependent slow deflection on channel 0 (decodable)."""
    rng = np.random.default_rng(0)
    y = np.repeat(["left", "right"], 60)
    X = _ar_images(120, seed=2)
    X[y == "right", 0, :] += 0.8e-5 * np.linspace(0, 1, X.shape[-1])
    order = rng.permutation(120)
    return X[order[:80]], X[order[80:]], y[order[:80]], y[order[80:]]


def test_train_on_a_copy_of_the_training_set_equals_the_reference(two_classes):
    train, heldout, y_train, y_heldout = two_classes
    score = tstr_score(train, heldout, train.copy(), y_train, y_heldout, y_train)
    assert score.synthetic == pytest.approx(score.reference)
    assert score.reference > 0.7


def test_train_on_wrongly_labelled_samples_scores_near_chance(two_classes):
    train, heldout, y_train, y_heldout = two_classes
    wrong = np.random.default_rng(0).permutation(y_train)
    score = tstr_score(train, heldout, train, y_train, y_heldout, wrong)
    assert score.synthetic < score.reference - 0.15


def test_augmenting_with_heldout_copies_shows_a_gain(two_classes):
    train, heldout, y_train, y_heldout = two_classes
    score = augmentation_score(train, heldout, heldout, y_train, y_heldout, y_heldout)
    assert score.details["gain"] == pytest.approx(score.gap)
    assert score.gap > 0.1


def test_utility_refuses_missing_or_unknown_labels(two_classes):
    train, heldout, y_train, y_heldout = two_classes
    with pytest.raises(ValueError, match="y_synthetic is required"):
        tstr_score(train, heldout, train, y_train, y_heldout, None)
    with pytest.raises(ValueError, match="unknown"):
        tstr_score(train, heldout, train, y_train, y_heldout, np.where(y_train == "left", "a", "b"))
    with pytest.raises(ValueError, match="y_heldout must be a 1-D array"):
        tstr_score(train, heldout, train, y_train, y_heldout[:3], y_train)


# ----------------------------------------------------------------------------- privacy
def _privacy(members, nonmembers, released):
    return {score.name: score for score in privacy_report_scores(members, nonmembers, released,
                                                                 random_state=0)}


def test_copies_of_the_members_are_flagged(finger):
    # As many members as non-members: none is left out of the comparison.
    members, nonmembers = finger[0][:60], finger[1]  # a random split of one pool
    scores = _privacy(members, nonmembers, members.copy())
    assert scores["median_dcr"].synthetic == 0.0
    assert scores["median_dcr"].details["dcr_ratio"] == 0.0
    assert scores["median_dcr"].as_good_as_reference is False
    assert scores["membership_inference_auc"].synthetic > 0.95
    assert scores["nndr"].synthetic == 0.0
    assert scores["share_closer_to_members"].synthetic == 1.0


def test_references_read_no_leak_by_construction(finger):
    members, nonmembers = finger[:2]
    scores = _privacy(members, nonmembers, members.copy())
    assert scores["membership_inference_auc"].reference == pytest.approx(0.5, abs=0.15)
    assert scores["nndr"].reference == pytest.approx(1.0, abs=0.15)
    assert scores["share_closer_to_members"].reference == pytest.approx(0.5, abs=0.2)


def test_unseen_samples_of_the_same_pool_do_not_leak_membership(finger):
    members, unseen = finger[0][:100], finger[0][100:]
    scores = _privacy(members, finger[1], unseen)
    assert scores["membership_inference_auc"].synthetic == pytest.approx(0.5, abs=0.15)
    assert scores["nndr"].synthetic == pytest.approx(1.0, abs=0.15)
    assert scores["median_dcr"].details["dcr_ratio"] > 0.8


def test_a_shifted_release_does_not_read_as_membership(finger):
    # The protocol's reason: members and non-members come from one pool, so a release that
    # differs from both alike (another session, here a DC offset) tells them apart no better.
    members, unseen = finger[0][:100], finger[0][100:]
    shifted = unseen + 0.5 * unseen.std()
    scores = _privacy(members, finger[1], shifted)
    assert scores["membership_inference_auc"].synthetic == pytest.approx(0.5, abs=0.15)


def test_too_few_nonmembers_are_refused_by_name(finger):
    members, nonmembers = finger[:2]
    with pytest.raises(ValueError, match="nonmembers must have at least 4"):
        privacy_report_scores(members, nonmembers[:3], members)


# ----------------------------------------------------------------------------- evaluate
@pytest.fixture(scope="module")
def report(finger, finger_shuffled):
    train, heldout, y_train, y_heldout = finger
    return evaluate(train, heldout, finger_shuffled, sfreq=SFREQ, y_train=y_train,
                    y_heldout=y_heldout, y_synthetic=y_train[:60], nonmembers=heldout,
                    random_state=0)


def test_evaluate_runs_every_metric_its_inputs_allow(report):
    assert isinstance(report, EvaluationReport)
    assert set(report.scores) == set(METRICS) - {"sample_divergence", "ood_rate",
                                                 "subject_linkage_rate"}
    assert report.skipped == {"sample_divergence": "fit_estimators=False",
                              "ood_rate": "no generator given",
                              "subject_linkage_rate": "groups needed: the subject of every "
                                                      "train epoch"}
    assert "psd_distance" in repr(report) and "skipped" in repr(report)


def test_report_dataframe_has_one_row_per_metric(report):
    df = report.to_dataframe()
    assert list(df.columns) == ["metric", "category", "synthetic", "reference", "better", "gap",
                                "real_spread", "as_good_as_reference", "unit"]
    assert list(df["metric"]) == list(report.scores)
    assert set(df["better"]) <= {"lower", "higher", "closer"}
    row = df.set_index("metric").loc["psd_distance"]
    assert row["synthetic"] == report["psd_distance"].synthetic
    assert not row["as_good_as_reference"]


def test_evaluate_matches_the_metric_functions(finger, finger_shuffled, report):
    train, heldout = finger[:2]
    direct = covariance_distance(train, heldout, finger_shuffled)
    assert report["covariance_distance"].synthetic == pytest.approx(direct.synthetic)


def test_evaluate_is_reproducible_and_independent_of_the_selection(finger, finger_shuffled,
                                                                   report):
    train, heldout = finger[:2]
    alone = evaluate(train, heldout, finger_shuffled, sfreq=SFREQ, metrics=["frechet_distance"],
                     random_state=0)["frechet_distance"]
    assert alone.synthetic == report["frechet_distance"].synthetic
    assert alone.reference == report["frechet_distance"].reference


def test_evaluate_accepts_epochs(finger_shuffled):
    epochs = load_finger_movements("train")
    heldout = epochs[150:210]
    report = evaluate(epochs[:150], heldout, finger_shuffled, metrics="psd_distance",
                      random_state=0)
    assert report.sfreq == SFREQ
    assert report.ch_names == epochs.ch_names
    assert report["psd_distance"].synthetic > 5


def test_evaluate_with_a_generator_and_all_plots(small_generator):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    generator, train, heldout = small_generator
    report = evaluate(train, heldout, _shuffled(heldout), generator=generator,
                      metrics=["fidelity", "ood_rate"], random_state=0)
    assert report["ood_rate"].synthetic > report["ood_rate"].reference
    for fig in (report.plot_psd(), report.plot_psd(average=False), report.plot_dual_histogram(),
                report.plot_metrics()):
        assert isinstance(fig, Figure)
    assert len(report.plot_psd(average=False).axes) >= train.shape[1]
    matplotlib.pyplot.close("all")


def test_a_plot_without_its_metric_says_what_is_missing(report):
    with pytest.raises(RuntimeError, match="'ood_rate'.*no generator given"):
        report.plot_dual_histogram()


def test_evaluate_skips_privacy_without_nonmembers(finger, finger_shuffled):
    train, heldout = finger[:2]
    report = evaluate(train, heldout, finger_shuffled, metrics="privacy", random_state=0)
    assert len(report) == 0
    assert set(report.skipped) == {"median_dcr", "membership_inference_auc", "nndr",
                                   "share_closer_to_members", "membership_ensemble_auc",
                                   "subject_linkage_rate"}
    assert all("nonmembers needed" in reason for name, reason in report.skipped.items()
               if name != "subject_linkage_rate")
    assert "groups needed" in report.skipped["subject_linkage_rate"]


def test_evaluate_refuses_an_explicit_metric_without_its_inputs(finger):
    train, heldout = finger[:2]
    with pytest.raises(ValueError, match="'nndr' was asked for.*nonmembers"):
        evaluate(train, heldout, train, metrics="nndr")
    with pytest.raises(ValueError, match="'tstr_score' was asked for"):
        evaluate(train, heldout, train, metrics="tstr_score")
    with pytest.raises(ValueError, match="'ood_rate' was asked for"):
        evaluate(train, heldout, train, metrics=["ood_rate"])


def test_evaluate_refuses_an_unknown_metric(finger):
    with pytest.raises(ValueError, match="'metrics' parameter.*'fidelty'"):
        evaluate(finger[0], finger[1], finger[1], metrics="fidelty")


def test_sets_of_different_images_are_refused_by_name(finger):
    train, heldout = finger[:2]
    with pytest.raises(ValueError, match="synthetic has images of shape"):
        psd_distance(train, heldout, heldout[:, :10])
    with pytest.raises(ValueError, match="synthetic must have 3 dimensions"):
        covariance_distance(train, heldout, heldout[0])
    with pytest.raises(ValueError, match="sfreq must be > 0"):
        psd_distance(train, heldout, heldout, sfreq=-1)
    with pytest.raises(ValueError, match="n_splits must be at least 2"):
        discriminative_score(train, heldout, heldout, n_splits=1)


def test_evaluate_is_exported_at_the_top_level():
    assert mne_dualdiv.evaluate is evaluate
    assert "evaluate" in mne_dualdiv.__all__
