"""Spike trains of synthetic units, and the firing statistics they are drawn from.

:func:`join_locked` tells a unit's spikes apart from the same spikes detected twice,
:func:`cluster_firing` measures every unit's firing, :func:`train_statistics` one cluster's rate, burst probability
and burst interval; :func:`spike_trains` draws a renewal process per unit (dead time = the
refractory period, then exponential intervals; with probability ``burst_probability`` the
next interval is a short burst interval instead), from a generator seeded per segment.
"""

import numpy as np
import scipy.sparse.csgraph

from .spikes import DETECT_RADIUS_UM, EXCLUDE_S

#: Intervals shorter than this count as within a burst (s).
BURST_INTERVAL_S = 0.010
#: Bounds of the fitted refractory period (s).
REFRACTORY_BOUNDS_S = (0.0008, 0.003)
#: Peaks this close in time (s) are one spike detected twice when their clusters are locked.
COINCIDENCE_S = 0.0004
#: Largest lag (s) at which a cluster's peaks may be another cluster's late dip: a spike lasts
#: about 2 ms after its trough. On SpikeInterface's ground truth (si32, seed 0) 83 of a
#: 126-peak cluster's peaks came 1.7-2.1 ms after the trough of the largest unit (a late dip at
#: 13 % of its spikes, beyond the detector's 1 ms exclusion).
LOCK_WINDOW_S = 0.0025
#: Least depth of a unit's own template, as a share of a cluster's median depth, where that
#: cluster's peaks follow the unit's at a lag for them to be its late dip (:func:`late_dip`).
LATE_DIP_SHARE = 0.5
#: Share of a cluster's spikes within :data:`COINCIDENCE_S` of another cluster's above which
#: the two are one unit detected on two places of the probe. On the harder benchmark
#: (``benchmarks/recording_clusters.py``, seeds 0-2) such pairs shared 0.36-0.99 of their
#: spikes, one ground-truth unit each (a unit whose spike peaks on contacts more than the
#: detector's 50 µm apart); distinct clusters 0.01-0.12 (chance at their rates).
LOCKED_SHARE = 0.3
#: A unit's amplitudes are taken as cut by the threshold when their median is within this
#: many noise levels of it (beyond, the background hides under 0.1 % of its spikes).
CUT_SDS = 3.0
#: Least share of a unit's spikes taken as detected (a rate is raised at most 2-fold); a unit
#: fitted below the amplitude where the detector finds this share is drawn at that amplitude.
MIN_DETECTED = 0.5


def nearest(others, frames):
    """Index in ``others`` (sorted, not empty) of the one nearest each of ``frames`` (ties: the
    earlier)."""
    after = np.searchsorted(others, frames)
    right, left = np.minimum(after, len(others) - 1), np.maximum(after - 1, 0)
    return np.where(np.abs(others[right] - frames) < np.abs(others[left] - frames), right, left)


def coincident(frames, others, tolerance):
    """Whether each of ``frames`` lies within ``tolerance`` of one of ``others`` (sorted)."""
    if not len(others):
        return np.zeros(len(frames), dtype=bool)
    return np.abs(others[nearest(others, frames)] - frames) <= tolerance


