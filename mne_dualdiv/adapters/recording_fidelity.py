"""How a synthetic recording looks to SpikeInterface's own tools, next to the real one.

:func:`fidelity_report` runs the same preprocessing and the same SpikeInterface functions on a
real and a synthetic recording and puts the figures side by side in a
:class:`RecordingFidelityReport`:

==========================  ===================================================================
figure                      how
==========================  ===================================================================
noise level per channel     ``get_noise_levels`` (MAD) of the bandpassed traces
peaks per second            ``detect_peaks(method="by_channel")``, negative peaks beyond
                            ``detect_threshold`` MADs, on the bandpassed traces
peak amplitudes             absolute amplitudes of those peaks: percentiles and a histogram
spatial spread of peaks     peaks per channel; percentiles of the depth (last coordinate of the
                            channel locations) of the peaks' channels, when there are locations
power spectrum              ``scipy.signal.welch`` per channel on the *unfiltered* traces,
                            averaged over random chunks
spatial covariance          channel x channel correlation of the bandpassed traces over the same
                            random chunks (spikes included)
==========================  ===================================================================

Every figure is computed chunk by chunk (SpikeInterface's chunked executors for the noise
levels and the peaks; one random chunk at a time for the spectrum and the correlation), so a
long recording is never held in memory; ``duration`` bounds the stretch analysed.
"""

import math
from dataclasses import dataclass, fields

import numpy as np

from .._checks import check_float, check_random_state
from .recording import PrivacyReport, _check_recording

#: Percentiles of the peak amplitudes and depths kept in the report.
PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)
#: Random chunks per segment and their length: ``get_noise_levels``' own defaults, so that the
#: spectrum and the correlation are measured on the very chunks the noise levels are.
N_CHUNKS_PER_SEGMENT = 20
CHUNK_DURATION = 0.5
#: Welch segment length: 1,024 samples (29 Hz resolution at 30 kHz) resolves the 300-6,000 Hz
#: spike band while averaging about 14 segments per 0.5 s chunk.
WELCH_SEGMENT = 1024
#: Shortest random chunk accepted: a quarter of a Welch segment still gives a usable spectrum.
MIN_CHUNK_FRAMES = WELCH_SEGMENT // 4
#: Bins of the amplitude histograms (shared by real and synthetic).
N_AMPLITUDE_BINS = 40


