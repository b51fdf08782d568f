"""Specifications of the simulated benchmark recording (datasets.simulate_recording)."""

import subprocess
import sys

import numpy as np
import pytest
from scipy import signal

pytest.importorskip("spikeinterface")
pytest.importorskip("probeinterface")

import spikeinterface.core as si  # noqa: E402
import spikeinterface.preprocessing as spre  # noqa: E402

from mne_dualdiv.datasets import simulate_recording  # noqa: E402
from mne_dualdiv.datasets._recordings import BLOCK_FRAMES  # noqa: E402

FS = 30000.0


def band_traces(recording):
    """The 300-6000 Hz band as SpikeInterface filters it."""
    return spre.bandpass_filter(recording, freq_min=300.0, freq_max=6000.0,
                                dtype="float32").get_traces()


def band_noise_levels(recording):
    band = spre.bandpass_filter(recording, freq_min=300.0, freq_max=6000.0, dtype="float32")
    return np.asarray(si.get_noise_levels(band, return_in_uV=False, progress_bar=False,
                                          random_slices_kwargs=dict(seed=0)))


def nearest_distinct_similarity(templates, locations, k=12, max_lag=3):
    """Each unit's best lag-tolerant cosine similarity to any other unit's template.

    Templates compared on each unit's ``k`` channels nearest its peak channel, ordered by
    distance (the measure of the unit-privacy audit), shifted by up to ``max_lag`` samples.
    """
    templates, locations = np.asarray(templates, dtype=float), np.asarray(locations, dtype=float)
    distances = np.linalg.norm(locations[:, None] - locations[None], axis=2)
    peaks = np.abs(templates).max(axis=1).argmax(axis=1)
    images = np.stack([
        templates[u][:, np.lexsort((locations[:, 0], locations[:, 1], distances[peak]))[:k]].T
        for u, peak in enumerate(peaks)])
    flat = images.reshape(len(images), -1)
    flat = flat / np.linalg.norm(flat, axis=1, keepdims=True)
    best = np.full((len(images), len(images)), -np.inf)
    for lag in range(-max_lag, max_lag + 1):
        shifted = np.zeros_like(images)
        if lag >= 0:
            shifted[:, :, lag:] = images[:, :, :images.shape[2] - lag]
        else:
            shifted[:, :, :lag] = images[:, :, -lag:]
        moved = shifted.reshape(len(images), -1)
        moved = moved / np.linalg.norm(moved, axis=1, keepdims=True)
        best = np.maximum(best, moved @ flat.T)
    np.fill_diagonal(best, -np.inf)
    return best.max(axis=1)


def isis_by_unit(sorting):
    return {unit: np.diff(sorting.get_unit_spike_train(unit)) for unit in sorting.unit_ids}


@pytest.fixture(scope="module")
def short_recording():
    return simulate_recording(num_channels=32, num_units=10, duration=4.0, seed=0)


@pytest.fixture(scope="module")
def one_unit_recording():
    """Mostly noise: one unit, so that long spike-free stretches exist."""
    return simulate_recording(num_channels=32, num_units=1, duration=20.0, seed=1)


@pytest.fixture(scope="module")
def long_sorting():
    # The noise and the spikes are lazy: a minute of ground truth costs no traces.
    return simulate_recording(num_channels=32, num_units=10, duration=120.0, seed=2)[1]


def test_recording_shapes_units_and_metadata(short_recording):
    recording, sorting = short_recording
    assert recording.get_num_channels() == 32
    assert recording.get_num_samples() == 4 * 30000
    assert recording.sampling_frequency == FS
    assert recording.get_dtype() == np.float32
    assert recording.get_traces(start_frame=0, end_frame=100).shape == (100, 32)
    np.testing.assert_array_equal(recording.get_channel_gains(), 1.0)
    np.testing.assert_array_equal(recording.get_channel_offsets(), 0.0)
    assert recording.has_probe()
    assert recording.get_annotation("is_filtered") is False
    assert sorting.get_num_units() == 10
    assert sorting.sampling_frequency == FS
    for key in ("bursting", "cell_type", "firing_rate_hz", "refractory_period_ms",
                "peak_amplitude_uv", "gt_unit_locations", "main_channel_id"):
        assert key in sorting.get_property_keys()
    assert set(sorting.get_property("cell_type")) == {"narrow", "broad"}
    assert sorting.get_property("bursting").sum() == 3  # 30 % of 10 units
    # Every spike's whole waveform lies inside the recording (1 ms before, 3 ms after).
    frames = sorting.to_spike_vector()["sample_index"]
    assert frames.min() >= 30 and frames.max() < 4 * 30000 - 90


