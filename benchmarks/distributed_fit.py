"""Benchmark of multi-process training: fit time and result on 1 and 2 processes (issue 21).

Run from the repository root::

    .venv/bin/python benchmarks/distributed_fit.py                  # FingerMovements, 300 steps
    .venv/bin/python benchmarks/distributed_fit.py --max-steps 1500 --n-bridges 32

Three runs of the same fit (the FingerMovements training set, 316 epochs of 28 x 50, bundled;
the engine's defaults except ``--max-steps`` and ``--n-bridges``; ``random_state`` from
``--seeds``):

- 1 process with 1 torch thread,
- 1 process with as many torch threads as ``--nproc`` processes have in all,
- ``--nproc`` processes of 1 thread each, the fit script run unchanged by
  ``torchrun --standalone --nproc_per_node N`` (gloo on the CPU: the engine initialises the
  process group from torchrun's environment, trains in ``DistributedDataParallel``).

Each run is a fresh process (``--worker`` runs one fit and prints one ``RESULT`` line of JSON
from rank 0): the fit time (``fit`` alone, not the imports), and the result, the held-out
divergence estimate ``divergence_`` (nats), the training estimate and the best held-out loss
(that of the weights the fit keeps).
The several processes split every batch and the evaluations between them, so the same fit
takes the same steps with half the work per process; it is not the same model bit for bit (the
batches differ), and its result should be as good. ``--jsonl`` appends the rows to a file.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def worker(args):
    """One fit, as a user's plain script does it; rank 0 prints its figures."""
    import torch

    from mne_dualdiv import DualDivergenceGenerator
    from mne_dualdiv.datasets import load_finger_movements

    torch.set_num_threads(args.threads)
    X, _ = load_finger_movements("train", return_epochs=False)
    generator = DualDivergenceGenerator(max_steps=args.max_steps, n_bridges=args.n_bridges,
                                        random_state=args.seed, verbose=False)
    start = time.perf_counter()
    generator.fit(X)
    fit_time = time.perf_counter() - start
    if int(os.environ.get("RANK", "0")) == 0:
        print("RESULT " + json.dumps(dict(
            fit_seconds=round(fit_time, 2), steps=generator.history_[-1]["step"],
            divergence=round(generator.divergence_, 3),
            train_divergence=round(generator.train_divergence_, 3),
            valid_loss=round(min(entry["valid_loss"] for entry in generator.history_), 4),
            world_size=int(os.environ.get("WORLD_SIZE", "1")), torch_threads=args.threads)),
            flush=True)


def run(n_processes, threads, seed, args):
    """Run one fit in fresh processes; its RESULT as a dict."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    script = [str(HERE), "--worker", "--threads", str(threads), "--seed", str(seed),
              "--max-steps", str(args.max_steps), "--n-bridges", str(args.n_bridges)]
    if n_processes == 1:
        command = [sys.executable, *script]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc_per_node", str(n_processes), *script]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}"
                           f"{done.stderr[-3000:]}")
    return dict(json.loads(lines[0][len("RESULT "):]), processes=n_processes, seed=seed,
                wall_seconds=round(wall, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-steps", type=int, default=300)
    parser.add_argument("--n-bridges", type=int, default=8)
    parser.add_argument("--nproc", type=int, default=2, help="processes of the parallel run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="random_state of the fits (every run is made for each)")
    parser.add_argument("--skip-threads", action="store_true",
                        help="leave out the run of 1 process with --nproc threads")
    parser.add_argument("--jsonl", help="append the rows to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    import torch

    machine = dict(cpu_count=os.cpu_count(), platform=platform.platform(),
                   torch=torch.__version__, load_average_at_start=os.getloadavg())
    print(f"FingerMovements train (316 x 28 x 50), max_steps={args.max_steps}, "
          f"n_bridges={args.n_bridges}; {machine['cpu_count']} CPU cores, torch "
          f"{machine['torch']}, load average {machine['load_average_at_start'][0]:.2f}")
    print(f"{'run':<28}{'seed':>5}{'fit s':>8}{'wall s':>8}{'steps':>7}{'KL held-out':>13}"
          f"{'KL train':>10}{'best held-out loss':>20}")
    runs = [(1, 1)] + ([] if args.skip_threads else [(1, args.nproc)]) + [(args.nproc, 1)]
    rows = []
    for seed in args.seeds:
        for n_processes, threads in runs:
            row = run(n_processes, threads, seed, args)
            row.update(max_steps=args.max_steps, n_bridges=args.n_bridges, machine=machine)
            rows.append(row)
            label = (f"{n_processes} process{'es' if n_processes > 1 else ''} x {threads} "
                     f"thread{'s' if threads > 1 else ''}")
            print(f"{label:<28}{seed:>5}{row['fit_seconds']:>8.1f}{row['wall_seconds']:>8.1f}"
                  f"{row['steps']:>7}{row['divergence']:>13.2f}"
                  f"{row['train_divergence']:>10.2f}{row['valid_loss']:>20.4f}", flush=True)
    if args.jsonl:
        with open(args.jsonl, "a") as fid:
            for row in rows:
                fid.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
