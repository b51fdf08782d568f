"""Hostile files and concurrent writers: recording-synthesizer files checked entry by entry,
exclusive writes without overwrite, outputs with the permissions of a normal write.

Issue 18, points 4 and 5. Every refusal asserts the error's type and that its message names the
entry and the file (or the path written).
"""

import json
import os
import stat
import threading

import numpy as np
import pytest
import torch

from mne_dualdiv import DualDivergenceGenerator, InvalidFileError
from mne_dualdiv import _io

pytest.importorskip("spikeinterface.core")  # the 'ephys' extra

from mne_dualdiv.adapters.recording import (RecordingSynthesizer,  # noqa: E402
                                            SyntheticRecording, _state,
                                            read_recording_synthesizer)
from mne_dualdiv.datasets import simulate_recording  # noqa: E402



pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.fixture(scope="module")
def synthesizer_file(tmp_path_factory):
    """A recording synthesizer with units and a probe, fitted on 4 s of 8 channels, saved."""
    recording, _ = simulate_recording(num_channels=8, num_units=3, duration=4.0, seed=2)
    recording.set_property("quality", np.array(["good", "mua"] * 4))
    fitted = RecordingSynthesizer(fit_duration=4.0, noise_duration=1.0, max_snippets=200,
                                  random_state=0).fit(recording)
    assert fitted.units_ is not None and recording.has_probe()
    fname = tmp_path_factory.mktemp("synthesizer") / "private.pt"
    fitted.save(fname)
    return fname


@pytest.fixture()
def state(synthesizer_file):
    """The verified state of the saved synthesizer (a fresh copy for each test to change)."""
    return _io.load_state(synthesizer_file, _state.FORMAT, _state.FORMAT_VERSION)


def crafted(state, tmp_path, name="crafted.pt"):
    """``state`` written as a valid file (digest and all): only its content is hostile."""
    return _io.save_state(state, tmp_path / name, overwrite=True)


def change_json(state, key, change):
    value = json.loads(state[key])
    change(value)
    state[key] = json.dumps(value)


def assert_refused(fname, *names):
    with pytest.raises(InvalidFileError) as info:
        read_recording_synthesizer(fname)
    message = str(info.value)
    assert str(fname) in message
    for name in names:
        assert name in message, message
    return message


# ==================================================================== 4. recording files
def test_the_saved_file_reads_back_and_samples(synthesizer_file):
    synthesizer = read_recording_synthesizer(synthesizer_file)
    assert synthesizer.sample(0.2, random_state=0).get_traces().shape == (6000, 8)


@pytest.mark.parametrize("value", [-30000.0, 0.0, float("nan"), float("inf"), "30000", True])
def test_invalid_sampling_frequency_is_refused(state, tmp_path, value):
    change_json(state, "metadata", lambda m: m.update(sampling_frequency=value))
    assert_refused(crafted(state, tmp_path), "sampling_frequency")


@pytest.mark.parametrize("field, value", [("nbefore", -45), ("nbefore", 4.5), ("nafter", 0),
                                          ("nafter", "75"), ("n_real_units", -1),
                                          ("n_real_units", 2.0), ("peak_rate", -1.0),
                                          ("threshold", float("nan"))])
def test_negative_or_non_integer_sizes_are_refused(state, tmp_path, field, value):
    change_json(state, "fitted", lambda f: f.update({field: value}))
    assert_refused(crafted(state, tmp_path), field)


def test_a_unit_model_with_zero_real_units_is_refused(state, tmp_path):
    change_json(state, "fitted", lambda f: f.update(n_real_units=0))
    assert_refused(crafted(state, tmp_path), "n_real_units")


@pytest.mark.parametrize("dtype", ["complex64", "|O", "<U10", "|S4", "<f4" * 10, "|b1"])
def test_trace_dtypes_other_than_real_numbers_are_refused(state, tmp_path, dtype):
    change_json(state, "metadata", lambda m: m.update(dtype=dtype))
    assert_refused(crafted(state, tmp_path), "dtype")