def test_linear_probe_is_two_columns_20_um_apart(short_recording):
    locations = short_recording[0].get_channel_locations()
    assert locations.shape == (32, 2)
    np.testing.assert_array_equal(np.unique(locations[:, 0]), [0.0, 20.0])
    np.testing.assert_array_equal(np.unique(locations[:, 1]), 20.0 * np.arange(16))


def test_neuropixels_probe_is_the_np1_staggered_geometry():
    recording, _ = simulate_recording(num_channels=384, num_units=3, duration=0.2,
                                      probe="neuropixels")
    locations = recording.get_channel_locations()
    assert recording.get_num_channels() == 384
    np.testing.assert_array_equal(np.unique(locations[:, 0]), [0.0, 16.0, 32.0, 48.0])
    np.testing.assert_array_equal(locations[:4], [[16, 0], [48, 0], [0, 20], [32, 20]])
    np.testing.assert_array_equal(np.unique(locations[:, 1]), 20.0 * np.arange(192))
    probe = recording.get_probe()
    assert set(probe.contact_shapes) == {"square"}
    assert probe.contact_shape_params[0]["width"] == 12.0
    sliced, _ = simulate_recording(num_channels=48, num_units=3, duration=0.2,
                                   probe="neuropixels")
    np.testing.assert_array_equal(sliced.get_channel_locations(), locations[:48])


def test_same_seed_same_recording_and_another_seed_differs(short_recording):
    recording, sorting = short_recording
    again, sorting_again = simulate_recording(num_channels=32, num_units=10, duration=4.0, seed=0)
    other, sorting_other = simulate_recording(num_channels=32, num_units=10, duration=4.0, seed=7)
    window = dict(start_frame=40000, end_frame=50000)
    np.testing.assert_array_equal(again.get_traces(**window), recording.get_traces(**window))
    np.testing.assert_array_equal(sorting_again.to_spike_vector(), sorting.to_spike_vector())
    difference = other.get_traces(**window) - recording.get_traces(**window)
    assert np.sqrt(np.mean(difference ** 2)) > 5.0  # two independent noises of ~5 µV and more
    assert sorting_other.count_total_num_spikes() != sorting.count_total_num_spikes()


def test_overlapping_get_traces_agree_exactly(short_recording):
    recording = short_recording[0]
    # Ranges across a noise block boundary, read in different orders and channel subsets.
    wide = recording.get_traces(start_frame=BLOCK_FRAMES - 5000, end_frame=BLOCK_FRAMES + 9000)
    narrow = recording.get_traces(start_frame=BLOCK_FRAMES - 10, end_frame=BLOCK_FRAMES + 10)
    np.testing.assert_array_equal(narrow, wide[4990:5010])
    first = recording.get_traces(start_frame=0, end_frame=BLOCK_FRAMES + 9000)
    np.testing.assert_array_equal(first[BLOCK_FRAMES - 5000:], wide)
    subset = recording.get_traces(start_frame=BLOCK_FRAMES - 5000, end_frame=BLOCK_FRAMES + 9000,
                                  channel_ids=recording.channel_ids[[3, 17]])
    np.testing.assert_array_equal(subset, wide[:, [3, 17]])


def test_recording_rebuilds_from_its_dict(short_recording):
    # What dump/load and SpikeInterface's worker processes do.
    recording = short_recording[0]
    rebuilt = si.load(recording.to_dict())
    window = dict(start_frame=70000, end_frame=80000)
    np.testing.assert_array_equal(rebuilt.get_traces(**window), recording.get_traces(**window))
    np.testing.assert_array_equal(rebuilt.get_channel_locations(),
                                  recording.get_channel_locations())


def test_noise_spectrum_falls_as_one_over_f_on_spike_free_stretches(one_unit_recording):
    recording, sorting = one_unit_recording
    traces = recording.get_traces()
    frames = np.sort(sorting.to_spike_vector()["sample_index"])
    margin, length = 150, 3000  # 5 ms around each spike; 0.1 s stretches (10 Hz resolution)
    edges = np.concatenate([[0], frames, [len(traces)]])
    stretches = [traces[piece:piece + length] for start, stop in zip(edges[:-1], edges[1:])
                 for piece in range(start + margin, stop - margin - length + 1, length)]
    assert len(stretches) >= 10
    freqs, power = signal.periodogram(np.stack(stretches), fs=FS, window="hann", axis=1)
    power = power.mean(axis=(0, 2))
    low = (freqs >= 10) & (freqs <= 300)
    slope = np.polyfit(np.log10(freqs[low]), np.log10(power[low]), 1)[0]
    assert slope < -0.6  # measured -1.0; white noise gives 0
    band = (freqs >= 1000) & (freqs <= 5000)
    assert np.polyfit(np.log10(freqs[band]), np.log10(power[band]), 1)[0] > slope


