"""A unit's second place: the far peak some units give with every spike.

A unit whose spike crosses the threshold at two places of the probe, further apart than the
detector's exclusion radius (a far dendrite or axon), gives a real recording two peaks per
spike. :func:`.trains.join_locked` joins the two places into one unit (one rate) and takes the
far place's peaks as repeats. Dropping them lost those peaks: on the harder benchmark
(``hard32``, seed 2) one ground-truth unit gave 1.76 peaks per spike (685 at 50-100 µm from its
peak channel, median 32 µV for a 26.5 µV threshold), and the synthetic recording, whose units
had one place each, fell to 0.88 of the real peak rate with an amplitude p10 1.64 times the
real one (``docs/recording.md``, 5).

:func:`measure` keeps what the repeats tell about the far place: where it lies from the unit's
peak channel, when it peaks after the unit's trough, and its amplitude (below the threshold
where the threshold cut it, as :func:`.trains.below_threshold` fits a unit's). A synthetic unit
drawn from such a cluster gets a second footprint there (:func:`draw`): a new template from
the same model, through the same guard and single-peak check as a unit, where a detector
finds it beside the unit's own footprint, added with every spike of the unit at that lag. Its shape, like a unit's, is a new sample, not the real one.
"""

import numpy as np

from .spikes import DETECT_RADIUS_UM, EXCLUDE_S, band_filter, count_peaks
from .trains import LOCKED_SHARE, below_threshold, nearest

#: Columns of ``UnitModel.satellites``: amplitude (stored units; 0: the cluster has no second
#: place), offset from the unit's peak channel (x, y, µm), lag after its trough (s).
SATELLITE_COLUMNS = ("amplitude", "offset_x_um", "offset_y_um", "lag_s")
#: Repeats within this distance (µm) of the most frequent repeat channel are that place's.
PLACE_RADIUS_UM = 40.0
#: A second place whose offset lands further than this (µm) from every channel is off the
#: probe where the synthetic unit is placed.
SNAP_UM = 30.0
#: Candidate batches (of 8) drawn for one second footprint before giving up on it: about a
#: sixth of the model's candidates passed a unit's checks at a second place's amplitude
#: (``hard32``, seed 2: 69 of 400).
BATCHES = 20
#: How much deeper a second place must be than the unit's own footprint near it (see
#: ``_hidden``).
SEEN_MARGIN = 1.5
#: Least share of a second place's amplitude its own template gives (the rest is the unit's
#: footprint there); below it, the place is taken as the unit's own spread.
MIN_SHARE = 0.25


def measure(frames, channels, amplitudes, noise_levels, firing, repeat_of, units, locations,
            detect_threshold, sampling_frequency):
    """The second place of each unit, from the repeats of its spikes.

    Parameters
    ----------
    frames, channels : ndarray of int
        Each peak's frame (segments apart) and channel index.
    amplitudes, noise_levels : ndarray
        Each peak's absolute amplitude and its channel's noise level (same units).
    firing, repeat_of : ndarray of int
        As :func:`.trains.join_locked` gives them.
    units : list of int
        The units' labels.
    locations : ndarray, shape (n_channels, 2)
        Channel positions (µm).
    detect_threshold : float
        In noise levels.
    sampling_frequency : float
        In Hz.

    Returns
    -------
    satellites : ndarray, shape (n_units, 4)
        :data:`SATELLITE_COLUMNS`; a row of zeros where a unit's repeats are fewer than
        ``trains.LOCKED_SHARE`` of its spikes at one place.
    """
    out = np.zeros((len(units), len(SATELLITE_COLUMNS)))
    for row, unit in enumerate(units):
        own = np.sort(frames[firing == unit])
        repeats = np.flatnonzero(repeat_of == unit)
        if not len(own) or len(repeats) < LOCKED_SHARE * len(own):
            continue
        place = np.bincount(channels[repeats]).argmax()
        repeats = repeats[np.linalg.norm(locations[channels[repeats]] - locations[place],
                                         axis=1) <= PLACE_RADIUS_UM]
        if len(repeats) < LOCKED_SHARE * len(own):
            continue
        home = np.bincount(channels[firing == unit]).argmax()
        spikes = own[nearest(own, frames[repeats])]
        level = float(np.median(noise_levels[repeats]))
        amplitude, _, _ = below_threshold(amplitudes[repeats], detect_threshold * level, level,
                                          least_detected=0.0)
        out[row] = [max(amplitude, 0.0), *(locations[place] - locations[home]),
                    np.median(frames[repeats] - spikes) / sampling_frequency]
    return out


