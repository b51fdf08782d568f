"""Sampling: targets and starts of the walks, walks in batches, and the checks that keep one."""

import math

import numpy as np
import torch

from .._logging import logger, progress
from .walk import gradient_walk

#: Walks run in batches of at most this many, so that sampling's memory does not grow with n.
WALK_BATCH = 256
#: Noise-free Newton steps that end every walk (:func:`~mne_dualdiv.engine.walk.gradient_walk`).
N_FINAL_STEPS = 10


def walk_targets(values, endpoints, clusters, n, rng, *, target, n_neighbors):
    """Target dual values and, for ``start='training'``, the training rows to start from.

    Parameters
    ----------
    values : ndarray, shape (n_train,)
        Dual values of the training samples.
    endpoints : ndarray, shape (2,)
        Their smallest and largest value.
    clusters : DualClusters
        Their clusters in the dual space.
    n : int
        Number of walks.
    rng : numpy.random.Generator
        Source of randomness.
    target : 'nearest' | 'density' | 'between_clusters'
        The estimator's ``target`` (``'nearest'`` draws like ``'density'``; its caller then
        replaces the targets by the starts' own values).
    n_neighbors : int
        Training rows near the target (or a gap's edge) among which a start is drawn.

    Returns
    -------
    targets : ndarray, shape (n,)
    starts : ndarray of int, shape (n,)
        Rows of the training samples.
    """
    low, high = endpoints
    if target == "between_clusters" and clusters.n_clusters > 1:
        gap = rng.integers(0, clusters.n_clusters - 1, size=n)
        members = clusters.members
        lo_edge = np.array([values[members[g]].max() for g in range(len(members) - 1)])
        hi_edge = np.array([values[members[g + 1]].min() for g in range(len(members) - 1)])
        targets = rng.uniform(lo_edge[gap], hi_edge[gap])
        pools = [members[g][np.argsort(values[members[g]])[::-1][:n_neighbors]]
                 for g in range(len(members) - 1)]
        starts = np.array([rng.choice(pools[g]) for g in gap])
        return targets, starts
    # Kernel density of the training values (Silverman bandwidth), kept inside the end points.
    bandwidth = 1.06 * values.std() * len(values) ** (-1 / 5)
    # Targets stay a hair inside the end points, so that float rounding of a walk that
    # lands on its target cannot put it outside.
    margin = 1e-3 * (high - low)
    targets = np.clip(rng.choice(values, size=n) + bandwidth * rng.standard_normal(n),
                      low + margin, high - margin)
    order = np.argsort(values)
    position = np.clip(np.searchsorted(values[order], targets), 0, len(values) - 1)
    # For start='training': one of the training samples whose value is nearest the target.
    offset = rng.integers(-n_neighbors // 2, n_neighbors // 2 + 1, size=n)
    starts = order[np.clip(position + offset, 0, len(values) - 1)]
    return targets, starts


def walk_in_batches(network, x_from, targets, torch_gen, *, gaussian, lower, upper, n_steps,
                    step_size, noise, precondition):
    """Walk ``x_from`` to ``targets`` in batches of at most :data:`WALK_BATCH`.

    Parameters
    ----------
    network : DualNetwork
        The trained dual network, on the device the walks run on.
    x_from : torch.Tensor, shape (n, n_channels, n_times)
        Scaled start images (on any device: each batch is moved to the network's).
    targets : ndarray, shape (n,)
        Target dual values.
    torch_gen : torch.Generator
        Source of the walks' noise, on the CPU whatever the device.
    gaussian, lower, upper, n_steps, step_size, noise, precondition
        As in :func:`~mne_dualdiv.engine.walk.gradient_walk` (``gaussian`` on the network's
        device, ``lower`` and ``upper`` as arrays).

    Returns
    -------
    x : ndarray of float32, shape (n, n_channels, n_times)
        End points of the walks.
    """
    device = network.masks.device
    lower, upper = torch.from_numpy(lower).to(device), torch.from_numpy(upper).to(device)
    out = []
    for begin in range(0, len(x_from), WALK_BATCH):
        x, _ = gradient_walk(
            network, x_from[begin:begin + WALK_BATCH].to(device),
            torch.as_tensor(targets[begin:begin + WALK_BATCH], dtype=torch.float32,
                            device=device),
            n_steps=n_steps, step_size=step_size, noise=noise, n_final_steps=N_FINAL_STEPS,
            lower=lower, upper=upper, generator=torch_gen, gaussian=gaussian,
            precondition=precondition)
        out.append(x.cpu().numpy())
    return np.concatenate(out) if out else np.empty((0,) + tuple(lower.shape), np.float32)


def accepted_walks(n_samples, rng, *, start_walks, walk, dual_fn, endpoints, local_fn=None,
                   local_endpoints=None, is_near_copy=None, max_rounds):
    """Start walks in rounds until ``n_samples`` of them pass the acceptance checks.

    A walk is kept when its dual value lies between ``endpoints``, its localized value between
    ``local_endpoints`` (with ``local_fn``), and ``is_near_copy`` does not flag it. Near-copies
    are not dropped: their walks go on from where they stopped in the next round, so the guard
    makes walks travel further rather than wasting them. Each round starts enough new walks to
    fill the gap at the acceptance rate so far (at most 20 per missing sample).

    Parameters
    ----------
    n_samples : int
        Samples to return.
    rng : numpy.random.Generator
        Source of the targets and of the localized values' draws.
    start_walks : callable
        ``start_walks(n, rng) -> (x_from, targets)``: ``n`` scaled start images (ndarray of
        float32) and their target dual values.
    walk : callable
        ``walk(x_from, targets) -> x``: end points of the walks (ndarray of float32).
    dual_fn : callable
        Dual values of scaled images.
    endpoints : ndarray, shape (2,)
        Accepted range of dual values.
    local_fn : None | callable
        ``local_fn(x, rng)``: localized values of scaled images; None skips the local check.
    local_endpoints : None | ndarray, shape (2,)
        Accepted range of localized values.
    is_near_copy : None | callable
        ``is_near_copy(x) -> bool array``: the near-copy guard; None switches it off.
    max_rounds : int
        Rounds of walks before giving up.

    Returns
    -------
    scaled : ndarray of float32, shape (n_returned, n_channels, n_times)
        The accepted end points: ``n_samples`` of them, or fewer when ``max_rounds`` rounds
        did not keep enough.
    delta : ndarray of float32, shape (n_returned, n_channels, n_times)
        What each accepted walk changed (end minus start).
    report : dict
        ``n_walks``, ``n_returned`` and the rejections ``outside``, ``local``, ``near_copy``.
    """
    low, high = endpoints
    kept, kept_delta, n_tried = [], [], 0
    counts = dict(outside=0, local=0, near_copy=0)
    going_on = None  # (end points, targets, start images) of the walks that go on
    with progress(n_samples, "sample: accepted samples") as bar:
        for _ in range(max_rounds):
            n_kept = sum(len(k) for k in kept)
            n_missing = n_samples - n_kept
            if n_missing <= 0:
                break
            rate = max((n_kept + 1) / (n_tried + 1), 0.05) if n_tried else 1.0
            n_walks = min(int(math.ceil(n_missing / rate * 1.15)) + 4, 20 * n_missing + 4)
            n_going_on = 0 if going_on is None else len(going_on[0])
            n_walks = max(n_walks - n_going_on, 0)
            new_from, targets = start_walks(n_walks, rng)
            if going_on is not None:
                x_from = np.concatenate([going_on[0], new_from])
                targets = np.concatenate([going_on[1], targets])
                origins = np.concatenate([going_on[2], new_from])
            else:
                x_from, origins = new_from, new_from
            x = walk(torch.from_numpy(x_from), targets)
            # Values as dual_values() computes them, so that what is accepted here is what a
            # user's is_in_distribution() sees.
            values = dual_fn(x)
            n_tried += n_walks
            ok = (values >= low) & (values <= high)
            counts["outside"] += int((~ok).sum())
            if local_fn is not None and ok.any():
                local = np.full(len(x), np.nan)
                local[ok] = local_fn(x[ok], rng)
                local_ok = (local >= local_endpoints[0]) & (local <= local_endpoints[1])
                counts["local"] += int((ok & ~local_ok).sum())
                ok &= local_ok
            near = np.zeros(len(x), dtype=bool)
            if is_near_copy is not None and ok.any():
                near[ok] = is_near_copy(x[ok])
                counts["near_copy"] += int(near.sum())
                ok &= ~near
            going_on = (x[near], targets[near], origins[near])
            kept.append(x[ok])
            bar.update(min(int(ok.sum()), max(n_missing, 0)))
            kept_delta.append(x[ok] - origins[ok])
    scaled = np.concatenate(kept)[:n_samples]
    delta = np.concatenate(kept_delta)[:n_samples]
    logger.info("Started %d walks, kept %d; rejected: %d outside the end points, %d by the "
                "local check; %d near-copies walked on", n_tried, sum(len(k) for k in kept),
                counts["outside"], counts["local"], counts["near_copy"])
    return scaled, delta, dict(n_walks=n_tried, n_returned=len(scaled), **counts)
