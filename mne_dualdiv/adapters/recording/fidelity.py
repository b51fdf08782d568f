"""How a synthetic recording looks to SpikeInterface's own tools, next to the real one.

:func:`fidelity_report` runs the same steps on a real and a synthetic recording and puts the
figures side by side in a :class:`RecordingFidelityReport`, with the criteria of issue 17
(:data:`ACCEPTANCE`) checked by :meth:`RecordingFidelityReport.passes`:

==============================  ===============================================================
figure                          how (both recordings alike)
==============================  ===============================================================
peak rate, amplitudes           :func:`~.spikes.find_peaks` on the spike band: negative peaks
                                beyond ``detect_threshold`` MADs, ``locally_exclusive`` (one
                                peak per spike); peaks per second, percentiles 10 / 50 / 90 of
                                the absolute amplitudes and a histogram
band noise level                :func:`~.spikes.noise_levels` (``get_noise_levels``, MAD) of
                                the spike band, median over channels
power spectrum                  Welch (Hann, 50 % overlap) of the *unfiltered* traces on random
                                chunks, channel-averaged; the PSD distance is the mean absolute
                                dB difference over ``freq_min``-``freq_max``
noise spectrum                  the same with the samples near detected peaks masked (channels
                                within :data:`MASK_RADIUS_UM` of the peak channel, 1 ms before
                                to 3 ms after, soft edges): the background's own spectrum
noise spatial correlation       channel correlation of the spike band over the same chunks and
                                mask; RMSE of the off-diagonal coefficients, real vs synthetic
compression ratio               raw int16 bytes / bytes compressed by SpikeInterface's default
                                zarr compressor (Blosc zstd, bit shuffle) of the unfiltered
                                traces on the same chunks, both quantised with one step
sorter (optional)               ``run_sorter`` (``tridesclous2`` or ``spykingcircus2``) on a
                                binary copy: sorted unit count; ``compute_quality_metrics``
                                (SNR, firing rate, ISI violations ratio, amplitude cut-off) and
                                KS distances of the SNR and firing rate distributions; with a
                                ground truth, the share of its units found (accuracy >= 0.8)
==============================  ===============================================================

Everything is chunked (SpikeInterface's executors for noise levels and peaks, one random chunk
in memory at a time for the spectra, correlations and compression), so a long recording is
never held in memory; ``duration`` bounds the stretch analysed.
"""

import math
import shutil
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..._checks import check_float, check_option, check_random_state
from . import spikes
from ._metadata import check_recording, first_seconds
from .noise import spike_mask, welch_length
from .privacy import PrivacyReport, UnitLinkage, templates_from_sorting, unit_linkage

#: Percentiles of the absolute peak amplitudes compared (issue 17: each within ±25 %).
PERCENTILES = (10.0, 50.0, 90.0)
#: Bins of the amplitude histograms (shared by real and synthetic).
N_AMPLITUDE_BINS = 40
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
#: Sorters run by :func:`fidelity_report` (SpikeInterface's internal ones: numba and hdbscan).
SORTERS = ("tridesclous2", "spykingcircus2")
#: Accuracy above which a ground-truth unit counts as found
#: (``compare_sorter_to_ground_truth``).
WELL_DETECTED_ACCURACY = 0.8
#: Quality metrics computed on the sorted units (``compute_quality_metrics`` names) and the
#: columns kept.
QUALITY_METRICS = ("snr", "firing_rate", "isi_violation", "amplitude_cutoff")
QUALITY_COLUMNS = ("snr", "firing_rate", "isi_violations_ratio", "amplitude_cutoff")
#: Acceptance of issue 17: relative tolerances of the ratios (peak rate, amplitude
#: percentiles, band noise, sorted units), ceilings of the distances (noise PSD in dB, noise
#: correlation RMSE, KS distances) and the floor of the share of generated units found.
ACCEPTANCE = dict(peak_rate=0.25, amplitude_p10=0.25, amplitude_p50=0.25, amplitude_p90=0.25,
                  noise_level=0.10, noise_psd_db=1.0, noise_correlation_rmse=0.1,
                  sorted_units=0.30, ground_truth_found=0.8, ks_snr=0.3, ks_firing_rate=0.3)
#: Channels of the relative-geometry templates compared by the sorted-unit linkage (the
#: synthesizer's default ``n_neighbours``).
LINKAGE_NEIGHBOURS = 16
#: Which criteria of :data:`ACCEPTANCE` are ceilings of a distance and which are floors; the
#: rest are tolerances of a synthetic / real ratio.
CEILINGS = ("noise_psd_db", "noise_correlation_rmse", "ks_snr", "ks_firing_rate")
FLOORS = ("ground_truth_found",)


