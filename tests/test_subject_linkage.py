"""Specifications of the subject audit (``metrics.subject_linkage``) and the simulated cohort.

The cohort's subjects differ as real subjects do (patterns, rhythms, background, electrode
noise), so a classifier tells their held-out epochs apart; synthetic epochs that a classifier
links to the training subjects as well as real ones are not anonymous.
"""

import numpy as np
import pytest

from mne_dualdiv.datasets import simulate_cohort
from mne_dualdiv.datasets._cohort import COHORT_CH_NAMES
from mne_dualdiv.metrics import SubjectLinkage, evaluate, subject_linkage

N_SUBJECTS, N_EPOCHS = 6, 20


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(N_SUBJECTS, N_EPOCHS, random_state=0)


@pytest.fixture(scope="module")
def other_cohort():
    """Epochs of six other people: the same model, other subjects."""
    return simulate_cohort(N_SUBJECTS, N_EPOCHS, random_state=1)


# ------------------------------------------------------------------------------- the cohort
def test_the_cohort_is_epochs_with_a_subject_column(cohort):
    assert len(cohort) == N_SUBJECTS * N_EPOCHS
    assert cohort.ch_names == list(COHORT_CH_NAMES)
    assert cohort.info["sfreq"] == 100.0 and cohort.get_data().shape[-1] == 100
    assert list(cohort.metadata.columns) == ["subject", "epoch"]
    assert cohort.metadata["subject"].value_counts().to_dict() == {
        f"sub-{s:02d}": N_EPOCHS for s in range(1, N_SUBJECTS + 1)}
    assert cohort.get_montage() is not None
    assert 2e-6 < cohort.get_data().std() < 50e-6  # EEG in volts


def test_the_cohort_is_seeded(cohort, other_cohort):
    again = simulate_cohort(N_SUBJECTS, N_EPOCHS, random_state=0)
    np.testing.assert_array_equal(again.get_data(), cohort.get_data())
    assert not np.allclose(other_cohort.get_data(), cohort.get_data())


def test_a_subject_does_not_depend_on_the_size_of_the_cohort(cohort):
    X_small, subjects_small = simulate_cohort(2, N_EPOCHS, return_epochs=False, random_state=0)
    np.testing.assert_array_equal(X_small, cohort.get_data()[:2 * N_EPOCHS])
    assert subjects_small.tolist() == cohort.metadata["subject"][:2 * N_EPOCHS].tolist()


@pytest.mark.parametrize("options, message", [
    (dict(n_subjects=0), "n_subjects must be at least 1"),
    (dict(n_epochs=1.5), "n_epochs must be an int"),
    (dict(sfreq=40.0), "sfreq must be >= 50"),
    (dict(random_state="a"), "random_state must be None, an int"),
])
def test_bad_cohort_arguments_are_refused_by_name(options, message):
    with pytest.raises((TypeError, ValueError), match=message):
        simulate_cohort(**options)


# ------------------------------------------------------------------------------- the audit
@pytest.fixture(scope="module")
def copies_linkage(cohort):
    return subject_linkage(cohort, cohort.copy(), "subject", random_state=0)


def test_real_held_out_epochs_identify_their_subject(copies_linkage):
    assert copies_linkage.chance == pytest.approx(1 / N_SUBJECTS)
    assert copies_linkage.real_heldout_accuracy > 0.8
    assert copies_linkage.n_subjects == N_SUBJECTS


def test_copies_of_the_real_epochs_are_linked_to_their_subjects(copies_linkage):
    # the synthetic Epochs carry the 'subject' column, so the accuracy is measured
    assert copies_linkage.measure == "accuracy"
    assert copies_linkage.linkage_rate == copies_linkage.synthetic_accuracy == 1.0
    assert copies_linkage.linkage_rate >= copies_linkage.real_heldout_rate
    assert copies_linkage.linked_subjects == N_SUBJECTS


def test_source_labels_that_say_nothing_link_at_chance(cohort):
    # every epoch carries a random subject's label: the classifier agrees by chance only
    shuffled = np.random.default_rng(0).permutation(cohort.metadata["subject"].to_numpy())
    linkage = subject_linkage(cohort, cohort.get_data(), "subject", synthetic_groups=shuffled,
                              random_state=0)
    assert linkage.measure == "accuracy"
    assert linkage.linkage_rate < linkage.chance + 0.1
    assert linkage.real_heldout_rate > 0.8


