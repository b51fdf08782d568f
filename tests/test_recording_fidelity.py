"""Specifications of the recording fidelity report: SpikeInterface's tools on two recordings."""

import json
import os

import numpy as np
import pytest

sc = pytest.importorskip("spikeinterface.core")
spre = pytest.importorskip("spikeinterface.preprocessing")
pytest.importorskip("spikeinterface.sortingcomponents.peak_detection")

from spikeinterface.generation import NoiseGeneratorRecording  # noqa: E402

from mne_dualdiv.adapters.recording.fidelity import (ACCEPTANCE,  # noqa: E402
                                                     RecordingFidelityReport, fidelity_report)
from mne_dualdiv.adapters.recording.privacy import PrivacyReport, unit_linkage  # noqa: E402

SFREQ = 30000.0
DURATION = 3.0
N_CHANNELS = 32


def _noise(noise_levels=5.0, seed=0, cov_matrix=None, probe=None):
    """White Gaussian noise as SpikeInterface generates it, on ``probe``, held in memory."""
    noise = NoiseGeneratorRecording(num_channels=N_CHANNELS, sampling_frequency=SFREQ,
                                    durations=[DURATION], noise_levels=noise_levels,
                                    cov_matrix=cov_matrix, seed=seed, strategy="on_the_fly",
                                    noise_block_size=int(SFREQ))
    if probe is not None:
        noise.set_probe(probe)
    return noise.save(format="memory", progress_bar=False)


@pytest.fixture(scope="module")
def ground_truth():
    """32 channels, 3 s, 10 units on SpikeInterface's white noise (5 µV), and that noise alone."""
    recording, _ = sc.generate_ground_truth_recording(
        num_channels=N_CHANNELS, durations=[DURATION], sampling_frequency=SFREQ, num_units=10,
        seed=0)
    # The same noise (generate_ground_truth_recording's seed, levels and blocks), no spikes.
    noise = _noise(seed=0, probe=recording.get_probe())
    return recording.save(format="memory", progress_bar=False), noise


@pytest.fixture(scope="module")
def self_report(ground_truth):
    recording, _ = ground_truth
    return fidelity_report(recording, recording, random_state=0)


@pytest.fixture(scope="module")
def spike_free_report(ground_truth):
    recording, noise = ground_truth
    return fidelity_report(recording, noise, random_state=0)


def test_a_recording_against_itself_gives_ratios_of_one_and_distances_of_zero(self_report):
    report = self_report
    assert report.n_peaks_real > 100
    assert report.peak_rate_ratio == 1.0
    np.testing.assert_array_equal(report.amplitude_ratios, [1.0, 1.0, 1.0])
    assert report.noise_level_ratio == 1.0
    np.testing.assert_array_equal(report.noise_level_ratios, np.ones(N_CHANNELS))
    assert report.psd_distance_db == report.noise_psd_distance_db == 0.0
    assert report.noise_correlation_rmse == 0.0
    assert report.peak_channel_distance == 0.0
    assert report.compression_ratio_ratio == 1.0 and report.compression_ratio_real > 1
    assert report.units == "uV" and report.detector == "locally_exclusive"
    assert report.duration_real == report.duration_synthetic == DURATION
    assert report.sorter is None and report.sorted_units_real is None
    assert report.passes() == {key: True for key in (
        "peak_rate", "amplitude_p10", "amplitude_p50", "amplitude_p90", "noise_level",
        "noise_psd_db", "noise_correlation_rmse")}


def test_noise_without_spikes_has_a_far_lower_peak_rate(spike_free_report):
    report = spike_free_report
    # One peak per spike: 10 units firing ~15 Hz give ~130 peaks/s on 32 channels.
    assert report.peak_rate_real > 80
    assert report.peak_rate_ratio < 0.05
    assert not report.passes()["peak_rate"]
    assert report.amplitude_percentiles_synthetic[2] < report.amplitude_percentiles_real[2] / 2


