"""The score record shared by all metrics and the input handling they have in common."""

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import is_classifier

from .._checks import check_array_3d, check_float, check_option
from ..engine.scaling import ChannelScaler

#: Directions a metric can prefer.
DIRECTIONS = ("lower", "higher", "closer")
#: Categories of the metrics.
CATEGORIES = ("fidelity", "information", "utility", "privacy")
#: Relative floor of eigenvalues and spectra before a logarithm: keeps rank-deficient inputs finite.
RELATIVE_LOG_FLOOR = 1e-10
# Samples processed at once by the spectra, covariances and features: the temporary arrays of
# Welch's segments and of the channel correlations stay a fixed size for any number of samples.
_BATCH_SIZE = 256


@dataclass(frozen=True)
class MetricScore:
    """One metric for a synthetic set next to the same metric for real data.

    Parameters
    ----------
    name : str
        The metric's name, e.g. ``'psd_distance'`` (see ``docs/metrics.md``).
    category : 'fidelity' | 'information' | 'utility' | 'privacy'
        Which family of scores it belongs to.
    synthetic : float
        The metric for the synthetic set: a comparison of the synthetic set with the real
        held-out set (``better`` is ``'lower'`` or ``'higher'``), or a property of the synthetic
        set itself (``better='closer'``).
    reference : float
        The same metric for real data: the real training set compared with the real held-out
        set, or, for a property of one set, its value on the real held-out set. The level that a
        perfect generator reaches.
    better : 'lower' | 'higher' | 'closer'
        Direction in which ``synthetic`` improves; ``'closer'`` means closer to ``reference``.
    unit : str
        Unit of ``synthetic`` and ``reference`` (``''`` when dimensionless).
    real_spread : float
        Only for ``better='closer'``: the absolute difference between the property on a subsample
        of the real training set (of the same size) and on the real held-out set, i.e. how far
        apart two real sets are. NaN when not computed.
    details : dict
        Extra values (per-channel distances, sizes used, ...) documented by each metric.
    """

    name: str
    category: str
    synthetic: float
    reference: float
    better: str
    unit: str = ""
    real_spread: float = math.nan
    details: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty str, got {self.name!r}.")
        check_option("better", self.better, DIRECTIONS)
        check_option("category", self.category, CATEGORIES)
        for name in ("synthetic", "reference", "real_spread"):
            value = getattr(self, name)  # NaN and Inf are values a metric may give
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name} must be a real number (NaN and Inf allowed), got "
                                f"{type(value).__name__} instead.")
        if not isinstance(self.unit, str):
            raise TypeError(f"unit must be a str, got {type(self.unit).__name__} instead.")
        if not isinstance(self.details, dict):
            raise TypeError(f"details must be a dict, got {type(self.details).__name__} instead.")

    @property
    def gap(self):
        """``synthetic - reference``."""
        return float(self.synthetic - self.reference)

    @property
    def as_good_as_reference(self):
        """Whether the synthetic set scores at least as well as real data.

        ``synthetic <= reference`` for ``'lower'``, ``synthetic >= reference`` for ``'higher'``
        and ``|synthetic - reference| <= real_spread`` for ``'closer'``; ``None`` when a value is
        NaN.
        """
        values = (self.synthetic, self.reference)
        if self.better == "closer":
            values += (self.real_spread,)
        if any(math.isnan(v) for v in values):
            return None
        if self.better == "lower":
            return bool(self.synthetic <= self.reference)
        if self.better == "higher":
            return bool(self.synthetic >= self.reference)
        return bool(abs(self.gap) <= self.real_spread)


def check_classifier(classifier, name="classifier"):
    """``classifier`` if it is None or a scikit-learn classifier (a Pipeline ending in one)."""
    try:
        ok = classifier is None or is_classifier(classifier)
    except (AttributeError, TypeError):  # scikit-learn >= 1.6 on objects without its tags
        ok = False
    if not ok:
        raise TypeError(f"{name} must be None or a scikit-learn classifier (or a Pipeline "
                        f"ending in one), got {type(classifier).__name__}.")
    return classifier


def batches(n_samples):
    """Slices of at most ``_BATCH_SIZE`` consecutive samples covering ``range(n_samples)``."""
    batch_size = _BATCH_SIZE
    return [slice(start, min(start + batch_size, n_samples))
            for start in range(0, n_samples, batch_size)]


