"""The near-copy guard: its threshold on nearest-neighbour distance ratios, and what it flags.

Training images that repeat one another with a little noise (near-duplicates) count as one
image, a group: a sample's distance to a group is its distance to the closest member, and its
ratio is the distance to the closest group over the distance to the second-closest. Without
groups, a near-copy of a repeated image is about as close to the repeat as to the image itself
(ratios around 0.7: 22 % of them were flagged), and the threshold calibrated on leave-one-out
ratios falls to its floor (each repeat's ratio is near 0).
"""

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from .dualspace import distance_ratios, nearest_ratios

#: Lowest near-copy threshold on the nearest-neighbour distance ratio, whatever the held-out
#: samples give: a sample at most half as far from its closest training sample as from the
#: next one singles that sample out.
MIN_NEAR_COPY_RATIO = 0.5
#: Two training images are near-duplicates when their distance is below this fraction of the
#: median distance between two training images. On real EEG no two distinct epochs come that
#: close: the smallest nearest-neighbour distance is 0.32 of the median pairwise distance on
#: FingerMovements (316 training epochs, 28 x 50, scaled as the engine scales them), 0.35 on
#: SelfRegulationSCP1 (268 epochs, 6 x 896), 0.33-0.42 within one class of either, and 0.44 on
#: 80 Gaussian images of 4 x 16: a margin of three. An epoch repeated with independent noise of
#: ``s`` times its standard deviation lies 0.6-0.9 ``s`` of that median from its original (40
#: Gaussian images), so repeats with noise up to 10 % of the signal are grouped (issue 18.7's
#: had 0.1 %); at 15 % some are not, and the threshold falls to its floor again.
NEAR_DUPLICATE_FRACTION = 0.1


def near_duplicate_groups(train):
    """Group of each training image: near-duplicates, joined transitively, form one group.

    Parameters
    ----------
    train : ndarray, shape (n_train, n_channels, n_times)
        Scaled training images (no two identical: ``fit`` keeps distinct samples only).

    Returns
    -------
    groups : ndarray of int, shape (n_train,)
        The lowest index of each image's group: ``arange(n_train)`` when no two images are
        near-duplicates (closer than :data:`NEAR_DUPLICATE_FRACTION` times the median pairwise
        distance).
    near_distance : float
        That distance.
    """
    if len(train) < 2:
        return np.arange(len(train)), 0.0
    flat = train.reshape(len(train), -1).astype(np.float64)
    squares = (flat ** 2).sum(1)
    distances = np.sqrt(np.maximum(squares[:, None] + squares[None, :] - 2 * flat @ flat.T, 0))
    near_distance = NEAR_DUPLICATE_FRACTION * float(
        np.median(distances[np.triu_indices(len(flat), 1)]))
    _, component = connected_components(csr_matrix(distances < near_distance), directed=False)
    lowest = np.full(component.max() + 1, len(flat))
    np.minimum.at(lowest, component, np.arange(len(flat)))
    return lowest[component], near_distance


def has_groups(groups):
    """Whether any two training images share a group."""
    return groups is not None and bool((groups != np.arange(len(groups))).any())


