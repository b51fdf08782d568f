"""Does augmenting the training epochs raise the test accuracy of the decoders users train?

Issue 19's benchmark. For every data set, training size per class and seed, the training
subset (``size`` epochs per class drawn by the seed from the official training split, or all
of it) is augmented by each method, and each decoder is trained on the result and scored by
balanced accuracy on the official test split. One JSON line per cell (data set, size, seed,
method, decoder) is appended to ``--jsonl`` as soon as it is measured; cells already in that
file are skipped, so the grid can be run in pieces and resumed after an interruption. A
method that fails (``augment`` refusing a small class, say) is written as a failed cell with
its error, and the run goes on. The page (``--markdown``) and its figures are generated from
JSON lines only.

The code is split by concern: ``_augmentation_data.py`` (data sets and training subsets),
``_augmentation_methods.py`` (the comparators), ``_augmentation_decoders.py`` (the decoders
and their training recipe) and ``_augmentation_report.py`` (the page and figures).

Usage (from the repository root, in an environment with the ``bench`` extra, see
``pyproject.toml``)::

    OMP_NUM_THREADS=1 python benchmarks/augmentation.py \\
        --jsonl benchmarks/results/augmentation.jsonl        # the full grid, resumable
    OMP_NUM_THREADS=1 python benchmarks/augmentation.py --jsonl rows.jsonl --datasets scp1 \\
        --sizes 10 25 --seeds 0 1 --decoders riemann vectorizer --methods none augment
    python benchmarks/augmentation.py --from-jsonl benchmarks/results/augmentation.jsonl \\
        --markdown docs/augmentation.md      # the page and docs/_static/augmentation_*.png

Every process uses one torch thread and one BLAS thread.
"""

import argparse
import datetime
import json
import shlex
import sys
import time
import traceback
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
for folder in (REPO_ROOT, Path(__file__).resolve().parent):  # run from a checkout
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from _augmentation_data import (DATASETS, SIZES, cached_dataset, labels_of,  # noqa: E402
                                training_rows)
from _augmentation_decoders import DECODERS, RECIPE, fit_predict  # noqa: E402
from _augmentation_methods import METHODS, make_extra_epochs, method_settings  # noqa: E402
from _augmentation_report import write_page  # noqa: E402
from compare import machine_info, package_versions  # noqa: E402
from recording_fidelity import measured_commit  # noqa: E402

#: What identifies a cell in the JSON lines (a cell is skipped when a line has these values).
CELL_KEYS = ("dataset", "size", "seed", "method", "decoder", "train_epochs")


def _size(text):
    return text if text == "all" else int(text)


def cell_key(row):
    return tuple(row[key] for key in CELL_KEYS)


def read_rows(paths):
    """Every JSON line of ``paths`` (files that do not exist yet have none)."""
    rows = []
    for path in paths:
        if Path(path).exists():
            rows += [json.loads(line) for line in Path(path).read_text().splitlines()
                     if line.strip()]
    return rows


def versions():
    from importlib.metadata import PackageNotFoundError, version

    found = package_versions()
    for name in ("braindecode", "pyriemann", "aeon-neuro"):
        try:  # from the metadata: importing braindecode needs the torchaudio stub
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def _append(path, row):
    with open(path, "a") as out:
        out.write(json.dumps(row) + "\n")


