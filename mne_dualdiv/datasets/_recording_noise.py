"""The simulated recordings' noise: a lazy, seeded SpikeInterface recording of probe noise.

Spatially correlated ``1/f`` noise from latent sources with smooth profiles over depth, a
common-mode component shared by every channel, and independent coloured noise per channel with
its own level, computed in seeded blocks so that any frame range is reproducible
(:class:`SimulatedNoiseRecording`, built by :func:`~mne_dualdiv.datasets.simulate_recording`).
SpikeInterface is imported only when the recording class is first used.
"""

import functools
import math
import threading

import numpy as np

#: The band in which ``noise_level`` holds, in Hz: SpikeInterface's ``bandpass_filter``
#: defaults (5th-order Butterworth applied forward and backward), the band sorters detect in.
BAND_HZ = (300.0, 6000.0)
BAND_FILTER_ORDER = 5
#: Share of a channel's band variance in each noise component (before the independent part's
#: per-channel level): independent noise dominates, as on real probes after amplification, and
#: the rest makes neighbouring channels correlate at about 0.4 and distant ones at about 0.1.
NOISE_SHARES = {"independent": 0.6, "correlated": 0.3, "common": 0.1}
#: Range of the per-channel factor on the independent noise's level (±30 %).
CHANNEL_LEVEL_RANGE = (0.7, 1.3)
#: Spacing of the latent correlated sources along depth and the range of their Gaussian
#: profiles' widths (standard deviations), in µm: neighbouring sources overlap, so that the
#: correlation decays smoothly with distance over 100-300 µm.
LATENT_SPACING_UM = 75.0
LATENT_WIDTH_UM = (50.0, 150.0)
#: Range of the spectral exponents ``alpha`` of the ``1/f^alpha`` sources.
ALPHA_RANGE = (0.8, 1.2)
#: Below this frequency the ``1/f`` spectra are flat (Hz): a finite variance.
ONE_OVER_F_FLOOR_HZ = 2.0
#: The noise rolls off above this fraction of the sampling frequency (first order, as an
#: amplifier's anti-aliasing filter): 9 kHz at 30 kHz.
LOWPASS_FRACTION = 0.3
#: The independent noise's low-frequency shelf: a pole and a zero (Hz), +14 dB below 30 Hz.
SHELF_POLE_HZ, SHELF_ZERO_HZ = 30.0, 150.0
#: Frames per noise block (about 1.1 s at 30 kHz) and taps of the ``1/f`` kernels (0.55 s):
#: a block's ``1/f`` part is the convolution of its white noise and the previous block's last
#: ``KERNEL_TAPS - 1`` frames, an FFT of 49152 = 3 x 2**14 points.
BLOCK_FRAMES = 32768
KERNEL_TAPS = 16385

# Streams of the noise's random numbers (the second entry of each block's seed).
_STREAM_SOURCES, _STREAM_INDEPENDENT = 0, 1


def _band_power_response(frequencies, sampling_frequency):
    """Power response of SpikeInterface's default band-pass (forward-backward Butterworth)."""
    from scipy import signal

    high = min(BAND_HZ[1], 0.45 * sampling_frequency)
    sos = signal.butter(BAND_FILTER_ORDER, [BAND_HZ[0], high], btype="bandpass",
                        fs=sampling_frequency, output="sos")
    _, response = signal.sosfreqz(sos, worN=frequencies, fs=sampling_frequency)
    return np.abs(response) ** 4  # filtered twice: amplitude |H|**2, power |H|**4


def _band_variance(power, band_power, weights):
    """Variance in the band of unit white noise through a filter of power response ``power``."""
    return float(np.sum(weights * power * band_power) / np.sum(weights))


