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

import functools
import math
import threading

import numpy as np

from .._checks import check_bool, check_float, check_int, check_option

#: Probe layouts of :func:`simulate_recording`.
PROBES = ("linear", "neuropixels")
#: Contacts a Neuropixels 1.0 probe records at once (bank 0 of its 960 sites).
NEUROPIXELS_MAX_CHANNELS = 384

#: The band in which ``noise_level`` holds, in Hz: SpikeInterface's ``bandpass_filter``
#: defaults (5th-order Butterworth applied forward and backward), the band sorters detect in.
BAND_HZ = (300.0, 6000.0)
BAND_FILTER_ORDER = 5
#: Lowest sampling frequency accepted: the band's upper edge must stay below Nyquist, and a
#: 0.1 ms depolarisation must span at least one sample.
MIN_SAMPLING_FREQUENCY = 10000.0

#: Share of a channel's band variance in each noise component (before the independent part's
#: per-channel level): independent noise dominates, as on real probes after amplification, and
#: the rest makes neighbouring channels correlate at about 0.4 and distant ones at about 0.1.
NOISE_SHARES = {"independent": 0.6, "correlated": 0.3, "common": 0.1}
#: Range of the per-channel factor on the independent noise's level (±30 %).
CHANNEL_LEVEL_RANGE = (0.7, 1.3)
#: Spacing of the latent correlated sources along depth and the range of their Gaussian
#: profiles' widths (standard deviations), in µm: neighbouring sources overlap, so that the
#: correlation decays smoothly with distance over 100-300 µm.
LATENT_SPACING_UM = 75.0
LATENT_WIDTH_UM = (50.0, 150.0)
#: Range of the spectral exponents ``alpha`` of the ``1/f^alpha`` sources.
ALPHA_RANGE = (0.8, 1.2)
#: Below this frequency the ``1/f`` spectra are flat (Hz): a finite variance.
ONE_OVER_F_FLOOR_HZ = 2.0
#: The noise rolls off above this fraction of the sampling frequency (first order, as an
#: amplifier's anti-aliasing filter): 9 kHz at 30 kHz.
LOWPASS_FRACTION = 0.3
#: The independent noise's low-frequency shelf: a pole and a zero (Hz), +14 dB below 30 Hz.
SHELF_POLE_HZ, SHELF_ZERO_HZ = 30.0, 150.0
#: Frames per noise block (about 1.1 s at 30 kHz) and taps of the ``1/f`` kernels (0.55 s):
#: a block's ``1/f`` part is the convolution of its white noise and the previous block's last
#: ``KERNEL_TAPS - 1`` frames, an FFT of 49152 = 3 x 2**14 points.
BLOCK_FRAMES = 32768
KERNEL_TAPS = 16385

#: Templates: cut-out before and after the trough (ms); the longest waveform (0.2 ms
#: depolarisation, 0.9 ms repolarisation, 1.8 ms recovery) fits in ``MS_AFTER``.
MS_BEFORE, MS_AFTER = 1.0, 3.0
#: Cosine ramps at both ends of each template (ms): the slowest return components have not
#: quite returned to zero 3 ms after the trough (0.2 % of the peak).
TAPER_MS = 0.2
#: Share of narrow-spiking units (putative interneurons) and the two classes' waveform
#: parameters for :func:`~spikeinterface.core.generate.generate_templates` (ranges drawn
#: uniformly). Narrow: trough-to-peak 0.15-0.3 ms and a large after-hyperpolarisation (the
#: smoothing makes it up to 0.85 of the trough); broad: 0.45-0.9 ms, slow recovery, small
#: positive phase.
NARROW_FRACTION = 0.3
NARROW_PARAMS = dict(depolarization_ms=(0.06, 0.10), repolarization_ms=(0.15, 0.30),
                     recovery_ms=(0.4, 0.9), positive_amplitude=(0.2, 0.45),
                     smooth_ms=(0.02, 0.035))
BROAD_PARAMS = dict(depolarization_ms=(0.10, 0.20), repolarization_ms=(0.45, 0.90),
                    recovery_ms=(0.8, 1.8), positive_amplitude=(0.05, 0.35),
                    smooth_ms=(0.04, 0.08))