def draw(model, template, channel, source, stats, rng, threshold, locations, neighbours,
         distances):
    """A second footprint for a unit drawn from cluster ``source``, or None if none fits.

    The second place lies at the cluster's offset from the unit's peak channel (or at its
    mirror image, where the offset leaves the probe: a unit's orientation names nothing). Its
    template is a candidate of the model that passes a unit's guard and single-peak check at
    the place's amplitude, and the two footprints together, band-passed, give a locally
    exclusive detector exactly two peaks: one at the unit's peak channel and one at the second
    place. A unit's own footprint that is deeper than the second place within the detector's
    radius and 1 ms of it hides it, as it would in a recording (the first units drawn this way
    on ``hard32`` spread 30 µV to 80 µm).

    Parameters
    ----------
    model : UnitModel
        The fitted unit model (its :attr:`satellites`, candidates and checks).
    template : ndarray, shape (k, n_times)
        The unit's template, scaled, on the rows of ``neighbours[channel]``.
    channel, source : int
        The unit's peak channel, and the real cluster its statistics came from.
    stats : ndarray, shape (5,)
        The unit's statistics (its amplitude jitter carries over to the second place).
    rng : numpy.random.Generator
    threshold : float
        Detection threshold (stored units).
    locations : ndarray, shape (n_channels, 2)
    neighbours : ndarray of int, shape (n_channels, k)
    distances : ndarray, shape (n_channels, k, k)
        Row distances of a template placed at each channel.

    Returns
    -------
    None | tuple
        ``(template, place, lag, similarity)``: the second template (k, n_times, on the rows
        of ``neighbours[place]``), its peak channel, its lag after the unit's trough
        (frames) and its best similarity to a real unit.
    """
    amplitude, dx, dy, lag = model.satellites[source]
    amplitude *= stats[1] / model.cluster_stats[source, 1]
    lag = int(round(lag * model.sampling_frequency))
    level = min(threshold, 0.9 * amplitude)
    unit_band = band_filter(template[None], model.sampling_frequency)[0]
    rows = neighbours[channel]
    for sign in (1, -1):
        gaps = np.linalg.norm(locations - (locations[channel] + sign * np.array([dx, dy])),
                              axis=1)
        place = int(gaps.argmin())
        if gaps[place] > SNAP_UM or _hidden(unit_band, rows, place, lag, level, amplitude,
                                            locations, model):
            continue
        # The unit's own footprint at the place adds to the second one's trough there.
        own = -unit_band[rows == place, min(model.nbefore + lag, unit_band.shape[1] - 1)]
        needed = amplitude - max(float(own.max(initial=0.0)), 0.0)
        if needed < MIN_SHARE * amplitude:
            continue
        for _ in range(BATCHES):
            screened = model.screened_candidates(8, rng)
            if screened is None:
                return None
            candidates, filtered, to_real, home = screened
            for i in np.flatnonzero(home):
                passed = model.accept(filtered[i], to_real[i], needed, threshold, stats[2],
                                      distances[place])
                if passed is None:
                    continue
                scale, on, _, similarity = passed
                if _n_peaks([unit_band, scale * filtered[i] * on[:, None]],
                            [rows, neighbours[place]], [0, lag], level,
                            locations, model) == 2:
                    return scale * candidates[i] * on[:, None], place, lag, similarity
        return None
    return None


def _hidden(unit_band, rows, place, lag, level, amplitude, locations, model):
    """Whether the unit's own footprint near ``place`` and the lag may hide the place.

    SpikeInterface's detector compares peaks in units of each channel's threshold, and
    channels' noise levels differ (by 1.4 on the tests' 32-channel recording, 4.8-6.8 µV):
    the unit's own trough within the detector's radius and 1 ms of the place must stay below
    the place's amplitude divided by :data:`SEEN_MARGIN`, or the place is hidden where its
    channel is noisier (as a place at twice the threshold was, at 5 % of its spikes).
    """
    exclude = int(round(EXCLUDE_S * model.sampling_frequency))
    trough = model.nbefore + lag
    window = unit_band[:, max(trough - exclude, 0):trough + exclude + 1]
    near = (rows >= 0) & (np.linalg.norm(locations[np.maximum(rows, 0)] - locations[place],
                                         axis=1) <= DETECT_RADIUS_UM)
    return bool(near.any() and -window[near].min() * SEEN_MARGIN >= max(amplitude, level))


def _n_peaks(images, rows, lags, level, locations, model):
    """Peaks a locally exclusive detector finds in footprints summed on the probe."""
    channels = np.unique(np.concatenate([r[r >= 0] for r in rows]))
    first = min(lags)
    n_times = images[0].shape[1] + max(lags) - first
    dense = np.zeros((len(channels), n_times))
    for image, row, lag in zip(images, rows, lags):
        on = row >= 0
        start = lag - first
        dense[np.searchsorted(channels, row[on]), start:start + image.shape[1]] += image[on]
    spread = np.linalg.norm(locations[channels][:, None] - locations[channels][None], axis=2)
    return count_peaks(dense, level, spread, int(round(EXCLUDE_S * model.sampling_frequency)))


def collect(seconds, shape):
    """The second footprints of :meth:`UnitModel.draw_units` as arrays.

    ``seconds``: per unit, None or :func:`draw`'s tuple. Returns a dict: ``templates``
    (m, k, n_times), ``channels``, ``parents`` (the unit of each), ``lags`` (frames after the
    unit's trough) and ``similarity`` (to a real unit), each of length m.
    """
    found = [(unit, *second) for unit, second in enumerate(seconds) if second is not None]
    units, templates, places, lags, similarity = (list(column) for column in zip(*found)) if (
        found) else ([], [], [], [], [])
    return dict(templates=np.array(templates, np.float32).reshape(-1, *shape),
                channels=np.array(places, np.int64), parents=np.array(units, np.int64),
                lags=np.array(lags, np.int64), similarity=np.array(similarity, np.float64))
