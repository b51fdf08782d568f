"""Issue 17's acceptance table: synthetic recordings through SpikeInterface's own tools.

For each case: a ground-truth recording (saved as a binary folder), a
:class:`~mne_dualdiv.adapters.recording.RecordingSynthesizer` fitted on it (timed, peak
resident memory of this process polled every 20 ms), a synthetic recording of the same
duration (``sample(duration, random_state=seed + 1)``) written to a binary folder with
``n_jobs`` SpikeInterface jobs (timed: seconds of recording per wall second), then
:func:`~mne_dualdiv.adapters.recording.fidelity.fidelity_report` (locally exclusive peaks,
5 MAD; spike-masked noise PSD and correlation; compression; a sorter on both with quality
metrics and ground-truth accuracy; the sorted synthetic units' linkage to the real units) and
:meth:`RecordingSynthesizer.privacy_report` (generated units and snippets). One JSON line per
case; ``--markdown`` writes the table.

Cases (``--cases``):

The synthesizer learns from the first ``--fit-fraction`` of the recording (0.75): the spikes
of the rest are the held-out real spikes of the snippet privacy test.

- ``si32``: SpikeInterface's ``generate_ground_truth_recording`` (32 channels, 10 units,
  white independent noise, look-alike units): the recording of the issue's first table;
- ``hard32``: :func:`mne_dualdiv.datasets.simulate_recording` (32 channels, 10 units,
  1/f spatially correlated noise with a common mode, heterogeneous and bursting units);
- ``drift32``: the same with ``drift=True``; the synthetic recording drifts as SpikeInterface's
  ``correct_motion(preset="rigid_fast")`` estimates the real one's motion (what a user sharing
  a drifting recording would do);
- ``np384``: the same on a Neuropixels 1.0 geometry (384 channels, 50 units).

Usage (from the repository root; needs the ``sorting`` extra)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_fidelity.py \\
        --cases si32 hard32 --seeds 0 1 2 --jsonl rows.jsonl
    .venv/bin/python benchmarks/recording_fidelity.py --cases hard32 --duration 10 \\
        --sorter none   # smoke run
    .venv/bin/python benchmarks/recording_fidelity.py --from-jsonl a.jsonl b.jsonl \\
        --markdown docs/recording_fidelity.md   # one table from saved runs
"""

import argparse
import datetime
import functools
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory import PeakMemory  # noqa: E402
from _rows import read_rows  # noqa: E402

CASES = dict(si32=dict(kind="si", num_channels=32, num_units=10),
             hard32=dict(kind="hard", num_channels=32, num_units=10, probe="linear"),
             drift32=dict(kind="hard", num_channels=32, num_units=10, probe="linear",
                          drift=True),
             np384=dict(kind="hard", num_channels=384, num_units=50, probe="neuropixels"))


def make_real(case, duration, seed):
    """The ground-truth recording and sorting of ``case``."""
    spec = dict(CASES[case])
    if spec.pop("kind") == "si":
        import spikeinterface.core as sc

        return sc.generate_ground_truth_recording(durations=[duration],
                                                  sampling_frequency=30000.0, seed=seed, **spec)
    from mne_dualdiv.datasets import simulate_recording

    return simulate_recording(duration=duration, seed=seed, **spec)


def run_case(case, seed, args, workdir):
    from mne_dualdiv.adapters.recording import RecordingSynthesizer
    from mne_dualdiv.adapters.recording.fidelity import fidelity_report

    job = dict(n_jobs=args.n_jobs, chunk_duration="1s", progress_bar=False)
    real, truth = make_real(case, args.duration, seed)
    real = real.save(folder=workdir / f"{case}_real", **job)
    with PeakMemory() as fit:
        synthesizer = RecordingSynthesizer(template_model=args.template_model,
                                           fit_duration=args.fit_fraction * args.duration,
                                           random_state=seed).fit(real)
    motion = None
    if CASES[case].get("drift"):
        from spikeinterface.preprocessing import correct_motion

        _, motion = correct_motion(real, preset="rigid_fast", output_motion=True, **job)
    with PeakMemory() as generate:
        synthetic = synthesizer.sample(args.duration, random_state=seed + 1, motion=motion)
        ground_truth = synthetic.get_ground_truth()
        saved = synthetic.save(folder=workdir / f"{case}_synthetic", **job)
    report = fidelity_report(real, saved, sorter=None if args.sorter == "none" else args.sorter,
                             real_sorting=truth, synthetic_sorting=ground_truth,
                             random_state=0, job_kwargs=dict(n_jobs=args.n_jobs),
                             folder=workdir)
    privacy = synthesizer.privacy_report(real, synthetic=synthetic, random_state=0)
    row = dict(case=case, template_model=args.template_model, duration=args.duration,
               fit_fraction=args.fit_fraction, commit=measured_commit(),
               seed=seed, channels=real.get_num_channels(),
               real_units=len(truth.unit_ids), clusters=synthesizer.n_real_units_,
               synthetic_units=synthetic.units.n_units, guard=synthesizer.units_.guard,
               fit_s=fit.seconds, fit_peak_mb=fit.peak, fit_start_mb=fit.start,
               generate_s=generate.seconds, realtime_factor=args.duration / generate.seconds,
               n_jobs=args.n_jobs, passes=report.passes(), privacy_passes=privacy.passes(),
               shape=shape_distances(real, truth, synthesizer, synthetic),
               privacy=privacy.to_dict(),
               report={key: value for key, value in report.to_dict().items()
                       if not isinstance(value, list) or len(value) <= 10})
    return row, report, privacy


