"""Unit templates from a sorting: each unit's mean waveform on its peak channel's neighbourhood.

The sorting is a ground truth or a sorter's output; the templates are in relative geometry, as
:func:`~mne_dualdiv.adapters.recording.spikes.cut_snippets` cuts snippets, for the unit linkage
of :mod:`~mne_dualdiv.adapters.recording.privacy` and the fidelity report's sorted units
(``_sorting.py``).
"""

import math

import numpy as np

from ..._checks import check_int
from .spikes import job_kwargs


def check_sorting(sorting, recording, name, recording_name, allow_none=False):
    """``sorting`` (argument ``name``) if it can be a sorting of ``recording``: a SpikeInterface
    sorting at its sampling frequency, with its number of segments (or None if ``allow_none``)."""
    from spikeinterface.core import BaseSorting

    if sorting is None and allow_none:
        return None
    if not isinstance(sorting, BaseSorting):
        raise TypeError(f"{name} must be {'None or ' if allow_none else ''}a spikeinterface "
                        f"BaseSorting, got {type(sorting).__name__} instead.")
    if not math.isclose(sorting.sampling_frequency, recording.sampling_frequency):
        raise ValueError(f"{name} is sampled at {sorting.sampling_frequency} Hz; "
                         f"{recording_name} at {recording.sampling_frequency} Hz.")
    if sorting.get_num_segments() != recording.get_num_segments():
        raise ValueError(f"{name} has {sorting.get_num_segments()} segment(s); "
                         f"{recording_name} has {recording.get_num_segments()}.")
    return sorting


def templates_from_sorting(recording_band, sorting, neighbours, nbefore, nafter,
                           max_spikes=200, seed=0, job=None):
    """Mean waveform of each unit on its peak channel's neighbourhood (relative geometry).

    Parameters
    ----------
    recording_band : spikeinterface BaseRecording
        The recording in the spike band (e.g.
        :func:`~mne_dualdiv.adapters.recording.spikes.spike_band`); traces are read in stored
        units, chunk by chunk, by SpikeInterface's ``estimate_templates``.
    sorting : spikeinterface BaseSorting
        Spike trains of the units (ground truth or a sorter's output), at the recording's
        sampling frequency and with its number of segments.
    neighbours : array of int, shape (n_channels, k)
        For each channel, the channels of its neighbourhood, itself first, ``-1`` where the
        probe has none (:func:`~mne_dualdiv.adapters.recording.spikes.neighbourhoods`).
    nbefore, nafter : int
        Samples before and after each spike time.
    max_spikes : int
        Spikes averaged per unit at most (drawn at random among those far enough from the
        segment ends).
    seed : int
        Seed of that draw.
    job : None | dict
        SpikeInterface job arguments (one job, no progress bar unless given).

    Returns
    -------
    templates : ndarray of float32, shape (n_units_kept, k, nbefore + nafter)
        Each unit's mean waveform on its peak channel (the channel of its most negative
        sample) and that channel's neighbours, in the order of ``neighbours``; rows of
        ``-1`` neighbours are zero, as in
        :func:`~mne_dualdiv.adapters.recording.spikes.cut_snippets`.
    unit_ids : ndarray
        The units kept, in the order of ``templates``: a unit without any spike far enough
        from the segment ends is left out.
    """
    from spikeinterface.core import estimate_templates

    from ._metadata import check_recording

    check_recording(recording_band, "recording_band")
    check_sorting(sorting, recording_band, "sorting", "recording_band")
    neighbours = np.asarray(neighbours)
    n_channels = recording_band.get_num_channels()
    if (neighbours.ndim != 2 or neighbours.shape[0] != n_channels or neighbours.shape[1] == 0
            or neighbours.dtype.kind not in "iu"):
        raise ValueError(f"neighbours must be an int array of shape ({n_channels}, k), got "
                         f"dtype {neighbours.dtype} and shape {neighbours.shape}.")
    if neighbours.min() < -1 or neighbours.max() >= n_channels:
        raise ValueError(f"neighbours holds channel indices outside 0..{n_channels - 1} "
                         "(and -1 for no channel).")
    nbefore = check_int("nbefore", nbefore, minimum=0)
    nafter = check_int("nafter", nafter, minimum=1)
    max_spikes = check_int("max_spikes", max_spikes, minimum=1)
    seed = check_int("seed", seed, minimum=0)

    spikes = sorting.to_spike_vector()
    n_frames = np.array([recording_band.get_num_samples(segment_index=s)
                         for s in range(recording_band.get_num_segments())])
    inside = ((spikes["sample_index"] >= nbefore)
              & (spikes["sample_index"] + nafter <= n_frames[spikes["segment_index"]]))
    rng = np.random.default_rng(seed)
    chosen = []
    for unit_index in range(len(sorting.unit_ids)):
        candidates = np.flatnonzero(inside & (spikes["unit_index"] == unit_index))
        if len(candidates) > max_spikes:
            candidates = rng.choice(candidates, max_spikes, replace=False)
        chosen.append(candidates)
    chosen = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
    kept_units = np.unique(spikes["unit_index"][chosen])
    k, n_times = neighbours.shape[1], nbefore + nafter
    if not len(kept_units):
        return np.zeros((0, k, n_times), dtype=np.float32), sorting.unit_ids[:0]
    # The spike vector is ordered by segment, then time; ``chosen`` is sorted, so it still is.
    dense = estimate_templates(recording_band, spikes[chosen], sorting.unit_ids, nbefore, nafter,
                               return_in_uV=False, job_name="unit templates",
                               **job_kwargs(job))
    dense = dense[kept_units]
    peak_channels = dense.min(axis=1).argmin(axis=1)
    # A zero channel at index -1: neighbours off the probe read zeros (as cut_snippets does).
    dense = np.concatenate([dense, np.zeros(dense.shape[:2] + (1,), dense.dtype)], axis=2)
    templates = np.stack([dense[u][:, neighbours[c]].T for u, c in enumerate(peak_channels)])
    return templates.astype(np.float32), sorting.unit_ids[kept_units]

