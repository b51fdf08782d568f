"""The simulated recordings' spike trains: refractory, lognormal rates, bursts, jittered amplitudes.

Each unit fires as a renewal process of single spikes and bursts of 2-5 spikes 3-8 ms apart
with an absolute refractory period (:func:`spike_trains`); :func:`spike_amplitude_factors`
gives each spike its amplitude factor (10 % jitter, smaller later spikes in a burst).
"""

import math

import numpy as np

#: Firing rates: lognormal around ``RATE_MEDIAN_HZ`` with ``RATE_LOG_SD``, clipped to the range.
#: Firing rates: lognormal around ``RATE_MEDIAN_HZ`` with ``RATE_LOG_SD``, clipped to the range.
RATE_MEDIAN_HZ, RATE_LOG_SD, RATE_RANGE_HZ = 5.0, 0.8, (1.0, 30.0)
#: Absolute refractory period of each unit (ms).
REFRACTORY_RANGE_MS = (1.5, 2.5)
#: Bursting: the share of bursting units, the share of a bursting unit's firing events that are
#: bursts, spikes per burst and the intervals inside a burst (ms).
BURSTING_FRACTION = 0.3
BURST_EVENT_SHARE = (0.3, 0.7)
BURST_SIZE = (2, 5)
BURST_INTERVAL_MS = (3.0, 8.0)
#: Each spike after the first of a burst is this much smaller than the one before it.
BURST_ATTENUATION = 0.9
#: Per-spike amplitude jitter (SD of a factor around 1) and its clip.
AMPLITUDE_JITTER, AMPLITUDE_CLIP = 0.1, (0.7, 1.3)


def spike_trains(rng, num_units, num_frames, sampling_frequency, margins):
    """Every unit's spikes, in the spike vector's order (by frame, then unit).

    Returns the frames, unit indices and burst ranks of the spikes whose waveform fits between
    ``margins`` (frames before, after) and the ends, then each unit's target rate (Hz),
    refractory period (ms) and whether it bursts.
    """
    rates = np.clip(np.exp(rng.normal(np.log(RATE_MEDIAN_HZ), RATE_LOG_SD, num_units)),
                    *RATE_RANGE_HZ)
    refractory_ms = rng.uniform(*REFRACTORY_RANGE_MS, size=num_units)
    bursting = np.zeros(num_units, dtype=bool)
    bursting[rng.choice(num_units, int(round(BURSTING_FRACTION * num_units)),
                        replace=False)] = True
    samples, labels, burst_rank = [], [], []
    for unit in range(num_units):
        frames, rank = _spike_train(rng, rates[unit], refractory_ms[unit], bursting[unit],
                                    num_frames, sampling_frequency)
        keep = (frames >= margins[0]) & (frames < num_frames - margins[1])
        samples.append(frames[keep])
        burst_rank.append(rank[keep])
        labels.append(np.full(int(keep.sum()), unit, dtype=np.int64))
    samples, labels, burst_rank = (np.concatenate(samples), np.concatenate(labels),
                                   np.concatenate(burst_rank))
    order = np.lexsort((labels, samples))
    return (samples[order], labels[order], burst_rank[order], rates, refractory_ms, bursting)


def _spike_train(rng, rate_hz, refractory_ms, bursting, num_frames, sampling_frequency):
    """Spike frames of one unit (sorted, int64) and each spike's rank in its burst (0 alone).

    Firing events (single spikes, or bursts) follow a renewal process: each event starts a dead
    time of ``refractory_ms`` plus an exponential wait after the previous event's last spike,
    so that no interval is shorter than the refractory period (the bursts' intervals are
    longer than it). The waits' mean gives ``rate_hz`` spikes per second on average.
    """
    dead = int(math.ceil(refractory_ms * sampling_frequency / 1000.0))
    interval_bounds = [int(round(ms * sampling_frequency / 1000.0)) for ms in BURST_INTERVAL_MS]
    burst_share = rng.uniform(*BURST_EVENT_SHARE) if bursting else 0.0
    mean_size = 1.0 + burst_share * (np.mean(BURST_SIZE) - 1.0)
    mean_burst_frames = burst_share * (np.mean(BURST_SIZE) - 1.0) * np.mean(interval_bounds)
    mean_wait = max(sampling_frequency * mean_size / rate_hz - dead - mean_burst_frames, 1.0)
    batch = int(num_frames / (dead + mean_burst_frames + mean_wait)) + 16
    frames, ranks, next_start = [], [], 0
    while next_start < num_frames:
        sizes = np.where(rng.random(batch) < burst_share,
                         rng.integers(BURST_SIZE[0], BURST_SIZE[1] + 1, batch), 1)
        event = np.repeat(np.arange(batch), sizes)
        first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        rank = np.arange(len(event)) - first[event]
        intervals = rng.integers(interval_bounds[0], interval_bounds[1] + 1, len(event))
        intervals[rank == 0] = 0
        offsets = np.cumsum(intervals)
        offsets -= offsets[first][event]
        last_offset = offsets[np.cumsum(sizes) - 1]
        waits = dead + np.floor(rng.exponential(mean_wait, batch)).astype(np.int64)
        onsets = next_start + np.cumsum(waits) + np.concatenate([[0], np.cumsum(last_offset)[:-1]])
        frames.append(onsets[event] + offsets)
        ranks.append(rank)
        next_start = int(onsets[-1] + last_offset[-1])
    frames, ranks = np.concatenate(frames), np.concatenate(ranks)
    keep = frames < num_frames
    return frames[keep].astype(np.int64), ranks[keep]


def spike_amplitude_factors(rng, burst_rank):
    """Each spike's amplitude factor (float32): a jitter around 1, smaller later in a burst.

    The jitter's SD is ``AMPLITUDE_JITTER``, clipped to ``AMPLITUDE_CLIP``; a spike of rank
    ``r`` in its burst is also ``BURST_ATTENUATION ** r`` as large.
    """
    return (np.clip(rng.normal(1.0, AMPLITUDE_JITTER, len(burst_rank)), *AMPLITUDE_CLIP)
            * BURST_ATTENUATION ** burst_rank).astype(np.float32)
