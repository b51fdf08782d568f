"""Specifications of RecordingSynthesizer v2 and the lazy SyntheticRecording it makes.

What is kept of the real recording (channels, probe, gains, offsets, properties, annotations),
how the synthetic one is made (lazy, seeded, re-created from its kwargs alone), what it looks
like to SpikeInterface's peak detector (noise level, peak rate, amplitudes, noise spectrum and
spatial correlation), its ground truth, the unit guard and the privacy report, the inputs it
refuses. Small recordings (16-32 channels, 10-12 s), each fitted once per module.
"""

import contextlib
import copy
import gc
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import scipy.signal

sc = pytest.importorskip("spikeinterface.core")
spre = pytest.importorskip("spikeinterface.preprocessing")
pytest.importorskip("spikeinterface.sortingcomponents.peak_detection")

from mne_dualdiv import DualDivergenceGenerator  # noqa: E402
from mne_dualdiv._logging import logger  # noqa: E402
from mne_dualdiv.adapters.recording import (RecordingSynthesizer,  # noqa: E402
                                            SyntheticRecording, read_recording_synthesizer,
                                            segment, spikes)
from mne_dualdiv.adapters.recording.fidelity import fidelity_report  # noqa: E402
from mne_dualdiv.adapters.recording.noise import BLOCK_FRAMES  # noqa: E402
from mne_dualdiv.adapters.recording.privacy import PrivacyReport  # noqa: E402
from mne_dualdiv.adapters.si_folders import read_recording_folder  # noqa: E402
from mne_dualdiv.datasets import simulate_recording  # noqa: E402

SFREQ = 30000.0
DURATION = 12.0
N_CHANNELS = 32
#: The int16 step of an Intan headstage (µV per bit).
GAIN_UV = 0.195
#: One synthesizer setting for the module: the whole recording analysed, 3 s of background,
#: 500 snippets learned from (the later spikes are the privacy report's held-out set).
FIT = dict(fit_duration=DURATION, noise_duration=3.0, max_snippets=500, random_state=0)
#: The smallest engine that still fits and samples (parameters of DualDivergenceGenerator).
TINY_ENGINE = dict(n_bridges=1, max_steps=20, batch_size=32, n_filters=4, hidden=16,
                   eval_every=10, patience=1, n_eval_draws=2, n_final_draws=50,
                   n_local_draws=4, walk_steps=5)


# ---------------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def package_warnings():
    """The package logger's messages (it does not propagate to pytest's caplog)."""
    messages = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    handler = Collect(level=logging.WARNING)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def spike_statistics(recording):
    """Band noise level, peaks and their rate, measured the synthesizer's own way."""
    band = spikes.spike_band(recording)
    levels = spikes.noise_levels(band, seed=0)
    peaks = spikes.find_peaks(band, levels)
    return dict(noise_level=float(np.median(levels)), peaks=peaks,
                peak_rate=len(peaks) / recording.get_total_duration(),
                amplitude=float(np.median(np.abs(peaks["amplitude"]))))


def snapshot(recording):
    """Everything of a recording that fitting and sampling must leave as it was."""
    return dict(
        traces=recording.get_traces(end_frame=int(2 * SFREQ)).copy(),
        channel_ids=recording.channel_ids.copy(),
        properties={key: np.array(recording.get_property(key), copy=True)
                    for key in recording.get_property_keys()},
        annotations={key: recording.get_annotation(key)
                     for key in recording.get_annotation_keys()},
        probe=recording.get_probegroup().to_dict(array_as_list=True))


def isis_by_unit(sorting, segment_index=0):
    return [np.diff(sorting.get_unit_spike_train(unit, segment_index=segment_index))
            for unit in sorting.unit_ids]


def int16_copy(recording, offsets_uV):
    """``recording`` (µV, float) stored as an acquisition system stores it: int16, gain, offset."""
    stored = spre.scale(recording, gain=1 / GAIN_UV, offset=-np.asarray(offsets_uV) / GAIN_UV,
                        dtype="int16").save(format="memory", progress_bar=False)
    stored.set_channel_gains(GAIN_UV)
    stored.set_channel_offsets(offsets_uV)
    return stored


