"""Simulated ground-truth extracellular recordings: a harder benchmark than SpikeInterface's own.

:func:`simulate_recording` returns a lazy SpikeInterface recording and its ground-truth sorting.
It is built from three parts, each harder for a spike sorter, or for a synthesizer fitted to
it, than :func:`spikeinterface.core.generate_ground_truth_recording`:

- **noise** (:class:`SimulatedNoiseRecording`): a stationary Gaussian process, the sum of
  spatially correlated ``1/f`` noise from latent sources with smooth profiles over depth, a
  common-mode component shared by every channel, and independent coloured noise per channel
  with its own level; computed lazily in seeded blocks, so that any frame range is reproducible;
- **units**: SpikeInterface's :func:`~spikeinterface.core.generate.generate_templates` with
  per-unit parameters drawn from two wide classes (narrow and broad spikes) so that distinct
  units differ in shape, spread over the probe's depth, with peak amplitudes of 40-250 µV;
- **spike trains**: lognormal rates, an absolute refractory period per unit, and bursting units
  (bursts of 2-5 spikes 3-8 ms apart, later spikes of a burst smaller), injected with 10 %
  amplitude jitter by :class:`~spikeinterface.core.InjectTemplatesRecording` (or, with drift,
  :class:`~spikeinterface.generation.InjectDriftingTemplatesRecording`).

SpikeInterface and probeinterface (the ``ephys`` extra) are imported only when a recording is
simulated, so that ``import mne_dualdiv.datasets`` works without them.
"""

import math

import numpy as np

from .._checks import check_bool, check_float, check_int, check_option
from ._recording_noise import (  # noqa: F401 - re-exported: the model's constants, read here
    ALPHA_RANGE, BAND_FILTER_ORDER, BAND_HZ, BLOCK_FRAMES, CHANNEL_LEVEL_RANGE, KERNEL_TAPS,
    LATENT_SPACING_UM, LATENT_WIDTH_UM, LOWPASS_FRACTION, NOISE_SHARES, ONE_OVER_F_FLOOR_HZ,
    SHELF_POLE_HZ, SHELF_ZERO_HZ, noise_recording_class)
# The noise recording's classes, built on first access (they need SpikeInterface), are also
# found here by ``spikeinterface.load`` for recordings dumped before they moved.
from ._recording_noise import __getattr__  # noqa: F401
from ._recording_units import (  # noqa: F401
    AMPLITUDE_RANGE_UV, BROAD_PARAMS, CREST_TO_TROUGH, MS_AFTER, MS_BEFORE, NARROW_FRACTION,
    NARROW_PARAMS, RETURN_DECAY_UM, RETURN_OFFSET_UM, RETURN_REPOLARISATION_SLOWER,
    RETURN_SLOWER, RETURN_WEIGHT, SHARED_PARAMS, TAPER_MS, UNIT_MARGIN_UM, UNIT_Z_RANGE_UM,
    make_units, unit_templates)
from ._spike_trains import (  # noqa: F401
    AMPLITUDE_CLIP, AMPLITUDE_JITTER, BURST_ATTENUATION, BURST_EVENT_SHARE, BURST_INTERVAL_MS,
    BURST_SIZE, BURSTING_FRACTION, RATE_LOG_SD, RATE_MEDIAN_HZ, RATE_RANGE_HZ,
    REFRACTORY_RANGE_MS, spike_amplitude_factors, spike_trains)

#: Probe layouts of :func:`simulate_recording`.
PROBES = ("linear", "neuropixels")
#: Contacts a Neuropixels 1.0 probe records at once (bank 0 of its 960 sites).
NEUROPIXELS_MAX_CHANNELS = 384

#: Lowest sampling frequency accepted: the band's upper edge must stay below Nyquist, and a
#: 0.1 ms depolarisation must span at least one sample.
MIN_SAMPLING_FREQUENCY = 10000.0

#: Drift: rigid vertical sinusoid of 20-40 µm peak to peak, period 0.5-1 times the duration,
#: sampled at 5 Hz; templates precomputed every ``DRIFT_STEP_UM``.
DRIFT_RANGE_UM = (20.0, 40.0)
DRIFT_PERIOD_FRACTION = (0.5, 1.0)
DRIFT_SAMPLING_FREQUENCY = 5.0
DRIFT_STEP_UM = 2.0


