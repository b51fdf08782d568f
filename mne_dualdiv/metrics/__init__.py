"""Scores comparing synthetic with real held-out data: fidelity, information, utility, privacy."""

from .privacy import closest_record_distances, membership_inference_auc, privacy_scores

__all__ = ["closest_record_distances", "membership_inference_auc", "privacy_scores"]