# ---------------------------------------------------------------------------------- fixtures
pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.fixture(scope="module")
def real():
    """32 channels, 12 s, 8 varied units on 1/f correlated noise, stored as int16 with gains.

    Channel ids out of sorted order, per-channel offsets, groups, a string property and an
    annotation: everything a synthetic recording must keep.
    """
    simulated, _ = simulate_recording(num_channels=N_CHANNELS, num_units=8, duration=DURATION,
                                      seed=2)
    recording = int16_copy(simulated, np.linspace(-20.0, 20.0, N_CHANNELS))
    recording = recording.rename_channels([f"AP{i}" for i in range(N_CHANNELS)][::-1])
    recording.set_channel_groups(np.repeat(np.arange(4), N_CHANNELS // 4))
    recording.set_property("quality", np.array(["good", "mua"] * (N_CHANNELS // 2)))
    recording.annotate(is_filtered=False, lab="unit-test")
    return recording


@pytest.fixture(scope="module")
def real_before_fit(real):
    return snapshot(real)


@pytest.fixture(scope="module")
def synthesizer(real, real_before_fit, tmp_path_factory):
    fitted = RecordingSynthesizer(**FIT).fit(real)
    fitted.save(tmp_path_factory.mktemp("synthesizer") / "private.pt")
    return fitted


@pytest.fixture(scope="module")
def synthetic(synthesizer):
    return synthesizer.sample(DURATION, random_state=1)


@pytest.fixture(scope="module")
def statistics(real, synthetic):
    return spike_statistics(real), spike_statistics(synthetic)


@pytest.fixture(scope="module")
def privacy(synthesizer, synthetic, real):
    return synthesizer.privacy_report(real, synthetic, max_snippets=300, random_state=0)


@pytest.fixture(scope="module")
def saved(synthesizer, tmp_path_factory):
    """A two-segment synthetic recording, lazily and as saved by two worker processes."""
    lazy = synthesizer.sample([1.0, 0.5], random_state=6)
    folder = tmp_path_factory.mktemp("saved") / "shared"
    written = lazy.save(folder=folder, n_jobs=2, chunk_duration="0.25s", progress_bar=False)
    return lazy, written, read_recording_folder(folder)


@pytest.fixture(scope="module")
def correlated():
    """16 channels, 10 s, 5 units on white noise whose channels correlate at 0.55-0.86."""
    # A first draw gives the probe and the spike trains; the second adds correlated noise.
    probe_recording, sorting = sc.generate_ground_truth_recording(
        num_channels=16, num_units=5, durations=[10.0], sampling_frequency=SFREQ, seed=0,
        generate_sorting_kwargs=dict(firing_rates=8.0, refractory_period_ms=4.0),
        noise_kwargs=dict(noise_levels=5.0, strategy="on_the_fly"))
    locations = probe_recording.get_channel_locations()
    distances = np.linalg.norm(locations[:, None] - locations[None], axis=2)
    correlation = 0.5 + 0.5 * np.exp(-distances / 60.0)  # a common mode and a local part
    real_recording, _ = sc.generate_ground_truth_recording(
        num_channels=16, num_units=5, durations=[10.0], sampling_frequency=SFREQ, seed=0,
        sorting=sorting, generate_sorting_kwargs=dict(firing_rates=8.0),
        noise_kwargs=dict(noise_levels=5.0, cov_matrix=correlation, strategy="on_the_fly"))
    real_recording = real_recording.save(format="memory", progress_bar=False)
    fitted = RecordingSynthesizer(fit_duration=10.0, noise_duration=3.0, random_state=0).fit(
        real_recording)
    return real_recording, fitted.sample(10.0, random_state=0)


@pytest.fixture(scope="module")
def correlated_report(correlated):
    real_recording, synthetic_recording = correlated
    return fidelity_report(real_recording, synthetic_recording, duration=5.0, random_state=0)


@pytest.fixture(scope="module")
def pure_noise():
    """SpikeInterface's white noise alone (8 channels, 5 s): no spike to learn from."""
    return sc.generate_recording(num_channels=8, durations=[5.0], sampling_frequency=SFREQ,
                                 seed=0)


@pytest.fixture(scope="module")
def noise_only(pure_noise):
    """Synthesizers fitted where there is no spike, and what they logged."""
    low_rate = sc.generate_recording(num_channels=4, durations=[20.0], sampling_frequency=1000.0,
                                     seed=0)
    fitted = {}
    for name, recording in (("pure_noise", pure_noise), ("1_kHz", low_rate)):
        with package_warnings() as messages:
            fitted[name] = (RecordingSynthesizer(fit_duration=20.0, noise_duration=2.0,
                                                 random_state=0).fit(recording), messages)
    return fitted


# ---------------------------------------------------------------------------------- metadata
def test_channel_ids_order_sampling_frequency_and_dtype_survive(real, synthetic):
    assert isinstance(synthetic, SyntheticRecording)
    np.testing.assert_array_equal(synthetic.channel_ids, real.channel_ids)  # AP31 .. AP0
    assert synthetic.sampling_frequency == real.sampling_frequency == SFREQ
    assert synthetic.get_dtype() == real.get_dtype() == np.dtype("int16")
    assert synthetic.get_traces(end_frame=10).dtype == np.dtype("int16")
    assert synthetic.get_num_samples() == real.get_num_samples()


def test_gains_and_offsets_survive_and_return_in_uV_is_on_the_real_scale(real, synthetic):
    np.testing.assert_array_equal(synthetic.get_channel_gains(), real.get_channel_gains())
    np.testing.assert_array_equal(synthetic.get_channel_offsets(), real.get_channel_offsets())
    frames = int(2 * SFREQ)
    stored = synthetic.get_traces(end_frame=frames).astype(np.float64)
    in_uV = synthetic.get_traces(end_frame=frames, return_in_uV=True)
    np.testing.assert_allclose(in_uV, stored * GAIN_UV + real.get_channel_offsets(),
                               rtol=1e-5, atol=1e-3)
    real_uV = real.get_traces(end_frame=frames, return_in_uV=True).astype(np.float64)
    # Stored values are (µV - offset) / gain: a lost gain would scale the traces by 1 / 0.195,
    # a lost offset move the outer channels' medians by up to 20 µV.
    real_std = real_uV.std(axis=0)
    shift = np.abs(np.median(in_uV, axis=0) - np.median(real_uV, axis=0)) / real_std
    assert np.all(shift < 0.3)
    assert 0.8 < np.median(in_uV.std(axis=0) / real_std) < 1.25


def test_probe_and_channel_locations_survive(real, synthetic):
    np.testing.assert_array_equal(synthetic.get_channel_locations(), real.get_channel_locations())
    real_probe, synthetic_probe = real.get_probe(), synthetic.get_probe()
    np.testing.assert_array_equal(synthetic_probe.contact_positions, real_probe.contact_positions)
    np.testing.assert_array_equal(synthetic_probe.device_channel_indices,
                                  real_probe.device_channel_indices)
    np.testing.assert_array_equal(synthetic_probe.contact_ids, real_probe.contact_ids)
    assert synthetic_probe.get_contact_count() == N_CHANNELS


def test_properties_groups_and_annotations_survive(real, synthetic):
    np.testing.assert_array_equal(synthetic.get_channel_groups(), np.repeat(np.arange(4), 8))
    np.testing.assert_array_equal(synthetic.get_property("quality"), real.get_property("quality"))
    for key in real.get_property_keys():
        np.testing.assert_array_equal(synthetic.get_property(key), real.get_property(key))
    assert synthetic.get_annotation("lab") == "unit-test"
    assert synthetic.is_filtered() is False


def test_fitting_on_the_first_seconds_leaves_a_lazy_input_readable():
    simulated, _ = simulate_recording(num_channels=16, num_units=5, duration=10.0, seed=1)
    before = simulated.get_traces(end_frame=100)
    RecordingSynthesizer(fit_duration=5.0, noise_duration=1.0, random_state=0).fit(simulated)
    gc.collect()  # the fit's temporary views are gone
    np.testing.assert_array_equal(simulated.get_traces(end_frame=100), before)


def test_fitting_sampling_and_auditing_leave_the_input_recording_as_it_was(
        real, real_before_fit, synthetic, privacy):
    after = snapshot(real)
    np.testing.assert_array_equal(after["traces"], real_before_fit["traces"])
    np.testing.assert_array_equal(after["channel_ids"], real_before_fit["channel_ids"])
    assert after["properties"].keys() == real_before_fit["properties"].keys()
    for key, values in real_before_fit["properties"].items():
        np.testing.assert_array_equal(after["properties"][key], values)
    assert after["annotations"] == real_before_fit["annotations"]
    assert after["probe"] == real_before_fit["probe"]


# ---------------------------------------------------------------------------------- laziness
def test_same_seed_gives_the_same_recording_and_another_seed_differs(synthesizer, synthetic):
    again = synthesizer.sample(DURATION, random_state=1)
    np.testing.assert_array_equal(again.get_traces(start_frame=100000, end_frame=130000),
                                  synthetic.get_traces(start_frame=100000, end_frame=130000))
    np.testing.assert_array_equal(again.get_ground_truth().to_spike_vector(),
                                  synthetic.get_ground_truth().to_spike_vector())
    other = synthesizer.sample(DURATION, random_state=2)
    assert not np.array_equal(other.get_traces(end_frame=30000),
                              synthetic.get_traces(end_frame=30000))
    assert not np.array_equal(other.units.templates, synthetic.units.templates)


def test_overlapping_get_traces_calls_agree(synthetic, correlated):
    # Across a noise block edge (BLOCK_FRAMES) and a chunk of another length: the frames are
    # computed from the same seeded blocks, so they agree up to float32 rounding (one
    # integer step at most once rounded to int16).
    start = BLOCK_FRAMES - 2000
    first = synthetic.get_traces(start_frame=start, end_frame=start + 5000).astype(np.int32)
    second = synthetic.get_traces(start_frame=start + 1000, end_frame=start + 9000).astype(
        np.int32)
    assert np.abs(first[1000:] - second[:4000]).max() <= 1
    _, float_synthetic = correlated
    first = float_synthetic.get_traces(start_frame=start, end_frame=start + 5000)
    second = float_synthetic.get_traces(start_frame=start + 1000, end_frame=start + 9000)
    np.testing.assert_allclose(first[1000:], second[:4000], rtol=1e-5, atol=1e-4)
    subset = float_synthetic.get_traces(start_frame=start + 1000, end_frame=start + 2000,
                                        channel_ids=float_synthetic.channel_ids[[5, 2]])
    np.testing.assert_allclose(subset, first[1000:2000][:, [5, 2]], rtol=1e-5, atol=1e-4)


def test_segments_are_independent_of_one_another(synthesizer):
    two = synthesizer.sample([2.0, 1.0], random_state=4)
    longer_first = synthesizer.sample([3.0, 1.0], random_state=4)
    assert two.get_num_segments() == 2
    assert two.get_num_samples(0) == 60000 and two.get_num_samples(1) == 30000
    assert not np.array_equal(two.get_traces(segment_index=0, end_frame=30000),
                              two.get_traces(segment_index=1, end_frame=30000))
    # A segment depends on the seed and its index, not on how long the others are.
    np.testing.assert_array_equal(two.get_traces(segment_index=1),
                                  longer_first.get_traces(segment_index=1))
    np.testing.assert_array_equal(two.get_ground_truth().get_unit_spike_train(0, 1),
                                  longer_first.get_ground_truth().get_unit_spike_train(0, 1))


@pytest.mark.parametrize("start, end, name", [(-1, 100, "start_frame"),
                                              (200, 100, "start_frame"),
                                              ("past", None, "start_frame")])
def test_get_traces_refuses_frames_outside_the_segment(synthetic, start, end, name):
    n = synthetic.get_num_samples()
    if start == "past":
        start = n + 10
    with pytest.raises(ValueError, match=name):
        synthetic.get_traces(start_frame=start, end_frame=end)


def test_a_segment_refuses_an_end_frame_past_its_end(synthetic):
    # BaseRecording.get_traces would clip end_frame silently; the recording (issue 18, point
    # 8) and the segment itself refuse it.
    n = synthetic.get_num_samples()
    with pytest.raises(ValueError, match="end_frame"):
        synthetic.get_traces(start_frame=n - 10, end_frame=n + 10)
    with pytest.raises(ValueError, match="end_frame"):
        synthetic._recording_segments[0].get_traces(n - 10, n + 10, None)


def test_an_hour_long_recording_computes_only_the_frames_asked_for(synthesizer):
    hour = synthesizer.sample(3600.0, random_state=5)
    assert hour.get_num_samples() == int(3600 * SFREQ)
    start = 10**8
    traces = hour.get_traces(start_frame=start, end_frame=start + 600)
    assert traces.shape == (600, N_CHANNELS)
    noise = hour._recording_segments[0]._noise
    touched = {key[-1] for key in noise._blocks if key[:2] == (5, 0)}
    assert touched <= set(range(start // BLOCK_FRAMES - 1, start // BLOCK_FRAMES + 2))


# ---------------------------------------------------------------------------------- re-creation
def test_kwargs_alone_re_create_the_recording(synthetic, tmp_path):
    kwargs = synthetic.to_dict()["kwargs"]
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain values: a path, numbers
    assert set(kwargs) == {"file_path", "durations", "seed", "n_units", "motion"}
    synthetic.dump(tmp_path / "synthetic.json")
    # Nothing cached in this process: the synthesizer file is read again, units drawn again.
    segment._units_cached.cache_clear()
    segment._read_cached.cache_clear()
    reloaded = sc.load(tmp_path / "synthetic.json")
    assert reloaded.units is not synthetic.units
    np.testing.assert_array_equal(reloaded.get_traces(start_frame=50000, end_frame=80000),
                                  synthetic.get_traces(start_frame=50000, end_frame=80000))
    np.testing.assert_array_equal(reloaded.channel_ids, synthetic.channel_ids)
    np.testing.assert_array_equal(reloaded.get_channel_locations(),
                                  synthetic.get_channel_locations())
    assert reloaded.get_annotation("lab") == "unit-test"
    from_dict = sc.load(synthetic.to_dict())
    np.testing.assert_array_equal(from_dict.get_traces(end_frame=3000),
                                  synthetic.get_traces(end_frame=3000))


def test_save_with_two_jobs_equals_the_lazy_traces(saved, real):
    lazy, written, loaded = saved
    for segment_index in range(2):
        expected = lazy.get_traces(segment_index=segment_index).astype(np.int32)
        for copy in (written, loaded):
            got = copy.get_traces(segment_index=segment_index).astype(np.int32)
            # float32 noise rounded to int16: one step apart at most, almost never.
            assert np.abs(got - expected).max() <= 1
            assert np.mean(got != expected) < 1e-4
    np.testing.assert_array_equal(loaded.channel_ids, real.channel_ids)
    np.testing.assert_array_equal(loaded.get_channel_gains(), real.get_channel_gains())
    np.testing.assert_array_equal(loaded.get_channel_offsets(), real.get_channel_offsets())
    np.testing.assert_array_equal(loaded.get_channel_locations(), real.get_channel_locations())
    assert loaded.get_dtype() == np.dtype("int16")


def test_an_int16_copy_saved_in_chunks_is_the_lazy_recording_bit_for_bit(saved):
    lazy, written, _ = saved
    for segment_index in range(2):
        np.testing.assert_array_equal(written.get_traces(segment_index=segment_index),
                                      lazy.get_traces(segment_index=segment_index))


def test_synthesizer_save_and_read_round_trip_gives_identical_recordings(
        synthesizer, synthetic, tmp_path):
    fname = tmp_path / "synthesizer.pt"
    synthesizer.save(fname)
    with pytest.raises(FileExistsError):
        synthesizer.save(fname)
    read = read_recording_synthesizer(fname)
    assert read.get_params() == synthesizer.get_params()
    np.testing.assert_array_equal(read.channel_ids_, synthesizer.channel_ids_)
    np.testing.assert_array_equal(read.neighbours_, synthesizer.neighbours_)
    assert read.units_.guard == synthesizer.units_.guard
    assert read.units_.refractory == synthesizer.units_.refractory
    again = read.sample(DURATION, random_state=1)
    assert again.to_dict()["kwargs"]["file_path"] == str(fname.resolve())
    np.testing.assert_array_equal(again.get_traces(end_frame=60000),
                                  synthetic.get_traces(end_frame=60000))
    np.testing.assert_array_equal(again.units.templates, synthetic.units.templates)


# ---------------------------------------------------------------------------------- statistics
def test_band_noise_level_is_within_10_percent_of_the_real(statistics):
    real_figures, synthetic_figures = statistics
    ratio = synthetic_figures["noise_level"] / real_figures["noise_level"]
    assert abs(ratio - 1) <= 0.10, ratio


def test_peak_rate_is_within_25_percent_of_the_real(statistics):
    real_figures, synthetic_figures = statistics
    assert real_figures["peak_rate"] > 20  # spikes, not noise crossings
    ratio = synthetic_figures["peak_rate"] / real_figures["peak_rate"]
    assert abs(ratio - 1) <= 0.25, ratio


def test_median_peak_amplitude_is_within_25_percent_of_the_real(statistics):
    real_figures, synthetic_figures = statistics
    ratio = synthetic_figures["amplitude"] / real_figures["amplitude"]
    assert abs(ratio - 1) <= 0.25, ratio


def test_noise_spatial_correlation_of_a_correlated_recording_is_reproduced(correlated_report):
    report = correlated_report
    off_diagonal = ~np.eye(report.n_channels, dtype=bool)
    assert report.noise_correlation_real[off_diagonal].mean() > 0.5  # strongly correlated
    assert report.noise_correlation_rmse < 0.1
    # Independent channels with the right spectra would be off by the whole correlation.
    assert report.noise_correlation_synthetic[off_diagonal].mean() > 0.5


def test_noise_spectrum_is_reproduced(correlated_report):
    assert correlated_report.noise_psd_distance_db < 1.0
    assert abs(correlated_report.noise_level_ratio - 1) <= 0.10


def test_one_over_f_noise_keeps_its_slope(real, synthetic):
    # Below the spike band the background dominates: its 1/f slope must survive.
    def slope(recording):
        traces = recording.get_traces(end_frame=int(6 * SFREQ)).astype(np.float64)
        freqs, psd = scipy.signal.welch(traces - traces.mean(axis=0), fs=SFREQ,
                                        nperseg=8192, axis=0)
        band = (freqs >= 10) & (freqs <= 250)
        return np.polyfit(np.log10(freqs[band]), np.log10(psd[band].mean(axis=1)), 1)[0]

    real_slope, synthetic_slope = slope(real), slope(synthetic)
    assert real_slope < -0.5  # the input is coloured
    assert abs(synthetic_slope - real_slope) < 0.25, (real_slope, synthetic_slope)


# ---------------------------------------------------------------------------------- ground truth
def test_ground_truth_has_one_unit_per_synthetic_unit(synthesizer, synthetic):
    truth = synthetic.get_ground_truth()
    # One synthetic unit per real cluster asked for; the guard may refuse some of them.
    assert 1 <= len(truth.unit_ids) == synthetic.units.n_units
    assert len(truth.unit_ids) <= synthesizer.n_real_units_
    assert truth.sampling_frequency == SFREQ
    assert truth.get_num_segments() == 1
    np.testing.assert_array_equal(truth.get_property("peak_channel"),
                                  synthetic.units.channels[:synthetic.units.n_units])
    assert sum(len(truth.get_unit_spike_train(u)) for u in truth.unit_ids) > 100


def test_ground_truth_has_no_interval_below_the_refractory_period(synthesizer, synthetic):
    refractory = synthesizer.units_.refractory
    assert 0.0008 <= refractory <= 0.003
    for isis in isis_by_unit(synthetic.get_ground_truth()):
        # Spike times are rounded to frames: one frame of slack.
        assert isis.min() >= refractory * SFREQ - 1


def test_ground_truth_rates_match_the_drawn_rates(synthesizer, synthetic):
    # Spike trains are drawn when the recording is made: a long one costs no trace.
    long = synthesizer.sample(600.0, random_state=1)
    drawn = long.units.stats[:, 0]
    np.testing.assert_array_equal(drawn, synthetic.units.stats[:, 0])  # same seed, same units
    truth = long.get_ground_truth()
    counts = np.array([len(truth.get_unit_spike_train(u)) for u in truth.unit_ids])
    np.testing.assert_allclose(counts / 600.0, drawn, rtol=0.15)
    # Drawn from the real clusters' rates (jittered; units the guard refused leave their
    # firing to the kept ones): the total is the real one's.
    real_total = synthesizer.units_.cluster_stats[:, 0].sum()
    assert abs(drawn.sum() / real_total - 1) < 0.3


def test_templates_sit_on_their_peak_channels(synthetic, statistics):
    units = synthetic.units
    dense = units.dense_templates()
    np.testing.assert_array_equal(dense.min(axis=1).argmin(axis=1), units.channels)
    # The detector finds each ground-truth spike on or next to its unit's peak channel.
    _, synthetic_figures = statistics
    peaks = synthetic_figures["peaks"]
    locations = synthetic.get_channel_locations()
    truth = synthetic.get_ground_truth()
    near, matched = 0, 0
    for unit in truth.unit_ids:
        for frame in truth.get_unit_spike_train(unit):
            i = np.searchsorted(peaks["sample_index"], frame - 15)
            j = np.searchsorted(peaks["sample_index"], frame + 15)
            if j > i:
                matched += 1
                channel = peaks["channel_index"][i + np.argmax(np.abs(peaks["amplitude"][i:j]))]
                distance = np.linalg.norm(locations[channel] - locations[units.channels[unit]])
                near += distance <= 50.0
    assert matched > 100
    assert near / matched > 0.8


# ---------------------------------------------------------------------------------- guard
def test_every_generated_unit_is_below_the_guard(synthesizer, synthetic, privacy):
    model, units = synthesizer.units_, synthetic.units
    assert 0 < model.guard < 1
    assert np.all(units.similarity < model.guard)
    # The audit's own measure of each generated unit against every real unit agrees.
    np.testing.assert_allclose(privacy.units.best_similarity, units.similarity, atol=1e-4)
    # Synthetic units differ from one another at least as much as the closest real pair.
    assert model.guard <= model.distinct < 1
    images = spikes.band_filter(units.images, SFREQ)
    assert np.all(spikes.best_similarity(images, images)[~np.eye(len(images), dtype=bool)]
                  < model.distinct)


def test_privacy_report_passes_on_the_fixture(synthesizer, synthetic, privacy):
    assert isinstance(privacy, PrivacyReport)
    assert privacy.units.n_synthetic == synthetic.units.n_units
    assert privacy.units.n_real == synthesizer.n_real_units_
    assert privacy.snippets is not None and privacy.snippets.n_heldout > 0
    # The attack ensemble ran on the same snippets: members against held-out spikes.
    membership = privacy.membership
    assert (membership.sizes["n_members"], membership.sizes["n_nonmembers"],
            membership.sizes["n_synthetic"]) == (privacy.snippets.n_member,
                                                 privacy.snippets.n_heldout,
                                                 privacy.snippets.n_synthetic)
    assert privacy.passes() == {"units": True, "snippets": True, "membership": True}
    assert "pass" in repr(privacy) and "FAIL" not in repr(privacy)


def test_privacy_report_without_enough_held_out_snippets_skips_the_ensemble_with_a_warning(
        synthesizer, synthetic, real):
    with package_warnings() as messages:
        report = synthesizer.privacy_report(real, synthetic, max_snippets=5, random_state=0)
    assert report.snippets.n_heldout == 5 and report.membership is None
    assert "membership" not in report.passes() and "membership" not in repr(report)
    assert report.to_dict()["membership"] is None
    assert any(message.startswith("No membership audit: 5 member, 5 held-out and 5 synthetic")
               for message in messages), messages


def test_privacy_report_flags_a_synthetic_unit_copied_from_a_real_one(
        synthesizer, synthetic, real, monkeypatch):
    real_templates = synthesizer.units_.real_templates
    images = synthetic.units.images.copy()
    images[0] = 3.0 * real_templates[1]  # a real unit, at another amplitude
    monkeypatch.setattr(synthetic.units, "images", images)
    report = synthesizer.privacy_report(real, synthetic, max_snippets=50, random_state=0)
    assert report.passes()["units"] is False
    assert report.units.n_above >= 1
    assert report.units.best_similarity[0] == pytest.approx(1.0, abs=1e-5)
    assert report.units.nearest_real[0] == 1
    assert "FAIL" in repr(report)


# ---------------------------------------------------------------------------------- no spikes
@pytest.mark.parametrize("name", ["pure_noise", "1_kHz"])
def test_fit_without_spikes_learns_the_background_only_with_a_warning(noise_only, name):
    fitted, messages = noise_only[name]
    assert fitted.units_ is None and fitted.n_real_units_ == 0
    assert fitted.noise_.n_channels == len(fitted.channel_ids_)
    assert any("background" in message for message in messages), messages


@pytest.mark.parametrize("name", ["pure_noise", "1_kHz"])
def test_sample_without_spikes_is_background_only(noise_only, pure_noise, name):
    fitted, _ = noise_only[name]
    synthetic_noise = fitted.sample(2.0, random_state=0)
    assert len(synthetic_noise.get_ground_truth().unit_ids) == 0
    traces = synthetic_noise.get_traces()
    assert traces.shape == (int(2.0 * fitted.sampling_frequency_), len(fitted.channel_ids_))
    if name == "pure_noise":
        real_std = pure_noise.get_traces().std(axis=0)
        np.testing.assert_allclose(traces.std(axis=0), real_std, rtol=0.15)


def test_zero_units_gives_the_background_alone(synthesizer):
    background = synthesizer.sample(1.0, random_state=0, n_units=0)
    assert len(background.get_ground_truth().unit_ids) == 0
    assert background.get_traces().shape == (int(SFREQ), N_CHANNELS)


# ---------------------------------------------------------------------------------- engine
def test_engine_template_model_works_end_to_end():
    simulated, _ = simulate_recording(num_channels=16, num_units=5, duration=10.0, seed=0)
    fitted = RecordingSynthesizer(template_model="engine",
                                  generator=DualDivergenceGenerator(**TINY_ENGINE),
                                  fit_duration=10.0, noise_duration=2.0, max_snippets=300,
                                  random_state=0).fit(simulated)
    assert isinstance(fitted.units_.engine, DualDivergenceGenerator)
    assert fitted.units_.engine.max_steps == TINY_ENGINE["max_steps"]
    engine_made = fitted.sample(2.0, random_state=0)
    assert engine_made.units.n_units >= 1
    assert np.all(engine_made.units.similarity < fitted.units_.guard)
    traces = engine_made.get_traces()
    assert traces.shape == (60000, 16) and np.isfinite(traces).all()
    truth = engine_made.get_ground_truth()
    assert len(truth.unit_ids) == engine_made.units.n_units


class FailingEngine:
    """An engine whose walks all fail its own checks, as on SpikeInterface's look-alike units."""

    def __init__(self):
        self.calls = 0

    def sample(self, n, random_state=None):
        self.calls += 1
        raise RuntimeError("Only 0 of the 40 requested samples passed the acceptance checks")


def test_an_engine_that_gives_no_candidates_leaves_fewer_units_with_a_warning(synthesizer):
    model = copy.deepcopy(synthesizer.units_)
    model.engine = FailingEngine()
    with package_warnings() as messages:
        drawn = model.draw_units(3, np.random.default_rng(0), synthesizer.threshold_)
    assert len(drawn["templates"]) == 0 and len(drawn["stats"]) == 0
    assert model.engine.calls == 1  # given up at once, not retried batch after batch
    assert any("engine gave no template candidates" in m for m in messages)
    assert any("has 0 units instead of 3" in m for m in messages)

# ---------------------------------------------------------------------------------- arguments
@pytest.mark.parametrize("params, error, name", [
    (dict(template_model="x"), ValueError, "'template_model' parameter"),
    (dict(n_neighbours=0), ValueError, "n_neighbours"),
    (dict(fit_duration=-1.0), ValueError, "fit_duration"),
    (dict(noise_duration=0.0), ValueError, "noise_duration"),
    (dict(ms_before=-0.5), ValueError, "ms_before"),
    (dict(ms_before=1e6), ValueError, "ms_before must be <= 20"),
    (dict(ms_after=50.0), ValueError, "ms_after must be <= 20"),
    (dict(max_snippets=5), ValueError, "max_snippets"),
    (dict(n_jobs=0), ValueError, "n_jobs must be a positive int"),
    (dict(n_jobs=1.5), TypeError, "n_jobs must be None or an int"),
    (dict(template_model="engine", generator="small"), TypeError, "generator"),
])
def test_fit_refuses_bad_parameters_naming_them(pure_noise, params, error, name):
    with pytest.raises(error, match=name):
        RecordingSynthesizer(**params).fit(pure_noise)


def test_fit_refuses_what_is_not_a_recording():
    with pytest.raises(TypeError, match="recording must be a spikeinterface BaseRecording"):
        RecordingSynthesizer().fit(np.zeros((30000, 4), dtype=np.float32))


@pytest.mark.parametrize("args, kwargs, error, name", [
    ((-1.0,), {}, ValueError, r"durations\[0\]"),
    (([1.0, 0.0],), {}, ValueError, r"durations\[1\]"),
    (("1s",), {}, TypeError, "durations"),
    ((1.0,), dict(n_units=-1), ValueError, "n_units"),
    ((1.0,), dict(random_state=-3), ValueError, "random_state"),
    ((1.0,), dict(file_path=Path(__file__).parent), IsADirectoryError, "file_path must be a file"),
])
def test_sample_refuses_bad_arguments_naming_them(synthesizer, args, kwargs, error, name):
    with pytest.raises(error, match=name):
        synthesizer.sample(*args, **kwargs)


def test_an_unfitted_synthesizer_says_so():
    with pytest.raises(RuntimeError, match="not fitted"):
        RecordingSynthesizer().sample(1.0)


def test_parameters_are_stored_untouched_for_scikit_learn():
    synthesizer = RecordingSynthesizer(n_neighbours=0, template_model="x")  # checked at fit
    assert synthesizer.get_params()["n_neighbours"] == 0
    synthesizer.set_params(n_neighbours=12, template_model="gaussian")
    assert synthesizer.n_neighbours == 12


def test_fit_without_numba_says_what_to_install(pure_noise, monkeypatch):
    # SpikeInterface's torch detector is no substitute (amplitudes 30x too small).
    real_find_spec = spikes.importlib.util.find_spec

    def find_spec_without_numba(name, *args, **kwargs):
        return None if name == "numba" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(spikes.importlib.util, "find_spec", find_spec_without_numba)
    with pytest.raises(ImportError, match=r"numba.*mne_dualdiv\[ephys\]"):
        RecordingSynthesizer(fit_duration=1.0, noise_duration=1.0).fit(pure_noise)


# -------------------------------------------------------------------------------------- drift
def rigid_motion(times_s, displacements_um, direction="y"):
    from spikeinterface.core.motion import Motion

    return Motion(np.asarray(displacements_um, dtype=float)[:, None],
                  np.asarray(times_s, dtype=float), np.array([0.0]), direction=direction)


def trough_locations(recording, frames, units):
    """Position of the deepest channel of each unit's spike-triggered average at ``frames``."""
    band = spikes.spike_band(recording).get_traces()
    locations = recording.get_channel_locations()
    found = {}
    for unit in units:
        at = frames[unit]
        at = at[(at > 30) & (at < len(band) - 30)]
        if len(at) >= 10:
            average = band[at[:, None] + np.arange(-10, 11)].mean(axis=0)
            found[unit] = locations[average.min(axis=0).argmin()]
    return found


def test_motion_moves_each_unit_by_its_displacement_from_the_time_it_says(synthesizer):
    # Still for the first half, 40 µm (two rows of a column) deeper for the second.
    half = DURATION / 2
    motion = rigid_motion([0.0, half - 0.001, half, DURATION], [0.0, 0.0, 40.0, 40.0])
    moving = synthesizer.sample(DURATION, random_state=1, motion=motion)
    truth = moving.get_ground_truth()
    locations = moving.get_channel_locations()
    frames = {u: truth.get_unit_spike_train(u) for u in truth.unit_ids}
    before = trough_locations(moving, {u: f[f < half * SFREQ] for u, f in frames.items()},
                              truth.unit_ids)
    after = trough_locations(moving, {u: f[f >= half * SFREQ] for u, f in frames.items()},
                             truth.unit_ids)
    # Units whose moved trough stays on the probe.
    units = [u for u in before if u in after and before[u][1] + 40 <= locations[:, 1].max()]
    assert len(units) >= 4
    moved = np.array([after[u] - before[u] for u in units])
    assert np.mean(np.all(np.isclose(moved, [0.0, 40.0]), axis=1)) >= 0.8
    static = trough_locations(synthesizer.sample(DURATION, random_state=1), frames, units)
    assert np.mean([np.allclose(static[u], before[u]) for u in units]) >= 0.8


def test_zero_motion_changes_no_frame_and_moving_recordings_recreate_from_kwargs(synthesizer):
    still = synthesizer.sample(1.0, random_state=3)
    zero = synthesizer.sample(1.0, random_state=3, motion=rigid_motion([0.0, 1.0], [0.0, 0.0]))
    np.testing.assert_array_equal(zero.get_traces(), still.get_traces())
    motion = rigid_motion([0.0, 0.5, 1.0], [-10.0, 15.0, 30.0])
    moving = synthesizer.sample(1.0, random_state=3, motion=motion)
    assert not np.array_equal(moving.get_traces(), still.get_traces())
    kwargs = moving.to_dict()["kwargs"]
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain lists, no arrays or objects
    np.testing.assert_array_equal(sc.load(moving.to_dict()).get_traces(), moving.get_traces())
    # The ground truth is the units' spikes, with or without drift.
    for unit in still.get_ground_truth().unit_ids:
        np.testing.assert_array_equal(moving.get_ground_truth().get_unit_spike_train(unit),
                                      still.get_ground_truth().get_unit_spike_train(unit))


@pytest.mark.parametrize("motion, error, match", [
    ("40 um", TypeError, "motion must be None or a spikeinterface"),
    (dict(displacement=[[0.0]]), ValueError, "motion must be a spikeinterface Motion"),
    (rigid_motion([0.0, 1.0], [0.0, np.nan]), ValueError, "finite"),
    (rigid_motion([0.0, 1.0], [0.0, 1e6]), ValueError, "probe's extent"),
])
def test_motion_is_checked_by_name(synthesizer, motion, error, match):
    with pytest.raises(error, match=match):
        synthesizer.sample(1.0, random_state=0, motion=motion)


def test_motion_needs_one_entry_per_segment(synthesizer):
    with pytest.raises(ValueError, match="motion has 1 segments; the recording asked for has 2"):
        synthesizer.sample([1.0, 1.0], random_state=0, motion=rigid_motion([0, 1], [0, 5]))


def test_moved_templates_interpolate_along_each_column_of_contacts():
    from mne_dualdiv.adapters.recording.drift import move_templates

    # Two columns (x = 0, 20 µm) of contacts 20 µm apart; each channel's neighbourhood: itself
    # and the two below and above it in its column (-1 off the probe).
    locations = np.array([[x, y] for x in (0.0, 20.0) for y in range(0, 200, 20)])
    neighbours = np.array([[c + d if 0 <= (c % 10) + d < 10 else -1 for d in (0, -1, 1, -2, 2)]
                           for c in range(20)])
    n_channels = len(locations)
    peak = 4  # (0, 80)
    channels = np.where(neighbours[peak] >= 0, neighbours[peak], n_channels)[None]
    template = np.array([[-10.0, -4.0, -6.0, -1.0, -2.0]])[None].repeat(3, axis=1)  # 3 frames
    moved, moved_channels = move_templates(template, channels, locations, neighbours,
                                           np.array([0.0, 10.0, 20.0]), axis=1)
    np.testing.assert_array_equal(moved[0, 0], template[0])  # no displacement: unchanged
    np.testing.assert_array_equal(moved_channels[0, 0], channels[0])
    # 20 µm: one row up; the peak channel is now channel 5, each value one row higher.
    assert moved_channels[0, 2, 0] == 5
    by_channel = dict(zip(moved_channels[0, 2], moved[0, 2, 0]))
    assert by_channel[5] == -10.0 and by_channel[4] == -4.0 and by_channel[6] == -6.0
    assert by_channel[7] == -2.0 and by_channel[3] == -1.0  # the rows at 120 and 40 µm
    # 10 µm: halfway between rows, on the channels around the nearest channel.
    by_channel = dict(zip(moved_channels[0, 1], moved[0, 1, 0]))
    centre = moved_channels[0, 1, 0]
    assert centre in (4, 5)
    assert by_channel[5] == pytest.approx((-10.0 + -6.0) / 2)
    assert by_channel[4] == pytest.approx((-10.0 + -4.0) / 2)


@pytest.mark.parametrize("n_jobs", [None, -1])
def test_n_jobs_follows_mne_and_scikit_learn(pure_noise, n_jobs):
    fitted = RecordingSynthesizer(n_jobs=n_jobs, random_state=0).fit(pure_noise)
    assert fitted.get_params()["n_jobs"] == n_jobs  # stored as given
    assert fitted.units_ is None  # white noise: the background alone, as with n_jobs=1
