"""Watching a function of the package while a benchmark runs it (the probes' one spy)."""

import contextlib


@contextlib.contextmanager
def watching(owner, name):
    """Record every call of ``owner.<name>`` made inside the block, as it still runs.

    Yields the list of calls, each ``(args, kwargs, result)`` (for a method, ``args`` starts
    with the instance); ``owner.<name>`` is restored on leaving.
    """
    calls, original = [], getattr(owner, name)

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        calls.append((args, kwargs, out))
        return out

    setattr(owner, name, spy)
    try:
        yield calls
    finally:
        setattr(owner, name, original)
