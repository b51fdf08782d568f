"""The membership attack ensemble: each attack's AUC with a bootstrap interval, their maximum,
the real-release reference computed the same way, and the members most exposed.

No single attack is strongest on every generator and data set (Synth-MIA reports the maximum
over its attacks for that reason), and an average over records hides the few records at risk
("Lost in the averages"): :func:`membership_audit` runs every attack of
:data:`~mne_dualdiv.metrics.privacy.attacks.ATTACKS` under the same-pool protocol, reports
the maximum AUC as the headline, and lists the members each attack singles out.

Protocol. Members and non-members come from one pool (``docs/privacy.md``). The non-members
are split in two folds; each fold's non-members and half of the members (drawn at random) are
the targets of attacks whose reference set is the other fold's non-members, so that no target
is in its own reference (cross-fitting: every real record is scored once). A member's
*exposure* is the share of the non-members of its fold that the strongest attack scores below
it (ties count half); the AUC is the mean exposure of the members. The reference releases a
random half of the non-members in place of the synthetic set and runs the same protocol on the
members and the other half.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import rankdata

from ..._checks import check_float, check_int, check_option, check_random_state
from ..._docs import fill_doc
from .._base import as_data, check_same_shape, scaled_flat
from .attacks import ATTACKS, N_COMPONENTS, AttackData
from .distances import check_disjoint

#: Fewest non-members of an audit: half are released for the reference, and the other half
#: is split in two folds, each the reference of the other, of at least 2 records.
MIN_ENSEMBLE_NONMEMBERS = 8
#: Bootstrap resamples of the AUCs' intervals: with 1000, the end points of the 95 % intervals
#: varied with the bootstrap's seed alone by an SD of at most 0.0032 (160 members against 128
#: non-members, ``benchmarks/privacy_choices.py``), about a tenth of the AUCs' spread between
#: splits.
N_BOOTSTRAP = 1000
#: Coverage of the bootstrap intervals.
CONFIDENCE = 0.95
#: Members listed as the most exposed.
N_EXPOSED = 10


def check_privacy_sets(members, nonmembers, synthetic, names=("members", "nonmembers",
                                                                "synthetic"),
                       min_samples=(1, 1, 1)):
    """The three sets as arrays of one image shape, members and non-members disjoint.

    Each set is read with :func:`~mne_dualdiv.metrics._base.as_data` (arrays or Epochs) and
    refused by its name in ``names`` when it has fewer than its ``min_samples``.
    """
    sets = [as_data(X, name, min_samples=minimum)[0]
            for X, name, minimum in zip((members, nonmembers, synthetic), names, min_samples)]
    check_same_shape(names[0], sets[0], **dict(zip(names[1:], sets[1:])))
    check_disjoint(sets[0], sets[1], names[:2])
    return sets


def _aucs(member_scores, nonmember_scores):
    """Mann-Whitney AUC of members over non-members along the last axis (ties count half)."""
    n_members, n_nonmembers = member_scores.shape[-1], nonmember_scores.shape[-1]
    ranks = rankdata(np.concatenate([member_scores, nonmember_scores], axis=-1), axis=-1)
    rank_sum = ranks[..., :n_members].sum(-1)
    return (rank_sum - n_members * (n_members + 1) / 2) / (n_members * n_nonmembers)


def cross_fitted_scores(members, nonmembers, released, attacks, n_components, rng):
    """Every attack's scores of every member and non-member, cross-fitted in two folds.

    Parameters
    ----------
    members, nonmembers, released : ndarray, shape (n, n_values)
        Scaled, flattened records.
    attacks : dict
        Name -> attack function ``f(data, rng)`` of
        :mod:`~mne_dualdiv.metrics.privacy.attacks` (or any with that signature).
    n_components : int
        Principal components of the :class:`~.attacks.AttackData`.
    rng : numpy.random.Generator

    Returns
    -------
    folds : list of dict
        Per fold: ``member_rows`` (its members' rows), ``members`` and ``nonmembers`` (the
        scores, shape (n_attacks, n)) and ``n_components`` used.
    """
    nonmember_folds = np.array_split(rng.permutation(len(nonmembers)), 2)
    member_folds = np.array_split(rng.permutation(len(members)), 2)
    folds = []
    for fold in range(2):
        member_rows, nonmember_rows = member_folds[fold], nonmember_folds[fold]
        data = AttackData(np.concatenate([members[member_rows], nonmembers[nonmember_rows]]),
                          released, nonmembers[nonmember_folds[1 - fold]], n_components)
        scores = np.array([attack(data, rng) for attack in attacks.values()])
        for name, row in zip(attacks, scores):
            if not np.isfinite(row).all():  # an AUC of NaN would read as a number
                raise RuntimeError(f"The attack {name!r} gave non-finite scores.")
        folds.append(dict(member_rows=member_rows, members=scores[:, :len(member_rows)],
                          nonmembers=scores[:, len(member_rows):],
                          n_components=data.n_components_))
    return folds


def _fold_weights(folds):
    n_members = sum(len(fold["member_rows"]) for fold in folds)
    return [len(fold["member_rows"]) / n_members for fold in folds]


def fold_aucs(folds, n_bootstrap, rng):
    """Every attack's AUC (members weighted equally) and its bootstrap resamples.

    Members and non-members are resampled with replacement within each fold, the attacks'
    scores held fixed: the intervals hold the sampling of the records, not that of the
    released set or of the attacks' fits.

    Parameters
    ----------
    folds : list of dict
        :func:`cross_fitted_scores`' folds.
    n_bootstrap : int
        Resamples.
    rng : numpy.random.Generator

    Returns
    -------
    auc : ndarray, shape (n_attacks,)
        Each fold's AUC weighted by its members: the members' mean exposure.
    resampled : ndarray, shape (n_bootstrap, n_attacks)
    """
    weights = _fold_weights(folds)
    point = sum(w * _aucs(fold["members"], fold["nonmembers"]) for w, fold in zip(weights, folds))
    resampled = 0.0
    for w, fold in zip(weights, folds):
        n_members, n_nonmembers = fold["members"].shape[1], fold["nonmembers"].shape[1]
        member_draws = rng.integers(n_members, size=(n_bootstrap, n_members))
        nonmember_draws = rng.integers(n_nonmembers, size=(n_bootstrap, n_nonmembers))
        resampled = resampled + w * _aucs(fold["members"][:, member_draws].transpose(1, 0, 2),
                                          fold["nonmembers"][:, nonmember_draws].transpose(1, 0, 2))
    return point, resampled  # (n_attacks,), (n_bootstrap, n_attacks)


def _exposure(folds, attack_index, n_members):
    """Each member's share of its fold's non-members scored below it by one attack (ties
    count half), and the member's score itself."""
    exposure, scores = np.empty(n_members), np.empty(n_members)
    for fold in folds:
        member_scores = fold["members"][attack_index]
        nonmember_scores = fold["nonmembers"][attack_index][None]
        exposure[fold["member_rows"]] = ((member_scores[:, None] > nonmember_scores).mean(1)
                                         + 0.5 * (member_scores[:, None] == nonmember_scores)
                                         .mean(1))
        scores[fold["member_rows"]] = member_scores
    return exposure, scores


