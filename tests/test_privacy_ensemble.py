"""Specifications of the membership attack ensemble (``metrics.membership_audit``, issue 20).

Members and non-members are disjoint random parts of one pool of FingerMovements epochs; the
releases are copies of the members, copies of a few of them among fresh epochs, or fresh epochs
of the same pool that no attack could tell from either.
"""

import json

import numpy as np
import pytest

from mne_dualdiv.datasets import load_finger_movements
from mne_dualdiv.metrics import MembershipAudit, evaluate, membership_audit
from mne_dualdiv.metrics.privacy import ATTACKS

N_COPIED = 6


@pytest.fixture(scope="module")
def pool():
    """Members, non-members and fresh epochs: disjoint random parts of one pool."""
    X, _ = load_finger_movements("all", return_epochs=False)
    order = np.random.default_rng(0).permutation(len(X))
    return X[order[:160]], X[order[160:288]], X[order[288:]]


@pytest.fixture(scope="module")
def copies_audit(pool):
    members, nonmembers, _ = pool
    return membership_audit(members, nonmembers, members.copy(), random_state=0)


@pytest.fixture(scope="module")
def fresh_audit(pool):
    members, nonmembers, fresh = pool
    return membership_audit(members, nonmembers, fresh, random_state=0)


@pytest.fixture(scope="module")
def partial_audit(pool):
    members, nonmembers, fresh = pool
    return membership_audit(members, nonmembers, np.concatenate([members[:N_COPIED], fresh]),
                            random_state=0)


# ------------------------------------------------------------------------------- what leaks
def test_copies_of_the_members_are_singled_out_by_every_attack(copies_audit):
    assert copies_audit.attacks == tuple(ATTACKS)
    assert copies_audit.max_auc == 1.0 and copies_audit.max_auc_ci == (1.0, 1.0)
    for name in ("dcr", "nndr", "knn_density"):
        assert copies_audit.auc[name] == 1.0
    # the density estimate and the forest smooth over records: strong, not perfect
    for name in ("domias", "classifier"):
        assert copies_audit.auc[name] > 0.8
        assert copies_audit.ci[name][0] > 0.7


def test_copies_put_every_member_above_every_nonmember(copies_audit):
    n_members = copies_audit.sizes["n_members"]
    assert copies_audit.n_beyond_nonmembers == n_members
    assert copies_audit.n_beyond_by_chance < 0.05 * n_members
    np.testing.assert_array_equal(copies_audit.exposure, np.ones(n_members))


def test_copied_records_are_listed_as_most_exposed(partial_audit):
    # a few copies among many fresh epochs barely move an average ...
    assert partial_audit.max_auc < 0.7
    # ... but the per-record list names exactly them first
    assert set(partial_audit.exposed[:N_COPIED].tolist()) == set(range(N_COPIED))
    np.testing.assert_array_equal(partial_audit.exposure[:N_COPIED], 1.0)
    assert partial_audit.n_beyond_nonmembers >= N_COPIED


def test_an_independent_release_reads_about_one_half(fresh_audit):
    for name in fresh_audit.attacks:
        assert fresh_audit.auc[name] == pytest.approx(0.5, abs=0.1)
    # 95 % intervals of five attacks: expect about 0.25 misses of 0.5, allow one
    misses = [name for name in fresh_audit.attacks
              if not fresh_audit.ci[name][0] <= 0.5 <= fresh_audit.ci[name][1]]
    assert len(misses) <= 1, misses
    # the maximum of noisy AUCs sits above 0.5, as the real release's does
    assert fresh_audit.max_auc == pytest.approx(fresh_audit.reference_max_auc, abs=0.1)


def test_the_real_release_reference_reads_about_one_half(copies_audit):
    for name in copies_audit.attacks:
        assert copies_audit.reference_auc[name] == pytest.approx(0.5, abs=0.12)
    assert 0.5 <= copies_audit.reference_max_auc < 0.65
    sizes = copies_audit.sizes
    assert sizes["n_released"] + sizes["n_reference_nonmembers"] == sizes["n_nonmembers"]


