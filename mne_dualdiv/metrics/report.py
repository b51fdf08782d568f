"""`evaluate`: every score of a synthetic set against real data, as one report with plots."""

import math
from html import escape
from pathlib import Path

import numpy as np

from .._checks import check_int, check_random_state
from .._io import atomic_path
from .._logging import logger, use_verbose
from ._base import MetricScore, as_data, check_same_shape, prepare_sets, scaled_flat
from .fidelity import covariance_distance, discriminative_score, frechet_distance, psd_distance
from .information import (MIN_DIVERGENCE_SAMPLES, cluster_divergence, entropy_score, ood_rate,
                          sample_divergence, total_correlation)
from .privacy import MIN_NONMEMBERS, check_disjoint, privacy_scores
from .utility import augmentation_score, tstr_score

#: Every metric of :func:`evaluate`, in report order, with its category.
METRICS = {
    "psd_distance": "fidelity",
    "covariance_distance": "fidelity",
    "discriminative_score": "fidelity",
    "frechet_distance": "fidelity",
    "sample_divergence": "information",
    "knn_entropy": "information",
    "max_cluster_divergence": "information",
    "channel_total_correlation": "information",
    "ood_rate": "information",
    "tstr_score": "utility",
    "augmentation_score": "utility",
    "median_dcr": "privacy",
    "membership_inference_auc": "privacy",
    "nndr": "privacy",
    "share_closer_to_members": "privacy",
}
#: The metrics computed together by :func:`privacy_report_scores`.
PRIVACY_METRICS = ("median_dcr", "membership_inference_auc", "nndr", "share_closer_to_members")
_GROUPS = ("all", "fidelity", "information", "utility", "privacy")


def _privacy_sets(members, nonmembers, synthetic, names=("members", "nonmembers", "synthetic")):
    """The three sets as checked arrays of one image shape, members and non-members disjoint."""
    sets = [as_data(X, name, min_samples=1)[0]
            for X, name in zip((members, nonmembers, synthetic), names)]
    check_same_shape(names[0], sets[0], **dict(zip(names[1:], sets[1:])))
    check_disjoint(sets[0], sets[1], names[:2])
    return sets


def _privacy_details(members, nonmembers, synthetic, random_state):
    sets = _privacy_sets(members, nonmembers, synthetic)
    return privacy_scores(*scaled_flat(*sets), random_state=random_state)


def privacy_report_scores(members, nonmembers, synthetic, random_state=None):
    """The four same-pool privacy scores of a synthetic set, as :class:`MetricScore` objects.

    Channels are scaled with the members' robust statistics before the Euclidean distances of
    :func:`~mne_dualdiv.metrics.privacy_scores` are taken. Members and non-members must come
    from the same pool of real samples: the generator was fitted on the members and never saw
    the non-members (``docs/metrics.md``, "Privacy").

    Parameters
    ----------
    members : array-like, shape (n_members, n_channels, n_times) | mne.Epochs
        The real samples the generator was fitted on.
    nonmembers : array-like, shape (n_nonmembers, n_channels, n_times) | mne.Epochs
        Real samples from the same pool that the generator never saw (at least 4).
    synthetic : array-like, shape (n_synthetic, n_channels, n_times) | mne.Epochs
        Generated samples.
    random_state : None | int | numpy.random.Generator
        Seed of the subsampling to equal sizes and of the reference's split.

    Returns
    -------
    scores : list of MetricScore
        ``'median_dcr'`` (scaled units, higher is more private; reference: the non-members'
        median distance to the closest member), ``'membership_inference_auc'`` (lower is
        better, reference about 0.5), ``'nndr'`` (higher is better, reference about 1) and
        ``'share_closer_to_members'`` (lower is better, reference about 0.5). The references
        of the last three release real non-members instead of synthetic samples. Every
        ``details`` is the full :func:`~mne_dualdiv.metrics.privacy_scores` dict.
    """
    d = _privacy_details(members, nonmembers, synthetic, random_state)
    return [
        MetricScore("median_dcr", "privacy", d["median_dcr_synthetic"],
                    d["median_dcr_nonmembers"], "higher", unit="scaled", details=d),
        MetricScore("membership_inference_auc", "privacy", d["membership_inference_auc"],
                    d["reference_membership_inference_auc"], "lower", details=d),
        MetricScore("nndr", "privacy", d["nndr"], d["reference_nndr"], "higher", details=d),
        MetricScore("share_closer_to_members", "privacy", d["share_closer_to_members"],
                    d["reference_share_closer_to_members"], "lower", details=d),
    ]


