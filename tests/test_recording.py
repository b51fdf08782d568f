"""Specifications of the SpikeInterface adapter: RecordingSynthesizer and SyntheticRecording."""

import json
import types

import numpy as np
import pytest
import torch

sc = pytest.importorskip("spikeinterface.core")
spikeinterface = pytest.importorskip("spikeinterface")
spre = pytest.importorskip("spikeinterface.preprocessing")
neuropixels_tools = pytest.importorskip("probeinterface.neuropixels_tools")

from spikeinterface.core import BaseRecording, BaseRecordingSegment  # noqa: E402

from mne_dualdiv import DualDivergenceGenerator  # noqa: E402
from mne_dualdiv.adapters import recording as recording_module  # noqa: E402
from mne_dualdiv.adapters.recording import (BLOCK_WINDOWS, PrivacyReport,  # noqa: E402
                                            RecordingSynthesizer, SyntheticRecording,
                                            _WindowSource, read_recording_synthesizer)

SFREQ = 30000.0
#: Small engine settings: every fit of this module takes seconds, not minutes.
#: The walk is the recording default (RECORDING_GENERATOR_PARAMS), so are the windows (64
#: samples, 25 % overlap); the network, its training and the number of windows are small.
SMALL_32 = dict(max_steps=30, batch_size=64, n_bridges=1, eval_every=30, patience=1,
                n_filters=8, hidden=32, walk_steps=20, walk_noise=0.7)
TINY_384 = dict(max_steps=20, batch_size=32, n_bridges=1, eval_every=10, patience=1,
                n_filters=4, hidden=16, walk_steps=10, walk_noise=0.7)


# ---------------------------------------------------------------------------------- helpers
class CountingRecording(BaseRecording):
    """A view of a recording that logs every get_traces call (segment, start, end)."""

    def __init__(self, parent):
        BaseRecording.__init__(self, parent.sampling_frequency, parent.channel_ids,
                               parent.get_dtype())
        parent.copy_metadata(self)
        self.reads = []
        for segment_index in range(parent.get_num_segments()):
            self.add_recording_segment(CountingSegment(parent, segment_index, self.reads))


class CountingSegment(BaseRecordingSegment):
    def __init__(self, parent, segment_index, reads):
        BaseRecordingSegment.__init__(self, sampling_frequency=parent.sampling_frequency)
        self._parent, self._segment_index, self._reads = parent, segment_index, reads

    def get_num_samples(self):
        return self._parent.get_num_samples(segment_index=self._segment_index)

    def get_traces(self, start_frame, end_frame, channel_indices):
        self._reads.append((self._segment_index, start_frame, end_frame))
        traces = self._parent.get_traces(segment_index=self._segment_index,
                                         start_frame=start_frame, end_frame=end_frame)
        return traces if channel_indices is None else traces[:, channel_indices]


def window_edge_steps(traces, window_size, overlap_size):
    """Mean |first difference| across window boundaries and inside windows."""
    hop = window_size - overlap_size
    steps = np.abs(np.diff(traces.astype(np.float64), axis=0))  # steps[t - 1] = x[t] - x[t-1]
    n = len(traces)
    edges = np.zeros(n - 1, dtype=bool)
    for start in range(hop, n, hop):  # where window k begins and where window k - 1 ends
        edges[start - 1] = True
        if start - overlap_size + window_size - 1 < n - 1:
            edges[start - overlap_size + window_size - 1] = True
    return steps[edges].mean(), steps[~edges].mean()


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module", autouse=True)
def single_torch_thread():
    # Two threads on a busy two-core machine make small convolutions many times slower.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def recording32():
    """32 channels, 20 s at 30 kHz, with non-trivial gains, offsets, groups and properties."""
    recording, _ = sc.generate_ground_truth_recording(
        num_channels=32, durations=[20.0], sampling_frequency=SFREQ, num_units=10, seed=0)
    recording.set_channel_gains(np.linspace(0.5, 2.0, 32))
    recording.set_channel_offsets(np.linspace(-10.0, 10.0, 32))
    recording.set_channel_groups(np.repeat(np.arange(4), 8))
    recording.set_property("quality", np.array(["good", "noise"] * 16))
    recording.annotate(lab="unit-test")
    return CountingRecording(recording)


