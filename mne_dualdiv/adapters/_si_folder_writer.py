"""Recording folders written without deleting data: a marked folder, moved into place.

:func:`write_recording_folder` writes to a temporary sibling folder, adds a marker file
(:data:`MARKER`) and moves the result into place; :func:`check_folder_for_writing` allows
replacing an existing folder only when ``overwrite=True`` and it holds that marker and nothing
else than the files listed in it. Both are re-exported by :mod:`mne_dualdiv.adapters.si_folders`.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

from .._version import __version__
from ._si_folder_files import MAX_METADATA_SIZE

#: The file that marks a folder written by :func:`write_recording_folder`.
MARKER = "mne_dualdiv.json"


def check_folder_for_writing(folder, overwrite, name="folder"):
    """Return ``folder`` as a Path that :func:`write_recording_folder` may create or replace.

    The folder it goes in must exist and be writable. An existing ``folder`` is refused unless
    ``overwrite`` is True and it is a folder (not a link) that :func:`write_recording_folder`
    wrote: it holds :data:`MARKER`, and nothing else than the files that marker lists.

    Parameters
    ----------
    folder : str | path-like
        The destination.
    overwrite : bool
        Whether a folder written by this package may be replaced.
    name : str
        How messages call the destination (``"folder"``, ``"argument OUT"``).

    Returns
    -------
    folder : pathlib.Path

    Raises
    ------
    FileExistsError
        When ``folder`` exists and may not be replaced (the message says why).
    FileNotFoundError, PermissionError
        When its parent folder is missing or not writable.
    """
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or a path-like, got {type(folder).__name__} "
                        "instead.")
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be a bool, got {type(overwrite).__name__} instead.")
    folder = Path(folder)
    if not folder.parent.is_dir():
        raise FileNotFoundError(f"{name}: the folder {folder.parent} does not exist.")
    if not os.access(folder.parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{name}: cannot write a folder in {folder.parent}.")
    if not os.path.lexists(folder):
        return folder
    if not overwrite:
        raise FileExistsError(f"{name}: {folder} exists; pass overwrite=True to replace a "
                              "folder written by mne_dualdiv.")
    problem = _not_replaceable(folder)
    if problem:
        raise FileExistsError(f"{name}: {folder} {problem}; mne_dualdiv replaces only the "
                              f"folders it wrote itself (marked by {MARKER}) and left it "
                              "untouched. Choose another destination, or remove it yourself.")
    return folder


def _not_replaceable(folder):
    """Why the existing ``folder`` is not one this module wrote, or None."""
    if folder.is_symlink():
        return "is a symbolic link"
    if not folder.is_dir():
        return "is a file, not a folder"
    marker = folder / MARKER
    if marker.is_symlink() or not marker.is_file() or marker.stat().st_size > MAX_METADATA_SIZE:
        return f"was not written by mne_dualdiv (it holds no {MARKER})"
    try:
        content = json.loads(marker.read_text(encoding="utf-8"))
        written = set(content["files"]) if content.get("written_by") == "mne_dualdiv" else None
    except (ValueError, UnicodeDecodeError, RecursionError, KeyError, TypeError,
            AttributeError):
        written = None
    if written is None:
        return f"holds a {MARKER} that mne_dualdiv did not write"
    found = set()
    for root, folders, files in os.walk(folder):
        for entry in folders + files:
            path = Path(root, entry)
            if path.is_symlink() or not path.is_dir():
                found.add(path.relative_to(folder).as_posix())
    others = sorted(found - written - {MARKER})
    if others:
        return (f"holds files mne_dualdiv did not write ({', '.join(others[:3])}"
                f"{', ...' if len(others) > 3 else ''})")
    return None


def write_recording_folder(recording, folder, overwrite=False, **job_kwargs):
    """Write ``recording`` to the SpikeInterface binary folder ``folder``, never deleting data.

    The recording is written with ``recording.save(folder=..., format="binary")`` to a
    temporary sibling folder (``.<name>.<random>.partial``), marked with :data:`MARKER` (the
    package version and the list of files written) and renamed onto ``folder``. An existing
    ``folder`` is replaced only when ``overwrite`` is True and it is a folder this function
    wrote (:func:`check_folder_for_writing`); it is moved aside and deleted only once the new
    one is in place. On any error, interruptions included, the temporary folder is removed and
    an existing ``folder`` is left as it was. Nothing outside ``folder`` and its temporary
    sibling is touched.

    Parameters
    ----------
    recording : spikeinterface.core.BaseRecording
        The recording to write.
    folder : str | path-like
        Destination folder; its parent must exist.
    overwrite : bool
        Replace a folder written by this function before.
    **job_kwargs
        Passed to ``recording.save`` (``n_jobs``, ``chunk_duration``, ``progress_bar``,
        ``verbose``).

    Returns
    -------
    folder : pathlib.Path
        The folder written; :func:`read_recording_folder` and ``spikeinterface.load`` read it.
    """
    from spikeinterface.core import BaseRecording

    if not isinstance(recording, BaseRecording):
        raise TypeError(f"recording must be a spikeinterface BaseRecording, got "
                        f"{type(recording).__name__} instead.")
    folder = check_folder_for_writing(folder, overwrite)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial",
                                    dir=folder.parent))
    try:
        written = staging / "recording"
        recording.save(folder=written, format="binary", **job_kwargs)
        files = sorted(path.relative_to(written).as_posix() for path in written.rglob("*")
                       if not path.is_dir())
        (written / MARKER).write_text(json.dumps(dict(
            written_by="mne_dualdiv", package_version=__version__,
            writer="mne_dualdiv.adapters.si_folders.write_recording_folder", files=files),
            indent=2), encoding="utf-8")
        _move_into_place(written, folder, overwrite, staging / "previous")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _move_into_place(written, folder, overwrite, previous):
    """Rename ``written`` onto ``folder``; a replaced folder goes to ``previous``."""
    check_folder_for_writing(folder, overwrite)  # again: it may have changed while writing
    if os.path.lexists(folder):
        os.rename(folder, previous)
        try:
            os.rename(written, folder)
        except BaseException:
            os.rename(previous, folder)
            raise
        return
    try:
        os.mkdir(folder)  # claims the name: of two concurrent writers, one fails here
    except FileExistsError:
        raise FileExistsError(f"folder: {folder} was created by someone else while the "
                              "recording was written; it was left untouched.") from None
    try:
        os.rename(written, folder)  # replaces the empty folder just made
    except BaseException:
        os.rmdir(folder)
        raise