def _beyond_all(folds, exposure):
    """Members above every non-member of their fold, and how many a release that leaks
    nothing gives on average: ``n_members_f / (n_nonmembers_f + 1)`` summed over folds."""
    by_chance = sum(len(fold["member_rows"]) / (fold["nonmembers"].shape[1] + 1)
                    for fold in folds)
    return int((exposure == 1.0).sum()), float(by_chance)


@dataclass(frozen=True)
class MembershipAudit:
    """The result of :func:`membership_audit`.

    Parameters
    ----------
    attacks : tuple of str
        The attacks run, in report order.
    auc, reference_auc : dict
        Attack name -> AUC of telling members from non-members, for the synthetic release and
        for the real release (0.5: nothing leaks; 1: every member is singled out).
    ci, reference_ci : dict
        Attack name -> ``(low, high)`` bootstrap percentile interval of the AUC.
    max_auc, reference_max_auc : float
        The largest AUC of the ensemble: the headline.
    max_auc_ci, reference_max_auc_ci : tuple of float
        Bootstrap interval of the maximum (the maximum over attacks of each resample).
    strongest_attack : str
        The attack of ``max_auc``, which gives the per-record exposure.
    exposure : ndarray, shape (n_members,)
        Each member's share of non-members that the strongest attack scores below it (ties
        count half); its mean is ``max_auc``. 0.5 is an average member, 1.0 a member that
        stands out from every non-member.
    exposed : ndarray of int
        Indices into ``members`` of the most exposed members, most exposed first.
    n_beyond_nonmembers, reference_n_beyond_nonmembers : int
        Members scored above every non-member (exposure 1) by the strongest attack of each
        release.
    n_beyond_by_chance, reference_n_beyond_by_chance : float
        How many members a release that leaks nothing puts there on average, with the folds of
        each release (the real release's non-member folds are half as large).
    sizes : dict
        ``n_members``, ``n_nonmembers``, ``n_synthetic`` and, for the reference, ``n_released``
        and ``n_reference_nonmembers``; ``n_components`` used by the density attacks.
    confidence : float
        Coverage of the intervals.
    n_bootstrap : int
        Bootstrap resamples.
    """

    attacks: tuple
    auc: dict
    ci: dict
    reference_auc: dict
    reference_ci: dict
    max_auc: float
    max_auc_ci: tuple
    strongest_attack: str
    reference_max_auc: float
    reference_max_auc_ci: tuple
    exposure: np.ndarray = field(repr=False)
    exposed: np.ndarray
    n_beyond_nonmembers: int
    reference_n_beyond_nonmembers: int
    n_beyond_by_chance: float
    reference_n_beyond_by_chance: float
    sizes: dict
    confidence: float
    n_bootstrap: int

    def to_dataframe(self):
        """One row per attack: ``attack``, ``auc``, ``ci_low``, ``ci_high``, ``reference_auc``,
        ``reference_ci_low``, ``reference_ci_high``; a last row ``'max'`` for the headline."""
        import pandas as pd

        rows = [dict(attack=name, auc=self.auc[name], ci_low=self.ci[name][0],
                     ci_high=self.ci[name][1], reference_auc=self.reference_auc[name],
                     reference_ci_low=self.reference_ci[name][0],
                     reference_ci_high=self.reference_ci[name][1]) for name in self.attacks]
        rows.append(dict(attack="max", auc=self.max_auc, ci_low=self.max_auc_ci[0],
                         ci_high=self.max_auc_ci[1], reference_auc=self.reference_max_auc,
                         reference_ci_low=self.reference_max_auc_ci[0],
                         reference_ci_high=self.reference_max_auc_ci[1]))
        return pd.DataFrame(rows)

    def to_dict(self):
        """The fields as plain Python values (arrays as lists), for JSON."""
        out = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, dict):
                value = {key: list(v) if isinstance(v, tuple) else v for key, v in value.items()}
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out

    def __repr__(self):
        level = f"{self.confidence:.0%}"
        lines = [f"<MembershipAudit | max AUC {self.max_auc:.3f} ({self.strongest_attack}), "
                 f"{level} CI {self.max_auc_ci[0]:.3f}-{self.max_auc_ci[1]:.3f}; real release "
                 f"{self.reference_max_auc:.3f}>"]
        for name in self.attacks:
            lines.append(f"  {name:<12} {self.auc[name]:.3f} [{self.ci[name][0]:.3f}, "
                         f"{self.ci[name][1]:.3f}]  real release {self.reference_auc[name]:.3f}")
        lines.append(f"  most exposed members: {self.exposed.tolist()}; "
                     f"{self.n_beyond_nonmembers} above every non-member "
                     f"({self.n_beyond_by_chance:.1f} by chance)")
        return "\n".join(lines)


