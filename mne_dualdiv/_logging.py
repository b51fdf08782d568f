"""The package logger and MNE-style ``verbose`` handling (no MNE import)."""

import contextlib
import contextvars
import logging
import sys

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
    token = _VERBOSE.set(verbose if verbose is not None else _VERBOSE.get())
    if level is None:
        try:
            yield
        finally:
            _VERBOSE.reset(token)
        return
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)
        _VERBOSE.reset(token)


#: The ``verbose`` of the innermost :func:`use_verbose` call (None outside of any).
_VERBOSE = contextvars.ContextVar("mne_dualdiv_verbose", default=None)


def progress(total, desc):
    """A tqdm progress bar of ``total`` units, or a silent stand-in.

    Shown by default when standard error is a terminal, so that scripts and tests stay quiet;
    ``verbose=False`` (or a level above ``'info'``) on the estimator turns it off and
    ``verbose=True`` turns it on anywhere.

    Parameters
    ----------
    total : int
        Number of units (steps, samples).
    desc : str
        Label of the bar.

    Returns
    -------
    bar : tqdm.tqdm | contextlib.nullcontext
        Use as a context manager; call ``bar.update(n)`` where it has ``update``.
    """
    verbose = _VERBOSE.get()
    level = _level(verbose)
    if verbose is None:
        show = sys.stderr is not None and sys.stderr.isatty()
    else:
        show = level is not None and level <= logging.INFO
    if not show:
        return _Silent()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr)


class _Silent:
    """Stand-in for a hidden progress bar."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n=1):
        """Do nothing."""
