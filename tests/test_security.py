"""Hostile inputs: no recording folder runs code, no output deletes data, no small file takes GBs.

Issue 18, points 1 to 3. Every test asserts the error's type and that its message names the
argument, the file or the folder.
"""

import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc

import numpy as np
import pytest
import torch

import mne_dualdiv
from mne_dualdiv import DualDivergenceGenerator, InvalidFileError, read_generator
from mne_dualdiv import _io
from cli_runner import main_exit
from mne_dualdiv.engine.network import DualNetwork

sc = pytest.importorskip("spikeinterface.core")  # the 'ephys' extra

from mne_dualdiv.adapters import si_folders  # noqa: E402 - needs spikeinterface
from mne_dualdiv.adapters.si_folders import (  # noqa: E402
    read_recording_folder, write_recording_folder)

#: Peak memory a refused crafted file may cost the reader.
SMALL_MEMORY = 100 * 1024 ** 2


def listing(folder):
    """Every path under ``folder`` with the bytes of each file, to compare before and after."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() if path.is_file() else None
            for path in sorted(folder.rglob("*"))}


def make_recording(num_channels=4, durations=(1.0, 0.5), seed=0):
    """A small lazy recording with a probe, gains, offsets and a string property."""
    recording = sc.generate_recording(num_channels=num_channels, durations=list(durations),
                                      sampling_frequency=1000.0, seed=seed)
    recording.set_channel_gains(np.linspace(0.5, 2.0, num_channels))
    recording.set_channel_offsets(np.full(num_channels, 3.0))
    recording.set_property("quality", np.array(["good", "noisy"] * (num_channels // 2)))
    return recording


# ==================================================================== 1. recording folders
class CreatesMarker:
    """Unpickling this object calls ``open(marker, "w")``: the file appears if code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def assert_no_marker(marker):
    time.sleep(0.2)  # a Popen would run in the background
    assert not marker.exists(), "code from the folder ran"


@pytest.fixture(scope="module")
def saved_folder(tmp_path_factory):
    """A folder written by SpikeInterface's own ``recording.save(folder=...)``."""
    folder = tmp_path_factory.mktemp("si") / "recording"
    make_recording().save(folder=folder, verbose=False, progress_bar=False)
    return folder


@pytest.fixture
def folder_copy(saved_folder, tmp_path):
    return shutil.copytree(saved_folder, tmp_path / "copy")


def write_json(path, content):
    path.write_text(json.dumps(content))


def command_class(kind, marker):
    """An extractor dict whose 'class' runs a command creating ``marker`` when loaded."""
    command = f"touch '{marker}'"
    kwargs = {"subprocess.run": dict(args=command, shell=True),
              "subprocess.Popen": dict(args=command, shell=True),
              "os.system": dict(command=command)}[kind]
    return {"class": kind, "module": kind.split(".")[0], "version": "1.0", "kwargs": kwargs,
            "annotations": {}, "properties": {}, "relative_paths": True}


def test_folder_with_a_pickle_is_refused_and_never_unpickled(tmp_path):
    folder, marker = tmp_path / "evil", tmp_path / "marker"
    folder.mkdir()
    (folder / "cached.pkl").write_bytes(pickle.dumps(CreatesMarker(marker)))
    with pytest.raises(InvalidFileError, match="pickle") as info:
        read_recording_folder(folder)
    assert str(folder) in str(info.value) and "RecordingSynthesizer.fit" in str(info.value)
    assert_no_marker(marker)


@pytest.mark.parametrize("kind", ["subprocess.run", "subprocess.Popen", "os.system"])
def test_si_folder_json_naming_a_command_is_refused_and_never_called(tmp_path, kind):
    folder, marker = tmp_path / "evil", tmp_path / "marker"
    folder.mkdir()
    write_json(folder / "si_folder.json", command_class(kind, marker))
    write_json(folder / "binary.json", command_class(kind, marker))
    with pytest.raises(InvalidFileError, match="allow-list") as info:
        read_recording_folder(folder, name="recording")
    assert f"recording: {folder}" in str(info.value) and kind in str(info.value)
    assert_no_marker(marker)