# ------------------------------------------------------------------------------- its numbers
def test_the_auc_is_the_members_mean_exposure(partial_audit):
    strongest = partial_audit.strongest_attack
    assert partial_audit.max_auc == partial_audit.auc[strongest] == max(partial_audit.auc.values())
    assert partial_audit.exposure.mean() == pytest.approx(partial_audit.max_auc)


def test_intervals_hold_their_auc_and_widen_with_confidence(pool, fresh_audit):
    for name in fresh_audit.attacks:
        low, high = fresh_audit.ci[name]
        assert low <= fresh_audit.auc[name] <= high
    low, high = fresh_audit.max_auc_ci
    assert low <= fresh_audit.max_auc <= high
    narrow = membership_audit(*pool, confidence=0.5, random_state=0)
    for name in fresh_audit.attacks:
        assert narrow.auc[name] == fresh_audit.auc[name]
        assert (narrow.ci[name][1] - narrow.ci[name][0]
                < fresh_audit.ci[name][1] - fresh_audit.ci[name][0])


def test_the_same_random_state_gives_the_same_audit(pool, fresh_audit):
    again = membership_audit(*pool, random_state=0)
    assert again.to_dict() == fresh_audit.to_dict()
    other = membership_audit(*pool, random_state=1)
    assert other.to_dict() != fresh_audit.to_dict()


def test_a_subset_of_attacks_runs_in_report_order(pool):
    audit = membership_audit(*pool, attacks=["nndr", "dcr"], n_bootstrap=100, random_state=0)
    assert audit.attacks == ("dcr", "nndr")
    assert set(audit.auc) == set(audit.reference_auc) == {"dcr", "nndr"}


def test_the_audit_is_a_table_and_plain_json(fresh_audit):
    df = fresh_audit.to_dataframe()
    assert list(df["attack"]) == [*fresh_audit.attacks, "max"]
    assert df.set_index("attack").loc["max", "auc"] == fresh_audit.max_auc
    record = json.loads(json.dumps(fresh_audit.to_dict()))
    assert record["exposed"] == fresh_audit.exposed.tolist()
    assert "max AUC" in repr(fresh_audit) and "most exposed" in repr(fresh_audit)
    assert isinstance(fresh_audit, MembershipAudit)


# ------------------------------------------------------------------------------- bad inputs
def _small(n, seed, shape=(3, 8)):
    return np.random.default_rng(seed).standard_normal((n, *shape))


@pytest.mark.parametrize("argument, sets, message", [
    ("synthetic", (_small(10, 0), _small(10, 1), _small(10, 2, (3, 9))),
     r"synthetic has images of shape \(3, 9\) but members has \(3, 8\)"),
    ("nonmembers", (_small(10, 0), _small(7, 1), _small(10, 2)),
     "nonmembers must have at least 8 samples, got 7"),
    ("members", (_small(1, 0), _small(10, 1), _small(10, 2)),
     "members must have at least 2 samples, got 1"),
    ("synthetic", (_small(10, 0), _small(10, 1), _small(1, 2)),
     "synthetic must have at least 2 samples, got 1"),
])
def test_bad_sets_are_refused_by_name(argument, sets, message):
    with pytest.raises(ValueError, match=message):
        membership_audit(*sets, random_state=0)


def test_members_among_the_nonmembers_are_refused():
    members, nonmembers = _small(10, 0), _small(10, 1)
    nonmembers[4] = members[2]
    with pytest.raises(ValueError, match=r"members and nonmembers share 1 sample\(s\) "
                                         r"\(nonmembers rows \[4\]"):
        membership_audit(members, nonmembers, _small(10, 2), random_state=0)


def test_non_finite_synthetic_data_is_refused_by_name():
    synthetic = _small(10, 2)
    synthetic[3, 1, 2] = np.nan
    with pytest.raises(ValueError, match="^synthetic contains NaN"):
        membership_audit(_small(10, 0), _small(10, 1), synthetic, random_state=0)


