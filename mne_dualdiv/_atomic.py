"""Atomic file writes: a temporary file in the destination's folder, moved into place at the end.

The one way this package writes a file that must never be left half-written
(:func:`atomic_path`): model files (:func:`mne_dualdiv._io.save_state`), reports and the
command line's outputs.
"""

import contextlib
import os
import stat
import tempfile
import threading
from pathlib import Path

_UMASK_LOCK = threading.Lock()


@contextlib.contextmanager
def atomic_path(fname, suffix=".partial", *, overwrite):
    """A temporary path in ``fname``'s folder, moved onto ``fname`` when the block completes.

    The one way this package writes a file that must never be left half-written: the block
    writes the temporary file (created empty, named ``.<name>.<random><suffix>``); when it
    returns, the file gets the permissions a plain ``open(fname, "w")`` would give it (those of
    the file it replaces, else ``0o666`` less the umask) and is moved onto ``fname``: renamed
    over it with ``overwrite=True`` (atomic on one file system), hard-linked to it without
    (``os.link`` fails when ``fname`` exists, so of two concurrent writers exactly one
    succeeds, and the other gets a :class:`FileExistsError` naming ``fname``). When the block
    raises, interruptions included, the temporary file is removed and an existing ``fname`` is
    left as it was.

    Parameters
    ----------
    fname : pathlib.Path
        The destination, already checked (:func:`~mne_dualdiv._checks.check_fname_for_writing`).
    suffix : str
        End of the temporary name (``"-epo.fif"`` lets MNE write epochs there).
    overwrite : bool
        Replace an existing ``fname``.

    Yields
    ------
    temporary : pathlib.Path
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f".{fname.name}.", suffix=suffix,
                                             dir=fname.parent)
    os.close(descriptor)
    temporary = Path(temporary)
    try:
        yield temporary
        try:
            mode = stat.S_IMODE(os.stat(fname).st_mode) if overwrite else None
        except FileNotFoundError:
            mode = None
        os.chmod(temporary, _new_file_mode() if mode is None else mode)
        if overwrite:
            os.replace(temporary, fname)
        else:
            _link_exclusive(temporary, fname)
    finally:
        temporary.unlink(missing_ok=True)


def _new_file_mode():
    """The mode ``open(name, "w")`` gives a new file: ``0o666`` less the process's umask."""
    with _UMASK_LOCK:  # os.umask can only be read by setting it
        umask = os.umask(0o077)
        os.umask(umask)
    return 0o666 & ~umask


def _link_exclusive(temporary, fname):
    """Give ``temporary``'s content the name ``fname`` only if no file has that name."""
    try:
        os.link(temporary, fname)
    except FileExistsError:
        raise FileExistsError(f"Destination file exists: {fname} (written by someone else "
                              "meanwhile?); it was left untouched. Pass overwrite=True to "
                              "replace it.") from None
    except OSError:  # a file system without hard links: claim the name, then replace it
        try:
            os.close(os.open(fname, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            raise FileExistsError(f"Destination file exists: {fname}; it was left untouched. "
                                  "Pass overwrite=True to replace it.") from None
        os.replace(temporary, fname)
