"""The detector's share of a unit near the threshold, measured on the recording's background."""

import numpy as np
import pytest

pytest.importorskip("spikeinterface")
pytest.importorskip("numba")

from mne_dualdiv.adapters.recording import spikes  # noqa: E402
from mne_dualdiv.adapters.recording.detection import Background, Response  # noqa: E402
from mne_dualdiv.adapters.recording.trains import (  # noqa: E402
    MIN_DETECTED, below_threshold, nearest)

FS, N_CHANNELS, NOISE_UV, NBEFORE, NAFTER = 30000.0, 6, 5.0, 45, 75
LOCATIONS = np.column_stack([np.zeros(N_CHANNELS), 20.0 * np.arange(N_CHANNELS)])
T = np.arange(90) - 30
SHAPE = -np.exp(-0.5 * (T / 4.0) ** 2) + 0.3 * np.exp(-0.5 * ((T - 15) / 8.0) ** 2)
TEMPLATE = (SHAPE[:, None] * np.exp(-0.5 * (np.arange(N_CHANNELS) - 2) ** 2)[None])


def _recording(traces):
    from spikeinterface.core import NumpyRecording

    recording = NumpyRecording(traces, FS)
    recording.set_dummy_probe_from_locations(LOCATIONS)
    return recording


def _band_template():
    image = np.zeros((400, N_CHANNELS), np.float32)
    image[100 + T] += TEMPLATE
    band = spikes.band_filter(image.T[None].copy(), FS)[0]
    return band, -band[2].min()


def _unit_at(ratio, rng, seconds=30.0, n_spikes=450):
    """A line probe of white noise with one unit at ``ratio`` times the threshold."""
    n = int(seconds * FS)
    traces = (NOISE_UV * rng.standard_normal((n, N_CHANNELS))).astype(np.float32)
    level = spikes.noise_levels(spikes.spike_band(_recording(traces.copy())))[2]
    _, trough = _band_template()
    frames = np.sort(rng.choice(np.arange(100, n - 100, 200), n_spikes, replace=False))
    for frame in frames:
        traces[frame + T] += ratio * spikes.DETECT_THRESHOLD * level / trough * TEMPLATE
    band = spikes.spike_band(_recording(traces))
    levels = spikes.noise_levels(band)
    return band, levels, spikes.find_peaks(band, levels), frames


@pytest.fixture(scope="module")
def at_threshold():
    return _unit_at(1.0, np.random.default_rng(0))


def test_no_background_window_holds_a_detected_spike(at_threshold):
    band, levels, peaks, _ = at_threshold
    neighbours = spikes.neighbourhoods(LOCATIONS, N_CHANNELS)
    windows = Background(band, peaks, neighbours, LOCATIONS, NBEFORE, NAFTER,
                         np.random.default_rng(1)).windows(2, n=2000)
    assert windows.shape == (2000, N_CHANNELS, NBEFORE + NAFTER)
    thresholds = spikes.DETECT_THRESHOLD * levels[neighbours[2]]
    # Windows are away from detected peaks: their deepest samples are the background's.
    crossing = (windows < -thresholds[None, :, None]).any(axis=(1, 2))
    assert crossing.mean() < 0.01
    assert 0.9 < np.median(np.abs(windows)) / (0.6745 * levels[2]) < 1.1


@pytest.fixture(scope="module")
def response(at_threshold):
    """The detector's response to the unit of ``at_threshold`` over its background."""
    band, levels, peaks, _ = at_threshold
    neighbours = spikes.neighbourhoods(LOCATIONS, N_CHANNELS)
    template, _ = _band_template()
    return Background(band, peaks, neighbours, LOCATIONS, NBEFORE, NAFTER,
                      np.random.default_rng(1)).response(
        template[neighbours[2], 100 - NBEFORE:100 + NAFTER], 2,
        spikes.DETECT_THRESHOLD * levels)


def test_the_share_rises_from_none_to_all_across_the_threshold(at_threshold, response):
    _, levels, _, _ = at_threshold
    threshold = spikes.DETECT_THRESHOLD * levels[2]
    shares = [response.share(r * threshold) for r in (0.4, 0.8, 1.0, 1.2, 2.0)]
    assert shares[0] < 0.03 and shares[-1] == 1.0
    assert np.all(np.diff(shares) >= 0)
    # The deepest sample over time and channels crosses more often than one sample's normal
    # (0.5 at the threshold).
    assert 0.6 < shares[2] < 0.9


def test_the_inferred_share_is_the_detector_s(at_threshold, response):
    _, levels, peaks, frames = at_threshold
    gap = np.abs(frames[nearest(frames, peaks["sample_index"])] - peaks["sample_index"])
    amplitudes = np.abs(peaks["amplitude"][gap <= 0.0005 * FS])
    true_share = len(amplitudes) / len(frames)
    threshold = spikes.DETECT_THRESHOLD * levels[2]
    amplitude, share, cut = below_threshold(amplitudes, threshold, levels[2], response)
    _, normal_share, _ = below_threshold(amplitudes, threshold, levels[2])
    assert cut and 0.9 < amplitude / threshold < 1.1
    assert abs(share - true_share) < 0.1
    assert abs(share - true_share) < abs(normal_share - true_share)


def test_a_unit_far_below_the_threshold_is_drawn_where_the_detector_finds_the_least_share(
        at_threshold, response):
    # Far below the threshold the detected spikes are the background's deepest samples: the
    # amplitude is poorly told, and the share at it steep. The unit is raised to where the
    # detector finds MIN_DETECTED of its spikes, and the share returned is the detector's
    # there, so that rate / share keeps the count of detected spikes.
    _, levels, _, _ = at_threshold
    threshold = spikes.DETECT_THRESHOLD * levels[2]
    amplitudes = np.random.default_rng(2).normal(0.6 * threshold, levels[2], 40000)
    amplitudes = amplitudes[amplitudes >= threshold]
    amplitude, share, cut = below_threshold(amplitudes, threshold, levels[2], response)
    assert cut and response.share(0.6 * threshold) < 0.2
    assert share == response.share(amplitude)
    assert MIN_DETECTED <= share < MIN_DETECTED + 0.05
    assert response.share(0.97 * amplitude) < MIN_DETECTED
    # With the normal's share, the same bound is the threshold itself.
    normal_amplitude, normal_share, _ = below_threshold(amplitudes, threshold, levels[2])
    assert abs(normal_amplitude / threshold - 1) < 0.01 and abs(normal_share - 0.5) < 0.01


def test_a_response_without_background_detects_nothing():
    response = Response(np.ones((3, 20)) * -1, np.zeros((0, 3, 20)), np.ones(3),
                        np.array([0.0, 20.0, 40.0]), 10, FS)
    assert response.share(5.0) == 0.0
