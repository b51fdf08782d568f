"""The generator's parameter checks (their descriptions: ``mne_dualdiv._docs.docdict``)."""

from .._checks import check_bool, check_device, check_float, check_int, check_option


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
    check_dp_params(params)
    # The spelling only: a model saved on a GPU machine reads anywhere, and fit and sample
    # check that the device exists where they run.
    check_device(params["device"], available=False)


def check_dp_params(params):
    """Check ``dp_epsilon`` and ``dp_delta`` and the settings a private fit cannot honour.

    Parameters
    ----------
    params : dict
        The estimator's parameters.

    Raises
    ------
    ValueError, TypeError
        Naming the parameter.
    """
    if params["dp_epsilon"] is not None:
        # Finite and positive: None, not inf, switches differential privacy off.
        check_float("dp_epsilon", params["dp_epsilon"], low=0, low_inclusive=False)
    check_float("dp_delta", params["dp_delta"], low=0, high=1, low_inclusive=False,
                high_inclusive=False)
    if params["dp_epsilon"] is None:
        return
    if params["start"] == "training":
        raise ValueError("start='training' starts walks from training samples, which a "
                         "private fit (dp_epsilon) does not keep; use start='gaussian'.")
    if params["walk_shrinkage"] not in (None, 1, 1.0):
        raise ValueError(f"walk_shrinkage={params['walk_shrinkage']} mixes in the sample "
                         "covariance of the training samples, which a private fit (dp_epsilon) "
                         "does not release; use None or 1.")
