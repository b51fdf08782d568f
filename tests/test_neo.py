"""Specifications of the neo adapter: AnalogSignal, Segment and Block in, the same kinds out."""

import datetime

import numpy as np
import pytest

neo = pytest.importorskip("neo")
pq = pytest.importorskip("quantities")
pytest.importorskip("spikeinterface")

from mne_dualdiv.adapters.neo import NeoSynthesizer  # noqa: E402
from mne_dualdiv.adapters.recording import RecordingSynthesizer  # noqa: E402
from mne_dualdiv.adapters.recording.privacy import PrivacyReport  # noqa: E402

#: Small fits: spikes of the first 10 s, background from 2 one-second chunks. The fits of this
#: module check the plumbing, not the quality.
SMALL = dict(fit_duration=10.0, noise_duration=2.0)


def make_signal(n_channels=4, rate=1000.0, duration=8.0, seed=0, units="uV", t_start=5.0,
                name="LFP"):
    """Smooth noise with a 10 Hz rhythm and channel-specific offsets, as float32."""
    rng = np.random.default_rng(seed)
    n = int(duration * rate)
    noise = rng.standard_normal((n + 50, n_channels)).cumsum(0)
    smooth = noise[50:] - noise[:-50]
    rhythm = 20 * np.sin(2 * np.pi * 10 * np.arange(n) / rate)[:, None]
    data = (smooth + rhythm + np.arange(n_channels) * 30).astype(np.float32)
    names = np.array([f"{name}{i}" for i in range(n_channels)])
    return neo.AnalogSignal(
        data, units=units, sampling_rate=rate * pq.Hz, t_start=t_start * pq.s, name=name,
        description=f"{name} test signal", file_origin="made_in_test.nix",
        array_annotations=dict(channel_names=names, channel_ids=np.arange(n_channels)),
        area="CA1", filtered=True)


def make_spiking_signal(duration=4.0, n_channels=4, n_units=3, seed=0):
    """A 10 kHz extracellular signal in uV with units (SpikeInterface's ground-truth generator)."""
    from spikeinterface.core import generate_ground_truth_recording

    recording, _ = generate_ground_truth_recording(
        num_channels=n_channels, durations=[duration], sampling_frequency=10000.0,
        num_units=n_units, seed=seed)
    return neo.AnalogSignal(recording.get_traces(), units="uV", sampling_rate=10 * pq.kHz,
                            t_start=0 * pq.s, name="tetrode",
                            array_annotations=dict(channel_names=np.array(
                                [f"wire {i}" for i in range(n_channels)])))


def synthesizer(**params):
    return NeoSynthesizer(**dict(dict(random_state=0, **SMALL), **params))


def peak_count(signal):
    """Negative peaks beyond 5 MAD of the 300-3000 Hz band, on any channel (SpikeInterface)."""
    import spikeinterface.preprocessing as spre
    from spikeinterface.core import NumpyRecording
    from spikeinterface.sortingcomponents.peak_detection import detect_peaks

    recording = spre.bandpass_filter(NumpyRecording(
        [np.asarray(signal.magnitude, dtype=np.float32)],
        float(signal.sampling_rate.rescale("Hz"))), freq_min=300.0, freq_max=3000.0)
    peaks = detect_peaks(recording, method="by_channel",
                         method_kwargs=dict(peak_sign="neg", detect_threshold=5),
                         job_kwargs=dict(n_jobs=1, progress_bar=False))
    return len(peaks)


def assert_signal_like(synthetic, real, duration=None):
    assert isinstance(synthetic, neo.AnalogSignal)
    assert synthetic.units == real.units
    assert synthetic.dtype == real.dtype
    assert synthetic.sampling_rate == real.sampling_rate
    assert synthetic.t_start == real.t_start
    assert synthetic.shape[1] == real.shape[1]
    expected = real.shape[0] if duration is None else int(round(
        duration * float(real.sampling_rate.rescale("Hz"))))
    assert synthetic.shape[0] == expected
    assert synthetic.name == real.name and synthetic.description == real.description
    assert synthetic.file_origin == real.file_origin
    assert synthetic.annotations == real.annotations
    assert set(synthetic.array_annotations) == set(real.array_annotations)
    for key, values in real.array_annotations.items():
        np.testing.assert_array_equal(synthetic.array_annotations[key], values)
    assert np.all(np.isfinite(synthetic.magnitude))
    assert not np.shares_memory(synthetic.magnitude, real.magnitude)


