"""Reference outputs of the engine on fixed seeded inputs, for ``tests/test_engine_regression.py``.

Each case fits a :class:`~mne_dualdiv.DualDivergenceGenerator` at small settings on seeded
Gaussian images (AR(1) along time, equicorrelated channels, volt-sized) and records what a
change of the engine's code layout must leave bit for bit as it is: the samples and their
``delta``, the dual and localized values of fixed queries, the learned near-copy threshold,
and the sampler's rejection counts. The cases cover the guard on and off, Gaussian and training
starts, the three kinds of target, both walk metrics, the direct method and the local check
off. The generator has no labels (``fit`` ignores ``y``; conditions are the adapters' business),
so there is no conditional case.

Regenerate only when a change of behaviour is intended (and say so in the commit)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/make_engine_regression.py

Bit-identity holds on one machine with one thread (torch and BLAS reductions may sum in another
order with more threads), which is how the test runs.
"""

from pathlib import Path

import numpy as np
import torch

from mne_dualdiv.engine.generator import DualDivergenceGenerator

REGRESSION_FILE = Path(__file__).resolve().parents[1] / "tests" / "data" / "engine_regression.npz"

#: Small fit settings, like the test modules' ``SMALL``/``TINY``: a fit takes well under a second.
SMALL = dict(max_steps=20, n_bridges=2, eval_every=10, patience=1, walk_steps=3,
             n_eval_draws=2, n_local_draws=2, n_final_draws=40, hidden=16, n_filters=4)
#: Case name -> (data seed, number of images, generator parameters beyond ``SMALL``).
CASES = {
    "guard_on": (0, 40, dict(random_state=0)),
    "guard_off": (0, 40, dict(guard=False, random_state=0)),
    "strict_guard": (1, 30, dict(guard_percentile=60.0, random_state=1)),
    "training_density": (2, 40, dict(start="training", target="density",
                                     walk_metric="euclidean", random_state=2)),
    "between_clusters": (3, 40, dict(start="training", target="between_clusters",
                                     local_check=False, random_state=3)),
    "direct_no_local": (4, 36, dict(method="direct", local_check=False, walk_noise=0.0,
                                    walk_shrinkage=0.5, random_state=4)),
}
N_CHANNELS, N_TIMES = 4, 16
N_SAMPLES = 12


def gaussian_images(n, seed, n_channels=N_CHANNELS, n_times=N_TIMES):
    """Images with AR(1) rho=0.9 along time and correlation 0.5 across channels, ~20 uV."""
    lags = np.abs(np.subtract.outer(np.arange(n_times), np.arange(n_times)))
    across_channels = np.full((n_channels, n_channels), 0.5) + 0.5 * np.eye(n_channels)
    cholesky = np.linalg.cholesky(np.kron(across_channels, 0.9 ** lags))
    standard = np.random.default_rng(seed).standard_normal((n, n_channels * n_times))
    return (standard @ cholesky.T).reshape(n, n_channels, n_times) * 20e-6


def case_outputs(name):
    """Fit and sample one case; returns ``{f"{name}/{key}": array}``."""
    seed, n_images, params = CASES[name]
    X = gaussian_images(n_images, seed)
    generator = DualDivergenceGenerator(**SMALL, **params).fit(X)
    samples, delta = generator.sample(N_SAMPLES, random_state=seed + 10, return_delta=True)
    queries = gaussian_images(5, seed + 100)
    report = generator.last_sample_report_
    outputs = dict(
        samples=samples, delta=delta, dual_values=generator.dual_values(queries),
        local_dual_values=generator.local_dual_values(queries, random_state=0),
        near_copy_threshold=np.array(generator.near_copy_threshold_),
        report=np.array([report[key] for key in ("n_walks", "n_returned", "outside", "local",
                                                 "near_copy")]),
    )
    return {f"{name}/{key}": value for key, value in outputs.items()}


def regression_outputs():
    """All cases' outputs, with one torch thread."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        outputs = {}
        for name in CASES:
            outputs.update(case_outputs(name))
        return outputs
    finally:
        torch.set_num_threads(previous)


if __name__ == "__main__":
    REGRESSION_FILE.parent.mkdir(exist_ok=True)
    np.savez_compressed(REGRESSION_FILE, **regression_outputs())
    print(f"wrote {REGRESSION_FILE} ({REGRESSION_FILE.stat().st_size} bytes)")