@pytest.fixture(scope="module")
def recording384():
    """Neuropixels 1.0 (NP1000) probe, 384 channels, 10 s at 30 kHz, stored as int16."""
    probe = neuropixels_tools.build_neuropixels_probe("NP1000").get_slice(np.arange(384))
    probe.set_device_channel_indices(np.arange(384))
    recording, _ = sc.generate_ground_truth_recording(
        durations=[10.0], sampling_frequency=SFREQ, probe=probe, num_units=50, seed=0)
    recording = spre.scale(recording, gain=1 / 0.195, offset=0.0, dtype="int16")
    recording.set_channel_gains(0.195)
    recording.set_channel_offsets(0.0)
    return recording


@pytest.fixture(scope="module")
def fit_reads32():
    """The get_traces calls made by the fit of ``synthesizer32``."""
    return []


@pytest.fixture(scope="module")
def synthesizer32(recording32, fit_reads32):
    synthesizer = RecordingSynthesizer(max_windows=400, chunk_duration=0.5, random_state=0,
                                       generator=DualDivergenceGenerator(**SMALL_32))
    recording32.reads.clear()
    synthesizer.fit(recording32)
    fit_reads32.extend(recording32.reads)
    return synthesizer


@pytest.fixture(scope="module")
def synthetic32(synthesizer32, tmp_path_factory):
    # A pool of 5 % of the training windows: at most 16 of them start a walk (see the privacy
    # tests and docs/recording.md for how the pool size moves membership inference).
    return synthesizer32.sample([1.0, 0.5], random_state=3, pool_size=16,
                                file_path=tmp_path_factory.mktemp("s32") / "synthesizer.pt")


@pytest.fixture(scope="module")
def synthesizer384(recording384):
    synthesizer = RecordingSynthesizer(window_duration=8 / SFREQ, max_windows=40,
                                       random_state=0,
                                       generator=DualDivergenceGenerator(**TINY_384))
    return synthesizer.fit(recording384)


@pytest.fixture(scope="module")
def synthetic384(synthesizer384, tmp_path_factory):
    return synthesizer384.sample(0.2, random_state=1, pool_size=16,
                                 file_path=tmp_path_factory.mktemp("s384") / "synthesizer.pt")


@pytest.fixture(params=["32", "384"])
def pair(request, recording32, synthetic32, recording384, synthetic384):
    """(real, synthetic) recordings, both sizes."""
    if request.param == "32":
        return recording32, synthetic32
    return recording384, synthetic384


# ---------------------------------------------------------------------------------- fit
def test_fit_reads_a_bounded_number_of_windows_chunk_by_chunk(recording32, synthesizer32,
                                                             fit_reads32):
    chunk = int(0.5 * SFREQ)
    reads = fit_reads32
    assert len(reads) >= 2
    assert max(end - start for _, start, end in reads) <= chunk
    assert synthesizer32.window_size_ == 64 and synthesizer32.overlap_size_ == 16
    positions = synthesizer32.window_positions_
    assert positions.shape == (400, 2)
    starts = np.sort(positions[:, 1])
    assert np.all(np.diff(starts) >= 64)  # no two windows share a sample
    assert starts[-1] + 64 <= recording32.get_num_samples()
    assert synthesizer32.generator_.n_channels_ == 32
    assert synthesizer32.generator_.n_times_ == 64


def test_fit_rejects_too_short_recordings_and_bad_arguments():
    short = sc.NumpyRecording([np.zeros((64 * 19, 2), dtype="float32")], SFREQ)
    with pytest.raises(ValueError, match="at least 20"):
        RecordingSynthesizer().fit(short)
    with pytest.raises(TypeError, match="BaseRecording"):
        RecordingSynthesizer().fit(np.zeros((100, 2)))
    with pytest.raises(ValueError, match="overlap"):
        RecordingSynthesizer(overlap=0.6).fit(sc.NumpyRecording([np.zeros((6400, 2))], SFREQ))
    with pytest.raises(ValueError, match="max_windows"):
        RecordingSynthesizer(max_windows=5).fit(sc.NumpyRecording([np.zeros((6400, 2))], SFREQ))
    with pytest.raises(RuntimeError, match="not fitted"):
        RecordingSynthesizer().sample(1.0)


def test_engine_settings_are_nested_parameters():
    synthesizer = RecordingSynthesizer(generator=DualDivergenceGenerator(walk_noise=0.3))
    assert synthesizer.get_params()["generator__walk_noise"] == 0.3
    synthesizer.set_params(generator__walk_noise=0.7, max_windows=64)
    assert synthesizer.generator.walk_noise == 0.7 and synthesizer.max_windows == 64


