"""Hostile arguments: privacy scores that cannot be fooled, and the rest of issue 18's point 8.

Issue 18, points 6 and 8: overlapping members and non-members, NaN, Inf, complex and string
data in every function of ``metrics.privacy`` (and through ``evaluate`` and the CLI), complex
input to the engine, far inputs' dual values, ``get_traces`` and ``segment_index`` out of
range, huge durations and counts, epochs all dropped, the HTML report. Every test asserts the
error's type and that its message names the argument (or the file).
"""

import os

import mne
import numpy as np
import pytest
import torch

from mne_dualdiv import DualDivergenceGenerator, augment
from cli_runner import main_exit
from mne_dualdiv.metrics import (attack_scores, closest_record_distances, evaluate,
                                 membership_inference_auc, privacy_report_scores,
                                 privacy_scores)
from mne_dualdiv.metrics import report as report_module
from mne_dualdiv.metrics._base import MetricScore
from mne_dualdiv.metrics.report import EvaluationReport

RNG = np.random.default_rng(0)
MEMBERS, NONMEMBERS, SYNTHETIC = (RNG.standard_normal((12, 2, 6)) for _ in range(3))


pytestmark = pytest.mark.usefixtures("single_torch_thread")


def epochs_file(folder, name, data, sfreq=100.0):
    """``data`` (n, n_channels, n_times) as an -epo.fif file of one condition."""
    info = mne.create_info(data.shape[1], sfreq, "eeg")
    events = np.c_[np.arange(len(data)) * 100, np.zeros(len(data), int), np.ones(len(data), int)]
    fname = folder / f"{name}-epo.fif"
    mne.EpochsArray(data * 1e-6, info, events=events, event_id=dict(a=1),
                    verbose=False).save(fname, verbose=False)
    return fname


# ==================================================================== 6. privacy scores
PRIVACY_CALLS = {
    "privacy_scores": lambda m, n, s: privacy_scores(m, n, s, random_state=0),
    "attack_scores": lambda m, n, s: attack_scores(m, n, s),
    "membership_inference_auc": lambda m, n, s: membership_inference_auc(m, n, s),
    "privacy_report_scores": lambda m, n, s: privacy_report_scores(m, n, s, random_state=0),
}


@pytest.mark.parametrize("function", PRIVACY_CALLS)
def test_members_given_as_nonmembers_are_refused(function):
    with pytest.raises(ValueError, match="members and nonmembers share 12 sample"):
        PRIVACY_CALLS[function](MEMBERS, MEMBERS, MEMBERS)


@pytest.mark.parametrize("function", PRIVACY_CALLS)
def test_one_shared_sample_is_refused(function):
    nonmembers = NONMEMBERS.copy()
    nonmembers[3] = MEMBERS[7]
    with pytest.raises(ValueError, match=r"share 1 sample\(s\) \(nonmembers rows \[3\]"):
        PRIVACY_CALLS[function](MEMBERS, nonmembers, SYNTHETIC)


def test_negative_zero_counts_as_the_same_sample():
    members = MEMBERS.copy()
    members[0, 0, 0] = 0.0
    nonmembers = NONMEMBERS.copy()
    nonmembers[0] = members[0]
    nonmembers[0, 0, 0] = -0.0
    with pytest.raises(ValueError, match="share 1 sample"):
        privacy_scores(members, nonmembers, SYNTHETIC)


def bad_values(kind):
    """A copy of SYNTHETIC's shape holding one value of ``kind``."""
    if kind == "complex":
        return SYNTHETIC + 1j
    if kind == "string":
        return SYNTHETIC.astype(str)
    if kind == "object string":
        values = SYNTHETIC.astype(object)
        values[0, 0, 0] = "1.5"
        return values
    values = SYNTHETIC.copy()
    values[2, 1, 3] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}[kind]
    return values


