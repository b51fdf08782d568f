"""Fitting: the split of the distinct samples, the path's bridges and the 1-D dual space."""

import math

import numpy as np
import torch

from .._logging import logger
from .bridges import bridge_divergences, train_bridges
from .dualspace import (find_clusters, knn_indices, local_dual_values, nearest_ratios,
                        nearest_two_distances)
from .guard import near_copy_threshold, near_duplicate_groups
from .network import DualNetwork

#: Fewest training and held-out samples of the regular split.
MIN_TRAIN_SAMPLES = 15
MIN_HELDOUT_SAMPLES = 5
#: Fewest training and held-out samples of the small-sample split, under 20 samples
#: (``docs/method.md``, "Small cohorts"): 5 samples are the least the method works with.
MIN_SMALL_TRAIN = 3
MIN_SMALL_HELDOUT = 2
#: Fewest training samples a ``subset`` of :meth:`DualDivergenceGenerator.sample` needs: its
#: walks' Gaussian needs a covariance and its targets a range of dual values.
MIN_SUBSET_SAMPLES = 2


def distinct_rows(X):
    """Rows of ``X`` that are no exact copy of an earlier row, in increasing order.

    A sample given twice would sit at distance 0 from its copy and switch the near-copy guard
    off (a held-out copy of a training sample has distance ratio 0), so ``fit`` keeps the first.

    Parameters
    ----------
    X : ndarray, shape (n_samples, ...)
        The samples.

    Returns
    -------
    rows : ndarray of int, shape (n_distinct,)
    """
    _, first = np.unique(X.reshape(len(X), -1), axis=0, return_index=True)
    return np.sort(first)


def _small_heldout(n_samples, validation_fraction):
    """Held-out count of the small-sample split: ``validation_fraction``, at least two."""
    return max(MIN_SMALL_HELDOUT, int(round(validation_fraction * n_samples)))


def split_rows(n_samples, validation_fraction, n_neighbors, rng, groups=None):
    """Random training and held-out positions among ``n_samples``, each sorted.

    The regular split holds out ``validation_fraction`` of the samples, at least
    ``MIN_HELDOUT_SAMPLES``, and keeps at least ``MIN_TRAIN_SAMPLES`` (and ``n_neighbors + 1``)
    for training. When that is not possible (fewer than 20 samples with the defaults), the
    small-sample split holds out ``validation_fraction`` of them but at least
    ``MIN_SMALL_HELDOUT`` and keeps at least ``MIN_SMALL_TRAIN`` (``docs/method.md``, "Small
    cohorts"): the kNN neighbourhoods then shrink to the training samples there are.

    Parameters
    ----------
    n_samples : int
        Number of distinct samples.
    validation_fraction : float
        Fraction held out.
    n_neighbors : int
        kNN neighbourhood size: the regular split keeps one training sample more.
    rng : numpy.random.Generator
        Source of the permutation.
    groups : None | ndarray, shape (n_samples,)
        Labels to stratify by: each group gives its share of the held-out samples (largest
        remainders) but keeps at least ``MIN_SUBSET_SAMPLES`` training samples where it has
        them. None: one permutation of all samples (the split of every fit without labels).

    Returns
    -------
    train, heldout : ndarray of int

    Raises
    ------
    ValueError
        When too few samples are left for training, naming the minimum.
    """
    n_heldout = max(MIN_HELDOUT_SAMPLES, int(round(validation_fraction * n_samples)))
    if n_samples - n_heldout < max(MIN_TRAIN_SAMPLES, n_neighbors + 1):
        n_heldout = _small_heldout(n_samples, validation_fraction)
        if n_samples - n_heldout < MIN_SMALL_TRAIN:
            minimum = next(m for m in range(MIN_SMALL_TRAIN + MIN_SMALL_HELDOUT, 10**6)
                           if m - _small_heldout(m, validation_fraction) >= MIN_SMALL_TRAIN)
            raise ValueError(
                f"X has {n_samples} distinct samples, fewer than the method can use: it needs "
                f"at least {minimum} ({MIN_SMALL_TRAIN} training samples, so that every pixel "
                f"marginal and the near-copy guard have values to work with, and at least "
                f"{MIN_SMALL_HELDOUT} held out with validation_fraction={validation_fraction})."
            )
        logger.info("%d distinct samples: small-sample split, %d held out (the regular split "
                    "needs %d)", n_samples, n_heldout, max(MIN_TRAIN_SAMPLES, n_neighbors + 1)
                    + MIN_HELDOUT_SAMPLES)
    if groups is None:
        order = rng.permutation(n_samples)
        return np.sort(order[n_heldout:]), np.sort(order[:n_heldout])
    heldout = stratified_heldout(np.asarray(groups), n_heldout, rng)
    return np.setdiff1d(np.arange(n_samples), heldout), heldout


