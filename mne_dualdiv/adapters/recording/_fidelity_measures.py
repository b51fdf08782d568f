"""The fidelity report's figures of one recording that need no sorter, measured chunk by chunk.

:func:`measure` runs the same steps on each recording: band noise levels and peaks (through
:mod:`.spikes`), then, on random chunks (:func:`chunks`, one in memory at a time), Welch
spectra of the unfiltered traces with and without the samples near peaks
(:func:`masked_welch`, :func:`one_sided_density`), the band's channel correlation with those
samples masked, and the compression ratio of the int16-quantised traces.
"""

import numpy as np

from . import spikes
from .noise import spike_mask, welch_length

#: Random chunks per segment and their length for the spectra, correlations and compression:
#: ``get_noise_levels``' own defaults (10 s of a segment in all); a shorter segment is read
#: in back-to-back chunks instead.
N_CHUNKS_PER_SEGMENT = 20
CHUNK_DURATION = 0.5
#: Shortest chunk accepted (frames): 256 still gives a usable spectrum.
MIN_CHUNK_FRAMES = 256
#: Spike mask of the noise figures: the channels within this distance of each peak channel
#: (``tridesclous2``'s template radius) and the frames around the peak (a spike and its tail).
#: Measured on a 32-channel ground truth against its own spike-free noise: the 12 nearest
#: channels (±50 µm) leave 0.82 dB of spike power in the noise spectrum and 0.12 of
#: correlation RMSE; 100 µm leaves 0.22 dB and 0.04; 150 µm 0.07 dB and 0.03, but masks
#: most samples of a dense, busy probe.
MASK_RADIUS_UM = 100.0
MASK_MS_BEFORE, MASK_MS_AFTER = 1.0, 3.0
#: Soft edges of the mask (ms): a hard step would leak low-frequency power into the band.
MASK_RAMP_MS = 0.3
#: Quantisation step of float recordings, as a share of the real median band noise level.
FLOAT_QUANTISATION = 0.25


def chunk_length(real_part, synthetic_part, sampling_frequency, duration):
    """Frames of every chunk of both recordings: :data:`CHUNK_DURATION`, within the shortest
    segment (``duration``: the seconds analysed, named in the error)."""
    shortest = min((part.get_num_samples(segment_index=s) for part in (real_part, synthetic_part)
                    for s in range(part.get_num_segments())), default=0)
    chunk_frames = min(int(round(CHUNK_DURATION * sampling_frequency)), shortest - 1)
    if chunk_frames < MIN_CHUNK_FRAMES:
        raise ValueError(f"The shortest segment of the recordings (or of their first "
                         f"duration={duration} s) holds {shortest} frames; at least "
                         f"{MIN_CHUNK_FRAMES + 1} are needed.")
    return chunk_frames


def chunks(recording, chunk_frames, seed):
    """(segment, start, end) of the chunks read: random, or back to back in a short segment.

    Positions depend on (seed, segment) and the segment's length alone, so that a recording
    gives the same chunks whatever it is compared with.
    """
    slices = []
    for segment in range(recording.get_num_segments()):
        n_frames = recording.get_num_samples(segment_index=segment)
        if n_frames < N_CHUNKS_PER_SEGMENT * chunk_frames:  # tiled: each frame read once
            starts = np.arange(0, n_frames - chunk_frames + 1, chunk_frames)
        else:
            starts = np.sort(np.random.default_rng([seed, segment]).integers(
                0, n_frames - chunk_frames, N_CHUNKS_PER_SEGMENT, endpoint=True))
        slices += [(segment, int(start), int(start) + chunk_frames) for start in starts]
    return slices


