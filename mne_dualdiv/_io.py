"""Model files: atomic writes, a SHA-256 digest of the payload, and reads that never unpickle.

A model file is a ``torch.save`` archive holding one small dictionary::

    {"format": "mne_dualdiv.<Class>", "format_version": int, "package_version": str,
     "digest": "<sha256 of payload, hex>", "payload": uint8 tensor}

where ``payload`` is the ``torch.save`` bytes of the object's state (tensors, numbers and JSON
strings only). :func:`load_state` reads both levels with ``torch.load(weights_only=True)`` and
checks, in this order, before anything derived from the file's content is allocated: the file is
a complete, uncompressed zip archive no larger than itself (a crafted archive cannot inflate),
its CRC-32 sums, the wrapper's keys and types, the format and version, the payload's length and
digest, then the payload archive the same way. Every failure is an :class:`InvalidFileError`
naming the file and what is wrong.

Files written before the digest existed (format version 1, the state itself at the top level)
are refused with an error that says so: the engine's state changed with them.
"""

import contextlib
import hashlib
import io
import os
import tempfile
import zipfile
from pathlib import Path

import torch

from ._checks import check_fname_for_reading, check_fname_for_writing
from ._version import __version__

#: Keys of the wrapper dictionary written by :func:`save_state`.
_WRAPPER_KEYS = ("format", "format_version", "package_version", "digest", "payload")
_ZIP_MAGIC = b"PK\x03\x04"


class InvalidFileError(ValueError):
    """A file is not a complete, undamaged mne_dualdiv model file of the expected kind.

    Raised by the readers (:func:`mne_dualdiv.read_generator`,
    :func:`mne_dualdiv.read_epochs_synthesizer`,
    :func:`mne_dualdiv.adapters.recording.read_recording_synthesizer`) for empty, truncated,
    damaged (digest mismatch), foreign, newer or inconsistent files. The message names the file
    and the problem.
    """


