"""The ``mne-dualdiv`` command line: augment, fit, sample and evaluate MNE epochs files."""

import argparse
import os
import sys
import time
from pathlib import Path

#: Engine settings of ``--quick``: a fit of seconds per condition, for trying the pipeline out.
QUICK = dict(max_steps=60, n_bridges=1, eval_every=30, patience=1, n_eval_draws=2,
             n_local_draws=4, hidden=32, n_filters=8)
#: RecordingSynthesizer settings of ``--quick`` for a recording folder: spikes of the first
#: minute (instead of 5), background from 10 one-second chunks (instead of 30).
QUICK_RECORDING = dict(fit_duration=60.0, noise_duration=10.0, max_snippets=2000)

PROG = "mne-dualdiv"
SUBCOMMANDS = ("demo", "augment", "fit", "sample", "evaluate")


class _UsageError(Exception):
    """A bad argument found after parsing (a missing input file, an unwritable output)."""

    def __init__(self, parser, message):
        super().__init__(message)
        self.parser = parser


class _Formatter(argparse.HelpFormatter):
    """Wrap the description, keep the epilog's example lines as written."""

    def _fill_text(self, text, width, indent):
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


# ------------------------------------------------------------------------------ arguments
def _add_engine_options(parser, seed_help="random seed of fitting and sampling",
                        recording=False):
    parser.add_argument("--seed", type=int, default=0, help=f"{seed_help} (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="small engine settings: seconds instead of minutes, lower quality"
                        + ("; for a recording folder, spikes of its first minute and background "
                           "from 10 s" if recording else ""))
    parser.add_argument("--n-jobs", type=int, default=None, metavar="N",
                        help="worker processes, one condition each"
                        + ("; for a recording folder, SpikeInterface jobs of filtering and "
                           "peak detection" if recording else "") + " (-1: every CPU core)")


def _add_output_options(parser):
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    parser.add_argument("--verbose", action="store_true", help="log the engine's progress")


def _add_count_options(parser, default_ratio):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--ratio", type=float, default=default_ratio,
                       help="synthetic epochs per real epoch of each condition"
                       + (" (default: %(default)s)" if default_ratio is not None else ""))
    group.add_argument("-n", "--n-epochs", type=int, default=None, metavar="N",
                       help="total number of synthetic epochs, split like the real conditions")
    group.add_argument("--balance", action="store_true",
                       help="top every condition up to the largest one")