def simulate_recording(num_channels=32, num_units=10, duration=60.0, sampling_frequency=30000.0,
                       probe="linear", noise_level=5.0, drift=False, seed=0):
    """Simulate a ground-truth extracellular recording with realistic noise and varied units.

    A benchmark harder than SpikeInterface's ``generate_ground_truth_recording``: correlated
    ``1/f`` noise with a common mode, units whose spikes differ in width, repolarisation and
    spatial extent, refractory and bursting spike trains, and optional drift.

    Parameters
    ----------
    num_channels : int
        Number of channels (at least 1; at most 384 with ``probe="neuropixels"``).
    num_units : int
        Number of units (at least 1).
    duration : float
        Duration in seconds (> 0, and long enough to hold one spike waveform).
    sampling_frequency : float
        Sampling frequency in Hz (at least 10 kHz).
    probe : "linear" | "neuropixels"
        ``"linear"``: SpikeInterface's generated probe, two columns 20 µm apart, contacts every
        20 µm, 6 µm radius. ``"neuropixels"``: the first ``num_channels`` contacts of a
        Neuropixels 1.0 probe (probeinterface's ``build_neuropixels_probe("NP1000")``): four
        staggered columns at x = 16, 48, 0, 32 µm, rows 20 µm apart, 12 x 12 µm contacts.
    noise_level : float
        The median over channels of the noise's standard deviation (µV, >= 0) in the
        300-6000 Hz band (capped at 45 % of ``sampling_frequency``) as SpikeInterface measures it
        (``bandpass_filter`` then ``get_noise_levels``, a MAD).
    drift : bool
        Whether the units drift: a rigid vertical sinusoid of 20-40 µm peak to peak over
        the recording.
    seed : int | None
        Seed of every random choice (a non-negative int). The same seed gives the same
        recording, bit for bit; ``None`` draws a fresh seed.

    Returns
    -------
    recording : spikeinterface.core.BaseRecording
        The lazy recording in µV (float32, gains 1, offsets 0), probe attached, annotated
        ``is_filtered=False`` (the noise holds its low frequencies). With ``drift=True`` its
        annotations ``gt_displacement_um`` and ``gt_displacement_sampling_frequency`` hold the
        units' vertical displacement over time.
    sorting : spikeinterface.core.NumpySorting
        The ground truth: spike frames of each unit (unit ids ``"0"``, ``"1"``, ...) and the
        unit properties ``bursting`` (bool), ``cell_type`` (``"narrow"`` | ``"broad"``),
        ``firing_rate_hz`` (target rate), ``refractory_period_ms``, ``peak_amplitude_uv``,
        ``gt_unit_locations`` (x, y, z in µm) and ``main_channel_id``.

    Notes
    -----
    **Noise** (:class:`SimulatedNoiseRecording`): three components, each scaled to a share of the
    band variance (:data:`NOISE_SHARES`): latent ``1/f^alpha`` sources (``alpha`` in 0.8-1.2)
    every 75 µm of depth with Gaussian profiles 50-150 µm wide, mixed so that each channel
    receives unit variance (correlation falls with distance); one ``1/f^alpha`` common-mode
    source on all channels; independent noise per channel, white with a low-frequency shelf,
    whose level varies ±30 % between channels. All roll off above 30 % of the sampling frequency.
    The median band level is set to ``noise_level`` from the filters' exact responses.

    **Units**: 30 % narrow and 70 % broad spikes (:data:`NARROW_PARAMS`, :data:`BROAD_PARAMS`),
    spatial decay 20-60 µm, each with a return-current pole 30-100 µm along the depth (its
    waveform changes across channels), stratified over the probe's depth, the peak channel's
    trough drawn log-uniformly in 40-250 µV. Distinct units' templates, compared on each unit's
    12 channels nearest its peak channel (ordered by distance) with a cosine similarity tolerant
    to lags of ±3 samples, 32 channels and 10 units, seeds 0-4: each unit's best match to any
    other has a median of 0.80-0.87 (smallest 0.22-0.67); all pairs, a median of 0.43-0.57.
    SpikeInterface's ``generate_ground_truth_recording`` gives 0.94-0.95 (smallest 0.80-0.94)
    on the same measure. 384 Neuropixels channels, 50 units: 0.87 (smallest 0.60).

    **Spike trains**: rates lognormal around 5 Hz (clipped to 1-30 Hz), dead time 1.5-2.5 ms
    per unit, 30 % of units bursting (30-70 % of their firing events are bursts of 2-5 spikes
    3-8 ms apart); spikes lie where their whole waveform fits in the recording. Each spike's
    amplitude is jittered by 10 % (clipped to ±30 %) and shrinks by 10 % per rank in a burst.
    Templates have no sub-sample jitter.

    **Drift**: SpikeInterface's own path (as ``generate_drifting_recording``): templates
    regenerated at unit positions every 2 µm of displacement (``DriftingTemplates``), injected by
    ``InjectDriftingTemplatesRecording`` with the displacement sampled at 5 Hz.

    **Band noise with the spikes**: the median level SpikeInterface measures on the whole
    recording is 1-15 % above ``noise_level`` on 32 channels with 10 units (5.28, 5.75 and
    5.33 µV for 5 µV, seeds 0-2), 1 % on 384 channels.

    **Cost** (one thread, 1 s chunks, a shared 2-core machine): 32 channels x 60 s materialise in
    about 3 s, 384 channels x 60 s in about 35 s, most of it drawing the Gaussian noise.
    """
    num_channels = check_int("num_channels", num_channels, minimum=1)
    num_units = check_int("num_units", num_units, minimum=1)
    duration = check_float("duration", duration, low=0.0, low_inclusive=False)
    sampling_frequency = check_float("sampling_frequency", sampling_frequency,
                                     low=MIN_SAMPLING_FREQUENCY)
    check_option("probe", probe, PROBES)
    noise_level = check_float("noise_level", noise_level, low=0.0)
    drift = check_bool("drift", drift)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    seed = check_int("seed", seed, minimum=0)
    if probe == "neuropixels" and num_channels > NEUROPIXELS_MAX_CHANNELS:
        raise ValueError(f"num_channels must be at most {NEUROPIXELS_MAX_CHANNELS} with "
                         f"probe='neuropixels' (the contacts it records at once), got "
                         f"{num_channels}.")
    nbefore = int(MS_BEFORE * sampling_frequency / 1000.0)
    nafter = int(MS_AFTER * sampling_frequency / 1000.0)
    num_frames = int(round(duration * sampling_frequency))
    if num_frames < 2 * (nbefore + nafter):
        raise ValueError(f"duration must hold at least two spike waveforms "
                         f"({2 * (MS_BEFORE + MS_AFTER):g} ms), got {duration} s.")

    _require_ephys()
    from spikeinterface.core import InjectTemplatesRecording, NumpySorting

    # One independent stream per part, so that a change in one part leaves the others alone.
    units_seq, trains_seq, amplitude_seq, noise_seq, drift_seq = (
        np.random.SeedSequence(seed).spawn(5))
    probe_object = _make_probe(probe, num_channels)
    locations = np.asarray(probe_object.contact_positions, dtype=float)

    noise = noise_recording_class()[0](
        channel_locations=locations.tolist(), sampling_frequency=sampling_frequency,
        num_samples=num_frames, noise_level=noise_level,
        seed=int(noise_seq.generate_state(1)[0]))
    noise.set_probe(probe_object)
    noise.set_channel_gains(1.0)
    noise.set_channel_offsets(0.0)

    unit_locations, shapes, narrow, peak_amplitudes, templates = make_units(
        np.random.default_rng(units_seq), num_units, locations, sampling_frequency)
    samples, labels, burst_rank, rates, refractory_ms, bursting = spike_trains(
        np.random.default_rng(trains_seq), num_units, num_frames, sampling_frequency,
        (nbefore, nafter))
    amplitude_factor = spike_amplitude_factors(np.random.default_rng(amplitude_seq), burst_rank)

    unit_ids = np.array([str(unit) for unit in range(num_units)])
    sorting = NumpySorting.from_samples_and_labels([samples], [unit_ids[labels]],
                                                   sampling_frequency, unit_ids=unit_ids)
    main_channels = np.argmax(np.abs(templates).max(axis=1), axis=1)
    sorting.set_property("bursting", bursting)
    sorting.set_property("cell_type", np.where(narrow, "narrow", "broad"))
    sorting.set_property("firing_rate_hz", rates)
    sorting.set_property("refractory_period_ms", refractory_ms)
    sorting.set_property("peak_amplitude_uv", peak_amplitudes)
    sorting.set_property("gt_unit_locations", unit_locations)
    sorting.set_property("main_channel_id", noise.channel_ids[main_channels])
    sorting.name = "SimulatedGroundTruthSorting"

    if drift:
        recording = _inject_drifting(noise, sorting, probe_object, unit_locations, shapes,
                                     amplitude_factor, duration,
                                     np.random.default_rng(drift_seq))
    else:
        recording = InjectTemplatesRecording(sorting, templates, nbefore=nbefore,
                                             amplitude_factor=amplitude_factor,
                                             parent_recording=noise)
    recording.annotate(is_filtered=False)
    recording.name = "SimulatedRecording"
    return recording, sorting


