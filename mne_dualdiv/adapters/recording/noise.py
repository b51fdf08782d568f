"""The background of a recording: a stationary Gaussian process fitted with the spikes masked.

Model. The traces ``x(t)`` of ``C`` channels, once the detected spikes are masked out, are
taken as a stationary Gaussian process with cross-spectral density

    S_cd(f) = sqrt(P_c(f) P_d(f)) * sum_b w_b(f)^2 R_b[c, d]

where ``P_c`` is channel ``c``'s power spectrum (masked Welch), ``w_b`` are power-complementary
crossover weights of a few frequency bands (``sum_b w_b^2 = 1``; edges
:data:`BAND_EDGES_HZ`) and ``R_b`` is the channel correlation within band ``b``. One matrix
per band lets a correlated low band (LFP, common-mode hum) differ from a less correlated
spike band, as on real probes. Per-channel offsets (medians of the raw traces) are kept.

Synthesis. Band ``b`` is white noise (seeded by ``(seed, segment, band, block)`` in blocks
of :data:`BLOCK_FRAMES` frames) mixed by the symmetric square root of ``R_b`` and filtered
per channel by a zero-phase FIR kernel with gain ``w_b(f) sqrt(P_c(f))``; the bands are
summed, on a fixed grid of output blocks: any frame range is computed from the blocks it
touches, so overlapping calls agree bit for bit and a recording is never held in memory.

What is measured and why: ``docs/recording.md`` (noise PSD within 0.5 dB and correlation
RMSE 0.07-0.10 on simulated probes, against 3.7-4.6 dB and 0.22-0.32 for v1's crossfaded
windows).
"""

from collections import OrderedDict
import threading

import numpy as np
import scipy.fft
import scipy.signal

#: Edges (Hz) of the bands with their own channel correlation: below the spike band and in it.
#: A third band (edge 1,500 Hz) cost half as much time again for a 384-channel recording
#: (each band is one white-noise draw and one channel x channel product per frame).
BAND_EDGES_HZ = (300.0,)
#: Width (Hz) of each crossover between bands.
CROSSOVER_HZ = 100.0
#: Spectral resolution aimed at by the Welch segment (a power of two near fs / 15 Hz).
FREQUENCY_RESOLUTION_HZ = 15.0
#: Frames per seeded white-noise block (0.55 s at 30 kHz).
BLOCK_FRAMES = 16384
#: Smallest eigenvalue kept in a correlation matrix (the rest is clipped: positive definite).
MIN_EIGENVALUE = 1e-4


def welch_length(sampling_frequency):
    """Welch segment (= FIR length): the power of two nearest ``fs / 15 Hz``, 64 to 4096."""
    n = 2 ** int(np.round(np.log2(sampling_frequency / FREQUENCY_RESOLUTION_HZ)))
    return int(np.clip(n, 64, 4096))


def band_edges(sampling_frequency):
    """The band edges that lie well below the Nyquist frequency."""
    return tuple(e for e in BAND_EDGES_HZ if e + CROSSOVER_HZ < 0.45 * sampling_frequency)


def band_weights(freqs, edges, width=CROSSOVER_HZ):
    """Power-complementary crossover weights (rows: bands; squares sum to 1 at every f)."""
    weights, rest = [], np.ones_like(freqs, dtype=float)
    for edge in edges:
        x = np.clip((freqs - (edge - width / 2)) / width, 0, 1)
        weights.append(rest * np.cos(np.pi / 2 * x))
        rest = rest * np.sin(np.pi / 2 * x)
    weights.append(rest)
    return np.array(weights)


def spike_mask(n_frames, n_channels, frames, channels, neighbours, before, after, ramp=0):
    """1 where no detected spike is near, 0 around each spike on its neighbourhood.

    ``ramp`` (frames) smooths the edges with a Hann window, so that masking does not add
    sharp steps to the spectrum.
    """
    mask = np.ones((n_frames, n_channels))
    for frame, channel in zip(frames, channels):
        mask[max(0, frame - before):max(0, frame + after), neighbours[channel]] = 0.0
    if ramp > 1:
        window = np.hanning(ramp + 2)[1:-1]
        mask = scipy.signal.fftconvolve(mask, (window / window.sum())[:, None], mode="same",
                                        axes=0)
    return np.clip(mask, 0.0, 1.0)


def _nearest_correlation(corr):
    """Symmetric, unit-diagonal and positive definite (eigenvalues clipped, rescaled)."""
    corr = (corr + corr.T) / 2
    np.fill_diagonal(corr, 1.0)
    values, vectors = np.linalg.eigh(corr)
    corr = (vectors * np.clip(values, MIN_EIGENVALUE, None)) @ vectors.T
    scale = np.sqrt(np.diag(corr))
    return corr / scale[:, None] / scale[None]


