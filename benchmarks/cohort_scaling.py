"""Engine fit and sampling time and peak memory against the number of epochs and channels.

Issue 21, point 6: how :class:`~mne_dualdiv.DualDivergenceGenerator` scales with the cohort,
on the CPU with 1 process and with 2 processes (the user's fit script unchanged under
``torchrun --standalone --nproc_per_node 2``, gloo), and on a GPU (``device="cuda"``, one
process) when ``torch.cuda.is_available()``; otherwise the GPU runs are skipped and the rows
say so (``cuda_available``).

**Data**: simulated epochs (:func:`simulate_epochs`, seeded, float64): ``n_channels`` sensors
on a line mixing 6 latent rhythms (AR(2) resonators at 4-30 Hz, 200 Hz sampling, Gaussian
spatial patterns, log-normal amplitudes per epoch) with spatially smooth ``1/f``-like
background and sensor noise; ``--n-times`` samples per epoch (100: half a second).

**Budget**: the ``--preset`` named in :mod:`mne_dualdiv.presets`, ``"fast"`` by default (the
command line's ``--quick``: 60 steps of 128 epochs, 1 bridge, a small network), fits with
``random_state`` each of ``--seeds`` (0 and 1), ``sample(--n-samples=1000)``. The training
steps do not depend on the cohort, so the growth measured is that of the work done on every
epoch (scaling, the data Gaussian, the dual values, the kNN neighbourhoods and near-copy
statistics of the dual space, the walks' covariance products) and of the network's input
layer with the channels. The engine's default budget (1500 steps, 32 bridges) would take
hours for this grid.

**Grid** (``--grid``): ``"cross"`` (the default) varies the epochs (``--epochs``, 100 to
10,000) at ``--fixed-channels`` (32) and the channels (``--channels``, 8 to 384) at
``--fixed-epochs`` (1,000); ``"full"`` runs every pair. Memory measured while this was
written (``fast``, 100 samples per epoch): the fit of 10,000 x 32 peaked at 4.0 GB, the fit of
1,000 x 384 at 4.5 GB and its sampling at 5.8 GB, so the full grid's 10,000 x 384 corner
would not fit in 24 GB; run ``"full"`` with ``--epochs`` and ``--channels`` that leave it out.
The 2-process runs hold the data and the dual space in both processes (about 9 GB in all for
the largest pairs of the cross grid).

**Figures**, each run a fresh process (or two), ``OMP_NUM_THREADS=1``: ``fit()`` time;
``sample(--n-samples)`` time (one process: sampling is not split between processes, so the
2-process runs do not sample); peak resident memory of each process polled every 20 ms
(``_memory.PeakMemory``) during ``fit`` and ``sample``, and its memory after the imports
(before the data are made); for 2 processes the sum over both. The growth with the epochs
(and the channels) is the slope of a least-squares line through ``log(figure)`` against
``log(epochs)``, stated on the page with the figures it is fitted on.

Usage (from the repository root, on an otherwise idle machine; the default grid, 13 pairs x
2 seeds x (1 and 2 processes), takes 45 to 60 minutes on 2 cores: an estimate from the CPU
times of 4 pairs measured while other jobs shared the cores, about 17 minutes per seed for
the 1-process runs, two thirds of it sampling, and 6 for the 2-process ones)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cohort_scaling.py \
        --jsonl benchmarks/results/cohort_scaling.jsonl
    .venv/bin/python benchmarks/cohort_scaling.py \
        --from-jsonl benchmarks/results/cohort_scaling.jsonl --markdown docs/scaling.md \
        --plot docs/_static/cohort_scaling.png

A validation run at small sizes (a few minutes): ``--epochs 100 200 --channels 8 16
--fixed-epochs 100 --fixed-channels 8 --n-samples 100 --seeds 0 --validation``.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
from _memory import PeakMemory  # noqa: E402
from _rows import read_rows  # noqa: E402

#: Sampling frequency (Hz) of the simulated epochs, and their latent rhythms' peak range.
SFREQ = 200.0
RHYTHM_HZ = (4.0, 30.0)
N_SOURCES = 6
#: Runs: name, processes, device.
RUNS = {"cpu-1": (1, "cpu"), "cpu-2": (2, "cpu"), "gpu-1": (1, "cuda")}


def simulate_epochs(n_epochs, n_channels, n_times, seed=0):
    """Seeded epochs (n_epochs, n_channels, n_times) in volts: rhythms, background, noise.

    Sensors at ``linspace(0, 1, n_channels)``; each of :data:`N_SOURCES` rhythms is an AR(2)
    resonator (pole radius 0.95, peak in :data:`RHYTHM_HZ`) seen through a Gaussian spatial
    pattern (width 0.05-0.2) with a log-normal amplitude per epoch; the background is white
    noise filtered by ``1 / (1 - 0.9 z^-1)`` and smoothed across neighbouring sensors; sensor
    noise is white. Deterministic for a seed, whatever the machine.
    """
    from scipy import signal

    rng = np.random.default_rng(seed)
    positions = np.linspace(0.0, 1.0, n_channels)
    burn = 100
    centres = rng.uniform(0, 1, N_SOURCES)
    widths = rng.uniform(0.05, 0.2, N_SOURCES)
    patterns = np.exp(-(positions[None] - centres[:, None]) ** 2 / (2 * widths[:, None] ** 2))
    peaks = rng.uniform(*RHYTHM_HZ, N_SOURCES)
    X = np.zeros((n_epochs, n_channels, n_times))
    for source in range(N_SOURCES):
        a = [1.0, -2 * 0.95 * np.cos(2 * np.pi * peaks[source] / SFREQ), 0.95 ** 2]
        course = signal.lfilter([1.0], a, rng.standard_normal((n_epochs, n_times + burn)),
                                axis=1)[:, burn:]
        course *= rng.lognormal(0.0, 0.3, (n_epochs, 1))
        X += patterns[source][None, :, None] * course[:, None, :]
    background = signal.lfilter([1.0], [1.0, -0.9],
                                rng.standard_normal((n_epochs, n_channels, n_times + burn)),
                                axis=2)[:, :, burn:]
    kernel = np.exp(-np.arange(-3, 4) ** 2 / 4.0)
    background = signal.convolve(background, (kernel / kernel.sum())[None, :, None],
                                 mode="same")
    X += 0.5 * background + 0.3 * rng.standard_normal(X.shape)
    return X * 1e-6


def worker(args):
    """One fit (and, on rank 0 of one process, one draw); every rank prints a RESULT line."""
    import torch

    from mne_dualdiv import DualDivergenceGenerator, get_preset

    torch.set_num_threads(1)
    rank = int(os.environ.get("RANK", "0"))
    imports_mb = PeakMemory._rss()
    X = simulate_epochs(args.n_epochs, args.n_channels, args.n_times, seed=0)
    generator = DualDivergenceGenerator(**get_preset(args.preset), device=args.device,
                                        random_state=args.seed, verbose=False)
    cpu = time.process_time()
    with PeakMemory() as fit:
        generator.fit(X)
    fit_cpu = time.process_time() - cpu
    row = dict(rank=rank, fit_s=round(fit.seconds, 2), fit_cpu_s=round(fit_cpu, 2),
               imports_mb=round(imports_mb),
               fit_start_mb=round(fit.start), fit_peak_mb=round(fit.peak),
               steps=generator.history_[-1]["step"], divergence=round(generator.divergence_, 3),
               world_size=int(os.environ.get("WORLD_SIZE", "1")))
    if args.n_samples and row["world_size"] == 1:
        cpu = time.process_time()
        with PeakMemory() as draw:
            generator.sample(args.n_samples, random_state=args.seed + 1)
        row.update(sample_s=round(draw.seconds, 2),
                   sample_cpu_s=round(time.process_time() - cpu, 2),
                   sample_peak_mb=round(draw.peak))
    if args.device == "cuda":
        row["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    row["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print("RESULT " + json.dumps(row), flush=True)


def run(name, n_epochs, n_channels, seed, args):
    """One run in fresh processes; the row (ranks combined)."""
    n_processes, device = RUNS[name]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for variable in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(variable, None)
    script = [str(HERE), "--worker", "--n-epochs", str(n_epochs), "--n-channels",
              str(n_channels), "--n-times", str(args.n_times), "--preset", args.preset,
              "--device", device, "--n-samples", str(args.n_samples), "--seed", str(seed)]
    command = ([sys.executable, *script] if n_processes == 1 else
               [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node", str(n_processes), *script])
    load_start = os.getloadavg()
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    ranks = [json.loads(line[len("RESULT "):]) for line in done.stdout.splitlines()
             if line.startswith("RESULT ")]
    if done.returncode != 0 or len(ranks) != n_processes:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}"
                           f"{done.stderr[-3000:]}")
    ranks.sort(key=lambda r: r["rank"])
    first = ranks[0]
    row = dict(run=name, seed=seed, processes=n_processes, device=device, n_epochs=n_epochs,
               n_channels=n_channels, n_times=args.n_times, preset=args.preset,
               n_samples=args.n_samples if n_processes == 1 else 0,
               fit_s=max(r["fit_s"] for r in ranks), fit_cpu_s=max(r["fit_cpu_s"] for r in ranks),
               wall_s=round(wall, 1),
               imports_mb=sum(r["imports_mb"] for r in ranks),
               fit_peak_mb=sum(r["fit_peak_mb"] for r in ranks),
               max_rss_mb=sum(r["max_rss_mb"] for r in ranks),
               steps=first["steps"], divergence=first["divergence"], ranks=ranks,
               load_average_at_start=load_start, load_average_at_end=os.getloadavg())
    for key in ("sample_s", "sample_cpu_s", "sample_peak_mb", "cuda_peak_mb"):
        if key in first:
            row[key] = first[key]
    return row


def grid(args):
    """(n_epochs, n_channels) pairs of the grid, each once."""
    if args.grid == "full":
        pairs = [(n, c) for n in args.epochs for c in args.channels]
    else:
        pairs = ([(n, args.fixed_channels) for n in args.epochs]
                 + [(args.fixed_epochs, c) for c in args.channels])
    return list(dict.fromkeys(pairs))


def run_grid(args):
    import torch

    from recording_fidelity import measured_commit

    commit = measured_commit()
    cuda = torch.cuda.is_available()
    machine = dict(platform=platform.platform(), cpu_count=os.cpu_count(),
                   torch=torch.__version__, cuda_available=cuda,
                   gpu=torch.cuda.get_device_name(0) if cuda else None)
    runs = [name for name in args.runs if cuda or RUNS[name][1] != "cuda"]
    if len(runs) < len(args.runs):
        print("no CUDA device: the GPU runs are skipped", flush=True)
    print(f"{'run':<7}{'seed':>5}{'epochs':>7}{'channels':>9}{'fit s':>8}{'sample s':>9}"
          f"{'fit peak MB':>12}{'sample peak MB':>15}", flush=True)
    rows = []
    for seed in args.seeds:
        for n_epochs, n_channels in grid(args):
            for name in runs:
                row = dict(run(name, n_epochs, n_channels, seed, args), commit=commit,
                           machine=machine, validation=args.validation,
                           date=datetime.datetime.now(datetime.timezone.utc).isoformat(
                               timespec="seconds"))
                rows.append(row)
                if args.jsonl:
                    with open(args.jsonl, "a") as fid:
                        fid.write(json.dumps(row) + "\n")
                print(f"{name:<7}{seed:>5}{n_epochs:>7}{n_channels:>9}{row['fit_s']:>8.1f}"
                      f"{row.get('sample_s', float('nan')):>9.1f}{row['fit_peak_mb']:>12}"
                      f"{row.get('sample_peak_mb', '-'):>15}", flush=True)
    return rows


def slope(xs, ys):
    """Least-squares slope of log(y) against log(x): y grows as x to that power."""
    xs, ys = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    return float(np.polyfit(xs, ys, 1)[0])


#: The figures of the page: key of the row, label, unit.
FIGURES = (("fit_s", "fit time", "s"), ("sample_s", "sampling time", "s"),
           ("fit_peak_mb", "peak memory of the fit", "MB"))


def sweeps(rows):
    """The one-dimensional sweeps in ``rows``: (variable, fixed name, fixed value, rows).

    The epochs' sweeps at each channel count with several epoch counts, and the channels'
    sweeps at each epoch count with several channel counts.
    """
    out = []
    for variable, fixed in (("n_epochs", "n_channels"), ("n_channels", "n_epochs")):
        for value in sorted({row[fixed] for row in rows}):
            part = [row for row in rows if row[fixed] == value]
            if len({row[variable] for row in part}) >= 2:
                out.append((variable, fixed, value, part))
    return out


def medians(rows, variable, key, name):
    """(x, median of ``key`` over the seeds) for run ``name``, sorted by x = ``variable``."""
    values = {}
    for row in rows:
        if row["run"] == name and row.get(key):
            values.setdefault(row[variable], []).append(row[key])
    return [(x, float(np.median(values[x]))) for x in sorted(values)]


def growth_lines(rows):
    """Markdown list items: the measured growth of each figure in each sweep and run."""
    lines = []
    for variable, fixed, value, part in sweeps(rows):
        axis = "epochs" if variable == "n_epochs" else "channels"
        for name in RUNS:
            items, xs = [], None
            for key, label, unit in FIGURES:
                points = medians(part, variable, key, name)
                if len(points) < 2:
                    continue
                xs = [x for x, _ in points]
                values = ", ".join(f"{y:,.4g}" for _, y in points)
                items.append(f"{label} as {axis}^**{slope(*zip(*points)):.2f}** "
                             f"({values} {unit})")
            if items:
                lines.append(f"- `{name}`, {', '.join(f'{x:,}' for x in xs)} {axis} at "
                             f"{value:,} {fixed[2:]}: " + "; ".join(items) + ".")
    return lines


def write_plot(rows, path):
    """Figures against epochs and channels on log-log axes, one line per run (seed medians)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    found = sweeps(rows)
    fig, axes = plt.subplots(max(len(found), 1), len(FIGURES),
                             figsize=(4 * len(FIGURES), 3.2 * max(len(found), 1)),
                             squeeze=False)
    for line, (variable, fixed, value, part) in enumerate(found):
        for column, (key, label, unit) in enumerate(FIGURES):
            ax = axes[line, column]
            for name in RUNS:
                points = medians(part, variable, key, name)
                if points:
                    ax.plot(*zip(*points), "o-", label=name)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xticks(sorted({row[variable] for row in part}))
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel(f"{variable[2:]} ({value:,} {fixed[2:]})")
            ax.set_ylabel(f"{label} ({unit})")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
    if any(row.get("validation") for row in rows):
        fig.suptitle("Validation run at small sizes, shared machine: not the measurement",
                     color="firebrick")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_markdown(rows, args):
    """The scaling page: how it was made, the plot, the growth, the table; from rows only."""
    validation = any(row.get("validation") for row in rows)
    machines = sorted({f"{row['machine']['platform']}, {row['machine']['cpu_count']} CPUs, "
                       f"torch {row['machine']['torch']}" for row in rows})
    gpus = sorted({row["machine"]["gpu"] for row in rows if row["machine"]["cuda_available"]})
    commits = sorted({row["commit"] for row in rows})
    presets = sorted({row["preset"] for row in rows})
    seeds = sorted({row["seed"] for row in rows})
    n_times = sorted({row["n_times"] for row in rows})
    n_samples = sorted({row["n_samples"] for row in rows if row["n_samples"]})
    loads = [row["load_average_at_start"][0] for row in rows] + [
        row["load_average_at_end"][0] for row in rows]
    plot = Path(args.plot).resolve().relative_to(Path(args.markdown).resolve().parent) \
        if args.plot else None
    sources = " ".join(args.from_jsonl or [args.jsonl or "(not saved)"])
    command = (f"benchmarks/cohort_scaling.py --from-jsonl {sources} --markdown {args.markdown}"
               + (f" --plot {args.plot}" if args.plot else ""))
    lines = ["# Scaling with the cohort: epochs, channels, processes", ""]
    if validation:
        lines += ["```{warning}",
                  "**Validation run, not the measurement.** The rows below check that the "
                  "benchmark and this page work: small sizes, on 2 cores shared with other "
                  "jobs, so their times and slopes say nothing about how the engine scales. "
                  "The measurement (epochs 100 to 10,000, channels 8 to 384) is the command in "
                  "`benchmarks/cohort_scaling.py`'s docstring; its rows will replace these.",
                  "```", ""]
    lines += [
        f"Generated by `{command}` on {datetime.date.today().isoformat()} from rows measured "
        f"at {', '.join(commits)} on {'; '.join(machines)}; load average (1 min) between "
        f"{min(loads):.2f} and {max(loads):.2f} at the starts and ends of the runs.", "",
        f"`DualDivergenceGenerator(**get_preset({', '.join(map(repr, presets))}), "
        f"random_state=seed)` (seeds {', '.join(map(str, seeds))}) fitted on simulated "
        "epochs (`simulate_epochs` in the benchmark: sensors on a line mixing 6 rhythms with "
        f"background and noise, {', '.join(map(str, n_times))} samples per epoch), then "
        f"`sample({', '.join(map(str, n_samples)) or '-'}, random_state=seed + 1)`. Runs: "
        "`cpu-1`, one process with one torch thread; `cpu-2`, the same fit script under "
        "`torchrun --standalone --nproc_per_node 2` (gloo, one thread each: "
        "[Several processes](scale.md)), which does not sample (sampling runs in one "
        "process); `gpu-1`, one process with `device=\"cuda\"`. Each run is a fresh process "
        "(or two); times are `fit()` and `sample()` alone; peak memory is the resident memory "
        "(VmRSS) polled every 20 ms during `fit()`, summed over the processes of a run.", ""]
    if gpus:
        lines += [f"GPU: {', '.join(gpus)}.", ""]
    else:
        lines += ["**No GPU**: no CUDA device was available to the runs below, so the GPU runs "
                  "(`gpu-1`) were skipped; the benchmark runs them where "
                  "`torch.cuda.is_available()`.", ""]
    if plot:
        lines += [f"![Fit time, sampling time and peak memory against epochs and channels]"
                  f"({plot.as_posix()})", ""]
    lines += ["## Measured growth", "",
              "Slope of a least-squares line through log(figure) against log(epochs) or "
              "log(channels), on the medians over the seeds (in parentheses): a figure "
              "that grows as x^1 is linear in x.", "",
              *growth_lines(rows), "", "## Every run", "",
              "| run | seed | epochs | channels | fit s | sample s | memory after imports MB | "
              "peak during fit MB | peak during sample MB | steps |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for row in sorted(rows, key=lambda r: (r["n_channels"], r["n_epochs"], r["run"], r["seed"])):
        sample = f"{row['sample_s']:.2f}" if "sample_s" in row else "-"
        sample_peak = f"{row['sample_peak_mb']:,}" if "sample_peak_mb" in row else "-"
        lines.append(f"| {row['run']} | {row['seed']} | {row['n_epochs']:,} | "
                     f"{row['n_channels']} | {row['fit_s']:.2f} | {sample} | "
                     f"{row['imports_mb']:,} | {row['fit_peak_mb']:,} | {sample_peak} | "
                     f"{row['steps']} |")
    lines.append("")
    Path(args.markdown).write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", choices=("cross", "full"), default="cross")
    parser.add_argument("--epochs", type=int, nargs="+",
                        default=[100, 200, 500, 1000, 2000, 5000, 10000])
    parser.add_argument("--channels", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256, 384])
    parser.add_argument("--fixed-epochs", type=int, default=1000,
                        help="epochs of the channels' sweep (cross grid)")
    parser.add_argument("--fixed-channels", type=int, default=32,
                        help="channels of the epochs' sweep (cross grid)")
    parser.add_argument("--n-times", type=int, default=100, help="samples per epoch")
    parser.add_argument("--preset", default="fast", help="engine preset (mne_dualdiv.presets)")
    parser.add_argument("--n-samples", type=int, default=1000, help="samples drawn (0: none)")
    parser.add_argument("--runs", nargs="+", choices=tuple(RUNS), default=list(RUNS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1],
                        help="random_state of the fits (sample: seed + 1); every run for each")
    parser.add_argument("--validation", action="store_true",
                        help="mark the rows as a validation run (not a measurement)")
    parser.add_argument("--jsonl", help="append the rows to this file")
    parser.add_argument("--from-jsonl", nargs="+", help="read rows instead of measuring")
    parser.add_argument("--markdown", help="write the page here")
    parser.add_argument("--plot", help="write the plot here (and show it on the page)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n-epochs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--n-channels", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if args.from_jsonl:
        rows = read_rows(args.from_jsonl)
    else:
        rows = run_grid(args)
    if args.plot:
        write_plot(rows, args.plot)
    if args.markdown:
        write_markdown(rows, args)


if __name__ == "__main__":
    main()
