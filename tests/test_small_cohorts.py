"""Small cohorts: the engine from 5 samples, conditional walks in one shared dual space, and
``augment`` from 5 epochs per class (issue 19, deliverable 2)."""

import mne
import numpy as np
import pytest

from mne_dualdiv import DualDivergenceGenerator, EpochsSynthesizer, augment
from mne_dualdiv.adapters._conditions import MIN_PER_CONDITION
from mne_dualdiv.presets import get_preset

pytestmark = pytest.mark.usefixtures("single_torch_thread")

FAST = get_preset("fast")
TINY = get_preset("tiny")
N_CHANNELS, N_TIMES = 3, 20


def two_classes(n_per_class, seed=0, separation=3.0):
    """Images of two classes whose means are ``separation`` noise SDs apart in every pixel
    (opposite signs of one smooth pattern), with a random amplitude per image."""
    rng = np.random.default_rng(seed)
    times = np.arange(N_TIMES) / 100.0
    pattern = np.outer([1.0, 0.5, -0.5], np.sin(2 * np.pi * 5 * times))
    labels = np.repeat(["a", "b"], n_per_class)
    sign = np.where(labels == "a", 1.0, -1.0)[:, None, None]
    amplitude = rng.normal(1.0, 0.2, len(labels))[:, None, None]
    X = sign * separation * amplitude * pattern + rng.standard_normal(
        (len(labels), N_CHANNELS, N_TIMES))
    return 1e-6 * X, labels


def two_class_epochs(n_per_class, seed=0):
    X, labels = two_classes(n_per_class, seed)
    info = mne.create_info(["C3", "Cz", "C4"], 100.0, "eeg")
    events = np.column_stack([20 * np.arange(len(X)), np.zeros(len(X), int),
                              np.where(labels == "a", 1, 2)])
    return mne.EpochsArray(X, info, events=events, event_id=dict(a=1, b=2), verbose=False)


def closer_to_own_class(synthetic, labels, X, y):
    """Share of synthetic images closer (mean Euclidean distance) to the real images of their
    own class than to those of the other class."""
    flat, real = synthetic.reshape(len(synthetic), -1), X.reshape(len(X), -1)
    distances = np.linalg.norm(flat[:, None] - real[None], axis=-1)
    own = np.array([distances[i, y == label].mean() for i, label in enumerate(labels)])
    other = np.array([distances[i, y != label].mean() for i, label in enumerate(labels)])
    return float(np.mean(own < other))


# ------------------------------------------------------------------------------ the engine
def test_the_engine_fits_ten_samples_with_two_held_out():
    X, y = two_classes(5)
    generator = DualDivergenceGenerator(**TINY, random_state=0).fit(X)
    assert (len(generator.train_indices_), len(generator.heldout_indices_)) == (8, 2)
    assert generator.sample(4, random_state=0).shape == (4, N_CHANNELS, N_TIMES)


def test_the_engine_fits_five_samples_and_refuses_four():
    X, _ = two_classes(3)
    generator = DualDivergenceGenerator(**TINY, random_state=0).fit(X[:5])
    assert (len(generator.train_indices_), len(generator.heldout_indices_)) == (3, 2)
    with pytest.raises(ValueError, match=r"X has 4 distinct samples.*at least 5 \(3 training"):
        DualDivergenceGenerator(**TINY).fit(X[:4])


def test_labels_stratify_the_split_so_every_class_keeps_two_training_samples():
    X, y = two_classes(5)
    X, y = X[2:], y[2:]  # classes of 3 and 5
    for seed in range(10):
        generator = DualDivergenceGenerator(**TINY, random_state=seed).fit(X, y)
        train_labels = y[generator.train_indices_]
        assert (train_labels == "a").sum() >= 2 and (train_labels == "b").sum() >= 2


def test_a_split_without_labels_is_the_one_of_earlier_versions():
    X, y = two_classes(15)
    without = DualDivergenceGenerator(**TINY, random_state=3).fit(X)
    again = DualDivergenceGenerator(**TINY, random_state=3).fit(X)
    np.testing.assert_array_equal(without.heldout_indices_, again.heldout_indices_)
    assert len(without.heldout_indices_) == 6  # 0.2 of 30: the regular split


def test_subset_walks_sample_their_own_class():
    X, y = two_classes(10)
    generator = DualDivergenceGenerator(**FAST, random_state=0).fit(X, y)
    for label in ("a", "b"):
        synthetic = generator.sample(20, random_state=1, subset=np.flatnonzero(y == label))
        assert closer_to_own_class(synthetic, [label] * 20, X, y) == 1.0
    # Without a subset, the walks come from the Gaussian of both classes: about half each.
    pooled = generator.sample(40, random_state=1)
    assert 0.1 < closer_to_own_class(pooled, ["a"] * 40, X, y) < 0.9


