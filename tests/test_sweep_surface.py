"""Hostile arguments to the rest of the public surface (issue 18, point 9).

``metrics.privacy``, ``metrics.report`` (``evaluate``, ``EvaluationReport``, ``MetricScore``),
every command-line argument, and ``RecordingSynthesizer`` / ``SyntheticRecording``. Every test
asserts the error's type and that its message names the argument (or the file); the checks run
before any metric, fit or file read, and no array given is modified.
"""

import mne
import numpy as np
import pytest

from cli_runner import main_exit
from mne_dualdiv import DualDivergenceGenerator, EpochsSynthesizer
from mne_dualdiv.metrics import (EvaluationReport, MetricScore, attack_scores,
                                 closest_record_distances, evaluate, membership_inference_auc,
                                 privacy_report_scores, privacy_scores)
from mne_dualdiv.metrics import report as report_module
from mne_dualdiv.metrics.report import check_html_name, check_metrics

RNG = np.random.default_rng(0)
MEMBERS, NONMEMBERS, SYNTHETIC = (RNG.standard_normal((12, 2, 6)) for _ in range(3))

pytestmark = pytest.mark.usefixtures("single_torch_thread")


def read_only(*arrays):
    """Read-only copies of ``arrays`` (a write would raise), and copies to compare with."""
    frozen = []
    for array in arrays:
        array = np.array(array)
        array.setflags(write=False)
        frozen.append(array)
    return frozen, [array.copy() for array in frozen]


def assert_unchanged(arrays, copies):
    for array, copy in zip(arrays, copies):
        np.testing.assert_array_equal(array, copy)


# ==================================================================== metrics.privacy
PRIVACY_CALLS = {
    "privacy_scores": lambda m, n, s, **k: privacy_scores(m, n, s, **k),
    "attack_scores": lambda m, n, s, **k: attack_scores(m, n, s),
    "membership_inference_auc": lambda m, n, s, **k: membership_inference_auc(m, n, s),
    "privacy_report_scores": lambda m, n, s, **k: privacy_report_scores(m, n, s, **k),
}
#: Values that are no data set, and the error each gives.
NOT_DATA = {"None": (None, TypeError), "str": ("abc", TypeError), "dict": ({}, TypeError),
            "ragged": ([[1.0, 2.0], [3.0]], TypeError), "1-D": (np.ones(5), ValueError),
            "empty": (np.zeros((0, 2, 6)), ValueError),
            "object with None": (np.array([[[1.0, None]]], dtype=object), TypeError)}


@pytest.mark.parametrize("kind", NOT_DATA)
@pytest.mark.parametrize("argument", ["members", "nonmembers", "synthetic"])
@pytest.mark.parametrize("function", ["privacy_scores", "privacy_report_scores"])
def test_privacy_sets_that_are_not_data_are_refused_by_name(function, argument, kind):
    sets = dict(members=MEMBERS, nonmembers=NONMEMBERS, synthetic=SYNTHETIC)
    sets[argument], error = NOT_DATA[kind]
    with pytest.raises(error, match=rf"^{argument} "):
        PRIVACY_CALLS[function](sets["members"], sets["nonmembers"], sets["synthetic"],
                                random_state=0)


@pytest.mark.parametrize("kind", ["None", "str", "1-D", "object with None"])
@pytest.mark.parametrize("argument", ["reference", "queries"])
def test_closest_record_distances_refuses_what_is_not_data_by_name(argument, kind):
    sets = dict(reference=MEMBERS, queries=SYNTHETIC)
    sets[argument], error = NOT_DATA[kind]
    with pytest.raises(error, match=rf"^{argument} "):
        closest_record_distances(**sets)


def test_an_object_array_holding_none_is_a_type_error_not_nan():
    # numpy turns None into NaN; the message used to speak of NaN values.
    values = MEMBERS.astype(object)
    values[0, 0, 0] = None
    with pytest.raises(TypeError, match="^reference must be an array of real numbers, but it "
                                        "holds a NoneType value"):
        closest_record_distances(values, SYNTHETIC)


