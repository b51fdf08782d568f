"""Argument checks that name the argument and what was expected (MNE's habits, no MNE import)."""

import numbers
import os
import shutil
from pathlib import Path

import numpy as np

from ._ranks import writes_files

_NOTHING = object()


def check_random_state(random_state):
    """Turn ``None``, an int or a :class:`numpy.random.Generator` into a Generator.

    Parameters
    ----------
    random_state : None | int | numpy.random.Generator
        The seed or generator.

    Returns
    -------
    rng : numpy.random.Generator
        A generator; a Generator passed in is returned as is (and advanced by its users).

    Notes
    -----
    A negative int is refused with a ValueError (numpy cannot seed from it); a bool, a float
    and a legacy ``numpy.random.RandomState`` are refused with a TypeError.
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, (numbers.Integral, np.integer)) and not isinstance(
            random_state, (bool, np.bool_)):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int, got {random_state}.")
        return np.random.default_rng(int(random_state))
    if isinstance(random_state, np.random.Generator):
        return random_state
    raise TypeError(
        "random_state must be None, an int or a numpy.random.Generator, got "
        f"{type(random_state).__name__} instead."
    )


def check_option(name, value, allowed):
    """Raise a ValueError naming ``name`` when ``value`` is not one of ``allowed``."""
    if value not in allowed:
        allowed_str = ", ".join(repr(a) for a in allowed[:-1])
        allowed_str = f"{allowed_str} and {allowed[-1]!r}" if len(allowed) > 1 else repr(allowed[0])
        raise ValueError(
            f"Invalid value for the '{name}' parameter. Allowed values are {allowed_str}, "
            f"but got {value!r} instead."
        )
    return value


def check_fitted(estimator, attribute, what, fit_call="fit(X)"):
    """Raise a RuntimeError unless ``estimator`` has the learned ``attribute`` (scikit-learn's
    ``check_is_fitted``); the message names the class, ``fit_call`` and ``what`` needs it."""
    if not hasattr(estimator, attribute):
        raise RuntimeError(
            f"This {type(estimator).__name__} is not fitted yet: call {fit_call} before {what}."
        )


def check_bool(name, value):
    """Check that ``value`` is a bool (numpy bools included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} instead.")
    return bool(value)


def check_int(name, value, minimum=None):
    """Check that ``value`` is an integer (not a bool), at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} instead.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return value


def check_n_jobs(n_jobs, name="n_jobs"):
    """Number of worker processes: ``None`` is 1, a negative ``n`` is ``cpu_count + 1 + n``.

    As in MNE and scikit-learn (``-1``: every CPU core).
    """
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be None or an int, got {type(n_jobs).__name__} instead.")
    n_cpus = os.cpu_count() or 1
    value = int(n_jobs) if n_jobs > 0 else n_cpus + 1 + int(n_jobs)
    if n_jobs == 0 or value < 1:
        raise ValueError(f"{name} must be a positive int, or a negative one down to "
                         f"-{n_cpus} (-1: all {n_cpus} CPU cores), got {n_jobs}.")
    return value


def check_device(device, name="device", available=True):
    """The :class:`torch.device` that ``device`` names, checked by name.

    Parameters
    ----------
    device : str | torch.device
        ``'auto'`` (CUDA when available, else the CPU), ``'cpu'``, ``'cuda'``, ``'cuda:<index>'``
        or a :class:`torch.device` of type ``cpu`` or ``cuda``.
    name : str
        The argument name used in error messages.
    available : bool
        Also check that the device exists on this machine; False checks the spelling only (a
        file saved on a GPU machine is read on any machine, and the device is checked when it is
        used).

    Returns
    -------
    device : torch.device
        ``cpu``, ``cuda`` (the current CUDA device) or ``cuda:<index>``.

    Raises
    ------
    TypeError
        When ``device`` is not a str or a torch.device.
    ValueError
        When it names no device of these kinds, or a CUDA index this machine does not have.
    RuntimeError
        When it names a CUDA device and CUDA is not available.
    """
    import torch

    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if available and torch.cuda.is_available() else "cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{name} must be a str ('auto', 'cpu', 'cuda', 'cuda:<index>') or a "
                        f"torch.device, got {type(device).__name__} instead.")
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        parsed = None
    if parsed is None or parsed.type not in ("cpu", "cuda") or (
            parsed.type == "cpu" and parsed.index not in (None, 0)):
        raise ValueError(f"Invalid value for the '{name}' parameter. Allowed values are 'auto', "
                         f"'cpu', 'cuda', 'cuda:<index>' and a torch.device of type 'cpu' or "
                         f"'cuda', but got {device!r} instead.")
    if parsed.type == "cpu":
        return torch.device("cpu")
    if available and not torch.cuda.is_available():
        raise RuntimeError(f"{name}={str(device)!r} asks for a CUDA GPU, but CUDA is not "
                           f"available on this machine (torch {torch.__version__}); use "
                           f"{name}='cpu' or {name}='auto'.")
    if available and parsed.index is not None and parsed.index >= torch.cuda.device_count():
        raise ValueError(f"{name}={str(device)!r} asks for CUDA device {parsed.index}, but this "
                         f"machine has {torch.cuda.device_count()} (indices from 0).")
    return parsed


def check_float(name, value, low=None, high=None, low_inclusive=True, high_inclusive=True):
    """Check that ``value`` is a real number inside the given bounds."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} instead.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}.")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        bound = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {bound} {low}, got {value}.")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        bound = "<=" if high_inclusive else "<"
        raise ValueError(f"{name} must be {bound} {high}, got {value}.")
    return value


