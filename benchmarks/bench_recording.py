"""Benchmark of the SpikeInterface adapter: fit time, generation throughput, memory, privacy.

Run from the repository root (each part prints one JSON line per measurement)::

    python benchmarks/bench_recording.py fit --channels 384 --out /tmp/np384.pt
    python benchmarks/bench_recording.py throughput --synthesizer /tmp/np384.pt
    python benchmarks/bench_recording.py memory --synthesizer /tmp/np384.pt --durations 10 60
    python benchmarks/bench_recording.py privacy --channels 32 --pool-sizes 32 64 128 256

The recordings are generated as in ``/work/shared/docs/DATA.md``: a Neuropixels 1.0 probe
(NP1000, 384 channels) or a 32-channel probe, 30 kHz, ``generate_ground_truth_recording``
(10 s, 50 units; 20 s, 10 units for 32 channels). ``memory`` saves each duration with
``save(folder=..., n_jobs=2, chunk_duration='1s')`` in its own subprocess and samples the
proportional set size (PSS, shared pages split between the processes that map them) of that
subprocess and its workers every 20 ms; the peak of their sum is the memory of the save.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO_ROOT))

SFREQ = 30000.0


def make_recording(n_channels):
    """The ground-truth recording of DATA.md: NP1000 for 384 channels, else a generic probe."""
    import numpy as np
    import spikeinterface.core as sc

    if n_channels == 384:
        from probeinterface.neuropixels_tools import build_neuropixels_probe

        probe = build_neuropixels_probe("NP1000").get_slice(np.arange(384))
        probe.set_device_channel_indices(np.arange(384))
        recording, _ = sc.generate_ground_truth_recording(
            durations=[10.0], sampling_frequency=SFREQ, probe=probe, num_units=50, seed=0)
    else:
        recording, _ = sc.generate_ground_truth_recording(
            num_channels=n_channels, durations=[20.0], sampling_frequency=SFREQ, num_units=10,
            seed=0)
    return recording


def emit(**fields):
    print(json.dumps(fields), flush=True)


def load_average():
    return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------------------------- fit
def bench_fit(args):
    import torch

    from mne_dualdiv import DualDivergenceGenerator
    from mne_dualdiv.adapters.recording import RECORDING_GENERATOR_PARAMS, RecordingSynthesizer

    recording = make_recording(args.channels)
    generator = DualDivergenceGenerator(**{**RECORDING_GENERATOR_PARAMS,
                                           "max_steps": args.max_steps})
    synthesizer = RecordingSynthesizer(max_windows=args.max_windows, generator=generator,
                                       random_state=args.seed)
    load_before = load_average()
    start = time.perf_counter()
    synthesizer.fit(recording)
    fit_s = time.perf_counter() - start
    engine = synthesizer.generator_
    if args.out:
        synthesizer.save(args.out, overwrite=True)
    emit(part="fit", channels=args.channels, windows=len(synthesizer.window_positions_),
         window_size=synthesizer.window_size_, n_bridges=engine.n_bridges,
         max_steps=args.max_steps, steps_done=engine.history_[-1]["step"],
         fit_s=round(fit_s, 1), divergence_nats=round(engine.divergence_, 2),
         torch_threads=torch.get_num_threads(), load_before=load_before,
         load_after=load_average(),
         peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


# ---------------------------------------------------------------------------------- throughput
def _throughput(recording, seconds, chunk_s=1.0):
    """Seconds of recording made per second of wall time, reading ``seconds`` in chunks."""
    chunk = int(chunk_s * recording.sampling_frequency)
    total = int(seconds * recording.sampling_frequency)
    start = time.perf_counter()
    for frame in range(0, total, chunk):
        recording.get_traces(start_frame=frame, end_frame=min(frame + chunk, total))
    return seconds / (time.perf_counter() - start)


def bench_throughput(args):
    import torch

    from mne_dualdiv.adapters.recording import read_recording_synthesizer

    synthesizer = read_recording_synthesizer(args.synthesizer)
    n_channels = len(synthesizer.channel_ids_)
    for pool_size in args.pool_sizes:
        start = time.perf_counter()
        synthetic = synthesizer.sample(600.0, random_state=0, pool_size=pool_size)
        create_s = time.perf_counter() - start
        emit(part="throughput", channels=n_channels, mode="pool", pool_size=pool_size,
             pool_generation_s=round(create_s, 1),
             engine_windows_per_s=round(pool_size / create_s, 2),
             seconds_per_wall_second=round(_throughput(synthetic, args.pool_seconds), 2),
             measured_seconds=args.pool_seconds, torch_threads=torch.get_num_threads(),
             load=load_average())
    synthetic = synthesizer.sample(600.0, random_state=0, pool_size=None)
    emit(part="throughput", channels=n_channels, mode="on_the_fly",
         seconds_per_wall_second=round(_throughput(synthetic, args.fly_seconds,
                                                   chunk_s=args.fly_seconds), 5),
         measured_seconds=args.fly_seconds, torch_threads=torch.get_num_threads(),
         load=load_average())


# ---------------------------------------------------------------------------------- memory
def _save_child(args):
    """In a subprocess: make the recording from its file and save it with two workers."""
    from mne_dualdiv.adapters.recording import SyntheticRecording

    start = time.perf_counter()
    synthetic = SyntheticRecording(args.synthesizer, [args.duration], seed=0,
                                   pool_size=args.pool_size)
    create_s = time.perf_counter() - start
    start = time.perf_counter()
    synthetic.save(folder=args.folder, n_jobs=2, chunk_duration="1s", progress_bar=False)
    save_s = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    emit(create_s=round(create_s, 1), save_s=round(save_s, 1), parent_peak_rss_mb=round(own),
         worker_peak_rss_mb=round(workers))


def _tree_pss_mb(pid):
    """Sum of the proportional set size of ``pid`` and all its descendants, in MB."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fid:
                    parent = int(fid.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/smaps_rollup") as fid:
                for line in fid:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total / 1024


def bench_memory(args):
    for duration in args.durations:
        with tempfile.TemporaryDirectory() as tmp:
            command = [sys.executable, __file__, "_save", "--synthesizer", str(args.synthesizer),
                       "--duration", str(duration), "--pool-size", str(args.pool_size),
                       "--folder", str(Path(tmp) / "synthetic")]
            process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            peak, done = [0.0], threading.Event()

            def watch():
                while not done.is_set():
                    peak[0] = max(peak[0], _tree_pss_mb(process.pid))
                    time.sleep(0.02)
            watcher = threading.Thread(target=watch)
            watcher.start()
            start = time.perf_counter()
            out, _ = process.communicate()
            wall_s = time.perf_counter() - start
            done.set()
            watcher.join()
            child = json.loads(out.strip().splitlines()[-1])
            emit(part="memory", duration_s=duration, pool_size=args.pool_size,
                 peak_tree_pss_mb=round(peak[0]), wall_s=round(wall_s, 1), **child,
                 load=load_average())


# ---------------------------------------------------------------------------------- privacy
def bench_privacy(args):
    import numpy as np

    from mne_dualdiv import DualDivergenceGenerator
    from mne_dualdiv.adapters.recording import RECORDING_GENERATOR_PARAMS, RecordingSynthesizer

    recording = make_recording(args.channels)
    params = {**RECORDING_GENERATOR_PARAMS, "max_steps": args.max_steps}
    if args.walk_noise is not None:
        params["walk_noise"] = args.walk_noise
    synthesizer = RecordingSynthesizer(max_windows=args.max_windows, random_state=args.seed,
                                       generator=DualDivergenceGenerator(**params))
    start = time.perf_counter()
    synthesizer.fit(recording)
    emit(part="privacy-fit", channels=args.channels, windows=args.max_windows,
         fit_s=round(time.perf_counter() - start, 1), **params)
    real = recording.get_traces(end_frame=int(10 * SFREQ), return_in_uV=True)
    for pool_size in args.pool_sizes:
        synthetic = synthesizer.sample(10.0, random_state=args.seed,
                                       pool_size=None if pool_size == 0 else pool_size)
        report = synthesizer.privacy_report(synthetic, n_windows=args.n_windows,
                                            random_state=args.seed)
        traces = synthetic.get_traces(return_in_uV=True)
        q_real = np.percentile(real, [25, 75], axis=0)
        q_synthetic = np.percentile(traces, [25, 75], axis=0)
        emit(part="privacy", channels=args.channels,
             pool_size=None if pool_size == 0 else pool_size, **report.to_dict(),
             robust_std_ratio=round(float(np.median(np.diff(q_synthetic, axis=0)
                                                    / np.diff(q_real, axis=0))), 3),
             walk_noise=params["walk_noise"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    fit = sub.add_parser("fit", help="fit time on a DATA.md recording")
    fit.add_argument("--channels", type=int, default=384)
    fit.add_argument("--max-windows", type=int, default=500)
    fit.add_argument("--max-steps", type=int, default=500)
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--out", type=Path, help="save the fitted synthesizer there")
    throughput = sub.add_parser("throughput", help="seconds of recording per second of wall")
    throughput.add_argument("--synthesizer", type=Path, required=True)
    throughput.add_argument("--pool-sizes", type=int, nargs="+", default=[128])
    throughput.add_argument("--pool-seconds", type=float, default=10.0)
    throughput.add_argument("--fly-seconds", type=float, default=0.2)
    memory = sub.add_parser("memory", help="peak memory of save(n_jobs=2) per duration")
    memory.add_argument("--synthesizer", type=Path, required=True)
    memory.add_argument("--durations", type=float, nargs="+", default=[10.0, 60.0])
    memory.add_argument("--pool-size", type=int, default=128)
    privacy = sub.add_parser("privacy", help="privacy report per pool size (0: on the fly)")
    privacy.add_argument("--channels", type=int, default=32)
    privacy.add_argument("--max-windows", type=int, default=500)
    privacy.add_argument("--max-steps", type=int, default=500)
    privacy.add_argument("--walk-noise", type=float)
    privacy.add_argument("--pool-sizes", type=int, nargs="+", default=[32, 64, 128, 256])
    privacy.add_argument("--n-windows", type=int, default=2048)
    privacy.add_argument("--seed", type=int, default=0)
    child = sub.add_parser("_save", help=argparse.SUPPRESS)
    child.add_argument("--synthesizer", type=Path, required=True)
    child.add_argument("--duration", type=float, required=True)
    child.add_argument("--pool-size", type=int, required=True)
    child.add_argument("--folder", type=Path, required=True)
    args = parser.parse_args()
    if args.part == "_save":
        _save_child(args)
        return
    print(f"# {platform.platform()} | {os.cpu_count()} cores | python "
          f"{platform.python_version()} | load average {load_average()}", flush=True)
    print(f"# command: python {' '.join(sys.argv)}", flush=True)
    dict(fit=bench_fit, throughput=bench_throughput, memory=bench_memory,
         privacy=bench_privacy)[args.part](args)


if __name__ == "__main__":
    main()
