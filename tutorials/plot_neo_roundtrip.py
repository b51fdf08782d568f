"""
.. _tut-neo-roundtrip:

neo objects in, synthetic neo objects out
=========================================

`neo <https://neo.readthedocs.io>`_ reads most electrophysiology file formats (Plexon,
Blackrock, Spike2, NWB, EDF, ...) into one object model: a ``Block`` of ``Segment`` objects
(trials or recording sessions), each holding ``AnalogSignal`` objects (continuous traces),
``SpikeTrain`` and ``Event`` objects. :class:`mne_dualdiv.NeoSynthesizer` learns the analog
signals of such an object and returns a synthetic object of the same kind and layout, with
the same units, sampling rates, start times, channel names and annotations, so that code
written for the real object runs on the synthetic one unchanged.

This tutorial builds a small two-trial ``Block`` with three streams (a local field potential
at 1 kHz, an EMG at 250 Hz and an 8-channel silicon probe at 20 kHz with spiking units), synthesizes it, checks
field by field what survives, reads the privacy report of each stream, and writes the
synthetic block to a file with a neo IO.

Each stream is learnt by a :class:`~mne_dualdiv.RecordingSynthesizer`, which decomposes it
into a background (a stationary Gaussian process: per-channel spectra, channel correlations,
offsets) and, where the stream has a spike band and spikes, units (new templates and spike
trains). Its defaults run here in seconds: the streams are 20 s long.
"""

# %%
import datetime
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import neo
import numpy as np
import quantities as pq
from scipy.signal import welch
from spikeinterface.core import generate_ground_truth_recording

import mne_dualdiv

# %%
# A block of two trials, two streams each
# ---------------------------------------
# Each trial holds 10 s of an 8-channel LFP in µV (a 7 Hz theta rhythm whose amplitude
# varies over channels, on top of smooth noise shared in part by neighbouring channels),
# 10 s of a 2-channel EMG in mV (bursts of broadband noise) and 10 s of an 8-channel silicon
# probe in µV (six units simulated by SpikeInterface's ground-truth generator), plus a spike
# train and an event, as a file reader would return them.
rng = np.random.default_rng(0)


def make_lfp(duration, t_start, seed):
    rate = 1000.0
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration * rate)) / rate
    gains = np.linspace(1.0, 0.3, 8)
    theta = 40 * np.sin(2 * np.pi * 7 * t + rng.uniform(0, 2 * np.pi))[:, None] * gains
    white = rng.standard_normal((len(t), 9))
    shared = white[:, :8] + white[:, 1:]  # neighbouring channels share a source
    kernel = np.hanning(25) / np.hanning(25).sum()  # smooth: most power below 40 Hz
    noise = np.apply_along_axis(np.convolve, 0, shared, kernel, "same")
    data = (theta + 40 * noise).astype(np.float32)
    return neo.AnalogSignal(
        data, units="uV", sampling_rate=rate * pq.Hz, t_start=t_start * pq.s, name="LFP",
        array_annotations=dict(channel_names=np.array([f"LFP{i}" for i in range(8)])),
        probe="linear 8", reference="skull screw")


def make_emg(duration, t_start, seed):
    rate = 250.0
    rng = np.random.default_rng(seed)
    n = int(duration * rate)
    envelope = 0.05 + (np.sin(2 * np.pi * 0.5 * np.arange(n) / rate) > 0.6)
    data = (rng.standard_normal((n, 2)) * envelope[:, None] * 0.2).astype(np.float32)
    return neo.AnalogSignal(
        data, units="mV", sampling_rate=rate * pq.Hz, t_start=t_start * pq.s, name="EMG",
        array_annotations=dict(channel_names=np.array(["EMG left", "EMG right"])))


probe_recording, _ = generate_ground_truth_recording(
    num_channels=8, durations=[10.0, 10.0], sampling_frequency=20000.0, num_units=6, seed=0)


def make_probe(trial, t_start):
    return neo.AnalogSignal(
        probe_recording.get_traces(segment_index=trial), units="uV",
        sampling_rate=20 * pq.kHz, t_start=t_start * pq.s, name="probe",
        array_annotations=dict(channel_names=np.array([f"shank A{i}" for i in range(8)])))


block = neo.Block(name="session 3", file_origin="session3.nix", subject="rat 12",
                  rec_datetime=datetime.datetime(2024, 3, 1, 10, 30))
