"""The quick comparison runs end to end and writes its JSON, markdown and figures."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mne_dualdiv.baselines import BASELINES

pytest.importorskip("spikeinterface")  # the simulated recording of the quick grid
pytest.importorskip("matplotlib")

COMPARE = Path(__file__).resolve().parents[1] / "benchmarks" / "compare.py"
METHODS = ["dual_divergence", "dual_divergence_private", *BASELINES]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("comparison")
    subprocess.run([sys.executable, str(COMPARE), "--quick", "--out-dir", str(out_dir)],
                   check=True, timeout=1200, capture_output=True, text=True)
    return out_dir


@pytest.mark.slow
def test_quick_run_records_every_method_in_every_cell(quick_run):
    results = json.loads((quick_run / "results.json").read_text())
    assert results["budget_name"] == "quick"
    assert "--quick" in results["command"]
    assert results["machine"]["nproc"] >= 1 and results["machine"]["platform"]
    assert results["date"]
    assert list(results["methods"]) == METHODS
    cells = {(r["dataset"], r["size"], r["seed"]) for r in results["records"]}
    assert cells == {(d, s, seed) for d, s in results["cells"] for seed in results["budget"]["seeds"]}
    for cell in cells:
        methods = [r["method"] for r in results["records"]
                   if (r["dataset"], r["size"], r["seed"]) == cell]
        assert methods == METHODS
    for record in results["records"]:
        assert record["status"] in ("ok", "failed")
        if not record["method"].startswith("dual_divergence"):  # baselines do not fail here
            assert record["status"] == "ok", record.get("error")
        if record["status"] == "ok":
            assert record["fit_time_s"] >= 0 and record["sample_time_s"] >= 0
            assert "psd_distance" in record["metrics"]
            assert "membership_inference_auc" in record["metrics"]


@pytest.mark.slow
def test_pooled_cells_skip_utility_and_per_class_cells_score_it(quick_run):
    results = json.loads((quick_run / "results.json").read_text())
    ok = [r for r in results["records"] if r["status"] == "ok"]
    pooled = [r for r in ok if r["fit_mode"] == "pooled"]
    per_class = [r for r in ok if r["fit_mode"] == "per_class"]
    assert pooled and per_class
    assert all("tstr_score" in r["skipped"] for r in pooled)
    assert all("tstr_score" in r["metrics"] and "ood_rate" in r["metrics"] for r in per_class)


@pytest.mark.slow
def test_markdown_is_generated_from_the_json_alone(quick_run, tmp_path):
    markdown = (quick_run / "comparison.md").read_text()
    for method in METHODS:
        assert f"| {method} |" in markdown
    assert "Command: `python benchmarks/compare.py --quick" in markdown
    assert "Machine:" in markdown and "Date (UTC):" in markdown
    assert (quick_run / "finger_movements_metrics.png").stat().st_size > 0
    assert (quick_run / "fit_times.png").stat().st_size > 0
    # Regenerating from the JSON gives the same file: nothing in it comes from elsewhere.
    subprocess.run([sys.executable, str(COMPARE), "--from-json",
                    str(quick_run / "results.json"), "--out-dir", str(tmp_path)],
                   check=True, timeout=300, capture_output=True)
    assert (tmp_path / "comparison.md").read_text() == markdown