def test_closest_record_distances_names_both_sets_when_widths_differ():
    with pytest.raises(ValueError, match="queries have 4 values per sample, reference 12"):
        closest_record_distances(MEMBERS, np.ones((3, 4)))


@pytest.mark.parametrize("random_state, error", [(-1, ValueError), (1.5, TypeError),
                                                 (True, TypeError), ("0", TypeError),
                                                 (np.random.RandomState(0), TypeError)])
@pytest.mark.parametrize("function", ["privacy_scores", "privacy_report_scores"])
def test_privacy_random_state_is_checked_by_name(function, random_state, error):
    with pytest.raises(error, match="^random_state must be"):
        PRIVACY_CALLS[function](MEMBERS, NONMEMBERS, SYNTHETIC, random_state=random_state)


@pytest.mark.parametrize("function", ["privacy_scores", "privacy_report_scores"])
def test_too_few_nonmembers_are_refused_by_name(function):
    with pytest.raises(ValueError, match="^nonmembers must have at least 4 samples, got 3"):
        PRIVACY_CALLS[function](MEMBERS, NONMEMBERS[:3], SYNTHETIC, random_state=0)


@pytest.mark.parametrize("function", PRIVACY_CALLS)
def test_privacy_functions_do_not_modify_their_inputs(function):
    arrays, copies = read_only(MEMBERS, NONMEMBERS, SYNTHETIC)
    PRIVACY_CALLS[function](*arrays, random_state=0)
    assert_unchanged(arrays, copies)


def test_closest_record_distances_does_not_modify_its_inputs():
    arrays, copies = read_only(MEMBERS, SYNTHETIC)
    assert closest_record_distances(*arrays).shape == (12,)
    assert_unchanged(arrays, copies)


# ==================================================================== metrics.report
@pytest.mark.parametrize("field, value, error", [
    ("name", 3, TypeError), ("name", "", TypeError), ("category", "speed", ValueError),
    ("better", "up", ValueError), ("synthetic", "1.0", TypeError),
    ("synthetic", None, TypeError), ("reference", True, TypeError),
    ("real_spread", [0.1], TypeError), ("unit", 3, TypeError), ("details", [1], TypeError),
])
def test_metric_score_fields_are_checked_by_name(field, value, error):
    fields = dict(name="psd_distance", category="fidelity", synthetic=1.0, reference=2.0,
                  better="lower")
    fields[field] = value
    with pytest.raises(error, match=field):
        MetricScore(**fields)


def test_metric_score_keeps_nan_and_inf_values():
    score = MetricScore("dcr_ratio", "privacy", np.inf, np.float64(np.nan), "higher")
    assert score.as_good_as_reference is None


SCORE = MetricScore("psd_distance", "fidelity", 1.0, 2.0, "lower")


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(scores=None), TypeError, "^scores must be a list of MetricScore"),
    (dict(scores=SCORE), TypeError, "^scores must be a list of MetricScore"),
    (dict(scores=[SCORE, 1]), TypeError, r"^scores\[1\] must be a MetricScore"),
    (dict(scores=[SCORE, SCORE]), ValueError, "^scores holds the metric 'psd_distance' twice"),
    (dict(skipped=["a"]), TypeError, "^skipped must be None or a dict"),
    (dict(n_samples=[("train", 3)]), TypeError, "^n_samples must be None or a dict"),
    (dict(n_samples=dict(train=-1)), ValueError, r"^n_samples\['train'\] must be at least 0"),
    (dict(n_samples=dict(train=2.5)), TypeError, r"^n_samples\['train'\] must be an int"),
    (dict(sfreq=-1.0), ValueError, "^sfreq must be > 0"),
    (dict(sfreq="100"), TypeError, "^sfreq must be a number"),
    (dict(ch_names="Cz"), TypeError, "^ch_names must be None or a list of str"),
    (dict(ch_names=[1, 2]), TypeError, "^ch_names must be None or a list of str"),
    (dict(dual_values_train="abc"), TypeError, "^dual_values_train must be an array"),
    (dict(dual_values_train=np.ones((2, 3))), ValueError, "^dual_values_train must be a 1-D"),
    (dict(dual_values_train=[1.0, np.nan]), ValueError, "^dual_values_train contains NaN"),
], ids=lambda value: None)
def test_evaluation_report_arguments_are_checked_by_name(kwargs, error, match):
    kwargs = dict(dict(scores=[SCORE]), **kwargs)
    with pytest.raises(error, match=match):
        EvaluationReport(**kwargs)