for trial in range(2):
    t_start = 60.0 * trial
    segment = neo.Segment(name=f"trial {trial}", index=trial, condition="running")
    segment.analogsignals += [make_lfp(10.0, t_start, seed=trial),
                              make_emg(10.0, t_start, seed=10 + trial),
                              make_probe(trial, t_start)]
    segment.spiketrains.append(neo.SpikeTrain(np.sort(rng.uniform(t_start, t_start + 10, 50)),
                                              units="s", t_start=t_start, t_stop=t_start + 10))
    segment.events.append(neo.Event([t_start + 2.0] * pq.s, labels=np.array(["reward"])))
    block.segments.append(segment)


def describe(block):
    """One line per segment: its analog signals, spike trains and events."""
    for segment in block.segments:
        signals = ", ".join(
            f"{sig.name} {sig.shape[1]} ch x {sig.shape[0]} @ "
            f"{float(sig.sampling_rate.rescale('Hz')):g} Hz ({sig.units.dimensionality})"
            for sig in segment.analogsignals)
        print(f"  {segment.name}: {signals}; {len(segment.spiketrains)} spike train(s), "
              f"{len(segment.events)} event(s)")


print(f"Block {block.name!r}:")
describe(block)

# %%
# Fit
# ---
# Every stream (the i-th analog signal of each segment: here the LFP, the EMG and the probe)
# gets its own :class:`~mne_dualdiv.RecordingSynthesizer`, fitted on all segments of that
# stream in the signal's own units. The LFP and the EMG are sampled too slowly to hold a
# spike band (300 Hz and an octave above, below 0.45 of the sampling rate: 1.33 kHz or more),
# so they are learnt as background only; the probe's spikes are detected and clustered into
# units. neo stores no probe geometry: the channels of a stream are taken as a line of
# contacts 20 µm apart. ``max_snippets=500`` learns the units from the first 500 spikes only
# and leaves the others unseen, so that the privacy report below can compare synthetic
# spikes with real spikes the synthesizer never saw.
synthesizer = mne_dualdiv.NeoSynthesizer(max_snippets=500, random_state=0)
synthesizer.fit(block)
print(synthesizer.kind_, "with", len(synthesizer.synthesizers_), "streams")
for real_signal, stream in zip(block.segments[0].analogsignals, synthesizer.synthesizers_):
    learnt = ("background only" if stream.units_ is None else
              f"{stream.n_real_units_} units ({stream.peak_rate_:.0f} spikes/s) and background")
    print(f"  {real_signal.name}: {learnt}")

# %%
# Sample: the same kind of object back
# ------------------------------------
# ``sample()`` keeps every signal's duration; ``durations=`` sets other lengths per segment,
# ``n_units=`` another number of synthetic units per spiking stream (by default as many as
# the real clusters). The same ``random_state`` gives the same object.
synthetic = synthesizer.sample(random_state=0)
print(f"Synthetic block {synthetic.name!r}:")
describe(synthetic)
short = synthesizer.sample(durations=[2.0, 3.0], random_state=1)
print("shorter trials (s):",
      [float(seg.analogsignals[0].duration.rescale("s")) for seg in short.segments])

# %%
# What survives, field by field
# -----------------------------
# The docstring of ``mne_dualdiv.adapters.neo`` lists the fields kept. Side by side for the
# first trial:
for real_signal, fake_signal in zip(block.segments[0].analogsignals,
                                    synthetic.segments[0].analogsignals):
    print(f"--- {real_signal.name}")
    for field in ("shape", "units", "dtype", "sampling_rate", "t_start", "annotations"):
        real_value, fake_value = getattr(real_signal, field), getattr(fake_signal, field)
        if field == "units":
            real_value, fake_value = real_value.dimensionality, fake_value.dimensionality
        print(f"{field:>14}: {real_value!s:<28} {fake_value!s}")
    print(f"{'channel_names':>14}: {fake_signal.array_annotations['channel_names'].tolist()}")
    assert fake_signal.shape == real_signal.shape and fake_signal.units == real_signal.units
    assert fake_signal.t_start == real_signal.t_start
print("segments:", [(s.name, s.index, s.annotations) for s in synthetic.segments])
print("block:", synthetic.name, synthetic.rec_datetime, synthetic.annotations)

# %%
# Spike trains and events hold real timings, so they are *not* synthesized: the synthetic
# segments have none (not even the spike times of the synthetic units).
print("spike trains:", [len(s.spiketrains) for s in block.segments], "real,",
      [len(s.spiketrains) for s in synthetic.segments], "synthetic")
