"""Distance scores of membership: one distance attack, DCR and NNDR, same-pool protocol.

The protocol (``docs/metrics.md``, "Privacy"): the generator is fitted on a random part of a pool
of real samples (the *members*); the rest of the pool are the *non-members*. An attacker who
holds the synthetic set tries to tell members from non-members. Because both come from the same
pool, nothing but the generator's use of the members can tell them apart: a shift between
sessions or recordings (a later session held out) does not enter. The reference of every score
releases real non-members instead of synthetic samples and reads 0.5, 1.0 and 0.5 by
construction. :mod:`.ensemble` runs several attacks under the same protocol.
"""

import numpy as np
from sklearn.metrics import roc_auc_score

from ..._checks import as_real_array, check_random_state
from ...engine.dualspace import nearest_distances

#: Fewest non-members the protocol accepts: half are released as the reference's real set.
MIN_NONMEMBERS = 4


def _flat(X, name):
    """``X`` as finite float64 rows ``(n_samples, n_values)``, refused by ``name`` otherwise."""
    X = as_real_array(X, name)
    if X.ndim < 2:
        raise ValueError(f"{name} must have at least 2 dimensions (n_samples, ...), got {X.shape}.")
    if len(X) == 0 or X[0].size == 0:
        raise ValueError(f"{name} must hold at least one sample of at least one value, got "
                         f"shape {X.shape}.")
    bad = ~np.isfinite(X)
    if bad.any():
        raise ValueError(f"{name} contains NaN or Inf values ({int(bad.sum())} of {X.size}); "
                         "privacy scores of such data mean nothing.")
    return X.reshape(len(X), -1)


def check_disjoint(members, nonmembers, names=("members", "nonmembers")):
    """Refuse members and non-members that share a sample (an identical row).

    A sample in both sets makes every membership score read "no leak" whatever the synthetic
    set is (``privacy_scores(A, A, A)`` gave an AUC of 0.5): the protocol needs two disjoint
    parts of one pool. Rows are compared value for value (``-0.0`` equals ``0.0``).
    """
    seen = {row.tobytes() for row in _flat(members, names[0]) + 0.0}
    shared = [i for i, row in enumerate(_flat(nonmembers, names[1]) + 0.0)
              if row.tobytes() in seen]
    if shared:
        raise ValueError(
            f"{names[0]} and {names[1]} share {len(shared)} sample(s) ({names[1]} rows "
            f"{shared[:5]}{', ...' if len(shared) > 5 else ''}); non-members must be real "
            "samples the generator never saw, from the same pool but not among the members.")


def closest_record_distances(reference, queries):
    """Euclidean distance of every query sample to its closest reference sample.

    Parameters
    ----------
    reference : array-like, shape (n_reference, ...)
        Usually the training samples.
    queries : array-like, shape (n_queries, ...)
        Synthetic or held-out samples, with the same trailing shape.

    Returns
    -------
    distances : ndarray, shape (n_queries,)
    """
    return _distances(_flat(reference, "reference"), _flat(queries, "queries"))


def _distances(reference, queries, names=("reference", "queries")):
    """:func:`closest_record_distances` of checked rows, naming ``names`` when widths differ."""
    if reference.shape[1] != queries.shape[1]:
        raise ValueError(f"{names[1]} have {queries.shape[1]} values per sample, {names[0]} "
                         f"{reference.shape[1]}; they must match.")
    return nearest_distances(reference, queries)


def _checked(members, nonmembers, released, released_name="released"):
    """The three sets as finite rows, members and non-members disjoint, each named."""
    members, nonmembers = _flat(members, "members"), _flat(nonmembers, "nonmembers")
    released = _flat(released, released_name)
    _distances(members, nonmembers, ("members", "nonmembers"))
    _distances(members, released, ("members", released_name))
    check_disjoint(members, nonmembers)
    return members, nonmembers, released


def membership_inference_auc(members, nonmembers, released):
    """AUC of telling members from non-members by their distance to a released set.

    The attacker guesses that samples lying closer to the released set were members. The AUC of
    that guess (members positive, score minus the distance to the closest released sample) is
    0.5 when nothing leaks and 1.0 when the released set copies the members.

    Parameters
    ----------
    members, nonmembers, released : array-like, shape (n, ...)
        Samples with the same trailing shape.

    Returns
    -------
    auc : float
    """
    members, nonmembers, released = _checked(members, nonmembers, released)
    d_members, d_nonmembers = _distances(released, members), _distances(released, nonmembers)
    labels = np.r_[np.ones(len(d_members)), np.zeros(len(d_nonmembers))]
    return float(roc_auc_score(labels, -np.r_[d_members, d_nonmembers]))


