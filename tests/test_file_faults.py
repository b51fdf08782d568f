"""Damaged, foreign and crafted model files: every one is an InvalidFileError that says why."""

import hashlib
import io
import json
import os
import struct
import zipfile

import numpy as np
import pytest
import torch

import mne_dualdiv
from mne_dualdiv import (DualDivergenceGenerator, InvalidFileError, read_epochs_synthesizer,
                         read_generator)
from mne_dualdiv import _io

GENERATOR_FORMAT = "mne_dualdiv.DualDivergenceGenerator"
#: Settings of a fit that takes about a second on one core.


@pytest.fixture(scope="module")
def saved(tmp_path_factory, tiny_params):
    """A fitted generator and the bytes of its file."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2, 8)).cumsum(axis=-1)
    generator = DualDivergenceGenerator(**tiny_params, random_state=0).fit(X)
    fname = tmp_path_factory.mktemp("saved") / "generator.pt"
    generator.save(fname)
    return generator, fname.read_bytes()


def _write(tmp_path, content, name="model.pt"):
    fname = tmp_path / name
    fname.write_bytes(content)
    return fname


def _wrapper_and_state(raw):
    wrapper = torch.load(io.BytesIO(raw), weights_only=True)
    state = torch.load(io.BytesIO(wrapper["payload"].numpy().tobytes()), weights_only=True)
    return wrapper, state


def _rewrap(state, **wrapper_changes):
    """A file whose payload is ``state`` with a correct digest (what a crafter can make)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    wrapper = {"format": state["format"], "format_version": state["format_version"],
               "package_version": mne_dualdiv.__version__,
               "digest": hashlib.sha256(payload).hexdigest(),
               "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8)}
    wrapper.update(wrapper_changes)
    out = io.BytesIO()
    torch.save(wrapper, out)
    return out.getvalue()


def _read_fails(fname, match, reader=read_generator):
    with pytest.raises(InvalidFileError, match=match) as info:
        reader(fname)
    message = str(info.value)
    assert str(fname) in message
    assert "weights_only" not in message
    return message


# ----------------------------------------------------------------------------- round trip
def test_saved_file_reads_back_identically(saved, tmp_path):
    generator, raw = saved
    loaded = read_generator(_write(tmp_path, raw))
    np.testing.assert_array_equal(loaded.dual_values_train_, generator.dual_values_train_)
    assert loaded.get_params() == generator.get_params()


def test_saved_file_is_a_digest_wrapper_read_without_pickle(saved):
    wrapper, state = _wrapper_and_state(saved[1])
    assert set(wrapper) == {"format", "format_version", "package_version", "digest", "payload"}
    assert wrapper["digest"] == hashlib.sha256(wrapper["payload"].numpy()).hexdigest()
    assert state["format"] == wrapper["format"] == GENERATOR_FORMAT


def test_invalid_file_error_is_a_value_error_exported_by_the_package():
    assert issubclass(InvalidFileError, ValueError)
    assert "InvalidFileError" in mne_dualdiv.__all__


# ----------------------------------------------------------------------------- damaged bytes
def test_empty_file(tmp_path):
    _read_fails(_write(tmp_path, b""), "empty")


def test_truncated_file(saved, tmp_path):
    _read_fails(_write(tmp_path, saved[1][:len(saved[1]) // 2]), "truncated")


def test_file_cut_by_one_byte(saved, tmp_path):
    _read_fails(_write(tmp_path, saved[1][:-1]), "truncated|damaged")


def test_random_bytes(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    _read_fails(_write(tmp_path, noise), "not a torch.save archive")


def test_64_flipped_bytes_in_the_payload(saved, tmp_path):
    raw = bytearray(saved[1])
    middle = len(raw) // 2
    raw[middle:middle + 64] = bytes(b ^ 0xFF for b in raw[middle:middle + 64])
    _read_fails(_write(tmp_path, bytes(raw)), "damaged")


def test_changed_payload_with_the_old_digest(saved, tmp_path):
    """Damage that also fixes the zip checksums (a re-saved wrapper) is caught by the digest."""
    wrapper, _ = _wrapper_and_state(saved[1])
    payload = wrapper["payload"].clone()
    payload[len(payload) // 2] ^= 1
    out = io.BytesIO()
    torch.save({**wrapper, "payload": payload}, out)
    _read_fails(_write(tmp_path, out.getvalue()), "SHA-256 digest")


# ----------------------------------------------------------------------------- wrong content
def test_wrong_class(saved, tmp_path):
    fname = _write(tmp_path, saved[1])
    _read_fails(fname, "Not a saved EpochsSynthesizer", reader=read_epochs_synthesizer)


def test_recording_reader_refuses_a_generator_file(saved, tmp_path):
    recording = pytest.importorskip("mne_dualdiv.adapters.recording")
    _read_fails(_write(tmp_path, saved[1]), "Not a saved RecordingSynthesizer",
                reader=recording.read_recording_synthesizer)


def test_foreign_torch_file(tmp_path):
    buffer = io.BytesIO()
    torch.save({"weights": torch.zeros(3)}, buffer)
    _read_fails(_write(tmp_path, buffer.getvalue()), "Not a saved DualDivergenceGenerator")


def test_pickled_object_is_refused_without_advice_to_unpickle(tmp_path):
    buffer = io.BytesIO()
    torch.save({"format": GENERATOR_FORMAT, "obj": zipfile.ZipInfo("x")}, buffer)
    _read_fails(_write(tmp_path, buffer.getvalue()), "other than tensors")


def test_future_version(saved, tmp_path):
    _, state = _wrapper_and_state(saved[1])
    raw = _rewrap({**state, "format_version": 99}, format_version=99)
    _read_fails(_write(tmp_path, raw), "newer mne_dualdiv")


def test_old_file_without_digest(saved, tmp_path):
    _, state = _wrapper_and_state(saved[1])
    buffer = io.BytesIO()
    torch.save({**state, "format_version": 1}, buffer)
    _read_fails(_write(tmp_path, buffer.getvalue()), "older mne_dualdiv.*fit the")


def test_missing_wrapper_key(saved, tmp_path):
    wrapper, _ = _wrapper_and_state(saved[1])
    del wrapper["digest"]
    buffer = io.BytesIO()
    torch.save(wrapper, buffer)
    _read_fails(_write(tmp_path, buffer.getvalue()), r"missing keys \['digest'\]")


@pytest.mark.parametrize("key", ["params", "arrays", "network", "scalars"])
def test_missing_state_key(saved, tmp_path, key):
    _, state = _wrapper_and_state(saved[1])
    del state[key]
    _read_fails(_write(tmp_path, _rewrap(state)), f"missing entry '{key}'")


def test_invalid_parameter_in_the_file(saved, tmp_path):
    _, state = _wrapper_and_state(saved[1])
    params = {**json.loads(state["params"]), "guard_percentile": 150.0}
    _read_fails(_write(tmp_path, _rewrap({**state, "params": json.dumps(params)})),
                "guard_percentile")


def test_unknown_parameter_in_the_file(saved, tmp_path):
    _, state = _wrapper_and_state(saved[1])
    params = {**json.loads(state["params"]), "execute": "rm -rf"}
    _read_fails(_write(tmp_path, _rewrap({**state, "params": json.dumps(params)})), "execute")


def test_non_finite_array_in_the_file(saved, tmp_path):
    _, state = _wrapper_and_state(saved[1])
    arrays = dict(state["arrays"])
    arrays["endpoints"] = torch.tensor([0.0, float("nan")], dtype=arrays["endpoints"].dtype)
    _read_fails(_write(tmp_path, _rewrap({**state, "arrays": arrays})), "NaN")


def test_zero_near_copy_threshold_in_the_file(saved, tmp_path):
    _, state = _wrapper_and_state(saved[1])
    scalars = {**json.loads(state["scalars"]), "near_copy_threshold": 0.0}
    _read_fails(_write(tmp_path, _rewrap({**state, "scalars": json.dumps(scalars)})),
                "near-copy guard off")


# ----------------------------------------------------------------------------- crafted sizes
def test_huge_network_parameters_are_refused_before_allocating(saved, tmp_path, monkeypatch):
    """A 20 kB file asking for a 10**8-wide layer (12 GB) fails before any real allocation."""
    _, state = _wrapper_and_state(saved[1])
    params = {**json.loads(state["params"]), "hidden": 10**8}
    fname = _write(tmp_path, _rewrap({**state, "params": json.dumps(params)}))
    built_on = []
    real_network = mne_dualdiv.engine.state.DualNetwork

    def recording_network(*args, **kwargs):
        built_on.append(torch.get_default_device().type)
        return real_network(*args, **kwargs)

    monkeypatch.setattr(mne_dualdiv.engine.state, "DualNetwork", recording_network)
    _read_fails(fname, "weights do not match")
    assert built_on == ["meta"]


def test_huge_image_size_is_refused(saved, tmp_path):
    _, state = _wrapper_and_state(saved[1])
    scalars = {**json.loads(state["scalars"]), "n_channels": 10**6, "n_times": 10**6}
    _read_fails(_write(tmp_path, _rewrap({**state, "scalars": json.dumps(scalars)})),
                "train_scaled.*shape")


def test_storage_larger_than_its_record_is_refused(tmp_path):
    """A pickle that claims a 1 GB storage backed by 77 bytes."""
    buffer = io.BytesIO()
    torch.save({"format": GENERATOR_FORMAT, "payload": torch.zeros(77, dtype=torch.uint8)},
               buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as crafted:
        for name in source.namelist():
            content = source.read(name)
            if name.endswith("data.pkl"):
                content = content.replace(b"K\x4d", b"J" + struct.pack("<i", 10**9), 1)
            crafted.writestr(name, content)
    _read_fails(_write(tmp_path, out.getvalue()), "cannot be read")


def test_compressed_archive_is_refused(saved, tmp_path):
    """Deflated entries could inflate far beyond the file size; torch.save never writes them."""
    source = zipfile.ZipFile(io.BytesIO(saved[1]))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as crafted:
        for name in source.namelist():
            crafted.writestr(name, source.read(name))
    _read_fails(_write(tmp_path, out.getvalue()), "compressed entries")


def test_payload_claiming_more_bytes_than_the_file(saved, tmp_path):
    with pytest.raises(InvalidFileError, match="claims"):
        _io._open_wrapper({"format": GENERATOR_FORMAT, "format_version": 2,
                           "package_version": "x", "digest": "0" * 64,
                           "payload": torch.zeros(100, dtype=torch.uint8)},
                          tmp_path / "x.pt", "DualDivergenceGenerator", file_size=50)


# ----------------------------------------------------------------------------- atomic writes
def _fail_when_writing_the_file(monkeypatch, error):
    real_save = torch.save

    def failing_save(obj, target, *args, **kwargs):
        if isinstance(target, io.BytesIO):
            return real_save(obj, target, *args, **kwargs)
        target.write(b"PK\x03\x04 half a file")
        raise error

    monkeypatch.setattr(_io.torch, "save", failing_save)


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_interrupted_save_leaves_no_partial_file(saved, tmp_path, monkeypatch, error):
    generator, _ = saved
    _fail_when_writing_the_file(monkeypatch, error)
    with pytest.raises(type(error)):
        generator.save(tmp_path / "new.pt")
    assert os.listdir(tmp_path) == []


def test_interrupted_overwrite_leaves_the_existing_file_intact(saved, tmp_path, monkeypatch):
    generator, raw = saved
    fname = _write(tmp_path, raw, "existing.pt")
    _fail_when_writing_the_file(monkeypatch, OSError(28, "No space left on device"))
    with pytest.raises(OSError, match="No space"):
        generator.save(fname, overwrite=True)
    assert os.listdir(tmp_path) == ["existing.pt"]
    assert fname.read_bytes() == raw


def test_overwrite_replaces_the_file_completely(saved, tmp_path):
    generator, raw = saved
    fname = _write(tmp_path, b"old content", "existing.pt")
    generator.save(fname, overwrite=True)
    assert os.listdir(tmp_path) == ["existing.pt"]
    read_generator(fname)