# ---------------------------------------------------------------------------------- fixtures
pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.fixture(scope="module")
def signal():
    return make_signal()


@pytest.fixture(scope="module")
def fitted_signal(signal):
    return synthesizer().fit(signal)


@pytest.fixture(scope="module")
def segment():
    segment = neo.Segment(name="trial 1", description="two streams", index=3,
                          rec_datetime=datetime.datetime(2020, 1, 2, 3, 4, 5), condition="rest")
    segment.analogsignals.append(make_signal(seed=1))
    segment.analogsignals.append(make_signal(n_channels=2, rate=250.0, seed=2, units="mV",
                                             t_start=0.5, name="EMG"))
    segment.spiketrains.append(neo.SpikeTrain([5.5, 6.0] * pq.s, t_start=5 * pq.s,
                                              t_stop=13 * pq.s))
    return segment


@pytest.fixture(scope="module")
def block():
    block = neo.Block(name="session", description="two segments", file_origin="session.nix",
                      rec_datetime=datetime.datetime(2021, 5, 6), subject="mouse 7")
    for index in range(2):
        segment = neo.Segment(name=f"segment {index}", index=index, trial=index)
        segment.analogsignals.append(make_signal(seed=10 + index, duration=4.0,
                                                 t_start=100.0 * index))
        block.segments.append(segment)
    return block


# ---------------------------------------------------------------------------------- signal
def test_analog_signal_round_trip_keeps_every_field(signal, fitted_signal):
    synthetic = fitted_signal.sample(random_state=0)
    assert fitted_signal.kind_ == "analogsignal"
    assert_signal_like(synthetic, signal)


def test_analog_signal_values_are_new_and_in_the_input_units(signal, fitted_signal):
    synthetic = fitted_signal.sample(2.0, random_state=1)
    assert_signal_like(synthetic, signal, duration=2.0)
    real = signal.magnitude
    assert not any(np.allclose(synthetic.magnitude[:64], real[i:i + 64])
                   for i in range(0, len(real) - 64, 16))
    # Channel offsets (0, 30, 60, 90 uV) survive: the values are in the signal's units.
    np.testing.assert_allclose(np.median(synthetic.magnitude, 0), np.median(real, 0), atol=15)


def test_sampling_is_seeded(fitted_signal):
    first = fitted_signal.sample(1.0, random_state=7)
    np.testing.assert_array_equal(first.magnitude, fitted_signal.sample(
        1.0, random_state=7).magnitude)
    assert not np.array_equal(first.magnitude, fitted_signal.sample(
        1.0, random_state=8).magnitude)


def test_a_slow_stream_is_background_only_and_has_no_privacy_report(signal, fitted_signal):
    # 1 kHz has no spike band: the stream is synthesized as background, with nothing to link.
    assert fitted_signal.synthesizers_[0].units_ is None
    assert fitted_signal.privacy_report(signal, random_state=0) == [None]


# ---------------------------------------------------------------------------------- spikes
@pytest.fixture(scope="module")
def spiking_signal():
    return make_spiking_signal()


@pytest.fixture(scope="module")
def fitted_spiking(spiking_signal):
    # max_snippets below the number of spikes: the rest are held out for the privacy report.
    return synthesizer(max_snippets=40).fit(spiking_signal)


def test_a_spiking_stream_gets_synthetic_units(spiking_signal, fitted_spiking):
    stream = fitted_spiking.synthesizers_[0]
    assert stream.units_ is not None and stream.n_real_units_ >= 1 and stream.peak_rate_ > 0
    synthetic = fitted_spiking.sample(2.0, random_state=0)
    assert_signal_like(synthetic, spiking_signal, duration=2.0)
    assert peak_count(synthetic) > 0
    np.testing.assert_array_equal(synthetic.magnitude,
                                  fitted_spiking.sample(2.0, random_state=0).magnitude)


def test_no_unit_asked_for_gives_the_background_alone(fitted_spiking):
    synthetic = fitted_spiking.sample(2.0, random_state=0)
    background = fitted_spiking.sample(2.0, random_state=0, n_units=0)
    assert peak_count(background) < peak_count(synthetic) / 4


