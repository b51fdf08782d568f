"""The 1-D dual space: end points, clusters of real samples, localized (kNN) dual values."""

from dataclasses import dataclass

import numpy as np
from scipy.signal import argrelextrema
from scipy.stats import gaussian_kde


@dataclass
class DualClusters:
    """Clusters of the training samples in the 1-D dual space.

    Attributes
    ----------
    cut_points : ndarray, shape (n_clusters - 1,)
        Increasing values of the dual space that separate consecutive clusters.
    labels : ndarray of int, shape (n_train,)
        Cluster of each training sample, numbered from the lowest dual values up.
    """

    cut_points: np.ndarray
    labels: np.ndarray

    @property
    def n_clusters(self):
        """Number of clusters."""
        return len(self.cut_points) + 1

    @property
    def members(self):
        """List of index arrays (into the training samples), one per cluster."""
        return [np.flatnonzero(self.labels == c) for c in range(self.n_clusters)]


def find_clusters(values, valley_depth=0.5, grid_size=512):
    """Cut the sorted dual values at the deep minima of their kernel density.

    A local minimum of the Gaussian KDE (Silverman bandwidth) becomes a cut point when its
    density is below ``valley_depth`` times the lower of the highest peaks on its left and on its
    right, so shallow ripples of the density do not split a cluster.

    Parameters
    ----------
    values : ndarray, shape (n,)
        Dual values of the training samples.
    valley_depth : float
        Relative depth a density minimum needs to become a cut.
    grid_size : int
        Number of grid points on which the density is evaluated.

    Returns
    -------
    clusters : DualClusters
    """
    values = np.asarray(values, dtype=float)
    if np.ptp(values) == 0 or len(values) < 3:
        return DualClusters(np.empty(0), np.zeros(len(values), dtype=int))
    grid = np.linspace(values.min(), values.max(), grid_size)
    density = gaussian_kde(values, bw_method="silverman")(grid)
    cuts = []
    for i in argrelextrema(density, np.less)[0]:
        left_peak, right_peak = density[:i].max(), density[i + 1:].max()
        if density[i] < valley_depth * min(left_peak, right_peak):
            cuts.append(grid[i])
    cut_points = np.array(sorted(cuts))
    return DualClusters(cut_points, np.searchsorted(cut_points, values))


def knn_indices(reference, queries, n_neighbors, exclude_self=False):
    """Indices of the ``n_neighbors`` nearest rows of ``reference`` for each query row.

    Distances are Euclidean over flattened images. With ``exclude_self`` the queries are the
    reference rows themselves and each row's own index is skipped.
    """
    ref = reference.reshape(len(reference), -1)
    qry = queries.reshape(len(queries), -1)
    sq = (qry ** 2).sum(1)[:, None] + (ref ** 2).sum(1)[None, :] - 2 * qry @ ref.T
    if exclude_self:
        np.fill_diagonal(sq, np.inf)
    return np.argsort(sq, axis=1)[:, :n_neighbors]


def nearest_distances(reference, queries, batch_size=512):
    """Euclidean distance of each query image to its closest reference image."""
    return nearest_two_distances(reference, queries, batch_size)[0]