def shape_features(images, sampling_frequency, row_distances):
    """Waveform features of relative-geometry templates (n, k, t), in the spike band.

    ``width_ms``: trough to the following maximum on the peak channel; ``repolarisation``:
    that maximum over the trough's depth; ``half_width_ms``: time the trough spends below half
    its depth; ``spread_um``: trough-depth-weighted mean distance of the rows from the peak
    channel.
    """
    from mne_dualdiv.adapters.recording.spikes import band_filter

    band = band_filter(images, sampling_frequency)
    row0 = band[:, 0]
    trough = row0.argmin(axis=1)
    depth = -row0[np.arange(len(row0)), trough]
    after = [row[t:] for row, t in zip(row0, trough)]
    peak = np.array([a.argmax() for a in after])
    height = np.array([a.max() for a in after])
    depths = np.clip(-band.min(axis=2), 0, None)
    return dict(width_ms=1e3 * peak / sampling_frequency,
                repolarisation=height / np.maximum(depth, 1e-12),
                half_width_ms=1e3 * (row0 < -depth[:, None] / 2).sum(axis=1) / sampling_frequency,
                spread_um=(depths * row_distances[0]).sum(axis=1) / np.maximum(depths.sum(axis=1),
                                                                              1e-12))


def shape_distances(real, truth, synthesizer, synthetic):
    """KS distance of each waveform feature: generated units against the real ground truth."""
    from scipy.stats import ks_2samp

    from mne_dualdiv.adapters.recording import spikes
    from mne_dualdiv.adapters.recording.privacy import templates_from_sorting

    fs = real.sampling_frequency
    real_images = templates_from_sorting(spikes.spike_band(real, freq_min=spikes.TEMPLATE_FREQ_MIN),
                                         truth, synthesizer.neighbours_, synthesizer.nbefore_,
                                         synthesizer.nafter_)[0]
    rows = synthesizer.units_.row_distances
    real_f = shape_features(real_images, fs, rows)
    synthetic_f = shape_features(synthetic.units.images, fs, rows)
    out = {f"ks_{key}": float(ks_2samp(real_f[key], synthetic_f[key]).statistic)
           for key in real_f}
    out["ks_shape_mean"] = float(np.mean(list(out.values())))
    out.update({f"median_{key}_real": float(np.median(real_f[key])) for key in real_f})
    out.update({f"median_{key}_synthetic": float(np.median(synthetic_f[key])) for key in real_f})
    return out


@functools.lru_cache(maxsize=None)
def measured_commit():
    """The commit this run measures (with ``+dirty`` for uncommitted changes), read once.

    Read when first asked, before any case runs: a commit made while a long run goes on is
    not the code that run imported.
    """
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+dirty" if dirty else "")


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and value != value:
        return None
    raise TypeError(type(value).__name__)


#: Acceptance points of issue 17 (keys of ``passes``), as the summary names them.
ACCEPTANCE = dict(peak_rate="peak rate", amplitude_p10="amp. p10", amplitude_p50="amp. p50",
                  amplitude_p90="amp. p90", noise_level="band noise", noise_psd_db="noise PSD",
                  noise_correlation_rmse="noise corr.", sorted_units="sorted units",
                  ground_truth_found="GT found", ks_snr="KS SNR", ks_firing_rate="KS rate")


def summary(rows):
    """Markdown lines: per case, how many of its seeds meet each acceptance point."""
    cases = list(dict.fromkeys(r["case"] for r in rows))
    lines = ["| case (seeds) | " + " | ".join(ACCEPTANCE.values())
             + " | generated-unit privacy | sorted-unit privacy | snippet privacy |",
             "|---" * (len(ACCEPTANCE) + 4) + "|"]
    def count(values):
        known = [v for v in values if v is not None]
        return f"{sum(known)}/{len(known)}" if known else "-"

    for case in cases:
        mine = [r for r in rows if r["case"] == case]
        cells = [count([r["passes"].get(key) for r in mine]) for key in ACCEPTANCE]
        cells.append(count([r["privacy_passes"].get("units") for r in mine]))
        cells.append(count([None if r["report"].get("sorted_unit_linkage") is None else
                            r["report"]["sorted_unit_linkage"]["n_above"] == 0 for r in mine]))
        cells.append(count([r["privacy_passes"].get("snippets") for r in mine]))
        seeds = ", ".join(str(r["seed"]) for r in mine)
        lines.append(f"| {case} ({seeds}) | " + " | ".join(cells) + " |")
    return lines


