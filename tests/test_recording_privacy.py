"""Specifications of unit privacy: can a synthetic unit or spike be linked to a real one?"""

import json

import numpy as np
import pytest

sc = pytest.importorskip("spikeinterface.core")

from mne_dualdiv.adapters.recording import spikes  # noqa: E402
from mne_dualdiv.adapters.recording.privacy import (  # noqa: E402
    MEMBERSHIP_AUC_MAX, PrivacyReport, SnippetLinkage, UnitLinkage, snippet_linkage,
    snippet_tests, templates_from_sorting, unit_linkage)
from mne_dualdiv.metrics.privacy import ATTACKS, MembershipAudit  # noqa: E402

SFREQ = 30000.0
NBEFORE, NAFTER, K = 30, 60, 12


@pytest.fixture(scope="module")
def recording_and_truth():
    """32 channels, 3 s, 10 units (SpikeInterface's ground truth), held in memory."""
    recording, sorting = sc.generate_ground_truth_recording(
        num_channels=32, durations=[3.0], sampling_frequency=SFREQ, num_units=10, seed=0)
    return recording.save(format="memory"), sorting


@pytest.fixture(scope="module")
def real_templates(recording_and_truth):
    recording, sorting = recording_and_truth
    neighbours = spikes.neighbourhoods(spikes.channel_locations(recording), K)
    templates, unit_ids = templates_from_sorting(spikes.spike_band(recording), sorting,
                                                 neighbours, NBEFORE, NAFTER)
    return templates, unit_ids


def _smooth_random_templates(n, rng):
    """Spike-like images unrelated to any real unit: a trough at random places and widths."""
    times = np.arange(NBEFORE + NAFTER)
    out = np.zeros((n, K, len(times)), dtype=np.float32)
    for i in range(n):
        for row in range(K):
            centre = NBEFORE + rng.integers(-8, 9)
            width = rng.uniform(2, 12)
            out[i, row] = rng.normal() * np.exp(-0.5 * ((times - centre) / width) ** 2)
    return out


def test_templates_from_sorting_give_one_image_per_unit_with_its_trough_on_row_zero(
        real_templates, recording_and_truth):
    templates, unit_ids = real_templates
    _, sorting = recording_and_truth
    assert templates.shape == (10, K, NBEFORE + NAFTER)
    assert templates.dtype == np.float32
    np.testing.assert_array_equal(unit_ids, sorting.unit_ids)
    # Row 0 is the peak channel: it holds each template's most negative sample.
    troughs = templates.min(axis=2)
    np.testing.assert_array_equal(troughs.argmin(axis=1), 0)
    assert np.all(np.abs(templates[:, 0].argmin(axis=1) - NBEFORE) <= 6)  # within 0.2 ms


