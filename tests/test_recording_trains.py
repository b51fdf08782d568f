"""Firing statistics of real clusters: repeated detections joined, amplitude spread unbiased."""

import numpy as np
import pytest

from mne_dualdiv.adapters.recording.trains import (COINCIDENCE_S, cluster_firing,
                                                   coincident, join_locked)

FS = 30000.0


def poisson_frames(rng, rate, duration, refractory=0.003):
    gaps = refractory + rng.exponential(1 / rate, int(rate * duration * 2))
    times = np.cumsum(gaps)
    return np.round(times[times < duration] * FS).astype(np.int64)


def test_coincident_marks_frames_within_tolerance():
    frames = np.array([100, 200, 300])
    assert coincident(frames, np.array([95, 290]), 10).tolist() == [True, False, True]
    assert coincident(frames, np.array([205]), 10).tolist() == [False, True, False]
    assert not coincident(frames, np.array([], dtype=np.int64), 10).any()


def test_a_unit_detected_twice_is_one_unit_with_its_own_rate():
    rng = np.random.default_rng(0)
    main = poisson_frames(rng, 10.0, 60.0)
    other = poisson_frames(rng, 12.0, 60.0)
    # 80 % of the main unit's spikes are detected again 6 frames (0.2 ms) later elsewhere.
    echo = main[rng.random(len(main)) < 0.8] + 6
    frames = np.concatenate([main, other, echo])
    firing = np.repeat([0, 1, 2], [len(main), len(other), len(echo)])
    amplitudes = np.repeat([120.0, 80.0, 40.0], [len(main), len(other), len(echo)])
    joined, kept, _ = join_locked(frames, firing, [0, 1, 2], amplitudes, FS)
    assert kept == [0, 1]
    assert (joined[firing == 2] == -2).all()  # every echo is a repeat of a counted spike
    assert (joined[firing < 2] == firing[firing < 2]).all()
    stats, _ = cluster_firing(frames, firing, joined, kept, amplitudes,
                              np.full(len(frames), 1.0), 5.0, FS, 60.0)
    np.testing.assert_allclose(stats[:, 0], [len(main) / 60.0, len(other) / 60.0])


def test_a_joined_cluster_keeps_the_spikes_its_louder_part_missed():
    rng = np.random.default_rng(1)
    spikes = poisson_frames(rng, 20.0, 60.0)
    seen = rng.random(len(spikes))
    loud = spikes[seen < 0.7]  # the loud place sees 70 % of the spikes ...
    quiet = spikes[seen > 0.3] + 3  # ... the quiet one 70 %, 40 % of them both
    frames = np.concatenate([loud, quiet])
    firing = np.repeat([5, 7], [len(loud), len(quiet)])
    amplitudes = np.repeat([90.0, 50.0], [len(loud), len(quiet)])
    joined, kept, _ = join_locked(frames, firing, [5, 7], amplitudes, FS)
    assert kept == [5]
    assert (joined == 5).sum() == len(spikes)  # every spike once
    assert (joined == -2).sum() == ((seen < 0.7) & (seen > 0.3)).sum()


def test_independent_units_are_not_joined():
    rng = np.random.default_rng(2)
    a, b = poisson_frames(rng, 30.0, 60.0), poisson_frames(rng, 30.0, 60.0)
    frames = np.concatenate([a, b])
    firing = np.repeat([0, 1], [len(a), len(b)])
    chance = coincident(a, np.sort(b), int(round(COINCIDENCE_S * FS))).mean()
    assert chance < 0.05
    joined, kept, _ = join_locked(frames, firing, [0, 1], np.ones(len(frames)), FS)
    assert kept == [0, 1] and (joined == firing).all()


@pytest.mark.parametrize("own_cv", [0.0, 0.1, 0.2])
def test_amplitude_spread_is_the_units_own_not_the_background(own_cv):
    rng = np.random.default_rng(3)
    frames = poisson_frames(rng, 50.0, 60.0)
    n, sigma = len(frames), 8.0
    amplitudes = np.abs(100.0 * (1 + own_cv * rng.standard_normal(n))
                        + sigma * rng.standard_normal(n))
    labels = np.zeros(n, dtype=int)
    stats, _ = cluster_firing(frames, labels, labels, [0], amplitudes, np.full(n, sigma),
                              5.0, FS, 60.0)
    assert stats[0, 1] == pytest.approx(100.0, rel=0.02)
    assert stats[0, 2] == pytest.approx(own_cv, abs=0.02)
    measured = 1.4826 * np.median(np.abs(amplitudes - np.median(amplitudes))) / 100.0
    if own_cv == 0.0:
        assert measured > 0.06  # what the spread was taken to be before