def test_band_noise_level_matches_the_argument(short_recording):
    levels = band_noise_levels(short_recording[0])
    assert np.median(levels) == pytest.approx(5.0, rel=0.2)
    # The independent noise's level varies ±30 % between channels.
    assert levels.max() / levels.min() > 1.2
    quiet, _ = simulate_recording(num_channels=16, num_units=2, duration=2.0, noise_level=2.0,
                                  seed=3)
    assert np.median(band_noise_levels(quiet)) == pytest.approx(2.0, rel=0.2)


def test_noise_correlation_decays_with_distance_above_a_common_mode_floor(one_unit_recording):
    recording = one_unit_recording[0].frame_slice(0, 150000)
    correlation = np.corrcoef(band_traces(recording).T)
    locations = recording.get_channel_locations()
    distance = np.linalg.norm(locations[:, None] - locations[None], axis=2)
    upper = np.triu_indices(len(locations), 1)
    by_distance = [correlation[upper][(distance[upper] > low) & (distance[upper] <= high)].mean()
                   for low, high in ((0, 25), (25, 50), (50, 100), (100, 200), (200, 400))]
    assert np.all(np.diff(by_distance) < 0.02)  # measured 0.42, 0.41, 0.36, 0.25, 0.15
    assert by_distance[0] - by_distance[-1] > 0.15
    assert by_distance[-1] > 0.05  # the common mode: distant channels still correlate


def test_templates_differ_more_than_spikeinterface_defaults():
    ours, theirs = [], []
    for seed in range(4):
        recording, _ = simulate_recording(num_channels=32, num_units=10, duration=0.5, seed=seed)
        ours.append(np.median(nearest_distinct_similarity(recording.templates,
                                                          recording.get_channel_locations())))
        default, _ = si.generate_ground_truth_recording(durations=[0.5], num_channels=32,
                                                        num_units=10, sampling_frequency=FS,
                                                        seed=seed)
        theirs.append(np.median(nearest_distinct_similarity(default.templates,
                                                            default.get_channel_locations())))
    # Measured: ours 0.80-0.87, SpikeInterface's 0.94-0.95.
    assert max(ours) < 0.9
    assert np.mean(ours) < np.mean(theirs) - 0.05


def test_templates_are_negative_spikes_of_40_to_250_uv_spread_over_depth(short_recording):
    recording, sorting = short_recording
    templates = recording.templates
    troughs = -templates.min(axis=(1, 2))
    np.testing.assert_allclose(troughs, sorting.get_property("peak_amplitude_uv"), rtol=1e-4)
    assert troughs.min() >= 40 and troughs.max() <= 250
    assert np.all(templates.max(axis=(1, 2)) < troughs)
    depths = sorting.get_property("gt_unit_locations")[:, 1]
    assert np.ptp(depths) > 0.6 * np.ptp(recording.get_channel_locations()[:, 1])
    # Spikes start and end at zero inside the window.
    assert np.abs(templates[:, [0, -1]]).max() < 1e-3 * troughs.min()


def test_bursting_units_have_more_short_intervals(long_sorting):
    short_share = {unit: np.mean(isi < 0.010 * FS)
                   for unit, isi in isis_by_unit(long_sorting).items()}
    bursting = dict(zip(long_sorting.unit_ids, long_sorting.get_property("bursting")))
    bursting_shares = [share for unit, share in short_share.items() if bursting[unit]]
    other_shares = [share for unit, share in short_share.items() if not bursting[unit]]
    assert min(bursting_shares) > max(other_shares)
    assert min(bursting_shares) > 0.2


def test_no_interval_below_the_refractory_period(long_sorting):
    refractory_ms = dict(zip(long_sorting.unit_ids,
                             long_sorting.get_property("refractory_period_ms")))
    for unit, isi in isis_by_unit(long_sorting).items():
        assert 1.5 <= refractory_ms[unit] <= 2.5
        assert isi.min() >= refractory_ms[unit] * FS / 1000.0