def _one_over_f_kernel(alpha, sampling_frequency):
    """A zero-phase FIR kernel (``KERNEL_TAPS``) of amplitude ``f**(-alpha/2)``, first-order
    roll-off above ``LOWPASS_FRACTION * fs``, flat below ``ONE_OVER_F_FLOOR_HZ``."""
    n = KERNEL_TAPS - 1
    frequencies = np.fft.rfftfreq(n, 1.0 / sampling_frequency)
    amplitude = (np.maximum(frequencies, ONE_OVER_F_FLOOR_HZ) / ONE_OVER_F_FLOOR_HZ) \
        ** (-alpha / 2.0)
    amplitude /= np.sqrt(1.0 + (frequencies / (LOWPASS_FRACTION * sampling_frequency)) ** 2)
    kernel = np.roll(np.fft.irfft(amplitude, n), n // 2)
    kernel = np.append(kernel, kernel[0])  # symmetric, odd length
    return kernel * np.hanning(KERNEL_TAPS)


def _independent_filter(sampling_frequency):
    """(b, a) of the independent noise: a low-frequency shelf then a first-order low-pass."""
    from scipy import signal

    pole = np.exp(-2 * np.pi * SHELF_POLE_HZ / sampling_frequency)
    zero = np.exp(-2 * np.pi * SHELF_ZERO_HZ / sampling_frequency)
    lowpass_b, lowpass_a = signal.butter(1, LOWPASS_FRACTION * sampling_frequency,
                                         fs=sampling_frequency)
    return np.convolve([1.0, -zero], lowpass_b), np.convolve([1.0, -pole], lowpass_a), pole


class _NoiseModel:
    """Everything that defines the noise, derived from its plain arguments and seed.

    Kernels, mixing weights and per-channel levels are computed once, so that each block of
    frames is a pure function of ``(seed, block_index)``.
    """

    def __init__(self, channel_locations, sampling_frequency, noise_level, seed):
        from scipy import signal

        rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
        locations = np.asarray(channel_locations, dtype=float).reshape(len(channel_locations), -1)
        depth = locations[:, -1]
        num_channels = len(depth)
        # Latent sources every LATENT_SPACING_UM over the depth, one width beyond each end.
        margin = LATENT_WIDTH_UM[1]
        num_latent = int(np.floor((np.ptp(depth) + 2 * margin) / LATENT_SPACING_UM)) + 1
        centres = depth.min() - margin + LATENT_SPACING_UM * np.arange(num_latent) \
            + rng.uniform(-0.25, 0.25, num_latent) * LATENT_SPACING_UM
        widths = rng.uniform(*LATENT_WIDTH_UM, num_latent)
        strengths = rng.uniform(0.5, 1.5, num_latent)
        mixing = strengths * np.exp(-0.5 * ((depth[:, None] - centres) / widths) ** 2)
        mixing /= np.linalg.norm(mixing, axis=1, keepdims=True)
        alphas = rng.uniform(*ALPHA_RANGE, num_latent + 1)  # the last one: the common mode
        levels = rng.uniform(*CHANNEL_LEVEL_RANGE, num_channels)

        # Each component scaled to unit variance in the band, from exact responses.
        grid = 2 ** 16
        frequencies = np.fft.rfftfreq(grid, 1.0 / sampling_frequency)
        weights = np.full(len(frequencies), 2.0)
        weights[[0, -1]] = 1.0
        band_power = _band_power_response(frequencies, sampling_frequency)
        kernels = np.stack([_one_over_f_kernel(alpha, sampling_frequency) for alpha in alphas])
        kernel_power = np.abs(np.fft.rfft(kernels, grid, axis=1)) ** 2
        kernels /= np.sqrt([_band_variance(p, band_power, weights) for p in kernel_power])[:, None]
        b, a, pole = _independent_filter(sampling_frequency)
        _, response = signal.freqz(b, a, worN=frequencies, fs=sampling_frequency)
        b = b / np.sqrt(_band_variance(np.abs(response) ** 2, band_power, weights))

        shares = NOISE_SHARES
        channel_sd = np.sqrt(shares["correlated"] + shares["common"]
                             + shares["independent"] * levels ** 2)
        scale = noise_level / np.median(channel_sd)
        self.num_channels = num_channels
        self.fft_size = BLOCK_FRAMES + KERNEL_TAPS - 1
        self.kernel_spectra = np.fft.rfft(kernels, self.fft_size, axis=1).astype(np.complex64)
        # (num_latent + 1, num_channels): latent mixing, then the common mode's equal weights.
        self.source_weights = (scale * np.vstack([
            np.sqrt(shares["correlated"]) * mixing.T,
            np.full((1, num_channels), np.sqrt(shares["common"]))])).astype(np.float32)
        self.independent_b, self.independent_a = b.astype(np.float32), a.astype(np.float32)
        self.independent_levels = (scale * np.sqrt(shares["independent"]) * levels).astype(
            np.float32)
        # Frames of the previous block that warm the independent filter up: its slowest pole
        # decays to 1e-10 over them.
        self.warmup = int(math.ceil(np.log(1e-10) / np.log(pole)))
        self.seed = int(seed)

    def _white(self, stream, block_index, num_rows, tail):
        """Unit white noise (num_rows, tail + BLOCK_FRAMES): the previous block's last ``tail``
        frames, then this block's.

        Each block's tail is drawn first from its generator, so that the next block reads it
        without drawing the whole block again.
        """
        white = np.empty((num_rows, tail + BLOCK_FRAMES), dtype=np.float32)
        previous = np.random.default_rng([self.seed, stream, block_index])
        white[:, :tail] = previous.standard_normal((num_rows, tail), dtype=np.float32)
        current = np.random.default_rng([self.seed, stream, block_index + 1])
        white[:, -tail:] = current.standard_normal((num_rows, tail), dtype=np.float32)
        white[:, tail:-tail] = current.standard_normal((num_rows, BLOCK_FRAMES - tail),
                                                       dtype=np.float32)
        return white

    def block(self, block_index):
        """Frames ``[block_index * BLOCK_FRAMES, (block_index + 1) * BLOCK_FRAMES)``, (frames,
        channels) float32."""
        from scipy import fft, signal

        taps = KERNEL_TAPS - 1
        white = self._white(_STREAM_SOURCES, block_index, len(self.source_weights), taps)
        sources = fft.irfft(fft.rfft(white, axis=1, workers=1) * self.kernel_spectra,
                            self.fft_size, axis=1, workers=1)[:, taps:]
        traces = self.source_weights.T @ sources  # (channels, frames)
        white = self._white(_STREAM_INDEPENDENT, block_index, self.num_channels, self.warmup)
        independent = signal.lfilter(self.independent_b, self.independent_a, white, axis=1)
        independent = independent[:, self.warmup:]
        independent *= self.independent_levels[:, None]
        traces += independent
        return np.ascontiguousarray(traces.T, dtype=np.float32)


@functools.cache
def noise_recording_class():
    """``(SimulatedNoiseRecording, SimulatedNoiseSegment)``, defined on first use.

    SpikeInterface is imported then, not when this module is.
    """
    from spikeinterface.core import BaseRecording, BaseRecordingSegment

    class SimulatedNoiseRecording(BaseRecording):
        """Lazy, seeded noise of a probe: correlated ``1/f``, common mode, per-channel noise.

        Any frame range is computed from seeded blocks of :data:`BLOCK_FRAMES` frames, each a
        pure function of ``(seed, block_index)``, so that overlapping ``get_traces`` calls agree
        exactly and the recording rebuilds from its plain-value ``_kwargs`` (``dump``/``load``,
        ``n_jobs``). See :func:`simulate_recording` for the model.

        Parameters
        ----------
        channel_locations : list of list of float
            (num_channels, 2) contact positions in µm; the last coordinate is the depth.
        sampling_frequency : float
            Sampling frequency in Hz.
        num_samples : int
            Frames in the (single) segment.
        noise_level : float
            Median band (300-6000 Hz) noise level of the channels, in µV.
        seed : int
            Seed of the noise.
        """

        def __init__(self, channel_locations, sampling_frequency, num_samples, noise_level, seed):
            num_channels = len(channel_locations)
            BaseRecording.__init__(self, sampling_frequency=float(sampling_frequency),
                                   channel_ids=[str(c) for c in range(num_channels)],
                                   dtype="float32")
            model = _NoiseModel(channel_locations, float(sampling_frequency), float(noise_level),
                                int(seed))
            self.add_recording_segment(SimulatedNoiseSegment(float(sampling_frequency),
                                                             int(num_samples), model))
            self._kwargs = dict(channel_locations=[list(map(float, row))
                                                   for row in channel_locations],
                                sampling_frequency=float(sampling_frequency),
                                num_samples=int(num_samples), noise_level=float(noise_level),
                                seed=int(seed))

    class SimulatedNoiseSegment(BaseRecordingSegment):
        """The single segment of :class:`SimulatedNoiseRecording`.

        It keeps its last two blocks, so that reading in chunks shorter than a block (1 s, as
        SpikeInterface's jobs do) computes each block once.
        """

        def __init__(self, sampling_frequency, num_samples, model):
            BaseRecordingSegment.__init__(self, sampling_frequency=sampling_frequency)
            self.num_samples = num_samples
            self.model = model
            self._cache = {}
            self._cache_lock = threading.Lock()  # thread-pool jobs share one segment

        def get_num_samples(self):
            return self.num_samples

        def _block(self, block_index):
            with self._cache_lock:
                block = self._cache.get(block_index)
            if block is None:
                block = self.model.block(block_index)
                with self._cache_lock:
                    self._cache[block_index] = block
                    while len(self._cache) > 2:
                        self._cache.pop(next(iter(self._cache)))
            return block

        def get_traces(self, start_frame=None, end_frame=None, channel_indices=None):
            start_frame = 0 if start_frame is None else int(start_frame)
            end_frame = self.num_samples if end_frame is None else int(end_frame)
            traces = np.empty((max(end_frame - start_frame, 0), self.model.num_channels),
                              dtype=np.float32)
            for block_index in range(start_frame // BLOCK_FRAMES,
                                     (end_frame - 1) // BLOCK_FRAMES + 1):
                block_start = block_index * BLOCK_FRAMES
                low = max(start_frame, block_start)
                high = min(end_frame, block_start + BLOCK_FRAMES)
                if high > low:
                    traces[low - start_frame:high - start_frame] = \
                        self._block(block_index)[low - block_start:high - block_start]
            if channel_indices is not None:
                traces = traces[:, channel_indices]
            return traces

    for cls in (SimulatedNoiseRecording, SimulatedNoiseSegment):
        cls.__module__, cls.__qualname__ = __name__, cls.__name__
    return SimulatedNoiseRecording, SimulatedNoiseSegment


def __getattr__(name):
    # The classes need SpikeInterface: built on first access, so that the module imports
    # without it and ``spikeinterface.load`` (which reads ``module.ClassName``) still finds them.
    if name == "SimulatedNoiseRecording":
        return noise_recording_class()[0]
    if name == "SimulatedNoiseSegment":
        return noise_recording_class()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