@contextlib.contextmanager
def atomic_path(fname, suffix=".partial"):
    """A temporary path in ``fname``'s folder, renamed onto ``fname`` when the block completes.

    The one way this package writes a file that must never be left half-written: the block
    writes the temporary file (created empty, named ``.<name>.<random><suffix>``); when it
    returns, the file is renamed onto ``fname`` (atomic on one file system); when it raises,
    interruptions included, the temporary file is removed and an existing ``fname`` is left as
    it was.

    Parameters
    ----------
    fname : pathlib.Path
        The destination, already checked (:func:`~mne_dualdiv._checks.check_fname_for_writing`).
    suffix : str
        End of the temporary name (``"-epo.fif"`` lets MNE write epochs there).

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
        os.replace(temporary, fname)
    finally:
        temporary.unlink(missing_ok=True)


def save_state(state, fname, *, overwrite):
    """Write ``state`` to ``fname`` atomically, with a digest of its bytes.

    The file is written to a temporary name in the destination's folder, flushed to disk and
    renamed onto ``fname``: on any error (full disk, interruption) the temporary file is removed
    and an existing ``fname`` is left as it was.

    Parameters
    ----------
    state : dict
        Tensors, numbers and JSON strings only, with ``"format"`` and ``"format_version"``.
    fname : str | path-like
        Destination.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    fname : pathlib.Path
        The file written.
    """
    fname = check_fname_for_writing(fname, overwrite)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getbuffer()
    wrapper = {
        "format": state["format"], "format_version": int(state["format_version"]),
        "package_version": __version__, "digest": hashlib.sha256(payload).hexdigest(),
        "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8),
    }
    with atomic_path(fname) as temporary:
        with open(temporary, "wb") as fid:
            torch.save(wrapper, fid)
            fid.flush()
            os.fsync(fid.fileno())
        if not overwrite and fname.exists():  # created by someone else while writing
            raise FileExistsError(f"Destination file exists: {fname}. Pass overwrite=True to "
                                  "replace it.")
    return fname


def load_state(fname, expected_format, max_version, *, rebuild=None):
    """Read and verify a file written by :func:`save_state`.

    Parameters
    ----------
    fname : str | path-like
        The file.
    expected_format : str
        The ``"format"`` it must have, such as ``"mne_dualdiv.DualDivergenceGenerator"``.
    max_version : int
        The newest format version this package reads.
    rebuild : None | callable
        Called on the state; the errors it raises on missing or inconsistent content
        (``KeyError``, ``TypeError``, ``ValueError``, ``IndexError``, ``RuntimeError``,
        ``AttributeError``, ``OSError``) become an :class:`InvalidFileError` naming the file.

    Returns
    -------
    state : dict | object
        The verified state, or ``rebuild(state)``.
    """
    fname = check_fname_for_reading(fname)
    what = expected_format.rsplit(".", 1)[-1]
    raw = fname.read_bytes()
    wrapper, file_size = _load_archive(raw, fname, "the file"), len(raw)
    del raw  # the payload is checked from the wrapper's copy
    if not isinstance(wrapper, dict):
        raise InvalidFileError(f"{fname} is not a saved {what}: it holds a "
                               f"{type(wrapper).__name__}, not a dictionary.")
    _check_format(wrapper, fname, expected_format, max_version)
    if "payload" not in wrapper and "digest" not in wrapper:
        _refuse_unwrapped(wrapper, fname, what, max_version)
    state = _open_wrapper(wrapper, fname, what, file_size)
    _check_format(state, fname, expected_format, max_version)
    if rebuild is None:
        return state
    try:
        return rebuild(state)
    except InvalidFileError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError, AttributeError,
            OSError) as err:
        detail = f"missing entry {err}" if isinstance(err, KeyError) else str(err)
        raise InvalidFileError(f"{fname} is not a valid saved {what}: {detail}") from None


# ---------------------------------------------------------------------------------- helpers
def _load_archive(raw, fname, where):
    """``torch.load(weights_only=True)`` of ``raw`` once its zip structure is verified."""
    if len(raw) == 0:
        raise InvalidFileError(f"{fname} is empty (0 bytes): not an mne_dualdiv model file.")
    buffer = io.BytesIO(raw)
    if not zipfile.is_zipfile(buffer):
        if raw.startswith(_ZIP_MAGIC):
            problem = "is truncated (the archive's directory at its end is missing)"
        else:
            problem = "is not a torch.save archive (random or foreign bytes)"
        raise InvalidFileError(f"{fname}: {where} {problem}; it is not a complete mne_dualdiv "
                               "model file.")
    try:
        with zipfile.ZipFile(buffer) as archive:
            entries = archive.infolist()
            compressed = [e.filename for e in entries if e.compress_type != zipfile.ZIP_STORED]
            total = sum(e.file_size for e in entries)
            if compressed or total > len(raw):
                # torch.save never compresses: a compressed or inflating archive is crafted.
                raise InvalidFileError(
                    f"{fname}: {where} declares {total} bytes of content in {len(raw)} bytes "
                    f"(compressed entries: {compressed}); mne_dualdiv never writes such files.")
            damaged = archive.testzip()
    except InvalidFileError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, OverflowError) as err:
        raise InvalidFileError(f"{fname}: {where} is a damaged archive ({err}).") from None
    if damaged is not None:
        raise InvalidFileError(f"{fname}: {where} is damaged: the checksum of its entry "
                               f"{damaged!r} does not match its content.")
    buffer.seek(0)
    try:
        return torch.load(buffer, weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - every failure means the same to the user
        message = str(err)
        if "weights_only" in message or "Unpickl" in type(err).__name__:
            # Never repeat torch's advice to load unsafely: these files hold plain data only.
            reason = ("it holds objects other than tensors, numbers and strings, which "
                      "mne_dualdiv never writes and never loads")
        else:
            reason = f"{type(err).__name__}: {message.splitlines()[0] if message else ''}"
        raise InvalidFileError(f"{fname}: {where} cannot be read: {reason}.") from None


def _check_format(content, fname, expected_format, max_version):
    what = expected_format.rsplit(".", 1)[-1]
    found = content.get("format")
    if found != expected_format:
        raise InvalidFileError(f"Not a saved {what}: {fname} has the format {found!r} instead "
                               f"of {expected_format!r}.")
    version = content.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidFileError(f"{fname} has an invalid format_version {version!r} (expected a "
                               f"positive int).")
    if version > max_version:
        raise InvalidFileError(
            f"{fname} was written by a newer mne_dualdiv ({content.get('package_version')!r}, "
            f"format version {version}; this version reads up to {max_version}): upgrade "
            "mne_dualdiv to read it.")


def _open_wrapper(wrapper, fname, what, file_size):
    missing = [key for key in _WRAPPER_KEYS if key not in wrapper]
    unknown = sorted(set(wrapper) - set(_WRAPPER_KEYS))
    if missing or unknown:
        raise InvalidFileError(f"{fname} is not a valid saved {what}: missing keys {missing}, "
                               f"unknown keys {unknown}.")
    payload, digest = wrapper["payload"], wrapper["digest"]
    if not (isinstance(payload, torch.Tensor) and payload.dtype == torch.uint8
            and payload.ndim == 1):
        raise InvalidFileError(f"{fname} is not a valid saved {what}: its payload is not a 1-D "
                               "uint8 tensor.")
    if payload.numel() > file_size:
        raise InvalidFileError(f"{fname}: its payload claims {payload.numel()} bytes in a file "
                               f"of {file_size} bytes.")
    if not (isinstance(digest, str) and len(digest) == 64):
        raise InvalidFileError(f"{fname} is not a valid saved {what}: its digest is not a "
                               "SHA-256 hex string.")
    if hashlib.sha256(payload.numpy()).hexdigest() != digest:
        raise InvalidFileError(
            f"{fname} is damaged: the SHA-256 digest of its payload does not match the one "
            "written with it (the file was changed or corrupted after it was saved).")
    state = _load_archive(payload.numpy().tobytes(), fname, "its payload")
    if not isinstance(state, dict):
        raise InvalidFileError(f"{fname} is not a valid saved {what}: its payload holds a "
                               f"{type(state).__name__}, not a dictionary.")
    return state


def _refuse_unwrapped(state, fname, what, max_version):
    raise InvalidFileError(
        f"{fname} was written by an older mne_dualdiv ({state.get('package_version')!r}, format "
        f"version {state['format_version']}, without a digest); this version reads format "
        f"version {max_version} only: fit the {what} again and save it.")


# ---------------------------------------------------------------------------------- state checks
def state_json(state, key, kind):
    """``json.loads(state[key])``, checked to be a ``kind`` (dict, list), naming ``key``."""
    import json

    if key not in state:
        raise KeyError(key)
    text = state[key]
    if not isinstance(text, str):
        raise TypeError(f"entry {key!r} must be a JSON string, got {type(text).__name__}.")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"entry {key!r} is not valid JSON ({err}).") from None
    if not isinstance(value, kind):
        raise TypeError(f"entry {key!r} must hold a {kind.__name__}, got "
                        f"{type(value).__name__}.")
    return value


def state_tensors(state, key):
    """``state[key]``, checked to be a dict of tensors whose float values are all finite."""
    if key not in state:
        raise KeyError(key)
    tensors = state[key]
    if not isinstance(tensors, dict):
        raise TypeError(f"entry {key!r} must be a dict of tensors, got "
                        f"{type(tensors).__name__}.")
    for name, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{key}[{name!r}] must be a tensor, got {type(tensor).__name__}.")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{key}[{name!r}] holds NaN or infinite values.")
    return tensors
