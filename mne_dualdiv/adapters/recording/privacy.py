"""Whether a unit or a spike of a synthetic recording can be traced back to the real one.

Two linkage tests, on spikes seen as small channel x time images in relative geometry (the
``k`` channels nearest a unit's or a spike's peak channel, ordered by distance, as cut by
:func:`~mne_dualdiv.adapters.recording.spikes.cut_snippets`):

- :func:`unit_linkage` (UnitMatch-style): each synthetic unit's best lag-tolerant cosine
  similarity to any real unit, beside the similarity of each real unit to its most similar
  *distinct* real unit. Real units are distinct neurons; a synthetic unit more similar to a real
  unit than the median distinct real pair is would be matched to that neuron by a tracking
  tool, so it is flagged. The test passes when no synthetic unit is flagged.
- :func:`snippet_linkage` (distance to closest record): each synthetic spike's Euclidean distance
  to the nearest real spike the model was fitted on (a *member*), against the distances of
  real spikes the model never saw (*held out*) to those members. Synthetic spikes drawn as a
  fresh sample of the same population are as close as held-out spikes are: half of them
  closer than the median held-out spike. A share above one half means synthetic spikes sit
  nearer the members than new real spikes do, the signature of copies.

The same snippets are also the records of the membership attack ensemble
(:func:`~mne_dualdiv.metrics.privacy.membership_audit`, as for epochs): the member spikes against
the held-out ones, with the synthetic spikes as the release (:func:`snippet_tests`).

The functions work on arrays; :func:`~.sorting_templates.templates_from_sorting` (importable from
here too) makes the unit templates from a recording and a sorting (ground truth or a sorter's
output). :class:`PrivacyReport` holds the three tests and says whether they pass.
"""

from dataclasses import dataclass, fields

import numpy as np

from ..._logging import logger
from ...metrics.privacy import MIN_ENSEMBLE_NONMEMBERS, MembershipAudit, membership_audit
from .sorting_templates import templates_from_sorting  # noqa: F401 (where it was first)
from .spikes import MAX_LAG, best_similarity, nearest_distance, nearest_distinct_similarity

#: Largest share of synthetic snippets closer to a member snippet than the median held-out
#: real snippet is: 0.5 is what a fresh sample of the real population gives.
SNIPPET_SHARE_MAX = 0.5
#: Largest maximum AUC of the membership ensemble on spike snippets: issue 20's acceptance for
#: the ephys windows (the ensemble's maximum at most 0.58 in every cell), applied to snippets.
MEMBERSHIP_AUC_MAX = 0.58
#: Fewest member and synthetic snippets of the ensemble (``membership_audit`` refuses fewer);
#: the held-out snippets need ``MIN_ENSEMBLE_NONMEMBERS``.
MIN_ENSEMBLE_SNIPPETS = 2


# ---------------------------------------------------------------------------------- checks
def check_images(images, name, allow_empty=False):
    """``images`` as a float32 array (n, k, t) of finite reals, or an error naming ``name``."""
    array = np.asarray(images)
    if array.dtype.kind == "c":
        raise TypeError(f"{name} must hold real numbers, got complex values (dtype "
                        f"{array.dtype}).")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {array.dtype}.")
    if array.ndim != 3:
        raise ValueError(f"{name} must have 3 dimensions (n, channels, times), got "
                         f"{array.ndim} dimension(s) with shape {array.shape}.")
    if array.shape[1] == 0 or array.shape[2] == 0 or (len(array) == 0 and not allow_empty):
        raise ValueError(f"{name} must not be empty, got shape {array.shape}.")
    array = array.astype(np.float32)
    bad = ~np.isfinite(array)
    if bad.any():
        kinds = " and ".join(kind for kind, present in
                             (("NaN", np.isnan(array).any()), ("Inf", np.isinf(array).any()))
                             if present)
        raise ValueError(f"{name} contains {kinds} values ({int(bad.sum())} of {array.size}).")
    return array