def nearest_two_distances(reference, queries, batch_size=512, exclude_self=False):
    """Distances of each query image to its closest and second-closest reference images.

    Parameters
    ----------
    reference : ndarray, shape (n_reference, ...)
        At least two images for the second distance (with one, it is ``inf``).
    queries : ndarray, shape (n_queries, ...)
        Images of the same shape.
    batch_size : int
        Queries per block (memory grows with ``batch_size * n_reference``).
    exclude_self : bool
        ``queries`` is ``reference``: query ``i`` is not compared with reference ``i``
        (leave-one-out distances).

    Returns
    -------
    first, second : ndarray, shape (n_queries,)
    """
    ref = reference.reshape(len(reference), -1)
    ref_sq = (ref ** 2).sum(1)
    first, second = np.empty(len(queries)), np.full(len(queries), np.inf)
    for start in range(0, len(queries), batch_size):
        qry = queries[start:start + batch_size].reshape(-1, ref.shape[1])
        sq = np.maximum((qry ** 2).sum(1)[:, None] + ref_sq[None, :] - 2 * qry @ ref.T, 0.0)
        block = slice(start, start + len(qry))
        if exclude_self:
            sq[np.arange(len(qry)), np.arange(start, start + len(qry))] = np.inf
        if sq.shape[1] > 1:
            two = np.partition(sq, 1, axis=1)[:, :2]
            first[block], second[block] = np.sqrt(two[:, 0]), np.sqrt(two[:, 1])
        else:
            first[block] = np.sqrt(sq[:, 0])
    return first, second


def nearest_ratios(first, second):
    """Nearest-neighbour distance ratios from the two distances of :func:`nearest_two_distances`.

    Returns
    -------
    ratios : ndarray, shape (n_queries,)
        ``first / second`` in [0, 1]; 1 where both distances are 0 (a query on two identical
        reference images).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(second > 0, first / second, 1.0)


def distance_ratios(reference, queries, exclude_self=False):
    """Nearest-neighbour distance ratio of each query: closest over second-closest distance.

    A ratio near 0 singles out one reference image (a near-copy of it); a ratio near 1 means
    the query is about as close to two reference images, whatever the scale of the data, which
    is why the near-copy guard uses it (``docs/method.md``, section 5).

    Parameters
    ----------
    reference, queries : ndarray, shape (n, ...)
        Images of the same shape.
    exclude_self : bool
        ``queries`` is ``reference`` and each image is compared with the others only
        (leave-one-out ratios, see :func:`nearest_two_distances`).

    Returns
    -------
    ratios : ndarray, shape (n_queries,)
    """
    return nearest_ratios(*nearest_two_distances(reference, queries, exclude_self=exclude_self))


def local_dual_values(dual_fn, queries, reference, neighbors, n_draws, rng):
    """Localized dual values: each query against the product of marginals of its neighbourhood.

    For a query ``x`` with nearest training neighbours ``N(x)``, the local marginal draws every
    pixel independently from the values of that pixel in ``N(x)``. The local value is the
    Donsker-Varadhan contrast of ``x`` with that local marginal under the global dual function,
    ``F(x) - log mean_z exp F(z)``, averaged over ``n_draws`` local draws: how much more
    dependent-looking ``x`` is than a pixel-wise mix of its neighbours. Any fixed function gives a
    valid DV contrast, so the global network is reused at the local scale.

    Parameters
    ----------
    dual_fn : callable
        Maps an array of scaled images (n, n_channels, n_times) to dual values (n,).
    queries : ndarray, shape (n_queries, n_channels, n_times)
        Scaled images.
    reference : ndarray, shape (n_train, n_channels, n_times)
        Scaled training images.
    neighbors : ndarray of int, shape (n_queries, n_neighbors)
        Indices into ``reference`` of each query's neighbourhood.
    n_draws : int
        Local marginal draws per query.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    local_values : ndarray, shape (n_queries,)
    """
    n_queries, n_neighbors = neighbors.shape
    n_pixels = reference[0].size
    flat_ref = reference.reshape(len(reference), n_pixels)
    pick = rng.integers(0, n_neighbors, size=(n_draws, n_queries, n_pixels))
    rows = np.take_along_axis(np.broadcast_to(neighbors, (n_draws, n_queries, n_neighbors)),
                              pick, axis=2)
    local_marginals = flat_ref[rows, np.arange(n_pixels)].reshape(
        n_draws * n_queries, *reference.shape[1:])
    z_values = dual_fn(local_marginals).reshape(n_draws, n_queries)
    top = z_values.max(0)
    log_mean_exp = top + np.log(np.exp(z_values - top).mean(0))
    return dual_fn(queries) - log_mean_exp
