"""The light clustering of spike snippets behind the unit population's statistics.

:func:`cluster_units` finds the real units' clusters (HDBSCAN on :func:`cluster_features`,
pieces of one unit joined): how many units, and each one's spikes, for their firing, amplitude
and the real templates the unit guard keeps synthetic units away from (:mod:`.units`).
"""

import numpy as np
import scipy.sparse.csgraph

from ..._logging import logger
from .spikes import band_filter, best_similarity
from .trains import CUT_SDS

#: Smallest cluster: 2 % of the snippets, within these bounds (``benchmarks/recording_clusters.py``;
#: docs/recording.md, 5). Clusters found over 3 seeds of the two 32-channel cases (10 units,
#: about 4400 snippets) / the 384-channel case (50 units, 5000 snippets): 10, 10, 9, 11, 12,
#: 14 / 48, 51, 49 with at most 30; 10, 10, 9, 11, 12, 12 / 41, 41, 44 with at most 40;
#: 16-21 on 384 channels with 2 % alone (100). Before (shapes divided by their trough, 2 % per
#: 32 channels): 9, 10, 10, 9, 5, 10 / 64, 62, 57.
CLUSTER_SHARE, MIN_CLUSTER_SIZE, MAX_CLUSTER_SIZE = 50, 15, 30
#: Principal components of the snippets (in stored units) used as clustering features, beside
#: the peak channel's position in units of :data:`POSITION_SCALE_UM`.
CLUSTER_COMPONENTS, POSITION_SCALE_UM = 6, 40.0
#: Clusters whose mean spikes on the probe are at least this similar are one unit
#: (``_merge_duplicates``).
SAME_UNIT = 0.95
#: Clusters near the threshold (their median amplitude within ``trains.CUT_SDS`` noise levels
#: of it) at least this similar are one unit too. Such a unit is detected where the background
#: deepens it, on one channel or a neighbour, and its pieces' means carry that background:
#: over the 32-channel cases (si32, hard32, seeds 0-2; ``benchmarks/recording_near_pairs.py``)
#: pieces of one unit near the threshold were 0.87-0.97 alike, no two distinct units near it
#: above 0.6. On si32 seed 0 a unit at 0.87 thresholds came out as
#: three clusters (0.87-0.95 alike); two were drawn as units, and the sorter found 14 units in
#: the synthetic recording for 8 in the real one.
NEAR_THRESHOLD_SAME_UNIT = 0.85


def weighted_pca(flat, weights, max_components=60):
    """Weighted mean, components (rows) and variances of ``flat`` (n, d), by SVD."""
    weights = weights / weights.sum()
    mean = weights @ flat
    _, s, vt = np.linalg.svd(np.sqrt(weights)[:, None] * (flat - mean), full_matrices=False)
    n = min(max_components, len(s))
    return mean, vt[:n], s[:n] ** 2


def cluster_features(snippets, peaks, locations):
    """Clustering features: principal scores of the snippets and the peak channel's position.

    The snippets keep their amplitude (sorters cluster them so): with the shapes divided by
    their trough, as the template model sees them, HDBSCAN found 5 clusters for 10 units on a
    32-channel case where neighbouring units differ mostly in amplitude (10 with these).
    """
    flat = snippets.reshape(len(snippets), -1).astype(np.float64)
    step = max(1, len(flat) // 3000)  # the subspace from at most about 3000 snippets
    mean, components, _ = weighted_pca(flat[::step], np.ones(len(flat[::step])), CLUSTER_COMPONENTS)
    scores = (flat - mean) @ components.T
    return np.column_stack([scores / (scores[:, 0].std() + 1e-12),
                            locations[peaks["channel_index"]] / POSITION_SCALE_UM])


def cluster_units(snippets, features, peaks, locations, neighbours, sampling_frequency,
                  noise_levels, detect_threshold):
    """Cluster labels of the snippets (-1: noise) and the clusters' labels, one per unit.

    ``noise_levels`` (per channel, the peaks' amplitudes' units) and ``detect_threshold`` (in
    noise levels) tell the clusters near the threshold.
    """
    size = int(np.clip(len(features) // CLUSTER_SHARE, MIN_CLUSTER_SIZE, MAX_CLUSTER_SIZE))
    from sklearn.cluster import HDBSCAN

    labels = HDBSCAN(min_cluster_size=size, copy=True).fit_predict(features)  # -1: noise
    clusters = [u for u in np.unique(labels) if u >= 0]
    if not clusters:  # one population
        labels, clusters = np.zeros(len(features), dtype=int), [0]
    levels = np.asarray(noise_levels)[peaks["channel_index"]]
    depth = (np.abs(peaks["amplitude"]) - detect_threshold * levels) / np.maximum(levels, 1e-12)
    near = np.array([np.median(depth[labels == u]) <= CUT_SDS for u in clusters])
    return _merge_duplicates(snippets, labels, clusters, sampling_frequency,
                             neighbours[peaks["channel_index"]], len(locations), near)


def _merge_duplicates(snippets, labels, clusters, sampling_frequency, rows, n_channels,
                      near=None):
    """Labels with the clusters of one unit joined (transitively).

    HDBSCAN splits a unit whose spikes peak on two neighbouring channels (its snippets, centred
    on the peak channel, then differ) or by amplitude; counted apart, the pieces give the
    synthetic recording two units at part of the real one's rate (the sorter then finds more
    units in it than in the real one). Clusters are compared by their mean spike on the
    probe's channels (``rows``: the channel of each snippet row, -1 off the probe), where
    pieces of one unit coincide and distinct units do not: on SpikeInterface's ground truth the
    pieces of one unit reached 0.98-1.0 (spike band, lag-tolerant), distinct units 0.85.
    Clusters ``near`` the threshold (a boolean per cluster) are joined from
    :data:`NEAR_THRESHOLD_SAME_UNIT` on.
    """
    dense = np.zeros((len(clusters), n_channels + 1, snippets.shape[2]), np.float64)
    for i, u in enumerate(clusters):
        members = labels == u
        np.add.at(dense[i], np.where(rows[members] >= 0, rows[members], n_channels),
                  snippets[members])
        dense[i] /= members.sum()
    means = band_filter(dense[:, :n_channels].astype(np.float32), sampling_frequency)
    similarity = best_similarity(means, means)
    near = np.zeros(len(clusters), bool) if near is None else np.asarray(near, bool)
    same = (similarity >= SAME_UNIT) | ((similarity >= NEAR_THRESHOLD_SAME_UNIT)
                                        & near[:, None] & near[None])
    _, component = scipy.sparse.csgraph.connected_components(same | same.T, directed=False)
    first = {c: clusters[i] for i, c in reversed(list(enumerate(component)))}  # lowest index
    merged = labels.copy()
    for u, c in zip(clusters, component):
        merged[labels == u] = first[c]
    kept = [u for u, c in zip(clusters, component) if first[c] == u]
    if len(kept) < len(clusters):
        logger.info("%d clusters of snippets joined into %d units (similarity on the probe "
                    ">= %.2f)", len(clusters), len(kept), SAME_UNIT)
    return merged, kept
