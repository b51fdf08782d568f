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

What a file can make the reader allocate is bounded by what it holds: its size is checked with
``os.stat`` before it is read (at most :data:`MAX_FILE_SIZE` bytes), its pickle may hold at most
:data:`MAX_PICKLE_OPCODES` instructions (each makes at most one small object), and every tensor
must have a dtype of :data:`TENSOR_DTYPES` and be dense and contiguous, owning a storage of
exactly its own size (a stride-0 ``expand`` view of one number, or a slice of a larger storage,
would let a few bytes stand for gigabytes: :func:`save_state` never writes one).

Files written before the digest existed (format version 1, the state itself at the top level)
are refused with an error that says so: the engine's state changed with them.

The file is moved into place by :func:`~mne_dualdiv._atomic.atomic_path`; the tensors a file may
hold are defined in :mod:`mne_dualdiv._tensors`. Both are re-exported here, with
:func:`state_tensors`, so that readers of a state import its checks from one module.
"""

import hashlib
import io
import json
import os
import pickletools
import zipfile

import numpy as np

import torch

from ._atomic import atomic_path
from ._checks import check_fname_for_reading, check_fname_for_writing
from ._ranks import writes_files
from ._tensors import TENSOR_DTYPES, own_storages, state_tensors, tensor_problem
from ._version import __version__

__all__ = ["InvalidFileError", "save_state", "load_state", "state_json", "state_tensors",
           "decode_array", "atomic_path", "MAX_FILE_SIZE", "MAX_PICKLE_OPCODES", "TENSOR_DTYPES",
           "ARRAY_KINDS", "MAX_STRING_LENGTH", "MAX_ARRAY_LENGTH", "MAX_ARRAY_BYTES"]

#: Keys of the wrapper dictionary written by :func:`save_state`.
_WRAPPER_KEYS = ("format", "format_version", "package_version", "digest", "payload")
_ZIP_MAGIC = b"PK\x03\x04"
#: Largest model file :func:`load_state` reads: 2 GiB. Reading needs about four times the file's
#: size in memory (the file, the wrapper's tensors, the payload's bytes, the state's tensors);
#: a generator fitted on 1000 images of 64 channels x 500 samples writes 130 MB.
MAX_FILE_SIZE = 2 * 1024 ** 3
#: Most pickle instructions one archive of a model file may hold. Each makes at most one small
#: object (an empty dict is 64 bytes for one byte of file): 10^6 bound them to ~100 MB. A saved
#: generator holds about 1000, so an EpochsSynthesizer of 100 conditions about 10^5.
MAX_PICKLE_OPCODES = 1_000_000
#: Metadata arrays (:func:`decode_array`): numpy kinds allowed, longest string (characters)
#: and most elements. A channel id or property string of 4096 characters and 10^6 channels
#: are far beyond any probe; together they are also bounded by :data:`MAX_ARRAY_BYTES`.
ARRAY_KINDS = "biufU"
MAX_STRING_LENGTH = 4096
MAX_ARRAY_LENGTH = 1_000_000
MAX_ARRAY_BYTES = 64 * 1024 ** 2


class InvalidFileError(ValueError):
    """A file or folder is not one that mne_dualdiv reads (safely) as the expected kind.

    Raised by the readers (:func:`mne_dualdiv.read_generator`,
    :func:`mne_dualdiv.read_epochs_synthesizer`,
    :func:`mne_dualdiv.adapters.recording.read_recording_synthesizer`) for empty, truncated,
    damaged (digest mismatch), foreign, newer, oversized or inconsistent files, and by
    :func:`mne_dualdiv.adapters.si_folders.read_recording_folder` for recording folders it does
    not read (pickles, classes off its allow-list, other formats). The message names the file
    or folder and the problem.
    """


def save_state(state, fname, *, overwrite):
    """Write ``state`` to ``fname`` atomically, with a digest of its bytes.

    The file is written to a temporary name in the destination's folder, flushed to disk and
    moved onto ``fname`` by :func:`atomic_path`: on any error (full disk, interruption) the
    temporary file is removed and an existing ``fname`` is left as it was; without
    ``overwrite``, a file created at ``fname`` meanwhile is never replaced. In a run of
    several processes (``torchrun``), rank 0 alone writes
    (:func:`~mne_dualdiv._ranks.writes_files`).

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
    if not writes_files():
        return fname
    buffer = io.BytesIO()
    torch.save(own_storages(state), buffer)
    payload = buffer.getbuffer()
    wrapper = {
        "format": state["format"], "format_version": int(state["format_version"]),
        "package_version": __version__, "digest": hashlib.sha256(payload).hexdigest(),
        "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8),
    }
    with atomic_path(fname, overwrite=overwrite) as temporary:
        with open(temporary, "wb") as fid:
            torch.save(wrapper, fid)
            fid.flush()
            os.fsync(fid.fileno())
    return fname


