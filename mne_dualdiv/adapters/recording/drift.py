"""Drift: synthetic units that move along the probe as a SpikeInterface ``Motion`` says.

Probes move in the brain (breathing, heartbeat, slow settling), and the spikes of a unit then
appear on other channels over minutes; motion estimation and correction
(``spikeinterface.preprocessing.correct_motion``) exist for it. A synthetic recording drifts
when :meth:`RecordingSynthesizer.sample` gets a ``motion``: a
:class:`spikeinterface.core.motion.Motion`, rigid or not, e.g. the one ``correct_motion``
estimated on the real recording (``output_motion=True``) or one the user writes. Each spike
of a unit at depth ``z`` and time ``t`` is then drawn with the unit's template moved by
``motion.get_displacement_at_time_and_depth(t, z)`` along the motion's direction, SpikeInterface's
sign convention (``correct_motion`` subtracts the same displacement from the peaks' depths).

Moved templates are precomputed on a grid of :data:`STEP_UM` (as SpikeInterface's drifting
benchmarks precompute theirs): at each step the unit's peak channel becomes the channel
nearest its moved position, and the template on that channel's neighbourhood is interpolated
linearly along the direction of motion within each column of contacts (contacts at the same
position across it), zero beyond the template's rows. Linear interpolation along a column works
on any probe, a single column included, where SpikeInterface's ``griddata`` interpolation needs
two. A displacement of 0 gives the template unchanged.
"""

import numpy as np

#: Grid of precomputed displacements (µm): SpikeInterface's drifting templates use 2 µm too,
#: a tenth of Neuropixels' 20 µm row pitch.
STEP_UM = 2.0
#: Contacts closer than this across the direction of motion (µm) form one column.
COLUMN_TOLERANCE_UM = 1.0
_AXES = dict(x=0, y=1)


def check_motion(motion, n_segments):
    """``motion`` as a :class:`~spikeinterface.core.motion.Motion` (None stays None).

    Accepts a ``Motion`` or its ``to_dict()`` (how a recording's kwargs hold it); refuses other
    objects, another number of segments, a direction other than ``"x"`` or ``"y"``, and
    displacements of the wrong shape or not finite. :func:`check_motion_extent` checks the
    displacements against the probe once it is known.
    """
    if motion is None:
        return None
    from spikeinterface.core.motion import Motion

    if isinstance(motion, dict):
        try:
            motion = Motion(
                displacement=[np.asarray(d, dtype=np.float64) for d in motion["displacement"]],
                temporal_bins_s=[np.asarray(t, dtype=np.float64)
                                 for t in motion["temporal_bins_s"]],
                spatial_bins_um=np.asarray(motion["spatial_bins_um"], dtype=np.float64),
                direction=motion.get("direction", "y"),
                interpolation_method=motion.get("interpolation_method", "linear"))
        except (KeyError, TypeError, ValueError, AssertionError) as err:
            raise ValueError(f"motion must be a spikeinterface Motion or its to_dict(); this "
                             f"dictionary is not one ({err}).") from None
    if not isinstance(motion, Motion):
        raise TypeError("motion must be None or a spikeinterface.core.motion.Motion (e.g. from "
                        f"correct_motion(..., output_motion=True)), got {type(motion).__name__}.")
    if motion.direction not in _AXES:
        raise ValueError(f"motion.direction must be 'x' or 'y' (the probe's plane), got "
                         f"{motion.direction!r}.")
    if motion.num_segments != n_segments:
        raise ValueError(f"motion has {motion.num_segments} segments; the recording asked for "
                         f"has {n_segments} (durations).")
    bins = np.asarray(motion.spatial_bins_um, dtype=np.float64)
    for index, (displacement, times) in enumerate(zip(motion.displacement,
                                                      motion.temporal_bins_s)):
        displacement, times = np.asarray(displacement), np.asarray(times)
        if displacement.ndim != 2 or displacement.shape != (len(times), len(bins)):
            raise ValueError(f"motion.displacement[{index}] must have shape (temporal bins, "
                             f"spatial bins) = ({len(times)}, {len(bins)}), got "
                             f"{displacement.shape}.")
        if not (np.isfinite(displacement).all() and np.isfinite(times).all()) or not len(times):
            raise ValueError(f"motion segment {index} must hold finite displacements and times.")
    return motion


def check_motion_extent(motion, locations):
    """Refuse a checked ``motion`` that moves units farther than the probe's extent."""
    axis = _AXES[motion.direction]
    extent = float(np.ptp(locations[:, axis])) if len(locations) else 0.0
    for index, displacement in enumerate(motion.displacement):
        if np.abs(displacement).max() > extent:
            raise ValueError(f"motion segment {index} moves units by up to "
                             f"{np.abs(displacement).max():.4g} µm, more than the probe's extent "
                             f"along {motion.direction} ({extent:.4g} µm).")
    return motion


