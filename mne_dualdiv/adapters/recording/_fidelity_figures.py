"""The fidelity report's side-by-side figures and the acceptance criteria of issue 17 they meet.

:func:`compare` turns the measures of a real and a synthetic recording (from
:func:`._fidelity_measures.measure`) into synthetic / real ratios (:func:`ratio`), histograms
and distances; :func:`judge` checks such figures against :data:`ACCEPTANCE`.
"""

import numpy as np

from ..._checks import check_float, check_option

#: Percentiles of the absolute peak amplitudes compared (issue 17: each within ±25 %).
PERCENTILES = (10.0, 50.0, 90.0)
#: Bins of the amplitude histograms (shared by real and synthetic).
N_AMPLITUDE_BINS = 40
#: Acceptance of issue 17: relative tolerances of the ratios (peak rate, amplitude
#: percentiles, band noise, sorted units), ceilings of the distances (noise PSD in dB, noise
#: correlation RMSE, KS distances) and the floor of the share of generated units found.
ACCEPTANCE = dict(peak_rate=0.25, amplitude_p10=0.25, amplitude_p50=0.25, amplitude_p90=0.25,
                  noise_level=0.10, noise_psd_db=1.0, noise_correlation_rmse=0.1,
                  sorted_units=0.30, ground_truth_found=0.8, ks_snr=0.3, ks_firing_rate=0.3)
#: Which criteria of :data:`ACCEPTANCE` are ceilings of a distance and which are floors; the
#: rest are tolerances of a synthetic / real ratio.
CEILINGS = ("noise_psd_db", "noise_correlation_rmse", "ks_snr", "ks_firing_rate")
FLOORS = ("ground_truth_found",)


def compare(real, synthetic, freq_min, freq_max):
    """The report fields comparing the measures ``real`` and ``synthetic`` of two recordings.

    ``freq_min``-``freq_max`` (Hz) is the band of the PSD distances.
    """
    measures = dict(real=real, synthetic=synthetic)
    percentiles_of = {name: percentiles(m["amplitudes"]) for name, m in measures.items()}
    every_amplitude = np.concatenate([real["amplitudes"], synthetic["amplitudes"]])
    top = float(np.percentile(every_amplitude, 99.5)) if len(every_amplitude) else 1.0
    edges = np.linspace(0.0, top, N_AMPLITUDE_BINS + 1)
    histograms = {name: np.histogram(np.clip(m["amplitudes"], 0, top), edges)[0]
                  for name, m in measures.items()}
    rates = {name: len(m["amplitudes"]) / m["duration"] for name, m in measures.items()}
    shares = [m["peaks_per_channel"] / m["peaks_per_channel"].sum()
              if m["peaks_per_channel"].sum() else None for m in (real, synthetic)]
    channel_distance = (float(0.5 * np.abs(shares[0] - shares[1]).sum())
                        if shares[0] is not None and shares[1] is not None else float("nan"))
    frequencies = real["psd_frequencies"]
    in_band = (frequencies >= freq_min) & (frequencies <= freq_max)
    off_diagonal = ~np.eye(len(real["correlation"]), dtype=bool)
    median_noise = {name: float(np.median(m["noise_levels"])) for name, m in measures.items()}
    return dict(
        duration_real=real["duration"], duration_synthetic=synthetic["duration"],
        n_peaks_real=len(real["amplitudes"]), n_peaks_synthetic=len(synthetic["amplitudes"]),
        peak_rate_real=float(rates["real"]), peak_rate_synthetic=float(rates["synthetic"]),
        peak_rate_ratio=ratio(rates["synthetic"], rates["real"]),
        amplitude_percentiles_real=percentiles_of["real"],
        amplitude_percentiles_synthetic=percentiles_of["synthetic"],
        amplitude_ratios=ratio(percentiles_of["synthetic"], percentiles_of["real"]),
        amplitude_bin_edges=edges, amplitude_histogram_real=histograms["real"],
        amplitude_histogram_synthetic=histograms["synthetic"],
        peaks_per_channel_real=real["peaks_per_channel"],
        peaks_per_channel_synthetic=synthetic["peaks_per_channel"],
        peak_channel_distance=channel_distance,
        noise_levels_real=real["noise_levels"], noise_levels_synthetic=synthetic["noise_levels"],
        noise_level_ratios=ratio(synthetic["noise_levels"], real["noise_levels"]),
        noise_level_real=median_noise["real"], noise_level_synthetic=median_noise["synthetic"],
        noise_level_ratio=ratio(median_noise["synthetic"], median_noise["real"]),
        psd_frequencies=frequencies, psd_real=real["psd"], psd_synthetic=synthetic["psd"],
        noise_psd_real=real["noise_psd"], noise_psd_synthetic=synthetic["noise_psd"],
        psd_distance_db=db_distance(synthetic["psd"], real["psd"], in_band),
        noise_psd_distance_db=db_distance(synthetic["noise_psd"], real["noise_psd"], in_band),
        noise_correlation_real=real["correlation"],
        noise_correlation_synthetic=synthetic["correlation"],
        noise_correlation_rmse=float(np.sqrt(np.mean(
            (synthetic["correlation"] - real["correlation"])[off_diagonal] ** 2))),
        masked_share_real=real["masked_share"], masked_share_synthetic=synthetic["masked_share"],
        quantisation_step=real["quantisation"],
        compression_ratio_real=real["compression_ratio"],
        compression_ratio_synthetic=synthetic["compression_ratio"],
        compression_ratio_ratio=ratio(synthetic["compression_ratio"], real["compression_ratio"]))


