"""Spike trains of synthetic units, and the firing statistics they are drawn from.

:func:`train_statistics` measures a real cluster's rate, burst probability and burst
interval; :func:`spike_trains` draws a renewal process per unit (dead time = the refractory
period, then exponential intervals; with probability ``burst_probability`` the next interval
is a short burst interval instead), from a generator seeded per segment.
"""

import numpy as np

#: Intervals shorter than this count as within a burst (s).
BURST_INTERVAL_S = 0.010


def train_statistics(frames, sampling_frequency, duration, refractory):
    """Rate, burst probability and burst interval of one spike train."""
    frames = np.sort(frames)
    rate = len(frames) / duration
    isis = np.diff(frames) / sampling_frequency
    if len(isis) < 10:
        return rate, 0.0, 0.004
    short = isis < BURST_INTERVAL_S
    expected = 1 - np.exp(-rate * max(BURST_INTERVAL_S - refractory, 0))  # Poisson share
    burst = float(np.clip(short.mean() - expected, 0.0, 0.8))
    interval = float(np.median(isis[short])) if short.any() else 0.004
    return rate, burst, float(np.clip(interval, refractory, BURST_INTERVAL_S))


def spike_trains(stats, refractory, n_frames, sampling_frequency, nbefore, nafter, rng):
    """Spike frames and unit labels of every unit, sorted by frame.

    A renewal process per unit: each interval is the refractory period plus an exponential
    interval, or, with the unit's burst probability, plus a short exponential burst interval;
    the long intervals' mean makes the unit fire at its rate.
    """
    duration = n_frames / sampling_frequency
    frames, labels = [], []
    for unit, (rate, _, _, burst, burst_interval) in enumerate(stats):
        burst_extra = max(burst_interval - refractory, 1e-4)
        mean_gap = max((1 / max(rate, 1e-6) - refractory - burst * burst_extra)
                       / max(1 - burst, 1e-6), 1e-4)
        n = int(duration * rate * 1.5 + 20)
        times, t = [], 0.0
        while t < duration:
            is_burst = rng.random(n) < burst
            gaps = refractory + np.where(is_burst, rng.exponential(burst_extra, n),
                                         rng.exponential(mean_gap, n))
            part = t + np.cumsum(gaps)
            times.append(part)
            t = part[-1]
        times = np.concatenate(times)
        unit_frames = np.round(times * sampling_frequency).astype(np.int64)
        unit_frames = unit_frames[(unit_frames >= nbefore) & (unit_frames < n_frames - nafter)]
        frames.append(unit_frames)
        labels.append(np.full(len(unit_frames), unit, dtype=np.int64))
    if not frames:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    frames, labels = np.concatenate(frames), np.concatenate(labels)
    order = np.argsort(frames, kind="stable")
    return frames[order], labels[order]