def test_a_command_nested_in_the_kwargs_of_an_allowed_class_is_refused(folder_copy, tmp_path):
    marker = tmp_path / "marker"
    content = json.loads((folder_copy / "si_folder.json").read_text())
    content["kwargs"]["folder_path"] = command_class("os.system", marker)
    write_json(folder_copy / "si_folder.json", content)
    with pytest.raises(InvalidFileError, match="'os.system'") as info:
        read_recording_folder(folder_copy)
    assert str(folder_copy) in str(info.value)
    assert_no_marker(marker)


def test_a_pickled_property_file_is_never_unpickled(folder_copy, tmp_path):
    marker = tmp_path / "marker"
    objects = np.empty(4, dtype=object)
    objects[:] = [CreatesMarker(marker)] * 4
    np.save(folder_copy / "properties" / "evil.npy", objects, allow_pickle=True)
    with pytest.raises(InvalidFileError, match="evil.npy") as info:
        read_recording_folder(folder_copy)
    assert str(folder_copy) in str(info.value) and "pickled objects" in str(info.value)
    assert_no_marker(marker)


@pytest.mark.parametrize("kind", ["pickle", "os.system"])
def test_cli_fit_refuses_a_folder_that_would_run_code(capsys, tmp_path, kind):
    folder, marker = tmp_path / "evil", tmp_path / "marker"
    folder.mkdir()
    if kind == "pickle":
        (folder / "cached.pkl").write_bytes(pickle.dumps(CreatesMarker(marker)))
    else:
        write_json(folder / "si_folder.json", command_class(kind, marker))
    status, _, err = main_exit(capsys, "fit", folder, tmp_path / "model.pt")
    assert status == 2, err
    assert "argument IN" in err and str(folder) in err and "recording folder" in err
    assert_no_marker(marker)
    assert not (tmp_path / "model.pt").exists()


def test_binary_folder_reads_as_spikeinterface_reads_it(saved_folder):
    recording, expected = read_recording_folder(saved_folder), sc.load(saved_folder)
    assert list(recording.channel_ids) == list(expected.channel_ids)
    assert recording.sampling_frequency == expected.sampling_frequency == 1000.0
    assert recording.get_dtype() == expected.get_dtype()
    np.testing.assert_array_equal(recording.get_channel_gains(), expected.get_channel_gains())
    np.testing.assert_array_equal(recording.get_channel_gains(), np.linspace(0.5, 2.0, 4))
    np.testing.assert_array_equal(recording.get_channel_offsets(),
                                  expected.get_channel_offsets())
    assert (recording.get_probegroup().to_dict(array_as_list=True)
            == expected.get_probegroup().to_dict(array_as_list=True))
    assert sorted(recording.get_property_keys()) == sorted(expected.get_property_keys())
    for key in expected.get_property_keys():
        np.testing.assert_array_equal(recording.get_property(key), expected.get_property(key))
    assert recording.get_num_segments() == 2
    for segment in range(2):
        np.testing.assert_array_equal(recording.get_traces(segment_index=segment),
                                      expected.get_traces(segment_index=segment))


def test_zarr_folder_is_refused_with_the_way_to_read_it(tmp_path):
    folder = tmp_path / "recording.zarr"
    make_recording().save(folder=folder, format="zarr", verbose=False, progress_bar=False)
    with pytest.raises(InvalidFileError, match="zarr") as info:
        read_recording_folder(folder)
    message = str(info.value)
    assert str(folder) in message
    assert "spikeinterface.load" in message and "RecordingSynthesizer.fit" in message


@pytest.mark.parametrize("path", ["../outside.raw", "/etc/hostname", "link.raw"])
def test_trace_files_outside_the_folder_are_never_read(folder_copy, path):
    (folder_copy.parent / "outside.raw").write_bytes(bytes(64))
    (folder_copy / "link.raw").symlink_to(folder_copy.parent / "outside.raw")
    content = json.loads((folder_copy / "binary.json").read_text())
    content["kwargs"]["file_paths"] = [path, "traces_cached_seg1.raw"]
    write_json(folder_copy / "binary.json", content)
    with pytest.raises(InvalidFileError, match="trace file") as info:
        read_recording_folder(folder_copy)
    assert str(folder_copy) in str(info.value) and path in str(info.value)


