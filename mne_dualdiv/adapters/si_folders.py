"""SpikeInterface recording folders read without running code, and written without deleting data.

``spikeinterface.load(folder)`` trusts the folder: it unpickles ``cached.pkl`` / ``*.pickle``
files, imports and calls any class named in ``si_folder.json`` (``subprocess.Popen`` with
``shell: true`` runs a command) and reads ``properties/*.npy`` with ``allow_pickle=True``. And
``recording.save(folder=..., overwrite=True)`` deletes whatever folder is there. This module is
the package's safe pair:

- :func:`read_recording_folder` reads only the binary folders SpikeInterface writes with
  ``recording.save(folder=...)``. It parses their JSON itself, checks every ``class`` in it
  against :data:`RECORDING_CLASSES` and every value against what SpikeInterface writes, and
  builds the recording from a fixed class (``BinaryRecordingExtractor``), the probe's JSON
  (probeinterface) and ``.npy`` files read with ``allow_pickle=False`` once their header agrees
  with their size. Nothing named in the folder is ever imported or called; nothing is
  unpickled. Any other folder (zarr, pickles, other classes) is an
  :class:`~mne_dualdiv.InvalidFileError` that says how to read it in your own trusted code.
- :func:`write_recording_folder` writes to a temporary sibling folder, adds a marker file
  (:data:`MARKER`) and moves the result into place. An existing folder is replaced only when
  ``overwrite=True`` and it holds that marker and nothing else than the files listed in it.
"""

import math
import numbers
import os
from pathlib import Path

import numpy as np

from .._io import InvalidFileError
from ._si_folder_files import (MAX_METADATA_SIZE, MAX_PROPERTY_STRING,  # noqa: F401 - re-exported
                               MAX_STRING_ARRAY_CHARS, Refused, json_dict, read_json, read_npy,
                               trace_file)
from ._si_folder_writer import (MARKER, check_folder_for_writing,  # noqa: F401 - re-exported
                                write_recording_folder)

#: The only classes a recording folder's JSON may name: those of the binary folders
#: ``recording.save(folder=...)`` writes. Checked before anything is read or built; neither is
#: imported from the name (the reader builds ``BinaryRecordingExtractor`` itself).
RECORDING_CLASSES = (
    "spikeinterface.core.binaryfolder.BinaryFolderRecording",
    "spikeinterface.core.binaryrecordingextractor.BinaryRecordingExtractor",
)
#: The numpy kinds of the traces SpikeInterface writes (int, uint, float).
_TRACE_KINDS = "iuf"
#: Keyword arguments of ``BinaryRecordingExtractor`` that binary.json may hold.
_BINARY_KWARGS = ("file_paths", "sampling_frequency", "t_starts", "num_channels", "num_chan",
                  "dtype", "channel_ids", "time_axis", "file_offset", "gain_to_uV",
                  "offset_to_uV", "is_filtered", "file_timestamps_paths")
_PROPERTY_KINDS = "biufU"
_HOW_TO_READ_OTHERS = (
    "mne_dualdiv reads only the binary folders SpikeInterface writes with "
    "recording.save(folder=...), and never runs code from a folder. To use another format (a "
    "zarr folder, a pickle, a raw or vendor file), read it in your own trusted code, e.g. "
    "recording = spikeinterface.load(path) or an extractor of spikeinterface.extractors, and "
    "pass the recording object to RecordingSynthesizer.fit.")


