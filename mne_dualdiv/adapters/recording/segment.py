"""The lazy synthetic recording: fitted noise plus synthetic units, computed on demand.

:class:`SyntheticRecording` is a SpikeInterface ``BaseRecording``. When it is created, it
draws its units (templates, peak channels, firing statistics; seeded by ``seed``) and their
spike trains (seeded by ``(seed, segment)``); ``get_traces`` then computes only the frames
asked for: the noise of :class:`~.noise.NoiseModel` (seeded blocks, so that overlapping
calls agree) plus every synthetic spike that overlaps them. Everything needed to re-create
it (file, durations, seed, number of units) is in its kwargs, so it dumps, loads and runs in
SpikeInterface's worker processes like any extractor.
"""

import functools

import numpy as np

from ..._checks import check_fname_for_reading, check_int, check_option, physical_memory
from ._state import read as read_state
from ._metadata import (apply_metadata, cast, check_durations, check_unit_memory, decode_array,
                        metadata_locations)
from .drift import MovingUnits, check_motion, check_motion_extent, motion_to_dict
from .satellites import collect as collect_second_places
from .spikes import channel_locations, row_distances
from .trains import spike_trains

try:
    from spikeinterface.core import BaseRecording, BaseRecordingSegment
except ImportError as err:  # pragma: no cover - the ephys extra is missing
    raise ImportError("mne_dualdiv.adapters.recording needs spikeinterface: "
                      "pip install 'mne_dualdiv[ephys]'") from err

#: Entropy words that tell the seeds of units, trains and amplitudes apart.
_UNITS_KEY, _TRAINS_KEY = 0x756E6974, 0x74726E73
#: Most frames of one segment: SpikeInterface and numpy index frames with int64.
MAX_FRAMES = 2 ** 62
#: Bytes one synthetic spike takes while the spike trains are drawn and held (frame, label and
#: amplitude: 20 bytes, and the draw's temporaries); the trains of every segment are drawn when
#: the recording is made, so durations whose spikes would not fit in memory are refused.
SPIKE_BYTES = 64