@dataclass(frozen=True, eq=False)
class RecordingFidelityReport:
    """A real and a synthetic recording seen by SpikeInterface's tools, side by side.

    Arrays are read-only. Ratios are synthetic / real (1: the same); a ratio whose real value
    is 0 is ``inf`` (``nan`` when both are 0).

    Attributes
    ----------
    n_channels : int
        Number of channels of both recordings.
    sampling_frequency : float
        Their sampling frequency in Hz.
    units : str
        ``"uV"`` when both recordings have gains (values in µV), else ``"raw"`` (stored units).
    freq_min, freq_max : float
        Bandpass of the noise levels, peaks and correlations (Hz).
    detect_threshold : float
        Peak threshold in MADs of the bandpassed noise.
    duration_real, duration_synthetic : float
        Seconds analysed in each recording.
    noise_levels_real, noise_levels_synthetic : ndarray, shape (n_channels,)
        Noise level (MAD) of each bandpassed channel.
    noise_level_ratios : ndarray, shape (n_channels,)
        Their ratio, channel by channel.
    median_noise_level_real, median_noise_level_synthetic, noise_level_ratio : float
        Median noise level over channels, and the ratio of the medians.
    n_peaks_real, n_peaks_synthetic : int
        Peaks detected (a spike seen on several channels counts once per channel).
    peak_rate_real, peak_rate_synthetic, peak_rate_ratio : float
        Peaks per second, and their ratio.
    peak_amplitude_percentiles_real, peak_amplitude_percentiles_synthetic : ndarray, shape (5,)
        Percentiles :data:`PERCENTILES` of the absolute peak amplitudes (``nan`` without peaks).
    median_peak_amplitude_real, median_peak_amplitude_synthetic, peak_amplitude_ratio : float
        Median absolute peak amplitude, and the ratio.
    amplitude_bin_edges : ndarray, shape (41,)
        Edges of the amplitude histograms (the last bin also holds larger amplitudes).
    amplitude_histogram_real, amplitude_histogram_synthetic : ndarray, shape (40,)
        Peak counts per amplitude bin.
    peaks_per_channel_real, peaks_per_channel_synthetic : ndarray, shape (n_channels,)
        Peak counts per channel.
    peak_channel_distance : float
        Total variation distance between the two distributions of peaks over channels
        (0: the same spatial spread; 1: peaks on disjoint channels; ``nan`` without peaks).
    channel_depths : None | ndarray, shape (n_channels,)
        Depth of each channel (last coordinate of the real recording's channel locations), or
        ``None`` without locations.
    peak_depth_percentiles_real, peak_depth_percentiles_synthetic : None | ndarray, shape (5,)
        Percentiles of the depth of the peaks' channels (``None`` without locations).
    psd_frequencies : ndarray, shape (n_freqs,)
        Frequencies of the spectra (Hz).
    psd_real, psd_synthetic : ndarray, shape (n_channels, n_freqs)
        Welch power spectral density of each unfiltered channel (units² / Hz).
    psd_distance_db : float
        Mean over frequencies in ``[freq_min, freq_max]`` of the absolute difference, in dB,
        between the channel-averaged spectra.
    correlation_real, correlation_synthetic : ndarray, shape (n_channels, n_channels)
        Correlation matrix of the bandpassed channels.
    correlation_rmse : float
        Root mean square difference of their off-diagonal coefficients.
    privacy : None | PrivacyReport
        The privacy report shown beside the figures, when one was given.
    """

    n_channels: int
    sampling_frequency: float
    units: str
    freq_min: float
    freq_max: float
    detect_threshold: float
    duration_real: float
    duration_synthetic: float
    noise_levels_real: np.ndarray
    noise_levels_synthetic: np.ndarray
    noise_level_ratios: np.ndarray
    median_noise_level_real: float
    median_noise_level_synthetic: float
    noise_level_ratio: float
    n_peaks_real: int
    n_peaks_synthetic: int
    peak_rate_real: float
    peak_rate_synthetic: float
    peak_rate_ratio: float
    peak_amplitude_percentiles_real: np.ndarray
    peak_amplitude_percentiles_synthetic: np.ndarray
    median_peak_amplitude_real: float
    median_peak_amplitude_synthetic: float
    peak_amplitude_ratio: float
    amplitude_bin_edges: np.ndarray
    amplitude_histogram_real: np.ndarray
    amplitude_histogram_synthetic: np.ndarray
    peaks_per_channel_real: np.ndarray
    peaks_per_channel_synthetic: np.ndarray
    peak_channel_distance: float
    channel_depths: object
    peak_depth_percentiles_real: object
    peak_depth_percentiles_synthetic: object
    psd_frequencies: np.ndarray
    psd_real: np.ndarray
    psd_synthetic: np.ndarray
    psd_distance_db: float
    correlation_real: np.ndarray
    correlation_synthetic: np.ndarray
    correlation_rmse: float
    privacy: object = None

    def __post_init__(self):
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    def to_dict(self):
        """The fields as plain Python values (arrays as lists, the privacy report as a dict)."""
        out = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, PrivacyReport):
                value = value.to_dict()
            out[field.name] = value
        return out

    def __repr__(self):
        unit = "µV" if self.units == "uV" else "raw units"
        lines = [
            f"<RecordingFidelityReport | {self.n_channels} channels at "
            f"{self.sampling_frequency:g} Hz; {self.duration_real:g} s real, "
            f"{self.duration_synthetic:g} s synthetic; bandpass {self.freq_min:g}-"
            f"{self.freq_max:g} Hz, peaks beyond {self.detect_threshold:g} MAD",
            f"  {'':32s}{'real':>10s}{'synthetic':>11s}{'ratio':>8s}",
            _row(f"noise level, median ({unit})", self.median_noise_level_real,
                 self.median_noise_level_synthetic, self.noise_level_ratio),
            _row("peaks per second", self.peak_rate_real, self.peak_rate_synthetic,
                 self.peak_rate_ratio),
            _row("peak amplitude, median", self.median_peak_amplitude_real,
                 self.median_peak_amplitude_synthetic, self.peak_amplitude_ratio),
            f"  noise level ratio per channel: {np.nanmin(self.noise_level_ratios):.3f} to "
            f"{np.nanmax(self.noise_level_ratios):.3f}",
            f"  peaks over channels, total variation distance: "
            f"{self.peak_channel_distance:.3f} (0: same spread)",
        ]
        if self.peak_depth_percentiles_real is not None:
            lines.append(
                f"  peak depth, median (5-95 %): real {self.peak_depth_percentiles_real[2]:.4g} "
                f"({self.peak_depth_percentiles_real[0]:.4g}-"
                f"{self.peak_depth_percentiles_real[-1]:.4g}), synthetic "
                f"{self.peak_depth_percentiles_synthetic[2]:.4g} "
                f"({self.peak_depth_percentiles_synthetic[0]:.4g}-"
                f"{self.peak_depth_percentiles_synthetic[-1]:.4g})")
        lines += [
            f"  spectrum, mean |difference| in the band: {self.psd_distance_db:.2f} dB",
            f"  channel correlation, off-diagonal RMS difference: {self.correlation_rmse:.3f}",
        ]
        if self.privacy is not None:
            lines.append(f"  privacy: membership-inference AUC "
                         f"{self.privacy.membership_inference_auc:.3f} (0.5: nothing leaks), "
                         f"closest-record distance ratio {self.privacy.dcr_ratio:.3f}")
        return "\n".join(lines) + ">"

    def plot(self, show=False):
        """Peaks per channel, amplitude histograms, spectra and noise levels, real vs synthetic.

        Parameters
        ----------
        show : bool
            Call ``plt.show()``.

        Returns
        -------
        fig : matplotlib.figure.Figure
            Four panels: peaks per second on each channel (against depth, channels at one
            depth summed, when the channels have locations), histograms of the absolute peak amplitudes, the
            channel-averaged spectra (bandpass shaded) and the noise level of each channel.
        """
        import matplotlib.pyplot as plt

        styles = {"real": dict(color="k"), "synthetic": dict(color="C3")}
        fig, axes = plt.subplots(2, 2, figsize=(10, 7))
        rate_ax, amplitude_ax, psd_ax, noise_ax = axes.ravel()

        depth = self.channel_depths
        # Channels at one depth (columns of a probe) are summed: the rate along the probe.
        positions, row = np.unique(np.arange(self.n_channels) if depth is None else depth,
                                   return_inverse=True)
        for label, counts, duration in (
                ("real", self.peaks_per_channel_real, self.duration_real),
                ("synthetic", self.peaks_per_channel_synthetic, self.duration_synthetic)):
            rate_ax.plot(np.bincount(row, weights=counts, minlength=len(positions)) / duration,
                         positions, drawstyle="steps-mid",
                         label=f"{label}: {counts.sum() / duration:.1f} peaks/s",
                         **styles[label])
        rate_ax.set_xlabel("Peaks per second" if depth is None else
                           "Peaks per second (channels at one depth summed)")
        rate_ax.set_ylabel("Channel depth" if depth is not None else "Channel index")
        rate_ax.set_title(f"Peak rate ratio {self.peak_rate_ratio:.2f}", fontsize=9)
        rate_ax.legend(fontsize=7)

        unit = "µV" if self.units == "uV" else "raw units"
        for label, counts in (("real", self.amplitude_histogram_real),
                              ("synthetic", self.amplitude_histogram_synthetic)):
            total = counts.sum()
            amplitude_ax.stairs(counts / total if total else counts, self.amplitude_bin_edges,
                                label=f"{label} (n={int(total)})", lw=1.5, **styles[label])
        amplitude_ax.set_xlabel(f"Absolute peak amplitude ({unit})")
        amplitude_ax.set_ylabel("Fraction of peaks")
        amplitude_ax.set_title(f"Median amplitude ratio {self.peak_amplitude_ratio:.2f}",
                               fontsize=9)
        amplitude_ax.legend(fontsize=7)

        for label, psd in (("real", self.psd_real), ("synthetic", self.psd_synthetic)):
            psd_ax.semilogy(self.psd_frequencies, psd.mean(0), label=label, **styles[label])
        psd_ax.axvspan(self.freq_min, self.freq_max, color="0.9", zorder=0)
        psd_ax.set_xlabel("Frequency (Hz)")
        psd_ax.set_ylabel(f"Power ({unit}² / Hz)")
        psd_ax.set_title(f"Mean spectrum; {self.psd_distance_db:.2f} dB apart in the band",
                         fontsize=9)
        psd_ax.legend(fontsize=7)

        noise_ax.scatter(self.noise_levels_real, self.noise_levels_synthetic, s=10,
                         color="C3")
        low = np.nanmin([self.noise_levels_real.min(), self.noise_levels_synthetic.min()])
        high = np.nanmax([self.noise_levels_real.max(), self.noise_levels_synthetic.max()])
        noise_ax.plot([low, high], [low, high], color="k", lw=1, ls="--")
        noise_ax.set_xlabel(f"Real noise level ({unit})")
        noise_ax.set_ylabel(f"Synthetic noise level ({unit})")
        noise_ax.set_title(f"Noise level per channel; median ratio {self.noise_level_ratio:.2f}",
                           fontsize=9)

        title = "Real (black) vs synthetic (red)"
        if self.privacy is not None:
            title += (f"; membership-inference AUC "
                      f"{self.privacy.membership_inference_auc:.3f} (0.5: nothing leaks)")
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        if show:
            plt.show()
        return fig