def _check_attacks(attacks):
    """``attacks`` as a tuple of known names in report order (None: all)."""
    if attacks is None:
        return tuple(ATTACKS)
    items = [attacks] if isinstance(attacks, str) else attacks
    if not isinstance(items, (list, tuple)) or not items:
        raise TypeError(f"attacks must be None, an attack name or a non-empty list of them, "
                        f"got {attacks!r}.")
    for item in items:
        check_option("attacks", item, tuple(ATTACKS))
    return tuple(name for name in ATTACKS if name in items)


def _summary(point, resampled, confidence):
    """Point AUCs, their intervals, and the maximum's value and interval."""
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(resampled, [tail, 1.0 - tail], axis=0)
    max_low, max_high = np.quantile(resampled.max(1), [tail, 1.0 - tail])
    return (point, list(zip(low.tolist(), high.tolist())),
            float(point.max()), (float(max_low), float(max_high)))


@fill_doc
def membership_audit(members, nonmembers, synthetic, attacks=None, n_bootstrap=N_BOOTSTRAP,
                     confidence=CONFIDENCE, n_exposed=N_EXPOSED, n_components=N_COMPONENTS,
                     random_state=None):
    """Run the membership attack ensemble on a synthetic release and on a real one.

    Every attack (:data:`~mne_dualdiv.metrics.privacy.attacks.ATTACKS`: distance to the
    closest record, nearest-neighbour distance ratio, DOMIAS density ratio, kNN density ratio,
    random-forest classifier) scores the members and non-members; each AUC of telling them
    apart comes with a bootstrap interval, and the maximum is the headline. The same protocol
    on a release of real non-members gives the reference: the level at which an ensemble's
    maximum sits when nothing leaks (above 0.5: the maximum of several noisy AUCs). Channels
    are scaled with the members' robust statistics before any distance is taken.

    Parameters
    ----------
    %(privacy_sets)s
    attacks : None | str | list of str
        The attacks to run (None: all of ``ATTACKS``).
    n_bootstrap : int
        Bootstrap resamples of the intervals (at least 100).
    confidence : float
        Coverage of the intervals, in (0, 1).
    n_exposed : int
        How many of the most exposed members to list.
    n_components : int
        Principal components of the density and classifier attacks (fewer when the sets are
        small: ``sizes['n_components']``).
    random_state : None | int | numpy.random.Generator
        Seed of the folds, the reference's split, the classifier and the bootstrap.

    Returns
    -------
    audit : MembershipAudit

    Notes
    -----
    ``members`` needs at least 2 samples, ``nonmembers`` at least
    ``MIN_ENSEMBLE_NONMEMBERS`` = 8 and ``synthetic`` at least 2. Members and non-members must
    be disjoint (a shared sample is refused by its rows).

    References
    ----------
    .. [1] van Breugel B, Sun H, Qian Z, van der Schaar M (2023). Membership inference attacks
           against synthetic data through overfitting detection. AISTATS.
    .. [2] Ward J, Lin X, Wang CH, Cheng G (2025). Synth-MIA: a testbed for auditing privacy
           leakage in tabular data synthesis. arXiv:2509.18014.
    .. [3] Houssiau F, Jordon J, Cohen SN, et al. (2022). TAPAS: a toolbox for adversarial
           privacy auditing of synthetic data. arXiv:2211.06550.
    """
    attacks = _check_attacks(attacks)
    n_bootstrap = check_int("n_bootstrap", n_bootstrap, minimum=100)
    confidence = check_float("confidence", confidence, low=0.0, high=1.0, low_inclusive=False,
                             high_inclusive=False)
    n_exposed = check_int("n_exposed", n_exposed, minimum=0)
    n_components = check_int("n_components", n_components, minimum=1)
    rng = check_random_state(random_state)
    sets = check_privacy_sets(members, nonmembers, synthetic,
                              min_samples=(2, MIN_ENSEMBLE_NONMEMBERS, 2))
    members, nonmembers, synthetic = scaled_flat(*sets)

    functions = {name: ATTACKS[name] for name in attacks}
    folds = cross_fitted_scores(members, nonmembers, synthetic, functions, n_components, rng)
    order = rng.permutation(len(nonmembers))
    released, rest = nonmembers[order[:len(order) // 2]], nonmembers[order[len(order) // 2:]]
    reference_folds = cross_fitted_scores(members, rest, released, functions, n_components, rng)

    auc, ci, max_auc, max_ci = _summary(*fold_aucs(folds, n_bootstrap, rng), confidence)
    ref_auc, ref_ci, ref_max, ref_max_ci = _summary(*fold_aucs(reference_folds, n_bootstrap, rng),
                                                    confidence)
    strongest = int(np.argmax(auc))
    exposure, scores = _exposure(folds, strongest, len(members))
    # most exposed first; among equally exposed members, the higher score (a copy's) first
    exposed = np.lexsort((np.arange(len(members)), -scores, -exposure))[:n_exposed]
    n_beyond, by_chance = _beyond_all(folds, exposure)
    ref_beyond, ref_by_chance = _beyond_all(reference_folds, _exposure(
        reference_folds, int(np.argmax(ref_auc)), len(members))[0])
    return MembershipAudit(
        attacks=attacks, auc=dict(zip(attacks, auc.tolist())), ci=dict(zip(attacks, ci)),
        reference_auc=dict(zip(attacks, ref_auc.tolist())),
        reference_ci=dict(zip(attacks, ref_ci)), max_auc=max_auc, max_auc_ci=max_ci,
        strongest_attack=attacks[strongest], reference_max_auc=ref_max,
        reference_max_auc_ci=ref_max_ci, exposure=exposure, exposed=exposed,
        n_beyond_nonmembers=n_beyond, reference_n_beyond_nonmembers=ref_beyond,
        n_beyond_by_chance=by_chance, reference_n_beyond_by_chance=ref_by_chance,
        sizes=dict(n_members=len(members), n_nonmembers=len(nonmembers),
                   n_synthetic=len(synthetic), n_released=len(released),
                   n_reference_nonmembers=len(rest),
                   n_components=min(fold["n_components"] for fold in folds + reference_folds)),
        confidence=confidence, n_bootstrap=n_bootstrap)
