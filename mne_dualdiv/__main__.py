"""``python -m mne_dualdiv``: the ``mne-dualdiv`` command line (no command: ``demo``)."""

from .cli import QUICK, main

__all__ = ["QUICK", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