#: Parameters shared by both classes: spatial decay (µm), propagation speed (µm/ms) and the
#: anisotropy of the footprint.
SHARED_PARAMS = dict(spatial_decay=(20.0, 60.0), propagation_speed=(250.0, 400.0),
                     ellipse_shrink=(0.4, 1.0), ellipse_angle=(0.0, 2 * np.pi))
#: The return-current component of each unit (the dipole's other pole, along the dendrite):
#: the same waveform, 1.5-3x slower to rise and smoother, up to 1.5x slower to repolarise,
#: opposite in sign, centred 30-100 µm above or below the unit with a spatial decay of
#: 30-80 µm, weighted 0.2-0.7 of the unit's own component, and less where needed so that every
#: unit's largest positive deflection stays below ``CREST_TO_TROUGH`` of its trough (the sign
#: sorters detect). Without it, units
#: of one class look alike on their 12 nearest channels (nearest distinct unit at 0.93 cosine
#: median, as SpikeInterface's own units); with it the waveform changes shape across channels,
#: as real units' do.
RETURN_SLOWER = (1.5, 3.0)
RETURN_REPOLARISATION_SLOWER = (1.0, 1.5)
RETURN_OFFSET_UM = (30.0, 100.0)
RETURN_DECAY_UM = (30.0, 80.0)
RETURN_WEIGHT = (0.2, 0.7)
CREST_TO_TROUGH = 0.8
#: Peak amplitude on the peak channel (µV), drawn log-uniformly.
AMPLITUDE_RANGE_UV = (40.0, 250.0)
#: Distance of the units from the probe's plane and their margin beyond its contacts (µm).
UNIT_Z_RANGE_UM = (5.0, 45.0)
UNIT_MARGIN_UM = 20.0

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

#: Drift: rigid vertical sinusoid of 20-40 µm peak to peak, period 0.5-1 times the duration,
#: sampled at 5 Hz; templates precomputed every ``DRIFT_STEP_UM``.
DRIFT_RANGE_UM = (20.0, 40.0)
DRIFT_PERIOD_FRACTION = (0.5, 1.0)
DRIFT_SAMPLING_FREQUENCY = 5.0
DRIFT_STEP_UM = 2.0

# Streams of the noise's random numbers (the second entry of each block's seed).
_STREAM_SOURCES, _STREAM_INDEPENDENT = 0, 1


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

    noise = _noise_recording_class()[0](
        channel_locations=locations.tolist(), sampling_frequency=sampling_frequency,
        num_samples=num_frames, noise_level=noise_level,
        seed=int(noise_seq.generate_state(1)[0]))
    noise.set_probe(probe_object)
    noise.set_channel_gains(1.0)
    noise.set_channel_offsets(0.0)

    unit_locations, shapes, narrow, peak_amplitudes, templates = _make_units(
        np.random.default_rng(units_seq), num_units, locations, sampling_frequency)
    samples, labels, burst_rank, rates, refractory_ms, bursting = _spike_trains(
        np.random.default_rng(trains_seq), num_units, num_frames, sampling_frequency,
        (nbefore, nafter))
    amplitude_rng = np.random.default_rng(amplitude_seq)
    amplitude_factor = (np.clip(amplitude_rng.normal(1.0, AMPLITUDE_JITTER, len(samples)),
                                *AMPLITUDE_CLIP)
                        * BURST_ATTENUATION ** burst_rank).astype(np.float32)

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


def _make_units(rng, num_units, channel_locations, sampling_frequency):
    """Unit locations, waveform parameters, narrow mask, peak amplitudes (µV) and templates.

    The return-current weights are lowered where a unit's crest would pass ``CREST_TO_TROUGH``
    of its trough; then each unit is scaled to its peak amplitude.
    """
    unit_locations = _unit_locations(rng, num_units, channel_locations)
    shapes, narrow = _unit_shapes(rng, num_units)
    peak_amplitudes = np.exp(rng.uniform(*np.log(AMPLITUDE_RANGE_UV), size=num_units))
    shapes["scale"] = np.ones(num_units)
    components = _components(channel_locations, unit_locations, sampling_frequency, shapes)
    for _ in range(32):  # the weights shrink by 0.8 at most 32 times, to 0.1 % of their value
        templates = _combine(*components, shapes)
        too_positive = templates.max(axis=(1, 2)) > -CREST_TO_TROUGH * templates.min(axis=(1, 2))
        if not too_positive.any():
            break
        shapes["return_weight"][too_positive] *= 0.8
    shapes["scale"] = peak_amplitudes / np.abs(templates).max(axis=(1, 2))
    return unit_locations, shapes, narrow, peak_amplitudes, _combine(*components, shapes)


