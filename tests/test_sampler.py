"""Tests of DualDivergenceSampler: fit_resample inside the training folds of a pipeline."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate

from mne_dualdiv import DualDivergenceGenerator, DualDivergenceSampler


imblearn_pipeline = pytest.importorskip("imblearn.pipeline")


def _two_class_arrays(n_per_class=(30, 20), seed=0):
    """Epoch-like arrays (volts) of two classes that differ in the power of one channel pair."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for label, n in zip(("left", "right"), n_per_class):
        gains = np.array([2.0, 1.0, 1.0, 0.5]) if label == "left" else np.array([
            0.5, 1.0, 1.0, 2.0])
        sources = rng.standard_normal((n, 4, 24))
        X.append(1e-5 * gains[None, :, None] * sources)
        y += [label] * n
    return np.concatenate(X), np.array(y)


class _ShapeRecorder(BaseEstimator, TransformerMixin):
    """Pass-through step that records the number of samples it is fitted on and transforms."""

    def fit(self, X, y=None):
        self.n_fit_ = len(X)
        self.n_fit_classes_ = dict(zip(*np.unique(y, return_counts=True)))
        return self

    def transform(self, X):
        self.n_transformed_ = len(X)
        return X


@pytest.fixture(scope="module")
def arrays():
    return _two_class_arrays()


@pytest.fixture(scope="module")
def resampled(arrays, fast_params):
    X, y = arrays
    sampler = DualDivergenceSampler(generator=DualDivergenceGenerator(**fast_params),
                                    n_synthetic=1.0, random_state=0)
    X_before, y_before = X.copy(), y.copy()
    X_res, y_res = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    return sampler, X_res, y_res


def test_fit_resample_returns_the_real_samples_first_then_synthetic_ones(arrays, resampled):
    X, y = arrays
    sampler, X_res, y_res = resampled
    assert X_res.shape == (100, 4, 24) and y_res.shape == (100,)
    np.testing.assert_array_equal(X_res[:50], X)
    np.testing.assert_array_equal(y_res[:50], y)
    assert sampler.n_synthetic_ == {"left": 30, "right": 20}
    assert y_res[50:].tolist() == ["left"] * 30 + ["right"] * 20
    assert y_res.dtype == y.dtype


def test_synthetic_samples_keep_the_class_structure_and_units(resampled):
    _, X_res, y_res = resampled
    synthetic, labels = X_res[50:], y_res[50:]
    power = (synthetic ** 2).mean(axis=2)
    # Channel 0 is the strong one for 'left', channel 3 for 'right'.
    assert np.mean(power[labels == "left", 0] > power[labels == "left", 3]) > 0.8
    assert np.mean(power[labels == "right", 3] > power[labels == "right", 0]) > 0.8
    assert 1e-6 < np.median(np.abs(synthetic)) < 1e-4


def test_balance_tops_up_the_smaller_class(arrays, fast_params):
    X, y = arrays
    sampler = DualDivergenceSampler(generator=DualDivergenceGenerator(**fast_params),
                                    n_synthetic="balance", random_state=0)
    _, y_res = sampler.fit_resample(X, y)
    assert sampler.n_synthetic_ == {"left": 0, "right": 10}
    assert (y_res == "left").sum() == (y_res == "right").sum() == 30


def test_fit_resample_is_reproducible(arrays, fast_params):
    X, y = arrays
    sampler = DualDivergenceSampler(generator=DualDivergenceGenerator(**fast_params),
                                    n_synthetic=6,
                                    random_state=4)
    first, _ = sampler.fit_resample(X, y)
    second, _ = clone(sampler).fit_resample(X, y)
    np.testing.assert_array_equal(first, second)


def test_sampler_augments_only_the_training_folds_of_an_mne_decoding_pipeline(fast_params):
    from mne.decoding import CSP

    # 40 samples per class: each training fold of a 2-fold split holds 20 per class, the
    # engine's minimum.
    X, y = _two_class_arrays((40, 40))
    sampler = DualDivergenceSampler(generator=DualDivergenceGenerator(**fast_params),
                                    n_synthetic=1.0, random_state=0)
    pipeline = imblearn_pipeline.make_pipeline(sampler, _ShapeRecorder(), CSP(n_components=2),
                                               LogisticRegression())
    cv = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    results = cross_validate(pipeline, X, y, cv=cv, return_estimator=True,
                             return_indices=True)
    for fitted, train, test in zip(results["estimator"], results["indices"]["train"],
                                   results["indices"]["test"]):
        fitted_sampler, recorder = fitted.steps[0][1], fitted.steps[1][1]
        # The generators saw the training fold only, and each class was doubled.
        n_fitted = {label: len(g.train_indices_) + len(g.heldout_indices_)
                    for label, g in fitted_sampler.generators_.items()}
        assert n_fitted == dict(zip(*np.unique(y[train], return_counts=True)))
        assert recorder.n_fit_ == 2 * len(train)
        # Predicting on the test fold skips the sampler.
        fitted.predict(X[test])
        assert recorder.n_transformed_ == len(test)
    # CSP separates the two classes' channel powers well above chance.
    assert results["test_score"].mean() > 0.8


def test_worker_processes_give_the_same_samples_as_one_process(arrays, fast_params):
    """n_jobs changes where the classes are fitted, not what is fitted (same torch threads)."""
    import os

    import torch

    X, y = arrays
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // 2))  # what each of 2 workers runs
    try:
        sampler = DualDivergenceSampler(generator=DualDivergenceGenerator(**fast_params),
                                        n_synthetic=6, random_state=4)
        one_process, y_one = sampler.fit_resample(X, y)
        parallel = clone(sampler).set_params(n_jobs=2)
        two_processes, y_two = parallel.fit_resample(X, y)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(one_process, two_processes)
    np.testing.assert_array_equal(y_one, y_two)
    # What sample() records about its walks comes back from the workers.
    report = parallel.generators_["left"].last_sample_report_
    assert report["n_returned"] == 4 and report["n_walks"] >= 4  # 6 split 30:20


def test_arguments_are_checked_with_their_names(arrays, fast_params):
    X, y = arrays
    with pytest.raises(ValueError, match="X must have 3 dimensions"):
        DualDivergenceSampler().fit_resample(X.reshape(len(X), -1), y)
    with pytest.raises(ValueError, match=r"y must have shape \(50,\)"):
        DualDivergenceSampler().fit_resample(X, y[:10])
    with pytest.raises(ValueError, match="'n_synthetic' parameter"):
        DualDivergenceSampler(n_synthetic="double").fit_resample(X, y)
    with pytest.raises(ValueError, match="n_jobs must be a positive int"):
        DualDivergenceSampler(n_jobs=0).fit_resample(X, y)
    with pytest.raises(TypeError, match="n_jobs must be None or an int, got float"):
        DualDivergenceSampler(n_jobs=2.0).fit_resample(X, y)
    with pytest.raises(ValueError, match=r"class 'right' \(4 samples\).*at least 5"):
        DualDivergenceSampler(generator=DualDivergenceGenerator(**fast_params)).fit_resample(
            *_two_class_arrays((30, 4)))