def as_real_array(X, name="X"):
    """``X`` as a float64 copy, refusing complex, string, bytes and object values by name.

    numpy would cast complex values to real (dropping the imaginary part, with a warning only)
    and parse strings such as ``"1.5"``: both are refused with a TypeError naming ``name``.
    An object array is accepted when it holds real numbers only. Finiteness and shape are the
    caller's checks.
    """
    try:
        X = np.asarray(X)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of real numbers: {err}") from None
    if X.dtype.kind == "O":
        # A sentinel, not None: None is an odd value itself (numpy would turn it into NaN).
        odd = next((value for value in X.flat if isinstance(value, (str, bytes, np.str_))
                    or not isinstance(value, (numbers.Real, np.bool_))), _NOTHING)
        if odd is not _NOTHING:
            raise TypeError(f"{name} must be an array of real numbers, but it holds a "
                            f"{type(odd).__name__} value ({str(odd)[:40]!r}).")
    elif X.dtype.kind not in "biuf":
        what = {"c": "complex numbers (numpy would drop their imaginary part)",
                "U": "strings", "S": "bytes"}.get(X.dtype.kind, "non-numeric values")
        raise TypeError(f"{name} must be an array of real numbers, got {what} (dtype "
                        f"{X.dtype}).")
    try:
        return np.array(X, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of real numbers: {err}") from None


def check_array_3d(X, name="X", n_channels=None, n_times=None):
    """Validate a ``(n_samples, n_channels, n_times)`` array of finite reals.

    The input is never modified: the returned array is a float64 copy.

    Parameters
    ----------
    X : array-like
        The data.
    name : str
        The argument name used in error messages.
    n_channels, n_times : int | None
        When given, the expected sizes of the last two axes (those seen in ``fit``).

    Returns
    -------
    X : ndarray of float64, shape (n_samples, n_channels, n_times)
        A copy of the input.
    """
    X = as_real_array(X, name)
    if X.ndim != 3:
        raise ValueError(
            f"{name} must have 3 dimensions (n_samples, n_channels, n_times), "
            f"got {X.ndim} dimension(s) with shape {X.shape}."
        )
    if X.shape[0] == 0 or X.shape[1] == 0 or X.shape[2] == 0:
        raise ValueError(f"{name} must not be empty, got shape {X.shape}.")
    bad = ~np.isfinite(X)
    if bad.any():
        kinds = []
        if np.isnan(X).any():
            kinds.append("NaN")
        if np.isinf(X).any():
            kinds.append("Inf")
        raise ValueError(
            f"{name} contains {' and '.join(kinds)} values ({int(bad.sum())} of {X.size}); "
            "remove or interpolate them first."
        )
    if n_channels is not None and X.shape[1:] != (n_channels, n_times):
        raise ValueError(
            f"{name} must have shape (n_samples, {n_channels}, {n_times}) as the data seen in fit, "
            f"got {X.shape}."
        )
    return X


def check_array_2d(X, name="X"):
    """Validate a non-empty ``(n_samples, n_features)`` array of finite reals (a float64 copy)."""
    X = as_real_array(X, name)
    if X.ndim != 2:
        raise ValueError(f"{name} must have 2 dimensions (n_samples, n_features), got "
                         f"{X.ndim} dimension(s) with shape {X.shape}.")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} must not be empty, got shape {X.shape}.")
    bad = ~np.isfinite(X)
    if bad.any():
        raise ValueError(f"{name} contains NaN or Inf values ({int(bad.sum())} of {X.size}).")
    return X