def test_subset_as_a_mask_is_the_subset_as_indices():
    X, y = two_classes(10)
    generator = DualDivergenceGenerator(**TINY, random_state=0).fit(X, y)
    by_mask = generator.sample(5, random_state=2, subset=y == "b")
    by_rows = generator.sample(5, random_state=2, subset=np.flatnonzero(y == "b"))
    np.testing.assert_array_equal(by_mask, by_rows)


def test_bad_subsets_are_refused_with_the_argument_named():
    X, y = two_classes(10)
    generator = DualDivergenceGenerator(**TINY, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="subset must be a 1-D array of row indices"):
        generator.sample(3, subset=[0.5, 1.5])
    with pytest.raises(ValueError, match=r"subset holds rows \[20\] outside the 20 rows"):
        generator.sample(3, subset=[0, 1, 20])
    with pytest.raises(ValueError, match=r"subset as a boolean mask.*\(20\), got shape \(5,\)"):
        generator.sample(3, subset=np.ones(5, bool))
    with pytest.raises(ValueError, match="subset holds 1 training row.*at least 2"):
        generator.sample(3, subset=generator.train_indices_[:1])
    with pytest.raises(ValueError, match="subset holds 0 training row"):
        generator.sample(3, subset=generator.heldout_indices_)
    with pytest.raises(ValueError, match="y must be a 1-D array with one label per sample"):
        DualDivergenceGenerator(**TINY).fit(X, y[:-1])


# ------------------------------------------------------------------------------ the adapter
@pytest.mark.parametrize("n_per_class", [5, 10])
def test_augment_runs_at_small_cohorts_with_the_right_counts_and_labels(n_per_class):
    epochs = two_class_epochs(n_per_class)
    augmented = augment(epochs, random_state=0, **FAST)
    synthetic = augmented.metadata["synthetic"].to_numpy(bool)
    assert len(augmented) == 4 * n_per_class and synthetic.sum() == 2 * n_per_class
    conditions = augmented.metadata["condition"].to_numpy()[synthetic]
    assert list(conditions) == ["a"] * n_per_class + ["b"] * n_per_class
    np.testing.assert_array_equal(augmented.events[synthetic, 2],
                                  np.where(conditions == "a", 1, 2))


def test_synthetic_epochs_are_closer_to_their_own_class():
    epochs = two_class_epochs(5)
    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(**FAST),
                                    random_state=0).fit(epochs)
    assert not synthesizer.per_condition_
    synthetic = synthesizer.sample({"a": 15, "b": 15}, random_state=0)
    names = synthetic.metadata["condition"].to_numpy()
    real_names = np.where(epochs.events[:, 2] == 1, "a", "b")
    assert closer_to_own_class(synthetic.get_data(), names, epochs.get_data(),
                               real_names) == 1.0


def test_auto_fits_per_condition_from_the_threshold_and_is_then_per_condition_exactly():
    epochs = two_class_epochs(MIN_PER_CONDITION)
    auto = augment(epochs, random_state=0, **TINY)
    forced = augment(epochs, per_condition=True, random_state=0, **TINY)
    np.testing.assert_array_equal(auto.get_data(), forced.get_data())
    below = EpochsSynthesizer(generator=DualDivergenceGenerator(**TINY)).fit(
        epochs[np.r_[0:MIN_PER_CONDITION, MIN_PER_CONDITION:2 * MIN_PER_CONDITION - 1]])
    assert list(below.generators_) == ["__all__"]


def test_a_shared_space_synthesizer_reads_back_and_samples_the_same(tmp_path):
    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(**TINY),
                                    random_state=0).fit(two_class_epochs(5))
    synthesizer.save(tmp_path / "model.pt")
    from mne_dualdiv import read_epochs_synthesizer

    loaded = read_epochs_synthesizer(tmp_path / "model.pt")
    assert not loaded.per_condition_
    np.testing.assert_array_equal(loaded.sample(6, random_state=3).get_data(),
                                  synthesizer.sample(6, random_state=3).get_data())


def test_bad_per_condition_and_too_small_conditions_are_refused():
    epochs = two_class_epochs(5)
    with pytest.raises(ValueError, match="'per_condition' parameter.*True, False and 'auto'"):
        EpochsSynthesizer(per_condition="maybe").fit(epochs)
    one_b = epochs[np.r_[0:5, 5]]
    with pytest.raises(ValueError, match=r"every condition needs at least 2.*\{'b': 1\}"):
        EpochsSynthesizer(generator=DualDivergenceGenerator(**TINY)).fit(one_b)
