"""The report that :func:`~mne_dualdiv.metrics.evaluate` returns: table, figures, HTML page."""

import math
from html import escape
from pathlib import Path

import numpy as np

from .._checks import as_real_array, check_bool, check_int
from .._docs import fill_doc
from .._io import atomic_path
from ._base import MetricScore, check_sfreq
from ._report_privacy import privacy_html


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
    differential_privacy : dict | None
        A private generator's ``privacy_`` (``epsilon``, ``delta``, ``unit``), shown with
        the scores; None when the generator is not private or not given.

    Attributes
    ----------
    scores : dict
        Metric name -> :class:`MetricScore`.
    """

    def __init__(self, scores, skipped=None, n_samples=None, sfreq=None, ch_names=None,
                 dual_values_train=None, differential_privacy=None):
        self.scores = _check_scores(scores)
        self.skipped = _check_dict("skipped", skipped)
        self.n_samples = {key: check_int(f"n_samples[{key!r}]", count, minimum=0)
                          for key, count in _check_dict("n_samples", n_samples).items()}
        self.sfreq = check_sfreq(sfreq)
        self.ch_names = _check_ch_names(ch_names)
        self.dual_values_train = _check_dual_values(dual_values_train)
        self.differential_privacy = (None if differential_privacy is None
                                     else _check_dict("differential_privacy",
                                                      differential_privacy))

    def __getitem__(self, name):
        if not isinstance(name, str):
            raise TypeError(f"A metric is looked up by its name (a str), got "
                            f"{type(name).__name__}.")
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
        if self.differential_privacy is not None:
            lines.append(f"  generator: {self._privacy_line()}")
        return "\n".join(lines)

    def _privacy_line(self):
        dp = self.differential_privacy
        return (f"({dp['epsilon']:.3g}, {dp['delta']:.3g})-differentially private per "
                f"{dp['unit']}")

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

    @fill_doc
    def plot_psd(self, average=True, show=False):
        """Overlay the average power spectra (dB) of the training, held-out and synthetic sets.

        Parameters
        ----------
        average : bool
            One panel with the spectra averaged over channels (in dB) when True; one panel per
            channel otherwise.
        %(show)s

        Returns
        -------
        fig : matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        average, show = check_bool("average", average), check_bool("show", show)
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

    @fill_doc
    def plot_dual_histogram(self, bins=30, show=False):
        """Histogram of the dual values of real and synthetic samples, with the end points.

        Needs the ``'ood_rate'`` metric, i.e. ``evaluate(..., generator=...)``.

        Parameters
        ----------
        bins : int
            Number of histogram bins (shared by the sets).
        %(show)s

        Returns
        -------
        fig : matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        bins, show = check_int("bins", bins, minimum=1), check_bool("show", show)
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

    @fill_doc
    def plot_metrics(self, show=False):
        """Bar chart of every metric: synthetic next to the real reference.

        One panel per metric (their scales differ); the title says which direction is better.

        Parameters
        ----------
        %(show)s

        Returns
        -------
        fig : matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        show = check_bool("show", show)
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

        The page holds the metric table (with the skipped metrics and why), the privacy audit
        (every attack of the membership ensemble, the most exposed training epochs and the
        subject linkage, where computed), the bar chart of :meth:`plot_metrics`, and, where
        their metrics were computed, the spectra of
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
        dp = ("" if self.differential_privacy is None
              else f"<p>Generator: {escape(self._privacy_line())}.</p>")
        html.add_html(f"<p>Samples: {sizes}.</p>{dp}{table}{skipped}", title="Scores")
        privacy = privacy_html(self.scores)
        if privacy:
            html.add_html(privacy, title="Privacy audit")
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
    """``fname`` if it is a path ending in ``.html`` or ``.htm`` (as :meth:`~EvaluationReport.save`
    writes)."""
    if not isinstance(fname, (str, Path)):
        raise TypeError(f"{name} must be a str or a path-like, got {type(fname).__name__} "
                        "instead.")
    if Path(fname).suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"{name} must end in .html or .htm, got {str(fname)!r}.")
    return fname


def _check_scores(scores):
    """``{name: score}`` of a list of MetricScore, each name once."""
    if isinstance(scores, (MetricScore, str)) or not hasattr(scores, "__iter__"):
        raise TypeError(f"scores must be a list of MetricScore, got {type(scores).__name__} "
                        "instead.")
    checked = {}
    for index, score in enumerate(scores):
        if not isinstance(score, MetricScore):
            raise TypeError(f"scores[{index}] must be a MetricScore, got "
                            f"{type(score).__name__} instead.")
        if score.name in checked:
            raise ValueError(f"scores holds the metric {score.name!r} twice (scores[{index}]); "
                             "each metric is reported once.")
        checked[score.name] = score
    return checked


def _check_dict(name, value):
    """A copy of ``value``, a dict (``None``: empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be None or a dict, got {type(value).__name__} instead.")
    return dict(value)


def _check_ch_names(ch_names):
    """``ch_names`` as a list of str, or None."""
    if ch_names is None:
        return None
    if isinstance(ch_names, str) or not isinstance(ch_names, (list, tuple)) or not all(
            isinstance(name, str) for name in ch_names):
        raise TypeError(f"ch_names must be None or a list of str, got {ch_names!r:.60}.")
    return list(ch_names)


def _check_dual_values(values):
    """``dual_values_train`` as a 1-D array of finite dual values (a copy), or None."""
    if values is None:
        return None
    values = as_real_array(values, "dual_values_train")
    if values.ndim != 1:
        raise ValueError(f"dual_values_train must be a 1-D array (one dual value per training "
                         f"sample), got shape {values.shape}.")
    if not np.isfinite(values).all():
        raise ValueError("dual_values_train contains NaN or Inf values.")
    return values
