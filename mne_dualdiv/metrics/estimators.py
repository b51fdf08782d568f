"""Estimators on sets of vectors: k-NN entropy and KL divergence, Gaussian total correlation.

The information scores (:mod:`mne_dualdiv.metrics.information`) apply them to the samples'
principal components or channel covariances; :func:`max_cluster_divergence` is the largest
k-NN divergence between k-means clusters.
"""

import math

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln
from sklearn.cluster import KMeans

from .._checks import check_array_2d, check_int, check_random_state
from ._base import seed_from
from .covariance import check_covariance


def _kth_distances(tree, points, k, skip_self):
    distances, _ = tree.query(points, k=k + 1 if skip_self else k)
    distances = distances.reshape(len(points), -1)
    # Duplicated points give a zero distance; a floor keeps the logarithm finite (and very low).
    return np.maximum(distances[:, -1], 1e-12)


def knn_entropy(X, n_neighbors=3):
    """Kozachenko–Leonenko k-nearest-neighbour estimate of the differential entropy, in nats.

    ``H = psi(n) - psi(k) + log V_d + (d / n) sum_i log eps_i``, where ``eps_i`` is the Euclidean
    distance from sample ``i`` to its ``k``-th nearest neighbour and ``V_d`` the volume of the
    unit ball in ``d`` dimensions.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_features)
        Samples of a continuous distribution (duplicated rows bias the estimate down).
    n_neighbors : int
        The ``k`` of the estimator.

    Returns
    -------
    entropy : float

    References
    ----------
    .. [1] Kozachenko LF, Leonenko NN (1987). Sample estimate of the entropy of a random vector.
           Problems of Information Transmission 23(2):95-101.
    .. [2] Kraskov A, Stögbauer H, Grassberger P (2004). Estimating mutual information.
           Physical Review E 69:066138.
    """
    X = check_array_2d(X, "X")
    n_neighbors = check_int("n_neighbors", n_neighbors, minimum=1)
    n, d = X.shape
    if n <= n_neighbors:
        raise ValueError(f"X needs more than n_neighbors={n_neighbors} samples, got {n}.")
    eps = _kth_distances(cKDTree(X), X, n_neighbors, skip_self=True)
    log_unit_ball = d / 2 * math.log(math.pi) - gammaln(d / 2 + 1)
    return float(digamma(n) - digamma(n_neighbors) + log_unit_ball + d * np.log(eps).mean())


def knn_kl_divergence(X, Y, n_neighbors=1):
    """Wang–Kulkarni–Verdú k-nearest-neighbour estimate of ``KL(P || Q)`` in nats.

    ``D = (d / n) sum_i log(nu_i / rho_i) + log(m / (n - 1))`` with ``X ~ P`` (``n`` samples),
    ``Y ~ Q`` (``m`` samples), ``rho_i`` the distance from ``X_i`` to its ``k``-th neighbour in
    ``X`` (itself excluded) and ``nu_i`` the distance to its ``k``-th neighbour in ``Y``.

    Parameters
    ----------
    X : array-like, shape (n, n_features)
        Samples of ``P``.
    Y : array-like, shape (m, n_features)
        Samples of ``Q``.
    n_neighbors : int
        The ``k`` of the estimator.

    Returns
    -------
    divergence : float
        The estimate (it can be slightly negative for close distributions).

    References
    ----------
    .. [1] Wang Q, Kulkarni SR, Verdú S (2009). Divergence estimation for multidimensional
           densities via k-nearest-neighbor distances. IEEE Trans Inf Theory 55(5):2392-2405.
    """
    X, Y = check_array_2d(X, "X"), check_array_2d(Y, "Y")
    n_neighbors = check_int("n_neighbors", n_neighbors, minimum=1)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same number of features, got {X.shape[1]} and "
                         f"{Y.shape[1]}.")
    (n, d), m = X.shape, len(Y)
    if n <= n_neighbors or m < n_neighbors:
        raise ValueError(f"X needs more than n_neighbors={n_neighbors} samples and Y at least "
                         f"as many, got {n} and {m}.")
    rho = _kth_distances(cKDTree(X), X, n_neighbors, skip_self=True)
    nu = _kth_distances(cKDTree(Y), X, n_neighbors, skip_self=False)
    return float(d * np.mean(np.log(nu / rho)) + math.log(m / (n - 1)))


def gaussian_total_correlation(covariance):
    """Total correlation of a Gaussian with this covariance: ``-1/2 log det R``, in nats.

    ``R`` is the correlation matrix of ``covariance``. A variable with zero variance counts as
    independent of the others, and eigenvalues of ``R`` are floored at ``1e-10`` so that
    duplicated variables give a large but finite value.

    Parameters
    ----------
    covariance : array-like, shape (n_variables, n_variables)
        A covariance matrix: finite, symmetric (up to a relative ``1e-8``), with a
        non-negative diagonal; otherwise a ValueError naming ``covariance``. Not modified.

    Returns
    -------
    total_correlation : float
        ``sum_j H(x_j) - H(x)`` for a Gaussian; 0 for independent variables.
    """
    covariance = check_covariance(covariance, "covariance")
    if (np.diag(covariance) < 0).any():
        raise ValueError("covariance has negative variances on its diagonal.")
    std = np.sqrt(np.clip(np.diag(covariance), 0, None))
    scale = np.where(std > 0, std, 1.0)
    correlation = covariance / np.outer(scale, scale)
    correlation[std == 0, :] = 0
    correlation[:, std == 0] = 0
    np.fill_diagonal(correlation, 1.0)
    eigenvalues = np.linalg.eigvalsh((correlation + correlation.T) / 2)
    return float(-0.5 * np.log(np.maximum(eigenvalues, 1e-10)).sum())


def max_cluster_divergence(X, n_clusters=4, n_neighbors=3, random_state=None):
    """Largest kNN divergence estimate between two k-means clusters of a set of vectors.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_features)
        The samples (e.g. principal components).
    n_clusters : int
        Number of k-means clusters.
    n_neighbors : int
        The ``k`` of :func:`knn_kl_divergence`; clusters with ``n_neighbors`` members or fewer
        are left out.
    random_state : None | int | numpy.random.Generator
        Seed of k-means.

    Returns
    -------
    divergence : float
        ``max_{a != b} KL(cluster a || cluster b)`` in nats; NaN when fewer than two clusters
        are large enough.
    """
    X = check_array_2d(X, "X")
    n_clusters = check_int("n_clusters", n_clusters, minimum=2)
    n_neighbors = check_int("n_neighbors", n_neighbors, minimum=1)
    seed = seed_from(check_random_state(random_state))
    if len(X) < n_clusters:
        raise ValueError(f"X needs at least n_clusters={n_clusters} samples, got {len(X)}.")
    labels = KMeans(n_clusters=n_clusters, n_init=4, random_state=seed).fit_predict(X)
    clusters = [X[labels == c] for c in range(n_clusters) if (labels == c).sum() > n_neighbors]
    divergences = [knn_kl_divergence(a, b, n_neighbors) for i, a in enumerate(clusters)
                   for j, b in enumerate(clusters) if i != j]
    return float(max(divergences)) if divergences else math.nan
