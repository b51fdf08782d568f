"""The membership attacks of the ensemble: how member-like each target record looks.

Every attack holds what an attacker of a released synthetic set holds: the released set and a
*reference* set of real records of the same population that were not used for the fit (the
non-members that are not targets, DOMIAS' setting). It gives each target record a score,
higher for records it believes were members. Records are rows of channel-scaled, flattened
images (:func:`~mne_dualdiv.metrics.privacy.ensemble.membership_audit` scales them); the
density attacks work in the first principal components of the released and reference sets
(:class:`AttackData`).

The choices below (the space, the density estimator, the classifier, ``k``) were measured by
``benchmarks/privacy_choices.py`` on FingerMovements with releases that copy the members, add
noise to them, or are independent real records (``docs/privacy.md``, "Why these attacks").
"""

import numpy as np
from scipy.linalg import cholesky, solve_triangular
from scipy.special import logsumexp

from ...engine.dualspace import nearest_two_distances
from .._base import seed_from

#: Principal components of the density and classifier attacks. Measured
#: (``benchmarks/privacy_choices.py``, ``docs/privacy.md``): with 5, 10 and 20 components the
#: DOMIAS attack's AUC on copies of the members was 0.75, 0.89 and 0.95, but at 20 the kNN
#: density attack fell from 0.95 to 0.85 on copies with noise of 1 SD and the classifier from
#: 0.80 to 0.72 on copies with noise of 0.5 SD; 10 is the compromise.
N_COMPONENTS = 10
#: Neighbours of the kNN density attack: with ``k = 1`` the AUC was 1.00 on copies and 0.95 on
#: copies with noise of 1 SD, with ``k = 3`` 0.63 and 0.65 (a copy's twin is its only close
#: neighbour; further neighbours are those of any record).
KNN_NEIGHBOURS = 1
#: Trees of the classifier attack's random forest. Fully grown trees memorise their training
#: records, which is what exposes a copied member: AUC 0.94 on copies, against 0.53 for a
#: logistic regression on the same components.
N_TREES = 100


class AttackData:
    """The records an attack sees: targets, the released set and the reference set.

    Parameters
    ----------
    targets : ndarray, shape (n_targets, n_values)
        Records to score (members and non-members, unknown to the attacker).
    released : ndarray, shape (n_released, n_values)
        The released (synthetic) records.
    reference : ndarray, shape (n_reference, n_values)
        Real records of the population known not to be members.
    n_components : int
        Principal components of :meth:`components`; fewer when the sets are smaller (see
        ``n_components_``).

    Attributes
    ----------
    n_components_ : int
        Components used: at most ``n_components``, one less than the smaller of the released
        and reference sets (so that each set's covariance in them can be full rank), and the
        number of values per record.
    """

    def __init__(self, targets, released, reference, n_components=N_COMPONENTS):
        self.targets, self.released, self.reference = targets, released, reference
        self.n_components_ = max(1, min(n_components, len(released) - 1, len(reference) - 1,
                                        targets.shape[1]))
        self._projected = None

    def components(self):
        """``(targets, released, reference)`` projected on the principal axes of released and
        reference together (the attacker's data; the targets do not shape the axes)."""
        if self._projected is None:
            known = np.concatenate([self.released, self.reference])
            centre = known.mean(0)
            _, _, axes = np.linalg.svd(known - centre, full_matrices=False)
            axes = axes[:self.n_components_]
            self._projected = tuple((X - centre) @ axes.T
                                    for X in (self.targets, self.released, self.reference))
        return self._projected


def gaussian_kde_logpdf(data, points):
    """Log density at ``points`` of a Gaussian kernel density estimate of ``data``.

    The kernel's covariance is the data's covariance times Scott's factor
    ``n ** (-2 / (d + 4))`` (as :class:`scipy.stats.gaussian_kde`), plus a ridge of 1e-9 of
    its mean variance (of the points' when ``data`` has none: copies of one record), so that a
    degenerate set still has a finite density.

    Parameters
    ----------
    data : ndarray, shape (n, d)
    points : ndarray, shape (m, d)

    Returns
    -------
    log_density : ndarray, shape (m,)
    """
    n, d = data.shape
    covariance = np.atleast_2d(np.cov(data, rowvar=False)) * n ** (-2.0 / (d + 4))
    scale = np.trace(covariance) / d
    if not scale > 0:
        scale = np.var(points, axis=0).mean() if len(points) > 1 else 0.0
    ridge = 1e-9 * (scale if scale > 0 else 1.0)
    lower = cholesky(covariance + ridge * np.eye(d), lower=True)
    white_data = solve_triangular(lower, data.T, lower=True).T
    white_points = solve_triangular(lower, points.T, lower=True).T
    squared = ((white_points ** 2).sum(1)[:, None] + (white_data ** 2).sum(1)[None]
               - 2 * white_points @ white_data.T)
    log_norm = np.log(n) + 0.5 * d * np.log(2 * np.pi) + np.log(np.diag(lower)).sum()
    return logsumexp(-0.5 * np.maximum(squared, 0.0), axis=1) - log_norm