def test_npy_header_claiming_more_than_the_file_holds_is_refused(folder_copy):
    path = folder_copy / "properties" / "quality.npy"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, dict(descr="<f8", fortran_order=False, shape=(4, 10 ** 9)))
    path.write_bytes(header.getvalue() + bytes(32))
    with pytest.raises(InvalidFileError, match="quality.npy declares") as info:
        read_recording_folder(folder_copy)
    assert str(folder_copy) in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_pipe_named_like_a_json_file_is_refused_without_blocking(folder_copy):
    (folder_copy / "annotations.json").unlink()
    os.mkfifo(folder_copy / "annotations.json")  # reading it would wait for a writer forever
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(
        pytest.raises(InvalidFileError, read_recording_folder, folder_copy)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert outcome, "the reader blocked on a named pipe"
    message = str(outcome[0].value)
    assert str(folder_copy) in message and "annotations.json is not a regular file" in message


def test_missing_channel_ids_for_a_billion_channels_are_refused(folder_copy):
    content = json.loads((folder_copy / "binary.json").read_text())
    content["kwargs"].update(num_channels=10 ** 9, channel_ids=None)
    write_json(folder_copy / "binary.json", content)
    with pytest.raises(InvalidFileError, match="ids of its 1000000000 channels") as info:
        read_recording_folder(folder_copy)
    assert str(folder_copy) in str(info.value)


def test_a_few_kb_of_strings_that_numpy_would_make_gigabytes_are_refused(folder_copy):
    content = json.loads((folder_copy / "si_folder.json").read_text())
    content["properties"]["notes"] = ["a"] * 20000 + ["b" * 4000]
    write_json(folder_copy / "si_folder.json", content)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidFileError, match="si_folder.json holds 20001 strings") as info:
            read_recording_folder(folder_copy)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(folder_copy) in str(info.value)
    assert peak < SMALL_MEMORY  # as one numpy array: 20001 x 16 kB = 320 MB


# ==================================================================== 2. writing folders
def test_overwrite_refuses_a_folder_it_did_not_write(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "notes.txt").write_text("years of work")
    before = listing(tmp_path)
    with pytest.raises(FileExistsError, match="not written by mne_dualdiv") as info:
        write_recording_folder(make_recording(), folder, overwrite=True, progress_bar=False)
    assert f"folder: {folder}" in str(info.value)
    assert listing(tmp_path) == before


def test_without_overwrite_even_its_own_folder_is_kept(tmp_path):
    folder = write_recording_folder(make_recording(), tmp_path / "out", progress_bar=False)
    before = listing(tmp_path)
    with pytest.raises(FileExistsError, match="overwrite=True") as info:
        write_recording_folder(make_recording(seed=1), folder, progress_bar=False)
    assert str(folder) in str(info.value)
    assert listing(tmp_path) == before