@pytest.mark.parametrize("mean", [18.0, 22.0, 40.0])
def test_a_unit_near_the_threshold_keeps_its_amplitude_and_rate(mean):
    rng = np.random.default_rng(4)
    sd, threshold, n = 3.0, 16.5, 3000
    frames = poisson_frames(rng, 50.0, 60.0)[:n]
    amplitudes = mean + sd * rng.standard_normal(len(frames))
    seen = amplitudes > threshold
    labels = np.zeros(seen.sum(), dtype=int)
    stats, _ = cluster_firing(frames[seen], labels, labels, [0], amplitudes[seen],
                              np.full(seen.sum(), sd), threshold / sd, FS, 60.0)
    true_rate = len(frames) / 60.0
    assert stats[0, 0] == pytest.approx(true_rate, rel=0.08)
    assert stats[0, 1] == pytest.approx(mean, abs=0.8)
    if mean < 20:  # what was taken before: the detected spikes' rate and median
        assert seen.sum() / 60.0 < 0.9 * true_rate
        assert np.median(amplitudes[seen]) > mean + 1.0


def test_count_peaks_counts_what_spikeinterfaces_detector_finds():
    """The single-peak check of a template is SpikeInterface's own locally exclusive rule."""
    pytest.importorskip("numba")
    from spikeinterface.core import NumpyRecording

    from mne_dualdiv.adapters.recording import spikes

    rng = np.random.default_rng(5)
    locations = np.column_stack([np.zeros(6), 20.0 * np.arange(6)])  # 0-100 µm
    distances = np.linalg.norm(locations[:, None] - locations[None], axis=2)
    t = np.arange(120)
    counted, found = [], []
    for _ in range(60):
        image = np.zeros((6, 120))
        for _ in range(rng.integers(1, 5)):  # dips at random rows, times, depths and widths
            row, time, width = rng.integers(6), rng.integers(10, 110), rng.uniform(1, 12)
            image[row] -= rng.uniform(2, 20) * np.exp(-0.5 * ((t - time) / width) ** 2)
        traces = np.zeros((1000, 6), dtype=np.float32)
        traces[400:520] = image.T
        recording = NumpyRecording(traces, sampling_frequency=FS)
        recording.set_dummy_probe_from_locations(locations)
        peaks = spikes.find_peaks(recording, np.ones(6), 5.0)
        counted.append(spikes.count_peaks(image.astype(np.float32), 5.0, distances, 30))
        found.append(len(peaks))
    assert counted == found
    assert len(set(found)) > 2  # the images were not all alike


def test_row_distances_are_those_where_a_unit_lands():
    from mne_dualdiv.adapters.recording.spikes import row_distances

    locations = np.column_stack([[0.0, 32.0, 0.0, 32.0], [0.0, 0.0, 20.0, 20.0]])
    neighbours = np.array([[0, 1, 2], [1, 0, 3], [2, 3, -1], [3, 2, -1]])
    distances = row_distances(locations, neighbours)
    assert distances.shape == (4, 3, 3)
    np.testing.assert_allclose(distances[0], [[0, 32, 20], [32, 0, np.hypot(32, 20)],
                                              [20, np.hypot(32, 20), 0]])
    assert np.isinf(distances[2, 2]).all() and np.isinf(distances[2, :, 2]).all()
    assert np.isfinite(distances[2, :2, :2]).all()


def test_a_unit_beside_louder_units_keeps_the_share_a_detector_sees():
    from mne_dualdiv.adapters.recording.spikes import EXCLUDE_S, collision_share

    locations = np.column_stack([np.zeros(4), [0.0, 20.0, 200.0, 400.0]])
    neighbours = np.array([[0, 1, -1], [1, 0, 2], [2, 1, 3], [3, 2, -1]])
    templates = np.zeros((3, 3, 10))
    templates[0, 0, 5], templates[0, 1, 5] = -200.0, -150.0  # loud, at channel 0 (and 1)
    templates[1, 0, 5] = -40.0  # quiet, at channel 1: 20 µm from the loud one
    templates[2, 0, 5] = -40.0  # quiet, at channel 3: far from both
    rates = np.array([20.0, 10.0, 10.0])
    share = collision_share(templates, [0, 1, 3], neighbours, locations, rates,
                            np.array([200.0, 40.0, 40.0]))
    np.testing.assert_allclose(share, [1.0, np.exp(-20.0 * 2 * EXCLUDE_S), 1.0])


