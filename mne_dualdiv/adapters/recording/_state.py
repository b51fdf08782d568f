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
from ...engine.params import check_params
from ...engine.state import json_params
from ._metadata import decode_array
from .noise import NoiseModel
from .satellites import SATELLITE_COLUMNS
from .units import STAT_NAMES, UnitModel

FORMAT = "mne_dualdiv.RecordingSynthesizer"
#: 3: recording v2 (noise model + unit model); 2 (crossfaded engine windows) is not read.
FORMAT_VERSION = 3


def get_state(synthesizer):
    """The state of a fitted :class:`~.synthesizer.RecordingSynthesizer`."""
    params = {k: v for k, v in synthesizer.get_params(deep=False).items() if k != "generator"}
    if not isinstance(params["random_state"], int):
        params["random_state"] = None  # a Generator object is not serialisable
    template = (None if synthesizer.generator is None
                else json_params(synthesizer.generator.get_params()))
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
            "satellites": tensor(units.satellites),
        })
        if units.engine is not None:
            state["generator"] = units.engine.get_state()
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
    """The fitted attributes of ``state``, once :func:`check_state` has accepted it."""
    check_state(state)
    template = json.loads(state["template"])
    fitted, metadata = json.loads(state["fitted"]), json.loads(state["metadata"])
    out = dict(params=json.loads(state["params"]), template=template, metadata_=metadata)
    out["channel_ids_"] = decode_array(metadata["channel_ids"], "channel_ids")
    fs = out["sampling_frequency_"] = float(metadata["sampling_frequency"])
    out["dtype_"] = np.dtype(metadata["dtype"])
    out["nbefore_"], out["nafter_"] = nbefore, _ = fitted["nbefore"], fitted["nafter"]
    out["n_real_units_"] = fitted["n_real_units"]
    out["peak_rate_"], out["threshold_"] = float(fitted["peak_rate"]), float(fitted["threshold"])
    arrays = {key: value.numpy() for key, value in state.items()
              if isinstance(value, torch.Tensor)}
    out["neighbours_"] = arrays["neighbours"]
    out["snippet_positions_"] = arrays["snippet_positions"]
    out["noise_"] = NoiseModel(arrays["noise_psd"], arrays["noise_correlations"],
                               arrays["noise_offsets"], fs)
    out["units_"] = None
    if "unit_mean" in state:
        engine = (DualDivergenceGenerator.from_state(state["generator"])
                  if "generator" in state else None)
        refractory, guard, distinct = arrays["unit_scalars"]
        out["units_"] = UnitModel(
            arrays["unit_mean"], arrays["unit_components"], arrays["unit_variances"],
            arrays["real_templates"], arrays["cluster_stats"], arrays["placement_weights"],
            arrays["row_distances"], refractory, guard, distinct, nbefore, fs, engine,
            arrays.get("satellites"))  # files before 2026-12-07 (fifth session): none
    return out


def check_state(state):
    """Refuse a synthesizer state whose entries are invalid or disagree, naming the entry.

    The one check of a file's content (as ``DualDivergenceGenerator.check_state`` is the
    engine's), run before anything is built from it: JSON entries of the right types; a
    positive, finite sampling frequency; a real dtype; positive integer sizes; tensors of the
    expected dtype, of shapes that agree with one another and with the number of channels,
    finite; indices (neighbourhoods, snippet positions) within range; non-negative spectra,
    variances and weights; correlations within [-1, 1]; a probe group whose contacts map one to
    one onto the channels; channel properties of one value per channel.

    Raises
    ------
    ValueError, TypeError, KeyError
        Naming the entry; :func:`read` turns them into an ``InvalidFileError`` naming the file.
    """
    params = state_json(state, "params", dict)
    if not all(isinstance(key, str) for key in params):
        raise TypeError("entry 'params' must map parameter names to values.")
    template = json.loads(state["template"]) if isinstance(state.get("template"), str) else None
    if "template" in state and not isinstance(state["template"], str):
        raise TypeError("entry 'template' must be a JSON string.")
    if template is not None:
        if not isinstance(template, dict):
            raise TypeError("entry 'template' must hold a dict or null.")
        try:
            check_params(DualDivergenceGenerator(**template).get_params())
        except TypeError as err:
            raise TypeError(f"entry 'template': {err}") from None
    fitted = state_json(state, "fitted", dict)
    metadata = state_json(state, "metadata", dict)
    n_channels = _check_metadata(metadata)
    nbefore = check_int("fitted['nbefore']", fitted.get("nbefore"), minimum=1)
    nafter = check_int("fitted['nafter']", fitted.get("nafter"), minimum=1)
    n_real_units = check_int("fitted['n_real_units']", fitted.get("n_real_units"), minimum=0)
    check_float("fitted['peak_rate']", fitted.get("peak_rate"), low=0)
    check_float("fitted['threshold']", fitted.get("threshold"), low=0)
    neighbours = _array(state, "neighbours", (n_channels, None), np.int64)
    _check_indices("neighbours", neighbours, -1, n_channels)
    positions = _array(state, "snippet_positions", (None, 3), np.int64)
    for column, name in enumerate(("segment index", "frame")):
        _check_indices(f"snippet_positions ({name})", positions[:, column], 0, None)
    _check_indices("snippet_positions (channel)", positions[:, 2], 0, n_channels)
    psd = _array(state, "noise_psd", (None, n_channels), np.float64)
    if len(psd) < 2 or psd.min() < 0:
        raise ValueError(f"entry 'noise_psd' must hold at least 2 non-negative frequencies per "
                         f"channel, got {len(psd)} rows (minimum {psd.min():.3g}).")
    correlations = _array(state, "noise_correlations", (None, n_channels, n_channels),
                          np.float64)
    if np.abs(correlations).max(initial=0) > 1 + 1e-6:
        raise ValueError("entry 'noise_correlations' holds values outside [-1, 1].")
    _array(state, "noise_offsets", (n_channels,), np.float64)
    if "unit_mean" not in state:
        return
    if n_real_units == 0:
        raise ValueError("fitted['n_real_units'] is 0, but the file holds a unit model.")
    k, n_times = neighbours.shape[1], nbefore + nafter
    components = _array(state, "unit_components", (None, k * n_times), np.float64)
    _array(state, "unit_mean", (k * n_times,), np.float64)
    for key, shape, dtype in (
            ("unit_variances", (len(components),), np.float64),
            ("real_templates", (None, k, n_times), np.float32),
            ("cluster_stats", (n_real_units, len(STAT_NAMES)), np.float64),
            ("placement_weights", (n_channels,), np.float64),
            ("row_distances", (k, k), np.float64)):
        array = _array(state, key, shape, dtype)
        if key != "real_templates" and array.size and array.min() < 0:
            raise ValueError(f"entry {key!r} holds negative values.")
    if not np.isclose(state["placement_weights"].numpy().sum(), 1):
        raise ValueError("entry 'placement_weights' does not sum to 1.")
    if "satellites" in state:
        satellites = _array(state, "satellites", (n_real_units, len(SATELLITE_COLUMNS)),
                            np.float64)
        if satellites[:, 0].min() < 0:
            raise ValueError("entry 'satellites' holds a negative amplitude.")
    refractory, guard, distinct = _array(state, "unit_scalars", (3,), np.float64)
    check_float("refractory period (unit_scalars[0])", refractory, low=0)
    check_float("guard (unit_scalars[1])", guard, low=-1, high=1)
    check_float("distinctness (unit_scalars[2])", distinct, low=-1, high=1)
    if "generator" in state:
        if not isinstance(state["generator"], dict):
            raise TypeError("entry 'generator' must be a saved generator's state (a dict).")
        DualDivergenceGenerator.check_state(state["generator"])


