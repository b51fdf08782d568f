"""Specifications of the recording fidelity report: SpikeInterface's tools on two recordings."""

import json

import numpy as np
import pytest

sc = pytest.importorskip("spikeinterface.core")
spre = pytest.importorskip("spikeinterface.preprocessing")
pytest.importorskip("spikeinterface.sortingcomponents.peak_detection")

from mne_dualdiv.adapters.recording import RecordingSynthesizer  # noqa: E402
from mne_dualdiv.adapters.recording_fidelity import (RecordingFidelityReport,  # noqa: E402
                                                     fidelity_report)

SFREQ = 30000.0


@pytest.fixture(scope="module")
def ground_truth():
    """32 channels, 2 s at 30 kHz, 10 units: spikes on a probe with channel locations."""
    recording, _ = sc.generate_ground_truth_recording(
        num_channels=32, durations=[2.0], sampling_frequency=SFREQ, num_units=10, seed=0)
    return recording


@pytest.fixture(scope="module")
def self_report(ground_truth):
    return fidelity_report(ground_truth, ground_truth, random_state=0)


@pytest.fixture(scope="module")
def scaled_report(ground_truth):
    return fidelity_report(ground_truth, spre.scale(ground_truth, gain=2.0), random_state=0)


def test_a_recording_against_itself_gives_identical_values_and_ratios_of_one(self_report):
    report = self_report
    assert report.n_peaks_real > 0
    assert report.peak_rate_ratio == 1.0
    assert report.peak_amplitude_ratio == 1.0
    assert report.noise_level_ratio == 1.0
    np.testing.assert_array_equal(report.noise_level_ratios, np.ones(32))
    np.testing.assert_array_equal(report.noise_levels_real, report.noise_levels_synthetic)
    np.testing.assert_array_equal(report.peaks_per_channel_real,
                                  report.peaks_per_channel_synthetic)
    np.testing.assert_array_equal(report.psd_real, report.psd_synthetic)
    np.testing.assert_array_equal(report.correlation_real, report.correlation_synthetic)
    assert report.peak_channel_distance == 0.0
    assert report.psd_distance_db == 0.0
    assert report.correlation_rmse == 0.0
    assert report.units == "uV"
    assert report.duration_real == report.duration_synthetic == 2.0


def test_traces_scaled_by_two_double_noise_and_amplitudes_but_not_the_peak_rate(scaled_report):
    report = scaled_report
    assert report.noise_level_ratio == pytest.approx(2.0, rel=1e-3)
    np.testing.assert_allclose(report.noise_level_ratios, 2.0, rtol=1e-3)
    assert report.peak_amplitude_ratio == pytest.approx(2.0, rel=1e-3)
    # The threshold is in MADs, so scaling moves no peak across it.
    assert report.peak_rate_ratio == pytest.approx(1.0, abs=0.01)
    assert report.psd_distance_db == pytest.approx(20 * np.log10(2.0), abs=0.01)
    assert report.correlation_rmse < 1e-4


def test_noise_without_units_has_a_much_lower_peak_rate(ground_truth):
    noise = sc.generate_recording(num_channels=32, durations=[2.0], sampling_frequency=SFREQ,
                                  seed=0)
    report = fidelity_report(ground_truth, noise, random_state=0)
    assert report.peak_rate_real > 50
    assert report.peak_rate_ratio < 0.05
    assert report.units == "raw"  # generate_recording has no gains


def test_the_report_has_shapes_a_reader_can_rely_on(self_report):
    report = self_report
    n_freqs = len(report.psd_frequencies)
    assert report.psd_real.shape == (32, n_freqs)
    assert report.correlation_real.shape == (32, 32)
    np.testing.assert_allclose(np.diag(report.correlation_real), 1.0)
    assert report.amplitude_bin_edges.shape == (41,)
    assert report.amplitude_histogram_real.sum() == report.n_peaks_real
    assert report.peak_amplitude_percentiles_real.shape == (5,)
    assert report.median_peak_amplitude_real == report.peak_amplitude_percentiles_real[2]
    assert report.channel_depths.shape == (32,)
    assert report.peak_depth_percentiles_real.shape == (5,)
    with pytest.raises(ValueError):
        report.noise_levels_real[0] = 0.0  # arrays are read-only
    with pytest.raises(AttributeError):
        report.peak_rate_ratio = 2.0  # frozen


def test_to_dict_is_json_and_repr_shows_the_ratios(self_report):
    as_dict = self_report.to_dict()
    assert json.loads(json.dumps(as_dict))["peak_rate_ratio"] == 1.0
    text = repr(self_report)
    assert text.startswith("<RecordingFidelityReport | 32 channels")
    assert "peaks per second" in text and "noise level" in text


def test_bad_inputs_name_the_argument(ground_truth):
    fewer = ground_truth.select_channels(ground_truth.channel_ids[:16])
    with pytest.raises(ValueError, match="synthetic has 16 channels"):
        fidelity_report(ground_truth, fewer)
    resampled = sc.generate_recording(num_channels=32, durations=[2.0], sampling_frequency=20000.0,
                                      seed=0)
    with pytest.raises(ValueError, match="synthetic is sampled at 20000"):
        fidelity_report(ground_truth, resampled)
    with pytest.raises(TypeError, match="real must be a spikeinterface BaseRecording"):
        fidelity_report(np.zeros((100, 32)), ground_truth)
    with pytest.raises(TypeError, match="synthetic must be a spikeinterface BaseRecording"):
        fidelity_report(ground_truth, "synthetic.bin")
    with pytest.raises(ValueError, match="freq_max"):
        fidelity_report(ground_truth, ground_truth, freq_max=20000.0)
    with pytest.raises(ValueError, match="duration"):
        fidelity_report(ground_truth, ground_truth, duration=0.0)
    with pytest.raises(TypeError, match="privacy"):
        fidelity_report(ground_truth, ground_truth, privacy={"membership_inference_auc": 0.5})


def test_plot_returns_a_figure(scaled_report):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = scaled_report.plot(show=False)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    plt.close(fig)


def test_the_synthesizer_method_delegates_and_duration_bounds_the_stretch(ground_truth):
    report = RecordingSynthesizer().fidelity_report(ground_truth, ground_truth, duration=0.5,
                                                    random_state=0)
    assert isinstance(report, RecordingFidelityReport)
    assert report.duration_real == report.duration_synthetic == 0.5
    assert report.peak_rate_ratio == 1.0