def run_method(dataset, size, seed, method, decoders, recipe, context):
    """Augment one training subset by ``method`` and score every decoder in ``decoders``.

    Returns the rows (one per decoder), failed rows included.
    """
    data = cached_dataset(dataset)
    train, test = data["train"], data["test"]
    labels = labels_of(train)
    epochs = train[training_rows(labels, size, seed)]
    X_real, y_real = epochs.get_data(), labels_of(epochs)
    X_test, y_test = test.get_data(), labels_of(test)
    base = dict(context, dataset=dataset, size=size, seed=seed, method=method,
                train_epochs=recipe["train_epochs"], recipe=recipe,
                method_settings=method_settings(method), description=data["description"],
                sfreq=train.info["sfreq"], shape=list(X_real.shape[1:]), n_train=len(X_real),
                n_train_per_class={str(c): int((y_real == c).sum()) for c in np.unique(y_real)},
                n_test=len(X_test), date=datetime.datetime.now(
                    datetime.timezone.utc).isoformat(timespec="seconds"))
    try:
        X_extra, y_extra, cost = make_extra_epochs(method, epochs, seed)
    except Exception as err:
        failure = dict(status="failed", error=f"augmentation: {type(err).__name__}: {err}",
                       traceback=traceback.format_exc(limit=4))
        return [dict(base, decoder=decoder, **failure) for decoder in decoders]
    X_train = np.concatenate([X_real, X_extra])
    y_train = np.concatenate([y_real, y_extra])
    rows = []
    for decoder in decoders:
        row = dict(base, decoder=decoder, n_extra=len(X_extra), **cost)
        start = time.perf_counter()
        try:
            from sklearn.metrics import balanced_accuracy_score

            predicted = fit_predict(decoder, X_train, y_train, X_test, train.info["sfreq"],
                                    seed, recipe)
            row.update(status="ok", balanced_accuracy=float(
                balanced_accuracy_score(y_test, predicted)))
        except Exception as err:
            row.update(status="failed", error=f"decoder: {type(err).__name__}: {err}",
                       traceback=traceback.format_exc(limit=4))
        row["decoder_wall_s"] = time.perf_counter() - start
        rows.append(row)
    return rows


def run(args, command):
    """Run every missing cell of the selected grid, appending a line per cell to the file."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    recipe = dict(RECIPE, train_epochs=args.train_epochs)
    done = {cell_key(row) for row in read_rows([args.jsonl])}
    context = dict(command=command, commit=measured_commit(), machine=machine_info(),
                   versions=versions())
    start = time.perf_counter()
    with threadpool_limits(1):
        for dataset in args.datasets:
            for size in args.sizes:
                for seed in args.seeds:
                    for method in args.methods:
                        decoders = [d for d in args.decoders if (
                            dataset, size, seed, method, d, recipe["train_epochs"]) not in done]
                        if not decoders:
                            continue
                        for row in run_method(dataset, size, seed, method, decoders, recipe,
                                              context):
                            _append(args.jsonl, row)
                            print(f"{dataset} {size}/class seed {seed} {method:>16} "
                                  f"{row['decoder']:>10}: " + (
                                      f"{row['balanced_accuracy']:.3f}"
                                      f" (augmentation {row['augmentation_wall_s']:.1f} s, "
                                      f"decoder {row['decoder_wall_s']:.1f} s)"
                                      if row["status"] == "ok" else row["error"]), flush=True)
    print(f"done in {time.perf_counter() - start:.0f} s; rows in {args.jsonl}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jsonl", default=None,
                        help="append one line per cell to this file; its cells are skipped")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--sizes", nargs="+", type=_size, default=list(SIZES),
                        help="epochs per class drawn from the training split, or 'all'")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--decoders", nargs="+", choices=DECODERS, default=list(DECODERS))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--train-epochs", type=int, default=RECIPE["train_epochs"],
                        help="passes over the training set of the deep nets (the recipe's "
                             f"{RECIPE['train_epochs']}; fewer only for a smoke run)")
    parser.add_argument("--from-jsonl", nargs="+", default=None,
                        help="write the page from these JSON lines (no new run)")
    parser.add_argument("--markdown", default=None, help="the page to write")
    parser.add_argument("--figures-dir", default=None,
                        help="where the figures go (default: _static/ next to the page)")
    args = parser.parse_args(argv)
    command = "OMP_NUM_THREADS=1 python benchmarks/augmentation.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    if args.from_jsonl:
        if not args.markdown:
            parser.error("--from-jsonl needs --markdown")
        page = Path(args.markdown)
        figures = Path(args.figures_dir) if args.figures_dir else page.parent / "_static"
        write_page(read_rows(args.from_jsonl), page, figures, command, args.from_jsonl)
        print(f"wrote {page} and its figures in {figures}")
        return
    if not args.jsonl:
        parser.error("--jsonl is required to run cells")
    run(args, command)


if __name__ == "__main__":
    main()