@pytest.mark.parametrize("options, error, message", [
    (dict(attacks=["dcr", "gan_leaks"]), ValueError,
     "Invalid value for the 'attacks' parameter.*'gan_leaks'"),
    (dict(attacks=[]), TypeError, "attacks must be None, an attack name or a non-empty list"),
    (dict(confidence=1.0), ValueError, "confidence must be < 1"),
    (dict(n_bootstrap=10), ValueError, "n_bootstrap must be at least 100, got 10"),
    (dict(n_exposed=-1), ValueError, "n_exposed must be at least 0"),
    (dict(random_state=-1), ValueError, "random_state must be a non-negative int"),
])
def test_bad_options_are_refused_by_name(options, error, message):
    with pytest.raises(error, match=message):
        membership_audit(_small(10, 0), _small(10, 1), _small(10, 2), **options)


# ------------------------------------------------------------------------------- the report
@pytest.fixture(scope="module")
def report(pool):
    members, nonmembers, fresh = pool
    synthetic = np.concatenate([members[:N_COPIED], fresh])
    return evaluate(members, fresh, synthetic, sfreq=100.0, nonmembers=nonmembers,
                    metrics="privacy", random_state=0)


def test_evaluate_reports_the_ensemble_maximum_against_the_real_release(report):
    score = report["membership_ensemble_auc"]
    assert score.category == "privacy" and score.better == "lower"
    assert score.synthetic == max(score.details["auc"].values())
    assert score.reference == max(score.details["reference_auc"].values())
    assert set(score.details["exposed"][:N_COPIED]) == set(range(N_COPIED))


def test_the_html_report_lists_every_attack_and_the_exposed_epochs(report, tmp_path):
    text = report.save(tmp_path / "report.html").read_text()
    assert "Membership attack ensemble" in text and "Most exposed training epochs" in text
    for name in ATTACKS:
        assert f"<td>{name}</td>" in text
    exposed = report["membership_ensemble_auc"].details["exposed"]
    assert f"{exposed[0]} (1.00)" in text


def test_evaluate_skips_the_ensemble_below_its_nonmembers(pool):
    members, nonmembers, fresh = pool
    report = evaluate(members, fresh, fresh, sfreq=100.0, nonmembers=nonmembers[:6],
                      metrics="privacy", random_state=0)
    assert "membership_inference_auc" in report.scores  # the distance scores need 4
    assert report.skipped["membership_ensemble_auc"] == "needs at least 8 nonmembers, got 6"
    with pytest.raises(ValueError, match="'membership_ensemble_auc' was asked for.*got 6"):
        evaluate(members, fresh, fresh, nonmembers=nonmembers[:6],
                 metrics="membership_ensemble_auc")


def test_epochs_and_read_only_arrays_are_read_and_left_unchanged(pool):
    import mne

    members, nonmembers, fresh = (np.array(X) for X in pool)
    copies = [X.copy() for X in (members, nonmembers, fresh)]
    for X in (members, nonmembers, fresh):
        X.setflags(write=False)
    info = mne.create_info(members.shape[1], 100.0, "eeg")
    epochs = mne.EpochsArray(members, info, verbose=False)
    from_arrays = membership_audit(members, nonmembers, fresh, n_bootstrap=100, random_state=0)
    from_epochs = membership_audit(epochs, nonmembers, fresh, n_bootstrap=100, random_state=0)
    assert from_epochs.to_dict() == from_arrays.to_dict()
    for X, copy in zip((members, nonmembers, fresh), copies):
        np.testing.assert_array_equal(X, copy)


def test_a_release_of_one_member_copied_many_times_names_that_member(pool):
    members, nonmembers, _ = pool
    audit = membership_audit(members, nonmembers, np.repeat(members[7:8], 20, axis=0),
                             n_bootstrap=100, random_state=0)
    assert all(np.isfinite(value) for value in audit.auc.values())
    assert audit.exposed[0] == 7 and audit.exposure[7] == 1.0