@dataclass(frozen=True, eq=False)
class RecordingFidelityReport:
    """A real and a synthetic recording seen by SpikeInterface's tools, side by side.

    Arrays are read-only. Ratios are synthetic / real (1: the same); a ratio whose real value
    is 0 is ``inf`` (``nan`` when both are 0). Sorter figures are ``None`` without a sorter.

    Attributes
    ----------
    n_channels : int
        Number of channels of both recordings.
    sampling_frequency : float
        Their sampling frequency in Hz.
    units : str
        ``"uV"`` when both recordings have gains (values in µV), else ``"raw"`` (stored units).
    freq_min, freq_max : float
        The spike band (Hz): noise levels, peaks, correlations and the PSD distances.
    detect_threshold : float
        Peak threshold in MADs of each channel's band noise.
    detector : str
        The ``detect_peaks`` method (``locally_exclusive``: one peak per spike).
    duration_real, duration_synthetic : float
        Seconds analysed in each recording.
    n_peaks_real, n_peaks_synthetic : int
        Peaks detected.
    peak_rate_real, peak_rate_synthetic, peak_rate_ratio : float
        Peaks per second, and their ratio.
    amplitude_percentiles_real, amplitude_percentiles_synthetic, amplitude_ratios : ndarray
        Percentiles :data:`PERCENTILES` of the absolute peak amplitudes (``nan`` without
        peaks), shape (3,), and their ratios.
    amplitude_bin_edges : ndarray, shape (41,)
        Edges of the amplitude histograms (the last bin also holds larger amplitudes).
    amplitude_histogram_real, amplitude_histogram_synthetic : ndarray, shape (40,)
        Peak counts per amplitude bin.
    peaks_per_channel_real, peaks_per_channel_synthetic : ndarray, shape (n_channels,)
        Peaks per peak channel.
    peak_channel_distance : float
        Total variation distance between the distributions of peaks over channels (0: the same
        spatial spread; 1: disjoint channels; ``nan`` without peaks).
    channel_depths : None | ndarray, shape (n_channels,)
        Depth (last coordinate of the real channel locations), ``None`` without locations.
    noise_levels_real, noise_levels_synthetic, noise_level_ratios : ndarray, shape (n_channels,)
        Band noise level (MAD) of each channel, and the ratios.
    noise_level_real, noise_level_synthetic, noise_level_ratio : float
        Their medians over channels, and the ratio of the medians.
    psd_frequencies : ndarray, shape (n_freqs,)
        Frequencies of the spectra (Hz).
    psd_real, psd_synthetic : ndarray, shape (n_freqs,)
        Channel-averaged one-sided power spectral density of the unfiltered traces
        (units² / Hz).
    noise_psd_real, noise_psd_synthetic : ndarray, shape (n_freqs,)
        The same with the samples near detected peaks masked.
    psd_distance_db, noise_psd_distance_db : float
        Mean over the frequencies of the spike band of the absolute difference in dB between
        the synthetic and real spectra (all traces; noise only).
    noise_correlation_real, noise_correlation_synthetic : ndarray, shape (n_channels, n_channels)
        Channel correlation of the spike band, samples near peaks masked.
    noise_correlation_rmse : float
        Root mean square difference of their off-diagonal coefficients.
    masked_share_real, masked_share_synthetic : float
        Share of the samples (frames x channels) of the chunks masked as near a peak.
    compression_codec : str
        How the compression ratios were measured.
    quantisation_step : float
        The step (report units) of the int16 quantisation of both recordings.
    compression_ratio_real, compression_ratio_synthetic, compression_ratio_ratio : float
        Raw int16 bytes over compressed bytes, and their ratio.
    sorter : None | str
        The sorter run on both recordings.
    sorting_seconds_real, sorting_seconds_synthetic : None | float
        Wall time of the sorter and its quality metrics on each recording.
    sorted_units_real, sorted_units_synthetic : None | int
        Units the sorter found.
    sorted_units_ratio : None | float
        Their ratio.
    quality_metrics_real, quality_metrics_synthetic : None | dict of str to ndarray
        Per sorted unit: ``snr``, ``firing_rate`` (Hz), ``isi_violations_ratio``,
        ``amplitude_cutoff`` (``nan`` where SpikeInterface gives none).
    ks_snr, ks_firing_rate : None | float
        Two-sample Kolmogorov-Smirnov statistic between the real and synthetic distributions
        (0: the same; ``nan`` when a side has no finite value).
    ground_truth_accuracy_real, ground_truth_accuracy_synthetic : None | ndarray
        Accuracy of the best-matching sorted unit for each ground-truth unit (when a ground
        truth was given).
    ground_truth_found_real, ground_truth_found_synthetic : None | float
        Share of the ground-truth units found with accuracy >=
        :data:`WELL_DETECTED_ACCURACY`.
    sorted_unit_linkage : None | UnitLinkage
        With a sorter: each unit sorted in the synthetic recording against the real units
        (the real ground truth where given, else the units sorted in the real recording),
        as :func:`~mne_dualdiv.adapters.recording.privacy.unit_linkage` (templates on
        :data:`LINKAGE_NEIGHBOURS` channels of the synthesizer's layout, spike band).
    privacy : None | PrivacyReport
        The privacy report shown beside the figures, when one was given.
    """

    n_channels: int
    sampling_frequency: float
    units: str
    freq_min: float
    freq_max: float
    detect_threshold: float
    detector: str
    duration_real: float
    duration_synthetic: float
    n_peaks_real: int
    n_peaks_synthetic: int
    peak_rate_real: float
    peak_rate_synthetic: float
    peak_rate_ratio: float
    amplitude_percentiles_real: np.ndarray
    amplitude_percentiles_synthetic: np.ndarray
    amplitude_ratios: np.ndarray
    amplitude_bin_edges: np.ndarray
    amplitude_histogram_real: np.ndarray
    amplitude_histogram_synthetic: np.ndarray
    peaks_per_channel_real: np.ndarray
    peaks_per_channel_synthetic: np.ndarray
    peak_channel_distance: float
    channel_depths: object
    noise_levels_real: np.ndarray
    noise_levels_synthetic: np.ndarray
    noise_level_ratios: np.ndarray
    noise_level_real: float
    noise_level_synthetic: float
    noise_level_ratio: float
    psd_frequencies: np.ndarray
    psd_real: np.ndarray
    psd_synthetic: np.ndarray
    noise_psd_real: np.ndarray
    noise_psd_synthetic: np.ndarray
    psd_distance_db: float
    noise_psd_distance_db: float
    noise_correlation_real: np.ndarray
    noise_correlation_synthetic: np.ndarray
    noise_correlation_rmse: float
    masked_share_real: float
    masked_share_synthetic: float
    compression_codec: str
    quantisation_step: float
    compression_ratio_real: float
    compression_ratio_synthetic: float
    compression_ratio_ratio: float
    sorter: object = None
    sorting_seconds_real: object = None
    sorting_seconds_synthetic: object = None
    sorted_units_real: object = None
    sorted_units_synthetic: object = None
    sorted_units_ratio: object = None
    quality_metrics_real: object = None
    quality_metrics_synthetic: object = None
    ks_snr: object = None
    ks_firing_rate: object = None
    ground_truth_accuracy_real: object = None
    ground_truth_accuracy_synthetic: object = None
    ground_truth_found_real: object = None
    ground_truth_found_synthetic: object = None
    sorted_unit_linkage: object = None
    privacy: object = None

    def __post_init__(self):
        for field in fields(self):
            value = getattr(self, field.name)
            for array in (value.values() if isinstance(value, dict) else [value]):
                if isinstance(array, np.ndarray):
                    array.setflags(write=False)

    def to_dict(self):
        """The fields as plain Python values (arrays as lists, the privacy report as a dict)."""
        def plain(value):
            if isinstance(value, np.ndarray):
                return value.tolist()
            if isinstance(value, dict):
                return {key: plain(item) for key, item in value.items()}
            if isinstance(value, (PrivacyReport, UnitLinkage)):
                return value.to_dict()
            return value

        return {field.name: plain(getattr(self, field.name)) for field in fields(self)}

    def figures(self):
        """The figures the acceptance criteria look at, by criterion name (absent: not measured).

        Returns
        -------
        figures : dict of str to float
            ``peak_rate``, ``amplitude_p10``, ``amplitude_p50``, ``amplitude_p90``,
            ``noise_level`` and ``sorted_units``: synthetic / real ratios; ``noise_psd_db``,
            ``noise_correlation_rmse``, ``ks_snr`` and ``ks_firing_rate``: distances;
            ``ground_truth_found``: share of the synthetic ground truth's units found.
        """
        figures = dict(peak_rate=self.peak_rate_ratio, noise_level=self.noise_level_ratio,
                       noise_psd_db=self.noise_psd_distance_db,
                       noise_correlation_rmse=self.noise_correlation_rmse)
        for percentile, ratio in zip(PERCENTILES, self.amplitude_ratios):
            figures[f"amplitude_p{percentile:g}"] = float(ratio)
        optional = dict(sorted_units=self.sorted_units_ratio, ks_snr=self.ks_snr,
                        ks_firing_rate=self.ks_firing_rate,
                        ground_truth_found=self.ground_truth_found_synthetic)
        figures.update({key: value for key, value in optional.items() if value is not None})
        return {key: float(figures[key]) for key in ACCEPTANCE if key in figures}

    def passes(self, criteria=None):
        """Each acceptance criterion of issue 17 whose figures exist, and whether it holds.

        Parameters
        ----------
        criteria : None | dict of str to float
            Thresholds replacing those of :data:`ACCEPTANCE` (same keys): relative
            tolerances of the ratios, ceilings of the distances, the floor of
            ``ground_truth_found``.

        Returns
        -------
        passed : dict of str to bool
            A ratio passes within ``1 ± tolerance``; a distance at most its ceiling;
            ``ground_truth_found`` at least its floor. A figure that is ``nan`` (nothing to
            compare: no peaks, no sorted unit) fails. The privacy report's criteria are
            added as ``privacy_units`` and ``privacy_snippets`` when one was given.
        """
        if criteria is not None and not isinstance(criteria, dict):
            raise TypeError(f"criteria must be None or a dict, got {type(criteria).__name__} "
                            "instead.")
        thresholds = dict(ACCEPTANCE)
        for key, value in (criteria or {}).items():
            check_option("criteria", key, tuple(ACCEPTANCE))
            thresholds[key] = check_float(f"criteria[{key!r}]", value, low=0)
        passed = {}
        for key, figure in self.figures().items():
            if key in FLOORS:
                passed[key] = bool(figure >= thresholds[key])
            elif key in CEILINGS:
                passed[key] = bool(figure <= thresholds[key])
            else:
                passed[key] = bool(abs(figure - 1) <= thresholds[key])
        if self.privacy is not None:
            passed.update({f"privacy_{key}": value
                           for key, value in self.privacy.passes().items()})
        return passed

    def __repr__(self):
        unit = "µV" if self.units == "uV" else "raw units"
        passed = self.passes()
        verdict = {True: "pass", False: "FAIL"}

        def row(label, real, synthetic, ratio, key=None):
            criterion = "" if key is None else f"{_criterion(key):>14s} {verdict[passed[key]]}"
            return (f"  {label:34s}{_fmt(real):>10s}{_fmt(synthetic):>11s}{_fmt(ratio, 3):>8s}"
                    f"{criterion}")

        lines = [
            f"<RecordingFidelityReport | {self.n_channels} channels at "
            f"{self.sampling_frequency:g} Hz; {self.duration_real:g} s real, "
            f"{self.duration_synthetic:g} s synthetic; band {self.freq_min:g}-"
            f"{self.freq_max:g} Hz; peaks beyond {self.detect_threshold:g} MAD "
            f"({self.detector}); values in {unit}",
            f"  {'figure':34s}{'real':>10s}{'synthetic':>11s}{'ratio':>8s}"
            f"{'criterion':>14s}",
            row("peaks per second", self.peak_rate_real, self.peak_rate_synthetic,
                self.peak_rate_ratio, "peak_rate"),
        ]
        for i, percentile in enumerate(PERCENTILES):
            lines.append(row(f"peak amplitude p{percentile:g}",
                             self.amplitude_percentiles_real[i],
                             self.amplitude_percentiles_synthetic[i], self.amplitude_ratios[i],
                             f"amplitude_p{percentile:g}"))
        lines += [
            row("band noise level (median MAD)", self.noise_level_real,
                self.noise_level_synthetic, self.noise_level_ratio, "noise_level"),
            row("compression ratio", self.compression_ratio_real,
                self.compression_ratio_synthetic, self.compression_ratio_ratio),
            f"  noise PSD distance {self.noise_psd_distance_db:.2f} dB "
            f"({_criterion('noise_psd_db')}: {verdict[passed['noise_psd_db']]}); all traces "
            f"{self.psd_distance_db:.2f} dB",
            f"  noise correlation RMSE {self.noise_correlation_rmse:.3f} "
            f"({_criterion('noise_correlation_rmse')}: "
            f"{verdict[passed['noise_correlation_rmse']]}); samples masked near peaks: "
            f"{self.masked_share_real:.2f} real, {self.masked_share_synthetic:.2f} synthetic",
            f"  peaks over channels, total variation distance {self.peak_channel_distance:.3f}",
            f"  compression: {self.compression_codec}, step {self.quantisation_step:.4g}",
        ]
        if self.sorter is not None:
            lines.append(row(f"units sorted by {self.sorter}", self.sorted_units_real,
                             self.sorted_units_synthetic, self.sorted_units_ratio,
                             "sorted_units"))
            for column in QUALITY_COLUMNS:
                lines.append(row(f"  median {column}",
                                 _nanmedian(self.quality_metrics_real[column]),
                                 _nanmedian(self.quality_metrics_synthetic[column]),
                                 _ratio(_nanmedian(self.quality_metrics_synthetic[column]),
                                        _nanmedian(self.quality_metrics_real[column]))))
            lines.append(f"  KS distance: SNR {self.ks_snr:.3f} ({_criterion('ks_snr')}: "
                         f"{verdict[passed['ks_snr']]}), firing rate "
                         f"{self.ks_firing_rate:.3f} ({_criterion('ks_firing_rate')}: "
                         f"{verdict[passed['ks_firing_rate']]})")
            for side in ("real", "synthetic"):
                found = getattr(self, f"ground_truth_found_{side}")
                if found is not None:
                    accuracy = getattr(self, f"ground_truth_accuracy_{side}")
                    text = (f"  {side} ground truth: {found:.2f} of {len(accuracy)} units "
                            f"found with accuracy >= {WELL_DETECTED_ACCURACY:g}")
                    if side == "synthetic":
                        text += (f" ({_criterion('ground_truth_found')}: "
                                 f"{verdict[passed['ground_truth_found']]})")
                    lines.append(text)
        if self.sorted_unit_linkage is not None:
            link = self.sorted_unit_linkage
            lines.append(f"  sorted synthetic units' best similarity to a real unit: max "
                         f"{np.max(link.best_similarity):.3f}; real units to "
                         f"their nearest distinct real unit: median "
                         f"{link.real_median:.3f} ({link.n_above} above it)")
        if self.privacy is not None:
            lines += ["  " + line for line in repr(self.privacy).strip("<>").splitlines()]
        return "\n".join(lines) + ">"

    def plot(self, show=False):
        """Peaks along the probe, amplitude histograms, spectra and noise levels.

        Parameters
        ----------
        show : bool
            Call ``plt.show()``.

        Returns
        -------
        fig : matplotlib.figure.Figure
            Four panels: peaks per second along the probe (channels at one depth summed when
            the channels have locations), histograms of the absolute peak amplitudes, the
            channel-averaged spectra (all traces solid, noise only dashed; spike band shaded)
            and the band noise level of each channel.
        """
        import matplotlib.pyplot as plt

        styles = {"real": dict(color="k"), "synthetic": dict(color="C3")}
        fig, axes = plt.subplots(2, 2, figsize=(10, 7))
        rate_ax, amplitude_ax, psd_ax, noise_ax = axes.ravel()
        unit = "µV" if self.units == "uV" else "raw units"

        depth = self.channel_depths
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

        for label, counts in (("real", self.amplitude_histogram_real),
                              ("synthetic", self.amplitude_histogram_synthetic)):
            total = counts.sum()
            amplitude_ax.stairs(counts / total if total else counts, self.amplitude_bin_edges,
                                label=f"{label} (n={int(total)})", lw=1.5, **styles[label])
        amplitude_ax.set_xlabel(f"Absolute peak amplitude ({unit})")
        amplitude_ax.set_ylabel("Fraction of peaks")
        amplitude_ax.set_title("Amplitude ratios p10 / p50 / p90: " + " / ".join(
            f"{r:.2f}" for r in self.amplitude_ratios), fontsize=9)
        amplitude_ax.legend(fontsize=7)

        for label, psd, noise in (("real", self.psd_real, self.noise_psd_real),
                                  ("synthetic", self.psd_synthetic, self.noise_psd_synthetic)):
            psd_ax.loglog(self.psd_frequencies[1:], psd[1:], label=f"{label}", **styles[label])
            psd_ax.loglog(self.psd_frequencies[1:], noise[1:], ls="--",
                          label=f"{label}, noise only", **styles[label])
        psd_ax.axvspan(self.freq_min, self.freq_max, color="0.9", zorder=0)
        psd_ax.set_xlabel("Frequency (Hz)")
        psd_ax.set_ylabel(f"Power ({unit}² / Hz)")
        psd_ax.set_title(f"Mean spectrum; noise {self.noise_psd_distance_db:.2f} dB apart in "
                         "the band", fontsize=9)
        psd_ax.legend(fontsize=7)

        noise_ax.scatter(self.noise_levels_real, self.noise_levels_synthetic, s=10, color="C3")
        low = np.nanmin([self.noise_levels_real.min(), self.noise_levels_synthetic.min()])
        high = np.nanmax([self.noise_levels_real.max(), self.noise_levels_synthetic.max()])
        noise_ax.plot([low, high], [low, high], color="k", lw=1, ls="--")
        noise_ax.set_xlabel(f"Real band noise level ({unit})")
        noise_ax.set_ylabel(f"Synthetic band noise level ({unit})")
        noise_ax.set_title(f"Noise level per channel; median ratio {self.noise_level_ratio:.2f}; "
                           f"correlation RMSE {self.noise_correlation_rmse:.3f}", fontsize=9)

        fig.suptitle("Real (black) vs synthetic (red)", fontsize=10)
        fig.tight_layout()
        if show:
            plt.show()
        return fig