def test_firing_rates_follow_their_targets(long_sorting):
    rates = long_sorting.get_property("firing_rate_hz")
    assert rates.min() >= 1.0 and rates.max() <= 30.0
    counts = np.array([len(long_sorting.get_unit_spike_train(u)) for u in long_sorting.unit_ids])
    np.testing.assert_allclose(counts / 120.0, rates, rtol=0.3)


def test_amplitudes_are_jittered_and_later_burst_spikes_smaller():
    # Two units, one of them bursting (30 % of 2), without noise: each spike's amplitude factor
    # is its trace at the trough over the template's trough.
    recording, sorting = simulate_recording(num_channels=8, num_units=2, duration=60.0,
                                            noise_level=0.0, seed=4)
    unit = int(np.flatnonzero(sorting.get_property("bursting"))[0])
    template = recording.templates[unit]
    channel = template.min(axis=0).argmin()
    frames = sorting.get_unit_spike_train(sorting.unit_ids[unit])
    others = sorting.get_unit_spike_train(sorting.unit_ids[1 - unit])
    after_other = np.clip(np.searchsorted(others, frames), 1, len(others) - 1)
    nearest_other = np.minimum(np.abs(others[after_other] - frames),
                               np.abs(others[after_other - 1] - frames))
    before = np.diff(frames, prepend=-10 ** 6)
    two_before = np.concatenate([[10 ** 6, 10 ** 6], frames[2:] - frames[:-2]])
    after = np.diff(frames, append=10 ** 9)
    clean = (nearest_other > 0.005 * FS) & (after > 0.004 * FS)
    first = clean & (before > 0.010 * FS)
    second = clean & (before <= 0.008 * FS) & (two_before - before > 0.010 * FS)
    traces = recording.get_traces(channel_ids=recording.channel_ids[[channel]])[:, 0]
    factors = traces[frames] / template[:, channel].min()
    assert first.sum() > 50 and second.sum() > 20
    assert factors[first].mean() == pytest.approx(1.0, abs=0.03)
    assert factors[first].std() == pytest.approx(0.1, abs=0.03)
    assert factors[second].mean() == pytest.approx(0.9, abs=0.04)


@pytest.mark.parametrize("drift", [False, True])
def test_drift_moves_units_along_depth(drift):
    recording, sorting = simulate_recording(num_channels=32, num_units=1, duration=10.0,
                                            noise_level=0.0, drift=drift, seed=5)
    frames = sorting.get_unit_spike_train(sorting.unit_ids[0])
    frames = frames[np.diff(frames, prepend=-10 ** 6) > 0.010 * FS]  # no overlap from a burst
    traces = recording.get_traces()
    weights = traces[frames] ** 2
    centroid = weights @ recording.get_channel_locations()[:, 1] / weights.sum(axis=1)
    if not drift:
        assert np.ptp(centroid) < 0.01
        assert recording.get_annotation("gt_displacement_um") is None
        return
    displacement = np.asarray(recording.get_annotation("gt_displacement_um"))
    assert 20.0 <= np.ptp(displacement) <= 40.0
    at_spikes = displacement[(frames / FS * 5.0).astype(int)]
    slope = np.polyfit(at_spikes, centroid, 1)[0]
    assert 0.5 < slope < 1.3
    assert np.corrcoef(at_spikes, centroid)[0, 1] > 0.95


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(duration=-1.0), ValueError, "duration"),
    (dict(duration=0.001), ValueError, "duration"),
    (dict(probe="tetrode"), ValueError, "'probe'"),
    (dict(num_units=0), ValueError, "num_units"),
    (dict(num_units=2.5), TypeError, "num_units"),
    (dict(num_channels=0), ValueError, "num_channels"),
    (dict(num_channels=385, probe="neuropixels"), ValueError, "num_channels"),
    (dict(noise_level=-1.0), ValueError, "noise_level"),
    (dict(sampling_frequency=1000.0), ValueError, "sampling_frequency"),
    (dict(drift="yes"), TypeError, "drift"),
    (dict(seed=-1), ValueError, "seed"),
])
def test_bad_arguments_raise_errors_naming_them(kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate_recording(**kwargs)


def test_datasets_import_without_spikeinterface():
    code = ("import sys\n"
            "sys.modules['spikeinterface'] = sys.modules['probeinterface'] = None\n"
            "from mne_dualdiv.datasets import simulate_recording\n"
            "try:\n    simulate_recording(duration=1.0)\n"
            "except ImportError as err:\n    print(err)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert "mne_dualdiv[ephys]" in result.stdout