@pytest.mark.parametrize("key", [3, ["psd_distance"], None])
def test_evaluation_report_is_indexed_by_metric_name(key):
    with pytest.raises(TypeError, match="looked up by its name"):
        EvaluationReport([SCORE])[key]


@pytest.mark.parametrize("method, kwargs, error, match", [
    ("plot_metrics", dict(show="yes"), TypeError, "^show must be a bool"),
    ("plot_psd", dict(average="no"), TypeError, "^average must be a bool"),
    ("plot_psd", dict(show=1), TypeError, "^show must be a bool"),
    ("plot_dual_histogram", dict(show="yes"), TypeError, "^show must be a bool"),
    ("plot_dual_histogram", dict(bins=0), ValueError, "^bins must be at least 1"),
    ("plot_dual_histogram", dict(bins=2.5), TypeError, "^bins must be an int"),
])
def test_report_plots_check_their_arguments_first(method, kwargs, error, match):
    with pytest.raises(error, match=match):
        getattr(EvaluationReport([SCORE]), method)(**kwargs)


@pytest.mark.parametrize("fname", [None, 3, ["report.html"]])
def test_check_html_name_refuses_what_is_not_a_path_by_name(fname):
    with pytest.raises(TypeError, match="^argument --html must be a str or a path-like"):
        check_html_name(fname, "argument --html")


@pytest.mark.parametrize("fname, overwrite, error, match", [
    (3, False, TypeError, "^fname must be a str or a path-like"),
    ("report.html", "yes", TypeError, "^overwrite must be a bool"),
    ("report.pdf", False, ValueError, "^fname must end in .html or .htm"),
])
def test_report_save_checks_its_arguments_by_name(tmp_path, monkeypatch, fname, overwrite,
                                                  error, match):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=match):
        EvaluationReport([SCORE]).save(fname, overwrite=overwrite)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("metrics, error, match", [
    ([], TypeError, "^metrics must be 'all'"), (3, TypeError, "^metrics must be 'all'"),
    ({"fidelity"}, TypeError, "^metrics must be 'all'"),
    ([["fidelity"]], TypeError, r"^metrics must hold metric or category names \(str\)"),
    (["fidelity", None], TypeError, "^metrics must hold metric or category names"),
    (["fidelity", "speed"], ValueError, "^Invalid value for the 'metrics' parameter"),
])
def test_check_metrics_names_the_argument(metrics, error, match):
    with pytest.raises(error, match=match):
        check_metrics(metrics)