class EvaluationReport:
    """The scores of a synthetic set against real data, returned by :func:`evaluate`.

    Parameters
    ----------
    scores : list of MetricScore
        The computed scores, in report order.
    skipped : dict
        Metric name -> why it was not computed.
    n_samples : dict
        Sizes of the ``'train'``, ``'heldout'`` and ``'synthetic'`` sets.
    sfreq : float | None
        Sampling frequency in Hz (None: frequencies in cycles per sample).
    ch_names : list of str | None
        Channel names when Epochs were given.
    dual_values_train : ndarray | None
        Dual values of the generator's training samples, for :meth:`plot_dual_histogram`.

    Attributes
    ----------
    scores : dict
        Metric name -> :class:`MetricScore`.
    """

    def __init__(self, scores, skipped=None, n_samples=None, sfreq=None, ch_names=None,
                 dual_values_train=None):
        self.scores = {score.name: score for score in scores}
        self.skipped = dict(skipped or {})
        self.n_samples = dict(n_samples or {})
        self.sfreq = sfreq
        self.ch_names = ch_names
        self.dual_values_train = dual_values_train

    def __getitem__(self, name):
        if name not in self.scores:
            raise KeyError(f"No metric {name!r} in this report; it has {list(self.scores)}.")
        return self.scores[name]

    def __iter__(self):
        return iter(self.scores.values())

    def __len__(self):
        return len(self.scores)

    def __repr__(self):
        sizes = ", ".join(f"{k} {v}" for k, v in self.n_samples.items())
        lines = [f"<EvaluationReport | {len(self)} metrics ({sizes})>"]
        width = max([len(name) for name in (*self.scores, *self.skipped)] + [6])
        lines.append(f"  {'metric':<{width}}  {'synthetic':>11}  {'reference':>11}  better  "
                     "as good as real")
        for score in self:
            ok = {True: "yes", False: "no", None: "-"}[score.as_good_as_reference]
            lines.append(f"  {score.name:<{width}}  {score.synthetic:>11.4g}  "
                         f"{score.reference:>11.4g}  {score.better:<6}  {ok}")
        for name, reason in self.skipped.items():
            lines.append(f"  {name:<{width}}  skipped: {reason}")
        return "\n".join(lines)

    def to_dataframe(self):
        """The scores as a table, one row per metric.

        Returns
        -------
        df : pandas.DataFrame
            Columns ``metric``, ``category``, ``synthetic``, ``reference``, ``better``
            (``'lower'``, ``'higher'`` or ``'closer'``), ``gap`` (synthetic - reference),
            ``real_spread``, ``as_good_as_reference`` (nullable boolean, see
            :attr:`MetricScore.as_good_as_reference`) and ``unit``.
        """
        import pandas as pd

        rows = [dict(metric=s.name, category=s.category, synthetic=s.synthetic,
                     reference=s.reference, better=s.better, gap=s.gap,
                     real_spread=s.real_spread, as_good_as_reference=s.as_good_as_reference,
                     unit=s.unit) for s in self]
        columns = ["metric", "category", "synthetic", "reference", "better", "gap",
                   "real_spread", "as_good_as_reference", "unit"]
        df = pd.DataFrame(rows, columns=columns)
        df["as_good_as_reference"] = df["as_good_as_reference"].astype("boolean")
        return df

    def _require(self, name, method):
        if name not in self.scores:
            why = self.skipped.get(name, "it was not requested")
            raise RuntimeError(f"{method}() needs the {name!r} metric, which is not in this "
                               f"report: {why}.")
        return self.scores[name]

    def plot_psd(self, average=True, show=False):
        """Overlay the average power spectra (dB) of the training, held-out and synthetic sets.

        Parameters
        ----------
        average : bool
            One panel with the spectra averaged over channels (in dB) when True; one panel per
            channel otherwise.
        show : bool
            Call ``plt.show()``.

        Returns
        -------
        fig : matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        details = self._require("psd_distance", "plot_psd").details
        freqs = details["freqs"]
        spectra = {"real training": details["psd_train"], "real held-out": details["psd_heldout"],
                   "synthetic": details["psd_synthetic"]}
        styles = {"real training": dict(color="0.5", ls="--"),
                  "real held-out": dict(color="k"), "synthetic": dict(color="C3")}
        n_channels = details["psd_heldout"].shape[0]
        if average:
            fig, axes = plt.subplots(1, 1, figsize=(5, 3.5), squeeze=False)
        else:
            n_cols = int(math.ceil(math.sqrt(n_channels)))
            n_rows = int(math.ceil(n_channels / n_cols))
            fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.2 * n_cols, 1.8 * n_rows),
                                     sharex=True, sharey=True, squeeze=False)
        for index, ax in enumerate(axes.ravel()):
            if not average and index >= n_channels:
                ax.set_visible(False)
                continue
            for label, psd in spectra.items():
                ax.plot(freqs, psd.mean(0) if average else psd[index], label=label,
                        **styles[label])
            if not average:
                ax.set_title(self.ch_names[index] if self.ch_names else f"channel {index}",
                             fontsize=8)
        unit = "Hz" if self.sfreq is not None else "cycles/sample"
        axes[-1, 0].set_xlabel(f"Frequency ({unit})")
        axes[-1, 0].set_ylabel("Power (dB)")
        axes[0, 0].legend(fontsize=7)
        fig.suptitle(f"PSD distance: synthetic {self['psd_distance'].synthetic:.2f} dB, "
                     f"reference {self['psd_distance'].reference:.2f} dB", fontsize=9)
        fig.tight_layout()
        if show:
            plt.show()
        return fig

    def plot_dual_histogram(self, bins=30, show=False):
        """Histogram of the dual values of real and synthetic samples, with the end points.

        Needs the ``'ood_rate'`` metric, i.e. ``evaluate(..., generator=...)``.

        Parameters
        ----------
        bins : int
            Number of histogram bins (shared by the sets).
        show : bool
            Call ``plt.show()``.

        Returns
        -------
        fig : matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        bins = check_int("bins", bins, minimum=1)
        details = self._require("ood_rate", "plot_dual_histogram").details
        sets = {}
        if self.dual_values_train is not None:
            sets["real training"] = np.asarray(self.dual_values_train)
        sets["real held-out"] = details["dual_values_heldout"]
        sets["synthetic"] = details["dual_values_synthetic"]
        everything = np.concatenate(list(sets.values()) + [details["endpoints"]])
        edges = np.linspace(everything.min(), everything.max(), bins + 1)
        colors = {"real training": "0.6", "real held-out": "k", "synthetic": "C3"}
        fig, ax = plt.subplots(figsize=(5.5, 3.5))
        for label, values in sets.items():
            ax.hist(values, bins=edges, density=True, histtype="step", lw=1.5,
                    color=colors[label], label=f"{label} (n={len(values)})")
        for endpoint in details["endpoints"]:
            ax.axvline(endpoint, color="C0", ls=":", lw=1)
        ax.set_xlabel("Dual value F(x)")
        ax.set_ylabel("Density")
        ood = self["ood_rate"]
        ax.set_title(f"End points (dotted); out of distribution: synthetic {ood.synthetic:.0%}, "
                     f"held-out {ood.reference:.0%}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        if show:
            plt.show()
        return fig

    def plot_metrics(self, show=False):
        """Bar chart of every metric: synthetic next to the real reference.

        One panel per metric (their scales differ); the title says which direction is better.

        Parameters
        ----------
        show : bool
            Call ``plt.show()``.

        Returns
        -------
        fig : matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        if not len(self):
            raise RuntimeError("plot_metrics() needs at least one metric in the report.")
        n_cols = min(4, len(self))
        n_rows = int(math.ceil(len(self) / n_cols))
        fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.6 * n_cols, 2.3 * n_rows),
                                 squeeze=False)
        arrows = {"lower": "lower is better", "higher": "higher is better",
                  "closer": "closer to real is better"}
        for ax, score in zip(axes.ravel(), self):
            ax.bar([0, 1], [score.synthetic, score.reference], color=["C3", "0.4"])
            if score.better == "closer" and np.isfinite(score.real_spread):
                ax.errorbar([1], [score.reference], yerr=[score.real_spread], color="k",
                            capsize=4)
            ax.set_xticks([0, 1], ["synthetic", "real"], fontsize=8)
            unit = f" ({score.unit})" if score.unit else ""
            ax.set_title(f"{score.name}{unit}\n{arrows[score.better]}", fontsize=8)
            ax.tick_params(axis="y", labelsize=7)
        for ax in axes.ravel()[len(self):]:
            ax.set_visible(False)
        fig.tight_layout()
        if show:
            plt.show()
        return fig

    def save(self, fname, overwrite=False):
        """Write the report as one self-contained HTML page (an :class:`mne.Report`).

        The page holds the metric table (with the skipped metrics and why), the bar chart of
        :meth:`plot_metrics`, and, where their metrics were computed, the spectra of
        :meth:`plot_psd` and the dual-space histogram of :meth:`plot_dual_histogram`. Figures
        are embedded as images, so the file can be shared on its own.

        Parameters
        ----------
        fname : path-like
            The HTML file to write (``.html`` or ``.htm``).
        overwrite : bool
            Replace ``fname`` if it exists; otherwise an existing file is an error.

        Returns
        -------
        fname : pathlib.Path
            The file written.
        """
        import matplotlib.pyplot as plt
        import mne

        from .._checks import check_fname_for_writing

        fname = check_html_name(check_fname_for_writing(fname, overwrite))
        if not len(self):
            raise RuntimeError("save() needs at least one metric in the report.")
        html = mne.Report(title="mne_dualdiv evaluation", verbose="error")
        sizes = escape(", ".join(f"{count} {name}" for name, count in self.n_samples.items()))
        table = self.to_dataframe().to_html(index=False, float_format="{:.4g}".format,
                                            na_rep="-", escape=True)
        skipped = "".join(f"<li><code>{escape(str(name))}</code>: {escape(str(reason))}</li>"
                          for name, reason in self.skipped.items())
        skipped = f"<p>Skipped:</p><ul>{skipped}</ul>" if skipped else ""
        html.add_html(f"<p>Samples: {sizes}.</p>{table}{skipped}", title="Scores")
        figures = [("Metrics: synthetic against real", self.plot_metrics)]
        if "psd_distance" in self.scores:
            figures.append(("Power spectra", self.plot_psd))
        if "ood_rate" in self.scores:
            figures.append(("Dual space", self.plot_dual_histogram))
        for title, plot in figures:
            fig = plot()
            try:
                html.add_figure(fig, title=title)
            finally:
                plt.close(fig)
        with atomic_path(fname, suffix=".html", overwrite=overwrite) as temporary:
            html.save(temporary, overwrite=True, open_browser=False, verbose="error")
        return fname


def check_html_name(fname, name="fname"):
    """``fname`` if it ends in ``.html`` or ``.htm`` (what :meth:`EvaluationReport.save` writes)."""
    if Path(fname).suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"{name} must end in .html or .htm, got {str(fname)!r}.")
    return fname


def _resolve_metrics(metrics):
    """Return ``{name: required}``: names asked for explicitly are required."""
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, (list, tuple)) or not metrics:
        raise TypeError("metrics must be 'all', a category name, a metric name or a non-empty "
                        f"list of them, got {metrics!r}.")
    wanted = {}
    for item in metrics:
        if item in METRICS:
            wanted[item] = True
        elif item in _GROUPS:
            for name, category in METRICS.items():
                if item == "all" or category == item:
                    wanted.setdefault(name, False)
        else:
            allowed = ", ".join(repr(x) for x in (*_GROUPS, *METRICS))
            raise ValueError(f"Invalid value for the 'metrics' parameter. Allowed values are "
                             f"{allowed}, but got {item!r} instead.")
    return {name: wanted[name] for name in METRICS if name in wanted}


def evaluate(train, heldout, synthetic, sfreq=None, y_train=None, y_heldout=None,
             y_synthetic=None, generator=None, metrics="all", fit_estimators=False,
             estimator_params=None, classifier=None, n_components=10, nonmembers=None,
             random_state=None, verbose=None):
    """Score a synthetic set against real held-out data, next to real training data.

    Every metric compares the synthetic set with the real held-out set and gives the same
    metric for the real training set as the reference (or, for properties of a single set,
    the held-out set's value); see ``docs/metrics.md``.

    Parameters
    ----------
    train : array-like, shape (n_train, n_channels, n_times) | mne.Epochs
        The real samples the generator was fitted on.
    heldout : array-like, shape (n_heldout, n_channels, n_times) | mne.Epochs
        Real samples the generator never saw.
    synthetic : array-like, shape (n_synthetic, n_channels, n_times) | mne.Epochs
        Generated samples, in the same units.
    sfreq : float | None
        Sampling frequency in Hz; taken from Epochs when None, else frequencies are in cycles
        per sample (only labels change).
    y_train, y_heldout, y_synthetic : array-like | None
        Class labels; the utility metrics run only when all three are given.
    generator : DualDivergenceGenerator | None
        A generator fitted on ``train``; the OOD rate (and
        :meth:`EvaluationReport.plot_dual_histogram`) runs only when given. The samples of any
        method (a baseline's too) can be scored under the end points of a dual-divergence
        generator fitted on the same training set.
    metrics : str | list of str
        ``'all'``, a category (``'fidelity'``, ``'information'``, ``'utility'``,
        ``'privacy'``), metric names (see :data:`METRICS`), or a list of them. Metrics reached
        through ``'all'`` or a category are skipped (and listed in ``report.skipped``) when
        their inputs are missing; a metric named explicitly raises an error instead.
    fit_estimators : bool
        Let ``'all'`` and ``'information'`` include ``'sample_divergence'``, which fits three
        fresh path estimators (the costliest metric). Naming it in ``metrics`` also runs it.
    estimator_params : dict | None
        Settings of those estimators (see
        :data:`~mne_dualdiv.metrics.information.DEFAULT_DIVERGENCE_PARAMS`).
    classifier : None | sklearn classifier
        The classifier of the utility metrics (None: :func:`default_classifier`).
    n_components : int
        Principal components of the entropy and cluster-divergence space.
    nonmembers : array-like, shape (n_nonmembers, n_channels, n_times) | mne.Epochs | None
        Real samples from the same pool as ``train`` that the generator never saw (at least
        4): the privacy metrics compare members (``train``) with them, so that they measure
        membership and not a shift between ``train`` and ``heldout`` (``docs/metrics.md``,
        "Privacy"). Without them the privacy metrics are skipped. When ``heldout`` comes from
        the same pool as ``train``, pass it here too.
    random_state : None | int | numpy.random.Generator
        Seed of all subsampling, cross-validation, clustering and estimator fits; each metric
        gets its own seed, so a metric's value does not depend on which others are computed.
    verbose : None | bool | str
        Logging level.

    Returns
    -------
    report : EvaluationReport
        ``report.to_dataframe()``, ``report['psd_distance']``, ``report.plot_metrics()``, ...
    """
    with use_verbose(verbose):
        wanted = _resolve_metrics(metrics)
        train_data, heldout_data, synthetic_data, sfreq = prepare_sets(train, heldout, synthetic,
                                                                       sfreq)
        ch_names = next((X.info["ch_names"] for X in (train, heldout, synthetic)
                         if hasattr(X, "info")), None)
        labels = dict(y_train=y_train, y_heldout=y_heldout, y_synthetic=y_synthetic)
        rng = check_random_state(random_state)
        seeds = dict(zip(METRICS, rng.integers(2**31 - 1, size=len(METRICS))))
        data = (train_data, heldout_data, synthetic_data)
        have_labels = all(v is not None for v in labels.values())
        n_min = min(len(X) for X in data)
        missing = {
            "ood_rate": None if generator is not None else "no generator given",
            "tstr_score": None if have_labels else "y_train, y_heldout and y_synthetic needed",
            "augmentation_score": None if have_labels else
            "y_train, y_heldout and y_synthetic needed",
        }
        if nonmembers is not None:  # checked before any metric runs
            _, nonmembers, _ = _privacy_sets(train_data, nonmembers, synthetic_data,
                                             ("train", "nonmembers", "synthetic"))
            if len(nonmembers) < MIN_NONMEMBERS:
                raise ValueError(f"nonmembers must have at least {MIN_NONMEMBERS} samples, got "
                                 f"{len(nonmembers)}.")
        else:
            for name in PRIVACY_METRICS:
                missing[name] = ("nonmembers needed: real samples from the same pool as train "
                                 "that the generator never saw")
        if not (fit_estimators or wanted.get("sample_divergence")):
            missing["sample_divergence"] = "fit_estimators=False"
        elif n_min < MIN_DIVERGENCE_SAMPLES:
            missing["sample_divergence"] = (f"needs at least {MIN_DIVERGENCE_SAMPLES} samples "
                                            f"per set, the smallest has {n_min}")
        computers = {
            "psd_distance": lambda s: psd_distance(*data, sfreq=sfreq, random_state=s),
            "covariance_distance": lambda s: covariance_distance(*data, random_state=s),
            "discriminative_score": lambda s: discriminative_score(*data, sfreq=sfreq,
                                                                   random_state=s),
            "frechet_distance": lambda s: frechet_distance(*data, sfreq=sfreq, random_state=s),
            "sample_divergence": lambda s: sample_divergence(
                *data, estimator_params=estimator_params, random_state=s),
            "knn_entropy": lambda s: entropy_score(*data, n_components=n_components,
                                                   random_state=s),
            "max_cluster_divergence": lambda s: cluster_divergence(
                *data, n_components=n_components, random_state=s),
            "channel_total_correlation": lambda s: total_correlation(*data, random_state=s),
            "ood_rate": lambda s: ood_rate(heldout_data, synthetic_data, generator),
            "tstr_score": lambda s: tstr_score(*data, classifier=classifier, **labels),
            "augmentation_score": lambda s: augmentation_score(*data, classifier=classifier,
                                                               **labels),
        }
        privacy = {}
        for name in PRIVACY_METRICS:
            def compute(_seed, name=name):
                if not privacy:  # the four scores come from one computation
                    privacy.update((score.name, score) for score in privacy_report_scores(
                        train_data, nonmembers, synthetic_data, random_state=seeds["median_dcr"]))
                return privacy[name]
            computers[name] = compute
        scores, skipped = [], {}
        for name, required in wanted.items():
            reason = missing.get(name)
            if reason is not None and required:
                raise ValueError(f"The metric {name!r} was asked for but cannot be computed: "
                                 f"{reason}.")
            if reason is not None:
                logger.info("Skipping %s: %s", name, reason)
                skipped[name] = reason
                continue
            logger.info("Computing %s", name)
            scores.append(computers[name](int(seeds[name])))
        dual_values_train = getattr(generator, "dual_values_train_", None)
    return EvaluationReport(
        scores, skipped,
        n_samples=dict(train=len(train_data), heldout=len(heldout_data),
                       synthetic=len(synthetic_data)),
        sfreq=sfreq, ch_names=ch_names, dual_values_train=dual_values_train)