def _row(label, real, synthetic, ratio):
    return f"  {label:32s}{real:10.4g}{synthetic:11.4g}{ratio:8.3f}"


def _ratio(synthetic, real):
    """``synthetic / real`` elementwise: inf where only ``real`` is 0, nan where both are."""
    synthetic, real = np.asarray(synthetic, dtype=float), np.asarray(real, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = synthetic / real
    return ratio if ratio.ndim else float(ratio)


# ---------------------------------------------------------------------------------- checks
def _check_pair(real, synthetic):
    _check_recording(real, "real")
    _check_recording(synthetic, "synthetic")
    if synthetic.get_num_channels() != real.get_num_channels():
        raise ValueError(f"synthetic has {synthetic.get_num_channels()} channels; real has "
                         f"{real.get_num_channels()}. Compare recordings of the same channels.")
    if not math.isclose(synthetic.sampling_frequency, real.sampling_frequency):
        raise ValueError(f"synthetic is sampled at {synthetic.sampling_frequency} Hz; real at "
                         f"{real.sampling_frequency} Hz. Compare recordings of the same rate.")


def _first_seconds(recording, duration):
    """The first ``duration`` seconds of ``recording`` (segments in order), lazily."""
    from spikeinterface.core import append_recordings

    if duration is None:
        return recording
    remaining = int(round(duration * recording.sampling_frequency))
    pieces = []
    for segment in range(recording.get_num_segments()):
        if remaining <= 0:
            break
        n_frames = min(remaining, recording.get_num_samples(segment_index=segment))
        pieces.append(recording.select_segments([segment]).frame_slice(0, n_frames))
        remaining -= n_frames
    return pieces[0] if len(pieces) == 1 else append_recordings(pieces)


def _total_duration(recording):
    return sum(recording.get_num_samples(segment_index=s)
               for s in range(recording.get_num_segments())) / recording.sampling_frequency


# ---------------------------------------------------------------------------------- measures
def _measure(recording, *, in_uV, freq_min, freq_max, detect_threshold, chunk_size, seed,
             job_kwargs):
    """Every figure of one recording, as a dict (the same calls for real and synthetic)."""
    import scipy.signal
    import spikeinterface.preprocessing as spre
    from spikeinterface.core import get_noise_levels
    from spikeinterface.core.time_series_tools import get_random_sample_slices
    from spikeinterface.sortingcomponents.peak_detection import detect_peaks

    # Scaled to µV first, so that noise levels, peaks and spectra share one unit.
    scaled = spre.scale_to_uV(recording) if in_uV else recording
    filtered = spre.bandpass_filter(scaled, freq_min=freq_min, freq_max=freq_max,
                                    dtype="float32")
    slices_kwargs = dict(num_chunks_per_segment=N_CHUNKS_PER_SEGMENT, chunk_size=chunk_size,
                         chunk_duration=None, seed=seed)
    noise_levels = get_noise_levels(filtered, return_in_uV=False, method="mad",
                                    force_recompute=True, random_slices_kwargs=slices_kwargs,
                                    **job_kwargs)
    peaks = detect_peaks(filtered, method="by_channel",
                         method_kwargs=dict(peak_sign="neg", detect_threshold=detect_threshold,
                                            noise_levels=noise_levels),
                         job_kwargs=job_kwargs)
    # The spectrum (unfiltered) and the correlation (bandpassed) on the noise levels' chunks,
    # one chunk in memory at a time.
    n_channels = recording.get_num_channels()
    psd_sum, n_chunks = 0.0, 0
    sum_x, sum_xx, n_frames = np.zeros(n_channels), np.zeros((n_channels, n_channels)), 0
    for segment, start, end in get_random_sample_slices(filtered, **slices_kwargs):
        raw = scaled.get_traces(segment_index=segment, start_frame=start, end_frame=end,
                                return_in_uV=False).astype(np.float64)
        frequencies, psd = scipy.signal.welch(raw, fs=recording.sampling_frequency,
                                              nperseg=min(WELCH_SEGMENT, len(raw)), axis=0)
        psd_sum, n_chunks = psd_sum + psd, n_chunks + 1
        band = filtered.get_traces(segment_index=segment, start_frame=start, end_frame=end,
                                   return_in_uV=False).astype(np.float64)
        sum_x += band.sum(0)
        sum_xx += band.T @ band
        n_frames += len(band)
    mean = sum_x / n_frames
    covariance = sum_xx / n_frames - np.outer(mean, mean)
    std = np.sqrt(np.clip(np.diag(covariance), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = covariance / np.outer(std, std)
    return dict(noise_levels=np.asarray(noise_levels, dtype=float),
                amplitudes=np.abs(peaks["amplitude"].astype(float)),
                peaks_per_channel=np.bincount(peaks["channel_index"], minlength=n_channels),
                psd_frequencies=frequencies, psd=(psd_sum / n_chunks).T,
                correlation=correlation, duration=_total_duration(recording))


def _percentiles(values):
    return (np.percentile(values, PERCENTILES) if len(values)
            else np.full(len(PERCENTILES), np.nan))


def _channel_depths(recording):
    try:
        locations = recording.get_channel_locations()
    except Exception:  # no probe and no 'location' property: SpikeInterface raises
        return None
    return np.asarray(locations, dtype=float)[:, -1]


def _depth_percentiles(depths, peaks_per_channel):
    if depths is None:
        return None
    return _percentiles(np.repeat(depths, peaks_per_channel))


# ---------------------------------------------------------------------------------- report
def fidelity_report(real, synthetic, *, freq_min=300.0, freq_max=6000.0, detect_threshold=5.0,
                    duration=None, random_state=None, job_kwargs=None, privacy=None):
    """Compare a synthetic recording with a real one through SpikeInterface's own tools.

    Both recordings go through the same steps: scaled to µV (when both have gains), bandpass
    filtered (``spikeinterface.preprocessing.bandpass_filter``), noise levels
    (``get_noise_levels``, MAD), peaks (``detect_peaks(method="by_channel")``, negative peaks
    beyond ``detect_threshold`` MADs), Welch spectra of the unfiltered traces and the channel
    correlation of the bandpassed traces on the noise levels' random chunks.

    Parameters
    ----------
    real : spikeinterface BaseRecording
        The real recording.
    synthetic : spikeinterface BaseRecording
        The synthetic one: the same number of channels, at the same sampling frequency. Its
        duration may differ (rates are per second).
    freq_min, freq_max : float
        Bandpass in Hz (``freq_max`` below the Nyquist frequency).
    detect_threshold : float
        Peak threshold in MADs of each channel's bandpassed noise.
    duration : None | float
        Seconds analysed from the start of each recording (segments in order). ``None``
        analyses all of it: peak detection then filters and reads every frame once (on one
        core, about a second per minute of 32 channels at 30 kHz, and proportionally more for
        more channels; a lazy synthetic recording also generates every frame).
    random_state : None | int | numpy.random.Generator
        Seed of the random chunks of the noise levels, spectra and correlations; the two
        recordings get the same chunk positions (so a recording compared with itself gives
        ratios of exactly 1).
    job_kwargs : None | dict
        SpikeInterface job arguments (``n_jobs``, ``chunk_duration``, ``progress_bar``...) of
        the noise levels and the peak detection; ``progress_bar`` is off unless given. Missing
        ones come from SpikeInterface's global job arguments.
    privacy : None | PrivacyReport
        A privacy report of ``synthetic`` (:meth:`RecordingSynthesizer.privacy_report`) to show
        beside the figures.

    Returns
    -------
    report : RecordingFidelityReport
        The figures of both recordings side by side, with their ratios.

    Notes
    -----
    ``by_channel`` detection finds peaks on each channel independently: a spike seen on four
    channels counts as four peaks, in both recordings alike. The spatial correlation includes
    spikes; on recordings of sparse firing it is dominated by the noise.
    """
    _check_pair(real, synthetic)
    nyquist = real.sampling_frequency / 2
    freq_min = check_float("freq_min", freq_min, low=0, low_inclusive=False)
    freq_max = check_float("freq_max", freq_max, low=freq_min, low_inclusive=False,
                           high=nyquist, high_inclusive=False)
    detect_threshold = check_float("detect_threshold", detect_threshold, low=0,
                                   low_inclusive=False)
    if duration is not None:
        duration = check_float("duration", duration, low=0, low_inclusive=False)
    if privacy is not None and not isinstance(privacy, PrivacyReport):
        raise TypeError(f"privacy must be None or a PrivacyReport, got "
                        f"{type(privacy).__name__} instead.")
    if job_kwargs is not None and not isinstance(job_kwargs, dict):
        raise TypeError(f"job_kwargs must be None or a dict, got "
                        f"{type(job_kwargs).__name__} instead.")
    job_kwargs = dict(dict(progress_bar=False), **(job_kwargs or {}))
    seed = int(check_random_state(random_state).integers(2**31))

    real_part, synthetic_part = _first_seconds(real, duration), _first_seconds(synthetic, duration)
    shortest = min(part.get_num_samples(segment_index=s) for part in (real_part, synthetic_part)
                   for s in range(part.get_num_segments()))
    # One chunk length for both recordings, so their spectra share frequencies.
    chunk_size = min(int(round(CHUNK_DURATION * real.sampling_frequency)), shortest - 1)
    if chunk_size < MIN_CHUNK_FRAMES:
        raise ValueError(f"The shortest segment of the recordings (or of their first "
                         f"duration={duration} s) holds {shortest} frames; at least "
                         f"{MIN_CHUNK_FRAMES + 1} are needed.")
    in_uV = bool(real.has_scaleable_traces() and synthetic.has_scaleable_traces())
    measures = {name: _measure(part, in_uV=in_uV, freq_min=freq_min, freq_max=freq_max,
                               detect_threshold=detect_threshold, chunk_size=chunk_size,
                               seed=seed, job_kwargs=job_kwargs)
                for name, part in (("real", real_part), ("synthetic", synthetic_part))}
    real_m, synthetic_m = measures["real"], measures["synthetic"]

    amplitude_percentiles = {name: _percentiles(m["amplitudes"]) for name, m in measures.items()}
    every_amplitude = np.concatenate([real_m["amplitudes"], synthetic_m["amplitudes"]])
    top = float(np.percentile(every_amplitude, 99.5)) if len(every_amplitude) else 1.0
    edges = np.linspace(0.0, top, N_AMPLITUDE_BINS + 1)
    histograms = {name: np.histogram(np.clip(m["amplitudes"], 0, top), edges)[0]
                  for name, m in measures.items()}

    peak_rates = {name: m["peaks_per_channel"].sum() / m["duration"]
                  for name, m in measures.items()}
    shares = [m["peaks_per_channel"] / m["peaks_per_channel"].sum()
              if m["peaks_per_channel"].sum() else None for m in (real_m, synthetic_m)]
    channel_distance = (float(0.5 * np.abs(shares[0] - shares[1]).sum())
                        if shares[0] is not None and shares[1] is not None else float("nan"))
    depths = _channel_depths(real)

    frequencies = real_m["psd_frequencies"]
    in_band = (frequencies >= freq_min) & (frequencies <= freq_max)
    psd_distance = float(np.mean(np.abs(10 * np.log10(
        synthetic_m["psd"].mean(0)[in_band] / real_m["psd"].mean(0)[in_band]))))
    off_diagonal = ~np.eye(real.get_num_channels(), dtype=bool)
    correlation_rmse = float(np.sqrt(np.mean(
        (synthetic_m["correlation"] - real_m["correlation"])[off_diagonal] ** 2)))

    median_noise = {name: float(np.median(m["noise_levels"])) for name, m in measures.items()}
    median_amplitude = {name: float(p[PERCENTILES.index(50.0)])
                        for name, p in amplitude_percentiles.items()}
    return RecordingFidelityReport(
        n_channels=real.get_num_channels(), sampling_frequency=float(real.sampling_frequency),
        units="uV" if in_uV else "raw", freq_min=freq_min, freq_max=freq_max,
        detect_threshold=detect_threshold, duration_real=real_m["duration"],
        duration_synthetic=synthetic_m["duration"],
        noise_levels_real=real_m["noise_levels"],
        noise_levels_synthetic=synthetic_m["noise_levels"],
        noise_level_ratios=_ratio(synthetic_m["noise_levels"], real_m["noise_levels"]),
        median_noise_level_real=median_noise["real"],
        median_noise_level_synthetic=median_noise["synthetic"],
        noise_level_ratio=_ratio(median_noise["synthetic"], median_noise["real"]),
        n_peaks_real=int(real_m["peaks_per_channel"].sum()),
        n_peaks_synthetic=int(synthetic_m["peaks_per_channel"].sum()),
        peak_rate_real=float(peak_rates["real"]),
        peak_rate_synthetic=float(peak_rates["synthetic"]),
        peak_rate_ratio=_ratio(peak_rates["synthetic"], peak_rates["real"]),
        peak_amplitude_percentiles_real=amplitude_percentiles["real"],
        peak_amplitude_percentiles_synthetic=amplitude_percentiles["synthetic"],
        median_peak_amplitude_real=median_amplitude["real"],
        median_peak_amplitude_synthetic=median_amplitude["synthetic"],
        peak_amplitude_ratio=_ratio(median_amplitude["synthetic"], median_amplitude["real"]),
        amplitude_bin_edges=edges, amplitude_histogram_real=histograms["real"],
        amplitude_histogram_synthetic=histograms["synthetic"],
        peaks_per_channel_real=real_m["peaks_per_channel"],
        peaks_per_channel_synthetic=synthetic_m["peaks_per_channel"],
        peak_channel_distance=channel_distance, channel_depths=depths,
        peak_depth_percentiles_real=_depth_percentiles(depths, real_m["peaks_per_channel"]),
        peak_depth_percentiles_synthetic=_depth_percentiles(depths,
                                                            synthetic_m["peaks_per_channel"]),
        psd_frequencies=frequencies, psd_real=real_m["psd"], psd_synthetic=synthetic_m["psd"],
        psd_distance_db=psd_distance, correlation_real=real_m["correlation"],
        correlation_synthetic=synthetic_m["correlation"], correlation_rmse=correlation_rmse,
        privacy=privacy)
