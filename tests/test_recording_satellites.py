"""A unit seen at two places of the probe: its second place learned, and drawn again."""

import numpy as np
import pytest

from mne_dualdiv.adapters.recording.satellites import SNAP_UM, measure
from mne_dualdiv.adapters.recording.trains import join_locked

FS = 30000.0
pytestmark = pytest.mark.usefixtures("single_torch_thread")


def poisson_frames(rng, rate, duration, refractory=0.003):
    gaps = refractory + rng.exponential(1 / rate, int(rate * duration * 2))
    times = np.cumsum(gaps)
    return np.round(times[times < duration] * FS).astype(np.int64)


def test_the_second_place_is_where_when_and_how_large_the_repeats_are():
    rng = np.random.default_rng(6)
    locations = np.column_stack([np.zeros(10), 20.0 * np.arange(10)])  # a line, 20 µm apart
    main, other = poisson_frames(rng, 10.0, 60.0), poisson_frames(rng, 8.0, 60.0)
    echo = main[rng.random(len(main)) < 0.8] + 8  # 80 % seen again 80 µm away, 0.27 ms later
    frames = np.concatenate([main, other, echo])
    channels = np.repeat([3, 0, 7], [len(main), len(other), len(echo)])
    amplitudes = np.concatenate([np.full(len(main), 120.0), np.full(len(other), 90.0),
                                 50.0 + 2.0 * rng.standard_normal(len(echo))])
    firing = np.repeat([0, 1, 2], [len(main), len(other), len(echo)])
    joined, kept, repeat_of = join_locked(frames, firing, [0, 1, 2], amplitudes, FS)
    assert kept == [0, 1] and set(repeat_of[firing == 2]) == {0}
    second = measure(frames, channels, amplitudes, np.full(len(frames), 5.0), joined, repeat_of,
                     kept, locations, 5.0, FS)
    assert second.shape == (2, 4)
    np.testing.assert_allclose(second[0], [50.0, 0.0, 80.0, 8 / FS], atol=0.5, rtol=0.02)
    np.testing.assert_array_equal(second[1], 0.0)  # unit 1 is seen at one place only


def test_repeats_cut_by_the_threshold_give_the_places_own_amplitude():
    rng = np.random.default_rng(7)
    locations = np.column_stack([np.zeros(10), 20.0 * np.arange(10)])
    main = poisson_frames(rng, 20.0, 60.0)
    true = 24.0 + 5.0 * rng.standard_normal(len(main))  # about the 25 µV threshold
    seen = true > 25.0
    frames = np.concatenate([main, main[seen] + 6])
    channels = np.repeat([2, 8], [len(main), seen.sum()])
    amplitudes = np.concatenate([np.full(len(main), 150.0), true[seen]])
    firing = np.repeat([0, 1], [len(main), seen.sum()])
    joined, kept, repeat_of = join_locked(frames, firing, [0, 1], amplitudes, FS)
    second = measure(frames, channels, amplitudes, np.full(len(frames), 5.0), joined, repeat_of,
                     kept, locations, 5.0, FS)
    assert second[0, 0] == pytest.approx(24.0, abs=1.0)  # not the median of the seen: ~29
    assert np.median(true[seen]) > 27.0


def test_a_unit_of_one_spike_and_its_repeat_is_measured_without_error():
    locations = np.column_stack([np.zeros(10), 20.0 * np.arange(10)])
    frames, channels = np.array([1000, 1005]), np.array([2, 7])
    amplitudes, firing = np.array([150.0, 60.0]), np.array([0, 1])
    joined, kept, repeat_of = join_locked(frames, firing, [0, 1], amplitudes, FS)
    second = measure(frames, channels, amplitudes, np.full(2, 5.0), joined, repeat_of, kept,
                     locations, 5.0, FS)
    np.testing.assert_allclose(second[0], [60.0, 0.0, 100.0, 5 / FS])


