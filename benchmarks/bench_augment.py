"""Wall time and peak memory of ``augment`` on FingerMovements (316 epochs, ratio 1.0).

The acceptance-4 benchmark of issue 3: end to end (loading the bundled epochs, fitting one
generator per condition with the engine's default settings, sampling 316 synthetic epochs and
building the Epochs), on the torch threads this machine gives (2 cores on the project's
machines). Run from the repository root, alone on the machine::

    PYTHONPATH=. python benchmarks/bench_augment.py

``--param name=value`` overrides one engine setting (repeatable), ``--threads`` sets
``torch.set_num_threads``, ``--n-jobs`` is ``augment``'s (worker processes, one per condition at
most). Peak memory: the process's maximum resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which includes Python, numpy, torch and MNE)
and, with workers, the largest sum of the resident sets of this process and all its
descendants, polled every 50 ms from ``/proc`` (Linux).
"""

import argparse
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path


class TreeMemory:
    """Largest summed resident set of this process and its descendants (polled, Linux)."""

    def __init__(self, interval=0.05):
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    @staticmethod
    def _rss(pid):
        try:
            return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf(
                "SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    @staticmethod
    def _children(pid):
        found = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                found += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
        return found

    def _poll(self):
        while not self._stop.wait(self.interval):
            pids, todo = [], [os.getpid()]
            while todo:
                pid = todo.pop()
                pids.append(pid)
                todo += self._children(pid)
            self.peak = max(self.peak, sum(self._rss(pid) for pid in pids))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _parse_param(text):
    name, _, value = text.partition("=")
    return name, json.loads(value)


def _load_average():
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover - not on every platform
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratio", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's own choice)")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="augment's n_jobs (default: None, one process)")
    parser.add_argument("--param", type=_parse_param, action="append", default=[],
                        metavar="NAME=VALUE", help="override one engine setting")
    args = parser.parse_args(argv)

    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    cpu_start = time.process_time()
    import mne_dualdiv
    from mne_dualdiv.datasets import load_finger_movements

    epochs = load_finger_movements(split="train")
    with TreeMemory() as tree:
        augmented = mne_dualdiv.augment(epochs, n_synthetic=args.ratio, random_state=args.seed,
                                        n_jobs=args.n_jobs, **dict(args.param))
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    n_synthetic = int(augmented.metadata["synthetic"].sum())
    result_tree = max(tree.peak / 2**20, peak_kib / 1024)
    result = dict(
        n_real=len(epochs), n_synthetic=n_synthetic, ratio=args.ratio, seed=args.seed,
        params=dict(args.param) or "defaults", n_jobs=args.n_jobs, wall_s=round(wall, 1),
        cpu_s_this_process=round(cpu, 1), peak_rss_mib=round(peak_kib / 1024, 1),
        peak_tree_rss_mib=round(result_tree, 1), torch_threads=torch.get_num_threads(),
        cpu_count=os.cpu_count(), load_average_at_end=_load_average(),
        python=sys.version.split()[0], torch=torch.__version__,
    )
    print(f"augment(FingerMovements train, {len(epochs)} epochs, ratio {args.ratio}): "
          f"{n_synthetic} synthetic epochs in {wall:.1f} s wall ({cpu:.1f} s CPU in this process, "
          f"{torch.get_num_threads()} torch threads, n_jobs={args.n_jobs}), peak memory "
          f"{peak_kib / 1024:.0f} MiB (this process), {result_tree:.0f} MiB (with workers)")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