@pytest.mark.parametrize("kind, error", [("nan", ValueError), ("inf", ValueError),
                                         ("-inf", ValueError), ("complex", TypeError),
                                         ("string", TypeError), ("object string", TypeError)])
@pytest.mark.parametrize("argument", ["members", "nonmembers", "synthetic"])
@pytest.mark.parametrize("function", PRIVACY_CALLS)
def test_non_finite_complex_or_string_data_is_refused_by_name(function, argument, kind, error):
    sets = dict(members=MEMBERS, nonmembers=NONMEMBERS, synthetic=SYNTHETIC)
    sets[argument] = bad_values(kind)
    name = "released" if argument == "synthetic" and function in (
        "attack_scores", "membership_inference_auc") else argument
    with pytest.raises(error, match=rf"^{name} "):
        PRIVACY_CALLS[function](sets["members"], sets["nonmembers"], sets["synthetic"])


@pytest.mark.parametrize("argument", ["reference", "queries"])
@pytest.mark.parametrize("kind, error", [("nan", ValueError), ("complex", TypeError)])
def test_closest_record_distances_names_its_argument(argument, kind, error):
    sets = dict(reference=MEMBERS, queries=SYNTHETIC)
    sets[argument] = bad_values(kind)
    with pytest.raises(error, match=rf"^{argument} "):
        closest_record_distances(**sets)


def test_nan_in_the_synthetic_set_no_longer_gives_a_normal_looking_auc():
    with pytest.raises(ValueError, match="synthetic contains NaN"):
        privacy_scores(MEMBERS, NONMEMBERS, bad_values("nan"), random_state=0)


def test_disjoint_sets_still_score():
    scores = privacy_scores(MEMBERS, NONMEMBERS, MEMBERS + 1e-3, random_state=0)
    assert scores["membership_inference_auc"] == 1.0  # near-copies of the members leak


