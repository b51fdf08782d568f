"""The augmentation benchmark's comparators: what each adds to the training epochs.

Every method but ``none`` adds as many epochs as the training subset has (ratio 1.0, per
class: ``augment``'s default), made once per cell before any decoder is trained, so every
decoder, deep or not, sees the same augmented set (braindecode's transforms are applied
offline, not on the fly):

- ``none``: the real training epochs alone;
- ``ft_surrogate``, ``smooth_time_mask``, ``channels_dropout``, ``gaussian_noise``:
  braindecode's transforms with ``probability=1`` applied to one copy of every training epoch
  (:data:`TRANSFORMS` gives their settings);
- ``mixup``: within-class mixup, the package's ``MixupGenerator`` fitted per class (convex
  combinations of two epochs of a class, weight ~ Beta(0.4, 0.4)), so that every decoder gets
  hard labels;
- ``gaussian``: the package's ``GaussianGenerator`` (mean + Ledoit-Wolf covariance) per class;
- ``realnvp``: the strongest deep baseline of ``docs/comparison/`` (lowest PSD, covariance
  and Fréchet distances of the six deep baselines, the only one that beats the engine on
  covariance), per class, with the comparison's training budget (preset ``'comparison'``);
- ``augment``: ``mne_dualdiv.augment(epochs, random_state=seed)`` at its defaults
  (``per_condition='auto'``: one engine per class from 20 epochs per class, one shared dual
  space below);
- ``augment_shared``, ``augment_per_condition``: the same with ``per_condition`` forced to
  ``False`` (one shared dual space, each class walked with its own statistics) or ``True``
  (one engine per class), to measure the choice ``'auto'`` makes.

The baselines are fitted and sampled by ``benchmarks/_compare_cell.py``'s helpers, as in the
comparison.
"""

import time

import numpy as np

from _augmentation_data import labels_of

TRANSFORM_METHODS = ("ft_surrogate", "smooth_time_mask", "channels_dropout", "gaussian_noise")
GENERATOR_METHODS = ("mixup", "gaussian", "realnvp")
#: ``augment``'s variants: the value of its ``per_condition`` argument.
AUGMENT_METHODS = {"augment": "auto", "augment_shared": False, "augment_per_condition": True}
METHODS = ("none", *TRANSFORM_METHODS, *GENERATOR_METHODS, *AUGMENT_METHODS)

#: braindecode's transforms: class name and settings. ``mask_fraction`` is SmoothTimeMask's
#: mask length as a fraction of the epoch (braindecode's default of 100 samples is 0.4 s at
#: 250 Hz, most of a FingerMovements epoch); ``std_fraction`` is GaussianNoise's standard
#: deviation as a fraction of the training epochs' standard deviation (its default of 0.1
#: assumes standardised inputs, these are in volts).
TRANSFORMS = {
    "ft_surrogate": ("FTSurrogate", dict(phase_noise_magnitude=1.0, channel_indep=False)),
    "smooth_time_mask": ("SmoothTimeMask", dict(mask_fraction=0.2)),
    "channels_dropout": ("ChannelsDropout", dict(p_drop=0.2)),
    "gaussian_noise": ("GaussianNoise", dict(std_fraction=0.1)),
}


def _transform(method, X, seed):
    """One braindecode transform, with settings sized to ``X`` (n_epochs, n_channels, n_times)."""
    from _augmentation_decoders import import_braindecode

    _, augmentation = import_braindecode()
    class_name, settings = TRANSFORMS[method]
    settings = dict(settings)
    if "mask_fraction" in settings:
        settings["mask_len_samples"] = max(1, round(settings.pop("mask_fraction") * X.shape[2]))
    if "std_fraction" in settings:
        settings["std"] = settings.pop("std_fraction") * float(X.std())
    return getattr(augmentation, class_name)(probability=1.0, random_state=seed, **settings)


def _transformed(method, X, seed):
    import torch

    transform = _transform(method, X, seed)
    with torch.no_grad():  # the transforms compute in float32 (volts keep their precision)
        return transform(torch.as_tensor(X)).numpy().astype(X.dtype)


def _sampled(method, X, y, seed):
    from _compare_cell import fit_models, sample_models
    from _compare_grid import BUDGETS

    budget = dict(BUDGETS["full"], max_synthetic_per_fit=len(X))
    groups = [(label, X[y == label]) for label in np.unique(y)]
    models, _, _ = fit_models(method, budget, seed, groups)
    synthetic, labels, _, _ = sample_models(method, models, groups, budget, seed)
    return synthetic, labels


def _augmented(epochs, seed, per_condition):
    import mne_dualdiv

    augmented = mne_dualdiv.augment(epochs, per_condition=per_condition, random_state=seed,
                                    verbose=False)
    synthetic = augmented[np.flatnonzero(augmented.metadata["synthetic"].to_numpy())]
    return synthetic.get_data(), labels_of(synthetic)


def method_settings(method):
    """The settings of ``method`` as run (for the JSON lines)."""
    from _compare_cell import make_method
    from _compare_grid import BUDGETS

    if method in TRANSFORMS:
        class_name, settings = TRANSFORMS[method]
        return dict(transform=class_name, probability=1.0, **settings)
    if method in GENERATOR_METHODS:
        estimator = make_method(method, BUDGETS["full"], seed=0)
        params = {k: v for k, v in estimator.get_params().items() if k != "random_state"}
        return dict(cls=type(estimator).__name__, params=params, per_class=True)
    if method == "augment":
        return dict(call="mne_dualdiv.augment(epochs, random_state=seed)")
    if method in AUGMENT_METHODS:
        return dict(call=f"mne_dualdiv.augment(epochs, per_condition="
                         f"{AUGMENT_METHODS[method]!r}, random_state=seed)")
    return {}


def make_extra_epochs(method, epochs, seed):
    """The epochs ``method`` adds to the training ``epochs``, and what it cost.

    Returns
    -------
    X_extra : ndarray, shape (n_extra, n_channels, n_times)
    y_extra : ndarray of str
    cost : dict
        ``augmentation_wall_s`` and ``augmentation_cpu_s`` (this process) of making them.
    """
    X, y = epochs.get_data(), labels_of(epochs)
    start, start_cpu = time.perf_counter(), time.process_time()
    if method == "none":
        X_extra, y_extra = X[:0], y[:0]
    elif method in TRANSFORM_METHODS:
        X_extra, y_extra = _transformed(method, X, seed), y.copy()
    elif method in GENERATOR_METHODS:
        X_extra, y_extra = _sampled(method, X, y, seed)
    elif method in AUGMENT_METHODS:
        X_extra, y_extra = _augmented(epochs, seed, AUGMENT_METHODS[method])
    else:
        raise ValueError(f"Invalid value for the 'method' parameter: {method!r}; allowed "
                         f"values are {', '.join(repr(m) for m in METHODS)}.")
    cost = dict(augmentation_wall_s=time.perf_counter() - start,
                augmentation_cpu_s=time.process_time() - start_cpu)
    return X_extra, np.asarray(y_extra), cost