def _check_same_image_shape(reference, reference_name, other, other_name):
    if other.shape[1:] != reference.shape[1:]:
        raise ValueError(f"{other_name} holds images of shape {other.shape[1:]}; "
                         f"{reference_name} holds {reference.shape[1:]}. Cut both on the same "
                         "neighbourhood size and window.")


def _freeze(obj):
    for field in fields(obj):
        value = getattr(obj, field.name)
        if isinstance(value, np.ndarray):
            value.setflags(write=False)


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------------------- units
@dataclass(frozen=True, eq=False)
class UnitLinkage:
    """Synthetic units against real units, by lag-tolerant template similarity.

    Attributes
    ----------
    n_real, n_synthetic : int
        Number of real and synthetic unit templates.
    max_lag : int
        Largest shift (samples) tried when comparing two templates.
    best_similarity : ndarray, shape (n_synthetic,)
        Each synthetic unit's best cosine similarity to any real unit (1: the same shape).
    nearest_real : ndarray of int, shape (n_synthetic,)
        Index of that most similar real unit.
    real_nearest_distinct : ndarray, shape (n_real,)
        Each real unit's best similarity to any *other* real unit (NaN with one real unit).
    real_median : float
        Their median: how similar two distinct neurons of the real recording are (NaN with
        fewer than two real units, when the test has no reference).
    n_above : int
        Synthetic units whose best similarity exceeds ``real_median``.
    share_above : float
        ``n_above / n_synthetic`` (NaN without synthetic units).
    """

    n_real: int
    n_synthetic: int
    max_lag: int
    best_similarity: np.ndarray
    nearest_real: np.ndarray
    real_nearest_distinct: np.ndarray
    real_median: float
    n_above: int
    share_above: float

    def __post_init__(self):
        _freeze(self)

    @property
    def passed(self):
        """No synthetic unit above the median distinct real pair (False without a reference)."""
        return bool(np.isfinite(self.real_median) and self.n_above == 0)

    def to_dict(self):
        """The fields as plain Python values."""
        return {field.name: _plain(getattr(self, field.name)) for field in fields(self)}


def unit_linkage(real_templates, synthetic_templates):
    """How close each synthetic unit is to a real unit, against real units to one another.

    Parameters
    ----------
    real_templates : array, shape (n_real, k, n_times)
        Real unit templates in relative geometry (row 0: the unit's peak channel, then its
        ``k - 1`` nearest channels by distance), e.g. from :func:`templates_from_sorting`.
    synthetic_templates : array, shape (n_synthetic, k, n_times)
        Synthetic unit templates cut the same way (generated units, or the units a sorter
        found in the synthetic recording). May be empty.

    Returns
    -------
    linkage : UnitLinkage
        The similarities, the real reference (median nearest-distinct similarity) and how many
        synthetic units exceed it.

    Notes
    -----
    The similarity (:func:`~mne_dualdiv.adapters.recording.spikes.best_similarity`) is the
    cosine of the flattened images, maximised over shifts of up to
    :data:`~mne_dualdiv.adapters.recording.spikes.MAX_LAG` samples (±0.1 ms at 30 kHz): blind
    to amplitude (a unit's amplitude depends on its distance to the probe, not its identity),
    tolerant of sub-millisecond misalignment.
    """
    real = check_images(real_templates, "real_templates")
    synthetic = check_images(synthetic_templates, "synthetic_templates", allow_empty=True)
    _check_same_image_shape(real, "real_templates", synthetic, "synthetic_templates")
    real_distinct = nearest_distinct_similarity(real)
    real_median = float(np.median(real_distinct)) if len(real) > 1 else float("nan")
    if len(synthetic):
        similarity = best_similarity(synthetic, real)
        best, nearest = similarity.max(axis=1).astype(float), similarity.argmax(axis=1)
    else:
        best, nearest = np.zeros(0), np.zeros(0, dtype=np.int64)
    n_above = int(np.sum(best > real_median)) if np.isfinite(real_median) else 0
    return UnitLinkage(
        n_real=len(real), n_synthetic=len(synthetic), max_lag=MAX_LAG, best_similarity=best,
        nearest_real=nearest.astype(np.int64), real_nearest_distinct=real_distinct,
        real_median=real_median, n_above=n_above,
        share_above=n_above / len(synthetic) if len(synthetic) and np.isfinite(real_median)
        else float("nan"))


