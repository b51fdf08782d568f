"""The generator's parameters: their descriptions, written once, and their checks."""

from .._checks import check_bool, check_float, check_int, check_option

#: The Parameters section of :class:`~mne_dualdiv.engine.generator.DualDivergenceGenerator`'s
#: docstring, indented for it (:func:`fill_parameters_doc` puts it in place).
PARAMETERS_DOC = """\
    method : 'path' | 'direct'
        ``'path'`` estimates the divergence as a sum of ``n_bridges`` small bridge divergences;
        ``'direct'`` uses a single bridge from ``P`` to ``Q`` (for comparison: it saturates).
    n_bridges : int
        Number of bridges ``K`` of the path (ignored for ``'direct'``). Keep every bridge to a
        few nats: ``divergence_ / n_bridges`` above ~3 nats means ``K`` should grow.
    pixel_order : 'channel' | 'time' | 'random'
        Order in which pixels are handed over to the marginal along the path.
    n_filters, hidden, temporal_kernel : int
        Size of the dual network (see :class:`mne_dualdiv.engine.network.DualNetwork`).
    max_steps : int
        Maximum number of training steps.
    batch_size : int
        Real samples (and as many marginal samples) per training step.
    learning_rate, weight_decay : float
        AdamW settings.
    validation_fraction : float
        Fraction of the samples held out for early stopping and for ``divergence_``.
    eval_every, patience : int
        Held-out evaluation period (steps) and the number of evaluations without improvement of
        the held-out loss after which training stops.
    n_eval_draws : int
        Marginal draws per held-out sample in each evaluation.
    n_final_draws : int
        Total coupled pairs (held-out samples x marginal draws) for the final estimates
        ``divergence_`` and ``train_divergence_``; their cost grows with it and ``n_bridges``.
    n_neighbors : int
        Neighbourhood size of the localized (kNN) dual values.
    n_local_draws : int
        Local marginal draws averaged for each localized value.
    walk_steps : int
        Noisy steps of the gradient walk.
    walk_step_size : float
        Newton damping of each walk step, in (0, 1].
    walk_noise : float
        In [0, 1]: square root of the fraction of the data-shaped Gaussian's variance that each
        noisy walk step renews (an Ornstein-Uhlenbeck move projected on the level set of ``F``;
        see :func:`~mne_dualdiv.engine.walk.gradient_walk`). 0 makes Newton steps only.
    start : 'gaussian' | 'training'
        Where walks start: fresh draws of the data-shaped Gaussian (mean and shrunk structured
        covariance of the training samples, :class:`~mne_dualdiv.engine.gaussian.DataGaussian`),
        so that no synthetic sample is tied to one training sample, or (the paper's walk)
        training samples whose dual values are near the target.
    walk_shrinkage : None | float
        Shrinkage in [0, 1] of the data-shaped Gaussian's covariance towards its separable
        spatial x temporal target; None estimates it (Ledoit-Wolf). Larger values tie
        samples less to individual training samples.
    walk_metric : 'data' | 'euclidean'
        Geometry of the walk: ``'data'`` moves along ``Sigma grad F`` (the gradient
        preconditioned by the data-shaped Gaussian's covariance, so that every step has the
        data's spectra and spatial covariance) and projects the noise orthogonally to
        ``grad F`` in that metric; ``'euclidean'`` moves along ``grad F`` itself.
    target : 'nearest' | 'density' | 'between_clusters'
        Where walk targets come from: ``'nearest'``, the start's own dual value clipped to the
        end points (a walk then only moves out-of-distribution starts into them, and along
        their level set); ``'density'``, draws from a kernel density of the training dual
        values; ``'between_clusters'``, the gaps between adjacent clusters (with
        ``start='training'``, walks start from the lower cluster's members nearest the gap).
    local_check : bool
        Also require a sample's localized value to lie within the training samples' range.
    guard : bool
        Walk near-copies on: samples whose nearest-neighbour distance ratio (distance to the
        closest training sample over the distance to the second closest, near-duplicate
        training samples counted as one: ``near_duplicate_groups_``) is below
        ``near_copy_threshold_``.
    guard_percentile : float
        Percentile (0-100) of the held-out samples' distance ratios used as the near-copy
        threshold (never below ``MIN_NEAR_COPY_RATIO`` = 0.5).
    random_state : None | int | numpy.random.Generator
        Seed of everything random in ``fit``.
    verbose : None | bool | str
        Logging level while fitting and sampling.
"""


def fill_parameters_doc(cls):
    """Put :data:`PARAMETERS_DOC` in place of the line ``%(parameters)s`` of a class's
    docstring (as MNE's ``fill_doc``)."""
    cls.__doc__ = cls.__doc__.replace("    %(parameters)s\n", PARAMETERS_DOC)
    return cls


def check_params(params):
    """Check the generator's parameters; each error names the parameter and what was expected.

    Parameters
    ----------
    params : dict
        The estimator's parameters (``get_params()``).

    Raises
    ------
    ValueError, TypeError
        For the first invalid parameter.
    """
    check_option("method", params["method"], ("path", "direct"))
    check_option("pixel_order", params["pixel_order"], ("channel", "time", "random"))
    check_option("target", params["target"], ("nearest", "density", "between_clusters"))
    check_option("start", params["start"], ("gaussian", "training"))
    check_option("walk_metric", params["walk_metric"], ("data", "euclidean"))
    if params["walk_shrinkage"] is not None:
        check_float("walk_shrinkage", params["walk_shrinkage"], low=0, high=1)
    for name in ("n_bridges", "n_filters", "hidden", "temporal_kernel", "max_steps",
                 "batch_size", "eval_every", "patience", "n_eval_draws", "n_final_draws",
                 "n_neighbors", "n_local_draws"):
        check_int(name, params[name], minimum=1)
    check_int("walk_steps", params["walk_steps"], minimum=0)
    check_float("learning_rate", params["learning_rate"], low=0, low_inclusive=False)
    check_float("weight_decay", params["weight_decay"], low=0)
    check_float("validation_fraction", params["validation_fraction"], low=0, high=1,
                low_inclusive=False, high_inclusive=False)
    check_float("walk_step_size", params["walk_step_size"], low=0, high=1, low_inclusive=False)
    check_float("walk_noise", params["walk_noise"], low=0, high=1)
    check_float("guard_percentile", params["guard_percentile"], low=0, high=100)
    for name in ("local_check", "guard"):
        check_bool(name, params[name])
