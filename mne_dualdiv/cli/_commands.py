"""The command line's commands on epochs files: demo, augment, fit, sample, evaluate."""

import time
from pathlib import Path

from ._checks import (UsageError, check_epochs_name, check_input, check_output, check_space,
                      condition_counts, count_summary, describe, engine_params, n_made,
                      n_synthetic, one_line, read_epochs)
from ._recording import fit_recording


def run_demo(parser, args):
    """``mne-dualdiv demo``: augment the bundled FingerMovements epochs."""
    import numpy as np

    from ..adapters.epochs import augment
    from ..datasets import load_finger_movements

    check_epochs_name(parser, "--out", args.out)
    out = check_output(parser, "--out", args.out, args.overwrite)
    epochs = load_finger_movements(split=args.split)
    n_written = n_made(parser, args, condition_counts(epochs)) + len(epochs)
    check_space(parser, "--out", out, n_written * epochs.info["nchan"] * len(epochs.times))
    print(f"Real epochs: {len(epochs)} FingerMovements '{args.split}' epochs, "
          f"{len(epochs.ch_names)} EEG channels x {len(epochs.times)} samples at "
          f"{epochs.info['sfreq']:g} Hz "
          f"({', '.join(f'{k}: {len(epochs[k])}' for k in epochs.event_id)})")
    params = engine_params(args)
    print(f"Engine settings: {params or 'defaults'}; ratio {args.ratio}; seed {args.seed}")
    start = time.perf_counter()
    augmented = augment(epochs, n_synthetic=args.ratio, random_state=args.seed,
                        verbose=True if args.verbose else None, **params)
    seconds = time.perf_counter() - start
    synthetic = augmented.metadata["synthetic"].to_numpy(bool)
    counts = augmented.metadata.loc[synthetic, "condition"].value_counts()
    real_data, synthetic_data = augmented.get_data()[~synthetic], augmented.get_data()[synthetic]
    print(f"Made {synthetic.sum()} synthetic epochs in {seconds:.0f} s "
          f"({', '.join(f'{k}: {counts.get(k, 0)}' for k in epochs.event_id)})")
    print(f"Amplitude (median |x|): real {1e6 * np.median(np.abs(real_data)):.2f} µV, synthetic "
          f"{1e6 * np.median(np.abs(synthetic_data)):.2f} µV")
    print(augmented)
    save_epochs(augmented, out, args.overwrite)
    print(f"Saved {len(augmented)} epochs ({(~synthetic).sum()} real + {synthetic.sum()} "
          f"synthetic, metadata column 'synthetic') to {out}")


def run_augment(parser, args):
    """``mne-dualdiv augment``: real epochs and synthetic ones, to one file."""
    from ..adapters.epochs import augment

    source = check_input(parser, "IN", args.input)
    check_epochs_name(parser, "OUT", args.output)
    out = check_output(parser, "OUT", args.output, args.overwrite)
    epochs = read_epochs(parser, "IN", source, args.verbose)
    n_written = n_made(parser, args, condition_counts(epochs)) + (
        0 if args.synthetic_only else len(epochs))
    check_space(parser, "OUT", out, n_written * epochs.info["nchan"] * len(epochs.times))
    params = engine_params(args)
    print(f"Real epochs: {describe(epochs)} from {source}")
    print(f"Engine settings: {params or 'defaults'}; n_synthetic {n_synthetic(args)!r}; "
          f"seed {args.seed}")
    start = time.perf_counter()
    augmented = augment(epochs, n_synthetic=n_synthetic(args),
                        include_original=not args.synthetic_only,
                        per_condition=args.per_condition, random_state=args.seed,
                        n_jobs=args.n_jobs, verbose=True if args.verbose else None, **params)
    seconds = time.perf_counter() - start
    synthetic, _ = count_summary(augmented)
    save_epochs(augmented, out, args.overwrite)
    print(f"Made {int(synthetic.sum())} synthetic epochs in {seconds:.0f} s")
    print(f"Saved {describe(augmented)}, {int((~synthetic).sum())} real + "
          f"{int(synthetic.sum())} synthetic (metadata column 'synthetic'), to {out}")


def run_fit(parser, args):
    """``mne-dualdiv fit``: an EpochsSynthesizer (or, for a folder, a RecordingSynthesizer)."""
    from ..adapters.epochs import EpochsSynthesizer
    from ..engine import DualDivergenceGenerator

    if Path(args.input).is_dir():
        return fit_recording(parser, args)
    source = check_input(parser, "IN", args.input)
    model = check_output(parser, "MODEL", args.model, args.overwrite)
    epochs = read_epochs(parser, "IN", source, args.verbose)
    params = engine_params(args)
    print(f"Real epochs: {describe(epochs)} from {source}")
    print(f"Engine settings: {params or 'defaults'}; seed {args.seed}")
    start = time.perf_counter()
    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(**params),
                                    per_condition=args.per_condition,
                                    random_state=args.seed, n_jobs=args.n_jobs,
                                    verbose=True if args.verbose else None).fit(epochs)
    seconds = time.perf_counter() - start
    synthesizer.save(model, overwrite=args.overwrite)
    print(f"Fitted {len(synthesizer.generators_)} generator(s) in {seconds:.0f} s "
          f"({', '.join(f'{k}: {v} epochs' for k, v in synthesizer.n_epochs_.items())})")
    print(f"Saved the model to {model}")