def test_without_sources_the_linked_share_is_compared_with_unseen_subjects(cohort, other_cohort):
    linkage = subject_linkage(cohort, other_cohort.get_data(), "subject", random_state=0)
    assert linkage.measure == "linked_share"
    assert np.isnan(linkage.synthetic_accuracy)
    assert linkage.real_heldout_rate == linkage.real_heldout_linked_share
    # held-out epochs of training subjects are linked far more often than other people's
    assert linkage.real_heldout_linked_share > linkage.unseen_subject_rate + 0.2
    assert linkage.linkage_rate < linkage.real_heldout_linked_share
    assert sum(linkage.linked_per_subject.values()) == round(
        linkage.linkage_rate * linkage.n_synthetic)


def test_groups_can_be_an_array(cohort, copies_linkage):
    groups = cohort.metadata["subject"].to_numpy()
    linkage = subject_linkage(cohort.get_data(), cohort.get_data(), groups,
                              synthetic_groups=groups, sfreq=100.0, random_state=0)
    assert linkage.to_dict() == copies_linkage.to_dict()
    assert isinstance(linkage, SubjectLinkage) and "accuracy 1.000" in repr(linkage)


def test_two_subjects_have_no_unseen_subject_reference(cohort):
    two = cohort[cohort.metadata["subject"].isin(["sub-01", "sub-02"]).to_numpy()]
    linkage = subject_linkage(two, two.get_data(), "subject", random_state=0)
    assert np.isnan(linkage.unseen_subject_rate) and linkage.chance == 0.5


@pytest.mark.parametrize("change, error, message", [
    (dict(groups=["sub-01"] * 3), ValueError,
     r"groups must be a 1-D array with one label per sample \(120\)"),
    (dict(groups=["sub-01"] * 120), ValueError, "groups must hold at least 2 subjects, got 1"),
    (dict(groups=["a"] * 116 + ["b"] * 4), ValueError,
     "groups: subject 'b' has 4 epoch.*at least n_splits=5"),
    (dict(groups="participant"), ValueError, "groups='participant' names a metadata column.*no "
                                             "such column"),
    (dict(groups=None), TypeError, "groups must be one subject per real epoch"),
    (dict(synthetic_groups=["sub-99"] * 120), ValueError,
     r"synthetic_groups holds subjects that are not in groups: \['sub-99'\]"),
    (dict(threshold=0.0), ValueError, "threshold must be > 0"),
    (dict(n_splits=1), ValueError, "n_splits must be at least 2"),
])
def test_bad_groups_and_options_are_refused_by_name(cohort, change, error, message):
    arguments = {"groups": "subject", "synthetic_groups": None, **change}
    with pytest.raises(error, match=message):
        subject_linkage(cohort, cohort.get_data(), random_state=0, **arguments)


def test_a_column_name_needs_epochs_with_metadata(cohort):
    with pytest.raises(ValueError, match="groups='subject' names a metadata column, but real "
                                         "has no metadata"):
        subject_linkage(cohort.get_data(), cohort.get_data(), "subject")


def test_synthetic_epochs_of_another_shape_are_refused(cohort):
    with pytest.raises(ValueError, match="synthetic has images of shape"):
        subject_linkage(cohort, cohort.get_data()[:, :4], "subject")


# ------------------------------------------------------------------------------- the report
def test_evaluate_reports_the_linkage_against_the_real_held_out_rate(cohort, tmp_path):
    report = evaluate(cohort, cohort, cohort.copy(), metrics="subject_linkage_rate",
                      groups="subject", random_state=0)
    score = report["subject_linkage_rate"]
    assert score.synthetic == 1.0 and score.better == "lower"
    assert score.reference == score.details["real_heldout_accuracy"]
    text = report.save(tmp_path / "report.html").read_text()
    assert "Subject re-identification" in text and "assigned to their source subject" in text


def test_evaluate_checks_groups_before_any_metric(cohort):
    with pytest.raises(ValueError, match="groups must hold at least 2 subjects"):
        evaluate(cohort, cohort, cohort, groups=["sub-01"] * len(cohort), random_state=0)


def test_the_command_line_audits_subjects_of_a_metadata_column(cohort, capsys, tmp_path):
    from cli_runner import main_exit

    real, synthetic = tmp_path / "cohort-epo.fif", tmp_path / "synthetic-epo.fif"
    cohort.save(real, verbose=False)
    cohort.copy().save(synthetic, verbose=False)
    status, out, err = main_exit(capsys, "evaluate", real, synthetic, "--heldout", real,
                                 "--groups", "subject", "--metrics", "subject_linkage_rate")
    assert status == 0, err
    assert "subject_linkage_rate" in out
    status, out, err = main_exit(capsys, "evaluate", real, synthetic, "--heldout", real,
                                 "--groups", "participant", "--metrics", "subject_linkage_rate")
    assert status == 1 and "groups='participant' names a metadata column" in err