def test_pieces_of_a_unit_at_the_threshold_are_joined_and_loud_look_alikes_are_not():
    from mne_dualdiv.adapters.recording.clustering import (NEAR_THRESHOLD_SAME_UNIT, SAME_UNIT,
                                                           _merge_duplicates)
    from mne_dualdiv.adapters.recording.spikes import band_filter, best_similarity

    rng = np.random.default_rng(0)
    fs, t = 30000.0, np.arange(60) - 20
    spike = -np.exp(-0.5 * (t / 3.0) ** 2) + 0.3 * np.exp(-0.5 * ((t - 10) / 6.0) ** 2)
    other = -np.exp(-0.5 * ((t - 4) / 3.0) ** 2)
    # Two clusters' spikes on the same 3 channels, mixed so their means are about 0.9 alike.
    a = np.stack([spike, 0.6 * spike, 0.2 * spike])
    b = 0.75 * a + 0.5 * np.stack([other, 0.3 * other, 0.8 * other])
    snippets = np.concatenate([a + 0.01 * rng.standard_normal((40, 3, 60)),
                               b + 0.01 * rng.standard_normal((40, 3, 60))]).astype(np.float32)
    labels = np.repeat([0, 1], 40)
    rows = np.tile([0, 1, 2], (80, 1))
    means = band_filter(np.stack([a, b]).astype(np.float32), fs)
    alike = best_similarity(means, means)[0, 1]
    assert NEAR_THRESHOLD_SAME_UNIT <= alike < SAME_UNIT
    merged, kept = _merge_duplicates(snippets, labels, [0, 1], fs, rows, 3, near=[True, True])
    assert kept == [0] and np.all(merged == 0)
    for near in ([True, False], [False, False], None):  # loud look-alikes stay distinct units
        merged, kept = _merge_duplicates(snippets, labels, [0, 1], fs, rows, 3, near=near)
        assert kept == [0, 1]


@pytest.mark.parametrize("dips", [True, False])
def test_a_late_dip_joins_its_unit_only_where_the_unit_dips(dips):
    # 13 % of a loud unit's spikes cross again 1.8 ms later (beyond the detector's exclusion):
    # counted as a unit, they would be drawn as one of their own.
    rng = np.random.default_rng(3)
    main = poisson_frames(rng, 15.0, 60.0)
    late = main[rng.random(len(main)) < 0.13] + int(0.0018 * FS)
    frames = np.concatenate([main, late])
    firing = np.repeat([0, 1], [len(main), len(late)])
    amplitudes = np.repeat([200.0, 20.0], [len(main), len(late)])
    asked = []

    def dip(unit, follower, lag):
        asked.append((unit, follower, lag))
        return dips

    joined, kept, repeat_of = join_locked(frames, firing, [0, 1], amplitudes, FS, dip)
    assert [(u, f) for u, f, _ in asked] == [(0, 1)]
    assert abs(asked[0][2] - 0.0018 * FS) <= 1
    if dips:
        assert kept == [0] and (joined[firing == 1] == -2).all()
        assert (repeat_of[firing == 1] == 0).all()
    else:
        assert kept == [0, 1] and (joined == firing).all()


def test_late_dip_reads_the_units_template_beyond_the_exclusion_within_the_radius():
    from mne_dualdiv.adapters.recording.trains import late_dip

    nbefore, n_times = 40, 120
    band = np.zeros((2, 3, n_times))
    band[0, 0, nbefore] = -200.0  # the unit's trough on its channel (row 0)
    band[0, 1:, nbefore + 54] = -15.0  # its late dip, 1.8 ms later, 20 and 200 µm away
    neighbours = np.array([[0, 1, 2], [1, 0, 2], [2, 1, 0]])
    locations = np.array([[0.0, 0.0], [0.0, 20.0], [0.0, 200.0]])
    homes, depths = [0, 1], [200.0, 20.0]
    args = (band, homes, depths, neighbours, locations, nbefore, FS)
    assert late_dip(*args, 0, 1, 54)
    assert not late_dip(*args, 0, 1, 20)  # within the exclusion: one peak to a detector
    assert not late_dip(band, homes, [200.0, 40.0], *args[3:], 0, 1, 54)  # too shallow
    assert not late_dip(band, [0, 2], depths, *args[3:], 0, 1, 54)  # beyond the radius
