"""Label fidelity of small-cohort samples: a shared dual space against one engine per class.

For each data set, size per class and seed (the training subsets of
``benchmarks/augmentation.py``), a decoder trained on every real training epoch (the package's
default pipeline) classifies 20 synthetic epochs per class made by (1) one engine fitted on the
subset with its labels, sampled per class with ``sample(subset=...)`` (the shared dual space),
(2) one engine per class, and (3) ``GaussianGenerator`` per class. The figure is the share of
synthetic epochs assigned to the class they were made for (the decoder's own test accuracy is
the reference). Engines at the ``'fast'`` preset, so that a cell takes seconds: this compares
the two ways of sampling a class, not the engine's default quality.

Usage (from the repository root, with the ``bench`` extra)::

    OMP_NUM_THREADS=1 python benchmarks/small_cohorts_fidelity.py scp1 --sizes 5 10 25
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _augmentation_data import DATASETS, cached_dataset, labels_of, training_rows  # noqa: E402


def label_fidelity(dataset, size, seed, n_per_class=20):
    """Share of synthetic epochs a decoder trained on real data assigns to their class, per way
    of sampling (``shared``, ``per_condition``, ``gaussian``)."""
    import torch

    from mne_dualdiv import DualDivergenceGenerator, get_preset
    from mne_dualdiv.baselines import GaussianGenerator
    from mne_dualdiv.metrics import default_classifier

    torch.set_num_threads(1)
    train = cached_dataset(dataset)["train"]
    y_all, X_all = labels_of(train), train.get_data()
    decoder = default_classifier().fit(X_all, y_all)
    rows = training_rows(y_all, size, seed)
    X, y = X_all[rows], y_all[rows]
    shared = DualDivergenceGenerator(**get_preset("fast"), random_state=seed).fit(X, y)
    shares = {"shared": [], "per_condition": [], "gaussian": []}
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        made = {
            "shared": shared.sample(n_per_class, random_state=1, subset=members),
            "per_condition": DualDivergenceGenerator(**get_preset("fast"), random_state=seed)
            .fit(X[members]).sample(n_per_class, random_state=1),
            "gaussian": GaussianGenerator().fit(X[members]).sample(n_per_class,
                                                                   random_state=1),
        }
        for name, synthetic in made.items():
            shares[name].append(np.mean(decoder.predict(synthetic) == label))
    return {name: float(np.mean(values)) for name, values in shares.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=DATASETS)
    parser.add_argument("--sizes", nargs="+", type=int, default=[5, 10, 25])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args(argv)
    print("| size | seed | shared | per condition | GaussianGenerator |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        for seed in args.seeds:
            shares = label_fidelity(args.dataset, size, seed)
            print(f"| {size} | {seed} | {shares['shared']:.2f} | {shares['per_condition']:.2f} "
                  f"| {shares['gaussian']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
