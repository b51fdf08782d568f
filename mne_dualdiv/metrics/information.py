"""Information-theoretic scores of METHOD.md section 6: divergence, entropy, clusters, TC, OOD.

The estimators they apply to sets of vectors (:func:`knn_entropy`, :func:`knn_kl_divergence`,
:func:`gaussian_total_correlation`, :func:`max_cluster_divergence`) live in
:mod:`~mne_dualdiv.metrics.estimators` and are re-exported here.
"""

import numpy as np
from sklearn.decomposition import PCA

from .._checks import check_bool, check_int, check_random_state
from .._docs import fill_doc
from .._logging import logger
from ..engine.generator import MIN_HELDOUT_SAMPLES, MIN_TRAIN_SAMPLES
from ._base import (MetricScore, matched_sizes, prepare_sets, scaled_flattener, seed_from,
                    subsample)
from .covariance import batched_mean_covariance
from .estimators import (gaussian_total_correlation, knn_entropy, knn_kl_divergence,  # noqa: F401
                         max_cluster_divergence)

#: Budget of the fresh path estimators of :func:`sample_divergence` (a small one: three fits).
DEFAULT_DIVERGENCE_PARAMS = dict(method="path", n_bridges=16, max_steps=1500, batch_size=128,
                                 eval_every=250, patience=3, n_local_draws=4, walk_steps=0)
#: Fewest samples a fresh path estimator is fitted on: the engine's regular split (20); the
#: small-sample split's 2 held-out samples make no divergence estimate worth a score.
MIN_DIVERGENCE_SAMPLES = MIN_TRAIN_SAMPLES + MIN_HELDOUT_SAMPLES


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


@fill_doc
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
    %(train_heldout_synthetic)s
    n_components : int
        Dimension of the principal subspace.
    n_neighbors : int
        The ``k`` of the estimator.
    %(random_state_common_size)s

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


@fill_doc
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
    %(train_heldout_synthetic)s
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


@fill_doc
def total_correlation(train, heldout, synthetic, random_state=None):
    """Multivariate mutual information across channels: Gaussian total correlation, in nats.

    Every time point of every sample gives one channel vector (after removing each sample's
    channel means); the Gaussian total correlation ``-1/2 log det R`` of their correlation
    matrix ``R`` (:func:`gaussian_total_correlation` of :func:`mean_covariance`) measures how
    much the channels share, e.g. by volume conduction. Computed for the synthetic and held-out
    sets at the same size.

    Parameters
    ----------
    %(train_heldout_synthetic)s
    %(random_state_common_size)s

    Returns
    -------
    score : MetricScore
        ``'channel_total_correlation'`` (nats, closer to the held-out value is better);
        ``real_spread`` from a training subsample. ``details``: ``train``, ``n_samples``.
    """
    train, heldout, synthetic, _ = prepare_sets(train, heldout, synthetic, min_samples=1)

    def value(X):
        return gaussian_total_correlation(batched_mean_covariance(X))

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