def stratified_heldout(groups, n_heldout, rng):
    """``n_heldout`` positions drawn group by group in proportion to the groups' sizes.

    Each group keeps at least ``MIN_SUBSET_SAMPLES`` training samples where it has them; the
    held-out samples it cannot give go to the groups with samples to spare, largest first,
    and when no group has any to spare fewer are held out (at least one: with 5 samples in
    classes of 3 and 2, one).

    Parameters
    ----------
    groups : ndarray, shape (n_samples,)
        Label of each sample.
    n_heldout : int
        Samples to hold out.
    rng : numpy.random.Generator
        Source of the permutations (one per group, in the order of the sorted labels).

    Returns
    -------
    heldout : ndarray of int, sorted
    """
    names, codes, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    exact = n_heldout * sizes / sizes.sum()
    share = np.floor(exact).astype(int)
    share[np.argsort(-(exact - share), kind="stable")[:n_heldout - share.sum()]] += 1
    room = np.maximum(sizes - MIN_SUBSET_SAMPLES, 0)
    share = np.minimum(share, room)
    for group in np.argsort(-(room - share), kind="stable"):
        share[group] += min(room[group] - share[group], n_heldout - share.sum())
    if share.sum() == 0:
        share[np.argmax(sizes)] = 1
    heldout = [rng.permutation(np.flatnonzero(codes == group))[:share[group]]
               for group in range(len(names))]
    return np.sort(np.concatenate(heldout))