@pytest.mark.parametrize("key, change", [
    ("neighbours", lambda a: a.__setitem__((0, 1), 8)),
    ("neighbours", lambda a: a.__setitem__((0, 1), -2)),
    ("snippet_positions", lambda a: a.__setitem__((0, 2), 99)),
    ("snippet_positions", lambda a: a.__setitem__((0, 1), -5)),
    ("snippet_positions", lambda a: a.__setitem__((0, 0), -1)),
])
def test_indices_out_of_range_are_refused(state, tmp_path, key, change):
    array = state[key].numpy().copy()
    change(array)
    state[key] = torch.from_numpy(array)
    assert_refused(crafted(state, tmp_path), key, "out of range")


@pytest.mark.parametrize("key, replacement", [
    ("noise_psd", lambda a: a[:, :-1]),
    ("noise_psd", lambda a: a[:1]),
    ("noise_psd", lambda a: -a),
    ("noise_psd", lambda a: a.astype(np.float32)),
    ("noise_correlations", lambda a: 3 * a),
    ("noise_correlations", lambda a: a[:, :, :-1]),
    ("noise_offsets", lambda a: np.full_like(a, np.nan)),
    ("unit_components", lambda a: a.astype(np.float32)),
    ("unit_components", lambda a: a[:, :-1]),
    ("unit_variances", lambda a: a[:-1]),
    ("unit_variances", lambda a: -a),
    ("cluster_stats", lambda a: a[:-1]),
    ("cluster_stats", lambda a: -np.abs(a)),
    ("placement_weights", lambda a: -a),
    ("placement_weights", lambda a: 2 * a),
    ("real_templates", lambda a: a[:, :, :-1]),
    ("row_distances", lambda a: a[:-1]),
])
def test_arrays_of_wrong_shape_dtype_or_values_are_refused(state, tmp_path, key, replacement):
    state[key] = torch.from_numpy(np.ascontiguousarray(replacement(state[key].numpy())))
    assert_refused(crafted(state, tmp_path), key)


@pytest.mark.parametrize("index, name", [(0, "refractory"), (1, "guard"), (2, "distinct")])
def test_unit_scalars_out_of_range_are_refused(state, tmp_path, index, name):
    scalars = state["unit_scalars"].numpy().copy()
    scalars[index] = -5.0
    state["unit_scalars"] = torch.from_numpy(scalars)
    assert_refused(crafted(state, tmp_path), name)


@pytest.mark.parametrize("change", [
    lambda p: p.update(probes="not a list of probes"),
    lambda p: p["probes"][0].update(contact_positions=[[0.0, 0.0]]),
    lambda p: p["probes"][0].update(device_channel_indices=[0] * 8),
    lambda p: p["probes"][0].update(device_channel_indices=list(range(10, 18))),
])
def test_a_broken_probe_group_is_refused_when_read_not_when_sampled(state, tmp_path, change):
    change_json(state, "metadata", lambda m: change(m["probegroup"]))
    assert_refused(crafted(state, tmp_path), "probegroup")


def test_channel_properties_of_the_wrong_length_are_refused(state, tmp_path):
    def shorten(metadata):
        metadata["properties"]["quality"]["values"] = ["good"] * 3
    change_json(state, "metadata", shorten)
    assert_refused(crafted(state, tmp_path), "quality", "one value per channel")


def test_duplicated_channel_ids_are_refused(state, tmp_path):
    change_json(state, "metadata", lambda m: m["channel_ids"].update(values=["a"] * 8))
    assert_refused(crafted(state, tmp_path), "channel_ids", "distinct")


@pytest.mark.parametrize("key", ["properties", "annotations", "channel_ids", "dtype"])
def test_metadata_fields_of_the_wrong_type_are_refused(state, tmp_path, key):
    change_json(state, "metadata", lambda m: m.update({key: 12}))
    assert_refused(crafted(state, tmp_path), key)


def test_invalid_engine_template_is_refused(state, tmp_path):
    state["template"] = json.dumps(dict(n_bridges=-3))
    assert_refused(crafted(state, tmp_path), "template", "n_bridges")


def test_unknown_engine_template_parameter_is_refused(state, tmp_path):
    state["template"] = json.dumps(dict(run_this="rm -rf /"))
    assert_refused(crafted(state, tmp_path), "template", "run_this")


