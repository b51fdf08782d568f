"""The fitted synthesizer as a file: its state written and read back, checked entry by entry.

A ``torch.save`` archive of tensors and JSON strings only, through the package's one I/O path
(``mne_dualdiv._io``: digest, atomic writes, bounded reads). :func:`read` gives back the fitted
attributes as a dict, so that both :func:`~.synthesizer.read_recording_synthesizer` and the
lazy :class:`~.segment.SyntheticRecording` (which reads the file in worker processes) use one
reader, and neither module imports the other.
"""

import json

import numpy as np
import torch

from ..._checks import check_float, check_int
from ..._io import load_state, state_json
from ..._version import __version__
from ...engine import DualDivergenceGenerator
from ._metadata import decode_array
from .noise import NoiseModel
from .units import STAT_NAMES, UnitModel

FORMAT = "mne_dualdiv.RecordingSynthesizer"
#: 3: recording v2 (noise model + unit model); 2 (crossfaded engine windows) is not read.
FORMAT_VERSION = 3


def get_state(synthesizer):
    """The state of a fitted :class:`~.synthesizer.RecordingSynthesizer`."""
    params = {k: v for k, v in synthesizer.get_params(deep=False).items() if k != "generator"}
    if not isinstance(params["random_state"], int):
        params["random_state"] = None  # a Generator object is not serialisable
    template = None if synthesizer.generator is None else synthesizer.generator.get_params()
    if template is not None and not isinstance(template["random_state"], int):
        template["random_state"] = None
    fitted = dict(nbefore=synthesizer.nbefore_, nafter=synthesizer.nafter_,
                  n_real_units=synthesizer.n_real_units_, peak_rate=synthesizer.peak_rate_,
                  threshold=synthesizer.threshold_)
    tensor = torch.from_numpy
    noise = synthesizer.noise_
    state = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "package_version": __version__,
        "params": json.dumps(params), "template": json.dumps(template),
        "fitted": json.dumps(fitted), "metadata": json.dumps(synthesizer.metadata_),
        "neighbours": tensor(np.ascontiguousarray(synthesizer.neighbours_)),
        "snippet_positions": tensor(np.ascontiguousarray(synthesizer.snippet_positions_)),
        "noise_psd": tensor(noise.psd), "noise_correlations": tensor(noise.correlations),
        "noise_offsets": tensor(noise.offsets),
    }
    units = synthesizer.units_
    if units is not None:
        state.update({
            "unit_mean": tensor(units.mean), "unit_components": tensor(units.components),
            "unit_variances": tensor(units.variances),
            "real_templates": tensor(units.real_templates),
            "cluster_stats": tensor(units.cluster_stats),
            "placement_weights": tensor(units.placement_weights),
            "row_distances": tensor(units.row_distances),
            "unit_scalars": tensor(np.array([units.refractory, units.guard, units.distinct])),
        })
        if units.engine is not None:
            state["generator"] = units.engine._get_state()
    return state


def read(fname):
    """The fitted attributes stored in ``fname`` (and ``params``, ``template``), as a dict.

    Raises
    ------
    mne_dualdiv.InvalidFileError
        When the file is not a complete, consistent synthesizer file.
    """
    return load_state(fname, FORMAT, FORMAT_VERSION, rebuild=_from_state)


def _from_state(state):
    template = json.loads(state["template"]) if "template" in state else None
    if template is not None and not isinstance(template, dict):
        raise TypeError("entry 'template' must hold a dict or null.")
    fitted = state_json(state, "fitted", dict)
    metadata = state_json(state, "metadata", dict)
    out = dict(params=state_json(state, "params", dict), template=template, metadata_=metadata)
    out["channel_ids_"] = channel_ids = decode_array(metadata["channel_ids"], "channel_ids")
    n_channels = len(channel_ids)
    fs = check_float("sampling_frequency", metadata["sampling_frequency"], low=0,
                     low_inclusive=False)
    out["sampling_frequency_"] = fs
    out["dtype_"] = dtype = np.dtype(metadata["dtype"])
    if dtype.kind not in "iuf":
        raise ValueError(f"its dtype {dtype} is not a real integer or float type.")
    out["nbefore_"] = nbefore = check_int("nbefore", fitted["nbefore"], minimum=1)
    out["nafter_"] = nafter = check_int("nafter", fitted["nafter"], minimum=1)
    out["n_real_units_"] = check_int("n_real_units", fitted["n_real_units"], minimum=0)
    out["peak_rate_"] = check_float("peak_rate", fitted["peak_rate"], low=0)
    out["threshold_"] = check_float("threshold", fitted["threshold"], low=0)
    neighbours = _array(state, "neighbours", (n_channels, None), np.int64)
    if neighbours.size and (neighbours.min() < -1 or neighbours.max() >= n_channels):
        raise ValueError("its neighbourhoods name channels that do not exist.")
    out["neighbours_"] = neighbours
    out["snippet_positions_"] = _array(state, "snippet_positions", (None, 3), np.int64)
    out["noise_"] = NoiseModel(
        _array(state, "noise_psd", (None, n_channels), np.float64),
        _array(state, "noise_correlations", (None, n_channels, n_channels), np.float64),
        _array(state, "noise_offsets", (n_channels,), np.float64), fs)
    out["units_"] = None
    if "unit_mean" in state:
        k, n_times = neighbours.shape[1], nbefore + nafter
        components = _array(state, "unit_components", (None, k * n_times), np.float64)
        engine = (DualDivergenceGenerator._from_state(state["generator"])
                  if "generator" in state else None)
        refractory, guard, distinct = _array(state, "unit_scalars", (3,), np.float64)
        out["units_"] = UnitModel(
            _array(state, "unit_mean", (k * n_times,), np.float64), components,
            _array(state, "unit_variances", (len(components),), np.float64),
            _array(state, "real_templates", (None, k, n_times), np.float32),
            _array(state, "cluster_stats", (None, len(STAT_NAMES)), np.float64),
            _array(state, "placement_weights", (n_channels,), np.float64),
            _array(state, "row_distances", (k, k), np.float64), refractory, guard, distinct,
            nbefore, fs, engine)
    return out


def _array(state, key, shape, dtype):
    """``state[key]`` as a finite numpy array of ``shape`` (None: any) and ``dtype``."""
    value = state[key]
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"entry {key!r} must be a tensor, got {type(value).__name__}.")
    array = value.numpy()
    if array.dtype != np.dtype(dtype):
        raise TypeError(f"entry {key!r} has dtype {array.dtype}, expected {np.dtype(dtype)}.")
    if array.ndim != len(shape) or any(s is not None and s != a
                                       for s, a in zip(shape, array.shape)):
        raise ValueError(f"entry {key!r} has shape {array.shape}, expected "
                         f"{tuple('any' if s is None else s for s in shape)}.")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"entry {key!r} holds NaN or infinite values.")
    return array
