"""A fitted EpochsSynthesizer's state: its generators, the input's info as FIF bytes, the layout.

The state is what :func:`mne_dualdiv._io.save_state` writes: tensors and JSON strings only. The
input's ``info`` travels as the bytes of a FIF file (:func:`info_to_tensor`,
:func:`info_from_state`); :func:`check_layout` refuses a read state whose parts disagree.
"""

import json
import os
import tempfile

import numpy as np
import torch

from .._version import __version__
from .._io import state_json
from ._conditions import POOLED

FORMAT = "mne_dualdiv.EpochsSynthesizer"
#: 2: the state is wrapped with a SHA-256 digest (``mne_dualdiv._io``); 1 is no longer read.
FORMAT_VERSION = 2


def info_to_tensor(info):
    """The bytes of ``info`` written as a FIF file, as a uint8 tensor."""
    import mne

    with tempfile.TemporaryDirectory() as folder:
        fname = os.path.join(folder, "info.fif")
        mne.io.write_info(fname, info)
        with open(fname, "rb") as fid:
            info_bytes = fid.read()
    return torch.frombuffer(bytearray(info_bytes), dtype=torch.uint8)


def info_from_state(state):
    """The ``mne.Info`` of a state's ``"info_fif"`` entry (a uint8 tensor of FIF bytes)."""
    import mne

    info_fif = state["info_fif"]
    if not isinstance(info_fif, torch.Tensor) or info_fif.dtype != torch.uint8:
        raise TypeError("entry 'info_fif' must be a uint8 tensor.")
    with tempfile.TemporaryDirectory() as folder:
        fname = os.path.join(folder, "info.fif")
        with open(fname, "wb") as fid:
            fid.write(state["info_fif"].numpy().tobytes())
        return mne.io.read_info(fname, verbose=False)


def pack_state(params, template, epochs_fields, info, generator_states):
    """The state dictionary of a fitted synthesizer.

    Parameters
    ----------
    params : dict
        The synthesizer's own parameters (JSON values).
    template : dict
        The template generator's parameters (JSON values).
    epochs_fields : dict
        The input's layout and what sampling needs (JSON values).
    info : mne.Info
        The input's info.
    generator_states : dict
        Each condition's generator state, by condition name.
    """
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "package_version": __version__,
        "params": json.dumps(params), "template": json.dumps(template),
        "epochs": json.dumps(epochs_fields), "info_fif": info_to_tensor(info),
        "generator_names": json.dumps(list(generator_states)),
        "generators": list(generator_states.values()),
    }


def check_format(state, what):
    """Refuse a state of another format or of a newer format version."""
    if state.get("format") != FORMAT:
        raise ValueError(f"Not a saved {what}: format is {state.get('format')!r}.")
    if state["format_version"] > FORMAT_VERSION:
        raise ValueError(f"This file was written by a newer mne_dualdiv "
                         f"({state['package_version']}); upgrade to read it.")


def generator_states(state):
    """``[(condition name, generator state)]`` of a state, as many names as states."""
    names = state_json(state, "generator_names", list)
    if not isinstance(state["generators"], list) or len(state["generators"]) != len(names):
        raise ValueError(f"it names {len(names)} generators but holds "
                         f"{len(state['generators'])}.")
    return list(zip(names, state["generators"]))


def check_layout(info, picks, n_times, event_id, conditions, n_epochs, per_condition,
                 generators):
    """Refuse a read state whose parts disagree (channels, times, conditions)."""
    n_channels = info["nchan"]
    if picks.ndim != 1 or np.any((picks < 0) | (picks >= n_channels)):
        raise ValueError(f"its channel picks are not indices of the {n_channels} channels "
                         "of its info.")
    unknown = [c for c in list(conditions) + list(n_epochs) if c not in event_id]
    if unknown:
        raise ValueError(f"conditions {unknown} are not in its event_id {event_id}.")
    expected = set(conditions) if per_condition else {POOLED}
    if set(generators) != expected:
        raise ValueError(f"it holds generators for {sorted(generators)} instead of "
                         f"{sorted(expected)}.")
    for name, generator in generators.items():
        if (generator.n_channels_, generator.n_times_) != (len(picks), n_times):
            raise ValueError(
                f"the generator of {name!r} makes {generator.n_channels_} x "
                f"{generator.n_times_} images, not {len(picks)} x {n_times}.")


#: The layout saved under ``"epochs"`` (JSON): key in the file -> the synthesizer's attribute.
LAYOUT_ATTRIBUTES = dict(
    event_id="event_id_", conditions="conditions_", n_epochs="n_epochs_", tmin="tmin_",
    n_times="n_times_", baseline="baseline_", last_event_sample="last_event_sample_",
    picks="picks_", condition_columns="_condition_columns", added_condition="_added_condition",
    metadata_dtypes="_metadata_dtypes", labels="_labels")


def layout_fields(attributes):
    """The JSON values of the layout (:data:`LAYOUT_ATTRIBUTES`), from the attributes by name."""
    fields = {key: attributes[name] for key, name in LAYOUT_ATTRIBUTES.items()}
    fields["picks"] = fields["picks"].tolist()
    fields["labels"] = None if fields["labels"] is None else fields["labels"].tolist()
    return fields


def layout_attributes(fields):
    """The synthesizer's layout attributes by name, from the JSON values of a read state."""
    converters = dict(
        baseline=lambda value: None if value is None else tuple(value),
        picks=lambda value: np.array(value, dtype=int),
        metadata_dtypes=lambda value: [tuple(item) for item in value],
        labels=lambda value: None if value is None else np.array(value))
    return {name: converters.get(key, lambda value: value)(fields[key])
            for key, name in LAYOUT_ATTRIBUTES.items()}