def test_privacy_report_per_stream(spiking_signal, fitted_spiking):
    reports = fitted_spiking.privacy_report(spiking_signal, 2.0, random_state=0)
    assert len(reports) == 1 and isinstance(reports[0], PrivacyReport)
    report = reports[0]
    assert report.units.n_real == fitted_spiking.synthesizers_[0].n_real_units_
    assert 1 <= report.units.n_synthetic <= report.units.n_real
    assert report.snippets is not None and 0.0 <= report.snippets.share_closer <= 1.0
    assert report.membership.sizes["n_nonmembers"] == report.snippets.n_heldout
    assert set(report.passes()) == {"units", "snippets", "membership"}
    # The audited recording is the one sample() made with the same arguments.
    again = fitted_spiking.privacy_report(spiking_signal, 2.0, random_state=0)[0]
    np.testing.assert_array_equal(again.units.best_similarity, report.units.best_similarity)


def test_privacy_report_checks_the_real_object(spiking_signal, fitted_spiking, signal):
    with pytest.raises(TypeError, match="obj must be a neo.AnalogSignal, Segment or Block"):
        fitted_spiking.privacy_report(spiking_signal.magnitude)
    segment = neo.Segment()
    segment.analogsignals += [spiking_signal, spiking_signal]
    with pytest.raises(ValueError, match="2 stream"):
        fitted_spiking.privacy_report(segment)
    with pytest.raises(ValueError, match="Stream 0 of obj has 2 channel"):
        fitted_spiking.privacy_report(spiking_signal[:, :2])


# ---------------------------------------------------------------------------------- segment
def test_segment_round_trip_keeps_streams_annotations_and_drops_spikes(segment):
    fitted = synthesizer().fit(segment)
    assert fitted.kind_ == "segment" and len(fitted.synthesizers_) == 2
    synthetic = fitted.sample(random_state=0)
    assert isinstance(synthetic, neo.Segment)
    assert synthetic.name == segment.name and synthetic.description == segment.description
    assert synthetic.index == segment.index and synthetic.rec_datetime == segment.rec_datetime
    assert synthetic.annotations == segment.annotations
    assert len(synthetic.analogsignals) == 2
    for synthetic_signal, real_signal in zip(synthetic.analogsignals, segment.analogsignals):
        assert_signal_like(synthetic_signal, real_signal)
        assert synthetic_signal.segment is synthetic
    assert len(synthetic.spiketrains) == 0
    shorter = fitted.sample(1.0, random_state=0)
    assert [s.shape[0] for s in shorter.analogsignals] == [1000, 250]


# ---------------------------------------------------------------------------------- block
def test_block_round_trip_keeps_segments_and_annotations(block):
    fitted = synthesizer().fit(block)
    synthetic = fitted.sample(random_state=0)
    assert isinstance(synthetic, neo.Block) and fitted.kind_ == "block"
    for field in ("name", "description", "file_origin", "rec_datetime", "annotations"):
        assert getattr(synthetic, field) == getattr(block, field)
    assert len(synthetic.segments) == 2
    for synthetic_segment, real_segment in zip(synthetic.segments, block.segments):
        assert synthetic_segment.block is synthetic
        assert synthetic_segment.name == real_segment.name
        assert synthetic_segment.annotations == real_segment.annotations
        assert_signal_like(synthetic_segment.analogsignals[0], real_segment.analogsignals[0])
    durations = fitted.sample([1.0, 2.0], random_state=0)
    assert [s.analogsignals[0].shape[0] for s in durations.segments] == [1000, 2000]
    with pytest.raises(ValueError, match="segment"):
        fitted.sample([1.0], random_state=0)


def test_inputs_are_checked():
    with pytest.raises(TypeError, match="AnalogSignal, Segment or Block"):
        synthesizer().fit(np.zeros((100, 2)))
    bad = make_signal(duration=1.0)
    bad[3, 1] = np.nan * pq.uV
    with pytest.raises(ValueError, match="NaN"):
        synthesizer().fit(bad)
    with pytest.raises(ValueError, match="no analog signal"):
        synthesizer().fit(neo.Segment())
    with pytest.raises(RuntimeError, match="not fitted"):
        NeoSynthesizer().sample()
    with pytest.raises(RuntimeError, match="not fitted"):
        NeoSynthesizer().privacy_report(make_signal(duration=1.0))
    # The background is fitted on one-second chunks: the error names the stream.
    with pytest.raises(ValueError, match=r"Stream 0 \('LFP'\).*at least 1 s"):
        synthesizer().fit(make_signal(duration=0.5))