def _spike_trains(rng, num_units, num_frames, sampling_frequency, margins):
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


def _unit_locations(rng, num_units, channel_locations):
    """(num_units, 3) positions in µm, stratified over the probe's depth (shuffled)."""
    low, high = channel_locations.min(axis=0), channel_locations.max(axis=0)
    depth = (low[1] - UNIT_MARGIN_UM + (high[1] - low[1] + 2 * UNIT_MARGIN_UM)
             * (np.arange(num_units) + rng.random(num_units)) / num_units)
    return np.column_stack([
        rng.uniform(low[0] - UNIT_MARGIN_UM, high[0] + UNIT_MARGIN_UM, num_units),
        rng.permutation(depth),
        rng.uniform(*UNIT_Z_RANGE_UM, num_units),
    ])


def _unit_shapes(rng, num_units):
    """Per-unit waveform parameters and the narrow-spike mask.

    A dict of the unit's own ``generate_templates`` parameters (``"own"``), those of its
    return-current component (``"return"``), that component's offset (``"return_offset_um"``,
    (num_units, 3)) and weight (``"return_weight"``).
    """
    narrow = np.zeros(num_units, dtype=bool)
    narrow[rng.choice(num_units, int(round(NARROW_FRACTION * num_units)), replace=False)] = True
    own = {}
    for name in NARROW_PARAMS:
        own[name] = np.where(narrow, rng.uniform(*NARROW_PARAMS[name], num_units),
                             rng.uniform(*BROAD_PARAMS[name], num_units))
    for name, bounds in SHARED_PARAMS.items():
        own[name] = rng.uniform(*bounds, num_units)
    own["alpha"] = np.ones(num_units)  # amplitudes are set afterwards, on the peak channel
    own["spatial_power"] = np.full(num_units, 2.0)  # unused by the exponential profile
    returning = dict(own)
    slower = rng.uniform(*RETURN_SLOWER, num_units)
    returning["depolarization_ms"] = own["depolarization_ms"] * slower
    returning["smooth_ms"] = own["smooth_ms"] * slower
    returning["repolarization_ms"] = own["repolarization_ms"] * rng.uniform(
        *RETURN_REPOLARISATION_SLOWER, num_units)
    # The slower repolarisation must still fit in MS_AFTER with the recovery.
    returning["recovery_ms"] = np.minimum(own["recovery_ms"],
                                          MS_AFTER - 0.1 - returning["repolarization_ms"])
    returning["spatial_decay"] = rng.uniform(*RETURN_DECAY_UM, num_units)
    offset = np.zeros((num_units, 3))
    offset[:, 1] = rng.choice([-1.0, 1.0], num_units) * rng.uniform(*RETURN_OFFSET_UM, num_units)
    shapes = {"own": own, "return": returning, "return_offset_um": offset,
              "return_weight": rng.uniform(*RETURN_WEIGHT, num_units)}
    return shapes, narrow


def _components(channel_locations, unit_locations, sampling_frequency, shapes):
    """The units' own and return-current templates (num_units, num_samples, num_channels)."""
    from spikeinterface.core.generate import generate_templates

    return [generate_templates(channel_locations, locations, sampling_frequency, MS_BEFORE,
                               MS_AFTER, unit_params=params, mode="ellipsoid",
                               spatial_profile="exponential").astype(np.float32)
            for locations, params in ((unit_locations, shapes["own"]),
                                      (unit_locations + shapes["return_offset_um"],
                                       shapes["return"]))]


def _combine(own, returning, shapes):
    """Dense templates (num_units, num_samples, num_channels) in µV, float32.

    Tapered over ``TAPER_MS`` at both ends, so that an injected spike starts and ends at zero.
    """
    weight = shapes["return_weight"][:, None, None].astype(np.float32)
    scale = shapes["scale"][:, None, None].astype(np.float32)
    num_samples = own.shape[1]
    ramp = max(1, int(round(TAPER_MS * num_samples / (MS_BEFORE + MS_AFTER))))
    taper = np.ones(num_samples, dtype=np.float32)
    taper[:ramp] = taper[-ramp:][::-1] = np.sin(0.5 * np.pi * (np.arange(ramp) + 0.5) / ramp) ** 2
    return scale * (own - weight * returning) * taper[None, :, None]


