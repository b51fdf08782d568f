"""The privacy section of the HTML report: the attack ensemble and the subject audit."""

import math
from html import escape


def _interval(low, high):
    return f"[{low:.3f}, {high:.3f}]"


def _membership_html(audit):
    """The ensemble's headline, one table row per attack, and the most exposed members."""
    level = f"{audit['confidence']:.0%}"
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{audit['auc'][name]:.3f}</td>"
        f"<td>{_interval(*audit['ci'][name])}</td><td>{audit['reference_auc'][name]:.3f}</td>"
        f"<td>{_interval(*audit['reference_ci'][name])}</td></tr>"
        for name in audit["attacks"])
    exposure = audit["exposure"]
    exposed = ", ".join(f"{index} ({exposure[index]:.2f})" for index in audit["exposed"])
    sizes = audit["sizes"]
    return (
        "<h4>Membership attack ensemble</h4>"
        f"<p>Maximum AUC over {len(audit['attacks'])} attacks: "
        f"<b>{audit['max_auc']:.3f}</b> ({escape(audit['strongest_attack'])}), {level} "
        f"interval {_interval(*audit['max_auc_ci'])}; the same ensemble on a release of real "
        f"non-members (the reference): {audit['reference_max_auc']:.3f} "
        f"{_interval(*audit['reference_max_auc_ci'])}. 0.5: members and non-members look "
        "alike; 1: every member is singled out.</p>"
        "<table><tr><th>attack</th><th>AUC</th><th>interval</th><th>real release</th>"
        f"<th>interval</th></tr>{rows}</table>"
        f"<p>Most exposed training epochs (row of <code>train</code>, and the share of "
        f"non-members the strongest attack scores below it): {exposed or 'none listed'}. "
        f"{audit['n_beyond_nonmembers']} of {sizes['n_members']} training epochs score above "
        f"every non-member (a release that leaks nothing: {audit['n_beyond_by_chance']:.1f} on "
        f"average; the real release: {audit['reference_n_beyond_nonmembers']}, "
        f"{audit['reference_n_beyond_by_chance']:.1f} by chance).</p>")


def _linkage_html(linkage):
    """The subject audit's rates beside chance and the real references."""
    if linkage["measure"] == "accuracy":
        what = "synthetic epochs assigned to their source subject"
    else:
        what = (f"synthetic epochs assigned to a training subject with a probability of at "
                f"least {linkage['threshold']:g}")
    unseen = linkage["unseen_subject_rate"]
    unseen = ("" if unseen is None or math.isnan(unseen) else
              f"; real epochs of subjects the classifier never saw: {unseen:.3f}")
    linked = ", ".join(f"{escape(str(subject))}: {count}"
                       for subject, count in linkage["linked_per_subject"].items())
    return (
        "<h4>Subject re-identification</h4>"
        f"<p>{linkage['n_subjects']} subjects. Share of {what}: "
        f"<b>{linkage['linkage_rate']:.3f}</b>; real held-out epochs of the same subjects "
        f"(cross-validated): {linkage['real_heldout_rate']:.3f}; chance "
        f"{linkage['chance']:.3f}{unseen}.</p>"
        f"<p>Synthetic epochs linked to each subject ({linkage['linked_subjects']} of "
        f"{linkage['n_subjects']} subjects): {linked}.</p>")


def privacy_html(scores):
    """HTML of the ensemble and the subject audit among ``scores``, or ``''`` without them.

    Parameters
    ----------
    scores : dict
        Metric name -> :class:`~mne_dualdiv.metrics.MetricScore`, as in
        :attr:`~mne_dualdiv.metrics.EvaluationReport.scores`.

    Returns
    -------
    html : str
    """
    parts = []
    if "membership_ensemble_auc" in scores:
        parts.append(_membership_html(scores["membership_ensemble_auc"].details))
    if "subject_linkage_rate" in scores:
        parts.append(_linkage_html(scores["subject_linkage_rate"].details))
    return "".join(parts)