# ---------------------------------------------------------------------------------- fields
def test_channel_ids_order_sampling_frequency_and_dtype_survive(pair):
    real, synthetic = pair
    assert isinstance(synthetic, SyntheticRecording)
    np.testing.assert_array_equal(synthetic.channel_ids, real.channel_ids)
    assert synthetic.sampling_frequency == real.sampling_frequency
    assert synthetic.get_dtype() == real.get_dtype()
    assert synthetic.get_traces(segment_index=0, end_frame=10).dtype == real.get_dtype()


def test_probe_and_channel_locations_survive(pair):
    real, synthetic = pair
    np.testing.assert_array_equal(synthetic.get_channel_locations(), real.get_channel_locations())
    real_probe, synthetic_probe = real.get_probe(), synthetic.get_probe()
    np.testing.assert_array_equal(synthetic_probe.contact_positions, real_probe.contact_positions)
    np.testing.assert_array_equal(synthetic_probe.device_channel_indices,
                                  real_probe.device_channel_indices)
    np.testing.assert_array_equal(synthetic_probe.shank_ids, real_probe.shank_ids)
    np.testing.assert_array_equal(synthetic_probe.contact_ids, real_probe.contact_ids)
    assert synthetic_probe.model_name == real_probe.model_name


def test_gains_offsets_properties_and_is_filtered_survive(pair):
    real, synthetic = pair
    np.testing.assert_array_equal(synthetic.get_channel_gains(), real.get_channel_gains())
    np.testing.assert_array_equal(synthetic.get_channel_offsets(), real.get_channel_offsets())
    np.testing.assert_array_equal(synthetic.get_channel_groups(), real.get_channel_groups())
    for key in real.get_property_keys():
        np.testing.assert_array_equal(synthetic.get_property(key), real.get_property(key))
    assert synthetic.is_filtered() == real.is_filtered() is True


def test_annotations_survive(recording32, synthetic32):
    assert synthetic32.get_annotation("lab") == "unit-test"


def test_return_in_uv_gives_physical_units_like_the_real_ones(pair):
    real, synthetic = pair
    raw = synthetic.get_traces(segment_index=0, end_frame=6000).astype(np.float64)
    in_uv = synthetic.get_traces(segment_index=0, end_frame=6000, return_in_uV=True)
    np.testing.assert_allclose(
        in_uv, raw * synthetic.get_channel_gains() + synthetic.get_channel_offsets(), rtol=1e-5,
        atol=1e-4)
    real_uv = real.get_traces(end_frame=60000, return_in_uV=True)
    real_std = np.std(real_uv, 0)
    # Channel offsets and scales in uV are the real ones (a lost gain or offset would be off
    # by the 0.5-2 gains, the +-10 uV offsets or the 1 / 0.195 int16 steps). Synthetic windows
    # grow from a pool of 16 training windows, so single channels can be off by a standard
    # deviation (1.4 at most measured on the 384 channels); the typical channel is not.
    shift = np.abs(np.median(in_uv, 0) - np.median(real_uv, 0)) / real_std
    assert np.median(shift) < 0.5 and np.all(shift < 2.0)
    ratio = np.median(np.std(in_uv, 0) / real_std)
    assert 0.5 < ratio < 4.0


# ---------------------------------------------------------------------------------- laziness
def test_overlapping_get_traces_calls_agree(pair):
    _, synthetic = pair
    first = synthetic.get_traces(segment_index=0, start_frame=100, end_frame=5100)
    second = synthetic.get_traces(segment_index=0, start_frame=3000, end_frame=5999)
    np.testing.assert_array_equal(first[2900:], second[:2100])
    channels = synthetic.channel_ids[[3, 1]]
    subset = synthetic.get_traces(segment_index=0, start_frame=3000, end_frame=4000,
                                  channel_ids=channels)
    np.testing.assert_array_equal(subset, first[2900:3900][:, [3, 1]])


