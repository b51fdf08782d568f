"""A fitted generator's state: tensors and JSON strings, checked before anything is built."""

import json

import numpy as np
import torch

from .._docs import fill_doc
from .._io import save_state, state_json, state_tensors
from .._version import __version__
from .._checks import check_float, check_fname_for_writing, check_int
from .dp_fit import RELEASED_ATTRIBUTES
from .dualspace import DualClusters
from .guard import near_duplicate_groups
from .network import DualNetwork
from .params import check_params
from .scaling import ChannelScaler

FORMAT = "mne_dualdiv.DualDivergenceGenerator"
FORMAT_VERSION = 2

#: Reading rebuilds the walk's Gaussian, which forms ``n_train x n_train``, ``n_channels x
#: n_channels`` and ``n_times x n_times`` matrices: a file is refused when they would hold more
#: than this many times its training images' values, and more than ``MAX_DERIVED_FLOOR``
#: (2^22 values, 32 MB): only fits on lopsided images can be refused, such as fewer than 64
#: images of 1 channel x 4096 samples. A 20 kB file cannot ask for GBs this way.
MAX_DERIVED_RATIO = 64
MAX_DERIVED_FLOOR = 2 ** 22


#: Learned arrays saved as they are: key in the file -> the estimator's attribute.
ARRAY_ATTRIBUTES = dict(
    pixel_lower="pixel_lower_", pixel_upper="pixel_upper_",
    bridge_divergences="bridge_divergences_", endpoints="endpoints_",
    robust_endpoints="robust_endpoints_", dual_values_train="dual_values_train_",
    local_dual_values="local_dual_values_", local_endpoints="local_endpoints_",
    heldout_nearest_distances="heldout_nearest_distances_",
    heldout_distance_ratios="heldout_distance_ratios_", train_indices="train_indices_",
    heldout_indices="heldout_indices_")
#: Learned numbers saved as JSON: key in the file -> the estimator's attribute.
SCALAR_ATTRIBUTES = dict(
    divergence="divergence_", train_divergence="train_divergence_",
    near_copy_threshold="near_copy_threshold_", n_duplicates="n_duplicates_",
    divergence_certified="divergence_certified_", n_channels="n_channels_", n_times="n_times_")


def json_params(params):
    """A generator's parameters as JSON values, as files save them.

    Parameters
    ----------
    params : dict
        ``get_params()`` of a :class:`~mne_dualdiv.DualDivergenceGenerator`.

    Returns
    -------
    params : dict
        A copy in which a ``random_state`` other than an int or None (a Generator, which is
        not serialisable) is None and a ``device`` given as a :class:`torch.device` is its name.
    """
    params = dict(params)
    if not (params["random_state"] is None or isinstance(params["random_state"], int)):
        params["random_state"] = None
    params["device"] = str(params["device"])
    return params


def pack_state(params, learned, train_scaled):
    """The state dictionary of a fitted generator, which :func:`mne_dualdiv._io.save_state`
    writes.

    Parameters
    ----------
    params : dict
        The estimator's parameters, saved as :func:`json_params` gives them.
    learned : dict
        The estimator's learned attributes by name (those of :data:`ARRAY_ATTRIBUTES` and
        :data:`SCALAR_ATTRIBUTES`, ``scaler_``, ``clusters_``, ``history_`` and ``network_``;
        others are not saved).
    train_scaled : ndarray of float32, shape (n_train, n_channels, n_times)
        The scaled training images.

    Returns
    -------
    state : dict
        Tensors, numbers and JSON strings only.
    """
    params = json_params(params)
    arrays = {key: learned[name] for key, name in ARRAY_ATTRIBUTES.items()}
    arrays.update(center=learned["scaler_"].center_, scale=learned["scaler_"].scale_,
                  train_scaled=train_scaled, cut_points=learned["clusters_"].cut_points,
                  cluster_labels=learned["clusters_"].labels)
    scalars = {key: learned[name] for key, name in SCALAR_ATTRIBUTES.items()}
    # A private fit: what it spent, and the released statistics in place of training images.
    scalars["privacy"] = learned.get("privacy_")
    if scalars["privacy"] is not None:
        arrays.update({key: learned[name] for key, name in RELEASED_ATTRIBUTES.items()})
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "package_version": __version__,
        "params": json.dumps(params), "scalars": json.dumps(scalars),
        "history": json.dumps(learned["history_"]),
        "arrays": {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()},
        "network": {key: value.cpu() for key, value in learned["network_"].state_dict().items()},
    }


