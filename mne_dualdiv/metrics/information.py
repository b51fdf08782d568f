"""Information-theoretic scores of METHOD.md section 6: divergence, entropy, clusters, TC, OOD."""

import math

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from .._checks import check_array_2d, check_bool, check_int, check_random_state
from .._logging import logger
from ..engine.generator import MIN_HELDOUT_SAMPLES, MIN_TRAIN_SAMPLES
from ._base import (MetricScore, matched_sizes, prepare_sets, scaled_flattener, seed_from,
                    subsample)
from .fidelity import _check_covariance, _mean_covariance

#: Budget of the fresh path estimators of :func:`sample_divergence` (a small one: three fits).
DEFAULT_DIVERGENCE_PARAMS = dict(method="path", n_bridges=16, max_steps=1500, batch_size=128,
                                 eval_every=250, patience=3, n_local_draws=4, walk_steps=0)
#: Fewest samples a fresh path estimator is fitted on (the engine's own minimum, 20).
MIN_DIVERGENCE_SAMPLES = MIN_TRAIN_SAMPLES + MIN_HELDOUT_SAMPLES


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
    covariance = _check_covariance(covariance, "covariance")
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


def _pca_projection(train, n_components):
    """Project sets on the principal axes of the robust-scaled, flattened training set."""
    flatten = scaled_flattener(train)
    train_flat = flatten(train)
    n_components = min(n_components, len(train) - 1, train_flat.shape[1])
    pca = PCA(n_components=n_components, svd_solver="full").fit(train_flat)
    return (lambda X: pca.transform(flatten(X))), n_components


def _property_score(name, value_fn, train, heldout, synthetic, rng, unit, details):
    """A ``'closer'`` score: a property of the synthetic and held-out sets at the same size."""
    heldout_n, synthetic_n = matched_sizes(heldout, synthetic, rng)
    train_n = subsample(train, len(synthetic_n), rng)
    value_heldout = value_fn(heldout_n)
    value_train = value_fn(train_n)
    return MetricScore(name, "information", value_fn(synthetic_n), value_heldout, "closer",
                       unit=unit, real_spread=float(abs(value_train - value_heldout)),
                       details=dict(details, train=value_train, n_samples=len(synthetic_n)))


def entropy_score(train, heldout, synthetic, n_components=10, n_neighbors=3, random_state=None):
    """Kozachenko–Leonenko entropy of the samples in the training set's principal subspace.

    Channels are scaled with the training set's robust statistics, images flattened and
    projected on the first ``n_components`` principal axes of the training set; the entropy
    (:func:`knn_entropy`) is computed for the synthetic and the held-out set at the same size.
    Mode collapse shows as an entropy below the held-out value. So does a set whose variance
    lies outside the real data's principal subspace (white noise, marginal shuffles); a set too
    spread out inside it scores above.

    Parameters
    ----------
    train, heldout, synthetic : array-like, shape (n, n_channels, n_times) | mne.Epochs
        Real training, real held-out and synthetic samples.
    n_components : int
        Dimension of the principal subspace.
    n_neighbors : int
        The ``k`` of the estimator.
    random_state : None | int | numpy.random.Generator
        Seed of the subsampling to a common size.

    Returns
    -------
    score : MetricScore
        ``'knn_entropy'`` (nats, closer to the held-out value is better); ``real_spread`` from a
        training subsample. ``details``: ``train``, ``n_components``, ``n_samples``.
    """
    n_components = check_int("n_components", n_components, minimum=1)
    n_neighbors = check_int("n_neighbors", n_neighbors, minimum=1)
    train, heldout, synthetic, _ = prepare_sets(train, heldout, synthetic,
                                                min_samples=n_neighbors + 1)
    project, n_components = _pca_projection(train, n_components)

    def entropy(X):
        return knn_entropy(project(X), n_neighbors)

    return _property_score("knn_entropy", entropy, train, heldout, synthetic,
                           check_random_state(random_state), "nats",
                           dict(n_components=n_components))


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


