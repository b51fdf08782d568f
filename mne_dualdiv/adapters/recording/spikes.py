"""Spikes of a recording as SpikeInterface sees them: band, noise, peaks, snippets, templates.

One set of functions serves the synthesizer's fit, its privacy report and the fidelity
report, so that the real and the synthetic recordings are always measured the same way:

- :func:`spike_band`: SpikeInterface's ``bandpass_filter`` (300-6000 Hz by default, the band
  spike sorters detect in), capped below the Nyquist frequency;
- :func:`noise_levels`: ``get_noise_levels`` (MAD) of the band;
- :func:`find_peaks`: ``detect_peaks`` with ``locally_exclusive`` (numba, in the ``ephys``
  extra): one peak per spike, negative peaks beyond ``detect_threshold`` MADs, exclusive
  within ``radius_um``;
- :func:`neighbourhoods` and :func:`cut_snippets`: a spike as a small channel x time image on
  the channels at ``k`` fixed offsets from its peak channel (row 0 is the peak channel), so
  that spikes of different places share one relative geometry;
- :func:`best_similarity`: lag-tolerant cosine similarity between such images, the measure of
  the unit guard and of the unit-privacy audit.
"""

import importlib.util

import numpy as np
import scipy.signal

#: Spike band in Hz (the band sorters detect in; SpikeInterface's own defaults).
FREQ_MIN, FREQ_MAX = 300.0, 6000.0
#: Lower edge (Hz) of the band templates are cut in: wide enough that a template added to the
#: raw background and band-passed by a detector is filtered once, as a real spike is (cut
#: from the 300 Hz band, a template is filtered twice and rings into extra peaks).
TEMPLATE_FREQ_MIN = 100.0
#: Detection threshold in MADs of each channel's band noise (SpikeInterface's default).
DETECT_THRESHOLD = 5.0
#: Radius of the locally exclusive detection (SpikeInterface's default).
DETECT_RADIUS_UM = 50.0
#: Lags (samples) tried by :func:`best_similarity`: ±0.1 ms at 30 kHz.
MAX_LAG = 3


def job_kwargs(job_kwargs=None, name="job_kwargs"):
    """SpikeInterface job arguments: one job and no progress bar unless given.

    ``job_kwargs`` given by a user is checked as SpikeInterface checks it (``fix_job_kwargs``),
    its errors (bare ``AssertionError``) becoming a ``ValueError`` naming ``name``.
    """
    defaults = dict(n_jobs=1, chunk_duration="1s", progress_bar=False)
    if job_kwargs is None:
        return defaults
    if not isinstance(job_kwargs, dict):
        raise TypeError(f"{name} must be None or a dict, got {type(job_kwargs).__name__} instead.")
    from spikeinterface.core.job_tools import fix_job_kwargs

    merged = dict(defaults, **job_kwargs)
    try:
        fix_job_kwargs(merged)
    except (AssertionError, ValueError, TypeError) as err:
        raise ValueError(f"{name} is not valid for SpikeInterface: {err}") from None
    return merged


def band_edges(sampling_frequency, freq_min=FREQ_MIN, freq_max=FREQ_MAX):
    """The spike band, its upper edge capped at 45 % of the sampling frequency."""
    return freq_min, min(freq_max, 0.45 * float(sampling_frequency))


def has_spike_band(sampling_frequency, freq_min=FREQ_MIN):
    """Whether a recording at ``sampling_frequency`` holds a spike band at all (>= 1 octave)."""
    return 0.45 * float(sampling_frequency) >= 2 * freq_min


def spike_band(recording, freq_min=FREQ_MIN, freq_max=FREQ_MAX):
    """The recording bandpassed to the spike band (lazy, float32, stored units)."""
    import spikeinterface.preprocessing as spre

    low, high = band_edges(recording.sampling_frequency, freq_min, freq_max)
    return spre.bandpass_filter(recording, freq_min=low, freq_max=high, dtype="float32")