@pytest.fixture()
def no_metric_runs(monkeypatch):
    """Make every metric of evaluate fail: a check that comes later would be too late."""
    def must_not_run(*args, **kwargs):
        raise AssertionError("a metric ran before the arguments were checked")

    for name in ("psd_distance", "covariance_distance", "discriminative_score",
                 "frechet_distance", "entropy_score", "cluster_divergence", "total_correlation",
                 "sample_divergence", "ood_rate", "tstr_score", "augmentation_score",
                 "privacy_scores"):
        monkeypatch.setattr(report_module, name, must_not_run)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(metrics=[["fidelity"]]), TypeError, "^metrics must hold"),
    (dict(fit_estimators="no"), TypeError, "^fit_estimators must be a bool"),
    (dict(n_components=0), ValueError, "^n_components must be at least 1"),
    (dict(n_components=2.5), TypeError, "^n_components must be an int"),
    (dict(n_components=True), TypeError, "^n_components must be an int"),
    (dict(estimator_params=[("max_steps", 2)]), TypeError, "^estimator_params must be None"),
    (dict(estimator_params=dict(bogus=1)), ValueError, "^estimator_params has entries"),
    (dict(estimator_params=dict(random_state=0)), ValueError,
     "^estimator_params must not hold random_state"),
    (dict(classifier="svm"), TypeError, "^classifier must be None or a scikit-learn"),
    (dict(generator="generator"), TypeError, "^generator must be a fitted"),
    (dict(y_train=[0, 1]), ValueError, r"^y_train must be a 1-D array with one label per "
                                       r"sample \(12\)"),
    (dict(y_heldout=[np.nan] * 12), ValueError, "^y_heldout contains NaN"),
    (dict(y_synthetic=[None] * 12), ValueError, "^y_synthetic contains missing labels"),
    (dict(sfreq=0), ValueError, "^sfreq must be > 0"),
    (dict(random_state=-1), ValueError, "^random_state must be"),
    (dict(verbose="loud"), ValueError, "^verbose must be"),
], ids=lambda value: None)
def test_evaluate_checks_every_option_before_any_metric(no_metric_runs, kwargs, error, match):
    kwargs = dict(dict(metrics="fidelity", random_state=0), **kwargs)
    with pytest.raises(error, match=match):
        evaluate(MEMBERS, NONMEMBERS, SYNTHETIC, **kwargs)


@pytest.mark.parametrize("argument", ["train", "heldout", "synthetic"])
def test_evaluate_refuses_a_missing_set_by_name(no_metric_runs, argument):
    sets = dict(train=MEMBERS, heldout=NONMEMBERS, synthetic=SYNTHETIC)
    sets[argument] = None
    with pytest.raises(TypeError, match=f"^{argument} "):
        evaluate(**sets)


def test_evaluate_does_not_modify_its_inputs():
    arrays, copies = read_only(MEMBERS, NONMEMBERS, SYNTHETIC, RNG.standard_normal((8, 2, 6)),
                               np.repeat([0, 1], 6), np.repeat([0, 1], 6), np.repeat([0, 1], 6))
    train, heldout, synthetic, nonmembers, y_train, y_heldout, y_synthetic = arrays
    report = evaluate(train, heldout, synthetic, metrics=["covariance_distance", "privacy"],
                      y_train=y_train, y_heldout=y_heldout, y_synthetic=y_synthetic,
                      nonmembers=nonmembers, random_state=0)
    assert "membership_inference_auc" in report.scores
    assert_unchanged(arrays, copies)


def test_evaluation_report_copies_the_dual_values():
    (values,), (copy,) = read_only(np.arange(5.0))
    report = EvaluationReport([SCORE], dual_values_train=values)
    assert report.dual_values_train is not values
    assert_unchanged([values], [copy])


# ==================================================================== the command line
def epochs_file(folder, name, n_per_condition=30, seed=0):
    """Two conditions of 2-channel, 8-sample EEG epochs as an -epo.fif file."""
    rng = np.random.default_rng(seed)
    n = 2 * n_per_condition
    events = np.c_[np.arange(n) * 100, np.zeros(n, int), np.repeat([1, 2], n_per_condition)]
    fname = folder / f"{name}-epo.fif"
    mne.EpochsArray(1e-6 * rng.standard_normal((n, 2, 8)), mne.create_info(2, 100.0, "eeg"),
                    events=events, event_id=dict(a=1, b=2), verbose=False).save(fname,
                                                                                verbose=False)
    return fname


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory, tiny_params):
    folder = tmp_path_factory.mktemp("cli")
    real = epochs_file(folder, "real")
    model = folder / "model.pt"
    template = DualDivergenceGenerator(**tiny_params, random_state=0)
    EpochsSynthesizer(generator=template, random_state=0).fit(
        mne.read_epochs(real, verbose=False)).save(model)
    return dict(real=real, heldout=epochs_file(folder, "heldout", seed=1),
                synthetic=epochs_file(folder, "synthetic", seed=2), model=model)


