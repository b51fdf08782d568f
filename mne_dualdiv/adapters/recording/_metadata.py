"""What a synthetic recording keeps of the real one, and the checks shared by the package.

Channel ids and order, sampling frequency, dtype, gains and offsets (``gain_to_uV`` /
``offset_to_uV`` and the physical-unit properties), the probe group (contacts, shanks, device
channel indices, hence channel locations), every channel property except the noise levels
measured on the real traces, and every JSON-serialisable annotation (``is_filtered``
included) are stored as JSON types by :func:`recording_metadata` and attached to a synthetic
recording by :func:`apply_metadata`. Nothing else of the real recording is kept here.
"""

import json
import numbers

import numpy as np

from ..._checks import check_float, check_output_memory, check_random_state
from ..._logging import logger

try:
    from spikeinterface.core import BaseRecording
except ImportError as err:  # pragma: no cover - the ephys extra is missing
    raise ImportError("mne_dualdiv.adapters.recording needs spikeinterface and probeinterface: "
                      "pip install 'mne_dualdiv[ephys]'") from err


def encode_array(values, name):
    """A property array as a JSON-serialisable dict (dtype and values)."""
    values = np.asarray(values)
    if values.dtype.kind == "S":
        values = values.astype(str)
    if values.dtype.kind not in "biufU":
        raise TypeError(f"{name} has dtype {values.dtype}, which cannot be stored")
    return dict(dtype=values.dtype.str, values=values.tolist())


def decode_array(encoded, name="array"):
    """The array of :func:`encode_array`'s dict (bounded dtypes: see ``mne_dualdiv._io``)."""
    from ..._io import decode_array as _decode

    return _decode(encoded, name)


def _json_value(value):
    """``value`` as plain JSON types, or raise TypeError."""
    def default(obj):
        if isinstance(obj, (np.generic, np.ndarray)):
            return obj.tolist()
        raise TypeError(type(obj).__name__)
    return json.loads(json.dumps(value, default=default))


def recording_metadata(recording):
    """Everything of ``recording`` that a synthetic recording keeps, as JSON types."""
    properties = {}
    for key in recording.get_property_keys():
        if key in BaseRecording._skip_properties:
            continue  # noise levels measured on the real traces do not describe synthetic ones
        try:
            properties[key] = encode_array(recording.get_property(key), f"property {key!r}")
        except TypeError as err:
            logger.warning("The channel property %r is not kept: %s.", key, err)
    annotations = {}
    for key in recording.get_annotation_keys():
        if key == "name":
            continue
        try:
            annotations[key] = _json_value(recording.get_annotation(key))
        except TypeError as err:
            logger.warning("The annotation %r is not kept: it holds a %s.", key, err)
    probegroup = (_json_value(recording.get_probegroup().to_dict(array_as_list=True))
                  if recording.has_probe() else None)
    return dict(channel_ids=encode_array(recording.channel_ids, "channel_ids"),
                sampling_frequency=float(recording.sampling_frequency),
                dtype=np.dtype(recording.get_dtype()).str, probegroup=probegroup,
                properties=properties, annotations=annotations)


def apply_metadata(recording, metadata):
    """Attach the probe group, properties and annotations of ``metadata`` to ``recording``."""
    from probeinterface import ProbeGroup

    if metadata["probegroup"] is not None:
        # The stored probe group is already in channel order; the properties below restore
        # the original 'group' values that set_probegroup would otherwise derive.
        recording.set_probegroup(ProbeGroup.from_dict(metadata["probegroup"]),
                                 check_overlap=False)
    for key, encoded in metadata["properties"].items():
        recording.set_property(key, decode_array(encoded, f"property {key!r}"))
    recording.annotate(**metadata["annotations"])


def metadata_locations(metadata):
    """Channel positions (µm, (n_channels, 2)) of a recording with ``metadata``.

    Read as :func:`.spikes.channel_locations` reads them from the recording itself: the
    metadata is applied to a one-frame recording of zeros.
    """
    from spikeinterface.core import NumpyRecording

    from .spikes import channel_locations

    channel_ids = decode_array(metadata["channel_ids"], "channel_ids")
    empty = NumpyRecording(np.zeros((1, len(channel_ids)), dtype=metadata["dtype"]),
                           sampling_frequency=metadata["sampling_frequency"],
                           channel_ids=channel_ids)
    apply_metadata(empty, metadata)
    return channel_locations(empty)


