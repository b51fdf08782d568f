"""An imbalanced-learn style sampler: synthetic epochs made inside each training fold."""

import numpy as np
from sklearn.base import BaseEstimator

from .._checks import (check_array_3d, check_device, check_labels, check_n_jobs,
                       check_random_state)
from .._docs import fill_doc
from .._logging import use_verbose
from ._conditions import check_template, fit_generators, resolve_counts, sample_generators


@fill_doc
class DualDivergenceSampler(BaseEstimator):
    """Augment a training set with synthetic samples of every class, by ``fit_resample``.

    The imbalanced-learn sampler protocol: in an :class:`imblearn.pipeline.Pipeline`, the
    sampler runs on the training part of each cross-validation split only (``fit``), and is
    skipped at prediction time, so no synthetic sample ever derives from a test fold. ``X``
    holds epochs as arrays ``(n_epochs, n_channels, n_times)`` (``epochs.get_data()``), so
    the sampler goes before MNE's decoding transformers (:class:`mne.decoding.CSP`,
    :class:`mne.decoding.Vectorizer`, ...). It does not subclass imbalanced-learn's
    ``BaseSampler``, which only takes 2-D ``X``; imbalanced-learn is not needed to use it.

    Parameters
    ----------
    generator : None | DualDivergenceGenerator
        Engine settings, as an unfitted template cloned per class (``None``: the engine's
        defaults); reachable as ``generator__<name>`` by ``get_params``/``set_params``.
    n_synthetic : int | float | dict | 'balance'
        Synthetic samples to add: a float is a ratio of each class's count (``1.0`` doubles
        every class), an int a total split like the class proportions, a dict a count per
        class label, ``'balance'`` tops every class up to the largest.
    random_state : None | int | numpy.random.Generator
        Seed of fitting and sampling; the same seed and data give the same output.
    %(n_jobs_conditions)s Leave it
        at None when the cross-validation itself runs in parallel.
    %(device_template)s
    %(verbose_template)s

    Attributes
    ----------
    generators_ : dict
        The generator fitted on each class that got synthetic samples in the last
        ``fit_resample``; a class asked for none is not fitted (it may even be too small for
        the engine), and when no class is, ``generators_`` is empty.
    n_synthetic_ : dict
        Synthetic samples made per class in the last ``fit_resample`` (every class, zeros
        included).

    See Also
    --------
    mne_dualdiv.augment : The same on :class:`mne.Epochs`, outside cross-validation.

    Notes
    -----
    Asking for no synthetic sample at all (``0``, a ratio that rounds to 0 for every class, a
    dict of zeros, ``'balance'`` on balanced classes) is not an error: ``fit_resample`` fits
    nothing and returns a copy of ``X`` and ``y``, so a pipeline works on folds that happen
    to be balanced.

    Examples
    --------
    >>> from imblearn.pipeline import make_pipeline  # doctest: +SKIP
    >>> from mne.decoding import CSP
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipeline = make_pipeline(DualDivergenceSampler(random_state=0), CSP(n_components=4),
    ...                          LogisticRegression())
    >>> cross_val_score(pipeline, epochs.get_data(), epochs.events[:, 2])  # doctest: +SKIP
    """

    def __init__(self, generator=None, n_synthetic=1.0, random_state=None, n_jobs=None,
                 device=None, verbose=None):
        self.generator = generator
        self.n_synthetic = n_synthetic
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    def fit_resample(self, X, y):
        """Fit one generator per class of ``y`` and return the data with synthetic samples.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_channels, n_times)
            Training samples in any units (for example epochs in volts). Not modified.
        y : array-like, shape (n_samples,)
            Class label of each sample, without missing values (NaN, None). Not modified.

        Returns
        -------
        X_resampled : ndarray, shape (n_samples + n_new, n_channels, n_times)
            ``X`` followed by the synthetic samples, grouped by class in sorted label order.
        y_resampled : ndarray, shape (n_samples + n_new,)
            ``y`` followed by the synthetic samples' labels.
        """
        template = check_template(self.generator)
        check_n_jobs(self.n_jobs)
        if self.device is not None:
            check_device(self.device)
        X = check_array_3d(X, "X")
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"y must have shape ({len(X)},) like the samples of X, got shape "
                             f"{y.shape}.")
        y = check_labels("y", y, len(X)).copy()
        classes, counts = np.unique(y, return_counts=True)
        n_real = dict(zip(classes.tolist(), counts.tolist()))
        self.n_synthetic_ = resolve_counts(self.n_synthetic, n_real, "n_synthetic")
        rng = check_random_state(self.random_state)
        # A class asked for no sample is not fitted: it may be too small for the engine.
        wanted = [label for label in n_real if self.n_synthetic_[label] > 0]
        if not wanted:
            self.generators_ = {}
            return X, y
        with use_verbose(self.verbose):
            labels = np.array(y.tolist(), dtype=object)
            self.generators_ = fit_generators(X, labels, wanted, template, rng,
                                              self.verbose, what="class", n_jobs=self.n_jobs,
                                              device=self.device)
            X_new, y_new = sample_generators(self.generators_, self.n_synthetic_, rng,
                                             n_jobs=self.n_jobs)
        y_new = np.array(y_new, dtype=y.dtype) if len(y_new) else y[:0]
        return np.concatenate([X, X_new.astype(X.dtype, copy=False)]), np.concatenate([y, y_new])
