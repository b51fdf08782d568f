"""The package logger and MNE-style ``verbose`` handling (no MNE import)."""

import contextlib
import logging

logger = logging.getLogger("mne_dualdiv")
if not logger.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(_handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR, "critical": logging.CRITICAL}


def _level(verbose):
    if verbose is None:
        return None
    if isinstance(verbose, bool):
        return logging.INFO if verbose else logging.WARNING
    if isinstance(verbose, str) and verbose.lower() in _LEVELS:
        return _LEVELS[verbose.lower()]
    if isinstance(verbose, int):
        return verbose
    raise ValueError(
        "verbose must be None, a bool, an int or one of "
        f"{sorted(_LEVELS)}, got {verbose!r} instead."
    )


@contextlib.contextmanager
def use_verbose(verbose):
    """Set the package logger's level for the duration of a call.

    Parameters
    ----------
    verbose : None | bool | str | int
        ``None`` keeps the current level, ``True`` means ``'info'``, ``False`` ``'warning'``.
    """
    level = _level(verbose)
    if level is None:
        yield
        return
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)