def markdown(rows, command, started):
    """The generated page: the acceptance summary, then one table per case (a column per seed)."""
    cases = list(dict.fromkeys(r["case"] for r in rows))
    lines = [
        "# Fidelity of synthetic recordings (issue 17)",
        "",
        f"Generated by `{command}` on {started:%Y-%m-%d} ({platform.platform()}, "
        f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        "at the end; other jobs shared the 2 cores, so times are upper bounds). Each column: "
        f"a ground-truth recording of {rows[0]['duration']:g} s at 30 kHz (seed s), "
        f"`RecordingSynthesizer(template_model=..., fit_duration={rows[0]['fit_fraction']:g} "
        "x duration, random_state=s)` (the rest of the recording holds the held-out spikes of "
        "the snippet test), other parameters at their defaults, a synthetic recording of the "
        "same duration (seed s + 1) saved with SpikeInterface jobs, sorter "
        f"`{rows[0]['report']['sorter']}`. Ratios are synthetic / real; issue 17's acceptance "
        "in brackets (✓ met, ✗ not met). The sorter is not reproducible from run to run on the "
        "same recording (section 5 of docs/recording.md), so its figures move between runs.",
        "",
        "## Acceptance over seeds",
        "",
        "Seeds meeting each point, per case:",
        "",
        *summary(rows),
        "",
    ]
    for case in cases:
        mine = [r for r in rows if r["case"] == case]
        lines += [f"## {case}", "", *_case_table(mine), ""]
    lines += ["Peak memory is this process's resident set (the synthesizer's fit includes "
              "reading the binary recording); the real recording's own sorting is a sorter "
              "run like the synthetic one's. Raw figures: the JSON lines of "
              "`benchmarks/results/`.", ""]
    return "\n".join(lines)