def locked_lag(frames, others, tolerance, window):
    """The lag (frames) at which most of ``frames`` follow one of ``others`` (sorted), and the
    share of ``frames`` within ``tolerance`` of it; ``(0, 0.0)`` when none is within
    ``window``."""
    if not len(frames) or not len(others):
        return 0, 0.0
    lags = frames - others[nearest(others, frames)]
    lags = lags[np.abs(lags) <= window]
    if not len(lags):
        return 0, 0.0
    width = 2 * tolerance + 1
    counts = np.bincount((lags + window) // width)
    in_mode = lags[(lags + window) // width == counts.argmax()]
    lag = int(np.round(np.median(in_mode)))
    return lag, float(np.mean(np.abs(frames - others[nearest(others, frames)] - lag)
                              <= tolerance))


def join_locked(frames, firing, clusters, amplitudes, sampling_frequency, dips=None):
    """Clusters that are one unit detected twice, joined; its repeated peaks dropped.

    A unit whose spike peaks beyond the detector's exclusion radius is detected at two (or
    more) places at once, and the pieces cluster apart; counted as units, each would give
    the synthetic recording a unit of its own (more peaks and more sorted units than the
    real recording; docs/recording.md, 5). Clusters whose spikes coincide (within
    :data:`COINCIDENCE_S`) for more than :data:`LOCKED_SHARE` of either are joined
    (transitively) into the one with the largest median amplitude; a joined cluster's peaks
    that coincide with a peak already counted are repeats of that spike. Given ``dips``, a
    cluster whose peaks follow another's at one lag up to :data:`LOCK_WINDOW_S`, for more than
    :data:`LOCKED_SHARE` of them, is joined too where ``dips`` says they are its late dip
    (:func:`late_dip`); its peaks at that lag are then repeats. On ``si32`` seed 0 such a
    cluster, 97 % of its 126 peaks 1.83 ms after the largest unit's trough, was drawn as a
    unit of its own; a lag alone, without the dip, joined 14 of 48 clusters of ``np384``
    seed 0, mostly distinct units (``docs/recording.md``, section 2, step 3).

    Parameters
    ----------
    frames : ndarray of int
        Each peak's frame (segments apart: ``segment * 10**12 + frame``).
    firing : ndarray of int
        Each peak's cluster.
    clusters : list of int
        The clusters' labels.
    amplitudes : ndarray
        Each peak's absolute amplitude.
    sampling_frequency : float
        In Hz.
    dips : None | callable
        ``dips(unit, follower, lag)``: whether the peaks of ``clusters[follower]``, ``lag``
        frames after those of ``clusters[unit]``, are its late dip; None: lag 0 only.

    Returns
    -------
    firing : ndarray of int
        Each peak's unit (a joined cluster's label becomes its unit's); -2 for a repeat.
    kept : list of int
        The units' labels (a subset of ``clusters``, in their order).
    repeat_of : ndarray of int
        For each repeat, the unit whose spike it repeats; -1 for the other peaks (what
        :mod:`.satellites` learns a unit's second place from).
    """
    tolerance = int(round(COINCIDENCE_S * sampling_frequency))
    window = int(round(LOCK_WINDOW_S * sampling_frequency))
    trains = [np.sort(frames[firing == u]) for u in clusters]
    locked = np.zeros((len(clusters), len(clusters)), dtype=bool)
    late = {}  # a late dip's index -> its lag after its unit
    for i, a in enumerate(trains):
        for j, b in enumerate(trains):
            if i == j or not len(a):
                continue
            locked[i, j] = coincident(a, b, tolerance).mean() > LOCKED_SHARE
            if not locked[i, j] and dips is not None:
                lag, share = locked_lag(a, b, tolerance, window)
                locked[i, j] = lag > tolerance and share > LOCKED_SHARE and dips(j, i, lag)
                if locked[i, j]:
                    late[i] = lag
    _, component = scipy.sparse.csgraph.connected_components(locked | locked.T, directed=False)
    firing, repeat_of = firing.copy(), np.full(len(firing), -1)
    loudness = [np.median(amplitudes[firing == u]) if len(t) else 0.0
                for u, t in zip(clusters, trains)]
    kept = []
    for c in np.unique(component):
        members = sorted(np.flatnonzero(component == c), key=lambda i: -loudness[i])
        main = clusters[members[0]]
        kept.append(main)
        counted = trains[members[0]]
        for i in members[1:]:
            peaks = np.flatnonzero(firing == clusters[i])
            repeat = coincident(frames[peaks] - late.get(i, 0), counted, tolerance)
            firing[peaks[repeat]] = -2
            repeat_of[peaks[repeat]] = main
            firing[peaks[~repeat]] = main
            counted = np.sort(np.concatenate([counted, frames[peaks[~repeat]]]))
    return firing, [u for u in clusters if u in kept], repeat_of


def late_dip(band, homes, depths, neighbours, locations, nbefore, sampling_frequency, unit,
             follower, lag):
    """Whether cluster ``follower``'s peaks, ``lag`` frames after cluster ``unit``'s, are its
    late dip.

    A detector sees a unit's late dip as a peak of its own only beyond its exclusion in time
    (``spikes.EXCLUDE_S`` after the trough), within its radius of the peak channel (further
    away, a second place at a lag is the satellites' case, :mod:`.satellites`). And the unit's
    own template (``band``, detection band) must dip there, ``lag`` frames (within
    :data:`COINCIDENCE_S`) after its trough on the follower's peak channel, by at least
    :data:`LATE_DIP_SHARE` of the follower's median depth (``depths``): distinct units locked
    by chance hold no such dip.
    """
    rows = np.flatnonzero(neighbours[homes[unit]] == homes[follower])
    tolerance = int(round(COINCIDENCE_S * sampling_frequency))
    exclude = int(round(EXCLUDE_S * sampling_frequency))
    start, stop = nbefore + lag - tolerance, nbefore + lag + tolerance + 1
    apart = np.linalg.norm(locations[homes[unit]] - locations[homes[follower]])
    if not len(rows) or stop > band.shape[2] or lag < exclude or apart > DETECT_RADIUS_UM:
        return False
    return bool(-band[unit, rows[0], start:stop].min() >= LATE_DIP_SHARE * depths[follower])


def refractory_period(frames, labels, clusters, sampling_frequency):
    """The refractory period: median over clusters of their 0.5th-percentile interval."""
    found = []
    for u in clusters:
        isis = np.diff(np.sort(frames[labels == u])) / sampling_frequency
        if len(isis) >= 20:
            found.append(np.percentile(isis, 0.5))
    return float(np.clip(np.median(found) if found else 0.0015, *REFRACTORY_BOUNDS_S))


def near_threshold(amplitudes, threshold, noise_level):
    """Whether the threshold cut ``amplitudes``: their median within :data:`CUT_SDS` noise
    levels of ``threshold`` (never with no noise)."""
    return bool(noise_level > 0
                and (float(np.median(amplitudes)) - threshold) / noise_level <= CUT_SDS)


def below_threshold(amplitudes, threshold, noise_level, response=None,
                    least_detected=MIN_DETECTED):
    """A unit's amplitude and the share of its spikes a detector saw, under its threshold.

    A detector only sees the spikes beyond its threshold: near it, the amplitudes it measures
    are the crossing ones, whose median is above the unit's and whose count falls short of the
    unit's spikes. Far above the threshold (median beyond :data:`CUT_SDS` noise levels) the
    median is kept. Else the unit's amplitude is fitted by maximum likelihood to the
    amplitudes, a normal of standard deviation ``noise_level`` (near the threshold the
    background's spread is the one that counts) truncated at ``threshold``; the share detected
    is the detector's at that amplitude, given a ``response`` (:class:`.detection.Response`:
    the detector run on the unit's template over the recording's background), else the
    normal's beyond the threshold. On a simulated unit of known amplitude
    (``benchmarks/recording_threshold_probe.py``) the amplitude comes out right and the
    normal's share too small (0.55 for 0.73 detected at the threshold), the detector's right.
    The share and the amplitude then agree: a synthetic unit drawn at that amplitude is
    detected as often as the real one was, even where the amplitude is off (below about 0.85
    thresholds the detected spikes are the background's deepest samples whatever the unit's
    amplitude, and tell it apart poorly). Fitting the spread too gave a cluster of
    SpikeInterface's ground truth (si32, seed 0; 18.7 µV, threshold 16.6 µV) an amplitude CV
    of 0.32 and a rate of 22 Hz for a unit of 15 Hz with none.

    Where the share is small it is also steep, and the rate (detected spikes / share) takes
    every error of the amplitude many times over: on ``si32`` seed 0 a cluster fitted at 0.81
    thresholds, share 0.23, gave 48.2 Hz for a unit of 15.9 Hz, and the unit drawn from it
    (its amplitude jittered, its template a new one) was detected 1.6 times as often as the
    real one. An amplitude whose share is below ``least_detected`` is therefore raised to
    where the detector finds that share (bisection; the share is the detector's there, so
    that the detected count is kept): that cluster is fitted at 0.97 thresholds and 24.1 Hz
    (``docs/recording.md``, section 5).

    Parameters
    ----------
    amplitudes : ndarray
        The detected spikes' absolute amplitudes.
    threshold, noise_level : float
        The detection threshold and the background's standard deviation, in their units.
    response : None | detection.Response
        The detector's response to the unit; None: the normal's share.
    least_detected : float
        The least share detected; 0 keeps the maximum-likelihood amplitude (a unit's second
        place, whose count is its unit's, not divided by a share).

    Returns
    -------
    amplitude : float
        The unit's amplitude.
    detected : float
        The share of its spikes beyond the threshold (at least ``least_detected``).
    cut : bool
        Whether the threshold cut the amplitudes (their spread is then the background's).
    """
    import scipy.optimize
    import scipy.stats

    centre = float(np.median(amplitudes))
    if not near_threshold(amplitudes, threshold, noise_level):
        return centre, 1.0, False

    def cost(mean):
        return -(scipy.stats.norm.logpdf(amplitudes, mean, noise_level).sum()
                 - len(amplitudes) * scipy.stats.norm.logsf(threshold, mean, noise_level))

    def share(amplitude):
        return (float(scipy.stats.norm.sf(threshold, amplitude, noise_level))
                if response is None else response.share(amplitude))

    mean = float(scipy.optimize.minimize_scalar(
        cost, bounds=(threshold - 5 * noise_level, centre), method="bounded").x)
    detected = share(mean)
    if detected < least_detected:  # raised to where that share is detected
        low, high = mean, max(centre, threshold + 3 * noise_level)
        for _ in range(20):
            middle = 0.5 * (low + high)
            low, high = (low, middle) if share(middle) >= least_detected else (middle, high)
        mean, detected = high, share(high)
    return mean, max(detected, least_detected), True


def cluster_firing(frames, labels, firing, units, amplitudes, noise_levels,
                   detect_threshold, sampling_frequency, duration, responses=None):
    """Each unit's firing and amplitude statistics, and the refractory period.

    Parameters
    ----------
    frames : ndarray of int
        Each peak's frame (segments apart: ``segment * 10**12 + frame``).
    labels : ndarray of int
        Each peak's cluster among its core members (-1: none); amplitudes are measured on
        these.
    firing : ndarray of int
        Each peak's unit, every peak counted (for the rates), clusters that are one unit
        joined (-2: a repeat; :func:`join_locked`).
    units : list of int
        The units' labels.
    amplitudes, noise_levels : ndarray
        Each peak's absolute amplitude, and the noise level (standard deviation) at its
        channel, in the same units.
    detect_threshold : float
        The detection threshold the peaks were found with, in noise levels.
    sampling_frequency, duration : float
        In Hz, and the seconds the peaks cover.
    responses : None | list of callable
        For each unit, a function of no argument giving its :class:`.detection.Response`
        (called only for units near the threshold); ``None``: the normal model of
        :func:`below_threshold`.

    Returns
    -------
    stats : ndarray, shape (n_units, 5)
        Rate (Hz), amplitude, amplitude CV, burst probability, burst interval (s), one row per
        unit; the rate counts the spikes the threshold cut and the amplitude is the unit's
        (:func:`below_threshold`).
    refractory : float
        In s.
    """
    refractory = refractory_period(frames, labels, units, sampling_frequency)
    stats = []
    for i, u in enumerate(units):
        members = labels == u
        amp, level = amplitudes[members], np.median(noise_levels[members])
        threshold = detect_threshold * level
        response = (responses[i]() if responses is not None
                    and near_threshold(amp, threshold, level) else None)
        mean, detected, cut = below_threshold(amp, threshold, level, response)
        # The spread of the amplitudes a detector measures is the unit's own and the
        # background's at the trough; the units draw only their own (the background is added).
        spread = (1.4826 * np.median(np.abs(amp - np.median(amp)))) ** 2 - level ** 2
        cv = 0.0 if cut else np.sqrt(max(spread, 0.0)) / mean
        rate, burst, interval = train_statistics(frames[firing == u], sampling_frequency,
                                                 duration, refractory)
        stats.append([rate / detected, mean, cv, burst, interval])
    return np.array(stats, dtype=np.float64).reshape(-1, 5), refractory


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