def _demo_parser(subparsers):
    parser = subparsers.add_parser(
        "demo", formatter_class=_Formatter,
        help="augment the bundled FingerMovements EEG epochs (the default command)",
        description=(
            "Load the bundled FingerMovements EEG epochs (BCI Competition II data set IV, "
            "316 training epochs, 28 channels x 50 samples at 100 Hz, left/right), add "
            "synthetic epochs made by dual-divergence sampling (one generator per condition), "
            "print what was made and save real + synthetic epochs to an MNE -epo.fif file. "
            "This is also what runs when no command is given."
        ),
        epilog=(
            "examples:\n"
            "  python -m mne_dualdiv --out finger-augmented-epo.fif\n"
            "  mne-dualdiv demo --quick --ratio 0.5 --out finger-quick-epo.fif\n"
            "  mne-dualdiv demo --split all --seed 3 --out finger-all-epo.fif --overwrite"
        ),
    )
    parser.add_argument("--out", default="finger_movements_augmented-epo.fif",
                        help="output file, ending in -epo.fif (default: %(default)s)")
    parser.add_argument("--ratio", type=float, default=1.0,
                        help="synthetic epochs per real epoch of each condition "
                             "(default: %(default)s)")
    parser.add_argument("--split", choices=("train", "test", "all"), default="train",
                        help="which FingerMovements epochs to augment (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="small engine settings (seconds instead of minutes; lower quality)")
    _add_output_options(parser)
    return parser


def _augment_parser(subparsers):
    parser = subparsers.add_parser(
        "augment", formatter_class=_Formatter,
        help="add synthetic epochs to an epochs file",
        description=(
            "Read any file that mne.read_epochs reads (EEG, MEG, ...), fit one dual-divergence "
            "generator per condition of its event_id, and write the real epochs followed by "
            "synthetic ones to a new -epo.fif file. Channels, info, tmin, baseline and event_id "
            "are the input's; metadata column 'synthetic' tells the epochs apart. Augmenting "
            "before a cross-validation leaks the test folds: see "
            "mne_dualdiv.DualDivergenceSampler for augmentation inside each fold."
        ),
        epilog=(
            "examples:\n"
            "  mne-dualdiv augment sub-01-epo.fif sub-01-augmented-epo.fif\n"
            "  mne-dualdiv augment sub-01-epo.fif out-epo.fif --ratio 0.5 --seed 1\n"
            "  mne-dualdiv augment sub-01-epo.fif out-epo.fif --balance --synthetic-only\n"
            "  mne-dualdiv augment sub-01-epo.fif out-epo.fif --quick --overwrite"
        ),
    )
    parser.add_argument("input", metavar="IN", help="epochs file to learn, e.g. sub-01-epo.fif")
    parser.add_argument("output", metavar="OUT", help="epochs file to write, ending in -epo.fif")
    _add_count_options(parser, default_ratio=1.0)
    parser.add_argument("--per-condition", action=argparse.BooleanOptionalAction, default=True,
                        help="one generator per condition (default); --no-per-condition fits one "
                             "on all epochs, for conditions too small on their own")
    parser.add_argument("--synthetic-only", action="store_true",
                        help="write the synthetic epochs only, without the real ones")
    _add_engine_options(parser)
    _add_output_options(parser)
    return parser


def _fit_parser(subparsers):
    parser = subparsers.add_parser(
        "fit", formatter_class=_Formatter,
        help="learn an epochs file and save the model",
        description=(
            "Fit an EpochsSynthesizer (one dual-divergence generator per condition) on an "
            "epochs file and save it to a model file that reading never executes "
            "(torch.load(weights_only=True)). Make epochs from it with 'mne-dualdiv sample', "
            "or in Python with mne_dualdiv.read_epochs_synthesizer(MODEL).sample(n). IN may "
            "also be a SpikeInterface binary recording folder (written by "
            "recording.save(folder=...); needs the 'ephys' extra), read without running any "
            "code from it (no pickle, no class named in its JSON): a RecordingSynthesizer "
            "learns its units (from detected spikes) and its background noise. Such a model "
            "holds the real units' templates and summary statistics: keep it private and "
            "share the recordings 'mne-dualdiv sample' makes. Other formats: load them in "
            "Python and pass the recording to RecordingSynthesizer.fit."
        ),
        epilog=(
            "examples:\n"
            "  mne-dualdiv fit sub-01-epo.fif sub-01-model.pt\n"
            "  mne-dualdiv fit sub-01-epo.fif model.pt --no-per-condition --seed 2\n"
            "  mne-dualdiv fit sub-01-epo.fif model.pt --quick --overwrite\n"
            "  mne-dualdiv fit recording_folder/ probe-model.pt"
        ),
    )
    parser.add_argument("input", metavar="IN", help="epochs file to learn, e.g. sub-01-epo.fif, "
                                                    "or a SpikeInterface recording folder")
    parser.add_argument("model", metavar="MODEL", help="model file to write, e.g. model.pt")
    parser.add_argument("--per-condition", action=argparse.BooleanOptionalAction, default=True,
                        help="one generator per condition (default); --no-per-condition fits one "
                             "on all epochs")
    _add_engine_options(parser, seed_help="random seed of the fit", recording=True)
    _add_output_options(parser)
    return parser


def _sample_parser(subparsers):
    parser = subparsers.add_parser(
        "sample", formatter_class=_Formatter,
        help="make synthetic epochs from a saved model",
        description=(
            "Read a model written by 'mne-dualdiv fit' and write synthetic epochs, with the "
            "training file's info, tmin, baseline and event_id, to an -epo.fif file. The same "
            "--seed gives the same epochs. A model fitted on a recording folder writes a "
            "synthetic recording of --duration seconds to the SpikeInterface binary folder OUT "
            "(same channels, probe and gains; new units on new background noise, none of the "
            "real spikes or traces); --overwrite replaces such a folder only when "
            "this command wrote it (it holds mne_dualdiv.json), never any other folder."
        ),
        epilog=(
            "examples:\n"
            "  mne-dualdiv sample sub-01-model.pt synthetic-epo.fif -n 200\n"
            "  mne-dualdiv sample model.pt synthetic-epo.fif --ratio 1.0 --seed 7\n"
            "  mne-dualdiv sample model.pt synthetic-epo.fif --balance --overwrite\n"
            "  mne-dualdiv sample probe-model.pt synthetic_recording/ --duration 60"
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="model file written by 'mne-dualdiv fit'")
    parser.add_argument("output", metavar="OUT", help="epochs file to write, ending in -epo.fif "
                                                      "(a folder for a recording model)")
    _add_count_options(parser, default_ratio=None)
    parser.add_argument("--duration", type=float,
                        help="seconds of synthetic recording (recording models only)")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed of the walks (default: %(default)s)")
    _add_output_options(parser)
    return parser


def _evaluate_parser(subparsers):
    parser = subparsers.add_parser(
        "evaluate", formatter_class=_Formatter,
        help="score synthetic epochs against real held-out epochs",
        description=(
            "Compare a synthetic epochs file with real held-out epochs, next to the real "
            "training epochs as the reference (mne_dualdiv.evaluate), and print the table of "
            "scores: PSD and covariance distances, discriminability, Frechet distance, "
            "information and privacy scores. REAL must be the epochs the synthetic ones were "
            "made from; HELDOUT epochs the generator never saw."
        ),
        epilog=(
            "examples:\n"
            "  mne-dualdiv evaluate train-epo.fif synthetic-epo.fif --heldout test-epo.fif\n"
            "  mne-dualdiv evaluate train-epo.fif synthetic-epo.fif --heldout test-epo.fif \\\n"
            "      --nonmembers unseen-epo.fif --metrics fidelity privacy --csv scores.csv\n"
            "  mne-dualdiv evaluate train-epo.fif synthetic-epo.fif --heldout test-epo.fif \\\n"
            "      --labels --html report.html"
        ),
    )
    parser.add_argument("real", metavar="REAL", help="real training epochs file")
    parser.add_argument("synthetic", metavar="SYNTHETIC", help="synthetic epochs file")
    parser.add_argument("--heldout", required=True, metavar="HELDOUT",
                        help="real epochs file the synthetic epochs were not made from")
    parser.add_argument("--nonmembers", metavar="FILE", default=None,
                        help="real epochs from the same pool as REAL that the generator never "
                             "saw, for the privacy metrics (skipped without them)")
    parser.add_argument("--metrics", nargs="+", default=["all"], metavar="NAME",
                        help="'all' (default), categories (fidelity, information, utility, "
                             "privacy) or metric names")
    parser.add_argument("--labels", action="store_true",
                        help="use the event codes as class labels, for the utility metrics")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed of the metrics (default: %(default)s)")
    parser.add_argument("--csv", metavar="FILE", default=None, help="also write the table as CSV")
    parser.add_argument("--html", metavar="FILE", default=None,
                        help="also write an HTML report with the table and figures")
    _add_output_options(parser)
    return parser


def build_parser():
    """The ``mne-dualdiv`` argument parser, with one sub-parser per command.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser; ``parser.commands`` maps each command name to its own parser.
    """
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=_Formatter,
        description=("Synthetic EEG/MEG epochs from small cohorts by sampling in the dual "
                     "divergence space. Without a command, runs 'demo' on the bundled data."),
        epilog=(
            "examples:\n"
            "  mne-dualdiv augment sub-01-epo.fif sub-01-augmented-epo.fif --ratio 1.0\n"
            "  mne-dualdiv fit sub-01-epo.fif model.pt && "
            "mne-dualdiv sample model.pt synthetic-epo.fif -n 100\n"
            "  mne-dualdiv evaluate train-epo.fif synthetic-epo.fif --heldout test-epo.fif\n"
            "  python -m mne_dualdiv --out finger-augmented-epo.fif   (the demo)\n"
            f"\n'{PROG} COMMAND --help' describes each command."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       title="commands")
    parser.commands = {}
    for make in (_demo_parser, _augment_parser, _fit_parser, _sample_parser, _evaluate_parser):
        sub = make(subparsers)
        sub.prog = f"{PROG} {sub.prog.split()[-1]}"
        sub.set_defaults(subparser=sub)
        parser.commands[sub.prog.split()[-1]] = sub
    return parser


# ------------------------------------------------------------------------------ checks
def _check_input(parser, name, fname):
    """An input file that exists, checked before any work."""
    path = Path(fname)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "no such file"
        raise _UsageError(parser, f"argument {name}: {what}: {fname}")
    if not os.access(path, os.R_OK):
        raise _UsageError(parser, f"argument {name}: cannot read {fname}")
    return path


def _check_output(parser, name, fname, overwrite):
    """An output file that can be written, checked before any fit starts."""
    path = Path(fname)
    if path.is_dir():
        raise _UsageError(parser, f"argument {name}: is a folder, not a file: {fname}")
    if path.exists() and not overwrite:
        raise _UsageError(parser, f"argument {name}: file exists: {fname} "
                                  "(pass --overwrite to replace it)")
    folder = path.parent
    if not folder.is_dir():
        raise _UsageError(parser, f"argument {name}: folder does not exist: {folder}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _UsageError(parser, f"argument {name}: cannot write to {fname}")
    return path


def _check_epochs_name(parser, name, fname):
    """MNE's epochs naming convention, so that the written file reads back without warnings."""
    if not str(fname).endswith(("-epo.fif", "_epo.fif", "-epo.fif.gz", "_epo.fif.gz")):
        raise _UsageError(parser, f"argument {name}: an epochs file name must end in -epo.fif "
                                  f"or _epo.fif (MNE's convention), got {fname}")


def _read_epochs(parser, name, fname, verbose):
    import mne

    try:
        return mne.read_epochs(fname, preload=True, verbose=True if verbose else "error")
    except Exception as err:  # any reader error is a bad input file
        raise _UsageError(parser, f"argument {name}: cannot read {fname} as MNE epochs: "
                                  f"{_one_line(err)}") from None


def _n_synthetic(args):
    """The count argument from ``--ratio``, ``-n`` or ``--balance`` (``demo`` has ``--ratio`` only)."""
    if getattr(args, "balance", False):
        return "balance"
    if getattr(args, "n_epochs", None) is not None:
        return args.n_epochs
    return args.ratio


def _check_space(parser, name, out, n_values, itemsize=4):
    """Refuse an output of ``n_values`` values (float32 in -epo.fif files) over the free space."""
    from ._checks import check_free_space

    try:
        check_free_space(Path(out).absolute().parent, n_values * itemsize, f"argument {name}")
    except OSError as err:
        raise _UsageError(parser, _one_line(err)) from None


def _n_made(parser, args, counts):
    """Synthetic epochs the count options ask for, given the real count per condition."""
    from .adapters._conditions import resolve_counts

    if getattr(args, "n_epochs", None) is not None:
        return max(args.n_epochs, 0)  # a negative count is the sampler's error
    try:
        return sum(resolve_counts(_n_synthetic(args), counts, "argument --ratio").values())
    except (TypeError, ValueError) as err:
        raise _UsageError(parser, _one_line(err)) from None


def _one_line(err):
    return " ".join(str(err).split()) or type(err).__name__


def _condition_counts(epochs):
    """Real epochs per condition present, in ``event_id`` order."""
    codes = epochs.events[:, 2]
    return {name: int((codes == code).sum()) for name, code in epochs.event_id.items()
            if (codes == code).any()}


def _counts(epochs):
    synthetic = (epochs.metadata["synthetic"].to_numpy(bool)
                 if epochs.metadata is not None and "synthetic" in epochs.metadata else None)
    per_condition = ", ".join(f"{name}: {len(epochs[name])}" for name in epochs.event_id
                              if len(epochs[name]))
    return synthetic, per_condition


def _describe(epochs):
    return (f"{len(epochs)} epochs, {len(epochs.ch_names)} channels x {len(epochs.times)} "
            f"samples at {epochs.info['sfreq']:g} Hz ({_counts(epochs)[1]})")


def _engine_params(args):
    """Engine settings: those of ``--quick``, or none (the engine's defaults)."""
    return dict(QUICK) if args.quick else {}


# ------------------------------------------------------------------------------ commands
def _run_demo(parser, args):
    import numpy as np

    from .adapters.epochs import augment
    from .datasets import load_finger_movements

    out = _check_output(parser, "--out", args.out, args.overwrite)
    epochs = load_finger_movements(split=args.split)
    n_written = _n_made(parser, args, _condition_counts(epochs)) + len(epochs)
    _check_space(parser, "--out", out, n_written * epochs.info["nchan"] * len(epochs.times))
    print(f"Real epochs: {len(epochs)} FingerMovements '{args.split}' epochs, "
          f"{len(epochs.ch_names)} EEG channels x {len(epochs.times)} samples at "
          f"{epochs.info['sfreq']:g} Hz "
          f"({', '.join(f'{k}: {len(epochs[k])}' for k in epochs.event_id)})")
    params = _engine_params(args)
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
    _save_epochs(augmented, out, args.overwrite)
    print(f"Saved {len(augmented)} epochs ({(~synthetic).sum()} real + {synthetic.sum()} "
          f"synthetic, metadata column 'synthetic') to {out}")


def _run_augment(parser, args):
    from .adapters.epochs import augment

    source = _check_input(parser, "IN", args.input)
    _check_epochs_name(parser, "OUT", args.output)
    out = _check_output(parser, "OUT", args.output, args.overwrite)
    epochs = _read_epochs(parser, "IN", source, args.verbose)
    n_written = _n_made(parser, args, _condition_counts(epochs)) + (
        0 if args.synthetic_only else len(epochs))
    _check_space(parser, "OUT", out, n_written * epochs.info["nchan"] * len(epochs.times))
    params = _engine_params(args)
    print(f"Real epochs: {_describe(epochs)} from {source}")
    print(f"Engine settings: {params or 'defaults'}; n_synthetic {_n_synthetic(args)!r}; "
          f"seed {args.seed}")
    start = time.perf_counter()
    augmented = augment(epochs, n_synthetic=_n_synthetic(args),
                        include_original=not args.synthetic_only,
                        per_condition=args.per_condition, random_state=args.seed,
                        n_jobs=args.n_jobs, verbose=True if args.verbose else None, **params)
    seconds = time.perf_counter() - start
    synthetic, _ = _counts(augmented)
    _save_epochs(augmented, out, args.overwrite)
    print(f"Made {int(synthetic.sum())} synthetic epochs in {seconds:.0f} s")
    print(f"Saved {_describe(augmented)}, {int((~synthetic).sum())} real + "
          f"{int(synthetic.sum())} synthetic (metadata column 'synthetic'), to {out}")


def _read_recording(parser, name, folder):
    """The SpikeInterface binary recording folder ``folder``, or a usage error naming ``name``.

    Read by :func:`~mne_dualdiv.adapters.si_folders.read_recording_folder`, which never runs
    code from the folder (no pickle, no class named in its JSON is imported).
    """
    try:
        import spikeinterface.core  # noqa: F401 - the ephys extra

        from .adapters.si_folders import read_recording_folder
    except ImportError:
        raise _UsageError(parser, f"argument {name}: {folder} is a folder; recording folders "
                                  "need the 'ephys' extra (pip install 'mne_dualdiv[ephys]')"
                          ) from None
    try:
        return read_recording_folder(folder, name=f"argument {name}")
    except Exception as err:  # any reader error is a bad input folder
        raise _UsageError(parser, _one_line(err)) from None


def _fit_recording(parser, args):
    from ._checks import check_n_jobs

    model = _check_output(parser, "MODEL", args.model, args.overwrite)
    try:
        n_jobs = check_n_jobs(args.n_jobs, "argument --n-jobs")
    except ValueError as err:
        raise _UsageError(parser, _one_line(err)) from None
    recording = _read_recording(parser, "IN", args.input)  # checked before the heavy imports
    from .adapters.recording import RecordingSynthesizer
    from .engine import DualDivergenceGenerator

    params = _engine_params(args)
    settings = dict(QUICK_RECORDING) if args.quick else {}
    print(f"Real recording: {recording.get_num_channels()} channels, "
          f"{recording.get_total_duration():.1f} s at {recording.sampling_frequency:g} Hz "
          f"from {args.input}")
    start = time.perf_counter()
    # The engine settings matter only for template_model="engine".
    synthesizer = RecordingSynthesizer(
        generator=DualDivergenceGenerator(**params) if params else None, n_jobs=n_jobs,
        random_state=args.seed, verbose=True if args.verbose else None, **settings,
    ).fit(recording)
    seconds = time.perf_counter() - start
    synthesizer.save(model, overwrite=args.overwrite)
    print(f"Found {synthesizer.peak_rate_:.1f} spikes/s and {synthesizer.n_real_units_} "
          f"unit(s); learned from {len(synthesizer.snippet_positions_)} spike snippets "
          f"({'units and background' if synthesizer.units_ is not None else 'background only'})"
          f" in {seconds:.0f} s")
    print(f"Saved the model to {model} (it holds the real units' templates: keep it private)")


def _sample_recording(parser, args, synthesizer):
    from .adapters.si_folders import check_folder_for_writing, write_recording_folder

    out = Path(args.output)
    if args.duration is None or not args.duration > 0:
        raise _UsageError(parser, "argument --duration: a recording model needs --duration "
                                  "SECONDS > 0")
    if os.path.lexists(out) and not args.overwrite:
        raise _UsageError(parser, f"argument OUT: exists: {out} (pass --overwrite to replace "
                                  "it)")
    try:  # --overwrite replaces only a folder this command wrote, never anything else
        check_folder_for_writing(out, args.overwrite, name="argument OUT")
    except OSError as err:
        raise _UsageError(parser, _one_line(err)) from None
    _check_space(parser, "--duration", out, args.duration * synthesizer.sampling_frequency_
                 * len(synthesizer.channel_ids_), synthesizer.dtype_.itemsize)
    start = time.perf_counter()
    synthetic = synthesizer.sample(args.duration, random_state=args.seed)
    write_recording_folder(synthetic, out, overwrite=args.overwrite, n_jobs=1,
                           progress_bar=bool(args.verbose))
    seconds = time.perf_counter() - start
    print(f"Made {args.duration:g} s of synthetic recording in {seconds:.0f} s")
    print(f"Saved {synthetic.get_num_channels()} channels to the SpikeInterface folder {out}")


def _run_fit(parser, args):
    from .adapters.epochs import EpochsSynthesizer
    from .engine import DualDivergenceGenerator

    if Path(args.input).is_dir():
        return _fit_recording(parser, args)
    source = _check_input(parser, "IN", args.input)
    model = _check_output(parser, "MODEL", args.model, args.overwrite)
    epochs = _read_epochs(parser, "IN", source, args.verbose)
    params = _engine_params(args)
    print(f"Real epochs: {_describe(epochs)} from {source}")
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


def _read_recording_model(model):
    """The RecordingSynthesizer in ``model``, or None when it holds something else."""
    try:
        from .adapters.recording import read_recording_synthesizer
    except ImportError:  # no ephys extra: only epochs models can be read
        return None
    try:
        return read_recording_synthesizer(model)
    except Exception:  # not a recording model: the epochs reader gives the error
        return None


def _run_sample(parser, args):
    from .adapters.epochs import read_epochs_synthesizer

    model = _check_input(parser, "MODEL", args.model)
    recording_model = _read_recording_model(model)
    if recording_model is not None:
        return _sample_recording(parser, args, recording_model)
    _check_epochs_name(parser, "OUT", args.output)
    out = _check_output(parser, "OUT", args.output, args.overwrite)
    if args.ratio is None and args.n_epochs is None and not args.balance:
        raise _UsageError(parser, "one of the arguments -n/--n-epochs --ratio --balance "
                                  "is required")
    try:
        synthesizer = read_epochs_synthesizer(model)
    except Exception as err:
        raise _UsageError(parser, f"argument MODEL: cannot read {model} as a model written by "
                                  f"'mne-dualdiv fit': {_one_line(err)}") from None
    _check_space(parser, "OUT", out, _n_made(parser, args, synthesizer.n_epochs_)
                 * synthesizer.info_["nchan"] * synthesizer.n_times_)
    start = time.perf_counter()
    synthetic = synthesizer.sample(_n_synthetic(args), random_state=args.seed,
                                   verbose=True if args.verbose else None)
    seconds = time.perf_counter() - start
    _save_epochs(synthetic, out, args.overwrite)
    print(f"Made {len(synthetic)} synthetic epochs in {seconds:.0f} s")
    print(f"Saved {_describe(synthetic)} to {out}")


def _run_evaluate(parser, args):
    from ._io import atomic_path
    from .metrics import evaluate
    from .metrics.report import check_html_name

    paths = {name: _check_input(parser, name, fname) for name, fname in
             (("REAL", args.real), ("SYNTHETIC", args.synthetic), ("--heldout", args.heldout),
              ("--nonmembers", args.nonmembers)) if fname}
    outputs = {name: _check_output(parser, name, fname, args.overwrite)
               for name, fname in (("--csv", args.csv), ("--html", args.html)) if fname}
    if "--html" in outputs:  # before any metric runs
        try:
            check_html_name(outputs["--html"], "argument --html")
        except ValueError as err:
            raise _UsageError(parser, _one_line(err)) from None
    sets = {name: _read_epochs(parser, name, path, args.verbose) for name, path in paths.items()}
    real, synthetic, heldout = sets["REAL"], sets["SYNTHETIC"], sets["--heldout"]
    extra = {}
    if args.labels:
        extra.update(y_train=real.events[:, 2], y_heldout=heldout.events[:, 2],
                     y_synthetic=synthetic.events[:, 2])
    if "--nonmembers" in sets:
        extra.update(nonmembers=sets["--nonmembers"])
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


RUNNERS = {"demo": _run_demo, "augment": _run_augment, "fit": _run_fit, "sample": _run_sample,
           "evaluate": _run_evaluate}


# ------------------------------------------------------------------------------ entry point

def _save_epochs(epochs, out, overwrite):
    """Write ``epochs`` to ``out`` so that no half-written file is ever left there.

    MNE writes to a temporary ``-epo.fif`` name in the same folder, renamed onto ``out`` only
    when complete (:func:`mne_dualdiv._io.atomic_path`; ``out`` was checked before the work
    started). Data over MNE's 2 GB split size would need several files and are refused here
    (save them with :meth:`mne.Epochs.save`).
    """
    from ._io import atomic_path

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


def main(argv=None):
    """Run the ``mne-dualdiv`` command line; ``argv`` defaults to ``sys.argv[1:]``.

    Without a command (``python -m mne_dualdiv --out x-epo.fif``) the ``demo`` command runs.

    Parameters
    ----------
    argv : list of str | None
        Command-line arguments (``mne-dualdiv --help`` lists them).

    Returns
    -------
    status : int
        0 on success, 1 when the work failed, 2 for a bad argument (as argparse does).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0].startswith("-")
                    and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "demo")
    parser = build_parser()
    # Usage errors exit with status 2; unknown options are reported by the command's parser.
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        args.subparser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        RUNNERS[args.command](args.subparser, args)
    except _UsageError as err:
        err.parser.error(str(err))  # prints usage and the message, exits with status 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, RuntimeError, OSError, KeyError, MemoryError) as err:
        if os.environ.get("MNE_DUALDIV_TRACEBACK"):
            raise
        print(f"{PROG} {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 1
    return 0