def test_masking_peaks_recovers_the_spectrum_of_the_spike_free_noise(spike_free_report):
    report = spike_free_report
    # Spikes add power to the spike band: the plain spectra are several dB apart...
    assert report.psd_distance_db > 2.0
    # ...and masking the samples near detected peaks leaves the background's spectrum.
    assert report.noise_psd_distance_db < 0.5
    assert report.noise_psd_distance_db < report.psd_distance_db / 5
    assert report.noise_correlation_rmse < 0.1
    assert 0.05 < report.masked_share_real < 0.8 and report.masked_share_synthetic < 0.01


def test_doubled_noise_doubles_the_noise_level_and_lifts_the_spectrum_by_6_db(ground_truth):
    probe = ground_truth[0].get_probe()
    report = fidelity_report(_noise(5.0, seed=1, probe=probe), _noise(10.0, seed=2, probe=probe),
                             random_state=0)
    assert report.noise_level_ratio == pytest.approx(2.0, rel=0.03)
    np.testing.assert_allclose(report.noise_level_ratios, 2.0, rtol=0.06)
    assert report.psd_distance_db == pytest.approx(20 * np.log10(2.0), abs=0.3)
    assert report.noise_psd_distance_db == pytest.approx(20 * np.log10(2.0), abs=0.3)
    assert report.noise_correlation_rmse < 0.05  # both independent across channels
    # One quantisation step for both: twice the noise compresses less.
    assert report.compression_ratio_synthetic < report.compression_ratio_real
    passed = report.passes()
    assert not passed["noise_level"] and not passed["noise_psd_db"]
    assert passed["noise_correlation_rmse"]


def test_spatially_correlated_noise_is_told_from_independent_noise(ground_truth):
    probe = ground_truth[0].get_probe()
    # A common component shared by every channel: correlation 0.6 between any two.
    common = np.full((N_CHANNELS, N_CHANNELS), 0.6)
    np.fill_diagonal(common, 1.0)
    report = fidelity_report(_noise(5.0, seed=1, probe=probe),
                             _noise(5.0, seed=2, cov_matrix=common, probe=probe),
                             random_state=0)
    off = ~np.eye(N_CHANNELS, dtype=bool)
    assert np.abs(report.noise_correlation_real[off]).max() < 0.1
    assert report.noise_correlation_synthetic[off].mean() == pytest.approx(0.6, abs=0.05)
    assert report.noise_correlation_rmse > 0.4
    assert not report.passes()["noise_correlation_rmse"]
    assert report.noise_level_ratio == pytest.approx(1.0, abs=0.05)


def test_the_report_has_shapes_a_reader_can_rely_on(self_report):
    report = self_report
    n_freqs = len(report.psd_frequencies)
    for spectrum in (report.psd_real, report.noise_psd_synthetic):
        assert spectrum.shape == (n_freqs,) and np.all(spectrum > 0)
    assert report.noise_correlation_real.shape == (N_CHANNELS, N_CHANNELS)
    np.testing.assert_allclose(np.diag(report.noise_correlation_real), 1.0)
    assert report.amplitude_bin_edges.shape == (41,)
    assert report.amplitude_histogram_real.sum() == report.n_peaks_real
    assert report.amplitude_percentiles_real.shape == (3,)
    assert np.all(np.diff(report.amplitude_percentiles_real) > 0)
    assert report.peaks_per_channel_real.sum() == report.n_peaks_real
    assert report.channel_depths.shape == (N_CHANNELS,)
    # White noise of 5 µV: a one-sided density of 2 * 25 / fs µV²/Hz, the same in the band.
    in_band = (report.psd_frequencies > 1000) & (report.psd_frequencies < 5000)
    assert np.median(report.noise_psd_real[in_band]) == pytest.approx(2 * 25 / SFREQ, rel=0.3)
    with pytest.raises(ValueError):
        report.noise_levels_real[0] = 0.0  # arrays are read-only
    with pytest.raises(AttributeError):
        report.peak_rate_ratio = 2.0  # frozen


