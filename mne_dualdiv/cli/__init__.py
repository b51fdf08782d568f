"""The ``mne-dualdiv`` command line: augment, fit, sample and evaluate MNE epochs files.

:func:`main` parses the arguments (:mod:`._parser`), checks what every command shares before
any file is read (:mod:`._checks`), and runs the command (:mod:`._commands` for epochs files,
:mod:`._recording` for SpikeInterface recording folders and recording models).
"""

import os
import sys

from ._checks import UsageError, check_arguments, check_input, one_line
from ._commands import RUNNERS, sample_epochs, save_epochs
from ._parser import PROG, QUICK, QUICK_RECORDING, SUBCOMMANDS, build_parser
from ._recording import read_recording_model, sample_recording

__all__ = ["main", "build_parser", "QUICK", "QUICK_RECORDING", "PROG", "SUBCOMMANDS"]

# Reached through this module, under their former names, so that a test can replace the reader
# of recording models (tests/test_security.py) and write epochs (tests/test_cli.py).
_read_recording_model, _save_epochs = read_recording_model, save_epochs


def _run_sample(parser, args):
    """``mne-dualdiv sample``: a recording folder from a recording model, else epochs."""
    model = check_input(parser, "MODEL", args.model)
    recording_model = _read_recording_model(model)
    if recording_model is not None:
        return sample_recording(parser, args, recording_model)
    return sample_epochs(parser, args, model)


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
        check_arguments(args.subparser, args)
        dict(RUNNERS, sample=_run_sample)[args.command](args.subparser, args)
    except UsageError as err:
        err.parser.error(str(err))  # prints usage and the message, exits with status 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, RuntimeError, OSError, KeyError, MemoryError) as err:
        if os.environ.get("MNE_DUALDIV_TRACEBACK"):
            raise
        print(f"{PROG} {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 1
    return 0