def ratio(synthetic, real):
    """``synthetic / real`` elementwise: inf where only ``real`` is 0, nan where both are."""
    synthetic, real = np.asarray(synthetic, dtype=float), np.asarray(real, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = synthetic / real
    return ratio if ratio.ndim else float(ratio)


def percentiles(values):
    """Percentiles :data:`PERCENTILES` of ``values`` (``nan`` when empty)."""
    return (np.percentile(values, PERCENTILES) if len(values)
            else np.full(len(PERCENTILES), np.nan))


def db_distance(synthetic, real, in_band):
    """Mean absolute difference in dB over ``in_band`` (0 where both are 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = 10 * np.log10(synthetic[in_band] / real[in_band])
    difference[synthetic[in_band] == real[in_band]] = 0.0
    return float(np.mean(np.abs(difference)))


def judge(figures, criteria=None):
    """Whether each of ``figures`` (by criterion name) meets its threshold.

    ``criteria`` replaces thresholds of :data:`ACCEPTANCE` (same keys). A ratio passes within
    ``1 ± tolerance``, a distance at most its ceiling (:data:`CEILINGS`), a share at least its
    floor (:data:`FLOORS`); ``nan`` fails.
    """
    if criteria is not None and not isinstance(criteria, dict):
        raise TypeError(f"criteria must be None or a dict, got {type(criteria).__name__} "
                        "instead.")
    thresholds = dict(ACCEPTANCE)
    for key, value in (criteria or {}).items():
        check_option("criteria", key, tuple(ACCEPTANCE))
        thresholds[key] = check_float(f"criteria[{key!r}]", value, low=0)
    passed = {}
    for key, figure in figures.items():
        if key in FLOORS:
            passed[key] = bool(figure >= thresholds[key])
        elif key in CEILINGS:
            passed[key] = bool(figure <= thresholds[key])
        else:
            passed[key] = bool(abs(figure - 1) <= thresholds[key])
    return passed


def criterion(key):
    """The threshold of criterion ``key`` as text (``>= 0.8``, ``<= 1 dB``, ``1 ± 0.25``)."""
    threshold = ACCEPTANCE[key]
    if key in FLOORS:
        return f">= {threshold:g}"
    if key in CEILINGS:
        return f"<= {threshold:g}" + (" dB" if key == "noise_psd_db" else "")
    return f"1 ± {threshold:g}"
