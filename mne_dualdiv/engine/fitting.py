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

#: Fewest training and held-out samples the method works with.
MIN_TRAIN_SAMPLES = 15
MIN_HELDOUT_SAMPLES = 5


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


def split_rows(n_samples, validation_fraction, n_neighbors, rng):
    """Random training and held-out positions among ``n_samples``, each sorted.

    Parameters
    ----------
    n_samples : int
        Number of distinct samples.
    validation_fraction : float
        Fraction held out (at least ``MIN_HELDOUT_SAMPLES``).
    n_neighbors : int
        kNN neighbourhood size: the training set needs one sample more.
    rng : numpy.random.Generator
        Source of the permutation.

    Returns
    -------
    train, heldout : ndarray of int

    Raises
    ------
    ValueError
        When too few samples are left for training, naming the minimum.
    """
    n_heldout = max(MIN_HELDOUT_SAMPLES, int(round(validation_fraction * n_samples)))
    min_train = max(MIN_TRAIN_SAMPLES, n_neighbors + 1)
    if n_samples - n_heldout < min_train:
        minimum = min_train + MIN_HELDOUT_SAMPLES
        minimum = max(minimum, int(math.ceil(min_train / (1 - validation_fraction))))
        raise ValueError(
            f"X has {n_samples} distinct samples, fewer than the method can use: it needs at "
            f"least "
            f"{minimum} ({min_train} training samples, so that every pixel marginal and every "
            f"kNN neighbourhood of n_neighbors={n_neighbors} has enough values, and "
            f"{MIN_HELDOUT_SAMPLES} held out with validation_fraction="
            f"{validation_fraction})."
        )
    order = rng.permutation(n_samples)
    return np.sort(order[n_heldout:]), np.sort(order[:n_heldout])


def new_network(masks, n_channels, n_times, seed, *, n_filters, temporal_kernel, hidden):
    """A freshly initialised :class:`DualNetwork`, seeded without reseeding the caller's torch."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DualNetwork(masks, n_channels, n_times, n_filters=n_filters,
                           temporal_kernel=temporal_kernel, hidden=hidden)


def fit_path(network, train, heldout, params, rng, torch_gen):
    """Train the path's bridges and estimate the divergence on held-out and training samples.

    Parameters
    ----------
    network : DualNetwork
        The untrained network; trained in place.
    train, heldout : ndarray of float32, shape (n, n_channels, n_times)
        Scaled training and held-out images.
    params : dict
        The estimator's parameters (``get_params()``): the training settings.
    rng : numpy.random.Generator
        Source of the training subset of the training estimate.
    torch_gen : torch.Generator
        Source of the training batches and marginal draws.

    Returns
    -------
    learned : dict
        ``history_``, ``bridge_divergences_``, ``divergence_``, ``train_divergence_`` and
        ``divergence_certified_``, as the estimator's attributes of these names.
    """
    n_bridges = network.masks.shape[0] - 1
    train_t, heldout_t = torch.from_numpy(train), torch.from_numpy(heldout)
    masks_t = network.masks.view(n_bridges + 1, -1)
    logger.info("Fitting %d bridge(s) on %d training / %d held-out samples of %d x %d",
                n_bridges, len(train), len(heldout), *train.shape[1:])
    history = train_bridges(
        network, train_t, heldout_t, masks_t, n_steps=params["max_steps"],
        batch_size=params["batch_size"], learning_rate=params["learning_rate"],
        weight_decay=params["weight_decay"], eval_every=params["eval_every"],
        patience=params["patience"], n_eval_draws=params["n_eval_draws"], generator=torch_gen)

    # Final estimates with more marginal draws than during training.
    n_draws = max(params["n_eval_draws"], int(math.ceil(params["n_final_draws"] / len(heldout))))
    divergences, _ = bridge_divergences(network, heldout_t, train_t, masks_t, n_draws, torch_gen)
    divergence = float(divergences.sum())
    # The training estimate uses as many samples and draws as the held-out one (a random
    # subset of the training samples), so that the two differ by overfitting, not by bias.
    subset = torch.from_numpy(np.sort(rng.choice(len(train), len(heldout), replace=False)))
    train_divergences, _ = bridge_divergences(network, train_t[subset], train_t, masks_t,
                                              n_draws, torch_gen)
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
