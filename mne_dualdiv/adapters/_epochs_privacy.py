"""Differential privacy across the epochs adapter's generators: subjects, composition, label.

Epoch level: the conditions' generators are fitted on disjoint epochs, so adding or removing
one epoch changes one generator's input only (parallel composition): the release spends the
largest epsilon of the generators. Subject level: a subject's epochs may be in every
condition, so each generator is calibrated for the composition of all of them
(``dp_repeats``), and the release's epsilon is the RDP composition of every generator's
mechanisms (Opacus' accountant).
"""

import numpy as np

from .._checks import check_labels
from ..engine.dp import composed_epsilon

#: Appended to the synthetic epochs' ``info['description']`` by a private fit.
DESCRIPTION = ("Synthetic epochs (metadata 'synthetic') by mne_dualdiv with "
               "({epsilon:.3g}, {delta:.3g})-differential privacy per {unit}")


def epoch_subjects(epochs, groups):
    """The subject of every epoch (``groups``: None, a metadata column, or one per epoch)."""
    if groups is None:
        return None
    if isinstance(groups, str):
        metadata = epochs.metadata
        if metadata is None or groups not in metadata.columns:
            raise ValueError(f"groups={groups!r} names a metadata column, but the epochs have "
                             f"{'no metadata' if metadata is None else 'no such column'}; "
                             "pass one subject per epoch instead.")
        groups = metadata[groups].to_numpy()
    return check_labels("groups", groups, len(epochs))


def release_privacy(generators):
    """What a release of these generators spends, or None when they are not private.

    Parameters
    ----------
    generators : dict
        Fitted :class:`~mne_dualdiv.DualDivergenceGenerator` per condition.

    Returns
    -------
    privacy : None | dict
        ``epsilon``, ``delta``, ``unit`` and ``composition`` (``'parallel'`` for epochs,
        ``'rdp'`` for subjects).
    """
    records = [g.privacy_ for g in generators.values()]
    if any(record is None for record in records):
        return None
    delta, unit = records[0]["delta"], records[0]["unit"]
    if unit == "epoch":
        return dict(epsilon=max(r["epsilon"] for r in records), delta=delta, unit=unit,
                    composition="parallel")
    mechanisms = [m[:2] + [m[2] // r["repeats"]] for r in records for m in r["mechanisms"]]
    return dict(epsilon=composed_epsilon(mechanisms, delta), delta=delta, unit=unit,
                composition="rdp")


def describe(info, privacy):
    """A copy of ``info`` whose description says the release's (epsilon, delta) and unit."""
    info = info.copy()
    if privacy is None:
        return info
    sentence = DESCRIPTION.format(**privacy)
    previous = info["description"]
    info["description"] = sentence if not previous else f"{previous}; {sentence}"
    return info


def check_private_template(template, per_condition):
    """``per_condition`` of a private template: shared dual spaces are refused (a subset's
    walks read training samples), so 'auto' means one generator per condition."""
    if template.dp_epsilon is None:
        return per_condition
    if per_condition is False or (isinstance(per_condition, np.bool_) and not per_condition):
        raise ValueError("per_condition=False shares one dual space between conditions, whose "
                         "walks read each condition's training samples; a private generator "
                         "(dp_epsilon) needs per_condition=True or 'auto'.")
    return True
