"""How a fidelity report reads: the text table of its ``repr`` and its four-panel figure."""

import numpy as np

from ._fidelity_figures import PERCENTILES, criterion, ratio
from ._sorting import QUALITY_COLUMNS, WELL_DETECTED_ACCURACY


def report_text(report):
    """The text of ``repr(report)``: each figure, real against synthetic, with its verdict."""
    unit = "µV" if report.units == "uV" else "raw units"
    passed = report.passes()
    verdict = {True: "pass", False: "FAIL"}

    def row(label, real, synthetic, quotient, key=None):
        judged = "" if key is None else f"{criterion(key):>14s} {verdict[passed[key]]}"
        return (f"  {label:34s}{fmt(real):>10s}{fmt(synthetic):>11s}{fmt(quotient, 3):>8s}"
                f"{judged}")

    lines = [
        f"<RecordingFidelityReport | {report.n_channels} channels at "
        f"{report.sampling_frequency:g} Hz; {report.duration_real:g} s real, "
        f"{report.duration_synthetic:g} s synthetic; band {report.freq_min:g}-"
        f"{report.freq_max:g} Hz; peaks beyond {report.detect_threshold:g} MAD "
        f"({report.detector}); values in {unit}",
        f"  {'figure':34s}{'real':>10s}{'synthetic':>11s}{'ratio':>8s}"
        f"{'criterion':>14s}",
        row("peaks per second", report.peak_rate_real, report.peak_rate_synthetic,
            report.peak_rate_ratio, "peak_rate"),
    ]
    for i, percentile in enumerate(PERCENTILES):
        lines.append(row(f"peak amplitude p{percentile:g}",
                         report.amplitude_percentiles_real[i],
                         report.amplitude_percentiles_synthetic[i], report.amplitude_ratios[i],
                         f"amplitude_p{percentile:g}"))
    lines += [
        row("band noise level (median MAD)", report.noise_level_real,
            report.noise_level_synthetic, report.noise_level_ratio, "noise_level"),
        row("compression ratio", report.compression_ratio_real,
            report.compression_ratio_synthetic, report.compression_ratio_ratio),
        f"  noise PSD distance {report.noise_psd_distance_db:.2f} dB "
        f"({criterion('noise_psd_db')}: {verdict[passed['noise_psd_db']]}); all traces "
        f"{report.psd_distance_db:.2f} dB",
        f"  noise correlation RMSE {report.noise_correlation_rmse:.3f} "
        f"({criterion('noise_correlation_rmse')}: "
        f"{verdict[passed['noise_correlation_rmse']]}); samples masked near peaks: "
        f"{report.masked_share_real:.2f} real, {report.masked_share_synthetic:.2f} synthetic",
        f"  peaks over channels, total variation distance {report.peak_channel_distance:.3f}",
        f"  compression: {report.compression_codec}, step {report.quantisation_step:.4g}",
    ]
    if report.sorter is not None:
        lines.append(row(f"units sorted by {report.sorter}", report.sorted_units_real,
                         report.sorted_units_synthetic, report.sorted_units_ratio,
                         "sorted_units"))
        for column in QUALITY_COLUMNS:
            lines.append(row(f"  median {column}",
                             nanmedian(report.quality_metrics_real[column]),
                             nanmedian(report.quality_metrics_synthetic[column]),
                             ratio(nanmedian(report.quality_metrics_synthetic[column]),
                                    nanmedian(report.quality_metrics_real[column]))))
        lines.append(f"  KS distance: SNR {report.ks_snr:.3f} ({criterion('ks_snr')}: "
                     f"{verdict[passed['ks_snr']]}), firing rate "
                     f"{report.ks_firing_rate:.3f} ({criterion('ks_firing_rate')}: "
                     f"{verdict[passed['ks_firing_rate']]})")
        for side in ("real", "synthetic"):
            found = getattr(report, f"ground_truth_found_{side}")
            if found is not None:
                accuracy = getattr(report, f"ground_truth_accuracy_{side}")
                text = (f"  {side} ground truth: {found:.2f} of {len(accuracy)} units "
                        f"found with accuracy >= {WELL_DETECTED_ACCURACY:g}")
                if side == "synthetic":
                    text += (f" ({criterion('ground_truth_found')}: "
                             f"{verdict[passed['ground_truth_found']]})")
                lines.append(text)
    if report.sorted_unit_linkage is not None:
        link = report.sorted_unit_linkage
        lines.append(f"  sorted synthetic units' best similarity to a real unit: max "
                     f"{np.max(link.best_similarity):.3f}; real units to "
                     f"their nearest distinct real unit: median "
                     f"{link.real_median:.3f} ({link.n_above} above it)")
    if report.privacy is not None:
        lines += ["  " + line for line in repr(report.privacy).strip("<>").splitlines()]
    return "\n".join(lines) + ">"


