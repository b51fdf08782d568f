"""Issue 20, point 4: the membership attack ensemble on the spike snippets of a recording.

For each case of ``recording_fidelity.py`` (``make_real``, ``CASES``) and seed: a ground-truth
recording of ``--duration`` seconds (saved as a binary folder), a
:class:`~mne_dualdiv.adapters.recording.RecordingSynthesizer` fitted on its first
``--fit-duration`` seconds (``random_state=seed``, other settings at their defaults), then
:meth:`~mne_dualdiv.adapters.recording.RecordingSynthesizer.privacy_report` on the whole
recording (``random_state=seed``: a synthetic recording of 60 s, at most 2000 snippets in each
set). The report's ``membership`` is
:func:`~mne_dualdiv.metrics.privacy.membership_audit` with spike snippets as records: the real
spikes the synthesizer learned from (members), the real spikes it never saw (the non-members:
those after the first ``max_snippets`` = 5000 of the fit, or after ``--fit-duration`` when that
comes first) and the synthetic spikes (the release); the reference releases half of the
held-out spikes instead.

One JSON line per (case, seed): each attack's AUC and interval, the maximum, the real
release's, the pass criteria and the timings (the audit's per-member ``exposure`` is left out).

Usage (from the repository root; ``OMP_NUM_THREADS=1`` is set here when not given)::

    python benchmarks/recording_privacy_ensemble.py --cases si32 hard32 --seeds 0 1 2 \\
        --jsonl benchmarks/results/recording_privacy_ensemble.jsonl
    python benchmarks/recording_privacy_ensemble.py \\
        --from-jsonl benchmarks/results/recording_privacy_ensemble.jsonl --markdown docs/privacy.md

The second writes the table of ``docs/privacy.md`` between its markers
(``privacy-recording-ensemble``) from the JSON lines alone.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy: the machine runs other work

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
for folder in (REPO_ROOT, Path(__file__).resolve().parent):  # run from a checkout
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from _privacy_report import (add_page_options, command_line, provenance, table,  # noqa: E402
                             write_sections)
from _rows import read_rows  # noqa: E402
from compare import machine_info, package_versions  # noqa: E402
from recording_fidelity import CASES, make_real, measured_commit  # noqa: E402

#: The cases measured by default: issue 17's two 32-channel recordings.
DEFAULT_CASES = ("si32", "hard32")


def run_case(case, seed, duration, fit_duration, workdir):
    """One recording, one fit, one privacy report: a JSON-ready dict."""
    from mne_dualdiv.adapters.recording import RecordingSynthesizer

    real, _ = make_real(case, duration, seed)
    real = real.save(folder=Path(workdir) / f"{case}_{seed}", n_jobs=1, progress_bar=False)
    start = time.perf_counter()
    synthesizer = RecordingSynthesizer(fit_duration=fit_duration, random_state=seed).fit(real)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    report = synthesizer.privacy_report(real, random_state=seed)
    report_seconds = time.perf_counter() - start
    record = report.to_dict()
    if record["membership"] is not None:
        del record["membership"]["exposure"]  # one value per member snippet
    return dict(case=case, seed=seed, duration=duration, fit_duration=fit_duration,
                real_units=CASES[case]["num_units"], clusters=synthesizer.n_real_units_,
                snippets_learned=len(synthesizer.snippet_positions_), privacy=record,
                seconds=dict(fit=fit_seconds, privacy_report=report_seconds))


def summary_line(row):
    """The row's audit in one line: each attack's AUC, the maximum and the real release's."""
    audit = row["privacy"]["membership"]
    if audit is None:
        return f"{row['case']} seed {row['seed']}: no membership audit (too few snippets)"
    aucs = ", ".join(f"{name} {audit['auc'][name]:.3f}" for name in audit["attacks"])
    return (f"{row['case']} seed {row['seed']}: {aucs}; max {audit['max_auc']:.3f} "
            f"({audit['strongest_attack']}), real release {audit['reference_max_auc']:.3f} "
            f"[fit {row['seconds']['fit']:.0f} s, report {row['seconds']['privacy_report']:.0f} s]")