# ---------------------------------------------------------------------------------- EDF
@pytest.fixture(scope="module")
def edf_file(tmp_path_factory):
    edfio = pytest.importorskip("edfio")
    rate, duration = 256, 30
    rng = np.random.default_rng(0)
    t = np.arange(rate * duration) / rate
    signals = [edfio.EdfSignal(
        30 * np.sin(2 * np.pi * (8 + i) * t) + rng.normal(0, 5, len(t)).cumsum() % 40 - 20,
        sampling_frequency=rate, label=f"EEG {name}", physical_dimension="uV",
        physical_range=(-500, 500)) for i, name in enumerate(["Fz", "Cz", "Pz", "Oz"])]
    fname = tmp_path_factory.mktemp("edf") / "recording.edf"
    edfio.Edf(signals).write(fname)
    return fname


def test_edf_read_through_neo_works_end_to_end(edf_file, tmp_path):
    pytest.importorskip("pyedflib")
    edfio = pytest.importorskip("edfio")
    block = neo.io.EDFIO(str(edf_file)).read_block()
    fitted = synthesizer().fit(block)
    synthetic = fitted.sample(random_state=0)
    real_signal = block.segments[0].analogsignals[0]
    synthetic_signal = synthetic.segments[0].analogsignals[0]
    assert_signal_like(synthetic_signal, real_signal)
    np.testing.assert_array_equal(synthetic_signal.array_annotations["channel_names"],
                                  ["EEG Fz", "EEG Cz", "EEG Pz", "EEG Oz"])
    assert synthetic.annotations == block.annotations
    # The synthetic block goes back to EDF and reads again.
    values = synthetic_signal.magnitude.astype(np.float64)
    out = tmp_path / "synthetic.edf"
    edfio.Edf([edfio.EdfSignal(values[:, i], sampling_frequency=256, label=str(name),
                               physical_dimension="uV", physical_range=(-500, 500))
               for i, name in enumerate(synthetic_signal.array_annotations["channel_names"])]
              ).write(out)
    again = neo.io.EDFIO(str(out)).read_block().segments[0].analogsignals[0]
    np.testing.assert_allclose(again.magnitude, values, atol=0.02)


def test_edf_read_through_spikeinterface_works_end_to_end(edf_file, tmp_path):
    pytest.importorskip("pyedflib")
    from spikeinterface import load
    from spikeinterface.extractors import read_edf

    recording = read_edf(edf_file)
    fitted = RecordingSynthesizer(random_state=0, **SMALL).fit(recording)
    synthetic = fitted.sample(10.0, random_state=0,
                               file_path=tmp_path / "synthesizer.pt")
    assert synthetic.get_dtype() == recording.get_dtype() == np.int16
    np.testing.assert_array_equal(synthetic.get_channel_gains(), recording.get_channel_gains())
    np.testing.assert_array_equal(synthetic.get_property("channel_name"),
                                  recording.get_property("channel_name"))
    saved = synthetic.save(folder=tmp_path / "synthetic", n_jobs=2, progress_bar=False)
    np.testing.assert_array_equal(load(tmp_path / "synthetic").get_traces(), saved.get_traces())
    in_uv = synthetic.get_traces(return_in_uV=True)
    assert np.abs(in_uv).max() <= 500


def test_raw_binary_file_read_through_neo_works_end_to_end(tmp_path):
    """A raw int16 file, as many acquisition systems write, read by neo.io.RawBinarySignalIO."""
    rng = np.random.default_rng(3)
    data = (rng.normal(0, 40, (8 * 2000 + 30, 3)).cumsum(0)[30:] -
            rng.normal(0, 40, (8 * 2000 + 30, 3)).cumsum(0)[:-30]).astype(np.int16)
    fname = tmp_path / "raw.dat"
    data.tofile(fname)
    io = neo.io.RawBinarySignalIO(str(fname), dtype="int16", sampling_rate=2000.0, nb_channel=3,
                                  signal_gain=0.195, signal_offset=0.0)
    block = io.read_block()
    real = block.segments[0].analogsignals[0]
    synthetic = synthesizer().fit(block).sample(random_state=0)
    assert_signal_like(synthetic.segments[0].analogsignals[0], real)
