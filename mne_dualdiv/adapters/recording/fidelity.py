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
from dataclasses import dataclass, fields

import numpy as np

from ..._checks import check_bool, check_float, check_option, check_path, check_random_state
from ..._docs import fill_doc
from . import spikes
from ._fidelity_display import plot_report, report_text
# The constants live beside the code that uses them and stay importable from here, where the
# docstrings name them (hence noqa: F401).
from ._fidelity_figures import (ACCEPTANCE, CEILINGS, FLOORS, N_AMPLITUDE_BINS,  # noqa: F401
                                PERCENTILES, compare, judge)
from ._fidelity_measures import (CHUNK_DURATION, FLOAT_QUANTISATION,  # noqa: F401
                                 MASK_MS_AFTER, MASK_MS_BEFORE, MASK_RADIUS_UM, MASK_RAMP_MS,
                                 MIN_CHUNK_FRAMES, N_CHUNKS_PER_SEGMENT, channel_depths,
                                 chunk_length, codec_name, measure, own_quantisation)
from ._metadata import check_recording, first_seconds
from ._sorting import (LINKAGE_NEIGHBOURS, QUALITY_COLUMNS, QUALITY_METRICS,  # noqa: F401
                       SORTERS, WELL_DETECTED_ACCURACY, sort_both)
from .privacy import PrivacyReport, UnitLinkage
from .sorting_templates import check_sorting


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
            added as ``privacy_units``, ``privacy_snippets`` and ``privacy_membership``.
        """
        passed = judge(self.figures(), criteria)
        if self.privacy is not None:
            passed.update({f"privacy_{key}": value
                           for key, value in self.privacy.passes().items()})
        return passed

    def __repr__(self):
        return report_text(self)

    @fill_doc
    def plot(self, show=False):
        """Peaks along the probe, amplitude histograms, spectra and noise levels.

        Parameters
        ----------
        %(show)s

        Returns
        -------
        fig : matplotlib.figure.Figure
            Four panels: peaks per second along the probe (channels at one depth summed when
            the channels have locations), histograms of the absolute peak amplitudes, the
            channel-averaged spectra (all traces solid, noise only dashed; spike band shaded)
            and the band noise level of each channel.
        """
        return plot_report(self, check_bool("show", show))


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
    real_sorting = check_sorting(real_sorting, real, "real_sorting", "real", allow_none=True)
    synthetic_sorting = check_sorting(synthetic_sorting, synthetic, "synthetic_sorting",
                                      "synthetic", allow_none=True)
    if privacy is not None and not isinstance(privacy, PrivacyReport):
        raise TypeError(f"privacy must be None or a PrivacyReport, got "
                        f"{type(privacy).__name__} instead.")
    if sorter_params is not None:
        if not isinstance(sorter_params, dict):
            raise TypeError(f"sorter_params must be None or a dict, got "
                            f"{type(sorter_params).__name__} instead.")
        if sorter is None:
            raise ValueError("sorter_params is given but sorter is None: name the sorter they "
                             "are for.")
    if folder is not None:
        folder = check_path("folder", folder)
        if not folder.is_dir():
            raise ValueError(f"folder must be an existing folder, where the temporary folder of "
                             f"the binary copies and sorter outputs is made; {folder} is not.")
    job = spikes.job_kwargs(job_kwargs)
    seed = int(check_random_state(random_state).integers(2**31))

    real_part, synthetic_part = first_seconds(real, duration), first_seconds(synthetic, duration)
    # One chunk length and one set of chunk positions for both (the shorter's range), so that
    # the spectra share frequencies and a recording against itself gives identical figures.
    chunk_frames = chunk_length(real_part, synthetic_part, real.sampling_frequency, duration)
    in_uV = bool(real.has_scaleable_traces() and synthetic.has_scaleable_traces())
    common = dict(in_uV=in_uV, freq_min=freq_min, freq_max=freq_max,
                  detect_threshold=detect_threshold, chunk_frames=chunk_frames, seed=seed,
                  job=job)
    # The real recording's own quantisation (when integer) serves both.
    real_m = measure(real_part, quantisation=own_quantisation(real, in_uV), **common)
    synthetic_m = measure(synthetic_part, quantisation=real_m["quantisation"], **common)

    sorted_figures = {}
    if sorter is not None:
        sorted_figures = sort_both(dict(real=(real_part, real_sorting),
                                        synthetic=(synthetic_part, synthetic_sorting)),
                                   sorter, folder, seed, job, sorter_params)
    return RecordingFidelityReport(
        n_channels=real.get_num_channels(), sampling_frequency=float(real.sampling_frequency),
        units="uV" if in_uV else "raw", freq_min=freq_min,
        freq_max=spikes.band_edges(real.sampling_frequency, freq_min, freq_max)[1],
        detect_threshold=detect_threshold, detector=spikes.detector(),
        channel_depths=channel_depths(real),
        compression_codec=(f"{codec_name()} on int16 frames x channels, chunks of "
                           f"{chunk_frames} frames"),
        privacy=privacy, **compare(real_m, synthetic_m, freq_min, freq_max), **sorted_figures)


def _check_pair(real, synthetic):
    """Check that ``real`` and ``synthetic`` are recordings of the same channels and rate."""
    check_recording(real, "real")
    check_recording(synthetic, "synthetic")
    if synthetic.get_num_channels() != real.get_num_channels():
        raise ValueError(f"synthetic has {synthetic.get_num_channels()} channels; real has "
                         f"{real.get_num_channels()}. Compare recordings of the same channels.")
    if not math.isclose(synthetic.sampling_frequency, real.sampling_frequency):
        raise ValueError(f"synthetic is sampled at {synthetic.sampling_frequency} Hz; real at "
                         f"{real.sampling_frequency} Hz. Compare recordings of the same rate.")
