"""Run the command line in the test process (as fast as a call)."""

from mne_dualdiv.cli import main


def main_exit(capsys, *args):
    """Run ``main(args)``: ``(status, stdout, stderr)``, the status of a ``SystemExit`` too."""
    try:
        status = main([str(arg) for arg in args])
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err
