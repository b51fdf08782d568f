"""
.. _tut-neuropixels-sharing:

Share a synthetic Neuropixels recording instead of the real one
===============================================================

A lab that wants others to test a spike sorter, a detection threshold or a drift-correction
method on its Neuropixels data may not be allowed to share the recording itself. This tutorial
fits :class:`mne_dualdiv.RecordingSynthesizer` on a Neuropixels recording, makes a synthetic
recording with the same probe, channel ids and gains, checks how SpikeInterface's own tools see
it next to the real one (:func:`~mne_dualdiv.adapters.recording.fidelity.fidelity_report`),
asks whether any of its units can be traced back to a real neuron
(:meth:`~mne_dualdiv.RecordingSynthesizer.privacy_report`), and writes the folder one would
share.

The synthesizer decomposes the recording and makes each part anew:

- **background**: a stationary Gaussian process fitted to the traces with the spikes masked
  out (each channel's power spectrum, the channel correlations below and in the spike band,
  each channel's offset), generated lazily from a seed;
- **units**: new spike templates drawn from a model of the real spike shapes (a Gaussian in
  the principal subspace of the detected spike snippets), each refused if it is as similar to
  a real unit as real units are to one another, placed on the probe where real units are
  dense, firing as renewal processes with the real population's rates, bursts, amplitude
  jitter and refractory period.

No real recording ships with any package, so the "real" recording here is simulated by
:func:`mne_dualdiv.datasets.simulate_recording` on the first 64 contacts of a Neuropixels 1.0
probe (1/f, spatially correlated noise; units of varied shapes, some bursting) and stored as a
Neuropixels acquisition system stores it: int16 values with a gain in µV per bit. 64 channels
and 15 s keep the tutorial under a minute; the same code runs on 384 channels and the whole
recording (``fit_duration`` and ``noise_duration`` bound what is read).
"""

# %%
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import spikeinterface.preprocessing as spre

import mne_dualdiv
from mne_dualdiv.adapters.recording.fidelity import fidelity_report
from mne_dualdiv.adapters.si_folders import read_recording_folder, write_recording_folder

# %%
# A Neuropixels recording
# -----------------------
# ``simulate_recording`` returns a lazy recording in µV and its ground truth (unused here: a
# real recording has none). We store it as int16 with the Neuropixels 1.0 action-potential
# gain (2.34375 µV per bit at gain 500), name the channels as SpikeInterface's SpikeGLX reader
# does, and add the ADC's ``inter_sample_shift`` property that the reader sets: all of it must
# survive in the synthetic recording.
n_channels, duration = 64, 15.0
simulated, _ = mne_dualdiv.datasets.simulate_recording(
    num_channels=n_channels, num_units=12, duration=duration, probe="neuropixels", seed=0)
gain_uV = 2.34375
real = spre.scale(simulated, gain=1 / gain_uV, dtype="int16").save(format="memory",
                                                                      progress_bar=False)
real.set_channel_gains(gain_uV)
real.set_channel_offsets(0.0)
real = real.rename_channels([f"imec0.ap#AP{i}" for i in range(n_channels)])
real.set_property("inter_sample_shift", (np.arange(n_channels) % 13) / 13)
print(real)

# %%
# Fit the synthesizer
# -------------------
# ``fit`` detects the spikes of the first ``fit_duration`` seconds (SpikeInterface's
# ``detect_peaks``, locally exclusive, 5 MAD), cuts a snippet around each of the first
# ``max_snippets`` on the 16 nearest channels, learns the unit model from the snippets and the
# background from ``noise_duration`` seconds of random one-second chunks. Nothing is loaded
# whole. The spikes after the first 500 are never learned from: the privacy report below
# compares synthetic spikes with them.
synthesizer = mne_dualdiv.RecordingSynthesizer(fit_duration=duration, noise_duration=3.0,
                                               max_snippets=500, random_state=0)
synthesizer.fit(real)
print(f"{synthesizer.peak_rate_:.1f} spikes/s detected, {synthesizer.n_real_units_} clusters; "
      f"refractory period {1000 * synthesizer.units_.refractory:.1f} ms; a synthetic unit may "
      f"be at most {synthesizer.units_.guard:.2f} similar to a real unit")

# %%
# A synthetic recording with the same probe, channel ids and gains
# ----------------------------------------------------------------
# ``sample`` returns a *lazy* SpikeInterface recording: ``get_traces`` computes the frames it
# is asked for from the seed (noise blocks seeded by position, spikes by segment), so a
# recording of hours costs nothing until it is read. It re-creates itself from
# ``file_path``, where the fitted synthesizer is written: that file holds the real clusters'
# mean templates (the guard needs them) and must stay private with the real data.
workdir = Path(tempfile.mkdtemp(prefix="mne_dualdiv_np_"))
synthetic = synthesizer.sample(duration, random_state=1,
                               file_path=workdir / "private-synthesizer.pt")
