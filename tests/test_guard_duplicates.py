"""The near-copy guard on a training set that repeats its epochs with tiny noise (issue 18.7).

Before near-duplicates were grouped, repeating each of 40 Gaussian epochs with noise of 0.1 %
of its standard deviation took the threshold from 0.81 to its floor 0.50, and the guard
flagged 22 % of near-copies of training epochs (100 % without the repeats); on the 159 'left'
epochs of FingerMovements, 0.77 to 0.50 and 18 %.
"""

import numpy as np
import pytest

from benchmarks.make_engine_regression import SMALL, gaussian_images
from mne_dualdiv import DualDivergenceGenerator, read_generator
from mne_dualdiv.engine.guard import near_copies

pytestmark = pytest.mark.usefixtures("single_torch_thread")

#: Noise of the repeats and of the near-copies, in standard deviations of each epoch.
TINY_NOISE = 1e-3


def with_noise(X, noise, seed):
    """``X`` plus Gaussian noise of ``noise`` times each epoch's standard deviation."""
    std = X.reshape(len(X), -1).std(1)[:, None, None]
    return X + noise * std * np.random.default_rng(seed).standard_normal(X.shape)


@pytest.fixture(scope="module", params=[0, 1])
def fits(request):
    seed = request.param
    X = gaussian_images(40, seed)
    repeated = np.concatenate([X, with_noise(X, TINY_NOISE, seed)])
    plain = DualDivergenceGenerator(**SMALL, random_state=seed).fit(X)
    return plain, DualDivergenceGenerator(**SMALL, random_state=seed).fit(repeated), repeated


def test_data_without_repeats_has_no_groups(fits):
    plain, _, _ = fits
    np.testing.assert_array_equal(plain.near_duplicate_groups_,
                                  np.arange(len(plain.train_indices_)))


def test_every_repeat_shares_the_group_of_its_epoch(fits):
    _, generator, _ = fits
    rows = generator.train_indices_
    groups = dict(zip(rows, generator.near_duplicate_groups_))
    pairs = [(row, row + 40) for row in rows if row < 40 and row + 40 in groups]
    assert len(pairs) >= 10
    assert all(groups[a] == groups[b] for a, b in pairs)
    assert len(set(groups.values())) == len(rows) - len(pairs)


def test_threshold_with_repeated_epochs_is_the_threshold_without_them(fits):
    plain, generator, _ = fits
    # Measured: 0.805 -> 0.800 and 0.826 -> 0.817 (seeds 0 and 1); a different split of the
    # epochs moves it by up to 0.04 (six fits of 40 and 80 epochs).
    assert abs(generator.near_copy_threshold_ - plain.near_copy_threshold_) <= 0.05


def test_guard_flags_near_copies_of_repeated_epochs(fits):
    _, generator, repeated = fits
    train = repeated[generator.train_indices_]
    copies = with_noise(train, TINY_NOISE, seed=1000)
    scaler = generator.scaler_
    flagged = near_copies(scaler.transform(train), scaler.transform(copies),
                          generator.near_copy_threshold_, generator.near_duplicate_groups_)
    assert flagged.mean() >= 0.9  # measured: 1.0


def test_samples_are_no_near_copy_of_any_repeated_epoch(fits):
    _, generator, repeated = fits
    samples = generator.sample(10, random_state=0)
    scaler = generator.scaler_
    train = scaler.transform(repeated[generator.train_indices_])
    assert not near_copies(train, scaler.transform(samples), generator.near_copy_threshold_,
                           generator.near_duplicate_groups_).any()


def test_read_generator_rebuilds_the_groups(fits, tmp_path):
    _, generator, _ = fits
    generator.save(tmp_path / "generator.pt")
    loaded = read_generator(tmp_path / "generator.pt")
    np.testing.assert_array_equal(loaded.near_duplicate_groups_, generator.near_duplicate_groups_)
    np.testing.assert_array_equal(loaded.sample(4, random_state=1),
                                  generator.sample(4, random_state=1))


def test_a_near_copy_of_a_repeated_epoch_is_flagged_even_at_the_floor_threshold(fits):
    # Against single images a near-copy of a repeated epoch is about as close to the repeat as
    # to the epoch (ratio near 0.7): at the floor 0.5, 22 % were flagged. Against groups, all.
    _, generator, repeated = fits
    scaler = generator.scaler_
    train = scaler.transform(repeated[generator.train_indices_])
    copies = scaler.transform(with_noise(repeated[generator.train_indices_], TINY_NOISE, 7))
    assert near_copies(train, copies, 0.5, generator.near_duplicate_groups_).all()
    assert near_copies(train, copies, 0.5).mean() < 0.5