def load_state(fname, expected_format, max_version, *, rebuild=None, max_size=None):
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
    max_size : None | int
        Largest file read, in bytes; None is :data:`MAX_FILE_SIZE` (2 GiB). A larger file is
        refused after ``os.stat``, before any of it is read.

    Returns
    -------
    state : dict | object
        The verified state, or ``rebuild(state)``.
    """
    fname = check_fname_for_reading(fname)
    what = expected_format.rsplit(".", 1)[-1]
    raw = _read_bounded(fname, MAX_FILE_SIZE if max_size is None else max_size)
    wrapper, file_size = _load_archive(raw, fname, "the file"), len(raw)
    del raw  # the payload is checked from the wrapper's copy
    _check_tensors(wrapper, fname, "the file", file_size)
    if not isinstance(wrapper, dict):
        raise InvalidFileError(f"{fname} is not a saved {what}: it holds a "
                               f"{type(wrapper).__name__}, not a dictionary.")
    _check_format(wrapper, fname, expected_format, max_version)
    if "payload" not in wrapper and "digest" not in wrapper:
        _refuse_unwrapped(wrapper, fname, what, max_version)
    state = _open_wrapper(wrapper, fname, what, file_size)
    del wrapper
    _check_tensors(state, fname, "its payload", file_size)
    _check_format(state, fname, expected_format, max_version)
    if rebuild is None:
        return state
    try:
        return rebuild(state)
    except InvalidFileError as err:
        if str(fname) in str(err):
            raise
        raise InvalidFileError(f"{fname} is not a valid saved {what}: {err}") from None
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError, AttributeError,
            OSError) as err:
        detail = f"missing entry {err}" if isinstance(err, KeyError) else str(err)
        raise InvalidFileError(f"{fname} is not a valid saved {what}: {detail}") from None


# ---------------------------------------------------------------------------------- helpers
def _read_bounded(fname, max_size):
    """The bytes of ``fname``, refused unread when ``os.stat`` finds it over ``max_size``."""
    size = os.stat(fname).st_size
    if size > max_size:
        raise InvalidFileError(
            f"{fname} is {size} bytes, over the {max_size}-byte limit of model files "
            f"({max_size / 1024 ** 3:g} GiB); it was not read. A larger file that you trust can "
            "be read with mne_dualdiv._io.load_state(..., max_size=...).")
    with open(fname, "rb") as fid:
        raw = fid.read(max_size + 1)  # a file growing while read is cut, then refused
    if len(raw) > max_size:
        raise InvalidFileError(f"{fname} grew over the {max_size}-byte limit of model files "
                               "while it was read.")
    return raw


def _check_tensors(content, fname, where, file_size):
    """Refuse ``content`` (a loaded archive) when one of its tensors has a :func:`~mne_dualdiv._tensors.tensor_problem`.

    Walks dicts, lists and tuples without recursion, each container once (a crafted pickle can
    share one list many times over).
    """
    pending, seen = [(content, ())], set()
    while pending:
        value, keys = pending.pop()
        if isinstance(value, torch.Tensor):
            problem = tensor_problem(value, file_size)
            if problem is not None:
                entry = "".join(f"[{key!r}]" for key in keys) or " itself"
                raise InvalidFileError(f"{fname}: the tensor {where}{entry} {problem}.")
        elif isinstance(value, (dict, list, tuple)) and id(value) not in seen:
            seen.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            pending.extend((item, keys + (key,)) for key, item in items
                           if isinstance(item, (torch.Tensor, dict, list, tuple)))


def _count_pickle_opcodes(archive, fname, where):
    """Refuse an archive whose pickle holds more than :data:`MAX_PICKLE_OPCODES` instructions."""
    for entry in archive.infolist():
        if not entry.filename.endswith("data.pkl"):
            continue
        count = 0
        try:
            for count, _ in enumerate(pickletools.genops(archive.read(entry)), start=1):
                if count > MAX_PICKLE_OPCODES:
                    raise InvalidFileError(
                        f"{fname}: {where} holds a pickle of more than {MAX_PICKLE_OPCODES} "
                        "instructions; mne_dualdiv never writes one (it would build that many "
                        "objects).")
        except InvalidFileError:
            raise
        except Exception as err:  # noqa: BLE001 - a malformed pickle, whatever the opcode
            raise InvalidFileError(f"{fname}: {where} holds a malformed pickle "
                                   f"({type(err).__name__}: {err}).") from None


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
            if damaged is None:
                _count_pickle_opcodes(archive, fname, where)
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


def decode_array(encoded, name):
    """The numpy array of a JSON-encoded metadata array ``{"dtype": str, "values": list}``.

    The form written for channel ids and channel properties (``dtype`` is numpy's
    ``dtype.str``, ``values`` its nested ``tolist()``). Only bool, int, uint and float dtypes
    and unicode strings are read; what the array takes in memory is checked from the values
    before it is made: at most :data:`MAX_ARRAY_LENGTH` elements, strings of at most
    :data:`MAX_STRING_LENGTH` characters, :data:`MAX_ARRAY_BYTES` in all (a dtype of
    ``'<U400000000'`` would otherwise take 1.6 GB per element).

    Parameters
    ----------
    encoded : dict
        ``{"dtype": str, "values": list}``, as read from JSON.
    name : str
        What the array is (``"channel_ids"``, ``"property 'group'"``), for the messages.

    Returns
    -------
    array : numpy.ndarray

    Raises
    ------
    InvalidFileError
        Naming ``name`` and the problem. Raised inside :func:`load_state`'s ``rebuild``, the
        file's name is added to the message.
    """
    if not isinstance(encoded, dict) or set(encoded) != {"dtype", "values"}:
        found = sorted(encoded) if isinstance(encoded, dict) else type(encoded).__name__
        raise InvalidFileError(f"{name} must be a dict of 'dtype' and 'values', got {found}.")
    text, values = encoded["dtype"], encoded["values"]
    try:
        if not isinstance(text, str) or len(text) > 32:
            raise TypeError("not a short string")
        dtype = np.dtype(text)
    except (TypeError, ValueError, SyntaxError) as err:
        raise InvalidFileError(f"{name} has an invalid dtype {str(text)[:80]!r} ({err}).") from None
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise InvalidFileError(f"{name} has the dtype {dtype.str!r}; metadata arrays hold bool, "
                               "int, uint, float or unicode string values only.")
    if not isinstance(values, list):
        raise InvalidFileError(f"{name} must hold a list of values, got "
                               f"{type(values).__name__}.")
    count, longest, pending = 0, 0, [values]
    while pending:
        for value in pending.pop():
            if isinstance(value, list):
                pending.append(value)
                continue
            if not isinstance(value, (bool, int, float, str)):
                raise InvalidFileError(f"{name} holds a {type(value).__name__} value; metadata "
                                       "arrays hold numbers, bools and strings only.")
            count += 1
            if isinstance(value, str):
                longest = max(longest, len(value))
            if count > MAX_ARRAY_LENGTH:
                raise InvalidFileError(f"{name} holds more than {MAX_ARRAY_LENGTH} values.")
    length = dtype.itemsize // 4 if dtype.kind == "U" else 0
    if max(length, longest) > MAX_STRING_LENGTH:
        raise InvalidFileError(
            f"{name} has strings of {max(length, longest)} characters (dtype {dtype.str!r}); "
            f"metadata strings have at most {MAX_STRING_LENGTH}.")
    itemsize = 4 * max(length, longest) if dtype.kind == "U" else dtype.itemsize
    if count * itemsize > MAX_ARRAY_BYTES:
        raise InvalidFileError(f"{name} would take {count * itemsize} bytes ({count} values of "
                               f"{itemsize} bytes), over the {MAX_ARRAY_BYTES}-byte limit of "
                               "metadata arrays.")
    if dtype.kind == "U" and 0 < length < longest:
        raise InvalidFileError(f"{name} holds strings longer than its dtype {dtype.str!r}.")
    try:
        return np.array(values, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as err:
        raise InvalidFileError(f"{name}: its values do not make an array of dtype "
                               f"{dtype.str!r} ({err}).") from None