def cli_args(command, files, out):
    """The arguments of a ``command`` that would run, to which a bad option is added."""
    return {"demo": ["demo", "--out", out / "demo-epo.fif", "--quick"],
            "augment": ["augment", files["real"], out / "out-epo.fif", "--quick"],
            "fit": ["fit", files["real"], out / "model.pt", "--quick"],
            "sample": ["sample", files["model"], out / "out-epo.fif"],
            "evaluate": ["evaluate", files["real"], files["synthetic"], "--heldout",
                         files["heldout"], "--csv", out / "scores.csv"]}[command]


@pytest.mark.parametrize("command, option, message", [
    ("demo", ["--seed", "-1"], "argument --seed must be at least 0, got -1"),
    ("demo", ["--ratio", "nan"], "argument --ratio must be finite"),
    ("augment", ["--seed", "-2"], "argument --seed must be at least 0, got -2"),
    ("augment", ["-n", "-5"], "argument -n/--n-epochs must be at least 0, got -5"),
    ("augment", ["--ratio", "inf"], "argument --ratio must be finite"),
    ("augment", ["--n-jobs", "0"], "argument --n-jobs must be a positive int"),
    ("augment", ["--n-jobs", "-100000"], "argument --n-jobs must be a positive int"),
    ("fit", ["--seed", "-1"], "argument --seed must be at least 0"),
    ("fit", ["--n-jobs", "0"], "argument --n-jobs must be a positive int"),
    ("sample", ["-n", "0"], "argument -n/--n-epochs must be at least 1, got 0"),
    ("sample", ["-n", "-3"], "argument -n/--n-epochs must be at least 1, got -3"),
    ("sample", ["-n", "4", "--seed", "-3"], "argument --seed must be at least 0"),
    ("sample", ["--ratio", "-2"], "argument --ratio must be >= 0"),
    ("sample", ["-n", "4", "--duration", "nan"], "argument --duration must be finite"),
    ("sample", ["-n", "4", "--duration", "-1"], "argument --duration must be > 0"),
    ("evaluate", ["--seed", "-1"], "argument --seed must be at least 0"),
    ("evaluate", ["--metrics", "fidelity", "speed"],
     "Invalid value for the '--metrics' parameter. Allowed values are 'all'"),
], ids=lambda value: None)
def test_cli_values_are_usage_errors_before_any_file_is_read(capsys, tmp_path, monkeypatch,
                                                             cli_files, command, option,
                                                             message):
    def must_not_read(*args, **kwargs):
        raise AssertionError("a file was read before the arguments were checked")

    monkeypatch.setattr(mne, "read_epochs", must_not_read)
    monkeypatch.setattr("mne_dualdiv.datasets.load_finger_movements", must_not_read)
    status, _, err = main_exit(capsys, *cli_args(command, cli_files, tmp_path), *option)
    assert status == 2, err
    assert f"mne-dualdiv {command}: error: {message}" in err
    assert not list(tmp_path.iterdir())


def test_cli_demo_refuses_an_output_that_is_no_epochs_file(capsys, tmp_path):
    status, _, err = main_exit(capsys, "demo", "--out", tmp_path / "augmented.txt", "--quick")
    assert status == 2
    assert "argument --out: an epochs file name must end in -epo.fif" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command, argument, other", [("augment", "OUT", "IN"),
                                                      ("fit", "MODEL", "IN"),
                                                      ("evaluate", "--csv", "REAL")])
def test_cli_refuses_to_overwrite_an_input_with_its_output(capsys, tmp_path, command, argument,
                                                           other):
    real = epochs_file(tmp_path, "real")
    before = real.read_bytes()
    args = {"augment": ["augment", real, real], "fit": ["fit", real, real],
            "evaluate": ["evaluate", real, real, "--heldout", real, "--csv", real]}[command]
    status, _, err = main_exit(capsys, *args, "--overwrite")
    assert status == 2
    assert f"argument {argument}: {real} is the same file as {other}" in err
    assert real.read_bytes() == before


