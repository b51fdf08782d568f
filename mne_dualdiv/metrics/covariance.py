"""Spatial covariance: mean channel covariances, the log-Euclidean distance, covariance_distance."""

import numpy as np

from .._checks import check_array_3d, check_random_state
from .._docs import fill_doc
from ._base import RELATIVE_LOG_FLOOR, MetricScore, batches, matched_sizes, prepare_sets


def mean_covariance(X):
    """Channel covariance over time of each sample (mean removed), averaged over samples.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_channels, n_times)
        The data: finite real values. Not modified.

    Returns
    -------
    covariance : ndarray, shape (n_channels, n_channels)
    """
    return batched_mean_covariance(check_array_3d(X, "X"))


def batched_mean_covariance(X):
    """:func:`mean_covariance` of a validated array, accumulated batch by batch."""
    total = 0.0
    for rows in batches(len(X)):
        centered = X[rows] - X[rows].mean(-1, keepdims=True)
        total = total + np.einsum("nct,ndt->cd", centered, centered)
    return total / (len(X) * max(X.shape[-1] - 1, 1))


def check_covariance(matrix, name):
    """A finite, square, symmetric float64 matrix (symmetric up to rounding), or a clear error."""
    try:
        matrix = np.array(matrix, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of real numbers: {err}") from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix (n_channels, n_channels), "
                         f"got shape {matrix.shape}.")
    if not np.isfinite(matrix).all():
        raise ValueError(f"{name} contains NaN or Inf values.")
    scale = max(np.abs(matrix).max(), np.finfo(float).tiny)
    if np.abs(matrix - matrix.T).max() > 1e-8 * scale:
        raise ValueError(f"{name} must be symmetric (a covariance matrix).")
    return matrix


def _spd_log(matrix):
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    floor = RELATIVE_LOG_FLOOR * max(eigenvalues.max(), np.finfo(float).tiny)
    return (eigenvectors * np.log(np.maximum(eigenvalues, floor))) @ eigenvectors.T


def log_euclidean_distance(A, B):
    """Log-Euclidean distance ``||logm(A) - logm(B)||_F`` between covariance matrices.

    Eigenvalues below ``1e-10`` times the largest are raised to that floor, so rank-deficient
    matrices give a finite (large) distance.

    Parameters
    ----------
    A, B : array-like, shape (n_channels, n_channels)
        Symmetric positive (semi-)definite matrices of the same size, finite (symmetric up to
        a relative ``1e-8``; otherwise a ValueError). Not modified.

    Returns
    -------
    distance : float
    """
    A, B = check_covariance(A, "A"), check_covariance(B, "B")
    if A.shape != B.shape:
        raise ValueError(f"A and B must have the same shape, got {A.shape} and {B.shape}.")
    return float(np.linalg.norm(_spd_log(A) - _spd_log(B)))


@fill_doc
def covariance_distance(train, heldout, synthetic, random_state=None):
    """Log-Euclidean distance between the mean spatial covariance matrices of two sets.

    Each set is summarised by the channel covariance over time of every sample, averaged over
    its samples (:func:`mean_covariance`); two summaries are compared with
    :func:`log_euclidean_distance`, a Riemannian-like distance that is 0 for identical sets and
    does not change when the data are multiplied by a constant (the unit).

    Parameters
    ----------
    %(train_heldout_synthetic)s
    %(random_state_train_synthetic)s

    Returns
    -------
    score : MetricScore
        ``'covariance_distance'`` (lower is better): synthetic vs held-out; reference: training
        vs held-out. ``details``: ``n_samples``.
    """
    train, heldout, synthetic, _ = prepare_sets(train, heldout, synthetic)
    train, synthetic = matched_sizes(train, synthetic, check_random_state(random_state))
    cov_heldout = batched_mean_covariance(heldout)
    return MetricScore(
        "covariance_distance", "fidelity",
        log_euclidean_distance(batched_mean_covariance(synthetic), cov_heldout),
        log_euclidean_distance(batched_mean_covariance(train), cov_heldout), "lower",
        details=dict(n_samples=len(synthetic)))