def test_evaluate_refuses_train_as_nonmembers_before_any_metric(monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("a metric ran before the nonmembers were checked")

    monkeypatch.setattr(report_module, "psd_distance", must_not_run)
    with pytest.raises(ValueError, match="train and nonmembers share 12 sample"):
        evaluate(MEMBERS, NONMEMBERS, SYNTHETIC, nonmembers=MEMBERS, random_state=0)


@pytest.mark.parametrize("kind, error", [("nan", ValueError), ("complex", TypeError)])
def test_evaluate_refuses_bad_nonmembers_by_name(kind, error):
    with pytest.raises(error, match="^nonmembers "):
        evaluate(MEMBERS, NONMEMBERS, SYNTHETIC, nonmembers=bad_values(kind),
                 metrics="privacy", random_state=0)


def test_cli_nonmembers_equal_to_the_training_file_is_an_error(capsys, tmp_path):
    real = epochs_file(tmp_path, "real", MEMBERS)
    heldout = epochs_file(tmp_path, "heldout", NONMEMBERS)
    synthetic = epochs_file(tmp_path, "synthetic", SYNTHETIC)
    status, _, err = main_exit(capsys, "evaluate", real, synthetic, "--heldout", heldout,
                               "--nonmembers", real, "--metrics", "privacy")
    assert status == 1
    assert "nonmembers share 12 sample" in err


# ==================================================================== 8. the rest
@pytest.fixture(scope="module")
def generator(tiny_params):
    return DualDivergenceGenerator(**tiny_params, random_state=0).fit(
        np.random.default_rng(1).standard_normal((40, 3, 16)))


@pytest.mark.parametrize("values, what", [(np.ones((30, 2, 8)) + 1j, "complex"),
                                          (np.ones((30, 2, 8)).astype(str), "strings")])
def test_the_engine_refuses_complex_and_string_data_instead_of_casting(values, what, tiny_params):
    with pytest.raises(TypeError, match=f"^X must be an array of real numbers, got {what}"):
        DualDivergenceGenerator(**tiny_params, random_state=0).fit(values)


def test_dual_values_refuse_complex_images(generator):
    with pytest.raises(TypeError, match="^X .*complex"):
        generator.dual_values(np.zeros((2, 3, 16)) + 1j)


@pytest.mark.parametrize("scale", [1e20, 1e100, 1e300])
def test_far_inputs_have_finite_dual_values_outside_the_end_points(generator, scale):
    far = np.random.default_rng(2).standard_normal((4, 3, 16)) * scale
    assert np.isfinite(generator.dual_values(far)).all()
    assert not generator.is_in_distribution(far).any()


def test_near_inputs_keep_their_dual_values(generator):
    X = np.random.default_rng(3).standard_normal((4, 3, 16))
    with torch.no_grad():
        expected = generator.network_.dual_value(torch.from_numpy(
            generator.scaler_.transform(X).astype(np.float32))).double().numpy()
    np.testing.assert_array_equal(generator.dual_values(X), expected)


def test_augment_of_epochs_all_dropped_says_so():
    data = np.random.default_rng(0).standard_normal((10, 3, 20))
    epochs = mne.EpochsArray(data * 1e-6, mne.create_info(3, 100.0, "eeg"), verbose=False)
    epochs.drop(np.arange(10), verbose=False)
    with pytest.raises(ValueError, match="^epochs contains no epochs .all were dropped"):
        augment(epochs, max_steps=2)


def test_the_html_report_escapes_every_text(tmp_path):
    score = MetricScore("covariance_distance", "fidelity", 1.0, 2.0, "lower", unit="<i>dB</i>")
    report = EvaluationReport([score], skipped={"<script>alert(1)</script>": "<img src=x>"},
                              n_samples={"<b>train</b>": 3})
    html = report.save(tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html and "<img src=x>" not in html
    assert "<b>train</b>" not in html and "<i>dB</i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x&gt;" in html


def test_report_save_refuses_a_name_that_is_not_html(tmp_path):
    report = EvaluationReport([MetricScore("psd_distance", "fidelity", 1.0, 2.0, "lower")])
    with pytest.raises(ValueError, match="^fname must end in .html"):
        report.save(tmp_path / "report.txt")
    assert not (tmp_path / "report.txt").exists()


def test_cli_refuses_html_txt_before_any_metric_runs(capsys, tmp_path, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("evaluate ran before --html was checked")

    monkeypatch.setattr("mne_dualdiv.metrics.evaluate", must_not_run)
    real = epochs_file(tmp_path, "real", MEMBERS)
    status, _, err = main_exit(capsys, "evaluate", real, real, "--heldout", real, "--html",
                               tmp_path / "report.txt")
    assert status == 2
    assert "argument --html must end in .html or .htm" in err
    assert not (tmp_path / "report.txt").exists()


@pytest.fixture()
def no_free_space(monkeypatch):
    """A file system with 1 MiB free, as ``shutil.disk_usage`` reports it."""
    import shutil

    usage = shutil.disk_usage(".")
    monkeypatch.setattr(shutil, "disk_usage",
                        lambda path: usage._replace(free=1024 ** 2))


@pytest.mark.parametrize("count", [["-n", "1000000"], ["--ratio", "1e6"]])
def test_cli_augment_refuses_an_output_beyond_the_free_space(capsys, tmp_path, no_free_space,
                                                             count):
    real = epochs_file(tmp_path, "real", MEMBERS)
    out = tmp_path / "out-epo.fif"
    status, _, err = main_exit(capsys, "augment", real, out, *count, "--quick")
    assert status == 2
    assert "argument OUT: writing it would take about" in err and "free" in err
    assert not out.exists()


@pytest.fixture(scope="module")
def epochs_model(tmp_path_factory, tiny_params):
    from mne_dualdiv import EpochsSynthesizer

    folder = tmp_path_factory.mktemp("model")
    epochs = mne.read_epochs(epochs_file(folder, "real", np.random.default_rng(4).standard_normal(
        (30, 2, 8))), verbose=False)
    fname = folder / "model.pt"
    template = DualDivergenceGenerator(**tiny_params, random_state=0)
    EpochsSynthesizer(generator=template, random_state=0).fit(epochs).save(fname)
    return fname


@pytest.mark.parametrize("count", [["-n", str(10 ** 12)], ["--ratio", "1e300"]])
def test_cli_sample_refuses_huge_counts_beyond_the_free_space(capsys, tmp_path, epochs_model,
                                                              count):
    out = tmp_path / "synthetic-epo.fif"
    status, _, err = main_exit(capsys, "sample", epochs_model, out, *count)
    assert status == 2
    assert "argument OUT: writing it would take about" in err
    assert not out.exists()


# ---------------------------------------------------------------------- recordings
@pytest.fixture(scope="module")
def recording_synthesizer(tmp_path_factory):
    pytest.importorskip("spikeinterface.core")
    from mne_dualdiv.adapters.recording import RecordingSynthesizer
    from mne_dualdiv.datasets import simulate_recording

    recording, _ = simulate_recording(num_channels=8, num_units=3, duration=4.0, seed=2)
    synthesizer = RecordingSynthesizer(fit_duration=4.0, noise_duration=1.0, max_snippets=200,
                                       random_state=0).fit(recording)
    synthesizer.save(tmp_path_factory.mktemp("recording") / "model.pt")
    return synthesizer


@pytest.fixture(scope="module")
def two_segments(recording_synthesizer):
    return recording_synthesizer.sample([0.1, 0.05], random_state=0)


@pytest.mark.parametrize("frames", [dict(start_frame=-5, end_frame=10),
                                    dict(start_frame=0, end_frame=3001),
                                    dict(start_frame=2000, end_frame=10**9),
                                    dict(start_frame=20, end_frame=10)])
def test_get_traces_outside_the_segment_is_an_error(two_segments, frames):
    with pytest.raises(ValueError, match=r"start_frame=.* and end_frame=.* must satisfy 0 <= "
                                         r"start_frame <= end_frame <= 3000"):
        two_segments.get_traces(segment_index=0, **frames)


def test_get_traces_up_to_the_end_still_works(two_segments):
    assert two_segments.get_traces(segment_index=1, start_frame=1000).shape == (500, 8)


@pytest.mark.parametrize("segment_index, error", [(2, ValueError), (-1, ValueError),
                                                  (0.5, TypeError)])
def test_segment_index_out_of_range_is_an_error(two_segments, segment_index, error):
    with pytest.raises(error, match="segment_index"):
        two_segments.get_traces(segment_index=segment_index, end_frame=10)
    with pytest.raises(error, match="segment_index"):
        two_segments.get_num_samples(segment_index=segment_index)


def test_a_recording_of_several_segments_needs_segment_index(two_segments):
    with pytest.raises(ValueError, match="segment_index is needed: this recording has 2"):
        two_segments.get_traces(end_frame=10)


@pytest.mark.parametrize("durations, match", [
    (1e305, r"durations\[0\] of 1e\+305 s .* more than a segment can index"),
    ([1.0, 1e300], r"durations\[1\] of 1e\+300 s"),
    (1e12, r"durations of 1e\+12 s in all would draw about .* spikes"),
])
def test_huge_durations_are_refused_with_a_clear_error(recording_synthesizer, durations, match):
    with pytest.raises(ValueError, match=match):
        recording_synthesizer.sample(durations, random_state=0)


def test_cli_sample_refuses_a_recording_beyond_the_free_space(capsys, tmp_path,
                                                              recording_synthesizer,
                                                              no_free_space):
    model = tmp_path / "recording-model.pt"
    recording_synthesizer.save(model)
    out = tmp_path / "synthetic"
    status, _, err = main_exit(capsys, "sample", model, out, "--duration", "1e6")
    assert status == 2
    assert "argument --duration: writing it would take about" in err
    assert not os.path.lexists(out)