print(synthetic)

assert list(synthetic.channel_ids) == list(real.channel_ids)
assert synthetic.sampling_frequency == real.sampling_frequency
assert synthetic.get_dtype() == real.get_dtype()
np.testing.assert_array_equal(synthetic.get_channel_gains(), real.get_channel_gains())
np.testing.assert_array_equal(synthetic.get_channel_offsets(), real.get_channel_offsets())
np.testing.assert_array_equal(synthetic.get_channel_locations(), real.get_channel_locations())
np.testing.assert_array_equal(synthetic.get_property("inter_sample_shift"),
                              real.get_property("inter_sample_shift"))
probe = synthetic.get_probe()
print(f"probe: {probe.manufacturer} {probe.model_name}, {probe.get_contact_count()} contacts; "
      f"channel ids {synthetic.channel_ids[0]} .. {synthetic.channel_ids[-1]}; "
      f"gain {synthetic.get_channel_gains()[0]} µV per bit; dtype {synthetic.get_dtype()}")

# %%
# The synthetic recording comes with its own ground truth: the spikes of its units, which a
# spike sorter's output can be scored against.
truth = synthetic.get_ground_truth()
counts = [len(truth.get_unit_spike_train(unit)) for unit in truth.unit_ids]
print(f"{len(truth.unit_ids)} synthetic units, {sum(counts)} spikes; peak channels "
      f"{sorted(truth.get_property('peak_channel').tolist())}")

# %%
# Write the folder to share
# -------------------------
# :func:`~mne_dualdiv.adapters.si_folders.write_recording_folder` writes the synthetic traces
# as a SpikeInterface binary folder (a ``.raw`` file, the probe, gains and channel ids as
# JSON), never replacing a folder it did not write; any spike sorter reads it, and
# :func:`~mne_dualdiv.adapters.si_folders.read_recording_folder` (or
# ``spikeinterface.load``) reads it back. This folder, not the synthesizer's file, is what
# one shares, and what the checks below read (the lazy recording would compute every frame
# again for each of them).
shared = write_recording_folder(synthetic, workdir / "synthetic_np1", n_jobs=1,
                                chunk_duration="5s", progress_bar=False)
loaded = read_recording_folder(shared)
print(loaded)
assert list(loaded.channel_ids) == list(real.channel_ids)
np.testing.assert_array_equal(loaded.get_channel_gains(), real.get_channel_gains())
np.testing.assert_array_equal(loaded.get_channel_locations(), real.get_channel_locations())
print(sorted(path.name for path in shared.iterdir()))

# %%
# Real and synthetic traces side by side
# --------------------------------------
# A second of eight neighbouring channels around the busiest channel, in µV, in the spike band
# (300-6000 Hz) where a sorter looks. The two need not show the same spikes at the same
# times: the synthetic units are new neurons with new spike trains.
busiest = int(np.argmax(np.bincount(synthesizer.snippet_positions_[:, 2],
                                    minlength=n_channels)))
first = int(np.clip(busiest - 4, 0, n_channels - 8))
channel_ids = real.channel_ids[first:first + 8]
fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
for ax, (name, recording) in zip(axes, (("real", real), ("synthetic", loaded))):
    band = spre.bandpass_filter(recording, freq_min=300.0, freq_max=6000.0, dtype="float32")
    traces = band.get_traces(start_frame=30000, end_frame=60000, channel_ids=channel_ids,
                             return_in_uV=True)
    times = 1 + np.arange(len(traces)) / recording.sampling_frequency
    ax.plot(times, traces + 100 * np.arange(len(channel_ids)), color="k", lw=0.4)
    ax.set(title=name, xlabel="Time (s)")
axes[0].set_yticks(100 * np.arange(len(channel_ids)), channel_ids, fontsize=7)
axes[0].set_ylabel("Channel (offset by 100 µV)")
fig.tight_layout()

# %%
# How SpikeInterface's tools see both
# -----------------------------------
# :meth:`~mne_dualdiv.RecordingSynthesizer.privacy_report` compares each synthetic unit's
# template with the real clusters' (lag-tolerant cosine similarity), beside how similar
# distinct real units are to one another: a synthetic unit above that median would be matched
# to a real neuron by a unit-tracking tool. It also compares synthetic spikes with the real
# spikes the synthesizer learned from and with real spikes it never saw: synthetic spikes
# nearer the former than new real spikes are would be the signature of copies. The same
# spikes are the records of the membership attack ensemble used for epochs
# (:func:`~mne_dualdiv.metrics.membership_audit`, :doc:`/privacy`): its largest AUC is read
# beside that of a release of real spikes.
privacy = synthesizer.privacy_report(real, synthetic, random_state=0)

