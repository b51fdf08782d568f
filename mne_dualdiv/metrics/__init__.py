"""Scores comparing synthetic with real held-out data: fidelity, information, utility, privacy."""

from ._base import MetricScore
from .fidelity import (BandPowerCorrelationFeatures, covariance_distance, default_discriminator,
                       discriminative_score, frechet_distance, log_euclidean_distance,
                       mean_covariance, psd_distance, welch_psd)
from .information import (DEFAULT_DIVERGENCE_PARAMS, cluster_divergence, entropy_score,
                          gaussian_total_correlation, knn_entropy, knn_kl_divergence,
                          max_cluster_divergence, ood_rate, sample_divergence, total_correlation)
from .privacy import (MembershipAudit, SubjectLinkage, attack_scores,
                      closest_record_distances, default_subject_classifier, membership_audit,
                      membership_inference_auc, privacy_scores, subject_linkage)
from .report import METRICS, EvaluationReport, evaluate, privacy_report_scores
from .utility import augmentation_score, default_classifier, tstr_score

__all__ = [
    # the report
    "evaluate", "EvaluationReport", "MetricScore", "METRICS",
    # fidelity
    "psd_distance", "covariance_distance", "discriminative_score", "frechet_distance",
    "welch_psd", "mean_covariance", "log_euclidean_distance", "BandPowerCorrelationFeatures",
    "default_discriminator",
    # information
    "sample_divergence", "entropy_score", "cluster_divergence", "total_correlation", "ood_rate",
    "knn_entropy", "knn_kl_divergence", "max_cluster_divergence", "gaussian_total_correlation",
    "DEFAULT_DIVERGENCE_PARAMS",
    # utility
    "tstr_score", "augmentation_score", "default_classifier",
    # privacy
    "privacy_report_scores", "attack_scores",
    "closest_record_distances", "membership_inference_auc", "privacy_scores",
    "membership_audit", "MembershipAudit",
    "subject_linkage", "SubjectLinkage", "default_subject_classifier",
]