def read_recording_folder(folder, name="folder"):
    """Read a binary recording folder written by SpikeInterface's ``recording.save``, safely.

    Reads ``binary.json`` (and ``si_folder.json`` when present), the traces
    (``traces_cached_seg*.raw``, memory-mapped), the probe group (``probegroup.json``, or
    ``probe.json`` of SpikeInterface < 0.105), the channel properties (``properties/*.npy``),
    the annotations (``annotations.json`` and ``si_folder.json``) and time vectors
    (``times_cached_seg*.npy``). Before anything is built, every ``class`` anywhere in the JSON
    must be one of :data:`RECORDING_CLASSES`, and every value must be one SpikeInterface
    writes: trace files inside ``folder``, no timestamp files elsewhere, channel ids for every
    channel, a positive sampling frequency, numeric dtypes. Pickle files are never opened,
    ``.npy`` files are read with ``allow_pickle=False`` after their header is checked against
    their size, and no class is imported from a name in the folder.

    Parameters
    ----------
    folder : str | path-like
        The folder given to ``recording.save(folder=...)``.
    name : str
        How messages call the folder (``"folder"``, ``"argument IN"``).

    Returns
    -------
    recording : spikeinterface.core.BinaryRecordingExtractor
        Channel ids, sampling frequency, dtype, gains and offsets, probe group, properties and
        annotations as ``spikeinterface.load`` gives them for the same folder.

    Raises
    ------
    mne_dualdiv.InvalidFileError
        When ``folder`` is not such a folder (zarr, pickles, a class off the allow-list, values
        SpikeInterface never writes); the message names it and says how to read other formats.
    FileNotFoundError
        When ``folder`` does not exist.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} instead.")
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or a path-like, got {type(folder).__name__} "
                        "instead.")
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"{name}: no such recording folder: {folder}.")
    try:
        return _read_binary_folder(folder)
    except Refused as err:
        raise InvalidFileError(f"{name}: {folder} is not a recording folder that mne_dualdiv "
                               f"reads: {err}. {_HOW_TO_READ_OTHERS}") from None
    except (ValueError, TypeError, KeyError, IndexError, AssertionError, OSError) as err:
        # What SpikeInterface or probeinterface refuse in values that passed the checks.
        detail = " ".join(str(err).split()) or type(err).__name__
        raise InvalidFileError(f"{name}: {folder} is not a valid binary recording folder: "
                               f"{detail}. {_HOW_TO_READ_OTHERS}") from None


def _read_binary_folder(folder):
    from spikeinterface.core import BinaryRecordingExtractor

    if not folder.is_dir():
        raise Refused("it is a file, not a folder")
    if any((folder / zarr).exists() for zarr in (".zattrs", ".zgroup", "zarr.json")) or \
            folder.suffix == ".zarr":
        raise Refused("it is a zarr folder, a format this reader does not read")
    binary_json = folder / "binary.json"
    if not binary_json.is_file():
        pickles = sorted(p.name for p in folder.iterdir()
                         if p.suffix in (".pkl", ".pickle"))[:3]
        raise Refused("it holds no binary.json, so it is not a binary folder written by "
                       "recording.save(folder=...)"
                       + (f"; it holds pickle files ({', '.join(pickles)}), which mne_dualdiv "
                          "never opens" if pickles else ""))
    si_folder = None
    if os.path.lexists(folder / "si_folder.json"):
        si_folder = read_json(folder / "si_folder.json")
        _check_classes(si_folder, "si_folder.json", RECORDING_CLASSES[0])
    binary = read_json(binary_json)
    _check_classes(binary, "binary.json", RECORDING_CLASSES[1])
    kwargs = _binary_kwargs(binary, folder)
    recording = BinaryRecordingExtractor(**kwargs)
    for segment_index, _ in enumerate(kwargs["file_paths"]):
        times = folder / f"times_cached_seg{segment_index}.npy"
        if os.path.lexists(times):
            n_frames = recording.get_num_frames(segment_index)
            recording.set_times(read_npy(times, (n_frames,), "f", mmap=True),
                                segment_index=segment_index)
    annotations = {}
    if os.path.lexists(folder / "annotations.json"):
        annotations.update(json_dict(read_json(folder / "annotations.json"),
                                      "annotations.json"))
    if si_folder is not None:
        annotations.update(json_dict(si_folder.get("annotations", {}),
                                      "si_folder.json's annotations"))
    recording.annotate(**annotations)
    _attach_probegroup(recording, folder)
    n_channels = recording.get_num_channels()
    properties = folder / "properties"
    if properties.is_dir():
        for path in sorted(properties.iterdir()):
            if path.suffix == ".npy" and path.stem != "contact_vector":
                recording.set_property(path.stem, read_npy(path, (n_channels,),
                                                             _PROPERTY_KINDS))
    if si_folder is not None:
        for key, values in json_dict(si_folder.get("properties", {}),
                                      "si_folder.json's properties").items():
            if values is not None:
                recording.set_property(key, _property_values(values, key, n_channels))
    return recording


def _check_classes(content, where, expected):
    """Every ``class`` anywhere in ``content`` is allowed, and the top one is ``expected``."""
    if not isinstance(content, dict):
        raise Refused(f"{where} holds a {type(content).__name__}, not a JSON object")
    pending = [content]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            named = value.get("class")
            if "class" in value and named not in RECORDING_CLASSES:
                raise Refused(
                    f"{where} names the class {str(named)[:200]!r}, which is not on mne_dualdiv's "
                    f"allow-list of recording classes ({', '.join(RECORDING_CLASSES)}); it was "
                    "neither imported nor called")
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    if content.get("class") != expected:
        raise Refused(f"{where} describes a {content.get('class')!r}, not a {expected}")


def _binary_kwargs(binary, folder):
    """The checked keyword arguments of ``BinaryRecordingExtractor`` from binary.json."""
    kwargs = dict(json_dict(binary.get("kwargs"), "binary.json's kwargs"))
    unknown = sorted(set(kwargs) - set(_BINARY_KWARGS))
    if unknown:
        raise Refused(f"binary.json has arguments SpikeInterface never writes: {unknown}")
    if "num_chan" in kwargs:  # the name of SpikeInterface < 0.99
        kwargs.setdefault("num_channels", kwargs.pop("num_chan"))
    if kwargs.pop("file_timestamps_paths", None) is not None:
        raise Refused("binary.json names timestamp files (file_timestamps_paths); the times of "
                       "a saved folder are in times_cached_seg*.npy")
    if kwargs.get("time_axis", 0) != 0:
        raise Refused(f"binary.json has time_axis {kwargs['time_axis']!r}; saved folders have "
                       "0 (frames x channels)")
    n_channels = kwargs.get("num_channels")
    if isinstance(n_channels, bool) or not isinstance(n_channels, int) or n_channels < 1:
        raise Refused(f"binary.json's num_channels is {n_channels!r}, not a positive int")
    channel_ids = kwargs.get("channel_ids")
    if not isinstance(channel_ids, list) or len(channel_ids) != n_channels:
        raise Refused(f"binary.json must list the ids of its {n_channels} channels")
    if not (all(isinstance(i, str) and len(i) <= MAX_PROPERTY_STRING for i in channel_ids)
            or all(isinstance(i, int) and not isinstance(i, bool) for i in channel_ids)):
        raise Refused("binary.json's channel_ids must be all str (of at most "
                       f"{MAX_PROPERTY_STRING} characters) or all int")
    if len(set(channel_ids)) != n_channels:
        raise Refused("binary.json's channel_ids are not unique")
    frequency = kwargs.get("sampling_frequency")
    if not _is_number(frequency) or not frequency > 0:
        raise Refused(f"binary.json's sampling_frequency is {frequency!r}, not a positive, "
                       "finite number")
    try:
        dtype = np.dtype(kwargs.get("dtype")) if isinstance(kwargs.get("dtype"), str) else None
    except (TypeError, ValueError, SyntaxError):
        dtype = None
    if dtype is None or dtype.kind not in _TRACE_KINDS or dtype.itemsize > 8 \
            or dtype.fields is not None or dtype.subdtype is not None:
        raise Refused(f"binary.json's dtype {str(kwargs.get('dtype'))[:40]!r} is not an int, "
                       "uint or float dtype of at most 8 bytes")
    kwargs["dtype"] = dtype.str
    paths = kwargs.get("file_paths")
    paths = [paths] if isinstance(paths, str) else paths
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise Refused("binary.json's file_paths must list the trace files")
    kwargs["file_paths"] = [trace_file(folder, path) for path in paths]
    offset = kwargs.get("file_offset", 0)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0 or any(
            offset > os.stat(path).st_size for path in kwargs["file_paths"]):
        raise Refused(f"binary.json's file_offset {offset!r} is not a byte position in its "
                       "trace files")
    starts = kwargs.get("t_starts")
    if starts is not None and not (isinstance(starts, list) and len(starts) == len(paths)
                                   and all(s is None or _is_number(s) for s in starts)):
        raise Refused("binary.json's t_starts must be one number (or null) per trace file")
    for key in ("gain_to_uV", "offset_to_uV"):
        value = kwargs.get(key)
        if not (value is None or _is_number(value) or (
                isinstance(value, list) and len(value) == n_channels
                and all(_is_number(v) for v in value))):
            raise Refused(f"binary.json's {key} must be null, a number or one number per "
                           "channel")
    if kwargs.get("is_filtered") not in (None, True, False):
        raise Refused("binary.json's is_filtered must be a bool or null")
    return kwargs


def _is_number(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def _property_values(values, key, n_channels):
    """A property of si_folder.json (a JSON list), as SpikeInterface would set it, checked."""
    array = np.asarray(values) if isinstance(values, list) else None
    if array is None or array.dtype.kind not in _PROPERTY_KINDS or len(array) != n_channels \
            or (array.dtype.kind == "U" and array.dtype.itemsize // 4 > MAX_PROPERTY_STRING):
        raise Refused(f"si_folder.json's property {key[:200]!r} is not a list of "
                       f"{n_channels} numbers or strings")
    return array


def _attach_probegroup(recording, folder):
    from probeinterface import ProbeGroup

    for name in ("probegroup.json", "probe.json"):
        path = folder / name
        if os.path.lexists(path):
            content = json_dict(read_json(path), name)
            recording.set_probegroup(ProbeGroup.from_dict(content), check_overlap=False)
            return