def _criterion(key):
    threshold = ACCEPTANCE[key]
    if key in FLOORS:
        return f">= {threshold:g}"
    if key in CEILINGS:
        return f"<= {threshold:g}" + (" dB" if key == "noise_psd_db" else "")
    return f"1 ± {threshold:g}"


def _fmt(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{value:.{digits}g}"


def _nanmedian(values):
    values = np.asarray(values, dtype=float)
    return float(np.median(values[np.isfinite(values)])) if np.isfinite(values).any() else (
        float("nan"))


def _ratio(synthetic, real):
    """``synthetic / real`` elementwise: inf where only ``real`` is 0, nan where both are."""
    synthetic, real = np.asarray(synthetic, dtype=float), np.asarray(real, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = synthetic / real
    return ratio if ratio.ndim else float(ratio)


# ---------------------------------------------------------------------------------- checks
def _check_pair(real, synthetic):
    check_recording(real, "real")
    check_recording(synthetic, "synthetic")
    if synthetic.get_num_channels() != real.get_num_channels():
        raise ValueError(f"synthetic has {synthetic.get_num_channels()} channels; real has "
                         f"{real.get_num_channels()}. Compare recordings of the same channels.")
    if not math.isclose(synthetic.sampling_frequency, real.sampling_frequency):
        raise ValueError(f"synthetic is sampled at {synthetic.sampling_frequency} Hz; real at "
                         f"{real.sampling_frequency} Hz. Compare recordings of the same rate.")


def _check_ground_truth(sorting, recording, name, recording_name):
    from spikeinterface.core import BaseSorting

    if sorting is None:
        return None
    if not isinstance(sorting, BaseSorting):
        raise TypeError(f"{name} must be None or a spikeinterface BaseSorting, got "
                        f"{type(sorting).__name__} instead.")
    if not math.isclose(sorting.sampling_frequency, recording.sampling_frequency):
        raise ValueError(f"{name} is sampled at {sorting.sampling_frequency} Hz; "
                         f"{recording_name} at {recording.sampling_frequency} Hz.")
    if sorting.get_num_segments() != recording.get_num_segments():
        raise ValueError(f"{name} has {sorting.get_num_segments()} segment(s); "
                         f"{recording_name} has {recording.get_num_segments()}.")
    return sorting


def _same_stretch(sorting, recording_part):
    """``sorting`` cut to the segments and frames of ``recording_part`` (its first seconds)."""
    from spikeinterface.core import append_sortings, select_segment_sorting

    n_segments = recording_part.get_num_segments()
    pieces = [select_segment_sorting(sorting, [segment]).frame_slice(
        0, recording_part.get_num_samples(segment_index=segment)) for segment in range(n_segments)]
    return pieces[0] if n_segments == 1 else append_sortings(pieces)


def _total_duration(recording):
    return sum(recording.get_num_samples(segment_index=s)
               for s in range(recording.get_num_segments())) / recording.sampling_frequency


# ---------------------------------------------------------------------------------- measures
def _chunks(recording, chunk_frames, seed):
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


def _masked_welch(traces, mask, window, sums, norms):
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


def _one_sided_density(sums, norms, sampling_frequency):
    """Channel-averaged one-sided PSD (units² / Hz) from masked periodogram sums.

    A channel masked throughout (no weight at all) is left out of the average.
    """
    seen = norms > 0
    if not seen.any():
        return np.full(len(sums), np.nan)
    psd = sums[:, seen] / norms[seen] / sampling_frequency
    psd[1:-1] *= 2
    return psd.mean(axis=1)


def _measure(recording, *, in_uV, freq_min, freq_max, detect_threshold, chunk_frames, seed,
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
    slices = _chunks(recording, chunk_frames, seed)
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
        _masked_welch(raw, None, window, all_sums, all_norms)
        _masked_welch(raw, mask, window, noise_sums, noise_norms)
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
                psd=_one_sided_density(all_sums, all_norms, fs),
                noise_psd=_one_sided_density(noise_sums, noise_norms, fs),
                correlation=correlation, masked_share=masked_share,
                compression_ratio=raw_bytes / compressed_bytes,
                quantisation=quantisation, duration=_total_duration(recording))


def _sorted_figures(recording_part, ground_truth, sorter, folder, seed, job, sorter_params):
    """Sort a binary copy of ``recording_part``; quality metrics and ground-truth accuracy."""
    import spikeinterface.comparison as scmp
    import spikeinterface.sorters as ss
    from spikeinterface.core import NumpySorting, create_sorting_analyzer

    try:  # SpikeInterface >= 0.104 moved the quality metrics
        from spikeinterface.metrics import compute_quality_metrics
    except ImportError:  # pragma: no cover - older SpikeInterface
        from spikeinterface.qualitymetrics import compute_quality_metrics

    started = time.perf_counter()
    saved = recording_part.save(folder=folder / "binary", format="binary", **job)
    params = dict(seed=seed, job_kwargs=dict(job))
    params.update(sorter_params or {})
    sorting = ss.run_sorter(sorter, saved, folder=folder / sorter, remove_existing_folder=True,
                            verbose=False, raise_error=True, **params)
    sorting = NumpySorting.from_sorting(sorting)  # in memory: the folder is removed after
    metrics = {column: np.zeros(0) for column in QUALITY_COLUMNS}
    if len(sorting.unit_ids):
        analyzer = create_sorting_analyzer(sorting, saved, format="memory", sparse=True,
                                           **job)
        analyzer.compute(["random_spikes", "waveforms", "templates", "noise_levels",
                          "spike_amplitudes"], extension_params=dict(
                              random_spikes=dict(seed=seed),
                              noise_levels=dict(random_slices_kwargs=dict(seed=seed))), **job)
        table = compute_quality_metrics(analyzer, metric_names=list(QUALITY_METRICS),
                                        skip_pc_metrics=True)
        metrics = {column: table[column].to_numpy(dtype=float) if column in table
                   else np.full(len(sorting.unit_ids), np.nan) for column in QUALITY_COLUMNS}
    accuracy = None
    if ground_truth is not None:
        comparison = scmp.compare_sorter_to_ground_truth(
            _same_stretch(ground_truth, recording_part), sorting, exhaustive_gt=True)
        accuracy = comparison.get_performance()["accuracy"].to_numpy(dtype=float)
    return dict(n_units=len(sorting.unit_ids), metrics=metrics, accuracy=accuracy,
                seconds=time.perf_counter() - started, sorting=sorting, saved=saved)


def _unit_images(recording, sorting, seed, job):
    """Templates of ``sorting``'s units in relative geometry (the synthesizer's layout)."""
    fs = recording.sampling_frequency
    nbefore, nafter = int(round(1.5e-3 * fs)), int(round(2.5e-3 * fs))
    neighbours = spikes.neighbourhoods(spikes.channel_locations(recording),
                                       LINKAGE_NEIGHBOURS)
    return templates_from_sorting(spikes.spike_band(recording), sorting, neighbours, nbefore,
                                  nafter, seed=seed, job=job)[0]


def _ks(real, synthetic):
    from scipy.stats import ks_2samp

    real, synthetic = np.asarray(real, float), np.asarray(synthetic, float)
    real, synthetic = real[np.isfinite(real)], synthetic[np.isfinite(synthetic)]
    if not len(real) or not len(synthetic):
        return float("nan")
    return float(ks_2samp(real, synthetic).statistic)


# ---------------------------------------------------------------------------------- report
def fidelity_report(real, synthetic, *, duration=None, sorter=None, real_sorting=None,
                    synthetic_sorting=None, freq_min=spikes.FREQ_MIN, freq_max=spikes.FREQ_MAX,
                    detect_threshold=spikes.DETECT_THRESHOLD, random_state=None,
                    job_kwargs=None, sorter_params=None, folder=None, privacy=None):
    """Compare a synthetic recording with a real one through SpikeInterface's own tools.

    Both recordings go through the same steps: scaled to µV (when both have gains), the spike
    band (``bandpass_filter``), band noise levels (``get_noise_levels``, MAD), peaks
    (``detect_peaks``, ``locally_exclusive``), Welch spectra of the unfiltered traces with and
    without the samples near peaks, the band's channel correlation with those samples masked,
    the lossless compression ratio, and, when asked, a spike sorter with quality metrics.

    Parameters
    ----------
    real : spikeinterface BaseRecording
        The real recording.
    synthetic : spikeinterface BaseRecording
        The synthetic one: the same number of channels, at the same sampling frequency. Its
        duration may differ (rates are per second).
    duration : None | float
        Seconds analysed from the start of each recording (segments in order). ``None``
        analyses all of it: peak detection then filters and reads every frame once (a lazy
        synthetic recording also generates every frame), and a sorter sorts all of it.
    sorter : None | str
        ``"tridesclous2"`` or ``"spykingcircus2"`` (SpikeInterface's internal sorters; they
        need numba and hdbscan): run on a binary copy of each recording in a temporary folder,
        removed afterwards. Minutes per recording: only when asked.
    real_sorting, synthetic_sorting : None | spikeinterface BaseSorting
        Ground truth of each recording (the synthetic one: the units the synthesizer
        generated). With a sorter, the share of their units found with accuracy >=
        :data:`WELL_DETECTED_ACCURACY` (``compare_sorter_to_ground_truth``); unused without.
    freq_min, freq_max : float
        The spike band in Hz (``freq_max`` below the Nyquist frequency).
    detect_threshold : float
        Peak threshold in MADs of each channel's band noise.
    random_state : None | int | numpy.random.Generator
        Seed of the random chunks (noise levels, spectra, correlation, compression), the
        sorter and the analyzer's random spikes; both recordings get the same chunk positions,
        so a recording compared with itself gives ratios of exactly 1.
    job_kwargs : None | dict
        SpikeInterface job arguments (``n_jobs``, ``chunk_duration``, ``progress_bar``) of the
        peak detection, the binary copies, the sorter and the analyzer; one job without a
        progress bar unless given.
    sorter_params : None | dict
        Parameters passed on to the sorter (replacing the seed and job arguments given here).
    folder : None | path-like
        Where the temporary folder of the binary copies and sorter outputs is made (the system
        default when ``None``): a binary copy takes the recording's size on disk.
    privacy : None | PrivacyReport
        A privacy report of ``synthetic`` to show beside the figures and in :meth:`passes`.

    Returns
    -------
    report : RecordingFidelityReport
        The figures of both recordings side by side, with their ratios and distances.

    Notes
    -----
    The compression ratio quantises the unfiltered traces (report units) to int16 with one
    step for both recordings: the real recording's own step when its traces are integers,
    else :data:`FLOAT_QUANTISATION` of its median band noise level. Each random chunk
    (frames x channels, as in a binary file) is compressed on its own by SpikeInterface's
    default zarr compressor (``get_default_zarr_compressor()``: Blosc with zstd level 5 and
    bit shuffle, what ``recording.save(format="zarr")`` would use). Noise compresses less
    than structured signal: a synthetic recording that is too noisy, or too regular, shows
    in the ratio.
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
    if sorter is not None:
        check_option("sorter", sorter, SORTERS)
    real_sorting = _check_ground_truth(real_sorting, real, "real_sorting", "real")
    synthetic_sorting = _check_ground_truth(synthetic_sorting, synthetic, "synthetic_sorting",
                                            "synthetic")
    if privacy is not None and not isinstance(privacy, PrivacyReport):
        raise TypeError(f"privacy must be None or a PrivacyReport, got "
                        f"{type(privacy).__name__} instead.")
    for name, value in (("job_kwargs", job_kwargs), ("sorter_params", sorter_params)):
        if value is not None and not isinstance(value, dict):
            raise TypeError(f"{name} must be None or a dict, got {type(value).__name__} "
                            "instead.")
    job = spikes.job_kwargs(job_kwargs)
    seed = int(check_random_state(random_state).integers(2**31))

    real_part, synthetic_part = first_seconds(real, duration), first_seconds(synthetic, duration)
    shortest = min(part.get_num_samples(segment_index=s) for part in (real_part, synthetic_part)
                   for s in range(part.get_num_segments()))
    # One chunk length and one set of chunk positions for both (the shorter's range), so that
    # the spectra share frequencies and a recording against itself gives identical figures.
    chunk_frames = min(int(round(CHUNK_DURATION * real.sampling_frequency)), shortest - 1)
    if chunk_frames < MIN_CHUNK_FRAMES:
        raise ValueError(f"The shortest segment of the recordings (or of their first "
                         f"duration={duration} s) holds {shortest} frames; at least "
                         f"{MIN_CHUNK_FRAMES + 1} are needed.")
    in_uV = bool(real.has_scaleable_traces() and synthetic.has_scaleable_traces())
    common = dict(in_uV=in_uV, freq_min=freq_min, freq_max=freq_max,
                  detect_threshold=detect_threshold, chunk_frames=chunk_frames, seed=seed,
                  job=job)
    real_step = None
    if np.dtype(real.get_dtype()).kind in "iu":  # the real recording's own quantisation
        real_step = float(np.median(real.get_channel_gains())) if in_uV else 1.0
    real_m = _measure(real_part, quantisation=real_step, **common)
    synthetic_m = _measure(synthetic_part, quantisation=real_m["quantisation"], **common)
    measures = dict(real=real_m, synthetic=synthetic_m)

    percentiles = {name: _percentiles(m["amplitudes"]) for name, m in measures.items()}
    every_amplitude = np.concatenate([real_m["amplitudes"], synthetic_m["amplitudes"]])
    top = float(np.percentile(every_amplitude, 99.5)) if len(every_amplitude) else 1.0
    edges = np.linspace(0.0, top, N_AMPLITUDE_BINS + 1)
    histograms = {name: np.histogram(np.clip(m["amplitudes"], 0, top), edges)[0]
                  for name, m in measures.items()}
    rates = {name: len(m["amplitudes"]) / m["duration"] for name, m in measures.items()}
    shares = [m["peaks_per_channel"] / m["peaks_per_channel"].sum()
              if m["peaks_per_channel"].sum() else None for m in (real_m, synthetic_m)]
    channel_distance = (float(0.5 * np.abs(shares[0] - shares[1]).sum())
                        if shares[0] is not None and shares[1] is not None else float("nan"))
    frequencies = real_m["psd_frequencies"]
    in_band = (frequencies >= freq_min) & (frequencies <= freq_max)
    off_diagonal = ~np.eye(real.get_num_channels(), dtype=bool)
    median_noise = {name: float(np.median(m["noise_levels"])) for name, m in measures.items()}

    sorted_figures = {}
    if sorter is not None:
        sorted_figures = _sort_both(dict(real=(real_part, real_sorting),
                                         synthetic=(synthetic_part, synthetic_sorting)),
                                    sorter, folder, seed, job, sorter_params)
    return RecordingFidelityReport(
        n_channels=real.get_num_channels(), sampling_frequency=float(real.sampling_frequency),
        units="uV" if in_uV else "raw", freq_min=freq_min,
        freq_max=spikes.band_edges(real.sampling_frequency, freq_min, freq_max)[1],
        detect_threshold=detect_threshold, detector=spikes.detector(),
        duration_real=real_m["duration"], duration_synthetic=synthetic_m["duration"],
        n_peaks_real=len(real_m["amplitudes"]), n_peaks_synthetic=len(synthetic_m["amplitudes"]),
        peak_rate_real=float(rates["real"]), peak_rate_synthetic=float(rates["synthetic"]),
        peak_rate_ratio=_ratio(rates["synthetic"], rates["real"]),
        amplitude_percentiles_real=percentiles["real"],
        amplitude_percentiles_synthetic=percentiles["synthetic"],
        amplitude_ratios=_ratio(percentiles["synthetic"], percentiles["real"]),
        amplitude_bin_edges=edges, amplitude_histogram_real=histograms["real"],
        amplitude_histogram_synthetic=histograms["synthetic"],
        peaks_per_channel_real=real_m["peaks_per_channel"],
        peaks_per_channel_synthetic=synthetic_m["peaks_per_channel"],
        peak_channel_distance=channel_distance, channel_depths=_channel_depths(real),
        noise_levels_real=real_m["noise_levels"],
        noise_levels_synthetic=synthetic_m["noise_levels"],
        noise_level_ratios=_ratio(synthetic_m["noise_levels"], real_m["noise_levels"]),
        noise_level_real=median_noise["real"], noise_level_synthetic=median_noise["synthetic"],
        noise_level_ratio=_ratio(median_noise["synthetic"], median_noise["real"]),
        psd_frequencies=frequencies, psd_real=real_m["psd"], psd_synthetic=synthetic_m["psd"],
        noise_psd_real=real_m["noise_psd"], noise_psd_synthetic=synthetic_m["noise_psd"],
        psd_distance_db=_db_distance(synthetic_m["psd"], real_m["psd"], in_band),
        noise_psd_distance_db=_db_distance(synthetic_m["noise_psd"], real_m["noise_psd"],
                                           in_band),
        noise_correlation_real=real_m["correlation"],
        noise_correlation_synthetic=synthetic_m["correlation"],
        noise_correlation_rmse=float(np.sqrt(np.mean(
            (synthetic_m["correlation"] - real_m["correlation"])[off_diagonal] ** 2))),
        masked_share_real=real_m["masked_share"],
        masked_share_synthetic=synthetic_m["masked_share"],
        compression_codec=(f"{_codec_name()} on int16 frames x channels, chunks of "
                           f"{chunk_frames} frames"),
        quantisation_step=real_m["quantisation"],
        compression_ratio_real=real_m["compression_ratio"],
        compression_ratio_synthetic=synthetic_m["compression_ratio"],
        compression_ratio_ratio=_ratio(synthetic_m["compression_ratio"],
                                       real_m["compression_ratio"]),
        privacy=privacy, **sorted_figures)


def _codec_name():
    from spikeinterface.core.zarrextractors import get_default_zarr_compressor

    return repr(get_default_zarr_compressor())


def _percentiles(values):
    return (np.percentile(values, PERCENTILES) if len(values)
            else np.full(len(PERCENTILES), np.nan))


def _db_distance(synthetic, real, in_band):
    """Mean absolute difference in dB over ``in_band`` (0 where both are 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = 10 * np.log10(synthetic[in_band] / real[in_band])
    difference[synthetic[in_band] == real[in_band]] = 0.0
    return float(np.mean(np.abs(difference)))


def _channel_depths(recording):
    try:
        locations = recording.get_channel_locations()
    except Exception:  # no probe and no 'location' property: SpikeInterface raises
        return None
    return np.asarray(locations, dtype=float)[:, -1]


def _sort_both(parts, sorter, folder, seed, job, sorter_params):
    """The sorter figures of both recordings, from binary copies in a temporary folder."""
    import importlib.util

    # Both sorters declare these dependencies (their is_installed()).
    missing = [name for name in ("numba", "hdbscan") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(f"sorter={sorter!r} needs {' and '.join(missing)}: pip install "
                          f"{' '.join(missing)}")
    workdir = Path(tempfile.mkdtemp(prefix="mne_dualdiv_sorting_",
                                    dir=None if folder is None else str(folder)))
    try:
        figures = {name: _sorted_figures(part, ground_truth, sorter, workdir / name, seed, job,
                                         sorter_params)
                   for name, (part, ground_truth) in parts.items()}
        real, synthetic = figures["real"], figures["synthetic"]
        # Unit linkage: the sorted synthetic units against the real units (the real ground
        # truth where given, else the units sorted in the real recording).
        real_units = (_same_stretch(parts["real"][1], parts["real"][0])
                      if parts["real"][1] is not None else real["sorting"])
        linkage = None
        if len(real_units.unit_ids) >= 2 and len(synthetic["sorting"].unit_ids):
            linkage = unit_linkage(_unit_images(real["saved"], real_units, seed, job),
                                   _unit_images(synthetic["saved"], synthetic["sorting"], seed,
                                                job))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def found(accuracy):
        if accuracy is None:
            return None
        return float(np.mean(accuracy >= WELL_DETECTED_ACCURACY)) if len(accuracy) else (
            float("nan"))

    return dict(
        sorter=sorter, sorting_seconds_real=real["seconds"],
        sorting_seconds_synthetic=synthetic["seconds"], sorted_units_real=real["n_units"],
        sorted_units_synthetic=synthetic["n_units"],
        sorted_units_ratio=_ratio(synthetic["n_units"], real["n_units"]),
        quality_metrics_real=real["metrics"], quality_metrics_synthetic=synthetic["metrics"],
        ks_snr=_ks(real["metrics"]["snr"], synthetic["metrics"]["snr"]),
        ks_firing_rate=_ks(real["metrics"]["firing_rate"], synthetic["metrics"]["firing_rate"]),
        ground_truth_accuracy_real=real["accuracy"],
        ground_truth_accuracy_synthetic=synthetic["accuracy"],
        ground_truth_found_real=found(real["accuracy"]),
        ground_truth_found_synthetic=found(synthetic["accuracy"]), sorted_unit_linkage=linkage)