# ---------------------------------------------------------------------------------- snippets
@dataclass(frozen=True, eq=False)
class SnippetLinkage:
    """Synthetic spikes' distance to the nearest member spike, against held-out real spikes'.

    Attributes
    ----------
    n_member, n_heldout, n_synthetic : int
        Numbers of snippets: real ones the model was fitted on, real ones it never saw, and
        synthetic ones.
    heldout_distances : ndarray, shape (n_heldout,)
        Euclidean distance of each held-out snippet to its nearest member snippet.
    synthetic_distances : ndarray, shape (n_synthetic,)
        The same for each synthetic snippet.
    heldout_median, synthetic_median : float
        Their medians.
    share_closer : float
        Share of synthetic snippets closer to a member than the median held-out snippet is
        (0.5: as close as new real spikes; 1: copies).
    distance_ratio : float
        ``synthetic_median / heldout_median`` (below 1: synthetic spikes nearer the members
        than new real spikes are).
    """

    n_member: int
    n_heldout: int
    n_synthetic: int
    heldout_distances: np.ndarray
    synthetic_distances: np.ndarray
    heldout_median: float
    synthetic_median: float
    share_closer: float
    distance_ratio: float

    def __post_init__(self):
        _freeze(self)

    @property
    def passed(self):
        """The share of closer synthetic snippets is at most :data:`SNIPPET_SHARE_MAX`."""
        return bool(self.share_closer <= SNIPPET_SHARE_MAX)

    def to_dict(self):
        """The fields as plain Python values."""
        return {field.name: _plain(getattr(self, field.name)) for field in fields(self)}


def snippet_linkage(member_snippets, heldout_snippets, synthetic_snippets):
    """Whether synthetic spikes sit nearer the real training spikes than new real spikes do.

    Parameters
    ----------
    member_snippets : array, shape (n_member, k, n_times)
        Real snippets the synthesizer was fitted on (relative geometry, as
        :func:`~mne_dualdiv.adapters.recording.spikes.cut_snippets` cuts them).
    heldout_snippets : array, shape (n_heldout, k, n_times)
        Real snippets of the same recording that the fit never saw.
    synthetic_snippets : array, shape (n_synthetic, k, n_times)
        Snippets cut the same way at peaks of the synthetic recording.

    Returns
    -------
    linkage : SnippetLinkage
        Distances to the nearest member snippet, their medians, the share of synthetic
        snippets closer than the median held-out snippet and the ratio of the medians.

    Notes
    -----
    The cost is one pass of (n_heldout + n_synthetic) x n_member distances, in batches:
    subsample the snippets (a few thousand members, a few hundred of the others) for long
    recordings.
    """
    member = check_images(member_snippets, "member_snippets")
    heldout = check_images(heldout_snippets, "heldout_snippets")
    synthetic = check_images(synthetic_snippets, "synthetic_snippets")
    _check_same_image_shape(member, "member_snippets", heldout, "heldout_snippets")
    _check_same_image_shape(member, "member_snippets", synthetic, "synthetic_snippets")
    heldout_distances = nearest_distance(heldout, member)
    synthetic_distances = nearest_distance(synthetic, member)
    heldout_median = float(np.median(heldout_distances))
    synthetic_median = float(np.median(synthetic_distances))
    with np.errstate(divide="ignore", invalid="ignore"):
        distance_ratio = float(np.float64(synthetic_median) / heldout_median)
    return SnippetLinkage(
        n_member=len(member), n_heldout=len(heldout), n_synthetic=len(synthetic),
        heldout_distances=heldout_distances, synthetic_distances=synthetic_distances,
        heldout_median=heldout_median, synthetic_median=synthetic_median,
        share_closer=float(np.mean(synthetic_distances < heldout_median)),
        distance_ratio=distance_ratio)


