"""Peak memory of a block of code, polled from /proc: this process, or it and its workers.

:class:`PeakMemory` polls every 20 ms while the block runs (Linux only):

- ``peak``: the resident memory (VmRSS, MB) of this process;
- with ``children=True`` also ``tree_peak``: that resident memory plus the private memory
  (``Private_Clean + Private_Dirty`` of ``/proc/<pid>/smaps_rollup``, MB) of every process
  under this one. SpikeInterface's worker processes are forked: the pages they share with
  this process (its arrays, the libraries) are counted once, in its RSS, and what each worker
  allocates for itself is added, whatever other processes on the machine map the same
  libraries (which a sum of Pss would depend on). ``workers_peak`` is the largest number of
  processes seen under this one.

A poll every 20 ms misses a spike of memory shorter than that; ``resource``'s ``ru_maxrss``
(kernel-tracked, never missed) is the check for a whole process.
"""

import os
import threading
import time


def _status_mb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    except OSError:  # the process ended between two polls
        pass
    return 0.0


def _private_mb(pid):
    total = 0.0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1]) / 1024
    except OSError:
        pass
    return total


def descendants(pid):
    """Process ids of every process under ``pid`` (children, their children, ...)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    kids = [int(k) for k in children.read().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


class PeakMemory:
    """Peak resident memory (MB) of this process (and of its workers) while the block runs.

    Parameters
    ----------
    children : bool
        Also poll the processes under this one (``tree_peak``, ``workers_peak``).
    interval : float
        Seconds between polls.
    """

    def __init__(self, children=False, interval=0.02):
        self.children = children
        self.interval = interval

    def __enter__(self):
        self.start = self.peak = self._rss()
        self.tree_start = self.tree_peak = self._tree() if self.children else float("nan")
        self.workers_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        self.t0 = time.perf_counter()
        return self

    @staticmethod
    def _rss():
        return _status_mb("self", "VmRSS:")

    def _tree(self):
        pid = os.getpid()
        workers = descendants(pid)
        self.workers_peak = max(getattr(self, "workers_peak", 0), len(workers))
        return self._rss() + sum(_private_mb(worker) for worker in workers)

    def _poll(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())
            if self.children:
                self.tree_peak = max(self.tree_peak, self._tree())

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
