"""The measurements behind the privacy audits' choices (``docs/privacy.md``, "Why these ...").

Four parts, each written as JSON lines and as a table of ``docs/privacy.md``:

- ``attacks``: on FingerMovements (both splits pooled, 416 epochs, cut per seed into 160
  members, 128 non-members and 128 fresh epochs), releases that copy the members, copy them
  with white noise of 0.5 or 1.0 robust SD per pixel, or are fresh epochs of the pool; the AUC
  of variants of the density and classifier attacks (estimator, principal components, ``k``)
  under the ensemble's cross-fitted protocol (``ensemble.cross_fitted_scores``);
- ``null``: the full ensemble (``membership_audit``) on fresh releases of 20 splits: each
  attack's mean AUC and spread, the maximum's, and how often the 95 % intervals hold 0.5;
- ``bootstrap``: how much the intervals' end points move with the bootstrap's seed alone;
- ``subjects``: on the simulated cohort, the subject classifier's features (cross-validated
  accuracy on real held-out epochs) and the linked share of real held-out epochs and of
  epochs of unseen subjects at several probability thresholds.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 python benchmarks/privacy_choices.py \\
        --jsonl benchmarks/results/privacy_choices.jsonl --markdown docs/privacy.md
    python benchmarks/privacy_choices.py --from-jsonl benchmarks/results/privacy_choices.jsonl \\
        --markdown docs/privacy.md
"""

import argparse
import datetime
import json
import shlex
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
for folder in (REPO_ROOT, Path(__file__).resolve().parent):  # run from a checkout
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from _privacy_report import provenance, table, write_sections  # noqa: E402
from _rows import read_rows  # noqa: E402
from compare import machine_info, package_versions  # noqa: E402
from recording_fidelity import measured_commit  # noqa: E402

PARTS = ("attacks", "null", "bootstrap", "subjects")
RELEASES = ("copies", "noisy copies 0.5", "noisy copies 1.0", "fresh")
#: Splits of the null part.
N_NULL_SPLITS = 20
THRESHOLDS = (0.5, 0.7, 0.9, 0.99)
COHORTS = ((8, 40), (20, 20))


def _split(seed):
    """Members, non-members and fresh epochs of the pooled FingerMovements splits."""
    from mne_dualdiv.datasets import load_finger_movements

    X, _ = load_finger_movements("all", return_epochs=False)
    order = np.random.default_rng(seed).permutation(len(X))
    return X[order[:160]], X[order[160:288]], X[order[288:]]


