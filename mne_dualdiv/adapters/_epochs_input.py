"""What the epochs adapter accepts: Epochs checked and loaded, their conditions and channels.

:func:`check_epochs` returns one loaded copy of the input (a list of Epochs must share one
``info``); the other checks refuse counts that ask for nothing and metadata columns this package
would misread, naming the argument.
"""

import numpy as np

from ._epochs_output import CONDITION_COLUMN, SYNTHETIC_COLUMN, nullable

#: Channel types that carry triggers or system states, not signals: zero in synthetic epochs.
NOT_SYNTHESIZED = ("stim", "syst", "chpi", "exci", "ias")


def check_epochs(epochs, name="epochs"):
    """Return one loaded copy of ``epochs`` (an Epochs or a list of Epochs of one info)."""
    import mne

    if isinstance(epochs, (list, tuple)):
        if len(epochs) == 0:
            raise ValueError(f"{name} is an empty list.")
        for index, item in enumerate(epochs):
            if not isinstance(item, mne.BaseEpochs):
                raise TypeError(f"{name}[{index}] must be an instance of mne.Epochs, got "
                                f"{type(item).__name__} instead.")
        for index, item in enumerate(epochs[1:], start=1):
            _check_same_info(epochs[0], item, f"{name}[0]", f"{name}[{index}]")
        loaded = (epochs[0].copy().load_data() if len(epochs) == 1 else
                  mne.concatenate_epochs([item.copy() for item in epochs], verbose=False))
    elif not isinstance(epochs, mne.BaseEpochs):
        raise TypeError(f"{name} must be an instance of mne.Epochs (or a list of them), got "
                        f"{type(epochs).__name__} instead.")
    else:  # a copy: loading non-preloaded epochs may drop epochs of the object itself
        loaded = epochs.copy().load_data()
    if len(loaded) == 0:
        raise ValueError(f"{name} contains no epochs (all were dropped?): nothing to learn.")
    return loaded


def _check_same_info(reference, other, reference_name, other_name):
    """Refuse two Epochs whose channels, timing or processing differ, naming the fields."""
    differences = []

    def compare(field, a, b):
        if a != b:
            differences.append(f"{field} ({a!r} vs {b!r})")

    compare("ch_names", reference.ch_names, other.ch_names)
    compare("channel types", reference.get_channel_types(), other.get_channel_types())
    compare("sfreq", reference.info["sfreq"], other.info["sfreq"])
    compare("number of times", len(reference.times), len(other.times))
    if len(reference.times) == len(other.times) and not np.allclose(reference.times,
                                                                    other.times):
        differences.append(f"tmin ({reference.tmin!r} vs {other.tmin!r})")
    compare("baseline", reference.baseline, other.baseline)
    compare("bads", reference.info["bads"], other.info["bads"])
    compare("highpass", reference.info["highpass"], other.info["highpass"])
    compare("lowpass", reference.info["lowpass"], other.info["lowpass"])
    compare("projs", [p["desc"] for p in reference.info["projs"]],
            [p["desc"] for p in other.info["projs"]])
    if differences:
        raise ValueError(
            f"All epochs given in one call must share one info, but {other_name} differs from "
            f"{reference_name} in: {'; '.join(differences)}. Make them consistent first "
            "(pick_channels, resample, crop, apply_baseline, ...) or fit them separately."
        )


def event_names(epochs):
    """Condition (event_id name) of every epoch."""
    code_to_name = {code: name for name, code in epochs.event_id.items()}
    return np.array([code_to_name[code] for code in epochs.events[:, 2]], dtype=object)


def check_not_empty(n_per_condition, name):
    """Refuse counts that ask for no synthetic epoch at all."""
    if sum(n_per_condition.values()) == 0:
        raise ValueError(
            f"{name} asks for no synthetic epochs ({n_per_condition}); ask for at least one "
            "(an EpochsArray cannot be empty)."
        )


def _check_synthetic_column(metadata):
    """Accept an existing ``synthetic`` column only as booleans without missing values.

    Such a column comes from an earlier :func:`augment` and is kept as is; any other (strings
    such as ``'no'``, numbers, missing values) would silently mark real epochs as synthetic.
    """
    import pandas as pd

    if metadata is None or SYNTHETIC_COLUMN not in metadata.columns:
        return
    column = metadata[SYNTHETIC_COLUMN]
    if not pd.api.types.is_bool_dtype(column.dtype) or column.isna().any():
        raise ValueError(
            f"epochs.metadata has a column {SYNTHETIC_COLUMN!r} of dtype {column.dtype} that is "
            "not a boolean without missing values; this package marks synthetic epochs in that "
            "column: rename or drop it first."
        )


def synthesized_picks(info):
    """Indices of the channels the engine models (all but trigger/system channels)."""
    types = np.array(info.get_channel_types())
    return np.flatnonzero(~np.isin(types, NOT_SYNTHESIZED))


def _condition_columns(metadata, names):
    """Columns of ``metadata`` whose value is the event name in every row."""
    if metadata is None or len(metadata) == 0:
        return []
    return [column for column in metadata.columns
            if column != SYNTHETIC_COLUMN
            and np.array_equal(metadata[column].astype(object).to_numpy(), names)]


def metadata_layout(metadata, names):
    """What synthetic epochs' metadata needs from the real epochs' ``metadata``, checked.

    Parameters
    ----------
    metadata : None | pandas.DataFrame
        The real epochs' metadata.
    names : ndarray of str
        The condition (event name) of every real epoch.

    Returns
    -------
    condition_columns : list of str
        The columns that hold the event name in every row.
    added_condition : bool
        Whether synthetic epochs get a :data:`CONDITION_COLUMN` (no column holds the event name).
    metadata_dtypes : list of (str, str)
        Column names and dtypes, int and bool columns as pandas nullable types.
    """
    condition_columns = _condition_columns(metadata, names)
    if (not condition_columns and metadata is not None
            and CONDITION_COLUMN in metadata.columns):
        raise ValueError(
            f"epochs.metadata has a column {CONDITION_COLUMN!r} that is not the event name "
            "of each epoch; rename it, so that the synthetic epochs can carry their "
            "condition there."
        )
    _check_synthetic_column(metadata)
    template = (None if metadata is None else nullable(metadata.iloc[:0]))
    metadata_dtypes = ([] if template is None else
                       [(str(c), str(t)) for c, t in template.dtypes.items()])
    return condition_columns, not condition_columns, metadata_dtypes