def ensemble_table(rows):
    """One line per (case, seed): the snippet sets, every attack's AUC, the maximum beside the
    real release's, the members singled out and the verdicts."""
    audited = [row for row in rows if row["privacy"]["membership"] is not None]
    attacks = audited[0]["privacy"]["membership"]["attacks"]
    body = []
    for row in sorted(audited, key=lambda r: (r["case"], r["seed"])):
        audit, passes = row["privacy"]["membership"], row["privacy"]["passes"]
        sizes = audit["sizes"]
        body.append([
            row["case"], row["seed"],
            f"{sizes['n_members']} / {sizes['n_nonmembers']} / {sizes['n_synthetic']}",
            *[f"{audit['auc'][name]:.3f}" for name in attacks],
            f"{audit['max_auc']:.3f} ({audit['max_auc_ci'][0]:.3f}-{audit['max_auc_ci'][1]:.3f})",
            audit["strongest_attack"], f"{audit['reference_max_auc']:.3f}",
            f"{audit['n_beyond_nonmembers']} ({audit['n_beyond_by_chance']:.1f}); real "
            f"{audit['reference_n_beyond_nonmembers']} "
            f"({audit['reference_n_beyond_by_chance']:.1f})",
            f"{row['privacy']['snippets']['share_closer']:.3f}",
            ", ".join(name for name, ok in passes.items() if ok) or "-",
            f"{row['seconds']['fit']:.0f} / {row['seconds']['privacy_report']:.0f}"])
    header = ["case", "seed", "member / held-out / synthetic snippets", *attacks,
              "max AUC (95 % interval)", "strongest", "real release: max AUC",
              "members above every held-out (by chance); real release, the same",
              "snippets closer (share)", "criteria passed", "fit / report (s)"]
    maxima = [row["privacy"]["membership"]["max_auc"] for row in audited]
    reference = [row["privacy"]["membership"]["reference_max_auc"] for row in audited]
    return (table(header, body) + f"\n\nMaximum AUC {min(maxima):.3f}-{max(maxima):.3f} over "
            f"{len(audited)} cells (mean {np.mean(maxima):.3f}); the real releases "
            f"{min(reference):.3f}-{max(reference):.3f} (mean {np.mean(reference):.3f}).")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(DEFAULT_CASES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--duration", type=float, default=60.0,
                        help="seconds of real recording")
    parser.add_argument("--fit-duration", type=float, default=45.0,
                        help="seconds the synthesizer learns from (its fit_duration)")
    parser.add_argument("--jsonl", default=None, help="append the measured rows here")
    add_page_options(parser)
    args = parser.parse_args(argv)
    command = command_line(__file__, argv)
    if args.from_jsonl:
        rows, sources = read_rows(args.from_jsonl), args.from_jsonl
    else:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(1)
        fields = dict(commit=measured_commit(), machine=machine_info(),
                      versions=package_versions(), command=command)
        rows, sources = [], [args.jsonl or "(this run)"]
        with threadpool_limits(1), tempfile.TemporaryDirectory() as workdir:
            for case in args.cases:
                for seed in args.seeds:
                    row = run_case(case, seed, args.duration, args.fit_duration, workdir)
                    row.update(fields, date=datetime.datetime.now(
                        datetime.timezone.utc).isoformat(timespec="seconds"))
                    rows.append(row)
                    print(summary_line(row), flush=True)
                    if args.jsonl:
                        with open(args.jsonl, "a") as out:
                            out.write(json.dumps(row) + "\n")
    if args.markdown:
        write_sections(args.markdown, {"privacy-recording-ensemble": provenance(
            rows, command, sources) + "\n\n" + ensemble_table(rows)})
    return rows


if __name__ == "__main__":
    main()