def new_network(masks, n_channels, n_times, seed, *, n_filters, temporal_kernel, hidden):
    """A freshly initialised :class:`DualNetwork`, seeded without reseeding the caller's torch."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DualNetwork(masks, n_channels, n_times, n_filters=n_filters,
                           temporal_kernel=temporal_kernel, hidden=hidden)


def fit_path(network, train, heldout, params, rng, torch_gen, ranks=None):
    """Train the path's bridges and estimate the divergence on held-out and training samples.

    Parameters
    ----------
    network : DualNetwork
        The untrained network, on the device to train on; trained in place.
    train, heldout : ndarray of float32, shape (n, n_channels, n_times)
        Scaled training and held-out images (moved to the network's device).
    params : dict
        The estimator's parameters (``get_params()``): the training settings.
    rng : numpy.random.Generator
        Source of the training subset of the training estimate.
    torch_gen : torch.Generator
        Source of the training batches and marginal draws (on the CPU).
    ranks : None | Ranks
        The processes that train together (:mod:`~mne_dualdiv.engine.distributed`); None: one.

    Returns
    -------
    learned : dict
        ``history_``, ``bridge_divergences_``, ``divergence_``, ``train_divergence_`` and
        ``divergence_certified_``, as the estimator's attributes of these names.
    """
    n_bridges = network.masks.shape[0] - 1
    device = network.masks.device
    train_t = torch.from_numpy(train).to(device)
    heldout_t = torch.from_numpy(heldout).to(device)
    masks_t = network.masks.view(n_bridges + 1, -1)
    logger.info("Fitting %d bridge(s) on %d training / %d held-out samples of %d x %d on %s",
                n_bridges, len(train), len(heldout), *train.shape[1:], device)
    history = train_bridges(
        network, train_t, heldout_t, masks_t, n_steps=params["max_steps"],
        batch_size=params["batch_size"], learning_rate=params["learning_rate"],
        weight_decay=params["weight_decay"], eval_every=params["eval_every"],
        patience=params["patience"], n_eval_draws=params["n_eval_draws"], generator=torch_gen,
        ranks=ranks)

    # Final estimates with more marginal draws than during training.
    n_draws = max(params["n_eval_draws"], int(math.ceil(params["n_final_draws"] / len(heldout))))
    divergences, _ = bridge_divergences(network, heldout_t, train_t, masks_t, n_draws, torch_gen,
                                        ranks=ranks)
    divergence = float(divergences.sum())
    # The training estimate uses as many samples and draws as the held-out one (a random
    # subset of the training samples), so that the two differ by overfitting, not by bias.
    subset = torch.from_numpy(np.sort(rng.choice(len(train), len(heldout), replace=False)))
    train_divergences, _ = bridge_divergences(network, train_t[subset.to(device)], train_t,
                                              masks_t, n_draws, torch_gen, ranks=ranks)
    train_divergence = float(train_divergences.sum())
    # A DV estimate from n pairs cannot certify much more than log(n) nats (docs/method.md,
    # section 2): past half of it, divergence_ is the dual space's scale, not a calibrated KL.
    certified = bool((divergences <= math.log(len(heldout) * n_draws) / 2).all())
    if not certified:
        logger.info("Bridge estimates above half of log(n) nats: divergence_ is the scale "
                    "of the dual space, not a calibrated KL (a larger n_bridges splits it).")
    logger.info("Held-out KL(P||Q) = %.2f nats (training: %.2f)", divergence, train_divergence)
    return dict(history_=history, bridge_divergences_=divergences, divergence_=divergence,
                train_divergence_=train_divergence, divergence_certified_=certified)


def fit_dual_space(dual_fn, train, heldout, *, n_neighbors, n_local_draws, guard_percentile,
                   rng):
    """End points, clusters, localized values and near-copy threshold of the training samples.

    Parameters
    ----------
    dual_fn : callable
        Maps scaled images (n, n_channels, n_times) to their dual values (n,).
    train, heldout : ndarray of float32, shape (n, n_channels, n_times)
        Scaled training and held-out images.
    n_neighbors, n_local_draws : int
        Neighbourhood size and draws of the localized values
        (:func:`~mne_dualdiv.engine.dualspace.local_dual_values`).
    guard_percentile : float
        Percentile of the reference ratios taken as the near-copy threshold
        (:func:`~mne_dualdiv.engine.guard.near_copy_threshold`).
    rng : numpy.random.Generator
        Source of the local marginal draws.

    Returns
    -------
    learned : dict
        ``dual_values_train_``, ``endpoints_``, ``robust_endpoints_``, ``clusters_``,
        ``local_dual_values_``, ``local_endpoints_``, ``heldout_nearest_distances_``,
        ``heldout_distance_ratios_``, ``near_duplicate_groups_`` and ``near_copy_threshold_``,
        as the estimator's attributes of these names.
    """
    values = dual_fn(train)
    n_neighbors = min(n_neighbors, len(train) - 1)
    neighbors = knn_indices(train, train, n_neighbors, exclude_self=True)
    local_values = local_dual_values(dual_fn, train, train, neighbors, n_local_draws, rng)
    first, second = nearest_two_distances(train, heldout)
    groups, near_distance = near_duplicate_groups(train)
    threshold, heldout_ratios = near_copy_threshold(
        train, heldout, nearest_ratios(first, second), guard_percentile, groups, near_distance)
    return dict(
        dual_values_train_=values, endpoints_=np.array([values.min(), values.max()]),
        robust_endpoints_=np.percentile(values, [2.5, 97.5]), clusters_=find_clusters(values),
        local_dual_values_=local_values,
        local_endpoints_=np.array([local_values.min(), local_values.max()]),
        heldout_nearest_distances_=first, heldout_distance_ratios_=heldout_ratios,
        near_duplicate_groups_=groups, near_copy_threshold_=threshold)