# ------------------------------------------------------------------ drawn into a recording
@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A synthesizer file fitted on a simulated recording (each test reads its own copy)."""
    from mne_dualdiv.adapters.recording import RecordingSynthesizer
    from mne_dualdiv.datasets import simulate_recording

    simulated, _ = simulate_recording(num_channels=32, num_units=8, duration=12.0, seed=2)
    path = tmp_path_factory.mktemp("satellites") / "fitted.pt"
    RecordingSynthesizer(fit_duration=12.0, noise_duration=3.0, max_snippets=500,
                         random_state=0).fit(simulated).save(path)
    return path


def with_second_places(path, satellites, folder):
    """The fitted synthesizer with ``satellites`` (a function of it), and a recording it makes."""
    from mne_dualdiv.adapters.recording import read_recording_synthesizer

    synthesizer = read_recording_synthesizer(path)
    synthesizer.units_.satellites[:] = satellites(synthesizer)
    # Written anew: a read synthesizer samples from the file it was read from.
    return synthesizer, synthesizer.sample(12.0, random_state=1, file_path=folder / "new.pt")


@pytest.fixture(scope="module")
def two_places(fitted, tmp_path_factory):
    """Every cluster given a second place 80 µm deeper, at twice the threshold, 0.3 ms later."""
    return with_second_places(fitted, lambda s: [2.0 * s.threshold_, 0.0, 80.0, 3e-4],
                              tmp_path_factory.mktemp("two"))


def test_without_second_places_every_unit_has_one_footprint(fitted, tmp_path):
    _, synthetic = with_second_places(fitted, lambda s: 0.0, tmp_path)
    units = synthetic.units
    np.testing.assert_array_equal(units.parents, np.arange(units.n_units))


def test_second_footprints_lie_at_the_offset_and_fire_with_their_unit(two_places):
    synthesizer, synthetic = two_places
    units = synthetic.units
    n = units.n_units
    assert len(units.parents) >= n + n // 2  # most units got their second place
    locations = synthetic.get_channel_locations()
    for j in range(n, len(units.parents)):
        parent = units.parents[j]
        offset = locations[units.channels[j]] - locations[units.channels[parent]]
        assert min(np.linalg.norm(offset - [0, 80]), np.linalg.norm(offset + [0, 80])) <= SNAP_UM
        lag = units.frames[0][units.labels[0] == j] - 9  # 3e-4 s = 9 frames
        parent_frames = units.frames[0][units.labels[0] == parent]
        assert set(lag.tolist()) <= set(parent_frames.tolist())
        assert len(lag) >= len(parent_frames) - 2  # all but spikes at the very end


def test_the_ground_truth_holds_the_units_and_their_spikes_only(two_places):
    _, synthetic = two_places
    units, truth = synthetic.units, synthetic.get_ground_truth()
    assert list(truth.unit_ids) == list(range(units.n_units))
    for unit in truth.unit_ids:
        np.testing.assert_array_equal(truth.get_unit_spike_train(unit),
                                      units.frames[0][units.labels[0] == unit])
    np.testing.assert_array_equal(truth.get_property("peak_channel"),
                                  units.channels[:units.n_units])


def test_a_detector_finds_the_second_place_of_most_spikes(two_places):
    from mne_dualdiv.adapters.recording import spikes
    from mne_dualdiv.adapters.recording.trains import coincident

    synthesizer, synthetic = two_places
    units = synthetic.units
    band = spikes.spike_band(synthetic)
    peaks = spikes.find_peaks(band, spikes.noise_levels(band))
    locations = synthetic.get_channel_locations()
    for j in range(units.n_units, len(units.parents)):
        near = np.linalg.norm(locations[peaks["channel_index"]] - locations[units.channels[j]],
                              axis=1) <= 20
        found = coincident(units.frames[0][units.labels[0] == j],
                           np.sort(peaks["sample_index"][near]), int(0.0005 * FS))
        assert found.mean() > 0.6, (j, found.mean())


def test_second_places_survive_save_and_load(two_places, tmp_path):
    from mne_dualdiv.adapters.recording import read_recording_synthesizer

    synthesizer, _ = two_places
    synthesizer.save(tmp_path / "two.pt")
    loaded = read_recording_synthesizer(tmp_path / "two.pt")
    np.testing.assert_array_equal(loaded.units_.satellites, synthesizer.units_.satellites)