def check_recording(recording, name="recording", like=None):
    """``recording`` if it is a SpikeInterface ``BaseRecording``, else a TypeError.

    With ``like`` (a fitted synthesizer), its number of channels and sampling frequency must
    also be those of the fitted recording (a ValueError naming ``name`` otherwise).
    """
    if not isinstance(recording, BaseRecording):
        raise TypeError(f"{name} must be a spikeinterface BaseRecording, got "
                        f"{type(recording).__name__} instead.")
    if np.dtype(recording.get_dtype()).kind not in "iuf":
        raise TypeError(f"{name} has dtype {recording.get_dtype()}; only real integer or "
                        "float traces can be learned.")
    if like is not None and recording.get_num_channels() != len(like.channel_ids_):
        raise ValueError(f"{name} has {recording.get_num_channels()} channels; the "
                         f"synthesizer was fitted on {len(like.channel_ids_)}.")
    if like is not None and not np.isclose(recording.sampling_frequency,
                                           like.sampling_frequency_):
        raise ValueError(f"{name} is sampled at {recording.sampling_frequency:g} Hz; the "
                         f"synthesizer was fitted at {like.sampling_frequency_:g} Hz.")
    return recording


def check_durations(durations, name="durations"):
    """One positive duration in seconds per segment, as a list of floats."""
    if isinstance(durations, np.ndarray) and durations.ndim == 0:
        durations = durations.item()  # a 0-d array is one number (it has no len())
    if isinstance(durations, (numbers.Real, np.floating)) and not isinstance(durations, bool):
        durations = [durations]
    if not isinstance(durations, (list, tuple, np.ndarray)) or len(durations) == 0:
        raise TypeError(f"{name} must be a positive number of seconds or a non-empty list of "
                        f"them (one per segment), got {durations!r} instead.")
    return [check_float(f"{name}[{i}]", d, low=0, low_inclusive=False)
            for i, d in enumerate(durations)]


def check_unit_memory(n_units, template_size, name="n_units"):
    """Refuse more units than the draw's candidate templates leave room for in memory.

    The units are drawn from batches of ``4 * n_units`` candidate templates of
    ``template_size`` float64 values, with one temporary copy (``units.UnitModel.draw_units``).
    """
    return check_output_memory(name, n_units, 2 * 4 * n_units * template_size * 8,
                               "draw candidate templates", "ask for fewer units")


def seed_from(random_state):
    """An int seed (stored in a recording's kwargs) from None, an int or a Generator."""
    if isinstance(random_state, (numbers.Integral, np.integer)) and not isinstance(
            random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative, got {random_state}.")
        return int(random_state)
    return int(check_random_state(random_state).integers(2**63))


def cast(traces, dtype):
    """Float traces to ``dtype``, rounded and clipped to its range when it is an integer."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(traces), info.min, info.max).astype(dtype)
    return traces.astype(dtype, copy=False)


def first_seconds(recording, duration):
    """The first ``duration`` seconds of ``recording`` (segments in order), lazily.

    ``None``, or a duration covering every segment, gives ``recording`` itself. Otherwise a
    view whose segments wrap the first frames of the recording's own (SpikeInterface's
    ``select_segments`` would re-attach the caller's segments to a temporary view, after which
    some recordings fail to read their traces).
    """
    if duration is None:
        return recording
    remaining = int(round(duration * recording.sampling_frequency))
    frames = []
    for segment in range(recording.get_num_segments()):
        n = min(max(remaining, 0), recording.get_num_samples(segment_index=segment))
        frames.append(n)
        remaining -= n
    if all(n == recording.get_num_samples(segment_index=s) for s, n in enumerate(frames)):
        return recording
    return _Head(recording, [n for n in frames if n > 0])


class _Head(BaseRecording):
    """The first ``frames[i]`` frames of segment ``i`` of a recording (a lazy view)."""

    def __init__(self, recording, frames):
        from spikeinterface.core.frameslicerecording import FrameSliceRecordingSegment

        BaseRecording.__init__(self, recording.sampling_frequency, recording.channel_ids,
                               recording.get_dtype())
        for segment, n in zip(recording.segments, frames):
            self.add_recording_segment(FrameSliceRecordingSegment(segment, 0, n))
        recording.copy_metadata(self)
        self._parent = recording
        self._kwargs = dict(recording=recording, frames=list(frames))