def as_data(X, name, min_samples=2):
    """Return ``(array, sfreq, ch_names)`` from an array or an MNE ``Epochs``-like object.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_channels, n_times) | mne.Epochs
        The data; an object with ``get_data`` and ``info`` is read through them.
    name : str
        The argument name used in error messages.
    min_samples : int
        Fewest samples accepted.

    Returns
    -------
    data : ndarray of float64, shape (n_samples, n_channels, n_times)
        A copy of the data.
    sfreq : float | None
        ``info['sfreq']`` for Epochs, else None.
    ch_names : list of str | None
        ``info['ch_names']`` for Epochs, else None.
    """
    sfreq = ch_names = None
    if hasattr(X, "get_data") and hasattr(X, "info"):
        sfreq, ch_names = float(X.info["sfreq"]), list(X.info["ch_names"])
        X = X.get_data()
    X = check_array_3d(X, name)
    if len(X) < min_samples:
        raise ValueError(f"{name} must have at least {min_samples} samples, got {len(X)}.")
    return X, sfreq, ch_names


def check_same_shape(reference_name, reference, **others):
    """Raise a ValueError naming the argument whose (n_channels, n_times) differ."""
    for name, X in others.items():
        if X is not None and X.shape[1:] != reference.shape[1:]:
            raise ValueError(
                f"{name} has images of shape {X.shape[1:]} but {reference_name} has "
                f"{reference.shape[1:]}; all sets must have the same channels and times."
            )


def check_sfreq(sfreq):
    """Return ``sfreq`` as a positive float, or None."""
    if sfreq is None:
        return None
    return check_float("sfreq", sfreq, low=0, low_inclusive=False)


def subsample(X, n, rng):
    """``n`` rows of ``X`` drawn without replacement (all rows, in order, when ``n >= len(X)``)."""
    if n >= len(X):
        return X
    return X[np.sort(rng.choice(len(X), size=n, replace=False))]


def matched_sizes(a, b, rng):
    """Subsample ``a`` and ``b`` to the same number of rows, ``min(len(a), len(b))``."""
    n = min(len(a), len(b))
    return subsample(a, n, rng), subsample(b, n, rng)


def scaled_flattener(train):
    """A function scaling sets per channel with the training set's robust statistics, flattened.

    Uses the engine's :class:`~mne_dualdiv.engine.scaling.ChannelScaler` (median and
    IQR / 1.349 per channel, fitted on ``train``), so that distances do not depend on the units
    and no channel dominates by its amplitude alone.

    Returns
    -------
    flatten : callable
        Maps an array (n, n_channels, n_times) to its scaled rows, shape (n, n_channels * n_times).
    """
    scaler = ChannelScaler().fit(train)
    return lambda X: scaler.transform(X).reshape(len(X), -1)


def scaled_flat(train, *others):
    """``train`` and ``others`` scaled with :func:`scaled_flattener` of ``train``, as a list."""
    flatten = scaled_flattener(train)
    return [flatten(X) for X in (train, *others)]


def seed_from(rng):
    """An int seed drawn from ``rng``, for scikit-learn objects."""
    return int(rng.integers(2**31 - 1))


def prepare_sets(train, heldout, synthetic, sfreq=None, min_samples=2):
    """Validate the three sets of a metric and read ``sfreq`` from Epochs when not given.

    Parameters
    ----------
    train, heldout, synthetic : array-like, shape (n, n_channels, n_times) | mne.Epochs
        Real training, real held-out and synthetic samples; ``train`` may be None for metrics
        that do not use it.
    sfreq : float | None
        Sampling frequency in Hz; when None, taken from the first Epochs given (or left None).
    min_samples : int
        Fewest samples accepted in each set.

    Returns
    -------
    train, heldout, synthetic : ndarray of float64
        Copies of the data (``train`` None when it was None).
    sfreq : float | None
    """
    sfreq = check_sfreq(sfreq)
    arrays, found = {}, []
    for name, X in (("train", train), ("heldout", heldout), ("synthetic", synthetic)):
        if X is None and name == "train":
            arrays[name] = None
            continue
        arrays[name], set_sfreq, _ = as_data(X, name, min_samples)
        if set_sfreq is not None:
            found.append((name, set_sfreq))
    if sfreq is None and found:
        sfreq = found[0][1]
    for name, set_sfreq in found:
        if not math.isclose(set_sfreq, sfreq):
            raise ValueError(f"{name} has sfreq={set_sfreq} Hz but sfreq={sfreq} Hz was expected.")
    check_same_shape("heldout", arrays["heldout"], train=arrays["train"],
                     synthetic=arrays["synthetic"])
    return arrays["train"], arrays["heldout"], arrays["synthetic"], sfreq