def masked_welch(traces, mask, window, sums, norms):
    """Add one chunk's masked periodograms (Hann, 50 % overlap) to ``sums`` and ``norms``.

    ``mask`` (frames x channels, 0 to 1; ``None``: no mask) weighs the samples. Normalised by
    the sum of the squared weights, a masked periodogram is an unbiased estimate of the
    spectrum of a stationary background.
    """
    n_fft = len(window)
    for start in range(0, len(traces) - n_fft + 1, n_fft // 2):
        weighted = np.broadcast_to(window[:, None], (n_fft, traces.shape[1])) if mask is None \
            else window[:, None] * mask[start:start + n_fft]
        sums += np.abs(np.fft.rfft(weighted * traces[start:start + n_fft], axis=0)) ** 2
        norms += (weighted ** 2).sum(axis=0)


def one_sided_density(sums, norms, sampling_frequency):
    """Channel-averaged one-sided PSD (units² / Hz) from masked periodogram sums.

    A channel masked throughout (no weight at all) is left out of the average.
    """
    seen = norms > 0
    if not seen.any():
        return np.full(len(sums), np.nan)
    psd = sums[:, seen] / norms[seen] / sampling_frequency
    psd[1:-1] *= 2
    return psd.mean(axis=1)


def own_quantisation(recording, in_uV):
    """The int16 step of an integer recording (report units), ``None`` for a float one."""
    if np.dtype(recording.get_dtype()).kind in "iu":
        return float(np.median(recording.get_channel_gains())) if in_uV else 1.0
    return None


def measure(recording, *, in_uV, freq_min, freq_max, detect_threshold, chunk_frames, seed,
            quantisation, job):
    """Every figure of one recording that needs no sorter (the same calls for both).

    ``quantisation`` is the int16 step of the compression ratio; ``None``: a share
    (:data:`FLOAT_QUANTISATION`) of this recording's median band noise level.
    """
    import spikeinterface.preprocessing as spre
    from spikeinterface.core.zarrextractors import get_default_zarr_compressor

    # Scaled to µV first, so that noise levels, peaks, spectra and quantisation share a unit.
    scaled = spre.scale_to_uV(recording) if in_uV else recording
    band = spikes.spike_band(scaled, freq_min, freq_max)
    levels = spikes.noise_levels(band, seed=seed)
    peaks = spikes.find_peaks(band, levels, detect_threshold=detect_threshold, job=job)
    if quantisation is None:
        quantisation = FLOAT_QUANTISATION * float(np.median(levels))
    if not quantisation > 0:  # a flat recording: any step keeps it lossless
        quantisation = 1.0

    fs = float(recording.sampling_frequency)
    n_channels = recording.get_num_channels()
    locations = spikes.channel_locations(recording)
    neighbours = spikes.channels_within(locations, MASK_RADIUS_UM)
    before = int(round(MASK_MS_BEFORE * fs / 1000))
    after = int(round(MASK_MS_AFTER * fs / 1000))
    ramp = int(round(MASK_RAMP_MS * fs / 1000))
    slices = chunks(recording, chunk_frames, seed)
    window = np.hanning(min(welch_length(fs), chunk_frames) + 1)[:-1]  # periodic Hann
    n_freqs = len(window) // 2 + 1
    all_sums, all_norms = np.zeros((n_freqs, n_channels)), np.zeros(n_channels)
    noise_sums, noise_norms = np.zeros((n_freqs, n_channels)), np.zeros(n_channels)
    cross, power = np.zeros((n_channels, n_channels)), np.zeros((n_channels, n_channels))
    raw_bytes = compressed_bytes = masked_share = 0.0
    compressor = get_default_zarr_compressor()
    for segment, start, end in slices:
        raw = scaled.get_traces(segment_index=segment, start_frame=start, end_frame=end,
                                return_in_uV=False).astype(np.float64)
        quantised = np.clip(np.rint(raw / quantisation), -32768, 32767).astype("<i2")
        raw_bytes += quantised.nbytes
        compressed_bytes += len(compressor.encode(quantised))
        near = ((peaks["segment_index"] == segment) & (peaks["sample_index"] >= start)
                & (peaks["sample_index"] < end))
        mask = spike_mask(end - start, n_channels, peaks["sample_index"][near] - start,
                          peaks["channel_index"][near], neighbours, before, after, ramp)
        masked_share += (1 - mask).mean() / len(slices)
        raw -= np.median(raw, axis=0)
        masked_welch(raw, None, window, all_sums, all_norms)
        masked_welch(raw, mask, window, noise_sums, noise_norms)
        # Weighted correlation: pair (i, j) weighs each sample by mask_i * mask_j.
        traces = band.get_traces(segment_index=segment, start_frame=start, end_frame=end,
                                 return_in_uV=False).astype(np.float64)
        masked = mask * traces
        cross += masked.T @ masked
        power += (masked * traces).T @ mask
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = cross / np.sqrt(power * power.T)
    amplitudes = np.abs(peaks["amplitude"].astype(float))
    return dict(noise_levels=levels, amplitudes=amplitudes,
                peaks_per_channel=np.bincount(peaks["channel_index"], minlength=n_channels),
                psd_frequencies=np.fft.rfftfreq(len(window), 1 / fs),
                psd=one_sided_density(all_sums, all_norms, fs),
                noise_psd=one_sided_density(noise_sums, noise_norms, fs),
                correlation=correlation, masked_share=masked_share,
                compression_ratio=raw_bytes / compressed_bytes,
                quantisation=quantisation, duration=total_duration(recording))


def total_duration(recording):
    """Seconds of all the segments of ``recording``."""
    return sum(recording.get_num_samples(segment_index=s)
               for s in range(recording.get_num_segments())) / recording.sampling_frequency


def codec_name():
    """``repr`` of SpikeInterface's default zarr compressor (the one :func:`measure` uses)."""
    from spikeinterface.core.zarrextractors import get_default_zarr_compressor

    return repr(get_default_zarr_compressor())


def channel_depths(recording):
    """Depth (last coordinate) of each channel of ``recording``, ``None`` without locations."""
    try:
        locations = recording.get_channel_locations()
    except Exception:  # no probe and no 'location' property: SpikeInterface raises
        return None
    return np.asarray(locations, dtype=float)[:, -1]
