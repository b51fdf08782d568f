"""Specifications of ``EvaluationReport.save``: one HTML page with the table and the figures."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mne_dualdiv.metrics import EvaluationReport, MetricScore, evaluate  # noqa: E402


def _images(n, seed):
    """Smooth random images (4 channels x 32 samples) in volts."""
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.standard_normal((n, 4, 32)), axis=-1) * 1e-6


@pytest.fixture(scope="module")
def report():
    return evaluate(_images(40, 0), _images(40, 1), _images(40, 2), sfreq=100.0,
                    metrics="fidelity", random_state=0)


def _ood_score():
    """An ``ood_rate`` score with the details that :meth:`plot_dual_histogram` reads."""
    rng = np.random.default_rng(3)
    details = dict(dual_values_heldout=rng.normal(size=30),
                   dual_values_synthetic=rng.normal(size=30), endpoints=np.array([-2.0, 2.0]))
    return MetricScore("ood_rate", "information", 0.1, 0.05, "closer", details=details)


def test_save_writes_the_table_and_the_figures(report, tmp_path):
    fname = report.save(tmp_path / "report.html")
    assert fname == tmp_path / "report.html"
    text = fname.read_text()
    for name in report.scores:
        assert name in text
    assert "frechet_distance" in text and "<table" in text
    assert "Metrics: synthetic against real" in text and "Power spectra" in text
    assert "Dual space" not in text  # no generator given, no ood_rate
    assert text.count("<img") >= 2  # metrics and PSD, embedded
    assert "Samples: 40 train, 40 heldout, 40 synthetic." in text
    for name in report.skipped:
        assert name in text


def test_save_adds_the_dual_histogram_when_ood_rate_was_computed(report, tmp_path):
    with_ood = EvaluationReport([*report, _ood_score()], n_samples=report.n_samples,
                                sfreq=report.sfreq, dual_values_train=np.zeros(10))
    text = with_ood.save(tmp_path / "report.html").read_text()
    assert "Dual space" in text and text.count("<img") >= 3


def test_save_closes_its_figures(report, tmp_path):
    before = plt.get_fignums()
    report.save(tmp_path / "report.html")
    assert plt.get_fignums() == before


def test_save_refuses_an_existing_file_without_overwrite(report, tmp_path):
    fname = tmp_path / "report.html"
    fname.write_text("keep me")
    with pytest.raises(FileExistsError, match="report.html"):
        report.save(fname)
    assert fname.read_text() == "keep me"
    report.save(fname, overwrite=True)
    assert "psd_distance" in fname.read_text()


def test_save_refuses_a_name_that_is_not_html(report, tmp_path):
    with pytest.raises(ValueError, match=r"report\.h5"):
        report.save(tmp_path / "report.h5")
    assert not (tmp_path / "report.h5").exists()


def test_save_refuses_a_missing_folder(report, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        report.save(tmp_path / "missing" / "report.html")