# ------------------------------------------------------------------------ attack variants
def _gmm_ratio(n_mixtures):
    def attack(data, rng):
        from sklearn.mixture import GaussianMixture

        targets, released, reference = data.components()

        def log_density(X):
            n = max(1, min(n_mixtures, len(X) // (X.shape[1] + 1)))
            return GaussianMixture(n, reg_covar=1e-3, random_state=0).fit(X).score_samples(
                targets)
        return log_density(released) - log_density(reference)
    return attack


def _knn_ratio(k):
    def attack(data, rng):
        from mne_dualdiv.metrics.privacy.attacks import knn_log_density_ratio

        return knn_log_density_ratio(*data.components(), n_neighbours=k)
    return attack


def _logistic(data, rng):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    targets, released, reference = data.components()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(np.concatenate([released, reference]),
              np.r_[np.ones(len(released)), np.zeros(len(reference))])
    return model.predict_proba(targets)[:, 1]


def variants():
    """``{(variant, n_components): attack function}``."""
    from mne_dualdiv.metrics.privacy.attacks import (classifier_attack, domias_attack,
                                                     knn_density_attack)

    out = {}
    for d in (5, 10, 20):
        out[("DOMIAS, Gaussian KDE (Scott)", d)] = domias_attack
        out[("kNN density ratio, k = 1", d)] = knn_density_attack
        out[("classifier, random forest", d)] = classifier_attack
    out[("DOMIAS, Gaussian mixture, 1 component", 10)] = _gmm_ratio(1)
    out[("DOMIAS, Gaussian mixture, 4 components", 10)] = _gmm_ratio(4)
    out[("kNN density ratio, k = 3", 10)] = _knn_ratio(3)
    out[("kNN density ratio, k = 5", 10)] = _knn_ratio(5)
    out[("classifier, logistic regression", 10)] = _logistic
    return out


def measure_attacks(seeds):
    from mne_dualdiv.metrics._base import scaled_flat
    from mne_dualdiv.metrics.privacy.ensemble import cross_fitted_scores, fold_aucs

    rows = []
    for seed in seeds:
        members, nonmembers, fresh = scaled_flat(*_split(seed))
        noise = np.random.default_rng(seed).standard_normal(members.shape)
        releases = {"copies": members, "noisy copies 0.5": members + 0.5 * noise,
                    "noisy copies 1.0": members + noise, "fresh": fresh}
        for d in (5, 10, 20):
            attacks = {name: f for (name, dim), f in variants().items() if dim == d}
            for release, released in releases.items():
                folds = cross_fitted_scores(members, nonmembers, released, attacks, d,
                                            np.random.default_rng(seed))
                auc, _ = fold_aucs(folds, 0, np.random.default_rng(seed))
                rows += [dict(part="attacks", seed=seed, release=release, variant=name,
                              n_components=d, auc=float(value))
                         for name, value in zip(attacks, auc)]
    return rows


# ------------------------------------------------------------------------ the null, the bootstrap
def measure_null(n_splits):
    from mne_dualdiv.metrics import membership_audit

    rows = []
    for seed in range(n_splits):
        audit = membership_audit(*_split(1000 + seed), random_state=seed)
        rows.append(dict(part="null", seed=seed, auc=audit.auc, ci=audit.ci,
                         max_auc=audit.max_auc, max_auc_ci=list(audit.max_auc_ci),
                         reference_auc=audit.reference_auc,
                         reference_max_auc=audit.reference_max_auc,
                         n_beyond_nonmembers=audit.n_beyond_nonmembers,
                         n_beyond_by_chance=audit.n_beyond_by_chance))
    return rows


def measure_bootstrap(n_repeats=10):
    from mne_dualdiv.metrics._base import scaled_flat
    from mne_dualdiv.metrics.privacy import ATTACKS
    from mne_dualdiv.metrics.privacy.ensemble import (CONFIDENCE, N_BOOTSTRAP,
                                                      cross_fitted_scores, fold_aucs)

    members, nonmembers, fresh = scaled_flat(*_split(0))
    folds = cross_fitted_scores(members, nonmembers, fresh, ATTACKS, 10,
                                np.random.default_rng(0))
    tail = (1 - CONFIDENCE) / 2
    ends = []
    for repeat in range(n_repeats):
        _, resampled = fold_aucs(folds, N_BOOTSTRAP, np.random.default_rng(repeat))
        ends.append(np.quantile(resampled, [tail, 1 - tail], axis=0))
    spread = np.array(ends).std(0)  # (2, n_attacks)
    return [dict(part="bootstrap", n_bootstrap=N_BOOTSTRAP, n_repeats=n_repeats,
                 attacks=list(ATTACKS), sd_low=spread[0].tolist(), sd_high=spread[1].tolist())]


# ------------------------------------------------------------------------ the subject audit
def _feature_classifiers():
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from mne_dualdiv.metrics import default_subject_classifier

    def covariances(X):
        X = X - X.mean(-1, keepdims=True)
        return np.einsum("ect,edt->ecd", X, X) / X.shape[-1]

    def log_variance_correlation(X):
        C = covariances(X)
        variance = np.einsum("ecc->ec", C)
        R = C / np.sqrt(variance[:, :, None] * variance[:, None, :])
        upper = np.triu_indices(X.shape[1], 1)
        return np.c_[np.log(variance), R[:, upper[0], upper[1]]]

    def log_covariance(X):
        values, vectors = np.linalg.eigh(covariances(X))
        L = np.einsum("eij,ej,ekj->eik", vectors, np.log(values), vectors)
        upper = np.triu_indices(X.shape[1])
        return L[:, upper[0], upper[1]]

    def logistic():
        return LogisticRegression(C=1.0, max_iter=1000)

    return {
        "band powers + correlations (default)": default_subject_classifier(100.0),
        "matrix log of the channel covariance": make_pipeline(
            FunctionTransformer(log_covariance), StandardScaler(), logistic()),
        "log-variances + correlations": make_pipeline(
            FunctionTransformer(log_variance_correlation), StandardScaler(), logistic()),
        "20 principal components of the images": make_pipeline(
            FunctionTransformer(lambda X: X.reshape(len(X), -1)), StandardScaler(), PCA(20),
            logistic()),
    }


def measure_subjects(seeds=(0, 1)):
    from mne_dualdiv.datasets import simulate_cohort
    from mne_dualdiv.metrics import subject_linkage

    rows = []
    for n_subjects, n_epochs in COHORTS:
        for seed in seeds:
            X, subjects = simulate_cohort(n_subjects, n_epochs, return_epochs=False,
                                          random_state=seed)
            for name, classifier in _feature_classifiers().items():
                linkage = subject_linkage(X, X[:2], subjects, classifier=classifier,
                                          sfreq=100.0, random_state=seed)
                rows.append(dict(part="subjects", kind="features", n_subjects=n_subjects,
                                 n_epochs=n_epochs, seed=seed, features=name,
                                 accuracy=linkage.real_heldout_accuracy))
            for threshold in THRESHOLDS:
                linkage = subject_linkage(X, X[:2], subjects, threshold=threshold, sfreq=100.0,
                                          random_state=seed)
                rows.append(dict(part="subjects", kind="threshold", n_subjects=n_subjects,
                                 n_epochs=n_epochs, seed=seed, threshold=threshold,
                                 heldout=linkage.real_heldout_linked_share,
                                 unseen=linkage.unseen_subject_rate))
    return rows


# ------------------------------------------------------------------------ the page
def attacks_table(rows):
    rows = [r for r in rows if r["part"] == "attacks"]
    keys = sorted({(r["variant"], r["n_components"]) for r in rows})
    body = []
    for variant, d in keys:
        cells = [np.mean([r["auc"] for r in rows if r["variant"] == variant
                          and r["n_components"] == d and r["release"] == release])
                 for release in RELEASES]
        body.append([variant, d, *[f"{value:.3f}" for value in cells]])
    seeds = sorted({r["seed"] for r in rows})
    return (table(["attack", "components", *RELEASES], body)
            + f"\n\nMean AUC over {len(seeds)} splits (seeds {seeds}).")


def null_table(rows):
    rows = [r for r in rows if r["part"] == "null"]
    attacks = list(rows[0]["auc"])
    body = []
    for name in attacks:
        values = np.array([r["auc"][name] for r in rows])
        covered = np.mean([r["ci"][name][0] <= 0.5 <= r["ci"][name][1] for r in rows])
        reference = np.array([r["reference_auc"][name] for r in rows])
        body.append([name, f"{values.mean():.3f}", f"{values.std(ddof=1):.3f}",
                     f"{covered:.0%}", f"{reference.mean():.3f}",
                     f"{reference.std(ddof=1):.3f}"])
    maxima = np.array([r["max_auc"] for r in rows])
    reference_maxima = np.array([r["reference_max_auc"] for r in rows])
    body.append(["maximum (headline)", f"{maxima.mean():.3f}", f"{maxima.std(ddof=1):.3f}",
                 f"{np.mean([r['max_auc_ci'][0] <= 0.5 for r in rows]):.0%}",
                 f"{reference_maxima.mean():.3f}", f"{reference_maxima.std(ddof=1):.3f}"])
    beyond = np.mean([r["n_beyond_nonmembers"] for r in rows])
    chance = np.mean([r["n_beyond_by_chance"] for r in rows])
    return (table(["attack", "fresh release: mean AUC", "SD", "95 % interval holds 0.5",
                   "real release: mean AUC", "SD"], body)
            + f"\n\n{len(rows)} splits of 160 members, 128 non-members and 128 fresh epochs. "
            f"Members above every non-member: {beyond:.2f} on average ({chance:.2f} expected "
            "by chance).")


def bootstrap_line(rows):
    row = next(r for r in rows if r["part"] == "bootstrap")
    worst = max(max(row["sd_low"]), max(row["sd_high"]))
    return (f"With the scores fixed, the end points of the 95 % intervals ({row['n_bootstrap']} "
            f"resamples) varied with the bootstrap's seed alone by a standard deviation of at "
            f"most {worst:.4f} over {row['n_repeats']} seeds and the {len(row['attacks'])} "
            "attacks.")


def subjects_tables(rows):
    rows = [r for r in rows if r["part"] == "subjects"]
    features = [r for r in rows if r["kind"] == "features"]
    names = list(dict.fromkeys(r["features"] for r in features))
    header = ["features → logistic regression",
              *[f"{n} subjects x {e} epochs" for n, e in COHORTS]]
    body = [[name, *[", ".join(f"{r['accuracy']:.3f}" for r in features
                               if r["features"] == name and (r["n_subjects"], r["n_epochs"])
                               == cohort) for cohort in COHORTS]] for name in names]
    thresholds = [r for r in rows if r["kind"] == "threshold"]
    body2 = []
    for threshold in THRESHOLDS:
        cells = []
        for cohort in COHORTS:
            picked = [r for r in thresholds if r["threshold"] == threshold
                      and (r["n_subjects"], r["n_epochs"]) == cohort]
            cells += [", ".join(f"{r['heldout']:.3f}" for r in picked),
                      ", ".join(f"{r['unseen']:.3f}" for r in picked)]
        body2.append([threshold, *cells])
    header2 = ["threshold", *[f"{label}, {n} x {e}" for n, e in COHORTS
                              for label in ("held-out epochs", "unseen subjects")]]
    return (table(header, body) + "\n\nCross-validated accuracy on real held-out epochs "
            "(5 folds), per cohort seed; chance is 1 / n_subjects.\n\n"
            + table(header2, body2) + "\n\nShare of real epochs linked (assigned to a training "
            "subject with at least that probability): held-out epochs of training subjects "
            "(cross-validated) and epochs of subjects left out of the classifier's training "
            "(leave-subjects-out), per cohort seed.")


def write_page(rows, markdown, command, sources):
    write_sections(markdown, {
        "privacy-choices-provenance": provenance(rows, command, sources),
        "privacy-choices-attacks": attacks_table(rows),
        "privacy-choices-null": null_table(rows) + "\n\n" + bootstrap_line(rows),
        "privacy-choices-subjects": subjects_tables(rows),
    })


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jsonl", default=None, help="write the measured rows here")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--from-jsonl", nargs="+", default=None,
                        help="write the page from these rows instead of measuring")
    parser.add_argument("--markdown", default=None, help="the page whose tables to write")
    args = parser.parse_args(argv)
    command = "python benchmarks/privacy_choices.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    if args.from_jsonl:
        write_page(read_rows(args.from_jsonl), args.markdown, command, args.from_jsonl)
        return

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    measures = {"attacks": lambda: measure_attacks((0, 1, 2)),
                "null": lambda: measure_null(N_NULL_SPLITS), "bootstrap": measure_bootstrap,
                "subjects": measure_subjects}
    fields = dict(commit=measured_commit(), machine=machine_info(), versions=package_versions(),
                  command=command)
    rows = []
    with threadpool_limits(1):
        for part in args.parts:
            date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            new = [dict(row, date=date, **fields) for row in measures[part]()]
            print(f"{part}: {len(new)} rows", flush=True)
            rows += new
            if args.jsonl:
                with open(args.jsonl, "a") as out:
                    out.writelines(json.dumps(row) + "\n" for row in new)
    if args.markdown:
        write_page(rows, args.markdown, command, [args.jsonl or "(this run)"])


if __name__ == "__main__":
    main()