def _unit_templates(channel_locations, unit_locations, sampling_frequency, shapes):
    """Dense templates of units at ``unit_locations`` (num_units, num_samples, num_channels)."""
    return _combine(*_components(channel_locations, unit_locations, sampling_frequency, shapes),
                    shapes)


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
        _unit_templates(locations, unit_locations + np.array([0.0, step, 0.0]),
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


# --- noise -----------------------------------------------------------------------------------


def _band_power_response(frequencies, sampling_frequency):
    """Power response of SpikeInterface's default band-pass (forward-backward Butterworth)."""
    from scipy import signal

    high = min(BAND_HZ[1], 0.45 * sampling_frequency)
    sos = signal.butter(BAND_FILTER_ORDER, [BAND_HZ[0], high], btype="bandpass",
                        fs=sampling_frequency, output="sos")
    _, response = signal.sosfreqz(sos, worN=frequencies, fs=sampling_frequency)
    return np.abs(response) ** 4  # filtered twice: amplitude |H|**2, power |H|**4


def _band_variance(power, band_power, weights):
    """Variance in the band of unit white noise through a filter of power response ``power``."""
    return float(np.sum(weights * power * band_power) / np.sum(weights))


def _one_over_f_kernel(alpha, sampling_frequency):
    """A zero-phase FIR kernel (``KERNEL_TAPS``) of amplitude ``f**(-alpha/2)``, first-order
    roll-off above ``LOWPASS_FRACTION * fs``, flat below ``ONE_OVER_F_FLOOR_HZ``."""
    n = KERNEL_TAPS - 1
    frequencies = np.fft.rfftfreq(n, 1.0 / sampling_frequency)
    amplitude = (np.maximum(frequencies, ONE_OVER_F_FLOOR_HZ) / ONE_OVER_F_FLOOR_HZ) \
        ** (-alpha / 2.0)
    amplitude /= np.sqrt(1.0 + (frequencies / (LOWPASS_FRACTION * sampling_frequency)) ** 2)
    kernel = np.roll(np.fft.irfft(amplitude, n), n // 2)
    kernel = np.append(kernel, kernel[0])  # symmetric, odd length
    return kernel * np.hanning(KERNEL_TAPS)


def _independent_filter(sampling_frequency):
    """(b, a) of the independent noise: a low-frequency shelf then a first-order low-pass."""
    from scipy import signal

    pole = np.exp(-2 * np.pi * SHELF_POLE_HZ / sampling_frequency)
    zero = np.exp(-2 * np.pi * SHELF_ZERO_HZ / sampling_frequency)
    lowpass_b, lowpass_a = signal.butter(1, LOWPASS_FRACTION * sampling_frequency,
                                         fs=sampling_frequency)
    return np.convolve([1.0, -zero], lowpass_b), np.convolve([1.0, -pole], lowpass_a), pole


class _NoiseModel:
    """Everything that defines the noise, derived from its plain arguments and seed.

    Kernels, mixing weights and per-channel levels are computed once, so that each block of
    frames is a pure function of ``(seed, block_index)``.
    """

    def __init__(self, channel_locations, sampling_frequency, noise_level, seed):
        from scipy import signal

        rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
        locations = np.asarray(channel_locations, dtype=float).reshape(len(channel_locations), -1)
        depth = locations[:, -1]
        num_channels = len(depth)
        # Latent sources every LATENT_SPACING_UM over the depth, one width beyond each end.
        margin = LATENT_WIDTH_UM[1]
        num_latent = int(np.floor((np.ptp(depth) + 2 * margin) / LATENT_SPACING_UM)) + 1
        centres = depth.min() - margin + LATENT_SPACING_UM * np.arange(num_latent) \
            + rng.uniform(-0.25, 0.25, num_latent) * LATENT_SPACING_UM
        widths = rng.uniform(*LATENT_WIDTH_UM, num_latent)
        strengths = rng.uniform(0.5, 1.5, num_latent)
        mixing = strengths * np.exp(-0.5 * ((depth[:, None] - centres) / widths) ** 2)
        mixing /= np.linalg.norm(mixing, axis=1, keepdims=True)
        alphas = rng.uniform(*ALPHA_RANGE, num_latent + 1)  # the last one: the common mode
        levels = rng.uniform(*CHANNEL_LEVEL_RANGE, num_channels)

        # Each component scaled to unit variance in the band, from exact responses.
        grid = 2 ** 16
        frequencies = np.fft.rfftfreq(grid, 1.0 / sampling_frequency)
        weights = np.full(len(frequencies), 2.0)
        weights[[0, -1]] = 1.0
        band_power = _band_power_response(frequencies, sampling_frequency)
        kernels = np.stack([_one_over_f_kernel(alpha, sampling_frequency) for alpha in alphas])
        kernel_power = np.abs(np.fft.rfft(kernels, grid, axis=1)) ** 2
        kernels /= np.sqrt([_band_variance(p, band_power, weights) for p in kernel_power])[:, None]
        b, a, pole = _independent_filter(sampling_frequency)
        _, response = signal.freqz(b, a, worN=frequencies, fs=sampling_frequency)
        b = b / np.sqrt(_band_variance(np.abs(response) ** 2, band_power, weights))

        shares = NOISE_SHARES
        channel_sd = np.sqrt(shares["correlated"] + shares["common"]
                             + shares["independent"] * levels ** 2)
        scale = noise_level / np.median(channel_sd)
        self.num_channels = num_channels
        self.fft_size = BLOCK_FRAMES + KERNEL_TAPS - 1
        self.kernel_spectra = np.fft.rfft(kernels, self.fft_size, axis=1).astype(np.complex64)
        # (num_latent + 1, num_channels): latent mixing, then the common mode's equal weights.
        self.source_weights = (scale * np.vstack([
            np.sqrt(shares["correlated"]) * mixing.T,
            np.full((1, num_channels), np.sqrt(shares["common"]))])).astype(np.float32)
        self.independent_b, self.independent_a = b.astype(np.float32), a.astype(np.float32)
        self.independent_levels = (scale * np.sqrt(shares["independent"]) * levels).astype(
            np.float32)
        # Frames of the previous block that warm the independent filter up: its slowest pole
        # decays to 1e-10 over them.
        self.warmup = int(math.ceil(np.log(1e-10) / np.log(pole)))
        self.seed = int(seed)

    def _white(self, stream, block_index, num_rows, tail):
        """Unit white noise (num_rows, tail + BLOCK_FRAMES): the previous block's last ``tail``
        frames, then this block's.

        Each block's tail is drawn first from its generator, so that the next block reads it
        without drawing the whole block again.
        """
        white = np.empty((num_rows, tail + BLOCK_FRAMES), dtype=np.float32)
        previous = np.random.default_rng([self.seed, stream, block_index])
        white[:, :tail] = previous.standard_normal((num_rows, tail), dtype=np.float32)
        current = np.random.default_rng([self.seed, stream, block_index + 1])
        white[:, -tail:] = current.standard_normal((num_rows, tail), dtype=np.float32)
        white[:, tail:-tail] = current.standard_normal((num_rows, BLOCK_FRAMES - tail),
                                                       dtype=np.float32)
        return white

    def block(self, block_index):
        """Frames ``[block_index * BLOCK_FRAMES, (block_index + 1) * BLOCK_FRAMES)``, (frames,
        channels) float32."""
        from scipy import fft, signal

        taps = KERNEL_TAPS - 1
        white = self._white(_STREAM_SOURCES, block_index, len(self.source_weights), taps)
        sources = fft.irfft(fft.rfft(white, axis=1, workers=1) * self.kernel_spectra,
                            self.fft_size, axis=1, workers=1)[:, taps:]
        traces = self.source_weights.T @ sources  # (channels, frames)
        white = self._white(_STREAM_INDEPENDENT, block_index, self.num_channels, self.warmup)
        independent = signal.lfilter(self.independent_b, self.independent_a, white, axis=1)
        independent = independent[:, self.warmup:]
        independent *= self.independent_levels[:, None]
        traces += independent
        return np.ascontiguousarray(traces.T, dtype=np.float32)


@functools.cache
def _noise_recording_class():
    """``(SimulatedNoiseRecording, SimulatedNoiseSegment)``, defined on first use.

    SpikeInterface is imported then, not when this module is.
    """
    from spikeinterface.core import BaseRecording, BaseRecordingSegment

    class SimulatedNoiseRecording(BaseRecording):
        """Lazy, seeded noise of a probe: correlated ``1/f``, common mode, per-channel noise.

        Any frame range is computed from seeded blocks of :data:`BLOCK_FRAMES` frames, each a
        pure function of ``(seed, block_index)``, so that overlapping ``get_traces`` calls agree
        exactly and the recording rebuilds from its plain-value ``_kwargs`` (``dump``/``load``,
        ``n_jobs``). See :func:`simulate_recording` for the model.

        Parameters
        ----------
        channel_locations : list of list of float
            (num_channels, 2) contact positions in µm; the last coordinate is the depth.
        sampling_frequency : float
            Sampling frequency in Hz.
        num_samples : int
            Frames in the (single) segment.
        noise_level : float
            Median band (300-6000 Hz) noise level of the channels, in µV.
        seed : int
            Seed of the noise.
        """

        def __init__(self, channel_locations, sampling_frequency, num_samples, noise_level, seed):
            num_channels = len(channel_locations)
            BaseRecording.__init__(self, sampling_frequency=float(sampling_frequency),
                                   channel_ids=[str(c) for c in range(num_channels)],
                                   dtype="float32")
            model = _NoiseModel(channel_locations, float(sampling_frequency), float(noise_level),
                                int(seed))
            self.add_recording_segment(SimulatedNoiseSegment(float(sampling_frequency),
                                                             int(num_samples), model))
            self._kwargs = dict(channel_locations=[list(map(float, row))
                                                   for row in channel_locations],
                                sampling_frequency=float(sampling_frequency),
                                num_samples=int(num_samples), noise_level=float(noise_level),
                                seed=int(seed))

    class SimulatedNoiseSegment(BaseRecordingSegment):
        """The single segment of :class:`SimulatedNoiseRecording`.

        It keeps its last two blocks, so that reading in chunks shorter than a block (1 s, as
        SpikeInterface's jobs do) computes each block once.
        """

        def __init__(self, sampling_frequency, num_samples, model):
            BaseRecordingSegment.__init__(self, sampling_frequency=sampling_frequency)
            self.num_samples = num_samples
            self.model = model
            self._cache = {}
            self._cache_lock = threading.Lock()  # thread-pool jobs share one segment

        def get_num_samples(self):
            return self.num_samples

        def _block(self, block_index):
            with self._cache_lock:
                block = self._cache.get(block_index)
            if block is None:
                block = self.model.block(block_index)
                with self._cache_lock:
                    self._cache[block_index] = block
                    while len(self._cache) > 2:
                        self._cache.pop(next(iter(self._cache)))
            return block

        def get_traces(self, start_frame=None, end_frame=None, channel_indices=None):
            start_frame = 0 if start_frame is None else int(start_frame)
            end_frame = self.num_samples if end_frame is None else int(end_frame)
            traces = np.empty((max(end_frame - start_frame, 0), self.model.num_channels),
                              dtype=np.float32)
            for block_index in range(start_frame // BLOCK_FRAMES,
                                     (end_frame - 1) // BLOCK_FRAMES + 1):
                block_start = block_index * BLOCK_FRAMES
                low = max(start_frame, block_start)
                high = min(end_frame, block_start + BLOCK_FRAMES)
                if high > low:
                    traces[low - start_frame:high - start_frame] = \
                        self._block(block_index)[low - block_start:high - block_start]
            if channel_indices is not None:
                traces = traces[:, channel_indices]
            return traces

    for cls in (SimulatedNoiseRecording, SimulatedNoiseSegment):
        cls.__module__, cls.__qualname__ = __name__, cls.__name__
    return SimulatedNoiseRecording, SimulatedNoiseSegment


def __getattr__(name):
    # The classes need SpikeInterface: built on first access, so that the module imports
    # without it and ``spikeinterface.load`` (which reads ``module.ClassName``) still finds them.
    if name == "SimulatedNoiseRecording":
        return _noise_recording_class()[0]
    if name == "SimulatedNoiseSegment":
        return _noise_recording_class()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