print("events:", [len(s.events) for s in block.segments], "real,",
      [len(s.events) for s in synthetic.segments], "synthetic")

# %%
# Annotations are copied as they are, and may identify a subject (here ``subject``; an EDF
# header's patient fields end up there too). Clear them before sharing:
synthetic.annotations.pop("subject")
print(synthetic.annotations)

# %%
# Real and synthetic traces
# -------------------------
fig, axes = plt.subplots(3, 2, figsize=(9, 7))
for column, (name, obj) in enumerate((("real", block), ("synthetic", synthetic))):
    lfp, emg, probe = obj.segments[0].analogsignals
    window = slice(0, 1000)  # the first second
    offsets = 150 * np.arange(lfp.shape[1])
    axes[0, column].plot(lfp.times[window], lfp.magnitude[window] - offsets, lw=0.6, color="k")
    axes[0, column].set(title=f"{name}: LFP (µV, offset)", yticks=[])
    axes[1, column].plot(emg.times[: 250 * 4], emg.magnitude[: 250 * 4], lw=0.6)
    axes[1, column].set(title=f"{name}: EMG (mV)")
    window = slice(0, 4000)  # the first 200 ms
    offsets = 100 * np.arange(probe.shape[1])
    axes[2, column].plot(probe.times[window], probe.magnitude[window] - offsets, lw=0.6,
                         color="k")
    axes[2, column].set(title=f"{name}: probe (µV, offset)", yticks=[], xlabel="Time (s)")
fig.tight_layout()

# %%
# The synthetic EMG does not reproduce the bursts of the real one: its background is a
# stationary process, so it comes out as noise with the EMG's average spectrum, at an
# amplitude between the bursts and the rest; the timing of the bursts is gone by design. The
# probe shows new units (their own templates, amplitudes and firing) on new background
# noise.
#
# The LFP spectrum, averaged over channels, with :func:`scipy.signal.welch`. The background
# model resolves about 15 Hz (its spectra are estimated on segments of ``fs / 15 Hz``
# samples: 64 at 1 kHz), enough for the broadband shape of the spectrum, not for the narrow
# theta peak at 7 Hz, which is smeared over the lowest frequencies:
fig, ax = plt.subplots(figsize=(5, 3.2))
for name, obj in (("real", block), ("synthetic", synthetic)):
    lfp = np.concatenate([seg.analogsignals[0].magnitude for seg in obj.segments])
    freqs, psd = welch(lfp, fs=1000.0, nperseg=1024, axis=0)
    keep = freqs <= 100
    ax.semilogy(freqs[keep], psd[keep].mean(1), label=name)
ax.set(xlabel="Frequency (Hz)", ylabel="PSD (µV²/Hz)", title="LFP")
ax.legend()
fig.tight_layout()

# %%
# Privacy, stream by stream
# -------------------------
# :meth:`~mne_dualdiv.NeoSynthesizer.privacy_report` takes the real object and, given the
# ``random_state`` (and ``durations``, ``n_units``) of ``sample``, audits exactly the object
# that ``sample`` made: one report per stream, read as in :ref:`tut-neuropixels-sharing`.
# A background-only stream has no report (``None``): it holds no unit that could be linked to
# a real one, only spectra and correlations.
for real_signal, report in zip(block.segments[0].analogsignals,
                               synthesizer.privacy_report(block, random_state=0)):
    print(real_signal.name, report)

# %%
# A synthetic unit more similar to a real unit than distinct real units are to one another
# would be matched to that neuron by a unit-tracking tool; synthetic spikes closer to the
# spikes the synthesizer learnt from than new real spikes are would be near-copies. Either
# is a reason not to share. With 10 s per trial the snippet test compares few spikes, so
# its share moves by several points with the seed.

# %%
# Write with a neo IO, read it back
# ---------------------------------
# The synthetic block is an ordinary neo object, so any neo writer takes it. ``PickleIO``
# needs no extra package; :class:`neo.io.NixIO` (``pip install nixio``) writes a standard
# NIX/HDF5 file.
fname = Path(tempfile.mkdtemp(prefix="mne_dualdiv_neo_")) / "synthetic_session.pkl"
neo.io.PickleIO(str(fname)).write_block(synthetic)
again = neo.io.PickleIO(str(fname)).read_block()
np.testing.assert_array_equal(again.segments[1].analogsignals[1].magnitude,
                              synthetic.segments[1].analogsignals[1].magnitude)
print(f"Read back from {fname.name}:")
describe(again)
shutil.rmtree(fname.parent)  # this tutorial's temporary folder
