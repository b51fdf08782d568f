"""
.. _tut-neuropixels-sharing:

Share a synthetic Neuropixels recording instead of the real one
===============================================================

A lab that wants to share an extracellular recording (to let others test a spike sorter, a
drift-correction method or a detection threshold) may not be allowed to share the recording
itself. This tutorial fits :class:`mne_dualdiv.RecordingSynthesizer` on a 384-channel
Neuropixels 1.0 recording, makes a synthetic recording with the same probe, gains and channel
ids, reads its privacy report, saves it as a SpikeInterface binary folder that any spike
sorter reads, and runs the same preprocessing and peak detection on the real and the synthetic
recording.

No real recording ships with any package, so the "real" recording is simulated by
SpikeInterface (:func:`spikeinterface.core.generate_ground_truth_recording`) on a Neuropixels
1.0 probe built by probeinterface.

To run in well under a minute on one CPU core, the tutorial uses a 5 s recording, 300 real
windows and a tiny engine (``TINY`` below: 40 training steps, 2 bridges, a small network).
For a real recording remove ``generator=...`` and ``max_windows=...`` to get the recording
defaults (``RECORDING_GENERATOR_PARAMS``, 500 windows): a fit then takes minutes, and more on
longer recordings (``docs/recording.md`` measures it).
"""

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import spikeinterface.core as sc
import spikeinterface.preprocessing as spre
from probeinterface.neuropixels_tools import build_neuropixels_probe
from spikeinterface.sortingcomponents.peak_detection import detect_peaks

import mne_dualdiv

# %%
# A 384-channel Neuropixels 1.0 recording
# ---------------------------------------
# ``build_neuropixels_probe("NP1000")`` builds the 960-contact shank of a Neuropixels 1.0
# probe without downloading anything; its first 384 contacts are the default recording bank.
# The simulated recording (30 units, 5 s at 30 kHz) is stored as a Neuropixels acquisition
# system stores it: int16 values with a gain of 2.34375 µV per bit.
probe = build_neuropixels_probe("NP1000").get_slice(np.arange(384))
probe.set_device_channel_indices(np.arange(384))
simulated, sorting = sc.generate_ground_truth_recording(
    durations=[5.0], sampling_frequency=30000.0, probe=probe, num_units=30, seed=0)
gain = 2.34375  # µV per bit of the Neuropixels 1.0 action-potential band at gain 500
real = spre.scale(simulated, gain=1 / gain, offset=0.0, dtype="int16")
real.set_channel_gains(gain)
real.set_channel_offsets(0.0)
print(real)

# %%
# Fit the synthesizer
# -------------------
# The synthesizer reads ``max_windows`` windows of all 384 channels x 64 samples (2.1 ms),
# at random positions, chunk by chunk, and fits the engine on them; 20 % of the windows are
# held out (never trained on), which the privacy report uses below.
TINY = dict(max_steps=40, batch_size=32, n_bridges=2, eval_every=20, patience=1, n_filters=8,
            hidden=32, n_eval_draws=2, n_local_draws=4, walk_steps=20, walk_noise=0.7)
synthesizer = mne_dualdiv.RecordingSynthesizer(
    max_windows=300, random_state=0, generator=mne_dualdiv.DualDivergenceGenerator(**TINY))
synthesizer.fit(real)
print(f"{len(synthesizer.window_positions_)} windows of {synthesizer.window_size_} samples; "
      f"divergence {synthesizer.generator_.divergence_:.2f} nats (held out)")

# %%
# A synthetic recording with the same probe, gains and channel ids
# -----------------------------------------------------------------
# ``sample`` returns a *lazy* SpikeInterface recording: its frames are made from a seed when
# ``get_traces`` asks for them. ``pool_size`` distinct synthetic windows are made once by the
# engine and arranged, block by block, into the recording. ``file_path`` is where the fitted
# synthesizer is written: the lazy recording re-creates itself from it. That file holds real
# windows (the engine walks from them), so it stays private with the real data.
workdir = Path(tempfile.mkdtemp(prefix="mne_dualdiv_np_"))
synthetic = synthesizer.sample(2.0, random_state=1, pool_size=32,
                               file_path=workdir / "private-synthesizer.pt")
print(synthetic)