def motion_to_dict(motion):
    """``motion`` as plain lists and strings (a recording's JSON-able kwargs); None stays None."""
    if motion is None:
        return None
    return dict(displacement=[np.asarray(d).tolist() for d in motion.displacement],
                temporal_bins_s=[np.asarray(t).tolist() for t in motion.temporal_bins_s],
                spatial_bins_um=np.asarray(motion.spatial_bins_um).tolist(),
                direction=motion.direction, interpolation_method=motion.interpolation_method)


def move_templates(templates, unit_channels, locations, neighbours, steps, axis):
    """Each unit's template moved by each of ``steps`` (µm) along ``axis``.

    Parameters
    ----------
    templates : ndarray, shape (n_units, n_times, k)
        Templates on their channels ``unit_channels`` (row 0: the peak channel).
    unit_channels : ndarray of int, shape (n_units, k)
        Channel of each row (``n_channels``: off the probe).
    locations : ndarray, shape (n_channels, 2)
        Contact positions (µm).
    neighbours : ndarray of int, shape (n_channels, k)
        The rows' channels around each peak channel (-1: off the probe).
    steps : ndarray, shape (n_steps,)
        Displacements (µm).
    axis : int
        0 (x) or 1 (y).

    Returns
    -------
    moved : ndarray, shape (n_units, n_steps, n_times, k)
    moved_channels : ndarray of int, shape (n_units, n_steps, k)
    """
    n_units, n_times, k = templates.shape
    n_channels = len(locations)
    across = 1 - axis
    moved = np.zeros((n_units, len(steps), n_times, k), dtype=templates.dtype)
    moved_channels = np.full((n_units, len(steps), k), n_channels, dtype=np.int64)
    for u in range(n_units):
        rows = np.flatnonzero(unit_channels[u] < n_channels)
        source = locations[unit_channels[u, rows]]
        peak = locations[unit_channels[u, 0]]
        for s, step in enumerate(steps):
            target = peak.copy()
            target[axis] += step
            centre = int(np.argmin(np.linalg.norm(locations - target, axis=1)))
            on_probe = np.flatnonzero(neighbours[centre] >= 0)
            channels = neighbours[centre, on_probe]
            moved_channels[u, s, on_probe] = channels
            wanted = locations[channels].copy()
            wanted[:, axis] -= step  # where, on the unmoved template, each channel now lies
            for j, position in zip(on_probe, wanted):
                column = rows[np.abs(source[:, across] - position[across]) < COLUMN_TOLERANCE_UM]
                if not len(column):
                    continue
                along = locations[unit_channels[u, column], axis]
                order = np.argsort(along)
                column, along = column[order], along[order]
                where = position[axis]
                if where < along[0] or where > along[-1]:
                    continue
                hi = min(int(np.searchsorted(along, where)), len(along) - 1)
                lo = max(hi - 1, 0)
                span = along[hi] - along[lo]
                weight = 0.0 if span == 0 else (where - along[lo]) / span
                moved[u, s, :, j] = ((1 - weight) * templates[u, :, column[lo]]
                                     + weight * templates[u, :, column[hi]])
    return moved, moved_channels


class MovingUnits:
    """Synthetic units whose spikes are drawn where ``motion`` has moved them.

    Wraps a :class:`~.segment.SyntheticUnits` (its spikes, templates and ground truth stay as
    they are) and replaces :meth:`add_spikes`: each spike uses its unit's template moved by the
    displacement at its time and the unit's depth, rounded to :data:`STEP_UM`.

    Parameters
    ----------
    units : SyntheticUnits
    motion : spikeinterface.core.motion.Motion
        As checked by :func:`check_motion`.
    locations : ndarray, shape (n_channels, 2)
    neighbours : ndarray of int, shape (n_channels, k)
    sampling_frequency : float
    """

    def __init__(self, units, motion, locations, neighbours, sampling_frequency):
        self._units = units
        axis = _AXES[motion.direction]
        depths = locations[np.asarray(units.channels, dtype=np.int64), axis]
        self.displacements = []  # per segment: displacement (µm) of each spike
        for segment, (frames, labels) in enumerate(zip(units.frames, units.labels)):
            self.displacements.append(motion.get_displacement_at_time_and_depth(
                frames / sampling_frequency, depths[labels], segment_index=segment)
                if len(frames) else np.zeros(0))
        every = np.concatenate(self.displacements + [np.zeros(1)])
        first = np.floor(every.min() / STEP_UM) * STEP_UM
        self.steps = np.arange(first, every.max() + STEP_UM, STEP_UM)
        self.step_indices = [np.clip(np.round((d - first) / STEP_UM).astype(np.int64), 0,
                                     len(self.steps) - 1) for d in self.displacements]
        self.moved, self.moved_channels = move_templates(
            units.templates, units.unit_channels, locations, neighbours, self.steps, axis)

    def __getattr__(self, name):  # frames, labels, templates, channels...: the static units'
        return getattr(self._units, name)

    def add_spikes(self, traces, segment, start, end):
        """Add the spikes of ``segment`` overlapping frames ``[start, end)``, moved, to ``traces``."""
        return self._units.add_spikes(traces, segment, start, end, moved=(
            self.moved, self.moved_channels, self.step_indices[segment]))