def checked_template(estimator_class, params):
    """An unfitted estimator of ``params``, refused (``ValueError``) when they are invalid."""
    try:
        template = estimator_class(**params)
    except TypeError as err:
        raise ValueError(f"invalid parameters: {err}") from None
    check_params(template.get_params())
    return template


def check_state(state, estimator_class):
    """Refuse a state whose parameters are invalid or whose sizes disagree, before any array is
    allocated from them (a crafted file must not make the reader allocate GBs).

    Parameters
    ----------
    state : dict
        A state read from a file.
    estimator_class : type
        :class:`~mne_dualdiv.engine.generator.DualDivergenceGenerator` (given by it, so that
        this module does not import it).

    Returns
    -------
    template : DualDivergenceGenerator
        An unfitted estimator with the state's parameters (:func:`checked_template`).

    Raises
    ------
    ValueError
        Naming what is wrong.
    """
    template = checked_template(estimator_class, state_json(state, "params", dict))
    scalars = state_json(state, "scalars", dict)
    state_json(state, "history", list)
    n_channels = check_int("n_channels", scalars.get("n_channels"), minimum=1)
    n_times = check_int("n_times", scalars.get("n_times"), minimum=1)
    threshold = check_float("near_copy_threshold", scalars.get("near_copy_threshold"), low=0)
    privacy = scalars.get("privacy")
    if template.guard and threshold == 0 and privacy is None:
        raise ValueError("near_copy_threshold is 0, which switches the near-copy guard off.")
    arrays, network = state_tensors(state, "arrays"), state_tensors(state, "network")
    if privacy is not None:
        check_privacy(privacy, arrays, n_channels, n_times)
    train = arrays["train_scaled"]
    if train.ndim != 3 or tuple(train.shape[1:]) != (n_channels, n_times):
        raise ValueError(f"arrays['train_scaled'] has shape {tuple(train.shape)}, not "
                         f"(n_train, {n_channels}, {n_times}).")
    derived = len(train) ** 2 + n_channels ** 2 + n_times ** 2
    if derived > max(MAX_DERIVED_RATIO * train.numel(), MAX_DERIVED_FLOOR):
        raise ValueError(
            f"its {len(train)} training images of {n_channels} x {n_times} values would make "
            f"the reader form {derived} values of n_train^2 + n_channels^2 + n_times^2 "
            f"matrices, over {MAX_DERIVED_RATIO} times what the file holds.")
    masks = network["masks"]
    n_heads = template.n_bridges if template.method == "path" else 1
    if tuple(masks.shape) != (n_heads + 1, n_channels, n_times):
        raise ValueError(f"network['masks'] has shape {tuple(masks.shape)}, not "
                         f"({n_heads + 1}, {n_channels}, {n_times}).")
    with torch.device("meta"):  # shapes only: nothing is allocated
        expected = DualNetwork(torch.empty(n_heads + 1, n_channels * n_times, dtype=bool),
                               n_channels, n_times, n_filters=template.n_filters,
                               temporal_kernel=template.temporal_kernel,
                               hidden=template.hidden).state_dict()
    wrong = [f"{key} {tuple(network[key].shape) if key in network else 'missing'} "
             f"instead of {tuple(value.shape)}" for key, value in expected.items()
             if key not in network or network[key].shape != value.shape]
    if wrong or set(network) - set(expected):
        raise ValueError(f"the network's weights do not match its parameters: "
                         f"{'; '.join(wrong) or sorted(set(network) - set(expected))}.")
    return template