def check_labels(name, y, n_samples):
    """Validate one label per sample: a 1-D array of length ``n_samples`` without missing values.

    NaN (float labels) and None (object labels) are refused: they would make classes of their
    own, or none at all, without an error.
    """
    if y is None:
        raise ValueError(f"{name} is required: one label per sample ({n_samples}).")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_samples:
        raise ValueError(f"{name} must be a 1-D array with one label per sample ({n_samples}), "
                         f"got shape {y.shape}.")
    if y.dtype.kind in "fc" and not np.isfinite(y).all():
        raise ValueError(f"{name} contains NaN or Inf labels.")
    if y.dtype.kind == "O" and any(label is None or (isinstance(label, float) and label != label)
                                   for label in y.tolist()):
        raise ValueError(f"{name} contains missing labels (None or NaN).")
    return y


def check_path(name, fname):
    """``fname`` as a Path, or a TypeError naming ``name`` when it is not a str or a Path."""
    if not isinstance(fname, (str, Path)):
        raise TypeError(f"{name} must be a str or a path-like, got {type(fname).__name__} instead.")
    return Path(fname)


def check_fname_for_writing(fname, overwrite, name="fname"):
    """Return ``fname`` as a Path in an existing, writable folder; refuse to overwrite unless asked.

    Call it before the work whose result is written, so that a bad path fails at once. In a
    run of several processes, an existing file is refused on rank 0 only, which alone writes.
    """
    fname = check_path(name, fname)
    check_bool("overwrite", overwrite)
    if fname.is_dir():
        raise IsADirectoryError(f"{name} must be a file name, but {fname} is a folder.")
    # A rank other than 0 writes nothing (_ranks.writes_files), so rank 0's file is no clash.
    if fname.exists() and not overwrite and writes_files():
        raise FileExistsError(f"Destination file exists: {fname}. Pass overwrite=True to replace "
                              "it.")
    if not fname.parent.is_dir():
        raise FileNotFoundError(f"The folder of {name} does not exist: {fname.parent}.")
    if not os.access(fname.parent, os.W_OK | os.X_OK):
        raise PermissionError(f"The folder of {name} is not writable: {fname.parent}.")
    return fname


def check_fname_for_reading(fname, name="fname"):
    """Return ``fname`` as a Path that exists."""
    fname = check_path(name, fname)
    if not fname.is_file():
        raise FileNotFoundError(f"No such file for {name}: {fname}.")
    return fname


def check_free_space(folder, n_bytes, name="fname"):
    """Refuse to write ``n_bytes`` into ``folder`` when its file system has less free space.

    Called before the work whose output is written, so that a request for more than the disk
    holds fails at once instead of filling the disk.
    """
    free = shutil.disk_usage(folder).free
    if n_bytes > free:
        raise OSError(f"{name}: writing it would take about {_size(n_bytes)}, but {folder} has "
                      f"{_size(free)} free; ask for less.")
    return n_bytes


def _size(n_bytes):
    if n_bytes >= 1024 ** 3:
        return f"{n_bytes / 1024 ** 3:.3g} GiB"
    return f"{n_bytes / 1024 ** 2:.3g} MiB"


def physical_memory():
    """Bytes of memory of this machine (``inf`` where the OS does not say)."""
    if not hasattr(os, "sysconf"):
        return float("inf")
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_output_memory(name, value, n_bytes, what,
                        advice="ask for fewer (several calls give as many in all)"):
    """``value`` of argument ``name``, or a ValueError when ``n_bytes`` exceed the memory.

    The message reads "``name``=``value`` would ``what`` of about ... GiB, more than this
    machine's ... GiB: ``advice``." Refused before any work: a request whose output alone
    cannot fit would otherwise fail after minutes with a bare ``MemoryError`` (or torch's
    allocator error).
    """
    memory = physical_memory()
    if n_bytes > memory:
        raise ValueError(f"{name}={value} would {what} of about {n_bytes / 1024 ** 3:.3g} GiB, "
                         f"more than this machine's {memory / 1024 ** 3:.3g} GiB: {advice}.")
    return value