def attack_scores(members, nonmembers, released):
    """The three membership scores of a released set against equally many members and non-members.

    Parameters
    ----------
    members, nonmembers : array-like, shape (n, ...)
        The same number of members and non-members.
    released : array-like, shape (n_released, ...)
        Synthetic (or, for the reference, real non-member) samples.

    Returns
    -------
    scores : dict
        ``membership_inference_auc`` (0.5: no leak); ``nndr``, the median over released samples
        of the distance to the closest member divided by the distance to the closest non-member
        (1.0: no leak; below 1: released samples sit nearer the members);
        ``share_closer_to_members``, the fraction of released samples closer to a member than
        to any non-member (0.5: no leak).
    """
    members, nonmembers, released = _checked(members, nonmembers, released)
    if len(members) != len(nonmembers):
        raise ValueError(f"members and nonmembers must be equally many, got {len(members)} and "
                         f"{len(nonmembers)}.")
    to_members, to_nonmembers = _distances(members, released), _distances(nonmembers, released)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(to_nonmembers > 0, to_members / to_nonmembers,
                          np.where(to_members > 0, np.inf, 1.0))
    return dict(membership_inference_auc=membership_inference_auc(members, nonmembers, released),
                nndr=float(np.median(ratios)),
                share_closer_to_members=float(np.mean(to_members < to_nonmembers)))


def privacy_scores(members, nonmembers, synthetic, random_state=None):
    """Same-pool membership scores of a synthetic set, and of released real data as reference.

    Members and non-members are subsampled (without replacement) to the same number, so that
    the share and the ratio do not depend on the two sets' sizes. The reference splits the
    non-members into two random halves: one is released in place of the synthetic set, the
    other serves as the non-members (against as many members), so it reads 0.5 / 1.0 / 0.5 up
    to sampling noise.

    Parameters
    ----------
    members : array-like, shape (n_members, ...)
        The real samples the generator was fitted on, in the same (scaled) units as the others.
    nonmembers : array-like, shape (n_nonmembers, ...)
        Real samples of the same pool that the generator never saw (at least
        ``MIN_NONMEMBERS``).
    synthetic : array-like, shape (n_synthetic, ...)
        Generated samples.
    random_state : None | int | numpy.random.Generator
        Seed of the subsampling and of the reference's split.

    Returns
    -------
    scores : dict
        For the synthetic set: ``membership_inference_auc``, ``nndr``,
        ``share_closer_to_members`` (see :func:`attack_scores`), ``median_dcr_synthetic``
        (median distance to the closest member), ``median_dcr_nonmembers`` (the same for the
        non-members) and ``dcr_ratio`` (their ratio; about 1 or more: no copying). The same
        three attack scores with the prefix ``reference_`` for released real non-members, and
        ``n_compared`` (members and non-members compared for the synthetic set).
    """
    members, nonmembers, synthetic = _checked(members, nonmembers, synthetic, "synthetic")
    if len(nonmembers) < MIN_NONMEMBERS:
        raise ValueError(f"nonmembers must have at least {MIN_NONMEMBERS} samples, got "
                         f"{len(nonmembers)}.")
    rng = check_random_state(random_state)
    n = min(len(members), len(nonmembers))
    chosen_members = members[rng.permutation(len(members))[:n]]
    chosen_nonmembers = nonmembers[rng.permutation(len(nonmembers))[:n]]
    scores = attack_scores(chosen_members, chosen_nonmembers, synthetic)

    order = rng.permutation(len(nonmembers))
    half = len(order) // 2
    released, held = nonmembers[order[:half]], nonmembers[order[half:2 * half]]
    reference_members = members[rng.permutation(len(members))[:min(half, len(members))]]
    held = held[:len(reference_members)]
    scores.update({f"reference_{k}": v
                   for k, v in attack_scores(reference_members, held, released).items()})

    d_synthetic, d_nonmembers = _distances(members, synthetic), _distances(members, nonmembers)
    median_nonmembers = float(np.median(d_nonmembers))
    scores.update(
        median_dcr_synthetic=float(np.median(d_synthetic)),
        median_dcr_nonmembers=median_nonmembers,
        dcr_ratio=(float(np.median(d_synthetic) / median_nonmembers) if median_nonmembers > 0
                   else np.inf),
        n_compared=n,
    )
    return scores