def test_segments_are_independent_and_seeded(synthesizer32, synthetic32):
    assert synthetic32.get_num_segments() == 2
    assert synthetic32.get_num_samples(0) == 30000 and synthetic32.get_num_samples(1) == 15000
    first, second = (synthetic32.get_traces(segment_index=s, end_frame=3000) for s in (0, 1))
    assert not np.array_equal(first, second)
    again = synthesizer32.sample([1.0, 0.5], random_state=3, pool_size=16)
    np.testing.assert_array_equal(again.get_traces(segment_index=1), synthetic32.get_traces(
        segment_index=1))
    other = synthesizer32.sample([1.0, 0.5], random_state=4, pool_size=16)
    assert not np.array_equal(other.get_traces(segment_index=0, end_frame=3000), first)


def test_on_the_fly_generates_only_the_blocks_asked_for(synthesizer32):
    synthetic = synthesizer32.sample(3600.0, random_state=5, pool_size=None)
    assert synthetic.get_num_samples() == 3600 * 30000
    start = 10**8
    traces = synthetic.get_traces(start_frame=start, end_frame=start + 500)
    source = synthetic._recording_segments[0]._source
    hop = synthesizer32.window_size_ - synthesizer32.overlap_size_
    assert set(source._blocks) <= {(0, start // hop // BLOCK_WINDOWS),
                                   (0, start // hop // BLOCK_WINDOWS + 1)}
    again = synthetic.get_traces(start_frame=start + 200, end_frame=start + 700)
    np.testing.assert_array_equal(traces[200:], again[:300])


# ---------------------------------------------------------------------------------- stitching
def test_window_edges_have_no_jump(synthetic32, synthesizer32):
    traces = synthetic32.get_traces(segment_index=0)
    at_edges, inside = window_edge_steps(traces, synthesizer32.window_size_,
                                          synthesizer32.overlap_size_)
    print(f"mean |first difference|: {at_edges:.4g} at window edges, {inside:.4g} inside "
          f"(ratio {at_edges / inside:.3f})")  # the figures reported in docs/recording.md
    assert at_edges <= 1.5 * inside


def _smooth_source(overlap_size, window_size=64, n_channels=4):
    """A window source whose stand-in engine makes slow sinusoids with random phases."""
    def sample(n, random_state):
        phase = random_state.uniform(0, 2 * np.pi, (n, n_channels, 1))
        return 100 + 10 * np.sin(2 * np.pi * np.arange(window_size) / 200 + phase)
    engine = types.SimpleNamespace(sample=sample, scaler_=types.SimpleNamespace(
        center_=np.full(n_channels, 100.0)))
    synthesizer = types.SimpleNamespace(generator_=engine, window_size_=window_size,
                                        overlap_size_=overlap_size)
    return _WindowSource(synthesizer, seed=0, pool_size=None)


def test_crossfade_removes_the_jumps_that_hard_cuts_make():
    hard = _smooth_source(overlap_size=0).frames(0, 0, 20000)
    faded = _smooth_source(overlap_size=16).frames(0, 0, 20000)
    hard_edges, hard_inside = window_edge_steps(hard, 64, 0)
    faded_edges, faded_inside = window_edge_steps(faded, 64, 16)
    assert hard_edges > 5 * hard_inside  # the stand-in's windows do not join up
    assert faded_edges <= 1.5 * faded_inside
    assert np.all(np.abs(faded - 100) <= 10 * np.sqrt(2) + 1e-3)  # equal power: no overshoot


# ---------------------------------------------------------------------------------- I/O
def test_save_with_two_jobs_and_load_give_identical_traces(pair, tmp_path):
    real, synthetic = pair
    saved = synthetic.save(folder=tmp_path / "synthetic", n_jobs=2, progress_bar=True,
                           chunk_duration="0.1s")
    loaded = spikeinterface.load(tmp_path / "synthetic")
    for segment_index in range(synthetic.get_num_segments()):
        expected = synthetic.get_traces(segment_index=segment_index)
        np.testing.assert_array_equal(loaded.get_traces(segment_index=segment_index), expected)
        np.testing.assert_array_equal(saved.get_traces(segment_index=segment_index), expected)
    np.testing.assert_array_equal(loaded.channel_ids, real.channel_ids)
    np.testing.assert_array_equal(loaded.get_channel_locations(), real.get_channel_locations())
    np.testing.assert_array_equal(loaded.get_channel_gains(), real.get_channel_gains())
    np.testing.assert_array_equal(loaded.get_channel_offsets(), real.get_channel_offsets())
    np.testing.assert_array_equal(loaded.get_channel_groups(), real.get_channel_groups())
    assert loaded.get_dtype() == real.get_dtype() and loaded.is_filtered()


def test_kwargs_alone_re_create_the_recording(synthetic32, tmp_path):
    kwargs = synthetic32.to_dict()["kwargs"]
    assert json.loads(json.dumps(kwargs)) == kwargs
    synthetic32.dump(tmp_path / "synthetic.json")
    # Nothing cached in this process: the file is read again and the pool made again.
    recording_module._source_cached.cache_clear()
    recording_module._read_synthesizer_cached.cache_clear()
    reloaded = spikeinterface.load(tmp_path / "synthetic.json")
    assert reloaded._recording_segments[0]._source is not synthetic32._recording_segments[
        0]._source
    for segment_index in range(2):
        np.testing.assert_array_equal(reloaded.get_traces(segment_index=segment_index),
                                      synthetic32.get_traces(segment_index=segment_index))
    assert reloaded.get_annotation("lab") == "unit-test"
    np.testing.assert_array_equal(reloaded.get_channel_locations(),
                                  synthetic32.get_channel_locations())


def test_synthesizer_save_and_read_round_trip(synthesizer32, synthetic32, tmp_path):
    fname = tmp_path / "synthesizer.pt"
    synthesizer32.save(fname)
    with pytest.raises(FileExistsError):
        synthesizer32.save(fname)
    read = read_recording_synthesizer(fname)
    assert read.window_size_ == synthesizer32.window_size_
    np.testing.assert_array_equal(read.channel_ids_, synthesizer32.channel_ids_)
    assert read.get_params()["generator__walk_noise"] == SMALL_32["walk_noise"]
    synthetic = read.sample([1.0, 0.5], random_state=3, pool_size=16)
    assert synthetic._kwargs["file_path"] == str(fname.resolve())
    np.testing.assert_array_equal(synthetic.get_traces(segment_index=0, end_frame=5000),
                                  synthetic32.get_traces(segment_index=0, end_frame=5000))
    elsewhere = read.sample(0.1, random_state=0, pool_size=2, file_path=tmp_path / "copy.pt")
    assert elsewhere._kwargs["file_path"] == str((tmp_path / "copy.pt").resolve())
    with pytest.raises(FileExistsError):
        synthesizer32.sample(0.1, pool_size=2, file_path=tmp_path / "copy.pt")


def test_sample_checks_its_arguments(synthesizer32):
    with pytest.raises(ValueError, match="durations"):
        synthesizer32.sample(-1.0)
    with pytest.raises(TypeError, match="durations"):
        synthesizer32.sample("1s")
    with pytest.raises(ValueError, match="pool_size"):
        synthesizer32.sample(1.0, pool_size=0)


# ---------------------------------------------------------------------------------- privacy
def test_privacy_report_on_the_32_channel_recording(synthesizer32, synthetic32):
    report = synthesizer32.privacy_report(synthetic32, n_windows=900, random_state=0)
    print(report)  # the figures reported in docs/recording.md
    assert isinstance(report, PrivacyReport)
    assert report.n_synthetic == 900
    assert report.n_train == 320 and report.n_heldout == 80
    assert report.membership_inference_auc < 0.6
    assert report.median_dcr_synthetic >= 0.75 * report.median_dcr_heldout
    assert report.dcr_ratio == pytest.approx(
        report.median_dcr_synthetic / report.median_dcr_heldout)
    assert report.fraction_near_copies == 0.0
    text = repr(report)
    assert "membership-inference AUC" in text and f"{report.dcr_ratio:.3f}" in text
    assert set(report.to_dict()) >= {"membership_inference_auc", "dcr_ratio"}


def test_privacy_report_flags_a_recording_spliced_from_training_windows(synthesizer32,
                                                                       recording32):
    """Training windows laid on the synthetic window grid (every other grid position)."""
    hop = synthesizer32.window_size_ - synthesizer32.overlap_size_
    gap = np.zeros((2 * hop - synthesizer32.window_size_, 32), dtype=np.float32)
    rows = synthesizer32.generator_.train_indices_
    spliced = np.concatenate([
        np.concatenate([recording32.get_traces(start_frame=start, end_frame=start + 64), gap])
        for _, start in synthesizer32.window_positions_[rows]])
    report = synthesizer32.privacy_report(sc.NumpyRecording([spliced], SFREQ), n_windows=4096,
                                          random_state=0)
    assert report.membership_inference_auc > 0.9
    assert report.fraction_near_copies >= 0.45
