"""Utility scores: train on synthetic / test on real, and augmentation of the real training set."""

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .._checks import check_labels
from .._docs import fill_doc
from ._base import MetricScore, check_classifier, prepare_sets


def default_classifier():
    """The standard MNE decoding pipeline used by the utility scores.

    Returns
    -------
    classifier : sklearn.pipeline.Pipeline
        ``mne.decoding.Vectorizer`` → ``StandardScaler`` → ``LogisticRegression`` (L2,
        ``C=1``, liblinear solver, one-vs-rest for more than two classes), taking arrays
        (n_samples, n_channels, n_times).
    """
    from mne.decoding import Vectorizer

    return make_pipeline(Vectorizer(), StandardScaler(),
                         OneVsRestClassifier(LogisticRegression(C=1.0, solver="liblinear")))


def _check_labels(name, y, n_samples):
    if y is None:
        raise ValueError(f"{name} is required by the utility scores (labels of the samples).")
    return check_labels(name, y, n_samples)


def _check_utility_inputs(train, heldout, synthetic, y_train, y_heldout, y_synthetic,
                          classifier, scoring):
    train, heldout, synthetic, _ = prepare_sets(train, heldout, synthetic, min_samples=1)
    y_train = _check_labels("y_train", y_train, len(train))
    y_heldout = _check_labels("y_heldout", y_heldout, len(heldout))
    y_synthetic = _check_labels("y_synthetic", y_synthetic, len(synthetic))
    for name, y in (("y_train", y_train), ("y_synthetic", y_synthetic)):
        if len(np.unique(y)) < 2:
            raise ValueError(f"{name} must contain at least 2 classes, got {np.unique(y)}.")
    unknown = np.setdiff1d(np.r_[np.unique(y_heldout), np.unique(y_synthetic)],
                           np.unique(y_train))
    if len(unknown):
        raise ValueError(f"y_heldout and y_synthetic may only use the classes of y_train; "
                         f"unknown: {unknown.tolist()}.")
    if check_classifier(classifier) is None:
        classifier = default_classifier()
    if not isinstance(scoring, str):
        raise TypeError(f"scoring must be a scikit-learn scorer name, got {scoring!r}.")
    try:
        scorer = get_scorer(scoring)
    except ValueError as err:
        raise ValueError(f"Invalid value for the 'scoring' parameter: {err}") from None
    return train, heldout, synthetic, y_train, y_heldout, y_synthetic, classifier, scorer


def _fit_score(classifier, scorer, X, y, X_test, y_test):
    return float(scorer(clone(classifier).fit(X, y), X_test, y_test))


@fill_doc
def tstr_score(train, heldout, synthetic, y_train, y_heldout, y_synthetic, classifier=None,
               scoring="balanced_accuracy"):
    """Train on synthetic, test on real: does the synthetic set carry the class information?

    A classifier fitted on the labelled synthetic set is scored on the real held-out set; the
    reference is the same classifier fitted on the real training set ("train on real, test on
    real").

    Parameters
    ----------
    %(train_heldout_synthetic)s
    y_train, y_heldout, y_synthetic : array-like, shape (n,)
        Their class labels (the synthetic labels are those the samples were generated for);
        NaN or None labels raise a ValueError.
    classifier : None | sklearn classifier
        Takes arrays (n_samples, n_channels, n_times); cloned before each fit. None uses
        :func:`default_classifier`.
    scoring : str
        A scikit-learn scorer name.

    Returns
    -------
    score : MetricScore
        ``'tstr_score'`` (higher is better): trained on synthetic; reference: trained on the
        real training set; both tested on held-out data. ``details``: ``scoring``.
    """
    train, heldout, synthetic, y_train, y_heldout, y_synthetic, classifier, scorer = (
        _check_utility_inputs(train, heldout, synthetic, y_train, y_heldout, y_synthetic,
                              classifier, scoring))
    return MetricScore(
        "tstr_score", "utility",
        _fit_score(classifier, scorer, synthetic, y_synthetic, heldout, y_heldout),
        _fit_score(classifier, scorer, train, y_train, heldout, y_heldout), "higher",
        details=dict(scoring=scoring))


@fill_doc
def augmentation_score(train, heldout, synthetic, y_train, y_heldout, y_synthetic,
                       classifier=None, scoring="balanced_accuracy"):
    """Augmentation: score of a classifier fitted on the real training set plus the synthetic set.

    The augmentation gain is ``synthetic - reference`` (:attr:`MetricScore.gap`).

    Parameters
    ----------
    %(train_heldout_synthetic)s
    y_train, y_heldout, y_synthetic : array-like, shape (n,)
        Their class labels; NaN or None labels raise a ValueError.
    classifier : None | sklearn classifier
        Takes arrays (n_samples, n_channels, n_times); cloned before each fit. None uses
        :func:`default_classifier`.
    scoring : str
        A scikit-learn scorer name.

    Returns
    -------
    score : MetricScore
        ``'augmentation_score'`` (higher is better): trained on training + synthetic samples;
        reference: trained on the training samples alone; both tested on held-out data.
        ``details``: ``gain``, ``scoring``.
    """
    train, heldout, synthetic, y_train, y_heldout, y_synthetic, classifier, scorer = (
        _check_utility_inputs(train, heldout, synthetic, y_train, y_heldout, y_synthetic,
                              classifier, scoring))
    augmented = _fit_score(classifier, scorer, np.concatenate([train, synthetic]),
                           np.concatenate([y_train, y_synthetic]), heldout, y_heldout)
    real_only = _fit_score(classifier, scorer, train, y_train, heldout, y_heldout)
    return MetricScore("augmentation_score", "utility", augmented, real_only, "higher",
                       details=dict(gain=augmented - real_only, scoring=scoring))
