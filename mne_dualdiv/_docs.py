"""Parameter descriptions shared by several modules' docstrings, written once (MNE's ``docdict``)."""

#: Descriptions by name, unindented; :func:`fill_doc` indents them to the placeholder's line.
docdict = {
    # Whole Parameters sections of the read/write pairs and of ``fit(X, y=None)``.
    "save_parameters": """Parameters
----------
fname : str | path-like
    Destination, conventionally ending in ``.pt``.
overwrite : bool
    Replace an existing file.""",
    "read_parameters": """Parameters
----------
fname : str | path-like
    The file.""",
    "show": """show : bool
    Call ``plt.show()``.""",
    "fit_parameters": """Parameters
----------
X : array-like, shape (n_samples, n_channels, n_times)
    Real samples in any units (they are robustly scaled per channel). Not modified.
y : None
    Ignored; present for scikit-learn compatibility.""",
}


def fill_doc(obj):
    """Replace every docstring line that is only ``%(name)s`` by ``docdict[name]``.

    Each entry is indented as its placeholder's line, so one entry serves a function's
    docstring and a method's alike; other ``%`` signs of the docstring are left as they are.

    Parameters
    ----------
    obj : function | class
        What to document; its ``__doc__`` is replaced.

    Returns
    -------
    obj : function | class
        ``obj`` itself, so that ``fill_doc`` can decorate.
    """
    lines = []
    for line in obj.__doc__.split("\n"):
        name = line.strip()
        if name.startswith("%(") and name.endswith(")s"):
            indent = line[:len(line) - len(line.lstrip())]
            lines += [indent + entry if entry else entry
                      for entry in docdict[name[2:-2]].split("\n")]
        else:
            lines.append(line)
    obj.__doc__ = "\n".join(lines)
    return obj