def _log_distance(distances):
    """``log`` of distances, a zero distance (an exact copy) mapped to the smallest float."""
    return np.log(np.maximum(distances, np.finfo(float).tiny))


def _kth_distance(reference, queries, k):
    from scipy.spatial import cKDTree

    distances, _ = cKDTree(reference).query(queries, k=min(k, len(reference)))
    return distances if distances.ndim == 1 else distances[:, -1]


def dcr_attack(data, rng):
    """Distance to the closest released record (DCR), negated: copies score highest."""
    return -nearest_two_distances(data.released, data.targets)[0]


def nndr_attack(data, rng):
    """Nearest-neighbour distance ratio in the released set, negated.

    ``d1 / d2`` of each target's closest and second-closest released records: a target with
    one released near-twin scores high even in a sparse region, where the DCR alone is large.
    """
    first, second = nearest_two_distances(data.released, data.targets)
    ratio = np.divide(first, second, out=np.zeros_like(first), where=second > 0)
    return -ratio


def domias_attack(data, rng):
    """DOMIAS: log density of the released set over that of the reference set.

    Gaussian kernel density estimates (:func:`gaussian_kde_logpdf`) in the principal
    components; a generator that overfits puts more density at its members than the population
    (the reference) has there. Gaussian mixtures of 1 or 4 components instead of the kernels
    told copies apart far less well (AUC 0.55 and 0.62 against 0.89, ``docs/privacy.md``).
    """
    targets, released, reference = data.components()
    return gaussian_kde_logpdf(released, targets) - gaussian_kde_logpdf(reference, targets)


def knn_log_density_ratio(targets, released, reference, n_neighbours=KNN_NEIGHBOURS):
    """``log r_k(reference) - log r_k(released)`` of every target.

    ``r_k`` is the distance to the ``n_neighbours``-th nearest record of a set; the density of
    a set near a target grows as its ``r_k`` shrinks, so this is the log ratio of the two
    densities up to a constant (``d log`` of the radii; ranks do not depend on ``d``). A zero
    radius (an exact copy) counts as the smallest positive float.

    Parameters
    ----------
    targets : ndarray, shape (n_targets, d)
    released, reference : ndarray, shape (n, d)
    n_neighbours : int

    Returns
    -------
    scores : ndarray, shape (n_targets,)
    """
    return (_log_distance(_kth_distance(reference, targets, n_neighbours))
            - _log_distance(_kth_distance(released, targets, n_neighbours)))


def knn_density_attack(data, rng):
    """kNN density ratio (non-parametric DOMIAS) in the principal components:
    :func:`knn_log_density_ratio` with ``KNN_NEIGHBOURS`` neighbours."""
    return knn_log_density_ratio(*data.components())


def classifier_attack(data, rng):
    """A random forest trained to tell released from reference records: P(released).

    The attacker's classifier (TAPAS' and Synth-MIA's "classifier" attack, the shadow-free
    form of a shadow-model attack: no generator is refitted): a record the generator copied
    lies among the released records the forest memorised.
    """
    from sklearn.ensemble import RandomForestClassifier

    targets, released, reference = data.components()
    forest = RandomForestClassifier(n_estimators=N_TREES, random_state=seed_from(rng), n_jobs=1)
    forest.fit(np.concatenate([released, reference]),
               np.r_[np.ones(len(released)), np.zeros(len(reference))])
    return forest.predict_proba(targets)[:, 1]


#: The attacks of the ensemble by name, in report order.
ATTACKS = {"dcr": dcr_attack, "nndr": nndr_attack, "domias": domias_attack,
           "knn_density": knn_density_attack, "classifier": classifier_attack}
