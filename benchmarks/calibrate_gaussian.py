"""Calibration on Gaussian data with a known total correlation (METHOD.md section 7).

8 channels x 8 times, AR(1) rho = 0.9 along time, equicorrelation 0.5 across channels: the true
KL(P || Q) is 59.9 nats. For each setting, fits the engine on 375 samples (300 training, 75 held
out), then reports the held-out estimate ``divergence_``, the estimate on 1,000 independent
samples, the training estimate, and the sample quality (correlation-matrix error and median
distance to the closest training sample, each next to the same figure for 300 real samples).

Run from the repository root, e.g.::

    .venv/bin/python benchmarks/calibrate_gaussian.py --n-bridges 1 8 16 32 64 --seeds 0 1
"""

import argparse
import json
import math
import os
import platform
import time

import numpy as np
import torch

from mne_dualdiv import DualDivergenceGenerator
from mne_dualdiv.engine.bridges import bridge_divergences
from mne_dualdiv.engine.dualspace import nearest_distances


def gaussian(n, seed, n_channels=8, n_times=8):
    lags = np.abs(np.subtract.outer(np.arange(n_times), np.arange(n_times)))
    corr = np.kron(np.full((n_channels, n_channels), 0.5) + 0.5 * np.eye(n_channels), 0.9 ** lags)
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, corr.shape[0])) @ np.linalg.cholesky(corr).T)
    return X.reshape(n, n_channels, n_times), corr


def independent_estimate(generator, X_test, X_train):
    scaler = generator.scaler_
    test = torch.from_numpy(scaler.transform(X_test).astype(np.float32))
    train = torch.from_numpy(scaler.transform(X_train).astype(np.float32))
    masks = generator.network_.masks.view(generator.network_.masks.shape[0], -1)
    draws = max(1, math.ceil(20000 / len(test)))
    values, _ = bridge_divergences(generator.network_, test, train, masks, draws,
                                   torch.Generator().manual_seed(123))
    return float(values.sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-bridges", type=int, nargs="+", default=[32])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--direct", action="store_true", help="also fit method='direct'")
    parser.add_argument("--no-sample", action="store_true", help="skip the sampling checks")
    args = parser.parse_args()
    print(f"# {platform.platform()} | {os.cpu_count()} cores | torch threads "
          f"{torch.get_num_threads()}")
    settings = [("path", k) for k in args.n_bridges] + ([("direct", 1)] if args.direct else [])
    for seed in args.seeds:
        X, corr = gaussian(375 + 1000 + 300, seed)
        fit_set, test_set, real = X[:375], X[375:1375], X[1375:]
        true_tc = -0.5 * np.linalg.slogdet(corr)[1]
        for method, n_bridges in settings:
            start = time.perf_counter()
            gen = DualDivergenceGenerator(method=method, n_bridges=n_bridges, random_state=seed)
            gen.fit(fit_set)
            fit_time = time.perf_counter() - start
            train = fit_set[gen.train_indices_]
            row = dict(seed=seed, method=method, n_bridges=n_bridges, true_nats=round(true_tc, 1),
                       heldout_nats=round(gen.divergence_, 1),
                       independent_nats=round(independent_estimate(gen, test_set, train), 1),
                       train_nats=round(gen.train_divergence_, 1),
                       steps=gen.history_[-1]["step"], fit_s=round(fit_time, 1),
                       real_inside=round(float(gen.is_in_distribution(real).mean()), 3))
            if method == "path" and not args.no_sample:
                start = time.perf_counter()
                S = gen.sample(300, random_state=seed)
                row["sample_300_s"] = round(time.perf_counter() - start, 1)

                def corr_error(A):
                    return float(np.abs(np.corrcoef(A.reshape(len(A), -1).T) - corr).mean())

                row.update(corr_error_samples=round(corr_error(S), 3),
                           corr_error_real=round(corr_error(real), 3),
                           dcr_samples=round(float(np.median(nearest_distances(train, S))), 2),
                           dcr_real=round(float(np.median(nearest_distances(train, real))), 2),
                           samples_inside=round(float(gen.is_in_distribution(S).mean()), 3))
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
