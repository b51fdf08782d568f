"""What the epochs adapter returns: metadata, events and projectors of synthetic EpochsArrays.

Synthetic epochs carry their condition in the metadata columns that hold the event name (or
:data:`CONDITION_COLUMN`) and ``True`` in :data:`SYNTHETIC_COLUMN`; their events follow the last
real one, one epoch length apart; the projectors active on the real data are applied to them.
"""

import numpy as np

#: Column added to the metadata when none holds the event name.
CONDITION_COLUMN = "condition"
SYNTHETIC_COLUMN = "synthetic"


def nullable(metadata):
    """Metadata with int and bool columns as pandas nullable types, so rows can be missing."""
    import pandas as pd

    metadata = metadata.copy()
    for column in metadata.columns:
        dtype = metadata[column].dtype
        if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.BooleanDtype):
            metadata[column] = metadata[column].astype("boolean")
        elif pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_extension_array_dtype(
                dtype):
            metadata[column] = metadata[column].astype("Int64")
    return metadata


def metadata_with_markers(metadata, names, added_condition):
    """The real epochs' metadata with the condition and ``synthetic`` columns filled in."""
    import pandas as pd

    metadata = (pd.DataFrame(index=range(len(names))) if metadata is None
                else nullable(metadata).reset_index(drop=True))
    if added_condition:
        metadata[CONDITION_COLUMN] = list(names)
    if SYNTHETIC_COLUMN not in metadata.columns:
        metadata[SYNTHETIC_COLUMN] = False
    else:
        metadata[SYNTHETIC_COLUMN] = metadata[SYNTHETIC_COLUMN].astype(bool)
    return metadata


def synthetic_metadata(names, metadata_dtypes, condition_columns, added_condition):
    """Metadata of synthetic epochs: condition and ``synthetic`` known, the rest missing.

    Parameters
    ----------
    names : list of str
        The condition of each synthetic epoch.
    metadata_dtypes : list of (str, str)
        Column names and dtypes of the real metadata (pandas nullable types, :func:`nullable`).
    condition_columns : list of str
        The real metadata's columns that hold the event name.
    added_condition : bool
        Whether :data:`CONDITION_COLUMN` is added (no real column holds the event name).
    """
    import pandas as pd

    index = pd.RangeIndex(len(names))
    # Each column keeps its dtype, so the missing values are of its own kind (NaN, <NA>).
    metadata = pd.DataFrame({column: pd.Series(index=index, dtype=dtype)
                             for column, dtype in metadata_dtypes}, index=index)
    for column in condition_columns:
        metadata[column] = pd.Series(names, index=index, dtype=object).astype(
            metadata[column].dtype)
    if added_condition:
        metadata[CONDITION_COLUMN] = pd.Series(names, index=index, dtype=object)
    metadata[SYNTHETIC_COLUMN] = True
    return metadata


def apply_active_projs(data, info, tmin):
    """Apply (in place) to ``data`` the projectors of ``info`` that were active on the real data."""
    import mne

    info = info.copy()
    active = [p["active"] for p in info["projs"]]
    if not any(active) or len(data) == 0:
        return
    for proj in info["projs"]:
        proj["active"] = False
    epochs = mne.EpochsArray(data, info, tmin=tmin, proj=False, verbose=False)
    # Projectors the real data did not have applied stay unapplied.
    epochs.del_proj([index for index, was_active in enumerate(active) if not was_active])
    data[:] = epochs.apply_proj(verbose=False).get_data()


def to_epochs_array(data, names, metadata, layout, after_sample, selection=None, drop_log=None,
                    real_events=None):
    """Wrap data (real then synthetic) in an EpochsArray like the input.

    Parameters
    ----------
    data : ndarray, shape (n_epochs, n_channels, n_times)
        The real epochs' data (``len(real_events)`` of them, first), then the synthetic ones';
        copied, the synthetic part projected (:func:`apply_active_projs`).
    names : list of str
        The condition of every epoch.
    metadata : pandas.DataFrame
    layout : dict
        The input's ``info``, ``event_id``, ``tmin``, ``n_times`` and ``baseline``.
    after_sample : int
        The synthetic events follow this sample, one epoch length apart.
    selection, drop_log, real_events : None | array-like
        Of the real epochs, when ``data`` starts with them.
    """
    import mne

    n_real = 0 if real_events is None else len(real_events)
    n_synthetic = len(data) - n_real
    data = data.copy()
    synthetic = data[n_real:]
    # Epochs one epoch length apart after the last real event keep every sample unique.
    events = np.column_stack([
        after_sample + layout["n_times"] * np.arange(1, n_synthetic + 1, dtype=np.int64),
        np.zeros(n_synthetic, dtype=np.int64),
        np.array([layout["event_id"][name] for name in names[n_real:]], dtype=np.int64),
    ]).reshape(n_synthetic, 3)
    if real_events is not None:
        events = np.concatenate([real_events, events])
    apply_active_projs(synthetic, layout["info"], layout["tmin"])
    return mne.EpochsArray(
        data, layout["info"].copy(), events=events, tmin=layout["tmin"],
        event_id=layout["event_id"], metadata=metadata, baseline=layout["baseline"], proj=False,
        selection=selection, drop_log=drop_log, on_missing="ignore", verbose=False)