def cluster_divergence(train, heldout, synthetic, n_clusters=4, n_components=10, n_neighbors=3,
                       random_state=None):
    """Maximal divergence between clusters of the samples: are distinct modes reproduced?

    In the training set's principal subspace (as :func:`entropy_score`), each set is cut into
    ``n_clusters`` by k-means and the largest Wang–Kulkarni–Verdú divergence between two of
    its clusters is taken (:func:`max_cluster_divergence`), for the synthetic and the held-out
    set at the same size. A generator that blurs modes together scores below the held-out
    value.

    Parameters
    ----------
    train, heldout, synthetic : array-like, shape (n, n_channels, n_times) | mne.Epochs
        Real training, real held-out and synthetic samples.
    n_clusters : int
        Number of k-means clusters per set.
    n_components : int
        Dimension of the principal subspace.
    n_neighbors : int
        The ``k`` of the divergence estimator.
    random_state : None | int | numpy.random.Generator
        Seed of the subsampling and of k-means.

    Returns
    -------
    score : MetricScore
        ``'max_cluster_divergence'`` (nats, closer to the held-out value is better);
        ``real_spread`` from a training subsample. ``details``: ``train``, ``n_clusters``,
        ``n_components``, ``n_samples``.
    """
    n_components = check_int("n_components", n_components, minimum=1)
    n_clusters = check_int("n_clusters", n_clusters, minimum=2)
    n_neighbors = check_int("n_neighbors", n_neighbors, minimum=1)
    train, heldout, synthetic, _ = prepare_sets(train, heldout, synthetic)
    n_min = n_clusters * (n_neighbors + 1)
    for name, X in (("heldout", heldout), ("synthetic", synthetic)):
        if len(X) < n_min:
            raise ValueError(f"{name} has {len(X)} samples; cluster_divergence needs at least "
                             f"n_clusters * (n_neighbors + 1) = {n_min}.")
    rng = check_random_state(random_state)
    seed = seed_from(rng)
    project, n_components = _pca_projection(train, n_components)

    def divergence(X):
        return max_cluster_divergence(project(X), n_clusters, n_neighbors, seed)

    return _property_score("max_cluster_divergence", divergence, train, heldout, synthetic, rng,
                           "nats", dict(n_clusters=n_clusters, n_components=n_components))


def total_correlation(train, heldout, synthetic, random_state=None):
    """Multivariate mutual information across channels: Gaussian total correlation, in nats.

    Every time point of every sample gives one channel vector (after removing each sample's
    channel means); the Gaussian total correlation ``-1/2 log det R`` of their correlation
    matrix ``R`` (:func:`gaussian_total_correlation` of :func:`mean_covariance`) measures how
    much the channels share, e.g. by volume conduction. Computed for the synthetic and held-out
    sets at the same size.

    Parameters
    ----------
    train, heldout, synthetic : array-like, shape (n, n_channels, n_times) | mne.Epochs
        Real training, real held-out and synthetic samples.
    random_state : None | int | numpy.random.Generator
        Seed of the subsampling to a common size.

    Returns
    -------
    score : MetricScore
        ``'channel_total_correlation'`` (nats, closer to the held-out value is better);
        ``real_spread`` from a training subsample. ``details``: ``train``, ``n_samples``.
    """
    train, heldout, synthetic, _ = prepare_sets(train, heldout, synthetic, min_samples=1)

    def value(X):
        return gaussian_total_correlation(_mean_covariance(X))

    return _property_score("channel_total_correlation", value, train, heldout, synthetic,
                           check_random_state(random_state), "nats", {})