def test_to_dict_is_json_and_repr_shows_figures_and_criteria(spike_free_report):
    as_dict = spike_free_report.to_dict()
    decoded = json.loads(json.dumps(as_dict))
    assert decoded["peak_rate_ratio"] == pytest.approx(spike_free_report.peak_rate_ratio)
    assert len(decoded["noise_correlation_real"]) == N_CHANNELS
    text = repr(spike_free_report)
    assert text.startswith("<RecordingFidelityReport | 32 channels at 30000 Hz")
    for label in ("peaks per second", "peak amplitude p50", "band noise level",
                  "compression ratio", "noise PSD distance", "noise correlation RMSE"):
        assert label in text
    assert "1 ± 0.25 FAIL" in text


def test_passes_takes_other_thresholds_and_refuses_unknown_criteria(spike_free_report):
    report = spike_free_report
    assert set(report.passes()) == {"peak_rate", "amplitude_p10", "amplitude_p50",
                                    "amplitude_p90", "noise_level", "noise_psd_db",
                                    "noise_correlation_rmse"}
    assert report.figures()["noise_psd_db"] == report.noise_psd_distance_db
    assert report.passes(dict(peak_rate=1.0))["peak_rate"]
    assert not report.passes(dict(noise_psd_db=0.0))["noise_psd_db"]
    assert set(ACCEPTANCE) >= set(report.passes())
    with pytest.raises(ValueError, match="'criteria' parameter"):
        report.passes(dict(peaks=0.1))
    with pytest.raises(TypeError, match="criteria must be None or a dict"):
        report.passes([("peak_rate", 0.1)])


def test_a_privacy_report_is_shown_and_checked_beside_the_figures(ground_truth):
    recording, _ = ground_truth
    rng = np.random.default_rng(0)
    units = unit_linkage(rng.normal(size=(4, 12, 90)), rng.normal(size=(3, 12, 90)))
    report = fidelity_report(recording, recording, duration=1.0, random_state=0,
                             privacy=PrivacyReport(units))
    assert report.passes()["privacy_units"] == units.passed
    assert "<PrivacyReport" not in repr(report) and "PrivacyReport |" in repr(report)
    assert report.to_dict()["privacy"]["template_source"] == "generated"


def test_duration_bounds_the_stretch_analysed(ground_truth):
    recording, _ = ground_truth
    report = fidelity_report(recording, recording, duration=1.0, random_state=0)
    assert report.duration_real == report.duration_synthetic == 1.0
    assert report.peak_rate_ratio == 1.0
    assert report.n_peaks_real < 0.5 * report.peak_rate_real * DURATION


def test_bad_inputs_name_the_argument(ground_truth):
    recording, _ = ground_truth
    fewer = recording.select_channels(recording.channel_ids[:16])
    with pytest.raises(ValueError, match="synthetic has 16 channels"):
        fidelity_report(recording, fewer)
    resampled = sc.generate_recording(num_channels=N_CHANNELS, durations=[1.0],
                                      sampling_frequency=20000.0, seed=0)
    with pytest.raises(ValueError, match="synthetic is sampled at 20000"):
        fidelity_report(recording, resampled)
    with pytest.raises(TypeError, match="real must be a spikeinterface BaseRecording"):
        fidelity_report(np.zeros((100, N_CHANNELS)), recording)
    with pytest.raises(TypeError, match="synthetic must be a spikeinterface BaseRecording"):
        fidelity_report(recording, "synthetic.bin")
    with pytest.raises(ValueError, match="freq_max"):
        fidelity_report(recording, recording, freq_max=20000.0)
    with pytest.raises(ValueError, match="duration"):
        fidelity_report(recording, recording, duration=0.0)
    with pytest.raises(ValueError, match="'sorter' parameter"):
        fidelity_report(recording, recording, sorter="kilosort4")
    with pytest.raises(TypeError, match="real_sorting must be None or a spikeinterface"):
        fidelity_report(recording, recording, real_sorting=np.arange(10))
    other_rate = sc.NumpySorting.from_samples_and_labels([np.array([10])], [np.array([0])],
                                                         20000.0)
    with pytest.raises(ValueError, match="synthetic_sorting is sampled at 20000"):
        fidelity_report(recording, recording, synthetic_sorting=other_rate)
    with pytest.raises(TypeError, match="privacy must be None or a PrivacyReport"):
        fidelity_report(recording, recording, privacy={"units": 0})
    with pytest.raises(TypeError, match="job_kwargs must be None or a dict"):
        fidelity_report(recording, recording, job_kwargs=2)
    with pytest.raises(ValueError, match="at least 257 are needed"):
        fidelity_report(recording, recording, duration=100 / SFREQ)


