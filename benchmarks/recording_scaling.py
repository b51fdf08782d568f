"""Chunked generation of a 384-channel synthetic recording: speed with 1 and 2 jobs, flat memory.

Issue 21, point 4. A synthetic recording is lazy: SpikeInterface's chunk executor
(``job_kwargs``: ``n_jobs``, ``chunk_duration``, ``progress_bar``) asks it for one chunk of
frames at a time, in this process (``n_jobs=1``) or in forked worker processes, and each
chunk is computed from the noise model's seeded blocks and the spikes overlapping it. What
the recording holds for its whole duration is its units and their spike trains, drawn by
``sample`` (measured here: ``spike_mb``).

The data: a :class:`~mne_dualdiv.adapters.recording.RecordingSynthesizer` fitted (first 45 s,
``random_state=0``, other parameters at their defaults) on 60 s of the ``np384`` case of
``recording_fidelity.py`` (``simulate_recording``: Neuropixels 1.0 geometry, 384 channels, 50
units, seed 0) stored as a probe stores it, int16 at 0.195 µV per bit
(``recording_fit_memory.neuropixels_int16``), so that its synthetic recordings are int16:
82.9 GB per hour, 1.38 GB per minute. Or the synthesizer file ``--synthesizer``.

Each measurement runs in a fresh process: ``sample(duration, random_state=1)`` (timed:
units and spike trains), then the whole duration through the chunk executor (1 s chunks) in
one of three ways (``--modes``):

- ``save``: ``synthetic.save(folder=..., n_jobs=...)``, the binary folder a user shares
  (SpikeInterface's ``write_binary_recording`` underneath), deleted afterwards;
- ``write_binary``: ``spikeinterface.core.write_binary_recording`` to one raw file, deleted;
- ``compute``: the chunk executor with a chunk function that computes ``get_traces`` and
  discards it: generation without the disk. **A 60-minute recording (83 GB) does not fit on
  the measuring machine's disk (about 60 GB free), so 60 minutes are measured this way only**;
  a write whose file would leave less than ``--min-free-gb`` free is skipped (logged).

Chunks are 1 s (``chunk_duration="1s"``) unless ``--chunk-size`` gives frames. The noise is
made in blocks of 16,384 frames that each process caches; a 1 s chunk (30,000 frames) shares
a block with the next one, which with 2 jobs is often computed by the other worker, so both
compute it: chunks of a multiple of 16,384 frames (``--chunk-size 32768``) avoid that, a
comparison for the idle machine to make.

Figures per run: seconds of recording per wall second of the executor (``realtime``; and with
the ``sample`` draw, ``realtime_with_draw``); the peak resident memory of the main process
(VmRSS) and of the main process with its workers (``tree_peak_mb``: its VmRSS plus the
private memory of each forked worker, so that the pages the workers share with it count
once), polled every 20 ms (``_memory.PeakMemory``), and ``ru_maxrss`` of the main process and
of its largest worker. One JSON line per run (``--jsonl``); ``--markdown`` writes the table page.

Usage (from the repository root, on an otherwise idle machine; about 2 h 20 min on 2 cores,
1 h 40 min of it the 60 minutes through ``compute``; 14 GB of free disk for the 10-minute
writes)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_scaling.py \\
        --save-synthesizer /tmp/np384_int16.pt --jsonl benchmarks/results/recording_scaling.jsonl
    .venv/bin/python benchmarks/recording_scaling.py \\
        --from-jsonl benchmarks/results/recording_scaling.jsonl \\
        --markdown docs/recording_scaling.md

``--durations 60 600 --modes save compute`` leaves the hour out (40 minutes); a validation
run at small sizes: ``--durations 5 20 --validation``.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
from _memory import PeakMemory  # noqa: E402
from _rows import read_rows  # noqa: E402

MODES = ("save", "write_binary", "compute")
#: Bytes per second of the int16 384-channel recording at 30 kHz.
BYTES_PER_SECOND = 384 * 2 * 30000
CHUNK_DURATION = "1s"


def fit_synthesizer(path):
    """The synthesizer of the benchmark, fitted on 60 s of int16 np384 and saved to ``path``."""
    from recording_fit_memory import neuropixels_int16

    from mne_dualdiv.adapters.recording import RecordingSynthesizer

    real = neuropixels_int16(60.0, seed=0)
    synthesizer = RecordingSynthesizer(fit_duration=45.0, random_state=0).fit(real)
    synthesizer.save(path, overwrite=True)
    return synthesizer


# The chunk function of ``compute``: SpikeInterface's executor calls it on every chunk (in
# forked workers with n_jobs > 1, which inherit these module-level functions).
def _init_compute(recording):
    return dict(recording=recording)


def _compute_chunk(segment_index, start_frame, end_frame, worker_ctx):
    worker_ctx["recording"].get_traces(segment_index=segment_index, start_frame=start_frame,
                                       end_frame=end_frame)


def run_chunks(synthetic, mode, target, job_kwargs):
    """Push the whole recording through the chunk executor in ``mode``."""
    if mode == "save":
        synthetic.save(folder=target / "recording", **job_kwargs)
    elif mode == "write_binary":
        from spikeinterface.core import write_binary_recording

        write_binary_recording(synthetic, file_paths=[target / "traces.raw"], **job_kwargs)
    else:
        from spikeinterface.core.job_tools import fix_job_kwargs

        try:
            from spikeinterface.core.job_tools import TimeSeriesChunkExecutor as Executor
        except ImportError:  # SpikeInterface before 0.104
            from spikeinterface.core.job_tools import ChunkRecordingExecutor as Executor
        Executor(synthetic, _compute_chunk, _init_compute, (synthetic,),
                 job_name="generate", **fix_job_kwargs(job_kwargs)).run()


def worker(args):
    """One measurement in this fresh process; prints one RESULT line."""
    from mne_dualdiv.adapters.recording import read_recording_synthesizer

    synthesizer = read_recording_synthesizer(args.synthesizer)
    chunk = (dict(chunk_size=args.chunk_size) if args.chunk_size
             else dict(chunk_duration=CHUNK_DURATION))
    job_kwargs = dict(n_jobs=args.n_jobs, progress_bar=False, **chunk)
    target = Path(tempfile.mkdtemp(prefix="recording_scaling_", dir=args.workdir))
    try:
        with PeakMemory(children=True) as memory:
            start = time.perf_counter()
            synthetic = synthesizer.sample(args.duration, random_state=1)
            drawn = time.perf_counter()
            run_chunks(synthetic, args.mode, target, job_kwargs)
            end = time.perf_counter()
        written = sum(path.stat().st_size for path in target.rglob("*") if path.is_file())
    finally:
        shutil.rmtree(target, ignore_errors=True)
    units = synthetic.units
    spike_arrays = [*units.frames, *units.labels, *units.amplitudes]
    print("RESULT " + json.dumps(dict(
        mode=args.mode, duration_s=args.duration, n_jobs=args.n_jobs,
        chunk=args.chunk_size or CHUNK_DURATION, sample_s=round(drawn - start, 2),
        generate_s=round(end - drawn, 2), realtime=round(args.duration / (end - drawn), 3),
        realtime_with_draw=round(args.duration / (end - start), 3),
        units=int(units.n_units), spikes=int(sum(len(f) for f in units.frames)),
        spike_mb=round(sum(a.nbytes for a in spike_arrays) / 2**20, 3),
        start_mb=round(memory.start), peak_mb=round(memory.peak),
        tree_start_mb=round(memory.tree_start), tree_peak_mb=round(memory.tree_peak),
        workers=memory.workers_peak,
        max_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        worker_max_rss_mb=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        bytes_written=written, dtype=str(synthetic.get_dtype()),
        channels=synthetic.get_num_channels())), flush=True)


def measure(mode, duration, n_jobs, args):
    """Run one measurement in a fresh process; its row (None when skipped)."""
    if mode != "compute":
        free = shutil.disk_usage(args.workdir).free
        needed = duration * BYTES_PER_SECOND + args.min_free_gb * 1e9
        if free < needed:
            print(f"skipped: {mode} of {duration:g} s needs {needed / 1e9:.0f} GB free in "
                  f"{args.workdir} ({free / 1e9:.0f} GB)", flush=True)
            return None
    command = [sys.executable, str(HERE), "--worker", "--mode", mode, "--duration",
               str(duration), "--n-jobs", str(n_jobs), "--synthesizer", args.synthesizer,
               "--workdir", args.workdir, "--chunk-size", str(args.chunk_size or 0)]
    load_start = os.getloadavg()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}"
                           f"{done.stderr[-3000:]}")
    return dict(json.loads(lines[0][len("RESULT "):]), load_average_at_start=load_start,
                load_average_at_end=os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthesizer", default=None, help="a fitted synthesizer file to read")
    parser.add_argument("--save-synthesizer", default="/tmp/np384_int16_synthesizer.pt",
                        help="where the synthesizer fitted here is saved (without --synthesizer)")
    parser.add_argument("--durations", type=float, nargs="+", default=[60.0, 600.0, 3600.0])
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=["save", "compute"])
    parser.add_argument("--workdir", default=tempfile.gettempdir(),
                        help="where the binaries are written (and deleted)")
    parser.add_argument("--chunk-size", type=int, default=0,
                        help="frames per chunk (0: chunk_duration='1s'); a multiple of the noise "
                             "blocks' 16384 frames keeps 2 jobs from computing a block twice")
    parser.add_argument("--min-free-gb", type=float, default=10.0,
                        help="free disk a write must leave, else it is skipped")
    parser.add_argument("--validation", action="store_true",
                        help="mark the rows as a validation run (not a measurement)")
    parser.add_argument("--jsonl", help="append the rows to this file")
    parser.add_argument("--from-jsonl", nargs="+", help="read rows instead of measuring")
    parser.add_argument("--markdown", help="write the table page here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.n_jobs = args.n_jobs[0]
        worker(args)
        return
    if args.from_jsonl:
        rows = read_rows(args.from_jsonl)
    else:
        rows = run_grid(args)
    if args.markdown:
        write_markdown(rows, args)


def run_grid(args):
    from recording_fidelity import measured_commit

    commit = measured_commit()
    if args.synthesizer is None:
        fit_synthesizer(args.save_synthesizer)
        args.synthesizer = args.save_synthesizer
    machine = dict(platform=platform.platform(), cpu_count=os.cpu_count())
    print(f"{'mode':<13}{'duration s':>11}{'jobs':>5}{'sample s':>9}{'generate s':>11}"
          f"{'x real time':>12}{'spikes MB':>10}{'peak MB':>9}{'with workers MB':>16}",
          flush=True)
    rows = []
    for duration in args.durations:
        for mode in args.modes:
            for n_jobs in args.n_jobs:
                row = measure(mode, duration, n_jobs, args)
                if row is None:
                    continue
                row.update(commit=commit, machine=machine, validation=args.validation,
                           date=datetime.datetime.now(datetime.timezone.utc).isoformat(
                               timespec="seconds"))
                rows.append(row)
                print(f"{mode:<13}{duration:>11g}{n_jobs:>5}{row['sample_s']:>9.2f}"
                      f"{row['generate_s']:>11.1f}{row['realtime']:>12.2f}"
                      f"{row['spike_mb']:>10.1f}{row['peak_mb']:>9}{row['tree_peak_mb']:>16}",
                      flush=True)
                if args.jsonl:
                    with open(args.jsonl, "a") as fid:
                        fid.write(json.dumps(row) + "\n")
    return rows


def write_markdown(rows, args):
    """The page of the table, from the rows only."""
    rows = sorted(rows, key=lambda r: (MODES.index(r["mode"]), r["duration_s"], r["n_jobs"],
                                       _chunk(r)))
    validation = any(row.get("validation") for row in rows)
    commits = sorted({row["commit"] for row in rows})
    machines = sorted({f"{row['machine']['platform']}, {row['machine']['cpu_count']} CPUs"
                       for row in rows})
    loads = [row["load_average_at_start"][0] for row in rows] + [
        row["load_average_at_end"][0] for row in rows]
    sources = " ".join(args.from_jsonl or [args.jsonl or "(not saved)"])
    lines = ["# Generating long recordings: speed and memory (issue 21, point 4)", ""]
    if validation:
        lines += ["```{warning}",
                  "**Validation run, not the measurement.** These rows check that the benchmark "
                  "runs, on 2 cores shared with other jobs: their times say nothing about the "
                  "speed of an idle machine (their memory does not depend on the load), and "
                  "they leave out durations and jobs of the measurement, which is the command "
                  "in `benchmarks/recording_scaling.py`'s docstring.", "```", ""]
    lines += [
        f"Generated by `benchmarks/recording_scaling.py --from-jsonl {sources} --markdown "
        f"{args.markdown}` on {datetime.date.today().isoformat()} from rows measured at "
        f"{', '.join(commits)} on {'; '.join(machines)}; load average (1 min) between "
        f"{min(loads):.2f} and {max(loads):.2f} at the starts and ends of the runs.", "",
        "A `RecordingSynthesizer` fitted on 45 s of the int16 `np384` case (384 channels, "
        "Neuropixels 1.0 geometry, 30 kHz, 0.195 µV per bit) makes a synthetic recording of "
        "each duration (`sample(duration, random_state=1)`), which SpikeInterface's chunk "
        "executor then computes in chunks (column chunk: a duration, or frames) with `n_jobs` "
        "jobs: `save` writes the binary "
        "folder (`synthetic.save(folder=..., n_jobs=...)`), `write_binary` one raw file "
        "(`spikeinterface.core.write_binary_recording`), `compute` computes every chunk's "
        "`get_traces` and discards it (generation without the disk: **an hour, 83 GB, does not "
        "fit on the measuring machine's disk, so 60 minutes are measured this way only**). "
        "Each row is a fresh process.", "",
        "- **x real time**: seconds of recording per wall second of the executor (with the "
        "`sample` draw in brackets);",
        "- **spike trains**: what the recording holds for its whole duration (spike frames, "
        "unit labels, amplitude factors of every spike, drawn by `sample`);",
        "- **peak, main**: the main process's peak resident memory (VmRSS) from the draw to the "
        "end; **peak, with workers**: the peak of its VmRSS plus the private memory of its "
        "forked workers (the pages they share with it counted once); **worker "
        "ru_maxrss**: the largest worker's peak RSS as the kernel counts it (shared pages "
        "included). All polled every 20 ms. With 2 jobs the main process only hands out "
        "chunks (its peak is that of the draw); each forked worker computes its chunks with "
        "its own noise blocks.", "",
        "| mode | duration | jobs | chunk | sample s | generate s | x real time | spikes | "
        "spike trains MB | peak, main MB | peak, with workers MB | worker ru_maxrss MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        workers = row["worker_max_rss_mb"] if row["n_jobs"] > 1 else "-"
        lines.append(
            f"| {row['mode']} | {_duration(row['duration_s'])} | {row['n_jobs']} | "
            f"{_chunk(row)} | "
            f"{row['sample_s']:.2f} | {row['generate_s']:.1f} | {row['realtime']:.2f} "
            f"({row['realtime_with_draw']:.2f}) | {row['spikes']:,} | {row['spike_mb']:.2f} | "
            f"{row['peak_mb']:,} | {row['tree_peak_mb']:,} | {workers} |")
    lines += ["", *_memory_growth(rows), ""]
    Path(args.markdown).write_text("\n".join(lines))


def _duration(seconds):
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _chunk(row):
    return str(row.get("chunk", row.get("chunk_duration")))


def _memory_growth(rows):
    """One sentence per mode, jobs and chunk: peak memory at the shortest and longest duration."""
    out = []
    for mode in MODES:
        for n_jobs, chunk in sorted({(row["n_jobs"], _chunk(row)) for row in rows}):
            part = sorted((row for row in rows if row["mode"] == mode and row["n_jobs"] == n_jobs
                           and _chunk(row) == chunk), key=lambda r: r["duration_s"])
            if len(part) < 2:
                continue
            first, last = part[0], part[-1]
            out.append(
                f"- `{mode}`, {n_jobs} job{'s' if n_jobs > 1 else ''}, chunks of {chunk}: from "
                f"{_duration(first['duration_s'])} to {_duration(last['duration_s'])} "
                f"({last['duration_s'] / first['duration_s']:g} times longer) the peak with "
                f"workers went from {first['tree_peak_mb']:,} to {last['tree_peak_mb']:,} MB "
                f"({last['tree_peak_mb'] - first['tree_peak_mb']:+,} MB), the spike trains "
                f"from {first['spike_mb']:.2f} to {last['spike_mb']:.2f} MB.")
    return out


if __name__ == "__main__":
    main()