assert synthetic.get_num_channels() == 384
assert list(synthetic.get_channel_ids()) == list(real.get_channel_ids())
np.testing.assert_array_equal(synthetic.get_channel_gains(), real.get_channel_gains())
np.testing.assert_array_equal(synthetic.get_channel_offsets(), real.get_channel_offsets())
np.testing.assert_array_equal(synthetic.get_channel_locations(), real.get_channel_locations())
assert synthetic.get_dtype() == real.get_dtype()
print("probe:", synthetic.get_probe().manufacturer, synthetic.get_probe().model_name,
      f"{synthetic.get_probe().get_contact_count()} contacts")
print("first channel ids:", synthetic.get_channel_ids()[:4], "gains (µV):",
      np.unique(synthetic.get_channel_gains()), "dtype:", synthetic.get_dtype())

# %%
# The privacy report, read in words
# ---------------------------------
# :meth:`~mne_dualdiv.RecordingSynthesizer.privacy_report` cuts windows from the synthetic
# recording and compares them with the engine's real windows: the *members* (training
# windows) and the *non-members* (held-out windows of the same recording, never trained on).
# A synthetic recording that leaks its training data has windows that sit closer to the
# members than to the non-members.
privacy = synthesizer.privacy_report(synthetic, n_windows=512, random_state=0)
print(privacy)

# %%
# How to read it, number by number:
#
# - *closest-record distance*: how far a synthetic window is from the nearest training window,
#   next to how far an unseen real window is. A ratio near or above 1 means the synthetic
#   windows are no closer to the training data than new real data would be; well below 1
#   would mean near-copies.
# - *near-copies*: windows that the engine's guard would call a copy of one training window.
#   Sharing is only reasonable when this is at or near 0 %.
# - *membership-inference AUC*: how well an attacker holding the synthetic recording tells
#   which real windows were trained on, by their distance to it. 0.5 is chance; the reference
#   next to it is the same attack when real held-out windows are released instead.
# - *closer to a member* and the *distance ratio* say the same from the synthetic side: 50 %
#   and 1 mean no preference for the training windows. They are the most sensitive of the
#   four: the engine's walks start from training windows, and a synthetic window can be
#   slightly nearer to its starting point than to any held-out window even when it is far
#   from both.
#
# The code below turns this report into sentences. With only 240 training and 60 held-out
# windows, and 32 distinct synthetic windows, the numbers move by several points from one
# seed to the next; read them next to their references, not as exact values.


def in_words(report):
    """A plain reading of a :class:`~mne_dualdiv.adapters.recording.PrivacyReport`."""
    copies = report.fraction_near_copies
    auc, reference = report.membership_inference_auc, report.reference_membership_inference_auc
    lines = [
        f"{copies:.0%} of the synthetic windows are near-copies of a training window"
        + (" (none)." if copies == 0 else ": do not share this recording."),
        "Synthetic windows are "
        + ("no closer to" if report.dcr_ratio >= 1 else "closer to")
        + f" the training windows than unseen real windows are (ratio {report.dcr_ratio:.2f}).",
        f"{report.share_closer_to_members:.0%} of them are nearer a training window than any "
        f"held-out one (50 % = no preference), but only by a factor {report.nndr:.3f} in "
        "distance (1 = none).",
        f"An attacker who holds the synthetic recording guesses membership with an AUC of "
        f"{auc:.2f}, against {reference:.2f} if real held-out windows were released instead "
        "(0.5 = chance)"
        + (": a measurable leak." if auc - reference > 0.05 else ": no clear leak."),
    ]
    return "\n".join(lines)


print(in_words(privacy))

# %%
# What the synthetic recording does *not* contain is stated in the module docstring of
# ``mne_dualdiv.adapters.recording``: no real trace, spike time or segment start. What it
# could still reveal is measured above, and depends on the engine settings: the tiny engine of
# this tutorial is not what one would share from. ``docs/recording.md`` (section 4) measures
# how the walk noise moves the membership-inference AUC and why the recording defaults use
# ``walk_noise=0.7``; a smaller ``pool_size`` bounds how much any recording can reveal (fewer
# distinct windows), at the cost of more repetition. Run the privacy report on the recording
# you are about to share, with the settings you shared it with.

# %%
# Save a folder that a spike sorter reads
# ---------------------------------------
# ``save(folder=...)`` writes the synthetic traces as a SpikeInterface binary folder (a raw
# ``.raw`` file plus JSON with the probe, gains and channel ids); this folder, not the
# synthesizer's file, is what one shares. :func:`spikeinterface.core.load` reads it back with
# everything in place.
shared = synthetic.save(folder=workdir / "synthetic_np1", n_jobs=1, progress_bar=False)
loaded = sc.load(workdir / "synthetic_np1")
print(loaded)
assert list(loaded.get_channel_ids()) == list(real.get_channel_ids())
np.testing.assert_array_equal(loaded.get_channel_gains(), real.get_channel_gains())
np.testing.assert_array_equal(loaded.get_channel_locations(), real.get_channel_locations())
np.testing.assert_array_equal(loaded.get_traces(end_frame=3000),
                              synthetic.get_traces(end_frame=3000))