def group_distance_ratios(train, groups, queries, exclude_within=None, batch_size=512):
    """Distance ratio of each query against the groups of the training images.

    Parameters
    ----------
    train : ndarray, shape (n_train, n_channels, n_times)
        Scaled training images.
    groups : ndarray of int, shape (n_train,)
        Their groups (:func:`near_duplicate_groups`).
    queries : ndarray, shape (n_queries, n_channels, n_times)
        Scaled images.
    exclude_within : None | float
        Skip, for each query, the groups closer than this to it: its own group for a training
        image, the group it repeats for a held-out one (leave-one-group-out ratios).
    batch_size : int
        Queries per block.

    Returns
    -------
    ratios : ndarray, shape (n_queries,)
        Distance to the closest group over the distance to the second-closest.
    """
    order = np.argsort(groups, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(groups[order]) != 0])
    ref = train.reshape(len(train), -1)[order]
    ref_sq = (ref ** 2).sum(1)
    first, second = np.empty(len(queries)), np.full(len(queries), np.inf)
    for begin in range(0, len(queries), batch_size):
        qry = queries[begin:begin + batch_size].reshape(-1, ref.shape[1])
        sq = np.maximum((qry ** 2).sum(1)[:, None] + ref_sq[None, :] - 2 * qry @ ref.T, 0.0)
        group_sq = np.minimum.reduceat(sq, starts, axis=1)
        if exclude_within is not None:
            group_sq[group_sq < exclude_within ** 2] = np.inf
        if group_sq.shape[1] > 1:
            two = np.partition(group_sq, 1, axis=1)[:, :2]
        else:
            two = np.c_[group_sq, np.full(len(group_sq), np.inf)]
        block = slice(begin, begin + len(qry))
        first[block], second[block] = np.sqrt(two[:, 0]), np.sqrt(two[:, 1])
    return nearest_ratios(first, second)


def near_copy_threshold(train, heldout, heldout_ratios, percentile, groups=None,
                        near_distance=None):
    """Distance ratio under which a sample counts as a near-copy of a training sample.

    The lower tail of a few held-out ratios is poorly estimated (5 % of 10 samples is their
    minimum): the training samples' leave-one-out ratios, distributed like unseen samples'
    against one sample fewer, add ``n_train`` values (``docs/method.md``, section 5). With
    near-duplicates among the training images, both sets of ratios are taken against their
    groups, each query's own group left out, so that the threshold is what it is without the
    repeats (each of 40 Gaussian images repeated with 0.1 % noise: 0.80 with groups, 0.81
    without the repeats, 0.50 with the repeats and no groups).

    Parameters
    ----------
    train : ndarray, shape (n_train, n_channels, n_times)
        Scaled training images.
    heldout : ndarray, shape (n_heldout, n_channels, n_times)
        Scaled held-out images.
    heldout_ratios : ndarray, shape (n_heldout,)
        Distance ratios of the held-out images against ``train``.
    percentile : float
        Percentile (0-100) of the held-out and leave-one-out ratios taken as the threshold.
    groups : None | ndarray of int, shape (n_train,)
        Groups of near-duplicates (:func:`near_duplicate_groups`); None or all distinct: the
        ratios against single images.
    near_distance : None | float
        The near-duplicates' distance (:func:`near_duplicate_groups`), with ``groups``.

    Returns
    -------
    threshold : float
        That percentile, at least :data:`MIN_NEAR_COPY_RATIO`.
    heldout_ratios : ndarray, shape (n_heldout,)
        The held-out ratios it used: the given ones, or their leave-one-group-out values.
    """
    train64 = train.astype(np.float64)
    if has_groups(groups):
        heldout_ratios = group_distance_ratios(train64, groups, heldout.astype(np.float64),
                                               exclude_within=near_distance)
        train_ratios = group_distance_ratios(train64, groups, train64,
                                             exclude_within=near_distance)
    else:
        train_ratios = distance_ratios(train64, train64, exclude_self=True)
    reference_ratios = np.r_[heldout_ratios, train_ratios]
    threshold = max(float(np.percentile(reference_ratios, percentile)), MIN_NEAR_COPY_RATIO)
    return threshold, heldout_ratios


def near_copies(train, samples, threshold, groups=None):
    """Whether each sample is a near-copy: its distance ratio against the training images
    (against their groups of near-duplicates, if any) is below ``threshold``.

    Parameters
    ----------
    train : ndarray, shape (n_train, n_channels, n_times)
        Scaled training images.
    samples : ndarray, shape (n_samples, n_channels, n_times)
        Scaled images to check.
    threshold : float
        The fitted ``near_copy_threshold_``.
    groups : None | ndarray of int, shape (n_train,)
        The fitted ``near_duplicate_groups_``.

    Returns
    -------
    near : ndarray of bool, shape (n_samples,)
    """
    if has_groups(groups):
        return group_distance_ratios(train, groups, samples) < threshold
    return distance_ratios(train, samples) < threshold
