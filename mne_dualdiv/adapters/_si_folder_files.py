"""The files of a recording folder, read with bounds: JSON, ``.npy`` headers, trace files.

Every reader here raises :class:`Refused` (turned by
:func:`~mne_dualdiv.adapters.si_folders.read_recording_folder` into an
:class:`~mne_dualdiv.InvalidFileError` naming the folder) for a file that is not a regular one,
larger than :data:`MAX_METADATA_SIZE`, or holding more than SpikeInterface writes; nothing is
unpickled.
"""

import json
import math
import os
from pathlib import Path

import numpy as np

#: Largest JSON or ``.npy`` metadata file read (bytes); the traces are memory-mapped, not read.
MAX_METADATA_SIZE = 64 * 1024 ** 2
#: Most characters of the numpy string arrays one JSON file can make: its strings inside lists
#: times the longest of them (numpy gives every string of an array the longest one's size).
MAX_STRING_ARRAY_CHARS = 2 ** 24
#: Longest string (characters) of a channel id or of a string property.
MAX_PROPERTY_STRING = 4096


class Refused(Exception):
    """Why a folder is not read (turned into an InvalidFileError naming the folder)."""


def read_json(path):
    """The content of a JSON file of at most :data:`MAX_METADATA_SIZE` bytes, bounded."""
    if not path.is_file():  # a pipe or a device would never end
        raise Refused(f"{path.name} is not a regular file")
    size = path.stat().st_size
    if size > MAX_METADATA_SIZE:
        raise Refused(f"{path.name} is {size} bytes, over the {MAX_METADATA_SIZE}-byte limit "
                       "of metadata files")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise Refused(f"{path.name} is not valid JSON ({type(err).__name__}: "
                       f"{str(err)[:200]})") from None
    _check_string_arrays(content, path.name)
    return content


def _check_string_arrays(content, where):
    """Refuse JSON whose lists of strings would make numpy arrays far larger than the file."""
    n_strings, longest, pending = 0, 0, [(content, False)]
    while pending:
        value, in_list = pending.pop()
        if isinstance(value, str):
            if in_list:
                n_strings, longest = n_strings + 1, max(longest, len(value))
        elif isinstance(value, list):
            pending.extend((item, True) for item in value)
        elif isinstance(value, dict):
            pending.extend((item, in_list) for item in value.values())
    if n_strings * longest > MAX_STRING_ARRAY_CHARS:
        raise Refused(f"{where} holds {n_strings} strings in lists, the longest of "
                       f"{longest} characters: as numpy arrays they would take "
                       f"{4 * n_strings * longest} bytes")


def json_dict(value, where):
    """``value``, refused unless it is a JSON object (a dict)."""
    if not isinstance(value, dict):
        raise Refused(f"{where} is a {type(value).__name__}, not a JSON object")
    return value


def trace_file(folder, path):
    """``path`` of binary.json as a regular file directly inside ``folder`` (no link)."""
    candidate = Path(path) if os.path.isabs(path) else folder / path
    inside = candidate.resolve().parent == folder.resolve()
    if not inside or candidate.is_symlink() or not candidate.is_file():
        raise Refused(f"binary.json's trace file {path[:200]!r} is not a file of the folder "
                       "itself (a trace file elsewhere, or a link, is never read)")
    return str(candidate.resolve())


def read_npy(path, leading_shape, kinds, mmap=False):
    """A ``.npy`` array, read with ``allow_pickle=False`` once its header matches its size."""
    from numpy.lib import format as npy

    if path.is_symlink() or not path.is_file():
        raise Refused(f"{path.name} is not a regular file")
    size = path.stat().st_size
    if size > MAX_METADATA_SIZE and not mmap:
        raise Refused(f"{path.name} is {size} bytes, over the {MAX_METADATA_SIZE}-byte limit "
                       "of metadata files")
    try:
        with open(path, "rb") as fid:
            version = npy.read_magic(fid)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"unsupported .npy version {version}")
            read_header = (npy.read_array_header_1_0 if version == (1, 0)
                           else npy.read_array_header_2_0)
            shape, _, dtype = read_header(fid)
            data_start = fid.tell()
    except (ValueError, SyntaxError, OSError, EOFError) as err:
        raise Refused(f"{path.name} is not a valid .npy file ({err})") from None
    if dtype.hasobject or dtype.kind not in kinds or dtype.fields is not None:
        raise Refused(f"{path.name} holds a {dtype} array; only numeric"
                       + (" or string" if "U" in kinds else "") + " arrays are read (never "
                       "pickled objects)")
    if dtype.kind == "U" and dtype.itemsize // 4 > MAX_PROPERTY_STRING:
        raise Refused(f"{path.name} holds strings of {dtype.itemsize // 4} characters, over "
                       f"{MAX_PROPERTY_STRING}")
    if len(shape) < len(leading_shape) or tuple(shape[:len(leading_shape)]) != leading_shape:
        raise Refused(f"{path.name} has the shape {shape}, not {leading_shape} first")
    expected = math.prod(shape) * dtype.itemsize
    if size - data_start != expected:
        raise Refused(f"{path.name} declares {expected} bytes of data but holds "
                       f"{size - data_start}")
    return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