def _require_ephys():
    """Raise an ImportError naming the ``ephys`` extra when SpikeInterface is missing."""
    try:
        import probeinterface  # noqa: F401
        import spikeinterface.core  # noqa: F401
    except ImportError as err:
        raise ImportError("simulate_recording needs spikeinterface and probeinterface: "
                          "pip install 'mne_dualdiv[ephys]'") from err


def _make_probe(probe, num_channels):
    """The probeinterface Probe of ``num_channels`` contacts, wired in order."""
    import probeinterface

    if probe == "neuropixels":
        from probeinterface.neuropixels_tools import build_neuropixels_probe

        probe_object = build_neuropixels_probe("NP1000").get_slice(np.arange(num_channels))
    else:
        num_columns = 1 if num_channels == 1 else 2
        per_column = [num_channels - num_channels // 2, num_channels // 2][:num_columns]
        probe_object = probeinterface.generate_multi_columns_probe(
            num_columns=num_columns, num_contact_per_column=per_column, xpitch=20, ypitch=20,
            contact_shapes="circle", contact_shape_params={"radius": 6})
    probe_object.set_device_channel_indices(np.arange(num_channels))
    return probe_object


def _inject_drifting(noise, sorting, probe_object, unit_locations, shapes, amplitude_factor,
                     duration, rng):
    """Units drifting vertically on ``noise``, by SpikeInterface's drifting-template machinery."""
    from spikeinterface.core import Templates
    from spikeinterface.generation import DriftingTemplates, InjectDriftingTemplatesRecording

    locations = np.asarray(probe_object.contact_positions, dtype=float)
    amplitude_um = rng.uniform(*DRIFT_RANGE_UM)
    period_s = rng.uniform(*DRIFT_PERIOD_FRACTION) * duration
    phase = rng.uniform(0.0, 2 * np.pi)
    times = np.arange(int(math.ceil(duration * DRIFT_SAMPLING_FREQUENCY)) + 1) \
        / DRIFT_SAMPLING_FREQUENCY
    displacement = 0.5 * amplitude_um * np.sin(2 * np.pi * times / period_s + phase)
    half_span = DRIFT_STEP_UM * math.ceil(0.5 * amplitude_um / DRIFT_STEP_UM)
    steps = np.arange(-half_span, half_span + DRIFT_STEP_UM / 2, DRIFT_STEP_UM)
    displacements = np.column_stack([np.zeros_like(steps), steps])
    moved = np.stack([
        unit_templates(locations, unit_locations + np.array([0.0, step, 0.0]),
                        sorting.sampling_frequency, shapes) for step in steps])
    static = moved[np.searchsorted(steps, 0.0)]
    templates = Templates(templates_array=static, sampling_frequency=sorting.sampling_frequency,
                          nbefore=int(MS_BEFORE * sorting.sampling_frequency / 1000.0),
                          probe=probe_object, is_in_uV=True, unit_ids=sorting.unit_ids,
                          channel_ids=noise.channel_ids)
    drifting = DriftingTemplates.from_static_templates(templates)
    drifting.templates_array_moved = moved
    drifting.displacements = displacements
    vectors = np.zeros((len(times), 2, 1), dtype=np.float32)
    vectors[:, 1, 0] = displacement
    recording = InjectDriftingTemplatesRecording(
        sorting=sorting, drifting_templates=drifting, displacement_vectors=[vectors],
        displacement_sampling_frequency=DRIFT_SAMPLING_FREQUENCY,
        displacement_unit_factor=np.ones((sorting.get_num_units(), 1), dtype=np.float32),
        parent_recording=noise, amplitude_factor=amplitude_factor)
    recording.annotate(gt_displacement_um=displacement.round(3).tolist(),
                       gt_displacement_sampling_frequency=DRIFT_SAMPLING_FREQUENCY)
    return recording