def test_a_missing_entry_is_named(state, tmp_path):
    del state["noise_correlations"]
    assert_refused(crafted(state, tmp_path), "noise_correlations")


def test_the_lazy_recording_reads_through_the_same_check(state, tmp_path):
    change_json(state, "metadata", lambda m: m.update(sampling_frequency=-1.0))
    fname = crafted(state, tmp_path)
    with pytest.raises(InvalidFileError, match="sampling_frequency") as info:
        SyntheticRecording(fname, [1.0], seed=0, n_units=1)
    assert str(fname) in str(info.value)


# ==================================================================== 5. races and permissions
def write_from_threads(fname, n_writers, overwrite):
    """``n_writers`` threads write ``atomic_path(fname)`` at once: (successes, errors)."""
    barrier, results = threading.Barrier(n_writers), {}

    def write(index):
        try:
            with _io.atomic_path(fname, overwrite=overwrite) as temporary:
                temporary.write_text(f"writer {index}")
                barrier.wait(timeout=10)  # every writer is done writing: all move at once
            results[index] = None
        except Exception as err:  # noqa: BLE001 - collected for the assertions
            results[index] = err

    threads = [threading.Thread(target=write, args=(i,)) for i in range(n_writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ([i for i, err in results.items() if err is None],
            [err for err in results.values() if err is not None])


@pytest.mark.parametrize("n_writers", [2, 8])
def test_of_concurrent_writers_without_overwrite_exactly_one_succeeds(tmp_path, n_writers):
    fname = tmp_path / "model.pt"
    succeeded, errors = write_from_threads(fname, n_writers, overwrite=False)
    assert len(succeeded) == 1
    assert len(errors) == n_writers - 1
    for err in errors:
        assert isinstance(err, FileExistsError)
        assert str(fname) in str(err)
    assert fname.read_text() == f"writer {succeeded[0]}"
    assert [path.name for path in tmp_path.iterdir()] == ["model.pt"]  # no temporary left


def test_a_file_created_while_writing_is_never_replaced_without_overwrite(tmp_path):
    fname = tmp_path / "model.pt"
    with pytest.raises(FileExistsError, match="model.pt"):
        with _io.atomic_path(fname, overwrite=False) as temporary:
            temporary.write_text("new")
            fname.write_text("someone else's")
    assert fname.read_text() == "someone else's"


def test_concurrent_saves_of_a_generator_one_wins(tmp_path, monkeypatch, tiny_params):
    generator = DualDivergenceGenerator(**tiny_params, random_state=0).fit(
        np.random.default_rng(0).standard_normal((30, 2, 8)))
    fname, barrier, errors = tmp_path / "generator.pt", threading.Barrier(2), []
    fsync = os.fsync

    def fsync_together(descriptor):  # both writers pass every check before either finishes
        fsync(descriptor)
        barrier.wait(timeout=10)

    monkeypatch.setattr(os, "fsync", fsync_together)

    def save():
        try:
            generator.save(fname)
        except FileExistsError as err:
            errors.append(err)

    threads = [threading.Thread(target=save) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 1 and str(fname) in str(errors[0])


@pytest.fixture()
def umask():
    """Set the process umask for a test, restored afterwards."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield lambda value: os.umask(value)
    os.umask(previous)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_output_gets_the_mode_of_a_normal_write(tmp_path, umask, mask, expected):
    umask(mask)
    fname = tmp_path / "out.bin"
    with _io.atomic_path(fname, overwrite=False) as temporary:
        temporary.write_bytes(b"data")
    assert mode(fname) == expected


def test_a_saved_model_gets_the_mode_of_a_normal_write(tmp_path, umask, synthesizer_file):
    umask(0o022)
    read_recording_synthesizer(synthesizer_file).save(tmp_path / "model.pt")
    assert mode(tmp_path / "model.pt") == 0o644


def test_overwriting_keeps_the_mode_of_the_file_replaced(tmp_path, umask):
    umask(0o022)
    fname = tmp_path / "out.bin"
    fname.write_bytes(b"old")
    os.chmod(fname, 0o640)
    with _io.atomic_path(fname, overwrite=True) as temporary:
        temporary.write_bytes(b"new")
    assert fname.read_bytes() == b"new" and mode(fname) == 0o640
