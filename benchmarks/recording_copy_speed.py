"""Seconds of synthetic 384-channel recording written per wall second, measured alone.

Issue 17 asks for a binary copy of a 384-channel synthetic recording at least as fast as real
time on 2 cores. ``recording_fidelity.py`` times the copy too, but while its sorters and other
jobs share the machine; this probe times only the copy: a
:class:`~mne_dualdiv.adapters.recording.RecordingSynthesizer` fitted on the ``np384`` case
(first 45 s of 60 s, seed 0; or read from ``--synthesizer``), then ``--repeats`` times:
``sample(duration, random_state=1)`` (the units' draw, timed apart) and
``save(folder, n_jobs=..., chunk_duration="1s")`` with each of ``--n-jobs``. Run it on an
otherwise idle machine and report the load average it prints.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_copy_speed.py \\
        --save-synthesizer /tmp/np384.pt
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recording_copy_speed.py \\
        --synthesizer /tmp/np384.pt --n-jobs 2 1 2
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording_fidelity import make_real  # noqa: E402


def main():
    from mne_dualdiv.adapters.recording import RecordingSynthesizer, read_recording_synthesizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthesizer", default=None, help="a fitted synthesizer file to read")
    parser.add_argument("--save-synthesizer", default=None,
                        help="where to save the synthesizer fitted here")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--n-jobs", nargs="+", type=int, default=[2, 1, 2])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.synthesizer:
        synthesizer = read_recording_synthesizer(args.synthesizer)
    else:
        real, _ = make_real("np384", 60.0, 0)
        synthesizer = RecordingSynthesizer(fit_duration=45.0, random_state=0).fit(real)
        if args.save_synthesizer:
            synthesizer.save(args.save_synthesizer, overwrite=True)
    print(f"load average at the start: {os.getloadavg()}")
    for n_jobs in args.n_jobs:
        start = time.perf_counter()
        synthetic = synthesizer.sample(args.duration, random_state=1)
        drawn = time.perf_counter()
        folder = Path(tempfile.mkdtemp()) / "copy"
        try:
            synthetic.save(folder=folder, n_jobs=n_jobs, chunk_duration="1s",
                           progress_bar=False)
        finally:
            end = time.perf_counter()
            shutil.rmtree(folder.parent, ignore_errors=True)
        print(f"n_jobs={n_jobs}: units drawn in {drawn - start:.1f} s; {args.duration:g} s "
              f"written in {end - drawn:.1f} s: {args.duration / (end - drawn):.2f} x real "
              f"time ({args.duration / (end - start):.2f} x with the draw)", flush=True)
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