def test_cli_sample_refuses_to_overwrite_its_model(capsys, tmp_path, cli_files):
    model = tmp_path / "model-epo.fif"
    model.write_bytes(cli_files["model"].read_bytes())
    status, _, err = main_exit(capsys, "sample", model, model, "-n", "4", "--overwrite")
    assert status == 2 and "argument OUT" in err and "is the same file as MODEL" in err
    assert model.read_bytes() == cli_files["model"].read_bytes()


def test_cli_evaluate_refuses_the_same_csv_and_html_file(capsys, tmp_path, cli_files):
    out = tmp_path / "scores.html"
    status, _, err = main_exit(capsys, "evaluate", cli_files["real"], cli_files["synthetic"],
                               "--heldout", cli_files["heldout"], "--csv", out, "--html", out)
    assert status == 2
    assert "argument --html" in err and "is the same file as --csv" in err


def test_cli_sample_refuses_duration_for_an_epochs_model(capsys, tmp_path, cli_files):
    out = tmp_path / "out-epo.fif"
    status, _, err = main_exit(capsys, "sample", cli_files["model"], out, "-n", "4",
                               "--duration", "3")
    assert status == 2
    assert "argument --duration: only for a model fitted on a recording folder" in err
    assert not out.exists()


def test_cli_fit_refuses_no_per_condition_for_a_recording_folder(capsys, tmp_path):
    (tmp_path / "recording").mkdir()
    status, _, err = main_exit(capsys, "fit", tmp_path / "recording", tmp_path / "m.pt",
                               "--no-per-condition")
    assert status == 2
    assert "argument --no-per-condition: only for an epochs file" in err
    assert not (tmp_path / "m.pt").exists()


# ==================================================================== recordings
@pytest.fixture(scope="module")
def recording_pair(tmp_path_factory):
    pytest.importorskip("spikeinterface.core")
    from mne_dualdiv.adapters.recording import RecordingSynthesizer
    from mne_dualdiv.datasets import simulate_recording

    recording, _ = simulate_recording(num_channels=8, num_units=3, duration=4.0, seed=2)
    synthesizer = RecordingSynthesizer(fit_duration=4.0, noise_duration=1.0, max_snippets=200,
                                       random_state=0).fit(recording)
    synthesizer.save(tmp_path_factory.mktemp("recording") / "model.pt")
    return recording, synthesizer


@pytest.fixture(scope="module")
def other_recording():
    """A SyntheticRecording of 4 channels, made by another synthesizer."""
    from mne_dualdiv.adapters.recording import RecordingSynthesizer
    from mne_dualdiv.datasets import simulate_recording

    recording, _ = simulate_recording(num_channels=4, num_units=2, duration=3.0, seed=1)
    return RecordingSynthesizer(fit_duration=3.0, noise_duration=1.0, max_snippets=200,
                                random_state=0).fit(recording).sample(0.2, random_state=0)


@pytest.mark.parametrize("template_model", ["gaussian", "engine"])
def test_recording_generator_is_checked_whatever_the_template_model(recording_pair,
                                                                    template_model):
    from mne_dualdiv.adapters.recording import RecordingSynthesizer

    synthesizer = RecordingSynthesizer(template_model=template_model, generator="engine")
    with pytest.raises(TypeError, match="^generator must be None or a DualDivergenceGenerator"):
        synthesizer.fit(recording_pair[0])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(durations=1e-9), ValueError, r"^durations\[0\] of 1e-09 s at 30000 Hz is less than "
                                       "one frame"),
    (dict(durations=[0.1, 1e-6]), ValueError, r"^durations\[1\] of 1e-06 s"),
    (dict(durations=np.array([[0.1]])), TypeError, r"^durations\[0\] must be a number"),
    (dict(durations=0.1, n_units=10 ** 9), ValueError, "^n_units=1000000000 would draw "
                                                       "candidate templates of about"),
    (dict(durations=0.1, file_path=3), TypeError, "^file_path must be a str or a path-like"),
], ids=lambda value: None)
def test_recording_sample_arguments_are_checked_by_name(recording_pair, kwargs, error, match):
    with pytest.raises(error, match=match):
        recording_pair[1].sample(random_state=0, **kwargs)