def _check_endpoints(endpoints):
    """``(low, high)``: two finite numbers with ``low <= high``."""
    try:
        values = np.array(endpoints, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or values.shape != (2,):
        raise ValueError(f"endpoints must be a pair of numbers (low, high), got {endpoints!r}.")
    low, high = values
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise ValueError(f"endpoints must be finite with low <= high, got ({low}, {high}).")
    return float(low), float(high)


def dual_space(generator, robust=False, endpoints=None):
    """The dual-value function and the end points of a fitted generator or of a callable."""
    robust = check_bool("robust", robust)
    if callable(generator) and not hasattr(generator, "dual_values"):
        if endpoints is None:
            raise ValueError("endpoints=(low, high) is required when generator is a dual-value "
                             "function.")
        if robust:
            raise ValueError("robust=True needs a fitted generator (robust_endpoints_); pass the "
                             "robust end points as endpoints instead.")
        low, high = _check_endpoints(endpoints)
        return generator, low, high
    missing = [name for name in ("dual_values", "endpoints_") if not hasattr(generator, name)]
    if missing:
        raise TypeError(
            "generator must be a fitted DualDivergenceGenerator (an object with dual_values() "
            f"and endpoints_) or a dual-value function, got {type(generator).__name__} without "
            f"{', '.join(missing)}."
        )
    if endpoints is not None:
        low, high = _check_endpoints(endpoints)
    else:
        low, high = generator.robust_endpoints_ if robust else generator.endpoints_
    return generator.dual_values, low, high


def _check_dual_values(values, n_samples, name):
    values = np.asarray(values, dtype=float)
    if values.shape != (n_samples,):
        raise ValueError(f"generator must give one dual value per sample of {name} "
                         f"({n_samples}), got shape {values.shape}.")
    if not np.isfinite(values).all():
        raise ValueError(f"generator gave NaN or Inf dual values for {name}.")
    return values


def ood_rate(heldout, synthetic, generator, robust=False, endpoints=None):
    """Fraction of samples whose dual value falls outside the real data's end points.

    Parameters
    ----------
    heldout, synthetic : array-like, shape (n, n_channels, n_times) | mne.Epochs
        Real held-out and synthetic samples, in the units the generator was fitted in.
    generator : DualDivergenceGenerator | callable
        Fitted on the real training data (of the same images): its ``dual_values`` and
        ``endpoints_`` (or ``robust_endpoints_``) define in-distribution. A callable mapping
        an array of images to their dual values needs ``endpoints``.
    robust : bool
        Use the generator's 2.5-97.5 percentile end points instead of the minimum and maximum.
    endpoints : None | (float, float)
        Lowest and highest in-distribution value, finite with ``low <= high``; overrides the
        generator's.

    Returns
    -------
    score : MetricScore
        ``'ood_rate'`` (lower is better): the synthetic set's rate; reference: the held-out
        set's. ``details``: ``endpoints``, ``dual_values_heldout``, ``dual_values_synthetic``.

    Notes
    -----
    A dual-value function must return one finite value per sample: NaN would count as inside
    the end points (every comparison with NaN is False), so it raises a ValueError instead.
    """
    dual_values, low, high = dual_space(generator, robust, endpoints)
    _, heldout, synthetic, _ = prepare_sets(None, heldout, synthetic, min_samples=1)
    values_heldout = _check_dual_values(dual_values(heldout), len(heldout), "heldout")
    values_synthetic = _check_dual_values(dual_values(synthetic), len(synthetic), "synthetic")

    def rate(values):
        return float(np.mean((values < low) | (values > high)))

    return MetricScore("ood_rate", "information", rate(values_synthetic), rate(values_heldout),
                       "lower", details=dict(endpoints=np.array([low, high]),
                                             dual_values_heldout=values_heldout,
                                             dual_values_synthetic=values_synthetic))


def check_estimator_params(estimator_params):
    """``estimator_params``: None or a dict of DualDivergenceGenerator parameters, no seed."""
    from ..engine.generator import DualDivergenceGenerator

    if estimator_params is not None and not isinstance(estimator_params, dict):
        raise TypeError("estimator_params must be None or a dict, got "
                        f"{type(estimator_params).__name__} instead.")
    unknown = sorted(set(estimator_params or {}) - set(DualDivergenceGenerator().get_params()))
    if unknown:
        raise ValueError(f"estimator_params has entries that are not DualDivergenceGenerator "
                         f"parameters: {unknown}.")
    if "random_state" in (estimator_params or {}):
        raise ValueError("estimator_params must not hold random_state: the fits are seeded "
                         "from the random_state argument.")
    return estimator_params


def sample_divergence(train, heldout, synthetic, estimator_params=None, random_state=None):
    """Divergence of the samples: ``KL(P || Q)`` of a fresh path estimator fitted on each set.

    A new :class:`~mne_dualdiv.DualDivergenceGenerator` (used as an estimator only; nothing is
    sampled) is fitted on the synthetic set, on the held-out set and on a training subsample,
    all of the same size and with the same settings and seed; its held-out ``divergence_`` is
    the total correlation between the pixels of that set. A generator that loses the
    dependencies of real data scores below the held-out value. This is the costliest metric:
    three engine fits.

    Parameters
    ----------
    train, heldout, synthetic : array-like, shape (n, n_channels, n_times) | mne.Epochs
        Real training, real held-out and synthetic samples (at least 20 in each).
    estimator_params : dict | None
        Parameters of the estimators; None uses :data:`DEFAULT_DIVERGENCE_PARAMS`. Entries given
        replace the defaults; a name that is not a parameter of
        :class:`~mne_dualdiv.DualDivergenceGenerator` raises a ValueError, and
        ``random_state`` is refused (it is set from ``random_state``).
    random_state : None | int | numpy.random.Generator
        Seed of the subsampling and of the three fits.

    Returns
    -------
    score : MetricScore
        ``'sample_divergence'`` (nats, closer to the held-out value is better);
        ``real_spread`` from the training subsample. ``details``: ``train``,
        ``estimator_params``, ``n_samples``.
    """
    from ..engine.generator import DualDivergenceGenerator

    train, heldout, synthetic, _ = prepare_sets(train, heldout, synthetic,
                                                min_samples=MIN_DIVERGENCE_SAMPLES)
    check_estimator_params(estimator_params)
    params = dict(DEFAULT_DIVERGENCE_PARAMS, **(estimator_params or {}))
    rng = check_random_state(random_state)
    params["random_state"] = seed_from(rng)

    def divergence(X):
        logger.info("sample_divergence: fitting a path estimator on %d samples", len(X))
        return DualDivergenceGenerator(**params).fit(X).divergence_

    return _property_score("sample_divergence", divergence, train, heldout, synthetic, rng,
                           "nats", dict(estimator_params=params))