def snippet_tests(member_snippets, heldout_snippets, synthetic_snippets, random_state=None):
    """The snippet linkage and the membership attack ensemble, on the same spike snippets.

    Parameters
    ----------
    member_snippets, heldout_snippets, synthetic_snippets : array, shape (n, k, n_times)
        As :func:`snippet_linkage` takes them. The ensemble's records: the members, the
        held-out snippets as its non-members and the synthetic snippets as the release.
    random_state : None | int | numpy.random.Generator
        Seed of the ensemble (its folds, the real release's split, the classifier and the
        bootstrap).

    Returns
    -------
    snippets : None | SnippetLinkage
        :func:`snippet_linkage`; None, with a warning, when a set is empty.
    membership : None | MembershipAudit
        :func:`~mne_dualdiv.metrics.privacy.membership_audit` on the snippets; None, with a
        warning, with fewer than ``MIN_ENSEMBLE_NONMEMBERS`` (8) held-out snippets or fewer
        than ``MIN_ENSEMBLE_SNIPPETS`` (2) member or synthetic ones.
    """
    sizes = tuple(len(images) for images in (member_snippets, heldout_snippets,
                                             synthetic_snippets))
    snippets = membership = None
    if min(sizes):
        snippets = snippet_linkage(member_snippets, heldout_snippets, synthetic_snippets)
    else:
        logger.warning("No snippet test: %d member, %d held-out and %d synthetic snippets "
                       "(the recording holds no spike beyond those the synthesizer learned "
                       "from, or the synthetic recording none).", *sizes)
    minimum = (MIN_ENSEMBLE_SNIPPETS, MIN_ENSEMBLE_NONMEMBERS, MIN_ENSEMBLE_SNIPPETS)
    if all(size >= least for size, least in zip(sizes, minimum)):
        membership = membership_audit(member_snippets, heldout_snippets, synthetic_snippets,
                                      random_state=random_state)
    else:
        logger.warning("No membership audit: %d member, %d held-out and %d synthetic snippets "
                       "(the attack ensemble needs at least %d, %d and %d).", *sizes, *minimum)
    return snippets, membership


