"""Walk statistics of a subset of the training samples: conditional sampling in one dual space.

A generator fitted on several classes at once learns one dual space for all of them. Walks
for one class start from that class's own data-shaped Gaussian, diffuse with it, and take
their targets from the class members' dual values, so that a sample belongs to the class it
was drawn for by construction (``docs/method.md``, "Small cohorts"). The end points, the
localized check and the near-copy guard stay those of all training samples.
"""

from typing import NamedTuple

import numpy as np

from .dualspace import DualClusters, find_clusters
from .fitting import MIN_SUBSET_SAMPLES
from .gaussian import DataGaussian


class WalkStatistics(NamedTuple):
    """What the walks of one set of training samples start from and aim at.

    Parameters
    ----------
    gaussian : DataGaussian
        The Gaussian the walks start from and diffuse with.
    values : ndarray, shape (n_members,)
        Dual values of the members (the targets' source).
    endpoints : ndarray, shape (2,)
        Their smallest and largest value (the targets' range).
    clusters : DualClusters
        Their clusters in the dual space.
    positions : None | ndarray of int, shape (n_members,)
        Positions of the members among the training samples; None for all of them.
    """

    gaussian: DataGaussian
    values: np.ndarray
    endpoints: np.ndarray
    clusters: DualClusters
    positions: np.ndarray = None


def subset_positions(subset, train_indices, n_fitted, name="subset"):
    """Positions among the training samples of the rows ``subset`` of the fitted ``X``.

    Parameters
    ----------
    subset : array-like of int | array-like of bool
        Rows of the ``X`` given to ``fit`` (indices, or a mask of its length).
    train_indices : ndarray of int
        The fitted ``train_indices_`` (rows of ``X``, increasing).
    n_fitted : int
        Number of rows of the fitted ``X``.
    name : str
        The argument name used in error messages.

    Returns
    -------
    positions : ndarray of int
        Sorted positions in ``train_indices``: the subset's rows used for training (rows held
        out or dropped as duplicates have no training image to take statistics from).

    Raises
    ------
    TypeError, ValueError
        For a subset that is not integer indices or a mask, that names rows outside ``X``,
        or that holds fewer than ``MIN_SUBSET_SAMPLES`` training rows.
    """
    rows = np.asarray(subset)
    if rows.dtype == bool:
        if rows.shape != (n_fitted,):
            raise ValueError(f"{name} as a boolean mask must have one value per row of the X "
                             f"given to fit ({n_fitted}), got shape {rows.shape}.")
        rows = np.flatnonzero(rows)
    if rows.ndim != 1 or (rows.size and rows.dtype.kind not in "iu"):
        raise TypeError(f"{name} must be a 1-D array of row indices of the X given to fit "
                        f"(or a boolean mask), got {rows.dtype} of shape {rows.shape} instead.")
    outside = rows[(rows < 0) | (rows >= n_fitted)]
    if outside.size:
        raise ValueError(f"{name} holds rows {outside[:5].tolist()} outside the {n_fitted} "
                         "rows of the X given to fit.")
    positions = np.flatnonzero(np.isin(train_indices, rows))
    if len(positions) < MIN_SUBSET_SAMPLES:
        raise ValueError(
            f"{name} holds {len(positions)} training row(s) of the X given to fit; at least "
            f"{MIN_SUBSET_SAMPLES} are needed (held-out rows, heldout_indices_, do not count: "
            "give fit the labels as y so that every class keeps training samples).")
    return positions


def subset_statistics(train_scaled, values, positions, shrinkage):
    """The walk statistics of the training samples at ``positions``.

    Parameters
    ----------
    train_scaled : ndarray, shape (n_train, n_channels, n_times)
        Scaled training images.
    values : ndarray, shape (n_train,)
        Their dual values.
    positions : ndarray of int
        The members (:func:`subset_positions`).
    shrinkage : None | float
        The generator's ``walk_shrinkage`` (None: the Ledoit-Wolf intensity of the members).

    Returns
    -------
    statistics : WalkStatistics
    """
    members = values[positions]
    return WalkStatistics(DataGaussian(train_scaled[positions], shrinkage), members,
                          np.array([members.min(), members.max()]), find_clusters(members),
                          positions)
