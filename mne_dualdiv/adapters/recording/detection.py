"""How SpikeInterface's detector sees a unit near its threshold, on the recording's own background.

A detector only keeps the spikes that cross its threshold. For a unit near it, the count of
detected spikes falls short of the unit's, and the amplitudes it measures are the crossing ones.
:func:`.trains.below_threshold` infers the unit's amplitude and the share detected from them;
this module gives it the detector's answer instead of a model's: the unit's band-passed
template, scaled to the fitted amplitude, is added to windows of the real recording's
detection band away from its detected spikes (:class:`Background`), and the locally exclusive
detector's rule is applied to each sum (:class:`Response`): a spike is detected when some
sample within half the detector's exclusion of the trough, on a channel within its radius of
the unit's peak channel, crosses that channel's threshold.

Why not a normal: the detector keeps the deepest sample of a spike over time and channels,
which crosses more often than the normal at one sample assumes. On one simulated unit of known
amplitude (``benchmarks/recording_threshold_probe.py``, white noise) a detector found 0.29,
0.74 and 0.96 of the spikes at 0.8, 1.0 and 1.2 times the threshold; the normal inferred 0.25
(its floor), 0.51 and 0.89, and rates divided by it came out up to 1.45 times too high.
"""

import numpy as np

from .spikes import DETECT_RADIUS_UM, EXCLUDE_S

#: Background windows per unit.
N_WINDOWS = 1000
#: Chunks (s) of the detection band the windows are cut from, and how many: read once.
CHUNK_S, N_CHUNKS = 1.0, 4


class Background:
    """Windows of a recording's detection band where no spike was detected nearby.

    Parameters
    ----------
    recording_band : spikeinterface BaseRecording
        The band the peaks were detected in.
    peaks : structured ndarray
        The detected peaks.
    neighbours : ndarray of int, shape (n_channels, k)
        The channel of each row of a window (-1: off the probe; zero there).
    locations : ndarray, shape (n_channels, 2)
        Channel positions (µm).
    nbefore, nafter : int
        Frames of a window before and from the unit's trough.
    rng : numpy.random.Generator
        Picks the chunks and the windows.
    """

    def __init__(self, recording_band, peaks, neighbours, locations, nbefore, nafter, rng):
        fs = recording_band.sampling_frequency
        chunk = int(round(CHUNK_S * fs))
        slots = [(s, k * chunk) for s in range(recording_band.get_num_segments())
                 for k in range(recording_band.get_num_samples(segment_index=s) // chunk)]
        chosen = sorted(rng.choice(len(slots), min(N_CHUNKS, len(slots)), replace=False))
        self._chunks, self._busy = [], []
        n_channels, span = len(locations), nbefore + nafter
        for i in chosen:
            segment, start = slots[i]
            traces = recording_band.get_traces(start_frame=start, end_frame=start + chunk,
                                               segment_index=segment, return_in_uV=False)
            self._chunks.append(np.concatenate(
                [traces.astype(np.float32), np.zeros((chunk, 1), np.float32)], axis=1))
            # busy[c, f]: a peak on channel c within a window of frame f.
            busy = np.zeros((n_channels, chunk), bool)
            here = peaks[(peaks["segment_index"] == segment)
                         & (peaks["sample_index"] >= start - span)
                         & (peaks["sample_index"] < start + chunk + span)]
            for frame, channel in zip(here["sample_index"] - start, here["channel_index"]):
                busy[channel, max(frame - span, 0):max(frame + span, 0)] = True
            self._busy.append(busy)
        self._neighbours, self._locations = np.asarray(neighbours), np.asarray(locations)
        self._near = np.linalg.norm(self._locations[:, None] - self._locations[None],
                                    axis=2) <= 2 * DETECT_RADIUS_UM
        self._nbefore, self._nafter, self._rng = nbefore, nafter, rng
        self._fs = float(fs)

    def windows(self, channel, n=N_WINDOWS):
        """``n`` windows (n, k, nbefore + nafter) on ``channel``'s neighbourhood.

        Their frames are at least a window away from every detected peak on a channel within
        twice the detector's radius. Fewer than ``n`` (none) where the chunks hold no such
        frame.
        """
        rows = self._neighbours[channel]  # -1 off the probe: the chunks' zero column
        lo, hi = self._nbefore, self._nafter
        pool = []
        for c, (traces, busy) in enumerate(zip(self._chunks, self._busy)):
            free = ~busy[self._near[channel]].any(axis=0)
            free[:lo] = free[len(free) - hi:] = False
            pool.append(np.column_stack([np.full(free.sum(), c), np.flatnonzero(free)]))
        pool = np.concatenate(pool) if pool else np.zeros((0, 2), np.int64)
        if not len(pool):
            return np.zeros((0, len(rows), lo + hi), np.float32)
        picks = pool[self._rng.choice(len(pool), n, replace=len(pool) < n)]
        return np.stack([self._chunks[c][f - lo:f + hi, rows].T for c, f in picks])

    def response(self, template, channel, thresholds):
        """The detector's :class:`Response` to a unit of ``template`` peaking on ``channel``.

        ``template``: (k, nbefore + nafter) in the detection band on ``channel``'s
        neighbourhood; ``thresholds``: each channel's detection threshold (its units).
        """
        rows = self._neighbours[channel]
        on_probe = rows >= 0
        distances = np.full(len(rows), np.inf)
        distances[on_probe] = np.linalg.norm(
            self._locations[rows[on_probe]] - self._locations[channel], axis=1)
        row_thresholds = np.where(on_probe, np.asarray(thresholds)[np.maximum(rows, 0)], np.inf)
        return Response(template, self.windows(channel), row_thresholds, distances,
                        self._nbefore, self._fs)


class Response:
    """The share of one unit's spikes the detector finds, as a function of its amplitude.

    Parameters
    ----------
    template : ndarray, shape (k, n_times)
        The unit's template in the detection band, row 0 its peak channel, trough at
        ``nbefore`` (its scale does not matter).
    windows : ndarray, shape (n, k, n_times)
        Background on the same rows (:meth:`Background.windows`).
    thresholds : ndarray, shape (k,)
        Each row's detection threshold (``inf`` off the probe), in the template's units.
    row_distances : ndarray, shape (k,)
        Each row's distance (µm) from the peak channel.
    nbefore : int
        The trough's frame in the template.
    sampling_frequency : float
        In Hz.
    """

    def __init__(self, template, windows, thresholds, row_distances, nbefore,
                 sampling_frequency):
        half = max(1, int(round(EXCLUDE_S / 2 * sampling_frequency)))
        span = slice(max(nbefore - half, 0), nbefore + half + 1)
        near = np.asarray(row_distances) <= DETECT_RADIUS_UM
        template = np.asarray(template, np.float64)[near, span]
        self._template = template / max(-template[0].min(), 1e-12)  # trough -1, peak channel
        self._windows = np.asarray(windows, np.float64)[:, near, span]
        self._thresholds = np.asarray(thresholds, np.float64)[near][:, None]

    def share(self, amplitude):
        """The share of spikes of ``amplitude`` (trough on the peak channel) detected."""
        if not len(self._windows):
            return 0.0
        depth = -(amplitude * self._template + self._windows) / self._thresholds
        return float((depth.max(axis=(1, 2)) >= 1).mean())