def sample_epochs(parser, args, model):
    """``mne-dualdiv sample`` of an epochs model (``model``, a checked path): synthetic epochs."""
    from ..adapters.epochs import read_epochs_synthesizer

    if args.duration is not None:
        raise UsageError(parser, "argument --duration: only for a model fitted on a recording "
                                 "folder; an epochs model takes -n, --ratio or --balance")
    check_epochs_name(parser, "OUT", args.output)
    out = check_output(parser, "OUT", args.output, args.overwrite)
    if args.ratio is None and args.n_epochs is None and not args.balance:
        raise UsageError(parser, "one of the arguments -n/--n-epochs --ratio --balance "
                                 "is required")
    try:
        synthesizer = read_epochs_synthesizer(model)
    except Exception as err:
        raise UsageError(parser, f"argument MODEL: cannot read {model} as a model written by "
                                 f"'mne-dualdiv fit': {one_line(err)}") from None
    check_space(parser, "OUT", out, n_made(parser, args, synthesizer.n_epochs_)
                 * synthesizer.info_["nchan"] * synthesizer.n_times_)
    start = time.perf_counter()
    synthetic = synthesizer.sample(n_synthetic(args), random_state=args.seed,
                                   verbose=True if args.verbose else None)
    seconds = time.perf_counter() - start
    save_epochs(synthetic, out, args.overwrite)
    print(f"Made {len(synthetic)} synthetic epochs in {seconds:.0f} s")
    print(f"Saved {describe(synthetic)} to {out}")


def run_evaluate(parser, args):
    """``mne-dualdiv evaluate``: the table of scores, and its CSV and HTML files."""
    from .._io import atomic_path
    from ..metrics import evaluate
    from ..metrics.report import check_html_name

    paths = {name: check_input(parser, name, fname) for name, fname in
             (("REAL", args.real), ("SYNTHETIC", args.synthetic), ("--heldout", args.heldout),
              ("--nonmembers", args.nonmembers)) if fname}
    outputs = {name: check_output(parser, name, fname, args.overwrite)
               for name, fname in (("--csv", args.csv), ("--html", args.html)) if fname}
    if "--html" in outputs:  # before any metric runs
        try:
            check_html_name(outputs["--html"], "argument --html")
        except ValueError as err:
            raise UsageError(parser, one_line(err)) from None
    sets = {name: read_epochs(parser, name, path, args.verbose) for name, path in paths.items()}
    real, synthetic, heldout = sets["REAL"], sets["SYNTHETIC"], sets["--heldout"]
    extra = {}
    if args.labels:
        extra.update(y_train=real.events[:, 2], y_heldout=heldout.events[:, 2],
                     y_synthetic=synthetic.events[:, 2])
    if "--nonmembers" in sets:
        extra.update(nonmembers=sets["--nonmembers"])
    if args.groups:
        extra.update(groups=args.groups)
    metrics = args.metrics[0] if len(args.metrics) == 1 else list(args.metrics)
    report = evaluate(real, heldout, synthetic, metrics=metrics, random_state=args.seed,
                      verbose=True if args.verbose else None, **extra)
    import pandas as pd

    table = report.to_dataframe()
    with pd.option_context("display.max_columns", None, "display.width", 120,
                           "display.float_format", "{:.4g}".format):
        print(f"{len(real)} real training, {len(heldout)} real held-out and {len(synthetic)} "
              "synthetic epochs")
        print(table.to_string(index=False))
    for name, reason in report.skipped.items():
        print(f"skipped {name}: {reason}")
    if "--csv" in outputs:
        with atomic_path(outputs["--csv"], suffix=".csv", overwrite=args.overwrite) as temporary:
            table.to_csv(temporary, index=False)
        print(f"Saved the table to {outputs['--csv']}")
    if "--html" in outputs:
        import matplotlib

        matplotlib.use("Agg")  # the report's figures are written, never shown
        report.save(outputs["--html"], overwrite=args.overwrite)
        print(f"Saved the HTML report to {outputs['--html']}")


#: The runner of each command but ``sample`` (the package's, which tells the model kinds apart).
RUNNERS = {"demo": run_demo, "augment": run_augment, "fit": run_fit, "evaluate": run_evaluate}


def save_epochs(epochs, out, overwrite):
    """Write ``epochs`` to ``out`` so that no half-written file is ever left there.

    MNE writes to a temporary ``-epo.fif`` name in the same folder, renamed onto ``out`` only
    when complete (:func:`mne_dualdiv._io.atomic_path`; ``out`` was checked before the work
    started). Data over MNE's 2 GB split size would need several files and are refused here
    (save them with :meth:`mne.Epochs.save`).
    """
    from .._io import atomic_path

    out = Path(out)
    with atomic_path(out, suffix="-epo.fif", overwrite=overwrite) as temporary:
        parts = f"{temporary.name[:-len('-epo.fif')]}-epo-*.fif"
        try:
            epochs.save(temporary, overwrite=True, split_size="2GB", verbose=False)
            if any(out.parent.glob(parts)):
                raise ValueError(f"out: {out} would be split into several files (over 2 GB); "
                                 "save such data from Python with Epochs.save.")
        finally:
            for part in out.parent.glob(parts):
                part.unlink()


