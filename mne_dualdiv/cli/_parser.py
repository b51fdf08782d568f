"""The ``mne-dualdiv`` argument parser: one sub-parser per command, its options and help."""

import argparse

from ..presets import get_preset

#: Engine settings of ``--quick`` (the ``'fast'`` preset of :mod:`mne_dualdiv.presets`).
QUICK = get_preset("fast")
#: RecordingSynthesizer settings of ``--quick`` for a recording folder (its ``'fast'`` preset).
QUICK_RECORDING = get_preset("fast", kind="recording")

PROG = "mne-dualdiv"
SUBCOMMANDS = ("demo", "augment", "fit", "sample", "evaluate")


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


def _add_per_condition_option(parser):
    parser.add_argument("--per-condition", action=argparse.BooleanOptionalAction, default="auto",
                        help="one generator per condition; --no-per-condition: one on all "
                             "epochs, conditions mixed. Neither (default): one per condition "
                             "when every condition has 20 epochs or more, else one shared dual "
                             "space whose walks keep each condition's statistics "
                             "(per_condition='auto')")


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
            "generator per condition of its event_id (or, below 20 epochs in a condition, one "
            "shared by the conditions), and write the real epochs followed by "
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
    _add_per_condition_option(parser)
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
    _add_per_condition_option(parser)
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
            "  mne-dualdiv evaluate cohort-epo.fif synthetic-epo.fif --heldout test-epo.fif \\\n"
            "      --nonmembers unseen-epo.fif --groups subject --metrics privacy\n"
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
    parser.add_argument("--groups", metavar="COLUMN", default=None,
                        help="metadata column of REAL holding each epoch's subject, for the "
                             "subject re-identification audit (skipped without it); SYNTHETIC's "
                             "column of that name, when complete, gives the source subjects")
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
    from .._version import __version__

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