def _check_metadata(metadata):
    """The number of channels of ``metadata``, once every field of it is checked."""
    for key, kind in (("channel_ids", dict), ("dtype", str), ("properties", dict),
                      ("annotations", dict), ("probegroup", (dict, type(None)))):
        if not isinstance(metadata.get(key), kind):
            raise TypeError(f"metadata[{key!r}] is missing or of the wrong type "
                            f"({type(metadata.get(key)).__name__}).")
    channel_ids = decode_array(metadata["channel_ids"], "metadata['channel_ids']")
    if channel_ids.ndim != 1 or len(channel_ids) == 0 or len(set(channel_ids.tolist())) != len(
            channel_ids):
        raise ValueError(f"metadata['channel_ids'] must be a non-empty list of distinct ids, got "
                         f"{len(channel_ids)} value(s) of shape {channel_ids.shape}.")
    n_channels = len(channel_ids)
    check_float("metadata['sampling_frequency']", metadata.get("sampling_frequency"), low=0,
                low_inclusive=False)
    if len(metadata["dtype"]) > 8:
        raise ValueError(f"metadata['dtype'] {metadata['dtype'][:20]!r} is not a numpy dtype.")
    dtype = np.dtype(metadata["dtype"])
    if dtype.kind not in "iuf":
        raise ValueError(f"metadata['dtype'] {dtype} is not a real integer or float type.")
    for key, encoded in metadata["properties"].items():
        values = decode_array(encoded, f"metadata property {key!r}")
        if values.ndim == 0 or len(values) != n_channels:
            raise ValueError(f"metadata property {key!r} has shape {values.shape}, not one value "
                             f"per channel ({n_channels}).")
    if metadata["probegroup"] is not None:
        _check_probegroup(metadata["probegroup"], n_channels)
    return n_channels


def _check_probegroup(encoded, n_channels):
    """Refuse a probe group that probeinterface cannot build or whose contacts are not the
    channels (each channel exactly one contact, by its device channel index)."""
    from probeinterface import ProbeGroup

    try:
        probegroup = ProbeGroup.from_dict(encoded)
        indices = np.asarray(
            probegroup.get_global_device_channel_indices()["device_channel_indices"])
    except Exception as err:  # noqa: BLE001 - whatever probeinterface raises on bad input
        raise ValueError(f"metadata['probegroup'] is not a valid probe group "
                         f"({type(err).__name__}: {err}).") from None
    if indices.dtype.kind not in "iu" or sorted(indices.tolist()) != list(range(n_channels)):
        raise ValueError(f"metadata['probegroup'] does not map its {len(indices)} contacts one to "
                         f"one onto the {n_channels} channels (device channel indices "
                         f"{indices.tolist()[:8]}...).")


def _check_indices(name, indices, low, high):
    """Refuse ``indices`` outside ``[low, high)`` (``high`` None: no upper bound)."""
    if indices.size and (indices.min() < low or (high is not None and indices.max() >= high)):
        bound = "" if high is None else f" and below {high}"
        raise ValueError(f"entry {name!r} holds indices out of range (from {indices.min()} to "
                         f"{indices.max()}; they must be at least {low}{bound}).")


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
