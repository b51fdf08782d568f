"""Checks of the command line's arguments, made before any file is read or any fit starts."""

import os
from pathlib import Path

from ..presets import get_preset


class UsageError(Exception):
    """A bad argument found after parsing (a missing input file, an unwritable output)."""

    def __init__(self, parser, message):
        super().__init__(message)
        self.parser = parser


#: Input and output arguments of each command, as (argument name, attribute of args).
INPUTS = {"augment": (("IN", "input"),), "fit": (("IN", "input"),),
          "sample": (("MODEL", "model"),),
          "evaluate": (("REAL", "real"), ("SYNTHETIC", "synthetic"), ("--heldout", "heldout"),
                       ("--nonmembers", "nonmembers"))}
OUTPUTS = {"demo": (("--out", "out"),), "augment": (("OUT", "output"),),
           "fit": (("MODEL", "model"),), "sample": (("OUT", "output"),),
           "evaluate": (("--csv", "csv"), ("--html", "html"))}


def check_arguments(parser, args):
    """The values every command shares, checked before any file is read (usage errors).

    ``--seed`` (an int >= 0), ``--n-jobs`` (as :func:`mne_dualdiv._checks.check_n_jobs`),
    ``-n`` (>= 0; >= 1 for ``sample``), ``--ratio`` (finite, >= 0), ``--duration`` (finite,
    > 0), ``--metrics`` (known names), and outputs that are neither an input nor another
    output (``--overwrite`` would otherwise replace the input file with the result).
    """
    from .._checks import check_float, check_int, check_n_jobs

    checks = [("--seed", check_int, "seed", dict(minimum=0)),
              ("--n-jobs", check_n_jobs, "n_jobs", {}),
              ("-n/--n-epochs", check_int, "n_epochs",
               dict(minimum=1 if args.command == "sample" else 0)),
              ("--ratio", check_float, "ratio", dict(low=0)),
              ("--duration", check_float, "duration", dict(low=0, low_inclusive=False))]
    for name, check, attribute, bounds in checks:
        value = getattr(args, attribute, None)
        if value is None:
            continue
        try:
            if check is check_n_jobs:
                check(value, f"argument {name}")
            else:
                check(f"argument {name}", value, **bounds)
        except (TypeError, ValueError) as err:
            raise UsageError(parser, one_line(err)) from None
    if args.command == "evaluate":
        from ..metrics.report import check_metrics

        try:
            check_metrics(args.metrics[0] if len(args.metrics) == 1 else list(args.metrics),
                          "--metrics")
        except (TypeError, ValueError) as err:
            raise UsageError(parser, one_line(err)) from None
    check_distinct(parser, args)


def check_distinct(parser, args):
    """Refuse an output that is one of the inputs, or the same file as another output."""
    inputs = [(name, getattr(args, attribute)) for name, attribute in
              INPUTS.get(args.command, ()) if getattr(args, attribute, None)]
    outputs = [(name, getattr(args, attribute)) for name, attribute in
               OUTPUTS.get(args.command, ()) if getattr(args, attribute, None)]
    for index, (name, fname) in enumerate(outputs):
        for other, other_fname in inputs + outputs[:index]:
            if _same_file(fname, other_fname):
                raise UsageError(parser, f"argument {name}: {fname} is the same file as "
                                         f"{other} ({other_fname}); write to another file")


def _same_file(a, b):
    a, b = Path(a), Path(b)
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.absolute().resolve() == b.absolute().resolve()


def check_input(parser, name, fname):
    """An input file that exists, checked before any work."""
    path = Path(fname)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "no such file"
        raise UsageError(parser, f"argument {name}: {what}: {fname}")
    if not os.access(path, os.R_OK):
        raise UsageError(parser, f"argument {name}: cannot read {fname}")
    return path


def check_output(parser, name, fname, overwrite):
    """An output file that can be written, checked before any fit starts."""
    path = Path(fname)
    if path.is_dir():
        raise UsageError(parser, f"argument {name}: is a folder, not a file: {fname}")
    if path.exists() and not overwrite:
        raise UsageError(parser, f"argument {name}: file exists: {fname} "
                                 "(pass --overwrite to replace it)")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(parser, f"argument {name}: folder does not exist: {folder}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(parser, f"argument {name}: cannot write to {fname}")
    return path


def check_epochs_name(parser, name, fname):
    """MNE's epochs naming convention, so that the written file reads back without warnings."""
    if not str(fname).endswith(("-epo.fif", "_epo.fif", "-epo.fif.gz", "_epo.fif.gz")):
        raise UsageError(parser, f"argument {name}: an epochs file name must end in -epo.fif "
                                 f"or _epo.fif (MNE's convention), got {fname}")


def read_epochs(parser, name, fname, verbose):
    """The epochs in ``fname``, preloaded, or a usage error naming ``name``."""
    import mne

    try:
        return mne.read_epochs(fname, preload=True, verbose=True if verbose else "error")
    except Exception as err:  # any reader error is a bad input file
        raise UsageError(parser, f"argument {name}: cannot read {fname} as MNE epochs: "
                                 f"{one_line(err)}") from None


def n_synthetic(args):
    """The count argument from ``--ratio``, ``-n`` or ``--balance`` (``demo`` has ``--ratio`` only)."""
    if getattr(args, "balance", False):
        return "balance"
    if getattr(args, "n_epochs", None) is not None:
        return args.n_epochs
    return args.ratio


def check_space(parser, name, out, n_values, itemsize=4):
    """Refuse an output of ``n_values`` values (float32 in -epo.fif files) over the free space."""
    from .._checks import check_free_space

    try:
        check_free_space(Path(out).absolute().parent, n_values * itemsize, f"argument {name}")
    except OSError as err:
        raise UsageError(parser, one_line(err)) from None


def n_made(parser, args, counts):
    """Synthetic epochs the count options ask for, given the real count per condition."""
    from ..adapters._conditions import resolve_counts

    if getattr(args, "n_epochs", None) is not None:
        return args.n_epochs  # checked by check_arguments
    try:
        return sum(resolve_counts(n_synthetic(args), counts, "argument --ratio").values())
    except (TypeError, ValueError) as err:
        raise UsageError(parser, one_line(err)) from None


def one_line(err):
    """The message of ``err`` on one line (its type name when it has none)."""
    return " ".join(str(err).split()) or type(err).__name__


def condition_counts(epochs):
    """Real epochs per condition present, in ``event_id`` order."""
    codes = epochs.events[:, 2]
    return {name: int((codes == code).sum()) for name, code in epochs.event_id.items()
            if (codes == code).any()}


def count_summary(epochs):
    """The synthetic flags of ``epochs`` (None without that column), and its counts as text."""
    synthetic = (epochs.metadata["synthetic"].to_numpy(bool)
                 if epochs.metadata is not None and "synthetic" in epochs.metadata else None)
    per_condition = ", ".join(f"{name}: {len(epochs[name])}" for name in epochs.event_id
                              if len(epochs[name]))
    return synthetic, per_condition


def describe(epochs):
    """``epochs`` in one line: counts, channels, samples, sampling frequency, conditions."""
    return (f"{len(epochs)} epochs, {len(epochs.ch_names)} channels x {len(epochs.times)} "
            f"samples at {epochs.info['sfreq']:g} Hz ({count_summary(epochs)[1]})")


def engine_params(args):
    """Engine settings: those of ``--quick``, or none (the engine's defaults)."""
    return get_preset("fast" if args.quick else "default")