def unpack_state(state, estimator_class):
    """Check a state (format, version, :func:`check_state`) and rebuild what it holds.

    Parameters
    ----------
    state : dict
        A state read from a file.
    estimator_class : type
        As in :func:`check_state`.

    Returns
    -------
    params : dict
        The estimator's parameters.
    learned : dict
        Its learned attributes by name, as :func:`pack_state` takes them (the network in eval
        mode).
    train_scaled : ndarray of float32, shape (n_train, n_channels, n_times)
        The scaled training images.
    """
    if state.get("format") != FORMAT:
        raise ValueError(f"Not a saved {FORMAT.rsplit('.', 1)[-1]}: format is "
                         f"{state.get('format')!r}.")
    if state["format_version"] > FORMAT_VERSION:
        raise ValueError(f"This file was written by a newer mne_dualdiv "
                         f"({state['package_version']}); upgrade to read it.")
    template = check_state(state, estimator_class)
    if state["format_version"] < FORMAT_VERSION:
        raise ValueError(f"This file was written by mne_dualdiv {state['package_version']} "
                         f"(format {state['format_version']}), whose walk this version "
                         f"replaced; fit the generator again.")
    params, scalars = json.loads(state["params"]), json.loads(state["scalars"])
    arrays = {k: v.numpy() for k, v in state["arrays"].items()}
    learned = {name: arrays[key] for key, name in ARRAY_ATTRIBUTES.items()}
    learned.update({name: scalars[key] for key, name in SCALAR_ATTRIBUTES.items()})
    scaler = ChannelScaler()
    scaler.center_, scaler.scale_ = arrays["center"], arrays["scale"]
    masks = state["network"]["masks"]
    network = DualNetwork(masks.view(masks.shape[0], -1), scalars["n_channels"],
                          scalars["n_times"], n_filters=template.n_filters,
                          temporal_kernel=template.temporal_kernel, hidden=template.hidden)
    network.load_state_dict(state["network"])
    learned.update(scaler_=scaler, clusters_=DualClusters(arrays["cut_points"],
                                                          arrays["cluster_labels"]),
                   history_=json.loads(state["history"]), network_=network.eval(),
                   privacy_=scalars.get("privacy"))
    # A deterministic function of the training images, so not saved (none in a private fit).
    learned["near_duplicate_groups_"] = near_duplicate_groups(arrays["train_scaled"])[0]
    if learned["privacy_"] is not None:
        learned.update({name: arrays[key] for key, name in RELEASED_ATTRIBUTES.items()})
    return params, learned, arrays["train_scaled"]


def check_privacy(privacy, arrays, n_channels, n_times):
    """Refuse a private fit's state whose budget or released statistics are malformed."""
    if not isinstance(privacy, dict):
        raise ValueError(f"scalars['privacy'] must be a dict, got {type(privacy).__name__}.")
    check_float("privacy['epsilon']", privacy.get("epsilon"), low=0)
    check_float("privacy['delta']", privacy.get("delta"), low=0, high=1)
    shapes = dict(released_mean=(n_channels, n_times),
                  released_spatial=(n_channels, n_channels), released_correlation=(n_times,))
    for key, shape in shapes.items():
        if key not in arrays or tuple(arrays[key].shape) != shape:
            found = tuple(arrays[key].shape) if key in arrays else "missing"
            raise ValueError(f"arrays[{key!r}] is {found}, not of shape {shape}.")


class SavedStateMixin:
    """The state round-trip of :class:`~mne_dualdiv.DualDivergenceGenerator`: ``get_state``,
    ``from_state``, ``check_state`` and ``save`` (:func:`~mne_dualdiv.read_generator` reads)."""

    def get_state(self):
        """The fitted estimator as a dict of tensors and JSON strings (what :meth:`save` writes)."""
        self._check_fitted("save")
        learned = {name: value for name, value in vars(self).items() if name.endswith("_")}
        return pack_state(self.get_params(), learned, self._train_scaled)

    @classmethod
    def from_state(cls, state):
        """The fitted estimator a state describes (adapters keep states in their own files).

        Parameters
        ----------
        state : dict
            From :meth:`get_state`; checked as :meth:`check_state` does before anything is built.
        """
        params, learned, train_scaled = unpack_state(state, cls)
        self = cls(**params)
        self._train_scaled = train_scaled
        for name, value in learned.items():
            setattr(self, name, value)
        self.walk_shrinkage_ = self._data_gaussian().shrinkage
        return self

    @classmethod
    def check_state(cls, state):
        """Refuse an invalid state before anything is built from it (``InvalidFileError``).

        Parameters
        ----------
        state : dict
            As :meth:`get_state` returns it.
        """
        check_state(state, cls)

    @fill_doc
    def save(self, fname, overwrite=False):
        """Write the fitted generator to a file that reading never executes.

        Read it back with :func:`mne_dualdiv.read_generator`.

        %(save_notes)s

        %(save_parameters)s
        """
        save_state(self.get_state(), check_fname_for_writing(fname, overwrite),
                   overwrite=overwrite)
