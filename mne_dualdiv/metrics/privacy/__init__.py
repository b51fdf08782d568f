"""Privacy scores: membership inference (a distance attack, an ensemble of attacks with
per-record exposure) and the re-identification of subjects.

- :mod:`.distances`: the same-pool protocol's distance scores (DCR, NNDR, the share closer to
  members, one distance attack), as in the report since issue 18;
- :mod:`.attacks` and :mod:`.ensemble`: the attack ensemble, :func:`membership_audit`;
- :mod:`.subjects`: :func:`subject_linkage`, whether synthetic epochs can be linked to the
  subjects they were learned from.

See ``docs/privacy.md``.
"""

from .attacks import ATTACKS
from .distances import (MIN_NONMEMBERS, attack_scores, check_disjoint, closest_record_distances,
                        membership_inference_auc, privacy_scores)
from .ensemble import (MIN_ENSEMBLE_NONMEMBERS, MembershipAudit, check_privacy_sets,
                       membership_audit)
from .subjects import SubjectLinkage, default_subject_classifier, subject_linkage

__all__ = ["ATTACKS", "MIN_NONMEMBERS", "MIN_ENSEMBLE_NONMEMBERS", "attack_scores",
           "check_disjoint", "check_privacy_sets", "closest_record_distances",
           "membership_inference_auc", "privacy_scores", "MembershipAudit", "membership_audit",
           "SubjectLinkage", "default_subject_classifier", "subject_linkage"]
