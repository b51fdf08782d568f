"""The near-copy guard: its threshold on nearest-neighbour distance ratios, and what it flags."""

import numpy as np

from .dualspace import distance_ratios

#: Lowest near-copy threshold on the nearest-neighbour distance ratio, whatever the held-out
#: samples give: a sample at most half as far from its closest training sample as from the
#: next one singles that sample out.
MIN_NEAR_COPY_RATIO = 0.5


def near_copy_threshold(train, heldout_ratios, percentile):
    """Distance ratio under which a sample counts as a near-copy of a training sample.

    The lower tail of a few held-out ratios is poorly estimated (5 % of 10 samples is their
    minimum): the training samples' leave-one-out ratios, distributed like unseen samples'
    against one sample fewer, add ``n_train`` values (``docs/method.md``, section 5).

    Parameters
    ----------
    train : ndarray, shape (n_train, n_channels, n_times)
        Scaled training images.
    heldout_ratios : ndarray, shape (n_heldout,)
        Distance ratios of the held-out images against ``train``.
    percentile : float
        Percentile (0-100) of the held-out and leave-one-out ratios taken as the threshold.

    Returns
    -------
    threshold : float
        That percentile, at least :data:`MIN_NEAR_COPY_RATIO`.
    """
    train64 = train.astype(np.float64)
    reference_ratios = np.r_[heldout_ratios, distance_ratios(train64, train64, exclude_self=True)]
    return max(float(np.percentile(reference_ratios, percentile)), MIN_NEAR_COPY_RATIO)


def near_copies(train, samples, threshold):
    """Whether each sample is a near-copy: its distance ratio against ``train`` is below
    ``threshold``.

    Parameters
    ----------
    train : ndarray, shape (n_train, n_channels, n_times)
        Scaled training images.
    samples : ndarray, shape (n_samples, n_channels, n_times)
        Scaled images to check.
    threshold : float
        The fitted ``near_copy_threshold_``.

    Returns
    -------
    near : ndarray of bool, shape (n_samples,)
    """
    return distance_ratios(train, samples) < threshold