# %%
# :func:`~mne_dualdiv.adapters.recording.fidelity.fidelity_report` runs the same steps on both
# recordings: peaks (rate and amplitudes), band noise level, spectra and channel correlations
# of the background (samples near peaks masked), the lossless compression ratio. With
# ``sorter="tridesclous2"`` it also sorts both and compares unit counts and quality metrics;
# that takes minutes, so it is left out here.
report = fidelity_report(real, loaded, random_state=0, privacy=privacy)
print(report)
report.plot()

# %%
# Each line gives the real figure, the synthetic one, their ratio and the criterion it is
# held to (issue 17's acceptance: peak rate and amplitude percentiles within 25 %, band noise
# within 10 %, noise spectrum within 1 dB, noise correlation RMSE at most 0.1; privacy: no
# synthetic unit above the real median, at most half of the synthetic spikes closer to a
# learned spike than held-out real spikes are, the ensemble's largest membership AUC at most
# 0.58). A FAIL is a reason not to share, or to refit
# with more data (``fit_duration``, ``noise_duration``). ``report.passes()`` gives them as a
# dict, for a script:
print({name: "pass" if passed else "FAIL" for name, passed in report.passes().items()})

# %%
# What is copied, and what is not
# -------------------------------
# Copied from the real recording, and nothing else: channel ids and order, sampling
# frequency, dtype, gains and offsets, the probe (contacts, shanks, device channel indices),
# channel properties (except noise levels measured on the real traces) and annotations.
#
# Learned as summary statistics, and drawn anew: each channel's noise spectrum and offset and
# the channel correlations of the background; the principal subspace of the spike shapes; the
# real clusters' firing rates, bursting, amplitudes, amplitude jitter and refractory period;
# where on the probe units are dense (the real peak channels smoothed over 40 µm).
#
# Never copied into the synthetic recording: any real trace or noise segment, any real spike
# time, any real unit's template. The synthetic units' templates are new samples, each kept
# only below the similarity guard printed above.
#
# What stays private: the real recording, and the synthesizer's file
# (``private-synthesizer.pt``), which holds the real clusters' templates and statistics.

# %%
# A drifting probe
# ----------------
# Real probes move in the brain, and drift-correction methods are one thing a synthetic
# recording is shared to test. ``sample(..., motion=motion)`` takes a SpikeInterface
# :class:`~spikeinterface.core.motion.Motion`: the one ``correct_motion(real,
# output_motion=True)`` estimates on the real recording, or one written by hand, as here: the
# tissue moving 30 µm up and back over the recording (rigid: one spatial bin). Each synthetic
# spike is then drawn with its unit's template moved by the displacement at its time. The
# peaks' depth over time shows it (SpikeInterface's peak detection and localisation).
from spikeinterface.core.motion import Motion  # noqa: E402
from spikeinterface.sortingcomponents.peak_detection import detect_peaks  # noqa: E402
from spikeinterface.sortingcomponents.peak_localization import localize_peaks  # noqa: E402

bins_s = np.linspace(0.0, duration, 31)
motion = Motion(displacement=(15.0 - 15.0 * np.cos(2 * np.pi * bins_s / duration))[:, None],
                temporal_bins_s=bins_s, spatial_bins_um=np.array([0.0]))
drifting = synthesizer.sample(duration, random_state=1, motion=motion,
                              file_path=workdir / "private-synthesizer.pt")
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for ax, (name, recording) in zip(axes, (("synthetic, still", loaded),
                                        ("synthetic, drifting", drifting))):
    band = spre.bandpass_filter(recording, freq_min=300.0, freq_max=6000.0, dtype="float32")
    job = dict(n_jobs=1, progress_bar=False)
    peaks = detect_peaks(band, method="locally_exclusive",
                         method_kwargs=dict(detect_threshold=5), job_kwargs=job)
    depths = localize_peaks(band, peaks, method="center_of_mass", job_kwargs=job)["y"]
    ax.scatter(peaks["sample_index"] / band.sampling_frequency, depths, s=1, color="k",
               alpha=0.3)
    ax.set(title=name, xlabel="Time (s)")
axes[0].set_ylabel("Peak depth (µm)")
fig.tight_layout()

# %%
# Clean up the temporary folder (the private synthesizer file and the shared folder).
del loaded, synthetic, drifting
shutil.rmtree(workdir, ignore_errors=True)
