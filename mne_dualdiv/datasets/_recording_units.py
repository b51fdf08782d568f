"""The simulated recordings' units: varied waveforms with a return-current pole, as templates.

Per-unit parameters of SpikeInterface's :func:`~spikeinterface.core.generate.generate_templates`
drawn from two wide classes (narrow and broad spikes), each unit with a return-current
component along the depth, stratified over the probe and scaled to a peak amplitude of
40-250 µV (:func:`make_units`); :func:`unit_templates` regenerates the templates of moved units
(drift).
"""

import numpy as np

#: Templates: cut-out before and after the trough (ms); the longest waveform (0.2 ms
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


def make_units(rng, num_units, channel_locations, sampling_frequency):
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


def unit_templates(channel_locations, unit_locations, sampling_frequency, shapes):
    """Dense templates of units at ``unit_locations`` (num_units, num_samples, num_channels)."""
    return _combine(*_components(channel_locations, unit_locations, sampling_frequency, shapes),
                    shapes)