def plot_report(report, show=False):
    """The figure of ``report.plot(show)``: :meth:`~.fidelity.RecordingFidelityReport.plot`."""
    import matplotlib.pyplot as plt

    styles = {"real": dict(color="k"), "synthetic": dict(color="C3")}
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    rate_ax, amplitude_ax, psd_ax, noise_ax = axes.ravel()
    unit = "µV" if report.units == "uV" else "raw units"

    depth = report.channel_depths
    positions, row = np.unique(np.arange(report.n_channels) if depth is None else depth,
                               return_inverse=True)
    for label, counts, duration in (
            ("real", report.peaks_per_channel_real, report.duration_real),
            ("synthetic", report.peaks_per_channel_synthetic, report.duration_synthetic)):
        rate_ax.plot(np.bincount(row, weights=counts, minlength=len(positions)) / duration,
                     positions, drawstyle="steps-mid",
                     label=f"{label}: {counts.sum() / duration:.1f} peaks/s",
                     **styles[label])
    rate_ax.set_xlabel("Peaks per second" if depth is None else
                       "Peaks per second (channels at one depth summed)")
    rate_ax.set_ylabel("Channel depth" if depth is not None else "Channel index")
    rate_ax.set_title(f"Peak rate ratio {report.peak_rate_ratio:.2f}", fontsize=9)
    rate_ax.legend(fontsize=7)

    for label, counts in (("real", report.amplitude_histogram_real),
                          ("synthetic", report.amplitude_histogram_synthetic)):
        total = counts.sum()
        amplitude_ax.stairs(counts / total if total else counts, report.amplitude_bin_edges,
                            label=f"{label} (n={int(total)})", lw=1.5, **styles[label])
    amplitude_ax.set_xlabel(f"Absolute peak amplitude ({unit})")
    amplitude_ax.set_ylabel("Fraction of peaks")
    amplitude_ax.set_title("Amplitude ratios p10 / p50 / p90: " + " / ".join(
        f"{r:.2f}" for r in report.amplitude_ratios), fontsize=9)
    amplitude_ax.legend(fontsize=7)

    for label, psd, noise in (("real", report.psd_real, report.noise_psd_real),
                              ("synthetic", report.psd_synthetic, report.noise_psd_synthetic)):
        psd_ax.loglog(report.psd_frequencies[1:], psd[1:], label=f"{label}", **styles[label])
        psd_ax.loglog(report.psd_frequencies[1:], noise[1:], ls="--",
                      label=f"{label}, noise only", **styles[label])
    psd_ax.axvspan(report.freq_min, report.freq_max, color="0.9", zorder=0)
    psd_ax.set_xlabel("Frequency (Hz)")
    psd_ax.set_ylabel(f"Power ({unit}² / Hz)")
    psd_ax.set_title(f"Mean spectrum; noise {report.noise_psd_distance_db:.2f} dB apart in "
                     "the band", fontsize=9)
    psd_ax.legend(fontsize=7)

    noise_ax.scatter(report.noise_levels_real, report.noise_levels_synthetic, s=10, color="C3")
    low = np.nanmin([report.noise_levels_real.min(), report.noise_levels_synthetic.min()])
    high = np.nanmax([report.noise_levels_real.max(), report.noise_levels_synthetic.max()])
    noise_ax.plot([low, high], [low, high], color="k", lw=1, ls="--")
    noise_ax.set_xlabel(f"Real band noise level ({unit})")
    noise_ax.set_ylabel(f"Synthetic band noise level ({unit})")
    noise_ax.set_title(f"Noise level per channel; median ratio {report.noise_level_ratio:.2f}; "
                       f"correlation RMSE {report.noise_correlation_rmse:.3f}", fontsize=9)

    fig.suptitle("Real (black) vs synthetic (red)", fontsize=10)
    fig.tight_layout()
    if show:
        plt.show()
    return fig


def fmt(value, digits=4):
    """``value`` in a table cell: ``-`` for ``None``, integers whole, else ``digits`` digits."""
    if value is None:
        return "-"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{value:.{digits}g}"


def nanmedian(values):
    """Median of the finite ``values`` (``nan`` when none is)."""
    values = np.asarray(values, dtype=float)
    return float(np.median(values[np.isfinite(values)])) if np.isfinite(values).any() else (
        float("nan"))