class SyntheticUnits:
    """The units of one synthetic recording and their spikes in each segment.

    A unit has one footprint (a template on the channels around its peak channel) or two,
    when its source cluster had a second place (:mod:`.satellites`): the second is added
    with every spike of the unit, at its lag. Footprints ``0 .. n_units - 1`` are the units'.

    Attributes
    ----------
    n_units : int
        Number of units.
    templates : ndarray, shape (n_footprints, nbefore + nafter, n_neighbours)
        Each footprint's template (stored units) on its channels (:attr:`unit_channels`);
        :meth:`dense_templates` gives them on every channel.
    unit_channels : ndarray of int, shape (n_footprints, n_neighbours)
        The channels of each footprint's template (``n_channels`` for rows off the probe).
    channels : ndarray of int, shape (n_footprints,)
        Peak channel of each footprint.
    parents : ndarray of int, shape (n_footprints,)
        The unit of each footprint.
    images : ndarray, shape (n_units, n_neighbours, nbefore + nafter)
        The units' templates in relative geometry (row 0: the peak channel), as the privacy
        audit compares them with the real units'.
    stats : ndarray, shape (n_units, 5)
        The units' firing and amplitude statistics.
    frames, labels, amplitudes : list of ndarray
        Per segment: spike frames (trough), footprint index, amplitude factor (sorted by
        frame); a unit's second footprint has the unit's spikes, lagged, with their factors.
    similarity : ndarray, shape (n_units,)
        Best lag-tolerant similarity of each unit's template to any real unit's (second
        footprints passed the same guard).
    """

    def __init__(self, synthesizer, seed, n_units, num_samples):
        model = synthesizer.units_
        rng = np.random.default_rng([seed, _UNITS_KEY])
        n_channels = len(synthesizer.channel_ids_)
        if model is None or n_units == 0:
            drawn = dict(templates=np.zeros((0, *synthesizer.template_shape_), np.float32),
                         channels=np.zeros(0, np.int64), stats=np.zeros((0, 5)),
                         similarity=np.zeros(0),
                         satellites=collect_second_places([], synthesizer.template_shape_))
        else:
            locations = metadata_locations(synthesizer.metadata_)
            drawn = model.draw_units(n_units, rng, synthesizer.threshold_, row_distances(
                locations, synthesizer.neighbours_), (locations, synthesizer.neighbours_))
        second = drawn["satellites"]
        self.nbefore, self.nafter = synthesizer.nbefore_, synthesizer.nafter_
        self.n_units = len(drawn["channels"])
        # Sparse templates: each footprint's rows on the channels of its peak channel's
        # neighbourhood (rows off the probe write into a spare last column, dropped).
        self.n_channels = n_channels
        self.templates = np.ascontiguousarray(np.swapaxes(np.concatenate(
            [drawn["templates"], second["templates"]]), 1, 2))
        self.channels = np.concatenate([drawn["channels"], second["channels"]]).astype(np.int64)
        self.unit_channels = np.array([np.where(synthesizer.neighbours_[c] >= 0,
                                                synthesizer.neighbours_[c], n_channels)
                                       for c in self.channels], dtype=np.int64).reshape(
                                           len(self.channels), synthesizer.neighbours_.shape[1])
        self.parents = np.concatenate([np.arange(self.n_units), second["parents"]])
        self.images, self.stats = drawn["templates"], drawn["stats"]
        self.similarity = drawn["similarity"]
        self.frames, self.labels, self.amplitudes = [], [], []
        for segment, n_frames in enumerate(num_samples):
            rng = np.random.default_rng([seed, _TRAINS_KEY, segment])
            frames, labels = spike_trains(self.stats, model.refractory if model else 0.002,
                                          n_frames, synthesizer.sampling_frequency_,
                                          self.nbefore, self.nafter, rng)
            cv = self.stats[labels, 2] if len(labels) else np.zeros(0)
            factors = np.clip(1 + cv * rng.standard_normal(len(frames)), 0.3, 2.0
                              ).astype(np.float32)
            frames, labels, factors = _with_second_places(
                frames, labels, factors, second, self.n_units, n_frames - self.nafter,
                self.nbefore)
            self.frames.append(frames)
            self.labels.append(labels)
            self.amplitudes.append(factors)

    def dense_templates(self):
        """Templates as (n_units, nbefore + nafter, n_channels), zero off each unit's channels."""
        dense = np.zeros((len(self.templates), self.nbefore + self.nafter, self.n_channels + 1),
                         dtype=np.float32)
        for u, channels in enumerate(self.unit_channels):
            dense[u][:, channels] = self.templates[u]
        return dense[:, :, :self.n_channels]

    def add_spikes(self, traces, segment, start, end, moved=None):
        """Add the spikes of ``segment`` that overlap frames ``[start, end)`` to ``traces``.

        ``moved``: None (every spike with its unit's template), or the templates moved by
        drift (:class:`~.drift.MovingUnits`): ``(templates, channels, steps)`` of shapes
        (n_units, n_steps, n_times, k), (n_units, n_steps, k) and, per spike of the
        segment, the step it is drawn at.
        """
        frames = self.frames[segment]
        lo, hi = np.searchsorted(frames, [start - self.nafter + 1, end + self.nbefore])
        if hi <= lo:
            return traces
        if moved is None:
            templates, channels = self.templates[:, None], self.unit_channels[:, None]
            steps = np.zeros(hi - lo, dtype=np.int64)
        else:
            templates, channels, steps = moved[0], moved[1], moved[2][lo:hi]
        padded = np.zeros((len(traces), self.n_channels + 1), dtype=traces.dtype)
        padded[:, :self.n_channels] = traces
        for frame, label, factor, step in zip(frames[lo:hi], self.labels[segment][lo:hi],
                                              self.amplitudes[segment][lo:hi], steps):
            first = frame - self.nbefore
            a, z = max(first, start), min(first + self.nbefore + self.nafter, end)
            padded[a - start:z - start, channels[label, step]] += (
                factor * templates[label, step, a - first:z - first])
        traces[:] = padded[:, :self.n_channels]
        return traces


def _with_second_places(frames, labels, factors, second, n_units, end, start):
    """A segment's spikes with those of the units' second footprints (within ``[start, end)``)."""
    parts = [(frames, labels, factors)]
    for j, (unit, lag) in enumerate(zip(second["parents"], second["lags"])):
        own = labels == unit
        lagged = frames[own] + lag
        keep = (lagged >= start) & (lagged < end)
        parts.append((lagged[keep], np.full(keep.sum(), n_units + j), factors[own][keep]))
    frames, labels, factors = (np.concatenate(column) for column in zip(*parts))
    order = np.argsort(frames, kind="stable")
    return frames[order], labels[order], factors[order]


