"""The ``mne-dualdiv`` command line, run as a user runs it, on epochs files written by MNE."""

import os
import subprocess
import sys

import mne
import numpy as np
import pandas as pd
import pytest

from cli_runner import main_exit

N_PER_CONDITION = 24
EVENT_ID = dict(auditory=1, visual=3)
TMIN = -0.1


def run_cli(*args, cwd=None):
    """Run ``python -m mne_dualdiv ARGS`` and return the completed process."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    env.pop("MNE_DUALDIV_TRACEBACK", None)
    return subprocess.run([sys.executable, "-m", "mne_dualdiv", *map(str, args)], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def make_meg_epochs(n_per_condition=N_PER_CONDITION, seed=0):
    """Small magnetometer epochs with two conditions, two correlated channels and metadata."""
    rng = np.random.default_rng(seed)
    n_epochs, n_channels, n_times = 2 * n_per_condition, 4, 32
    info = mne.create_info([f"MEG 01{i}1" for i in range(n_channels)], 100.0, "mag")
    data = 1e-13 * rng.standard_normal((n_epochs, n_channels, n_times))
    data[:, 1] += 0.5 * data[:, 0]
    codes = np.repeat(list(EVENT_ID.values()), n_per_condition)
    events = np.c_[50 + 100 * np.arange(n_epochs), np.zeros(n_epochs, int), codes]
    return mne.EpochsArray(data, info, events, tmin=TMIN, event_id=EVENT_ID, verbose=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    paths = dict(train=folder / "train-epo.fif", heldout=folder / "heldout-epo.fif",
                 tiny=folder / "tiny-epo.fif", text=folder / "notfif-epo.fif")
    make_meg_epochs().save(paths["train"], verbose=False)
    make_meg_epochs(n_per_condition=8, seed=1).save(paths["heldout"], verbose=False)
    make_meg_epochs(n_per_condition=3, seed=2).save(paths["tiny"], verbose=False)
    paths["text"].write_text("not a FIF file\n")
    return paths


def assert_usage_error(returncode, stderr, *words):
    """Exit status 2 and a last line ``error:`` message containing ``words``."""
    assert returncode == 2, stderr
    message = stderr.strip().splitlines()[-1]
    assert "error:" in message
    for word in words:
        assert word in message, message


@pytest.fixture(scope="module")
def model(files, tmp_path_factory):
    """A model fitted by the command line, shared by the sample and evaluate tests."""
    fname = tmp_path_factory.mktemp("model") / "model.pt"
    process = run_cli("fit", files["train"], fname, "--quick", "--seed", "3")
    assert process.returncode == 0, process.stderr
    assert "Saved the model" in process.stdout
    return fname


# Through a subprocess, as a user runs them: every command once, and the errors' exit statuses.
# ------------------------------------------------------------------------------ augment
def test_augment_meg_file_keeps_channels_event_id_and_tmin(files, tmp_path):
    out = tmp_path / "augmented-epo.fif"
    process = run_cli("augment", files["train"], out, "--quick", "--ratio", "0.5", "--seed", "1")
    assert process.returncode == 0, process.stderr
    assert str(out) in process.stdout
    real = mne.read_epochs(files["train"], verbose=False)
    augmented = mne.read_epochs(out, verbose=False)
    assert augmented.ch_names == real.ch_names
    assert augmented.get_channel_types() == ["mag"] * 4
    assert augmented.event_id == EVENT_ID
    assert augmented.tmin == pytest.approx(TMIN)
    assert len(augmented.times) == len(real.times)
    synthetic = augmented.metadata["synthetic"].to_numpy(bool)
    assert synthetic.sum() == N_PER_CONDITION  # 0.5 x 24 per condition
    np.testing.assert_array_equal(augmented.get_data()[~synthetic], real.get_data())
    counts = pd.Series(augmented.events[synthetic, 2]).value_counts()
    assert counts.to_dict() == {1: N_PER_CONDITION // 2, 3: N_PER_CONDITION // 2}


@pytest.mark.parametrize("command", ["augment", "fit"])
@pytest.mark.parametrize("flags, expected", [((), "auto"), (("--per-condition",), True),
                                             (("--no-per-condition",), False)])
def test_per_condition_defaults_to_the_librarys_auto_choice(command, flags, expected):
    """Without a flag the command line chooses as augment() does (per_condition='auto')."""
    from mne_dualdiv.cli._parser import build_parser

    args = build_parser().parse_args([command, "in-epo.fif", "out-epo.fif", *flags])
    assert args.per_condition == expected


# ------------------------------------------------------------------------------ fit, sample
def test_sample_writes_epochs_like_the_input_and_repeats_with_a_seed(model, tmp_path):
    outs = [tmp_path / f"sampled{i}-epo.fif" for i in range(2)]
    for out in outs:
        process = run_cli("sample", model, out, "-n", "12", "--seed", "5")
        assert process.returncode == 0, process.stderr
    first, second = (mne.read_epochs(out, verbose=False) for out in outs)
    assert len(first) == 12 and first.metadata["synthetic"].all()
    assert first.ch_names == make_meg_epochs().ch_names and first.event_id == EVENT_ID
    assert first.tmin == pytest.approx(TMIN)
    np.testing.assert_array_equal(first.get_data(), second.get_data())  # same --seed


# ------------------------------------------------------------------------------ evaluate
def test_evaluate_prints_the_table_and_writes_csv_and_html(files, model, tmp_path):
    synthetic = tmp_path / "synthetic-epo.fif"
    assert run_cli("sample", model, synthetic, "--ratio", "0.5").returncode == 0
    csv, html = tmp_path / "scores.csv", tmp_path / "report.html"
    process = run_cli("evaluate", files["train"], synthetic, "--heldout", files["heldout"],
                      "--metrics", "fidelity", "--csv", csv, "--html", html)
    assert process.returncode == 0, process.stderr
    assert "psd_distance" in html.read_text() and "<img" in html.read_text()
    for metric in ("psd_distance", "covariance_distance", "discriminative_score"):
        assert metric in process.stdout
    table = pd.read_csv(csv)
    assert set(table["category"]) == {"fidelity"}
    assert {"psd_distance", "covariance_distance"} <= set(table["metric"])
    assert np.isfinite(table["synthetic"]).all() and np.isfinite(table["reference"]).all()


# ------------------------------------------------------------------------------ errors
def test_a_missing_input_is_a_usage_error_naming_the_argument(tmp_path):
    process = run_cli("augment", tmp_path / "missing-epo.fif", tmp_path / "out-epo.fif")
    assert_usage_error(process.returncode, process.stderr, "mne-dualdiv augment",
                       "argument IN", "no such file", "missing-epo.fif")


def test_a_bad_option_is_a_usage_error_naming_it(files, tmp_path):
    process = run_cli("augment", files["train"], tmp_path / "out-epo.fif", "--ratio", "many")
    assert_usage_error(process.returncode, process.stderr, "argument --ratio", "'many'")


def _subcommand_args(command, files, tmp_path, missing):
    """Arguments of ``command`` with its first input replaced by ``missing``."""
    out = tmp_path / "out-epo.fif"
    return {
        "augment": ["augment", missing, out],
        "fit": ["fit", missing, tmp_path / "model.pt"],
        "sample": ["sample", missing, out, "-n", "4"],
        "evaluate": ["evaluate", files["train"], missing, "--heldout", files["heldout"]],
    }[command]


@pytest.mark.parametrize("command, argument", [("augment", "argument IN"),
                                               ("fit", "argument IN"),
                                               ("sample", "argument MODEL"),
                                               ("evaluate", "argument SYNTHETIC")])
def test_every_command_refuses_a_bad_path_through_the_command_line(files, tmp_path, command,
                                                                    argument):
    missing = tmp_path / "missing-epo.fif"
    process = run_cli(*_subcommand_args(command, files, tmp_path, missing))
    assert_usage_error(process.returncode, process.stderr, f"mne-dualdiv {command}", argument,
                       "no such file", "missing-epo.fif")


@pytest.mark.parametrize("command", ["demo", "augment", "fit", "sample", "evaluate"])
def test_every_command_refuses_a_bad_option_through_the_command_line(files, model, tmp_path,
                                                                      command):
    args = {"demo": ["demo", "--ratio", "many"],
            "augment": ["augment", files["train"], tmp_path / "o-epo.fif", "--seed", "x"],
            "fit": ["fit", files["train"], tmp_path / "m.pt", "--bogus"],
            "sample": ["sample", model, tmp_path / "o-epo.fif", "-n", "many"],
            "evaluate": ["evaluate", files["train"], files["train"], "--heldout"]}[command]
    process = run_cli(*args)
    assert process.returncode == 2, process.stderr
    message = process.stderr.strip().splitlines()[-1]
    assert message.startswith("mne-dualdiv") and "error:" in message


def test_a_failed_fit_exits_with_status_1_and_one_line(files, tmp_path):
    # Three epochs per condition are fewer than the engine can learn from.
    out = tmp_path / "out-epo.fif"
    process = run_cli("augment", files["tiny"], out, "--quick")
    assert process.returncode == 1
    lines = [line for line in process.stderr.strip().splitlines() if "error" in line]
    assert len(lines) == 1 and lines[0].startswith("mne-dualdiv augment: error: ")
    assert "Traceback" not in process.stderr
    assert not out.exists()


def test_no_command_runs_the_demo(tmp_path):
    # The README's first command, stopped before the fit: 'demo' refuses an existing --out.
    out = tmp_path / "finger-augmented-epo.fif"
    out.write_bytes(b"")
    process = run_cli("--out", out)
    assert_usage_error(process.returncode, process.stderr, "mne-dualdiv demo",
                       "argument --out", "file exists")


# In this process through main(): help texts and argument checks, which need no subprocess.
# ------------------------------------------------------------------------------ help
@pytest.mark.parametrize("command", ["demo", "augment", "fit", "sample", "evaluate"])
def test_every_command_has_help_with_examples(capsys, command):
    status, out, _ = main_exit(capsys, command, "--help")
    assert status == 0
    assert out.startswith(f"usage: mne-dualdiv {command}")
    examples = out.split("examples:")[1]
    assert f"mne-dualdiv {command}" in examples or "python -m mne_dualdiv" in examples


def test_top_level_help_lists_the_commands(capsys):
    status, out, _ = main_exit(capsys, "--help")
    assert status == 0
    for command in ("demo", "augment", "fit", "sample", "evaluate"):
        assert f"    {command}" in out


# ------------------------------------------------------------------------------ argument checks
@pytest.mark.parametrize("command, argument", [
    (["fit", "{missing}", "{model}"], "argument IN"),
    (["sample", "{missing}", "{out}", "-n", "3"], "argument MODEL"),
    (["evaluate", "{train}", "{train}", "--heldout", "{missing}"], "argument --heldout"),
    (["evaluate", "{missing}", "{train}", "--heldout", "{train}"], "argument REAL"),
])
def test_every_command_names_a_missing_input(capsys, files, tmp_path, command, argument):
    names = dict(missing=tmp_path / "missing-epo.fif", out=tmp_path / "out-epo.fif",
                 model=tmp_path / "model.pt", train=files["train"])
    status, _, err = main_exit(capsys, *[part.format(**names) for part in command])
    assert_usage_error(status, err, argument, "no such file", "missing-epo.fif")


@pytest.mark.parametrize("args, argument", [
    (["augment", "IN", "OUT", "--frobnicate"], "--frobnicate"),
    (["augment", "IN", "OUT", "--ratio", "1", "--balance"], "--balance"),
    (["sample", "MODEL", "OUT", "-n", "ten"], "-n/--n-epochs"),
    (["fit", "IN"], "MODEL"),
    (["evaluate", "REAL", "SYNTHETIC"], "--heldout"),
    (["demo", "--split", "validation"], "--split"),
    (["frobnicate"], "frobnicate"),
])
def test_a_bad_option_names_it(capsys, args, argument):
    status, _, err = main_exit(capsys, *args)
    assert_usage_error(status, err, argument)


def test_an_existing_output_is_refused_before_reading(capsys, files, tmp_path):
    out = tmp_path / "exists-epo.fif"
    out.write_bytes(b"keep me")
    status, out_text, err = main_exit(capsys, "augment", files["train"], out, "--quick")
    assert_usage_error(status, err, "argument OUT", "--overwrite")
    assert out.read_bytes() == b"keep me" and "Real epochs" not in out_text


@pytest.mark.parametrize("name, words", [
    ("nowhere/out-epo.fif", ("argument OUT", "folder does not exist")),
    ("out.fif", ("argument OUT", "-epo.fif")),
])
def test_a_bad_output_name_is_refused(capsys, files, tmp_path, name, words):
    status, _, err = main_exit(capsys, "augment", files["train"], tmp_path / name)
    assert_usage_error(status, err, *words)


def test_an_unreadable_input_is_a_usage_error(capsys, files, tmp_path):
    status, _, err = main_exit(capsys, "augment", files["text"], tmp_path / "out-epo.fif")
    assert_usage_error(status, err, "argument IN", "cannot read", "notfif-epo.fif")


def test_sample_needs_a_count(capsys, model, tmp_path):
    status, _, err = main_exit(capsys, "sample", model, tmp_path / "out-epo.fif")
    assert_usage_error(status, err, "-n/--n-epochs")


def test_sample_rejects_a_file_that_is_not_a_model(capsys, files, tmp_path):
    status, _, err = main_exit(capsys, "sample", files["train"], tmp_path / "out-epo.fif",
                               "-n", "5")
    assert_usage_error(status, err, "argument MODEL", "cannot read")


def test_augment_synthetic_only_with_a_total_count(capsys, files, tmp_path):
    out = tmp_path / "synthetic-epo.fif"
    status, _, err = main_exit(capsys, "augment", files["train"], out, "--quick", "-n", "10",
                               "--synthetic-only", "--no-per-condition")
    assert status == 0, err
    synthetic = mne.read_epochs(out, verbose=False)
    assert len(synthetic) == 10 and synthetic.metadata["synthetic"].all()


def test_a_failed_write_leaves_no_partial_epochs_file(tmp_path, monkeypatch):
    import mne

    from mne_dualdiv import cli

    info = mne.create_info(["MEG 001", "MEG 002"], 100.0, "mag")
    epochs = mne.EpochsArray(np.zeros((3, 2, 10)), info, verbose=False)
    out = tmp_path / "out-epo.fif"
    out.write_bytes(b"previous")

    def fail(self, fname, **kwargs):
        open(fname, "wb").write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(mne.BaseEpochs, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        cli._save_epochs(epochs, out, overwrite=True)
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out-epo.fif"]


def test_fit_and_sample_a_spikeinterface_recording_folder(tmp_path):
    sc = pytest.importorskip("spikeinterface.core")
    recording, _ = sc.generate_ground_truth_recording(
        num_channels=4, durations=[3.0], sampling_frequency=10000.0, num_units=2, seed=0)
    source = tmp_path / "recording"
    recording.save(folder=source, verbose=False)
    model, out = tmp_path / "probe-model.pt", tmp_path / "synthetic"
    bad_jobs = run_cli("fit", source, model, "--n-jobs", 0)
    assert_usage_error(bad_jobs.returncode, bad_jobs.stderr, "--n-jobs")
    assert not model.exists()
    fitted = run_cli("fit", source, model, "--quick")
    assert fitted.returncode == 0, fitted.stderr
    assert "spikes/s" in fitted.stdout and "unit(s)" in fitted.stdout
    assert "keep it private" in fitted.stdout
    missing = run_cli("sample", model, out)
    assert_usage_error(missing.returncode, missing.stderr, "--duration")
    made = run_cli("sample", model, out, "--duration", 0.5)
    assert made.returncode == 0, made.stderr
    synthetic = sc.load(out)
    assert list(synthetic.channel_ids) == list(recording.channel_ids)
    assert synthetic.get_num_frames() == 5000
    assert synthetic.sampling_frequency == recording.sampling_frequency
    assert "Made 0.5 s of synthetic recording" in made.stdout
    again = run_cli("sample", model, out, "--duration", 0.5)
    assert_usage_error(again.returncode, again.stderr, "OUT", "exists")


def test_a_folder_that_is_not_a_recording_is_a_usage_error(capsys, tmp_path):
    pytest.importorskip("spikeinterface.core")
    (tmp_path / "empty").mkdir()
    status, _, err = main_exit(capsys, "fit", tmp_path / "empty", tmp_path / "m.pt")
    assert status == 2 and "argument IN" in err and "recording folder" in err


def test_demo_refuses_a_bad_output_path_through_the_command_line(tmp_path):
    process = run_cli("demo", "--out", tmp_path / "no-such-folder" / "x-epo.fif")
    assert_usage_error(process.returncode, process.stderr, "argument --out",
                       "folder does not exist")