# ---------------------------------------------------------------------------------- report
@dataclass(frozen=True, eq=False)
class PrivacyReport:
    """Whether units and spikes of a synthetic recording can be linked to the real one.

    Attributes
    ----------
    units : UnitLinkage
        Synthetic unit templates against real unit templates (:func:`unit_linkage`).
    snippets : None | SnippetLinkage
        Synthetic spikes against member and held-out real spikes (:func:`snippet_linkage`),
        when snippets were compared.
    template_source : str
        Where the synthetic templates came from: ``"generated"`` (the synthesizer's own units)
        or ``"sorted by <sorter>"`` (units a sorter found in the synthetic recording).
    membership : None | MembershipAudit
        The membership attack ensemble on the same snippets (:func:`snippet_tests`): member
        spikes against held-out ones, the synthetic spikes released, and the same attacks on
        a release of held-out real spikes (the reference); ``exposed`` indexes the member
        snippets compared.

    Notes
    -----
    The pass criteria (:meth:`passes`): no synthetic unit more similar to a real unit than
    the median distinct pair of real units are to each other; at most
    :data:`SNIPPET_SHARE_MAX` of the synthetic snippets closer to a member snippet than the
    median held-out real snippet is; the ensemble's maximum AUC at most
    :data:`MEMBERSHIP_AUC_MAX`.
    """

    units: UnitLinkage
    snippets: object = None
    template_source: str = "generated"
    membership: object = None

    def __post_init__(self):
        if not isinstance(self.units, UnitLinkage):
            raise TypeError(f"units must be a UnitLinkage (unit_linkage()), got "
                            f"{type(self.units).__name__} instead.")
        if self.snippets is not None and not isinstance(self.snippets, SnippetLinkage):
            raise TypeError(f"snippets must be None or a SnippetLinkage (snippet_linkage()), "
                            f"got {type(self.snippets).__name__} instead.")
        if not isinstance(self.template_source, str) or not (
                self.template_source == "generated"
                or self.template_source.startswith("sorted by ")):
            raise ValueError(f"template_source must be 'generated' or 'sorted by <sorter>', got "
                             f"{self.template_source!r} instead.")
        if self.membership is not None and not isinstance(self.membership, MembershipAudit):
            raise TypeError(f"membership must be None or a MembershipAudit (membership_audit()), "
                            f"got {type(self.membership).__name__} instead.")

    def passes(self):
        """Each privacy criterion and whether it holds.

        Returns
        -------
        passed : dict of str to bool
            ``"units"``: no synthetic unit above the real median nearest-distinct similarity
            (False when the real units give no reference); ``"snippets"`` (only when snippets
            were compared): share of closer snippets <= :data:`SNIPPET_SHARE_MAX`;
            ``"membership"`` (only when the ensemble ran): its maximum AUC <=
            :data:`MEMBERSHIP_AUC_MAX`.
        """
        passed = {"units": self.units.passed}
        if self.snippets is not None:
            passed["snippets"] = self.snippets.passed
        if self.membership is not None:
            passed["membership"] = bool(self.membership.max_auc <= MEMBERSHIP_AUC_MAX)
        return passed

    def to_dict(self):
        """The fields as plain Python values, with the pass criteria."""
        return dict(units=self.units.to_dict(),
                    snippets=None if self.snippets is None else self.snippets.to_dict(),
                    template_source=self.template_source,
                    membership=None if self.membership is None else self.membership.to_dict(),
                    passes=self.passes())

    def __repr__(self):
        units = self.units
        verdict = {True: "pass", False: "FAIL"}
        lines = [f"<PrivacyReport | {units.n_synthetic} synthetic units ({self.template_source}) "
                 f"vs {units.n_real} real units"]
        if np.isfinite(units.real_median):
            best = (f"median {np.median(units.best_similarity):.3f}, max "
                    f"{units.best_similarity.max():.3f}" if units.n_synthetic else "none")
            lines += [
                f"  units: best similarity to a real unit {best}; real units to their nearest "
                f"distinct real unit: median {units.real_median:.3f}",
                f"    {units.n_above} synthetic unit(s) above that median "
                f"(criterion: none) -> {verdict[units.passed]}"]
        else:
            lines.append("  units: fewer than two real units, no reference similarity -> FAIL")
        if self.snippets is not None:
            snippets = self.snippets
            lines.append(
                f"  snippets: {snippets.share_closer:.3f} of {snippets.n_synthetic} synthetic "
                f"snippets closer to one of {snippets.n_member} member snippets than the median "
                f"of {snippets.n_heldout} held-out real snippets (criterion: <= "
                f"{SNIPPET_SHARE_MAX:g}) -> {verdict[snippets.passed]}; median distance ratio "
                f"{snippets.distance_ratio:.3f}")
        if self.membership is not None:
            audit = self.membership
            lines += [
                f"  membership: attack ensemble's max AUC {audit.max_auc:.3f} "
                f"({audit.strongest_attack}; {audit.confidence:.0%} CI {audit.max_auc_ci[0]:.3f}"
                f"-{audit.max_auc_ci[1]:.3f}), real release {audit.reference_max_auc:.3f} "
                f"(criterion: <= {MEMBERSHIP_AUC_MAX:g}) -> "
                f"{verdict[self.passes()['membership']]}",
                f"    {audit.n_beyond_nonmembers} of {audit.sizes['n_members']} member snippets "
                f"above every held-out one ({audit.n_beyond_by_chance:.1f} by chance; real "
                f"release {audit.reference_n_beyond_nonmembers})"]
        return "\n".join(lines) + ">"