def test_overwrite_replaces_a_folder_it_wrote(tmp_path):
    folder = write_recording_folder(make_recording(), tmp_path / "out", progress_bar=False)
    replacement = make_recording(num_channels=2, durations=[0.25], seed=1)
    write_recording_folder(replacement, folder, overwrite=True, progress_bar=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left
    recording = read_recording_folder(folder)
    assert recording.get_num_channels() == 2 and recording.get_num_segments() == 1
    np.testing.assert_array_equal(recording.get_traces(), replacement.get_traces())
    marker = json.loads((folder / si_folders.MARKER).read_text())
    assert marker["written_by"] == "mne_dualdiv"
    assert marker["package_version"] == mne_dualdiv.__version__
    assert "traces_cached_seg0.raw" in marker["files"]


def test_overwrite_refuses_its_own_folder_once_a_user_file_was_added(tmp_path):
    folder = write_recording_folder(make_recording(), tmp_path / "out", progress_bar=False)
    (folder / "analysis").mkdir()
    (folder / "analysis" / "spikes.csv").write_text("1,2,3")
    before = listing(tmp_path)
    with pytest.raises(FileExistsError, match="did not write \\(analysis") as info:
        write_recording_folder(make_recording(seed=1), folder, overwrite=True,
                               progress_bar=False)
    assert str(folder) in str(info.value)
    assert listing(tmp_path) == before


@pytest.mark.parametrize("kind", ["symlink", "file", "forged marker"])
def test_overwrite_refuses_links_files_and_forged_markers(tmp_path, kind):
    target = write_recording_folder(make_recording(), tmp_path / "real", progress_bar=False)
    out = tmp_path / "out"
    if kind == "symlink":
        out.symlink_to(target, target_is_directory=True)
    elif kind == "file":
        out.write_text("a user's file")
    else:
        out.mkdir()
        (out / si_folders.MARKER).write_text(json.dumps({"written_by": "someone"}))
    before = listing(tmp_path)
    with pytest.raises(FileExistsError) as info:
        write_recording_folder(make_recording(seed=1), out, overwrite=True, progress_bar=False)
    assert f"folder: {out}" in str(info.value) and "left it untouched" in str(info.value)
    assert listing(tmp_path) == before and out.is_symlink() == (kind == "symlink")


def _failing_save(monkeypatch):
    """Make ``recording.save`` write part of the folder, then fail as a full disk does."""
    original = sc.BaseRecording.save

    def save(self, **kwargs):
        original(self, **kwargs)
        (kwargs["folder"] / "traces_cached_seg0.raw").write_bytes(b"partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(sc.BaseRecording, "save", save)


def test_error_while_replacing_leaves_the_old_folder_intact(tmp_path, monkeypatch):
    folder = write_recording_folder(make_recording(), tmp_path / "out", progress_bar=False)
    before = listing(tmp_path)
    _failing_save(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        write_recording_folder(make_recording(seed=1), folder, overwrite=True,
                               progress_bar=False)
    assert listing(tmp_path) == before


def test_error_while_writing_leaves_no_partial_folder(tmp_path, monkeypatch):
    _failing_save(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        write_recording_folder(make_recording(), tmp_path / "out", progress_bar=False)
    assert list(tmp_path.iterdir()) == []


def test_written_folder_is_read_back_by_both_readers(tmp_path):
    recording = make_recording()
    folder = write_recording_folder(recording, tmp_path / "out", progress_bar=False)
    for loaded in (read_recording_folder(folder), sc.load(folder)):
        assert list(loaded.channel_ids) == list(recording.channel_ids)
        np.testing.assert_array_equal(loaded.get_channel_gains(), recording.get_channel_gains())
        np.testing.assert_array_equal(loaded.get_traces(segment_index=1),
                                      recording.get_traces(segment_index=1))


class StubRecordingModel:
    """What the CLI's sample needs of a RecordingSynthesizer (its writing is under test)."""

    sampling_frequency_, channel_ids_, dtype_ = 1000.0, np.arange(4), np.dtype("float32")

    def sample(self, duration, random_state=None):
        return make_recording(durations=[duration], seed=random_state)


@pytest.fixture
def stub_model(tmp_path, monkeypatch):
    from mne_dualdiv import cli

    monkeypatch.setattr(cli, "_read_recording_model", lambda model: StubRecordingModel())
    model = tmp_path / "probe-model.pt"
    model.write_bytes(b"a recording model")
    return model


def test_cli_sample_overwrite_refuses_a_folder_it_did_not_write(capsys, tmp_path, stub_model):
    out = tmp_path / "results"
    out.mkdir()
    (out / "thesis.tex").write_text("chapter 1")
    status, _, err = main_exit(capsys, "sample", stub_model, out, "--duration", 0.5,
                               "--overwrite")
    assert status == 2, err
    assert "argument OUT" in err and str(out) in err and "not written by mne_dualdiv" in err
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    assert (out / "thesis.tex").read_text() == "chapter 1"


def test_cli_sample_overwrite_replaces_a_folder_it_wrote(capsys, tmp_path, stub_model):
    out = tmp_path / "synthetic"
    assert main_exit(capsys, "sample", stub_model, out, "--duration", 0.5)[0] == 0
    status, _, err = main_exit(capsys, "sample", stub_model, out, "--duration", 0.25, "--seed",
                               "1", "--overwrite")
    assert status == 0, err
    assert read_recording_folder(out).get_num_frames() == 250
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probe-model.pt", "synthetic"]


# ==================================================================== 3. memory from small files
@pytest.fixture(scope="module")
def state(tiny_params):
    """The state of a fitted generator (2 channels x 8 samples)."""
    torch.set_num_threads(1)
    X = np.random.default_rng(0).standard_normal((40, 2, 8)).cumsum(axis=-1)
    return DualDivergenceGenerator(**tiny_params, random_state=0).fit(X).get_state()


def wrap(state):
    """The bytes of a model file holding ``state``, with a correct digest (as a crafter can)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    wrapper = {"format": state["format"], "format_version": state["format_version"],
               "package_version": mne_dualdiv.__version__,
               "digest": hashlib.sha256(payload).hexdigest(),
               "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8)}
    out = io.BytesIO()
    torch.save(wrapper, out)
    return out.getvalue()


def changed(state, **changes):
    """A copy of ``state`` with entries changed; ``arrays__x`` changes ``state['arrays']['x']``."""
    state = {key: dict(value) if isinstance(value, dict) else value
             for key, value in state.items()}
    for key, value in changes.items():
        outer, _, inner = key.partition("__")
        if inner:
            state[outer][inner] = value
        else:
            state[outer] = value
    return state


def expanded(shape, dtype):
    """A stride-0 view of one value: ``shape`` in the file, 1 value of storage."""
    return torch.zeros((1,) * len(shape), dtype=dtype).expand(*shape)


def network_shapes(params, n_channels, n_times):
    n_heads = params["n_bridges"] if params["method"] == "path" else 1
    with torch.device("meta"):
        network = DualNetwork(torch.empty(n_heads + 1, n_channels * n_times, dtype=bool),
                              n_channels, n_times, n_filters=params["n_filters"],
                              temporal_kernel=params["temporal_kernel"], hidden=params["hidden"])
    return {key: (tuple(value.shape), value.dtype) for key, value in
            network.state_dict().items()}


def stride0_network_state(state, hidden=15_000_000):
    """Weights of a 525-million-parameter network as stride-0 views (the file is ~20 kB)."""
    params = dict(json.loads(state["params"]), hidden=hidden)
    shapes = network_shapes(params, 2, 8)
    network = {key: state["network"]["masks"] if key == "masks" else expanded(shape, dtype)
               for key, (shape, dtype) in shapes.items()}
    return changed(state, params=json.dumps(params), network=network)


def lopsided_state(state, n_train=1, n_channels=1, n_times=5000):
    """A consistent state of 1 image of 1 x 5000 values: its Gaussian has 5000 x 5000 matrices."""
    params = json.loads(state["params"])
    scalars = dict(json.loads(state["scalars"]), n_channels=n_channels, n_times=n_times)
    network = {key: torch.zeros(shape, dtype=dtype)
               for key, (shape, dtype) in network_shapes(params, n_channels, n_times).items()}
    return changed(state, scalars=json.dumps(scalars), network=network,
                   arrays__train_scaled=torch.zeros((n_train, n_channels, n_times)))


CRAFTED = {
    "stride-0 network": lambda state: stride0_network_state(state),
    "stride-0 train_scaled": lambda state: changed(
        state, arrays__train_scaled=expanded((10 ** 8, 2, 8), torch.float32)),
    "lopsided images": lambda state: lopsided_state(state),
}


def write_crafted(state, tmp_path, name):
    fname = tmp_path / f"{name.replace(' ', '_')}.pt"
    fname.write_bytes(wrap(CRAFTED[name](state)))
    return fname


def read_fails(fname, match, reader=read_generator):
    with pytest.raises(InvalidFileError, match=match) as info:
        reader(fname)
    assert str(fname) in str(info.value)
    return str(info.value)


def test_stride0_network_weights_are_refused_before_building_the_network(state, tmp_path):
    fname = write_crafted(state, tmp_path, "stride-0 network")
    assert fname.stat().st_size < 30_000
    message = read_fails(fname, "is a view of shape")
    assert "stride-0" in message and "['network']" in message


def test_stride0_train_scaled_is_refused_before_the_finiteness_check(state, tmp_path):
    fname = write_crafted(state, tmp_path, "stride-0 train_scaled")
    read_fails(fname, r"\['arrays'\]\['train_scaled'\] is a view of shape \(100000000, 2, 8\)")


def test_a_tensor_using_part_of_a_larger_storage_is_refused(state, tmp_path):
    train = state["arrays"]["train_scaled"]
    larger = torch.cat([train, train])[len(train):]  # the second half of a shared storage
    fname = tmp_path / "slice.pt"
    fname.write_bytes(wrap(changed(state, arrays__train_scaled=larger)))
    read_fails(fname, "offset .* instead of a tensor of its own")


@pytest.mark.parametrize("dtype", [torch.complex64, torch.uint16, torch.float8_e4m3fn])
def test_tensor_dtypes_off_the_allow_list_are_refused(state, tmp_path, dtype):
    fname = tmp_path / "dtype.pt"
    fname.write_bytes(wrap(changed(state, arrays__center=torch.zeros(2, dtype=dtype))))
    read_fails(fname, f"has the dtype {dtype}")


def test_lopsided_images_are_refused_before_the_walk_gaussian_is_built(state, tmp_path):
    fname = write_crafted(state, tmp_path, "lopsided images")
    assert fname.stat().st_size < 100_000
    read_fails(fname, "n_times\\^2 matrices, over 64 times what the file holds")


def test_file_over_the_size_limit_is_refused_without_reading_it(tmp_path):
    fname = tmp_path / "huge.pt"
    with open(fname, "wb") as fid:  # 8 GiB, sparse: no disk space used
        fid.truncate(8 * 1024 ** 3)
    start = time.perf_counter()
    message = read_fails(fname, "over the 2147483648-byte limit")
    assert "was not read" in message and time.perf_counter() - start < 1


def test_the_size_limit_is_a_parameter_of_load_state(state, tmp_path):
    fname = tmp_path / "model.pt"
    fname.write_bytes(wrap(state))
    with pytest.raises(InvalidFileError, match="over the 1000-byte limit") as info:
        _io.load_state(fname, state["format"], 2, max_size=1000)
    assert str(fname) in str(info.value)
    assert _io.load_state(fname, state["format"], 2)["format"] == state["format"]


def test_a_pickle_of_more_instructions_than_the_bound_is_refused(state, tmp_path, monkeypatch):
    fname = tmp_path / "model.pt"
    fname.write_bytes(wrap(state))
    monkeypatch.setattr(_io, "MAX_PICKLE_OPCODES", 100)
    read_fails(fname, "pickle of more than 100 instructions")


def test_crafted_files_are_refused_within_small_memory(state, tmp_path):
    """Measured in a fresh process: the peak resident memory of reading each crafted file."""
    valid = tmp_path / "valid.pt"
    valid.write_bytes(wrap(state))
    crafted = [str(write_crafted(state, tmp_path, name)) for name in CRAFTED]
    huge = tmp_path / "huge.pt"
    with open(huge, "wb") as fid:
        fid.truncate(8 * 1024 ** 3)
    script = textwrap.dedent("""
        import json, resource, sys
        import torch
        torch.set_num_threads(1)
        from mne_dualdiv import InvalidFileError, read_generator
        scale = 1 if sys.platform == "darwin" else 1024
        read_generator(sys.argv[1])  # imports and first-use allocations
        peaks = {}
        for fname in sys.argv[2:]:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
            try:
                read_generator(fname)
                peaks[fname] = "read"
            except InvalidFileError:
                peaks[fname] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale - before
        print(json.dumps(peaks))
    """)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    process = subprocess.run([sys.executable, "-c", script, str(valid), *crafted, str(huge)],
                             capture_output=True, text=True, timeout=120, env=env)
    assert process.returncode == 0, process.stderr
    peaks = json.loads(process.stdout.strip().splitlines()[-1])
    assert all(peak != "read" and peak < SMALL_MEMORY for peak in peaks.values()), peaks


def test_save_state_writes_views_as_tensors_of_their_own(state, tmp_path):
    train = state["arrays"]["train_scaled"]
    view = changed(state, arrays__train_scaled=torch.cat([train, train])[len(train):])
    fname = _io.save_state(view, tmp_path / "model.pt", overwrite=False)
    loaded = read_generator(fname)
    np.testing.assert_array_equal(loaded._train_scaled, train.numpy())


# ---------------------------------------------------------------- metadata arrays (decode_array)
@pytest.mark.parametrize("values", [
    np.array([True, False]), np.array([-3, 7], dtype=np.int16), np.array([2, 9], np.uint32),
    np.array([[0.5, 1.0], [2.0, -1.5]]), np.array(["a", "channel-12"]),
])
def test_decode_array_gives_back_what_was_encoded(values):
    decoded = _io.decode_array(dict(dtype=values.dtype.str, values=values.tolist()), "x")
    assert decoded.dtype == values.dtype
    np.testing.assert_array_equal(decoded, values)


def test_decode_array_refuses_a_huge_string_dtype_without_allocating():
    tracemalloc.start()
    try:
        with pytest.raises(InvalidFileError, match="400000000 characters") as info:
            _io.decode_array(dict(dtype="<U400000000", values=["0", "1", "2"]), "channel_ids")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value).startswith("channel_ids")
    assert peak < 1024 ** 2  # instead of 4.8 GB


@pytest.mark.parametrize("dtype", ["|O", "<c16", "<M8[ns]", "|S5", "|V8", "<f8,<i4", "(1000,)f8"])
def test_decode_array_refuses_dtypes_off_the_allow_list(dtype):
    with pytest.raises(InvalidFileError, match="property 'location'") as info:
        _io.decode_array(dict(dtype=dtype, values=[1, 2]), "property 'location'")
    assert "dtype" in str(info.value)


@pytest.mark.parametrize("encoded, match", [
    (["<f8", [1.0]], "must be a dict"),
    (dict(dtype="<f8"), "must be a dict of 'dtype' and 'values'"),
    (dict(dtype="<f8", values=1.0), "must hold a list"),
    (dict(dtype="<f8", values=[1.0, None]), "NoneType value"),
    (dict(dtype="<f8", values=[[1.0], [1.0, 2.0]]), "do not make an array"),
    (dict(dtype="<i1", values=[1000]), "do not make an array"),
    (dict(dtype="<U2", values=["abc"]), "longer than its dtype"),
    (dict(dtype="not a dtype", values=[1]), "invalid dtype"),
    (dict(dtype="<U", values=["a" * 5000]), "5000 characters"),
])
def test_decode_array_refuses_malformed_arrays(encoded, match):
    with pytest.raises(InvalidFileError, match=match) as info:
        _io.decode_array(encoded, "channel_ids")
    assert "channel_ids" in str(info.value)


def test_decode_array_bounds_the_number_of_values_and_bytes(monkeypatch):
    with pytest.raises(InvalidFileError, match="channel_ids would take 67125248 bytes"):
        _io.decode_array(dict(dtype="<U4096", values=["a"] * 4097), "channel_ids")
    monkeypatch.setattr(_io, "MAX_ARRAY_LENGTH", 10)
    with pytest.raises(InvalidFileError, match="channel_ids holds more than 10 values"):
        _io.decode_array(dict(dtype="<i8", values=list(range(11))), "channel_ids")


def test_decode_array_errors_in_a_reader_name_the_file(state, tmp_path):
    fname = tmp_path / "model.pt"
    fname.write_bytes(wrap(state))

    def rebuild(_):
        return _io.decode_array(dict(dtype="<U400000000", values=["0"]), "channel_ids")

    with pytest.raises(InvalidFileError, match="channel_ids has strings") as info:
        _io.load_state(fname, state["format"], 2, rebuild=rebuild)
    assert str(fname) in str(info.value)
