"""Issue 10's table: real vs synthetic recordings through SpikeInterface's own tools, per seed.

For each seed: a 32-channel SpikeInterface ground-truth recording (10 units, 30 kHz,
``--duration`` seconds, ``seed`` = the run's seed), a :class:`RecordingSynthesizer` fitted on it
at its defaults (``random_state`` = the seed), a synthetic recording of the same duration
(``sample(duration, random_state=seed + 1)``, the default pool), then
:meth:`RecordingSynthesizer.fidelity_report` (bandpass 300-6000 Hz, ``detect_peaks`` by
channel, threshold 5 MAD) and :meth:`RecordingSynthesizer.privacy_report`. One JSON line per
seed.

Usage (from the repository root)::

    .venv/bin/python benchmarks/recording_fidelity.py --seeds 0 1 2 \\
        --markdown docs/recording_fidelity.md
    .venv/bin/python benchmarks/recording_fidelity.py --quick --seeds 0 --duration 10   # smoke run

``--quick`` keeps the recording defaults of the walk and the windows but uses the small
network and training of ``tests/test_recording.py`` (``SMALL_32``: 1 bridge, 30 steps, 400
windows): seconds instead of minutes, and figures that say nothing about the defaults.

The peaks are counted channel by channel (``method="by_channel"``; ``locally_exclusive`` needs
numba): a spike seen on several channels counts several times, in both recordings alike, so the
rates are several times those of issue 10's table (which counted one peak per spike) while
their ratio measures the same thing.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO_ROOT))

SFREQ = 30000.0
N_CHANNELS = 32
N_UNITS = 10
#: The network and training of tests/test_recording.py's SMALL_32; the walk stays the
#: recording default (RECORDING_GENERATOR_PARAMS).
QUICK_ENGINE = dict(max_steps=30, batch_size=64, n_bridges=1, eval_every=30, patience=1,
                    n_filters=8, hidden=32)
QUICK_MAX_WINDOWS = 400
#: Columns of the Markdown table: (JSON key, header).
COLUMNS = [("peak_rate_real", "peaks/s real"), ("peak_rate_synthetic", "peaks/s synthetic"),
           ("peak_rate_ratio", "ratio"),
           ("median_peak_amplitude_real", "median amplitude real"),
           ("median_peak_amplitude_synthetic", "median amplitude synthetic"),
           ("peak_amplitude_ratio", "ratio"),
           ("median_noise_level_real", "median noise real"),
           ("median_noise_level_synthetic", "median noise synthetic"),
           ("noise_level_ratio", "ratio"),
           ("noise_level_ratio_min", "per-channel noise ratio min"),
           ("noise_level_ratio_max", "max"),
           ("fit_s", "fit (s)"), ("generation_s", "generation (s)"),
           ("membership_inference_auc", "MIA AUC")]


def run_seed(seed, duration, quick):
    """Fit, sample, compare and score one seed; the figures as a dict."""
    import numpy as np
    import spikeinterface.core as sc
    import torch

    from mne_dualdiv import DualDivergenceGenerator
    from mne_dualdiv.adapters.recording import RECORDING_GENERATOR_PARAMS, RecordingSynthesizer

    real, _ = sc.generate_ground_truth_recording(
        num_channels=N_CHANNELS, durations=[duration], sampling_frequency=SFREQ,
        num_units=N_UNITS, seed=seed)
    if quick:
        synthesizer = RecordingSynthesizer(
            max_windows=QUICK_MAX_WINDOWS, random_state=seed,
            generator=DualDivergenceGenerator(**{**RECORDING_GENERATOR_PARAMS, **QUICK_ENGINE}))
    else:
        synthesizer = RecordingSynthesizer(random_state=seed)
    start = time.perf_counter()
    synthesizer.fit(real)
    fit_s = time.perf_counter() - start

    start = time.perf_counter()
    synthetic = synthesizer.sample(duration, random_state=seed + 1)  # makes the pool
    generation_s = time.perf_counter() - start
    start = time.perf_counter()
    chunk = int(SFREQ)
    for frame in range(0, synthetic.get_num_samples(), chunk):  # every frame once, by chunk
        synthetic.get_traces(start_frame=frame,
                             end_frame=min(frame + chunk, synthetic.get_num_samples()))
    read_s = time.perf_counter() - start

    start = time.perf_counter()
    privacy = synthesizer.privacy_report(synthetic, random_state=seed)
    privacy_s = time.perf_counter() - start
    start = time.perf_counter()
    report = synthesizer.fidelity_report(real, synthetic, random_state=seed, privacy=privacy)
    fidelity_s = time.perf_counter() - start
    ratios = np.asarray(report.noise_level_ratios)
    return dict(
        seed=seed, quick=quick, duration_s=duration, channels=N_CHANNELS, units=N_UNITS,
        peak_rate_real=round(report.peak_rate_real, 2),
        peak_rate_synthetic=round(report.peak_rate_synthetic, 2),
        peak_rate_ratio=round(report.peak_rate_ratio, 4),
        median_peak_amplitude_real=round(report.median_peak_amplitude_real, 3),
        median_peak_amplitude_synthetic=round(report.median_peak_amplitude_synthetic, 3),
        peak_amplitude_ratio=round(report.peak_amplitude_ratio, 4),
        median_noise_level_real=round(report.median_noise_level_real, 4),
        median_noise_level_synthetic=round(report.median_noise_level_synthetic, 4),
        noise_level_ratio=round(report.noise_level_ratio, 4),
        noise_level_ratio_min=round(float(np.nanmin(ratios)), 4),
        noise_level_ratio_max=round(float(np.nanmax(ratios)), 4),
        peak_channel_distance=round(report.peak_channel_distance, 4),
        psd_distance_db=round(report.psd_distance_db, 3),
        correlation_rmse=round(report.correlation_rmse, 4),
        membership_inference_auc=round(privacy.membership_inference_auc, 4),
        dcr_ratio=round(privacy.dcr_ratio, 4),
        fit_s=round(fit_s, 1), generation_s=round(generation_s, 1), read_s=round(read_s, 1),
        privacy_s=round(privacy_s, 1), fidelity_s=round(fidelity_s, 1),
        torch_threads=torch.get_num_threads(), load=[round(x, 2) for x in os.getloadavg()])


def write_markdown(path, rows):
    """The table, with the command, the date and the machine that produced it."""
    lines = [
        "# Fidelity of synthetic recordings (issue 10)", "",
        "Generated by `" + " ".join([".venv/bin/python", "benchmarks/recording_fidelity.py",
                                     *sys.argv[1:]])
        + f"` on {datetime.date.today().isoformat()} ({platform.platform()}, "
        f"{os.cpu_count()} CPUs, torch {rows[0]['torch_threads']} thread(s), load average "
        f"{rows[-1]['load']} at the end). {N_CHANNELS}-channel ground-truth recording, "
        f"{N_UNITS} units, {rows[0]['duration_s']:g} s at 30 kHz; "
        + ("`--quick` engine (small network, not the defaults)" if rows[0]["quick"]
           else "`RecordingSynthesizer` at its defaults")
        + ". Peaks by channel (`detect_peaks(method=\"by_channel\")`, bandpass 300-6000 Hz, "
        "5 MAD); ratios are synthetic / real.", "",
        "| seed | " + " | ".join(header for _, header in COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    for row in rows:
        lines.append(f"| {row['seed']} | " + " | ".join(f"{row[key]:.4g}" for key, _ in COLUMNS)
                     + " |")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--duration", type=float, default=60.0,
                        help="seconds of the real and of the synthetic recording (default 60)")
    parser.add_argument("--quick", action="store_true",
                        help="small engine settings of tests/test_recording.py (smoke run)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's own)")
    parser.add_argument("--markdown", help="write the table to this Markdown file")
    args = parser.parse_args()
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    print(f"# {platform.platform()} | {os.cpu_count()} cores | python "
          f"{platform.python_version()} | load average {os.getloadavg()}", flush=True)
    rows = []
    for seed in args.seeds:
        row = run_seed(seed, args.duration, args.quick)
        # NaN (no synthetic peaks: no median amplitude) as null, so that strict JSON reads it.
        print(json.dumps({key: None if isinstance(value, float) and value != value else value
                          for key, value in row.items()}), flush=True)
        rows.append(row)
    if args.markdown:
        write_markdown(args.markdown, rows)


if __name__ == "__main__":
    main()