class NoiseModel:
    """A fitted stationary Gaussian background: spectra, band correlations and offsets.

    Parameters
    ----------
    psd : ndarray, shape (n_freqs, n_channels)
        Power spectrum of each channel (per sample: white noise of variance ``s^2`` gives
        ``s^2`` at every frequency), on ``rfftfreq(n_fft, 1 / sampling_frequency)``.
    correlations : ndarray, shape (n_bands, n_channels, n_channels)
        Channel correlation within each band.
    offsets : ndarray, shape (n_channels,)
        Constant added to every channel (the medians of the raw traces).
    sampling_frequency : float
        In Hz.
    """

    def __init__(self, psd, correlations, offsets, sampling_frequency):
        self.psd = np.asarray(psd, dtype=np.float64)
        self.correlations = np.asarray(correlations, dtype=np.float64)
        self.offsets = np.asarray(offsets, dtype=np.float64)
        self.sampling_frequency = float(sampling_frequency)
        self.n_fft = 2 * (len(self.psd) - 1)
        edges = band_edges(self.sampling_frequency)
        if len(edges) + 1 != len(self.correlations):
            raise ValueError(f"{len(self.correlations)} band correlations for the "
                             f"{len(edges) + 1} bands of {self.sampling_frequency} Hz.")
        freqs = np.fft.rfftfreq(self.n_fft, 1 / self.sampling_frequency)
        weights = band_weights(freqs, edges)
        taper = scipy.signal.windows.tukey(self.n_fft, 0.5)
        self._kernels = np.empty((len(weights), self.n_fft, self.psd.shape[1]), np.float32)
        self._mixings = np.empty_like(self.correlations, dtype=np.float32)
        for b, weight in enumerate(weights):
            gain = np.sqrt(self.psd) * weight[:, None]  # zero-phase |H| per channel
            kernel = np.fft.fftshift(np.fft.irfft(gain, n=self.n_fft, axis=0), axes=0)
            self._kernels[b] = kernel * taper[:, None]
            values, vectors = np.linalg.eigh(self.correlations[b])
            self._mixings[b] = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
        self._blocks, self._lock = OrderedDict(), threading.Lock()
        self._kernel_spectra = {}

    def _kernel_spectrum(self, band, size):
        """The FFT of a band's kernels at ``size`` (cached: chunks mostly share one size)."""
        key = (band, size)
        with self._lock:
            spectrum = self._kernel_spectra.get(key)
        if spectrum is None:
            spectrum = scipy.fft.rfft(self._kernels[band], n=size, axis=0)
            with self._lock:
                if len(self._kernel_spectra) > 4 * len(self._kernels):
                    self._kernel_spectra.clear()
                self._kernel_spectra[key] = spectrum
        return spectrum

    @property
    def n_channels(self):
        return self.psd.shape[1]

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(cls, recording, peaks, neighbours, before, after, starts, chunk_frames):
        """Fit on the raw traces of ``recording`` with the samples near ``peaks`` masked.

        Parameters
        ----------
        recording : BaseRecording
            The raw recording (stored units).
        peaks : structured ndarray
            Detected peaks (``sample_index``, ``channel_index``, ``segment_index``).
        neighbours : sequence of int arrays
            Channels masked around a peak, for each peak channel.
        before, after : int
            Frames masked before and after a peak.
        starts : list of (segment_index, first_frame)
            Chunks read (``chunk_frames`` each), one at a time.
        chunk_frames : int
            Length of a chunk.

        Returns
        -------
        model : NoiseModel
        """
        fs = float(recording.sampling_frequency)
        n_channels = recording.get_num_channels()
        n_fft = welch_length(fs)
        window = scipy.signal.get_window("hann", n_fft)
        edges = band_edges(fs)
        filters = [scipy.signal.butter(3, edge, "lowpass", fs=fs, output="sos")
                   for edge in edges[:1]]
        filters += [scipy.signal.butter(3, [lo, hi], "bandpass", fs=fs, output="sos")
                    for lo, hi in zip(edges[:-1], edges[1:])]
        filters += [scipy.signal.butter(3, edges[-1], "highpass", fs=fs, output="sos")
                    ] if edges else []
        n_bands = len(edges) + 1
        psd_sum = np.zeros((n_fft // 2 + 1, n_channels))
        psd_norm = np.zeros(n_channels)
        cross = np.zeros((n_bands, n_channels, n_channels))
        power = np.zeros((n_bands, n_channels, n_channels))
        offsets = []
        ramp = int(3e-4 * fs)
        for segment, start in starts:
            x = recording.get_traces(start_frame=int(start), end_frame=int(start) + chunk_frames,
                                     segment_index=int(segment),
                                     return_in_uV=False).astype(np.float64)
            median = np.median(x, axis=0)
            offsets.append(median)
            x -= median
            near = ((peaks["segment_index"] == segment) & (peaks["sample_index"] >= start)
                    & (peaks["sample_index"] < start + chunk_frames))
            mask = spike_mask(len(x), n_channels, peaks["sample_index"][near] - start,
                              peaks["channel_index"][near], neighbours, before, after, ramp)
            for a in range(0, len(x) - n_fft + 1, n_fft // 2):  # masked Welch, 50 % overlap
                weighted = window[:, None] * mask[a:a + n_fft]
                psd_sum += np.abs(np.fft.rfft(weighted * x[a:a + n_fft], axis=0)) ** 2
                psd_norm += (weighted ** 2).sum(axis=0)
            for b in range(n_bands):  # correlation of each band over jointly unmasked samples
                y = scipy.signal.sosfiltfilt(filters[b], x, axis=0) if n_bands > 1 else x
                masked = mask * y
                cross[b] += masked.T @ masked  # sum of m_i m_j y_i y_j
                power[b] += (mask * y * y).T @ mask  # sum of m_i m_j y_i^2: the same weights
        psd = psd_sum / np.maximum(psd_norm, 1e-12)
        correlations = np.array([
            _nearest_correlation(cross[b] / np.sqrt(power[b] * power[b].T + 1e-300))
            for b in range(n_bands)])
        return cls(psd, correlations, np.median(offsets, axis=0), fs)

    # ------------------------------------------------------------------ synthesis
    def _white(self, seed, band, lo, hi):
        """Unit white noise of frames ``[lo, hi)`` (``lo`` may be negative)."""
        out = np.empty((hi - lo, self.n_channels), dtype=np.float32)
        for block in range(lo // BLOCK_FRAMES, (hi - 1) // BLOCK_FRAMES + 1):
            key = (*seed, band, block)
            with self._lock:
                values = self._blocks.get(key)
                if values is not None:
                    self._blocks.move_to_end(key)
            if values is None:
                # Block indices may be negative (the first kernel's half): offset them.
                rng = np.random.default_rng([*seed, band, block + 2**31])
                values = rng.standard_normal((BLOCK_FRAMES, self.n_channels), dtype=np.float32)
                with self._lock:
                    self._blocks[key] = values
                    while len(self._blocks) > 4 * len(self._mixings):
                        self._blocks.popitem(last=False)
            first = block * BLOCK_FRAMES
            a, z = max(lo, first), min(hi, first + BLOCK_FRAMES)
            out[a - lo:z - lo] = values[a - first:z - first]
        return out

    def traces(self, seed, start, end):
        """Frames ``[start, end)`` of the noise seeded by ``seed`` (a tuple of ints).

        Computed block by block on a fixed grid of :data:`BLOCK_FRAMES` frames (one FFT
        length), so that any two calls agree bit for bit on the frames they share.

        Returns
        -------
        traces : ndarray of float32, shape (end - start, n_channels)
        """
        out = np.empty((max(end - start, 0), self.n_channels), dtype=np.float32)
        for block in range(start // BLOCK_FRAMES, (end - 1) // BLOCK_FRAMES + 1):
            first = block * BLOCK_FRAMES
            a, z = max(start, first), min(end, first + BLOCK_FRAMES)
            out[a - start:z - start] = self._output_block(seed, block)[a - first:z - first]
        return out

    def _output_block(self, seed, block):
        """Noise frames of one block of the grid (cached: neighbouring calls share blocks)."""
        key = ("out", *seed, block)
        with self._lock:
            cached = self._blocks.get(key)
            if cached is not None:
                self._blocks.move_to_end(key)
                return cached
        start, end = block * BLOCK_FRAMES, (block + 1) * BLOCK_FRAMES
        taps, half = self.n_fft, self.n_fft // 2
        size = scipy.fft.next_fast_len(end - start + taps - 1, real=True)
        spectrum = 0
        for b in range(len(self._mixings)):
            mixed = self._white(seed, b, start - (taps - 1) + half, end + half) @ self._mixings[b]
            spectrum = spectrum + (scipy.fft.rfft(mixed, n=size, axis=0)
                                   * self._kernel_spectrum(b, size))
        total = scipy.fft.irfft(spectrum, n=size, axis=0)[taps - 1:taps - 1 + end - start]
        total = (total + self.offsets).astype(np.float32)
        with self._lock:
            self._blocks[key] = total
            while len(self._blocks) > 6 * (len(self._mixings) + 1):
                self._blocks.popitem(last=False)
        return total

    # ------------------------------------------------------------------ state
    def get_state(self):
        """Arrays of the model (float64), for the synthesizer's file."""
        return dict(psd=self.psd, correlations=self.correlations, offsets=self.offsets,
                    sampling_frequency=self.sampling_frequency)


def noise_chunks(recording, chunk, seconds, rng):
    """Random non-overlapping (segment, first frame) chunks covering about ``seconds``."""
    fs = recording.sampling_frequency
    slots = [(s, k * chunk) for s in range(recording.get_num_segments())
             for k in range(recording.get_num_samples(segment_index=s) // chunk)]
    n = min(len(slots), max(1, int(round(seconds * fs / chunk))))
    chosen = sorted(rng.choice(len(slots), size=n, replace=False))
    return [slots[i] for i in chosen]