def test_templates_from_sorting_leave_out_units_without_usable_spikes(recording_and_truth):
    recording, _ = recording_and_truth
    n_frames = recording.get_num_samples()
    # Unit 'edge' fires only at the very start: no window fits; unit 'ok' fires mid-recording.
    sorting = sc.NumpySorting.from_samples_and_labels(
        [np.array([5, 10, n_frames // 2, n_frames // 2 + 900])],
        [np.array(["edge", "edge", "ok", "ok"])], SFREQ)
    neighbours = spikes.neighbourhoods(spikes.channel_locations(recording), K)
    templates, unit_ids = templates_from_sorting(spikes.spike_band(recording), sorting,
                                                 neighbours, NBEFORE, NAFTER, max_spikes=1)
    assert list(unit_ids) == ["ok"]
    assert templates.shape == (1, K, NBEFORE + NAFTER)


def test_a_copy_of_a_real_template_is_flagged(real_templates):
    templates, _ = real_templates
    rng = np.random.default_rng(0)
    copy = 1.7 * np.roll(templates[3], 1, axis=1)  # rescaled and one sample late
    synthetic = np.concatenate([copy[None], _smooth_random_templates(4, rng)])
    linkage = unit_linkage(templates, synthetic)
    assert isinstance(linkage, UnitLinkage)
    assert linkage.n_real == 10 and linkage.n_synthetic == 5
    assert linkage.best_similarity[0] > 0.99
    assert linkage.nearest_real[0] == 3
    assert linkage.n_above >= 1 and linkage.share_above > 0
    assert not linkage.passed
    assert linkage.real_nearest_distinct.shape == (10,)
    assert linkage.real_median == pytest.approx(np.median(linkage.real_nearest_distinct))


def test_independent_random_templates_pass(real_templates):
    templates, _ = real_templates
    linkage = unit_linkage(templates, _smooth_random_templates(8, np.random.default_rng(1)))
    assert np.all(linkage.best_similarity < linkage.real_median)
    assert linkage.n_above == 0 and linkage.share_above == 0.0
    assert linkage.passed


def test_the_real_units_themselves_sit_at_the_reference(real_templates):
    templates, _ = real_templates
    linkage = unit_linkage(templates, templates)
    np.testing.assert_allclose(linkage.best_similarity, 1.0, atol=1e-5)
    assert linkage.n_above == 10 and linkage.share_above == 1.0


def test_one_real_unit_gives_no_reference_and_does_not_pass(real_templates):
    templates, _ = real_templates
    linkage = unit_linkage(templates[:1], templates[1:3])
    assert np.isnan(linkage.real_median) and np.isnan(linkage.share_above)
    assert not linkage.passed
    assert "fewer than two real units" in repr(PrivacyReport(linkage))


def test_no_synthetic_unit_passes_vacuously(real_templates):
    templates, _ = real_templates
    linkage = unit_linkage(templates, np.zeros((0,) + templates.shape[1:]))
    assert linkage.n_synthetic == 0 and linkage.n_above == 0 and linkage.passed


def _population(n, rng):
    """Snippet-like draws of one population: 3 shapes plus noise."""
    shapes = np.random.default_rng(123).normal(size=(3, 4, 10))
    return (shapes[rng.integers(0, 3, n)] + 0.5 * rng.normal(size=(n, 4, 10))).astype(
        np.float32)


def test_snippet_copies_of_members_are_flagged():
    rng = np.random.default_rng(0)
    member, heldout = _population(400, rng), _population(200, rng)
    copies = member[:200] + 0.01 * rng.normal(size=(200, 4, 10))
    linkage = snippet_linkage(member, heldout, copies)
    assert isinstance(linkage, SnippetLinkage)
    assert linkage.share_closer > 0.95
    assert linkage.distance_ratio < 0.1
    assert not linkage.passed


def test_fresh_draws_of_the_population_are_as_close_as_held_out_snippets():
    rng = np.random.default_rng(1)
    member, heldout, fresh = _population(400, rng), _population(300, rng), _population(300, rng)
    linkage = snippet_linkage(member, heldout, fresh)
    assert 0.38 < linkage.share_closer < 0.62
    assert linkage.distance_ratio == pytest.approx(1.0, abs=0.1)
    assert linkage.passed
    assert (linkage.n_member, linkage.n_heldout, linkage.n_synthetic) == (400, 300, 300)
    assert linkage.heldout_distances.shape == (300,)
    assert linkage.heldout_median == pytest.approx(np.median(linkage.heldout_distances))


def test_privacy_report_passes_to_dict_and_repr(real_templates):
    templates, _ = real_templates
    rng = np.random.default_rng(2)
    units = unit_linkage(templates, _smooth_random_templates(3, rng))
    member, heldout = _population(300, rng), _population(100, rng)
    snippets = snippet_linkage(member, heldout, member[:100])
    report = PrivacyReport(units, snippets, template_source="sorted by tridesclous2")
    assert report.passes() == {"units": True, "snippets": False}
    as_dict = json.loads(json.dumps(report.to_dict()))
    assert as_dict["template_source"] == "sorted by tridesclous2"
    assert as_dict["units"]["n_real"] == 10
    assert as_dict["snippets"]["share_closer"] == pytest.approx(snippets.share_closer)
    assert as_dict["passes"] == {"units": True, "snippets": False}
    text = repr(report)
    assert text.startswith("<PrivacyReport | 3 synthetic units (sorted by tridesclous2) vs 10 "
                           "real units")
    assert "(criterion: none) -> pass" in text and "(criterion: <= 0.5) -> FAIL" in text
    assert PrivacyReport(units).passes() == {"units": True}
    with pytest.raises(ValueError):
        units.best_similarity[0] = 0.0  # read-only
    with pytest.raises(AttributeError):
        report.template_source = "generated"  # frozen


def test_member_snippets_released_as_they_are_are_found_by_the_attack_ensemble(real_templates):
    templates, _ = real_templates
    rng = np.random.default_rng(3)
    member, heldout = _population(200, rng), _population(120, rng)
    copies = member + 0.01 * rng.normal(size=member.shape)
    snippets, membership = snippet_tests(member, heldout, copies, random_state=0)
    assert isinstance(membership, MembershipAudit)
    assert membership.max_auc > 0.99 and membership.max_auc_ci[0] > 0.95
    assert membership.reference_max_auc < 0.65  # the real release of the same sets
    assert membership.n_beyond_nonmembers > 150 > 10 * membership.n_beyond_by_chance
    assert (membership.sizes["n_members"], membership.sizes["n_nonmembers"],
            membership.sizes["n_synthetic"]) == (200, 120, 200)
    report = PrivacyReport(unit_linkage(templates, _smooth_random_templates(3, rng)), snippets,
                           membership=membership)
    assert report.passes() == {"units": True, "snippets": False, "membership": False}
    text = repr(report)
    assert f"membership: attack ensemble's max AUC {membership.max_auc:.3f}" in text
    assert f"(criterion: <= {MEMBERSHIP_AUC_MAX:g}) -> FAIL" in text
    assert (f"{membership.n_beyond_nonmembers} of 200 member snippets above every held-out "
            "one") in text


def test_a_real_release_of_snippets_reads_about_one_half_and_passes(real_templates):
    templates, _ = real_templates
    rng = np.random.default_rng(4)
    member, heldout = _population(300, rng), _population(400, rng)
    # Real spikes never learned from, released: half of the held-out snippets, the other half
    # the ensemble's non-members.
    _, membership = snippet_tests(member, heldout[:200], heldout[200:], random_state=0)
    assert set(membership.auc) == set(ATTACKS)
    for name, auc in membership.auc.items():
        assert abs(auc - 0.5) < 0.1, (name, auc)
    assert 0.45 < membership.max_auc <= MEMBERSHIP_AUC_MAX
    assert abs(membership.max_auc - membership.reference_max_auc) < 0.08
    report = PrivacyReport(unit_linkage(templates, _smooth_random_templates(3, rng)),
                           membership=membership)
    assert report.passes() == {"units": True, "membership": True}


def test_privacy_report_with_the_ensemble_round_trips_through_json(real_templates):
    templates, _ = real_templates
    rng = np.random.default_rng(5)
    member, heldout = _population(100, rng), _population(60, rng)
    snippets, membership = snippet_tests(member, heldout, member[:50], random_state=1)
    report = PrivacyReport(unit_linkage(templates, _smooth_random_templates(3, rng)), snippets,
                           membership=membership)
    as_dict = json.loads(json.dumps(report.to_dict()))
    assert as_dict["membership"]["max_auc"] == pytest.approx(membership.max_auc)
    assert as_dict["membership"]["auc"] == pytest.approx(membership.auc)
    assert as_dict["membership"]["exposed"] == membership.exposed.tolist()
    assert as_dict["membership"]["sizes"]["n_nonmembers"] == 60
    assert as_dict["passes"] == report.passes() and "membership" in as_dict["passes"]
    assert PrivacyReport(report.units, snippets).to_dict()["membership"] is None
    # The same seed gives the same audit.
    assert snippet_tests(member, heldout, member[:50], random_state=1)[1].auc == membership.auc


@pytest.mark.parametrize("bad, match", [
    (np.full((2, K, 90), np.nan), "real_templates contains NaN"),
    (np.full((2, K, 90), np.inf), "real_templates contains Inf"),
    (np.zeros((2, K * 90)), "real_templates must have 3 dimensions"),
    (np.zeros((0, K, 90)), "real_templates must not be empty"),
])
def test_unit_linkage_bad_real_templates_name_the_argument(bad, match):
    with pytest.raises(ValueError, match=match):
        unit_linkage(bad, np.ones((2, K, 90)))


def test_bad_inputs_name_the_argument(recording_and_truth):
    good = np.ones((3, K, 90))
    with pytest.raises(TypeError, match="synthetic_templates must hold real numbers"):
        unit_linkage(good, good.astype(complex))
    with pytest.raises(TypeError, match="real_templates must be an array of real numbers"):
        unit_linkage(np.array([[["a"]]]), good)
    with pytest.raises(ValueError, match="synthetic_templates holds images of shape"):
        unit_linkage(good, np.ones((3, K, 80)))
    with pytest.raises(ValueError, match="heldout_snippets contains NaN"):
        snippet_linkage(good, np.full((2, K, 90), np.nan), good)
    with pytest.raises(ValueError, match="synthetic_snippets must have 3 dimensions"):
        snippet_linkage(good, good, np.ones(5))
    with pytest.raises(ValueError, match="member_snippets must not be empty"):
        snippet_linkage(np.ones((0, K, 90)), good, good)
    with pytest.raises(ValueError, match="synthetic_snippets holds images of shape"):
        snippet_linkage(good, good, np.ones((3, 4, 90)))

    recording, sorting = recording_and_truth
    neighbours = spikes.neighbourhoods(spikes.channel_locations(recording), K)
    with pytest.raises(TypeError, match="recording_band must be a spikeinterface"):
        templates_from_sorting(np.zeros((10, 32)), sorting, neighbours, NBEFORE, NAFTER)
    with pytest.raises(TypeError, match="sorting must be a spikeinterface BaseSorting"):
        templates_from_sorting(recording, {"0": [1, 2]}, neighbours, NBEFORE, NAFTER)
    with pytest.raises(ValueError, match="neighbours must be an int array of shape"):
        templates_from_sorting(recording, sorting, neighbours[:4], NBEFORE, NAFTER)
    with pytest.raises(ValueError, match="neighbours holds channel indices"):
        templates_from_sorting(recording, sorting, neighbours + 32, NBEFORE, NAFTER)
    with pytest.raises(ValueError, match="max_spikes must be at least 1"):
        templates_from_sorting(recording, sorting, neighbours, NBEFORE, NAFTER, max_spikes=0)
    resampled = sc.NumpySorting.from_samples_and_labels([np.array([100])], [np.array([0])],
                                                        20000.0)
    with pytest.raises(ValueError, match="sorting is sampled at 20000"):
        templates_from_sorting(recording, resampled, neighbours, NBEFORE, NAFTER)

    units = unit_linkage(good[:2] + np.arange(90), good)
    with pytest.raises(TypeError, match="units must be a UnitLinkage"):
        PrivacyReport({"n_above": 0})
    with pytest.raises(TypeError, match="snippets must be None or a SnippetLinkage"):
        PrivacyReport(units, snippets=0.4)
    with pytest.raises(ValueError, match="template_source must be 'generated' or 'sorted by"):
        PrivacyReport(units, template_source="real")
    with pytest.raises(TypeError, match="membership must be None or a MembershipAudit"):
        PrivacyReport(units, membership=0.52)