class _Fitted:
    """The fitted attributes of a synthesizer file, as attributes (what the units need)."""

    def __init__(self, attributes):
        self.__dict__.update(attributes)

    @property
    def template_shape_(self):
        return (self.neighbours_.shape[1], self.nbefore_ + self.nafter_)


@functools.lru_cache(maxsize=2)
def _read_cached(path, mtime_ns, size):
    return _Fitted(read_state(path))


@functools.lru_cache(maxsize=4)
def _units_cached(path, mtime_ns, size, seed, n_units, num_samples):
    # Cached per process: clones, from_dict and forked workers share one draw.
    synthesizer = _read_cached(path, mtime_ns, size)
    return synthesizer, SyntheticUnits(synthesizer, seed, n_units, num_samples)


class SyntheticRecording(BaseRecording):
    """A lazy recording that a fitted :class:`RecordingSynthesizer` makes on demand.

    Made by :meth:`RecordingSynthesizer.sample`: fitted background noise plus synthetic
    units (new templates, renewal spike trains), frames computed only when ``get_traces``
    asks for them. The same channels, probe, gains, offsets, properties and annotations as
    the fitted recording; none of its traces, spike times or templates.

    Parameters
    ----------
    file_path : str | path-like
        A synthesizer written by :meth:`RecordingSynthesizer.save`.
    durations : list of float
        Duration of each segment in seconds.
    seed : int
        Seed of everything random in the recording.
    n_units : int
        Number of synthetic units (the guard may allow fewer: see :attr:`units`).
    motion : None | spikeinterface.core.motion.Motion | dict
        Drift of the units (:mod:`.drift`): a ``Motion`` with one entry per segment, or its
        ``to_dict()``; None: the units stay where they are.
    """

    def __init__(self, file_path, durations, seed, n_units, motion=None):
        file_path = check_fname_for_reading(file_path, "file_path").resolve()
        durations = check_durations(durations)
        seed = check_int("seed", seed, minimum=0)
        n_units = check_int("n_units", n_units, minimum=0)
        motion = check_motion(motion, len(durations))  # its extent once the probe is known
        stat = file_path.stat()
        synthesizer = _read_cached(str(file_path), stat.st_mtime_ns, stat.st_size)
        fs = synthesizer.sampling_frequency_
        check_unit_memory(n_units, int(np.prod(synthesizer.template_shape_)))
        # The units repeat the real clusters' rates: n_units / n_real_units times their spikes.
        num_samples = _check_frames(durations, fs, synthesizer.peak_rate_ * n_units
                                    / max(synthesizer.n_real_units_, 1))
        synthesizer, units = _units_cached(str(file_path), stat.st_mtime_ns, stat.st_size, seed,
                                           n_units, num_samples)
        metadata = synthesizer.metadata_
        BaseRecording.__init__(self, sampling_frequency=fs,
                               channel_ids=decode_array(metadata["channel_ids"], "channel_ids"),
                               dtype=np.dtype(metadata["dtype"]))
        for segment_index, n_frames in enumerate(num_samples):
            self.add_recording_segment(SyntheticRecordingSegment(
                synthesizer.noise_, units, seed, segment_index, n_frames, fs, self.get_dtype()))
        apply_metadata(self, metadata)
        if motion is not None:
            locations = channel_locations(self)
            check_motion_extent(motion, locations)
            units = MovingUnits(units, motion, locations, synthesizer.neighbours_, fs)
            for segment in self.segments:
                segment.set_units(units)
        self.units = units
        self.extra_requirements.extend(["mne_dualdiv", "torch"])
        self._kwargs = dict(file_path=str(file_path), durations=durations, seed=seed,
                            n_units=n_units, motion=motion_to_dict(motion))

    def _check_segment_index(self, segment_index=None):
        n_segments = self.get_num_segments()
        if segment_index is None:
            if n_segments > 1:
                raise ValueError(f"segment_index is needed: this recording has {n_segments} "
                                 "segments.")
            return 0
        segment_index = check_int("segment_index", segment_index, minimum=0)
        if segment_index >= n_segments:
            raise ValueError(f"segment_index must be below the number of segments "
                             f"({n_segments}), got {segment_index}.")
        return segment_index

    def get_traces(self, segment_index=None, start_frame=None, end_frame=None, **kwargs):
        """SpikeInterface's ``get_traces``, but frames past the end are an error, not cut off.

        Parameters
        ----------
        segment_index : None | int
            The segment (may be None for a one-segment recording).
        start_frame, end_frame : None | int
            Frames ``[start_frame, end_frame)``; ``0 <= start_frame <= end_frame <=`` the
            segment's number of samples (None: its start, its end).
        **kwargs
            ``channel_ids``, ``order``, ``return_in_uV``: as
            :meth:`spikeinterface.core.BaseRecording.get_traces`.

        Returns
        -------
        traces : ndarray, shape (end_frame - start_frame, n_channels)
        """
        segment_index = self._check_segment_index(segment_index)
        self.segments[segment_index].check_frames(start_frame, end_frame)
        check_option("order", kwargs.get("order"), (None, "C", "F"))
        return super().get_traces(segment_index, start_frame, end_frame, **kwargs)

    def get_ground_truth(self):
        """The synthetic spikes as a SpikeInterface sorting (one unit per synthetic unit).

        Returns
        -------
        sorting : spikeinterface NumpySorting
            Trough frames of every synthetic spike, per segment; unit ids ``0 .. n - 1``,
            with the property ``peak_channel`` (channel index).
        """
        from spikeinterface.core import NumpySorting

        units = self.units
        own = [labels < units.n_units for labels in units.labels]  # second footprints: no unit
        sorting = NumpySorting.from_samples_and_labels(
            [frames[k] for frames, k in zip(units.frames, own)],
            [labels[k] for labels, k in zip(units.labels, own)], self.sampling_frequency,
            unit_ids=np.arange(units.n_units))
        sorting.set_property("peak_channel", units.channels[:units.n_units])
        return sorting


