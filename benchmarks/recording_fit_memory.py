"""Peak memory of the default 384-channel ``RecordingSynthesizer`` fit on a long recording.

Issue 21, point 5: the default fit (``RecordingSynthesizer(random_state=0)``: spikes of the
first ``fit_duration=300`` s, background from ``noise_duration=30`` one-second chunks,
``max_snippets=5000``, ``n_jobs=1``) of a recording longer than its 300 s window must peak
under 2 GB. The recording: :func:`mne_dualdiv.datasets.simulate_recording` on a Neuropixels
1.0 geometry (384 channels, 50 units, seed 0, ``--duration`` seconds, 600 by default), stored
as a real probe stores it: int16 with a gain of 0.195 µV per bit, written to a binary folder
(13.8 GB for 600 s) with SpikeInterface's chunked writer, then read back with
:func:`~mne_dualdiv.adapters.si_folders.read_recording_folder`. The fit runs in a fresh
process, so that nothing of the writing is counted: its resident memory is polled every
20 ms (:class:`_memory.PeakMemory`) around ``fit`` alone, and the kernel's ``ru_maxrss`` of
the whole process (imports and reading included) is reported beside it. One JSON line per
run (``--jsonl``); the folder is deleted afterwards unless ``--keep``.

Usage (from the repository root; about 15 minutes on 2 cores, most of it writing the
recording, and 14 GB of free disk)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_fit_memory.py \\
        --folder /tmp/np384_600s --jsonl benchmarks/results/recording_fit_memory.jsonl
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
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
from _memory import PeakMemory  # noqa: E402

#: Neuropixels 1.0's AP gain: µV per bit of its int16 samples.
NEUROPIXELS_GAIN_UV = 0.195


def neuropixels_int16(duration, seed=0):
    """The np384 case (384 channels, 50 units) as a probe stores it: int16, 0.195 µV per bit.

    A lazy recording (``simulate_recording``'s µV rounded to the nearest bit); its synthetic
    recordings are int16 too (they keep the dtype, gains and offsets).
    """
    import spikeinterface.preprocessing as spre

    from mne_dualdiv.datasets import simulate_recording

    recording, _ = simulate_recording(num_channels=384, num_units=50, duration=duration,
                                      probe="neuropixels", seed=seed)
    stored = spre.scale(recording, gain=1 / NEUROPIXELS_GAIN_UV, dtype="int16")
    stored.set_channel_gains(NEUROPIXELS_GAIN_UV)
    stored.set_channel_offsets(0.0)
    return stored


def write_recording(folder, duration, n_jobs):
    """The np384 case of ``duration`` seconds as int16 (0.195 µV per bit), in ``folder``."""
    stored = neuropixels_int16(duration)
    start = time.perf_counter()
    stored.save(folder=folder, n_jobs=n_jobs, chunk_duration="1s", progress_bar=False)
    return time.perf_counter() - start


def worker(args):
    """Read the folder, fit the default synthesizer, print one RESULT line."""
    from mne_dualdiv.adapters.recording import RecordingSynthesizer
    from mne_dualdiv.adapters.si_folders import read_recording_folder

    recording = read_recording_folder(args.folder)
    synthesizer = RecordingSynthesizer(random_state=0)
    with PeakMemory() as fit:
        synthesizer.fit(recording)
    print("RESULT " + json.dumps(dict(
        fit_s=round(fit.seconds, 1), fit_start_mb=round(fit.start), fit_peak_mb=round(fit.peak),
        process_max_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        recording_s=recording.get_total_duration(), channels=recording.get_num_channels(),
        dtype=str(recording.get_dtype()), params=synthesizer.get_params(),
        clusters=synthesizer.n_real_units_, peak_rate=synthesizer.peak_rate_)), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default="/tmp/np384_recording_fit_memory",
                        help="binary folder of the recording (written when missing)")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of recording")
    parser.add_argument("--n-jobs", type=int, default=2, help="jobs writing the recording")
    parser.add_argument("--keep", action="store_true", help="keep the folder afterwards")
    parser.add_argument("--jsonl", help="append the row to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    sys.path.insert(0, str(HERE.parent))
    from recording_fidelity import measured_commit

    commit = measured_commit()
    folder = Path(args.folder)
    written_s = None
    if not folder.exists():
        written_s = write_recording(folder, args.duration, args.n_jobs)
        print(f"{args.duration:g} s written to {folder} in {written_s:.0f} s", flush=True)
    try:
        done = subprocess.run([sys.executable, str(HERE), "--worker", "--folder", str(folder)],
                              capture_output=True, text=True, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"the fit failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    row = dict(json.loads(lines[0][len("RESULT "):]), commit=commit, written_s=written_s,
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               machine=dict(platform=platform.platform(), cpu_count=os.cpu_count(),
                            load_average_at_end=os.getloadavg()))
    print(f"{row['recording_s']:g} s x {row['channels']} channels ({row['dtype']}): default fit "
          f"in {row['fit_s']:.0f} s, peak {row['fit_peak_mb']} MB (from {row['fit_start_mb']} "
          f"MB; process ru_maxrss {row['process_max_rss_mb']} MB)")
    if args.jsonl:
        with open(args.jsonl, "a") as fid:
            fid.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