print(sorted(path.name for path in (workdir / "synthetic_np1").iterdir()))

# %%
# Preprocessing and peak detection, real next to synthetic
# --------------------------------------------------------
# The usual first steps of a spike-sorting pipeline: a 300-6000 Hz band-pass filter, then
# SpikeInterface's peak detection (negative peaks beyond 5 median absolute deviations of each
# channel's noise) on the same 2 s of both recordings. The ``'by_channel'`` method needs only
# NumPy and counts a spike on every channel where it crosses the threshold;
# ``'locally_exclusive'`` (one peak per spike over neighbouring channels, ``radius_um``) needs
# numba, which this tutorial does not assume.
real_2s = real.frame_slice(0, loaded.get_num_frames())
job_kwargs = dict(n_jobs=1, chunk_duration="1s", progress_bar=False)
peaks_of = {}
for name, recording in (("real", real_2s), ("synthetic", loaded)):
    filtered = spre.bandpass_filter(recording, freq_min=300.0, freq_max=6000.0)
    noise = sc.get_noise_levels(filtered, return_in_uV=False, random_slices_kwargs=dict(seed=0),
                                **job_kwargs)
    peaks = detect_peaks(filtered, method="by_channel",
                         method_kwargs=dict(peak_sign="neg", detect_threshold=5.0,
                                            noise_levels=noise),
                         job_kwargs=job_kwargs)
    peaks_of[name] = peaks
    amplitudes = np.abs(peaks["amplitude"]) * gain
    print(f"{name:>9}: noise {np.median(noise) * gain:4.1f} µV (median MAD over channels); "
          f"{len(peaks):5d} peaks on {len(np.unique(peaks['channel_index']))} channels, "
          f"median amplitude {np.median(amplitudes):.0f} µV")

# %%
# Both recordings go through the same pipeline without any change: same probe, same
# channel neighbourhoods, same units. What the detector finds is another matter, and the
# lines above say how far apart they are: the noise level that sets each channel's threshold,
# then how many peaks cross it, on how many channels, and how large they are. In the run shown
# on this page the synthetic recording matches the real noise level but carries far fewer
# and smaller peaks: a tiny engine, trained for 40 steps on 240 windows of which few hold a
# large spike, reproduces the background better than the rare spikes. This is a measurement of
# the tutorial's settings, not of the method; fit with the defaults (and more windows) before
# judging a synthetic recording by its spikes, and compare the same numbers.
# Where on the probe the peaks fall, and how large they are:
fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
depth = real.get_channel_locations()[:, 1]
bins = np.linspace(depth.min(), depth.max(), 25)
for name, peaks in peaks_of.items():
    axes[0].hist(depth[peaks["channel_index"]], bins, histtype="step", lw=1.5, label=name)
    axes[1].hist(np.abs(peaks["amplitude"]) * gain, 30, histtype="step", lw=1.5, label=name)
axes[0].set(xlabel="Depth along the shank (µm)", ylabel="Peaks", title="Where", yscale="log")
axes[1].set(xlabel="|Peak amplitude| after filtering (µV)", ylabel="Peaks", title="How large",
            yscale="log")
axes[1].legend()
fig.tight_layout()

# %%
# Traces of a few neighbouring channels, real and synthetic, in µV:
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5), sharey=True)
channels = real.get_channel_ids()[100:108]
for ax, (name, recording) in zip(axes, (("real", real_2s), ("synthetic", loaded))):
    traces = recording.get_traces(start_frame=0, end_frame=1500, channel_ids=channels,
                                  return_in_uV=True)
    times = np.arange(len(traces)) / recording.sampling_frequency * 1000
    ax.plot(times, traces + 60 * np.arange(len(channels)), color="k", lw=0.6)
    ax.set(title=name, xlabel="Time (ms)")
axes[0].set_ylabel("Channel (offset by 60 µV)")
fig.tight_layout()

# %%
# Clean up the temporary folder (the private synthesizer file and the shared folder).
import shutil  # noqa: E402

del shared, loaded, synthetic
shutil.rmtree(workdir, ignore_errors=True)