class SyntheticRecordingSegment(BaseRecordingSegment):
    """One segment of a :class:`SyntheticRecording`: noise plus spikes, on demand."""

    def __init__(self, noise, units, seed, segment_index, num_samples, sampling_frequency,
                 dtype):
        BaseRecordingSegment.__init__(self, sampling_frequency=sampling_frequency)
        self._noise, self._units = noise, units
        self._seed, self._segment_index = (int(seed), int(segment_index)), segment_index
        self._num_samples, self._dtype = num_samples, dtype

    def get_num_samples(self):
        return self._num_samples

    def set_units(self, units):
        """Draw the spikes of ``units`` (e.g. the same units, moving) instead."""
        self._units = units

    def check_frames(self, start_frame, end_frame):
        """``(start, end)``: ``0 <= start <= end <=`` the number of samples, else a ValueError."""
        start = 0 if start_frame is None else check_int("start_frame", start_frame)
        end = self._num_samples if end_frame is None else check_int("end_frame", end_frame)
        if not 0 <= start <= end <= self._num_samples:
            raise ValueError(f"start_frame={start_frame} and end_frame={end_frame} must satisfy "
                             f"0 <= start_frame <= end_frame <= {self._num_samples} (the "
                             f"number of samples of segment {self._segment_index}).")
        return start, end

    def get_traces(self, start_frame=None, end_frame=None, channel_indices=None):
        start, end = self.check_frames(start_frame, end_frame)
        traces = self._noise.traces(self._seed, start, end)
        self._units.add_spikes(traces, self._segment_index, start, end)
        traces = cast(traces, self._dtype)
        return traces if channel_indices is None else traces[:, channel_indices]


def _check_frames(durations, sampling_frequency, spike_rate):
    """Frames of each segment, refused under one frame, past int64 or when spikes fill memory."""
    frames = [d * sampling_frequency for d in durations]
    for index, (duration, n_frames) in enumerate(zip(durations, frames)):
        if not n_frames < MAX_FRAMES:
            raise ValueError(f"durations[{index}] of {duration:g} s at {sampling_frequency:g} Hz "
                             f"would be {n_frames:.3g} frames, more than a segment can index "
                             f"({MAX_FRAMES:.3g}).")
        if int(round(n_frames)) < 1:
            raise ValueError(f"durations[{index}] of {duration:g} s at {sampling_frequency:g} Hz "
                             "is less than one frame.")
    spike_bytes = spike_rate * sum(durations) * SPIKE_BYTES
    memory = physical_memory()
    if spike_bytes > memory:
        raise ValueError(
            f"durations of {sum(durations):g} s in all would draw about "
            f"{spike_rate * sum(durations):.3g} spikes ({spike_rate:.3g} per second), "
            f"{spike_bytes / 1024 ** 3:.3g} GiB in memory, more than this machine's "
            f"{memory / 1024 ** 3:.3g} GiB: sample shorter (or fewer) segments.")
    return tuple(int(round(n)) for n in frames)