@pytest.mark.parametrize("kwargs, error, match", [
    # A duration shorter than a frame (the view had no segment: "min() arg is an empty sequence").
    (dict(duration=1e-6), ValueError, "duration=1e-06 s\\) holds 0 frames"),
    # SpikeInterface's bare AssertionErrors on job arguments.
    (dict(job_kwargs=dict(n_jobs="two")), ValueError, "job_kwargs is not valid.*n_jobs"),
    (dict(job_kwargs=dict(chunks=3)), ValueError, "job_kwargs is not valid.*chunks"),
    # Silently ignored before.
    (dict(sorter_params=dict(detection=dict())), ValueError, "sorter_params is given but sorter"),
    (dict(folder=3), TypeError, "folder must be a str or a path-like"),
    (dict(folder=__file__), ValueError, "folder must be an existing folder"),
])
def test_hostile_arguments_are_refused_by_name_before_any_work(ground_truth, kwargs, error,
                                                               match):
    recording, _ = ground_truth
    with pytest.raises(error, match=match):
        fidelity_report(recording, recording, **kwargs)


def test_plot_refuses_a_show_that_is_not_a_bool(spike_free_report):
    with pytest.raises(TypeError, match="show must be a bool"):
        spike_free_report.plot(show="yes")


def test_plot_returns_a_figure(spike_free_report):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = spike_free_report.plot(show=False)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    plt.close(fig)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("MNE_DUALDIV_TEST_SORTER"),
                    reason="a sorter takes minutes: set MNE_DUALDIV_TEST_SORTER=1")
def test_a_sorter_gives_units_quality_metrics_and_ground_truth_accuracy():
    pytest.importorskip("numba")
    pytest.importorskip("hdbscan")
    recording, truth = sc.generate_ground_truth_recording(
        num_channels=16, durations=[10.0], sampling_frequency=SFREQ, num_units=5, seed=0)
    report = fidelity_report(recording, recording, sorter="tridesclous2", real_sorting=truth,
                             synthetic_sorting=truth, random_state=0)
    assert isinstance(report, RecordingFidelityReport)
    # The sorter is not bit-reproducible (one recording sorted twice may differ by a unit):
    # the same recording passes the criteria, with no exact equality asked.
    assert report.sorted_units_real >= 3 and report.sorted_units_synthetic >= 3
    for side in ("real", "synthetic"):
        metrics = getattr(report, f"quality_metrics_{side}")
        for column in ("snr", "firing_rate", "isi_violations_ratio", "amplitude_cutoff"):
            assert metrics[column].shape == (getattr(report, f"sorted_units_{side}"),)
        assert np.all(metrics["snr"] > 0)
    assert report.ground_truth_accuracy_synthetic.shape == (5,)
    assert report.ground_truth_found_synthetic >= 0.6
    passed = report.passes()
    assert passed["sorted_units"] and passed["ks_snr"] and passed["ks_firing_rate"]
    assert "units sorted by tridesclous2" in repr(report)