def test_recording_sample_takes_a_zero_dimensional_duration(recording_pair):
    (durations,), (copy,) = read_only(np.array(0.05))
    assert recording_pair[1].sample(durations, random_state=0).get_num_samples() == 1500
    assert_unchanged([durations], [copy])


def test_recording_sample_does_not_modify_its_durations(recording_pair):
    (durations,), (copy,) = read_only(np.array([0.05, 0.02]))
    synthetic = recording_pair[1].sample(durations, random_state=0)
    assert synthetic.get_num_samples(segment_index=1) == 600
    assert_unchanged([durations], [copy])


@pytest.mark.parametrize("duration, error", [(-1.0, ValueError), (np.inf, ValueError),
                                             ([0.5, 0.5], TypeError), ("1", TypeError)])
def test_privacy_report_checks_duration_by_name(recording_pair, duration, error):
    recording, synthesizer = recording_pair
    with pytest.raises(error, match="^duration must be"):
        synthesizer.privacy_report(recording, duration=duration, random_state=0)


def test_privacy_report_refuses_a_synthetic_recording_of_other_channels(recording_pair,
                                                                        other_recording):
    recording, synthesizer = recording_pair
    with pytest.raises(ValueError, match="^synthetic has 4 channels; the synthesizer was "
                                         "fitted on 8"):
        synthesizer.privacy_report(recording, synthetic=other_recording, random_state=0)


def test_privacy_report_refuses_a_recording_of_another_sampling_frequency(recording_pair):
    from spikeinterface.core import NumpyRecording

    other = NumpyRecording(np.zeros((10000, 8), np.float32), sampling_frequency=10000.0)
    with pytest.raises(ValueError, match="^recording is sampled at 10000 Hz; the synthesizer "
                                         "was fitted at 30000 Hz"):
        recording_pair[1].privacy_report(other, random_state=0)


@pytest.mark.parametrize("order", ["Z", "c", 1])
def test_get_traces_checks_order_by_name(recording_pair, order):
    synthetic = recording_pair[1].sample(0.05, random_state=0)
    with pytest.raises(ValueError, match="^Invalid value for the 'order' parameter"):
        synthetic.get_traces(end_frame=10, order=order)


def test_get_traces_in_fortran_order_still_works(recording_pair):
    synthetic = recording_pair[1].sample(0.05, random_state=0)
    traces = synthetic.get_traces(end_frame=10, order="F")
    assert traces.shape == (10, 8) and traces.flags.f_contiguous


def test_a_sample_too_large_for_memory_is_refused_by_name_before_any_walk(monkeypatch, tiny_params):
    # EpochsSynthesizer.sample(10**12) was a bare MemoryError; 10**8 failed in torch's
    # allocator after 70 s (92 GB asked for).
    from mne_dualdiv import DualDivergenceGenerator

    rng = np.random.default_rng(0)
    generator = DualDivergenceGenerator(**tiny_params).fit(rng.standard_normal((40, 3, 20)))

    def no_walk(*args, **kwargs):
        raise AssertionError("walked before refusing")

    monkeypatch.setattr(generator, "_sample_scaled", no_walk)
    for n in (10**12, 10**8):
        with pytest.raises(ValueError, match=rf"n_samples={n} would need .* GiB"):
            generator.sample(n)


def test_epochs_too_many_for_memory_are_refused_by_name_before_any_walk(tiny_params):
    # EpochsSynthesizer.sample(10**12) was a bare MemoryError (a list of 10**12 labels).
    rng = np.random.default_rng(0)
    info = mne.create_info(4, 100.0, "eeg")
    events = np.column_stack([np.arange(40) * 100, np.zeros(40, int), np.ones(40, int)])
    epochs = mne.EpochsArray(rng.standard_normal((40, 4, 50)) * 1e-6, info, events=events,
                             verbose=False)
    synthesizer = EpochsSynthesizer(generator=DualDivergenceGenerator(**tiny_params),
                                    random_state=0).fit(epochs)
    with pytest.raises(ValueError, match=r"n_epochs=1000000000000 would need .* GiB"):
        synthesizer.sample(10**12)
