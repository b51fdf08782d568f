"""Privacy scores: distance to closest record and membership inference from distances."""

import numpy as np
from sklearn.metrics import roc_auc_score

from ..engine.dualspace import nearest_distances


def _flat(X, name):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim < 2:
        raise ValueError(f"{name} must have at least 2 dimensions (n_samples, ...), got {X.shape}.")
    return X.reshape(len(X), -1)


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
    reference, queries = _flat(reference, "reference"), _flat(queries, "queries")
    if reference.shape[1] != queries.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} values per sample, reference "
                         f"{reference.shape[1]}; they must match.")
    return nearest_distances(reference, queries)


def membership_inference_auc(train, heldout, synthetic):
    """AUC of telling training from held-out samples by their distance to the synthetic set.

    An attacker who holds the synthetic set guesses that samples lying closer to it were in the
    training set. The AUC of that guess (training = positive, score = minus the distance to the
    closest synthetic sample) is 0.5 when nothing leaks and 1.0 when the synthetic set copies the
    training set.

    Parameters
    ----------
    train, heldout, synthetic : array-like, shape (n, ...)
        Samples with the same trailing shape.

    Returns
    -------
    auc : float
    """
    d_train = closest_record_distances(synthetic, train)
    d_heldout = closest_record_distances(synthetic, heldout)
    labels = np.r_[np.ones(len(d_train)), np.zeros(len(d_heldout))]
    return float(roc_auc_score(labels, -np.r_[d_train, d_heldout]))


def privacy_scores(train, heldout, synthetic):
    """Closest-record distances of synthetic and held-out samples, and the membership AUC.

    Parameters
    ----------
    train, heldout, synthetic : array-like, shape (n, ...)
        Real training, real held-out and synthetic samples, in the same (scaled) units.

    Returns
    -------
    scores : dict
        ``median_dcr_synthetic`` and ``median_dcr_heldout`` (median distance to the closest
        training sample), their ratio ``dcr_ratio`` (about 1 or more: no copying),
        ``fraction_closer_than_heldout`` (synthetic samples closer to the training set than the
        median held-out sample), and ``membership_inference_auc``.
    """
    d_syn = closest_record_distances(train, synthetic)
    d_held = closest_record_distances(train, heldout)
    median_held = float(np.median(d_held))
    return dict(
        median_dcr_synthetic=float(np.median(d_syn)),
        median_dcr_heldout=median_held,
        dcr_ratio=float(np.median(d_syn) / median_held) if median_held > 0 else np.inf,
        fraction_closer_than_heldout=float(np.mean(d_syn < median_held)),
        membership_inference_auc=membership_inference_auc(train, heldout, synthetic),
    )