def band_filter(images, sampling_frequency, freq_min=FREQ_MIN, freq_max=FREQ_MAX):
    """Images (n, k, t) as a detector sees them: in the spike band.

    The same zero-phase Butterworth (order 5) as SpikeInterface's ``bandpass_filter``, on
    zero-padded images: what a detector measures of a template added to a recording.
    """
    import scipy.signal

    low, high = band_edges(sampling_frequency, freq_min, freq_max)
    sos = scipy.signal.butter(5, [low, high], btype="bandpass", fs=sampling_frequency,
                              output="sos")
    pad = int(sampling_frequency / low)
    padded = np.pad(np.asarray(images, dtype=np.float64), ((0, 0), (0, 0), (pad, pad)))
    return scipy.signal.sosfiltfilt(sos, padded, axis=2)[:, :, pad:pad + images.shape[2]]


def align_and_taper(images, nbefore):
    """Shift each image so its trough (on any channel) sits at ``nbefore``; taper the edges."""
    out = np.zeros_like(images)
    reach = max(1, nbefore // 3)
    for i, image in enumerate(images):
        lo = max(0, nbefore - reach)
        trough = lo + int(np.argmin(image.min(axis=0)[lo:nbefore + reach]))
        shift = nbefore - trough
        out[i] = np.roll(image, shift, axis=1)
        if shift > 0:
            out[i, :, :shift] = 0
        elif shift < 0:
            out[i, :, shift:] = 0
    return out * scipy.signal.windows.tukey(images.shape[2], 0.25).astype(images.dtype)


def row_distances(locations, neighbours):
    """Distances (µm) between the rows of a template placed at each channel.

    Returns an array (n_channels, k, k): for a unit whose peak channel is ``c``, the distances
    between the channels ``neighbours[c]`` its rows land on; ``inf`` for a row off the probe
    (``-1``: its values are dropped), on the diagonal too.
    """
    rows = np.where(neighbours[..., None] >= 0, np.asarray(locations, float)[neighbours], np.nan)
    distances = np.linalg.norm(rows[:, :, None] - rows[:, None], axis=3)
    return np.where(np.isnan(distances), np.inf, distances)


#: Half-width (s) of the detector's exclusion in time (``detect_peaks``' ``exclude_sweep_ms``).
EXCLUDE_S = 0.001


def collision_share(band_templates, homes, neighbours, locations, rates, amplitudes):
    """Share of each unit's spikes a locally exclusive detector keeps beside louder units.

    A spike is lost when a louder unit's trough falls within :data:`EXCLUDE_S` of it on a
    channel within the detector's radius of its peak channel; with Poisson firing, a unit
    keeps ``exp(-sum(rate_v * 2 EXCLUDE_S))`` over the units ``v`` that are louder there than
    its own amplitude. A cluster's rate divided by it is the unit's, so that the synthetic
    unit loses as many spikes to the detector as the real one did: on SpikeInterface's
    ground truth (si32, 10 units at about 15 Hz), the detector missed 4-7 % of the spikes of
    its smaller units, nearly all beside another spike, and the sorted synthetic units fired
    0.8 Hz below the real ones.

    Parameters
    ----------
    band_templates : ndarray, shape (n_units, k, n_times)
        The units' templates in the detection band, rows on ``neighbours[homes[u]]``.
    homes : list of int
        Each unit's peak channel.
    neighbours : ndarray of int, shape (n_channels, k)
        The channel of each row (-1: off the probe).
    locations : ndarray, shape (n_channels, 2)
        Channel positions (µm).
    rates, amplitudes : ndarray, shape (n_units,)
        Each unit's rate (Hz) and amplitude on its peak channel (stored units).
    """
    n_units, n_channels = len(homes), len(locations)
    depth = np.zeros((n_units, n_channels + 1))  # trough of each unit on each channel
    for u, home in enumerate(homes):
        rows = np.where(neighbours[home] >= 0, neighbours[home], n_channels)
        np.maximum.at(depth[u], rows, -np.asarray(band_templates[u]).min(axis=1))
    depth = depth[:, :n_channels]
    near = np.linalg.norm(np.asarray(locations)[homes][:, None] - np.asarray(locations)[None],
                          axis=2) <= DETECT_RADIUS_UM  # (u, channel)
    # louder[u, v]: unit v's trough beats u's amplitude on some channel near u's peak channel.
    louder = (depth[None] * near[:, None]).max(axis=2, initial=0.0) > np.asarray(
        amplitudes)[:, None]
    np.fill_diagonal(louder, False)
    return np.exp(-(louder * np.asarray(rates)[None]).sum(axis=1) * 2 * EXCLUDE_S)


def count_peaks(image, threshold, row_distances, exclude, radius_um=DETECT_RADIUS_UM):
    """Peaks a locally exclusive detector finds in one band-passed image (k, t).

    ``detect_peaks(method="locally_exclusive")``'s rule, on one template: a candidate is a
    sample below ``-threshold`` and a local minimum in time on its row; a candidate is kept
    unless another candidate within ``exclude`` frames, on a row within ``radius_um``
    (``row_distances``, µm), is deeper (or as deep and earlier). Candidates are compared with
    candidates only, not with every sample: a trough's second dip more than ``exclude`` after
    it is a peak of its own even while the signal between them is lower. Comparing every
    sample in the window, the check passed units whose dip 1.3 ms after a 200 µV trough reached
    the threshold; SpikeInterface's detector then counted 0.2-0.7 extra peaks per spike of
    them (si32, seed 0: 23 peaks/s matched to no spike against 4 in the real recording).
    """
    image = np.asarray(image)
    inner = image[:, 1:-1]
    candidate = (inner <= -threshold) & (inner < image[:, :-2]) & (inner <= image[:, 2:])
    rows, times = np.nonzero(candidate)
    times = times + 1
    depth = -image[rows, times]
    near = np.asarray(row_distances)[rows][:, rows] <= radius_um
    close = np.abs(times[:, None] - times[None]) <= exclude
    beaten = (depth[None] > depth[:, None]) | ((depth[None] == depth[:, None])
                                               & (times[None] < times[:, None]))
    return int(np.sum(~np.any(near & close & beaten, axis=1)))


def noise_levels(recording_band, seed=0):
    """Per-channel noise (MAD) of the band, in stored units, on SpikeInterface's chunks."""
    from spikeinterface.core import get_noise_levels

    return np.asarray(get_noise_levels(recording_band, return_in_uV=False, force_recompute=True,
                                       random_slices_kwargs=dict(seed=int(seed)),
                                       **job_kwargs()), dtype=float)


def detector():
    """``"locally_exclusive"``, SpikeInterface's peak detection with numba.

    Its torch variant is no substitute: on a simulated 32-channel recording it returned the
    same spikes (621 against 664) with amplitudes 30 times too small (median 3.3 against
    92 µV), so synthesizers fitted with it drew units at half the real amplitude.
    """
    if importlib.util.find_spec("numba") is None:
        raise ImportError("Peak detection needs numba (SpikeInterface's locally_exclusive "
                          "method): pip install 'mne_dualdiv[ephys]' or pip install numba.")
    return "locally_exclusive"


def find_peaks(recording_band, levels, detect_threshold=DETECT_THRESHOLD, job=None):
    """Negative peaks beyond ``detect_threshold`` MADs, one per spike (structured array)."""
    from spikeinterface.sortingcomponents.peak_detection import detect_peaks

    method_kwargs = dict(peak_sign="neg", detect_threshold=float(detect_threshold),
                         noise_levels=np.asarray(levels), radius_um=DETECT_RADIUS_UM)
    return detect_peaks(recording_band, method=detector(), method_kwargs=method_kwargs,
                        job_kwargs=job_kwargs(job))


def channel_locations(recording):
    """(n_channels, 2) contact positions in µm; a line 20 µm apart without a probe."""
    try:
        locations = np.asarray(recording.get_channel_locations(), dtype=float)
    except Exception:  # no probe and no 'location' property: SpikeInterface raises
        locations = np.column_stack([np.zeros(recording.get_num_channels()),
                                     20.0 * np.arange(recording.get_num_channels())])
    return locations[:, -2:] if locations.shape[1] >= 2 else np.column_stack(
        [np.zeros(len(locations)), locations[:, 0]])


#: Radius (µm) around a peak channel within which spikes are masked out of the background
#: (tridesclous2's template radius; 12 nearest channels left 0.8 dB of spike power in the
#: noise spectrum of a simulated probe, 100 µm 0.2 dB).
MASK_RADIUS_UM = 100.0


def channels_within(locations, radius_um=MASK_RADIUS_UM):
    """For each channel, the indices of the channels within ``radius_um`` of it (a list)."""
    locations = np.asarray(locations, dtype=float)
    distances = np.linalg.norm(locations[:, None] - locations[None], axis=2)
    return [np.flatnonzero(row <= radius_um) for row in distances]


def neighbourhoods(locations, k):
    """For each channel, its channels at the ``k`` offsets of one probe-wide layout.

    The layout is the offsets of the ``k`` channels nearest the most central channel, sorted
    by distance (ties by depth, then horizontal position). Row ``j`` of every channel's
    neighbourhood is the channel at that channel's position plus offset ``j`` (or its mirror
    image left-right, whichever matches more channels: the two columns of a probe are
    mirror images), within half the smallest contact spacing; ``-1`` where the probe has no
    channel there (near its ends). Row 0 is the channel itself. A spike's snippet then has
    the same geometry wherever it peaks, and a template can be placed on any channel.

    Returns
    -------
    neighbours : ndarray of int, shape (n_channels, k)
        Channel indices, ``-1`` for offsets off the probe.
    """
    locations = np.asarray(locations, dtype=float)
    n = len(locations)
    k = min(int(k), n)
    center = int(np.argmin(np.linalg.norm(locations - locations.mean(axis=0), axis=1)))
    offsets = locations - locations[center]
    order = np.lexsort((offsets[:, 0], offsets[:, 1], np.linalg.norm(offsets, axis=1)))[:k]
    offsets = offsets[order]
    pairwise = np.linalg.norm(locations[:, None] - locations[None], axis=2)
    spacing = pairwise[pairwise > 0].min() if n > 1 else 1.0
    out = np.full((n, k), -1, dtype=np.int64)
    for c in range(n):
        best = None
        for mirror in (1.0, -1.0):
            targets = locations[c] + offsets * [mirror, 1.0]
            d = np.linalg.norm(targets[:, None] - locations[None], axis=2)
            nearest = d.argmin(axis=1)
            found = np.where(d[np.arange(k), nearest] < spacing / 2, nearest, -1)
            if best is None or (found >= 0).sum() > (best >= 0).sum():
                best = found
        out[c] = best
    return out


def cut_snippets(recording_band, frames, channels, neighbours, nbefore, nafter,
                 segment_index=0, chunk_frames=30000):
    """Snippets (n, k, nbefore + nafter) around ``frames`` on each peak's neighbourhood.

    Read chunk by chunk (never the whole recording). Peaks too close to either end are
    dropped: the second value is the boolean mask of the peaks kept. Rows whose channel is
    ``-1`` (off the probe, see :func:`neighbourhoods`) are zero.
    """
    frames, channels = np.asarray(frames, dtype=np.int64), np.asarray(channels, dtype=np.int64)
    n_frames = recording_band.get_num_samples(segment_index=segment_index)
    keep = (frames >= nbefore) & (frames + nafter <= n_frames)
    out = np.zeros((int(keep.sum()), neighbours.shape[1], nbefore + nafter), dtype=np.float32)
    rows = np.cumsum(keep) - 1
    order = np.argsort(frames, kind="stable")
    order = order[keep[order]]
    for start in range(0, n_frames, chunk_frames):
        lo_i, hi_i = np.searchsorted(frames[order], [start, start + chunk_frames])
        chosen = order[lo_i:hi_i]
        if not len(chosen):
            continue
        lo, hi = max(0, start - nbefore), min(n_frames, start + chunk_frames + nafter)
        traces = recording_band.get_traces(start_frame=lo, end_frame=hi,
                                           segment_index=segment_index, return_in_uV=False)
        traces = np.concatenate([traces, np.zeros((len(traces), 1), traces.dtype)], axis=1)
        for i in chosen:
            f = frames[i] - lo
            out[rows[i]] = traces[f - nbefore:f + nafter, neighbours[channels[i]]].T
    return out, keep


def snippets_at(recording_band, peaks, neighbours, nbefore, nafter, max_snippets=None,
                rng=None):
    """Snippets of ``peaks`` (all segments), at most ``max_snippets`` of them.

    With ``rng`` the snippets are a random subset of the peaks; without, the first ones in
    time order (segment, then frame), so that their intervals still describe the firing.
    Only the chosen peaks are read.

    Returns
    -------
    snippets : ndarray, shape (n, k, nbefore + nafter)
    peaks : structured ndarray
        The peaks kept, in the order of ``snippets`` (peaks too near an end are dropped).
    """
    order = np.lexsort((peaks["sample_index"], peaks["segment_index"]))
    peaks = peaks[order]
    if max_snippets is not None and len(peaks) > max_snippets:
        chosen = (np.sort(rng.choice(len(peaks), max_snippets, replace=False))
                  if rng is not None else np.arange(max_snippets))
        peaks = peaks[chosen]
    snippets, kept = [], []
    for segment in np.unique(peaks["segment_index"]):
        part = np.flatnonzero(peaks["segment_index"] == segment)
        cut, keep = cut_snippets(recording_band, peaks["sample_index"][part],
                                 peaks["channel_index"][part], neighbours, nbefore, nafter,
                                 segment_index=int(segment))
        snippets.append(cut)
        kept.append(part[keep])
    if not snippets:
        return np.zeros((0, neighbours.shape[1], nbefore + nafter), np.float32), peaks[:0]
    return np.concatenate(snippets), peaks[np.concatenate(kept)]


def best_similarity(a, b, max_lag=MAX_LAG, batch=512):
    """Lag-tolerant cosine similarity of every image of ``a`` (n, k, t) to every one of ``b``.

    The maximum over shifts of ``a`` by up to ``max_lag`` samples (zero-filled), so that two
    spikes a fraction of a millisecond apart in alignment still compare as the same shape.
    """
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    fb = b.reshape(len(b), -1)
    fb = fb / (np.linalg.norm(fb, axis=1, keepdims=True) + 1e-12)
    best = np.full((len(a), len(b)), -np.inf, dtype=np.float32)
    for start in range(0, len(a), batch):
        part = a[start:start + batch]
        for lag in range(-max_lag, max_lag + 1):
            shifted = np.zeros_like(part)
            if lag >= 0:
                shifted[:, :, lag:] = part[:, :, :part.shape[2] - lag]
            else:
                shifted[:, :, :lag] = part[:, :, -lag:]
            fa = shifted.reshape(len(part), -1)
            fa = fa / (np.linalg.norm(fa, axis=1, keepdims=True) + 1e-12)
            np.maximum(best[start:start + batch], fa @ fb.T, out=best[start:start + batch])
    return best


def nearest_distinct_similarity(templates):
    """For each template, its best similarity to any *other* template (NaN for one)."""
    if len(templates) < 2:
        return np.full(len(templates), np.nan)
    sims = best_similarity(templates, templates)
    np.fill_diagonal(sims, -np.inf)
    return sims.max(axis=1).astype(float)


def nearest_distance(a, b, batch=256):
    """Euclidean distance of every row of ``a`` to its nearest row of ``b``."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    out = np.empty(len(a))
    bb = (b ** 2).sum(1)
    for start in range(0, len(a), batch):
        x = a[start:start + batch]
        d2 = (x ** 2).sum(1)[:, None] + bb[None] - 2 * x @ b.T
        out[start:start + batch] = np.sqrt(np.clip(d2.min(axis=1), 0, None))
    return out


def no_peaks():
    """An empty peaks array, with the fields of ``detect_peaks``'s."""
    return np.zeros(0, dtype=[("sample_index", "int64"), ("channel_index", "int64"),
                              ("amplitude", "float64"), ("segment_index", "int64")])