def _case_table(rows):
    """Markdown lines of the figures of ``rows``, one column each."""
    def get(row, *keys):
        value = row
        for key in keys:
            value = None if value is None else value.get(key)
        return value

    def fmt(value, spec):
        return "-" if value is None or value != value else format(value, spec)

    lines = [
        "| figure | " + " | ".join(f"{r['case']} seed {r['seed']} {r['template_model']} "
                                   f"({r.get('commit', '?')[:7]})" for r in rows) + " |",
        "|---" * (len(rows) + 1) + "|",
    ]

    def line(name, cells):
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    def check(row, key):
        passed = row["passes"].get(key)
        return "" if passed is None else (" ✓" if passed else " ✗")

    line("template model", [r["template_model"] for r in rows])
    line("channels / real units / clusters found / synthetic units",
         [f"{r['channels']} / {r['real_units']} / {r['clusters']} / {r['synthetic_units']}"
          for r in rows])
    line("peaks/s real → synthetic (±25 %)",
         [f"{r['report']['peak_rate_real']:.1f} → {r['report']['peak_rate_synthetic']:.1f}"
          f"{check(r, 'peak_rate')}" for r in rows])
    for i, p in enumerate((10, 50, 90)):
        line(f"amplitude p{p} real → synthetic (±25 %)",
             [f"{r['report']['amplitude_percentiles_real'][i]:.1f} → "
              f"{r['report']['amplitude_percentiles_synthetic'][i]:.1f}"
              f"{check(r, f'amplitude_p{p}')}" for r in rows])
    line("band noise (MAD) real → synthetic (±10 %)",
         [f"{r['report']['noise_level_real']:.2f} → {r['report']['noise_level_synthetic']:.2f}"
          f"{check(r, 'noise_level')}" for r in rows])
    line("noise PSD distance, dB (≤ 1)",
         [fmt(r["report"]["noise_psd_distance_db"], ".2f") + check(r, "noise_psd_db")
          for r in rows])
    line("PSD distance with spikes, dB", [fmt(r["report"]["psd_distance_db"], ".2f")
                                          for r in rows])
    line("noise correlation RMSE (≤ 0.1)",
         [fmt(r["report"]["noise_correlation_rmse"], ".3f") + check(r, "noise_correlation_rmse")
          for r in rows])
    line("compression ratio real → synthetic",
         [f"{r['report']['compression_ratio_real']:.2f} → "
          f"{r['report']['compression_ratio_synthetic']:.2f}" for r in rows])
    line("sorted units real → synthetic (±30 %)",
         [f"{fmt(r['report']['sorted_units_real'], 'd')} → "
          f"{fmt(r['report']['sorted_units_synthetic'], 'd')}{check(r, 'sorted_units')}"
          for r in rows])
    line("real ground truth found (acc. ≥ 0.8)",
         [fmt(r["report"]["ground_truth_found_real"], ".2f") for r in rows])
    line("synthetic ground truth found (≥ 0.8)",
         [fmt(r["report"]["ground_truth_found_synthetic"], ".2f")
          + check(r, "ground_truth_found") for r in rows])
    line("KS SNR / KS firing rate (≤ 0.3)",
         [f"{fmt(r['report']['ks_snr'], '.2f')}{check(r, 'ks_snr')} / "
          f"{fmt(r['report']['ks_firing_rate'], '.2f')}{check(r, 'ks_firing_rate')}"
          for r in rows])
    line("sorted synthetic units: best similarity to a real unit, max (< real median)",
         [("-" if get(r, "report", "sorted_unit_linkage") is None else
           f"{max(r['report']['sorted_unit_linkage']['best_similarity'], default=float('nan')):.3f}"
           f" (median {r['report']['sorted_unit_linkage']['real_median']:.3f}; "
           f"{r['report']['sorted_unit_linkage']['n_above']} above)"
           + (" ✓" if r["report"]["sorted_unit_linkage"]["n_above"] == 0 else " ✗"))
          for r in rows])
    line("generated units: best similarity to a real cluster, max (< real median)",
         [f"{max(r['privacy']['units']['best_similarity'], default=float('nan')):.3f} "
          f"(median {r['privacy']['units']['real_median']:.3f}; "
          f"{r['privacy']['units']['n_above']} above)"
          + (" ✓" if r["privacy_passes"]["units"] else " ✗") for r in rows])
    line("synthetic snippets closer than held-out (≤ 0.5)",
         [("-" if r["privacy"]["snippets"] is None else
           f"{r['privacy']['snippets']['share_closer']:.3f}"
           + (" ✓" if r["privacy_passes"].get("snippets") else " ✗")) for r in rows])
    line("unit shapes: mean KS of width, half-width, repolarisation, spread vs real units",
         [fmt(get(r, "shape", "ks_shape_mean"), ".2f") for r in rows])
    line("fit: seconds / peak MB (≤ 2 GB for 384 ch)",
         [f"{r['fit_s']:.0f} / {r['fit_peak_mb']:.0f}" for r in rows])
    line("generation of a binary copy: x real time (SpikeInterface jobs; ≥ 1 for 384 ch)",
         [f"{r['realtime_factor']:.2f} ({r['n_jobs']} job{'s' if r['n_jobs'] > 1 else ''})"
          + (" ✓" if r["realtime_factor"] >= 1 else " ✗") * (r["channels"] >= 384)
          for r in rows])
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["si32", "hard32", "np384"],
                        choices=sorted(CASES))
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="one run per case and seed")
    parser.add_argument("--fit-fraction", type=float, default=0.75,
                        help="share of the recording the synthesizer learns from (the rest "
                             "holds the held-out spikes of the snippet privacy test)")
    parser.add_argument("--template-model", default="gaussian", choices=["gaussian", "engine"])
    parser.add_argument("--sorter", default="tridesclous2",
                        choices=["tridesclous2", "spykingcircus2", "none"])
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--markdown", default=None, help="write the table to this file")
    parser.add_argument("--jsonl", default=None, help="append the rows to this file")
    parser.add_argument("--from-jsonl", nargs="+", default=None,
                        help="write the table of rows saved by earlier runs (no new run; a "
                             "later row of a case and seed replaces an earlier one)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    started = datetime.datetime.now()
    command = "OMP_NUM_THREADS=1 .venv/bin/python " + " ".join(sys.argv)
    if args.from_jsonl:
        rows = read_rows(args.from_jsonl)
        # A later run of a case and seed (files in the order given) replaces an earlier one.
        rows = list({(row["case"], row["seed"]): row for row in rows}.values())
        Path(args.markdown).write_text(markdown(rows, command, started))
        return
    measured_commit()  # the code imported now, whatever is committed while the cases run
    workdir = Path(tempfile.mkdtemp(prefix="recording_fidelity_"))
    rows = []
    try:
        for case, seed in [(c, s) for c in args.cases for s in args.seeds]:
            row, report, privacy = run_case(case, seed, args, workdir)
            print(report, privacy, sep="\n", flush=True)
            line = json.dumps(row, default=_plain)
            print(line, flush=True)
            if args.jsonl:
                with open(args.jsonl, "a") as out:
                    out.write(line + "\n")
            rows.append(json.loads(line))
            for folder in workdir.iterdir():
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.markdown:
        Path(args.markdown).write_text(markdown(rows, command, started))


if __name__ == "__main__":
    main()
