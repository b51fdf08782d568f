"""
.. _tut-inspect-synthetic-epochs:

Inspect synthetic EEG epochs the MNE way
========================================

Synthetic epochs from :class:`mne_dualdiv.EpochsSynthesizer` are ordinary
:class:`mne.EpochsArray` objects: the same channels, montage, ``tmin``, ``event_id`` and
units as the real ones. So everything MNE does with epochs works on them, and the first check
of a synthetic set is the one an EEG researcher would do on real data: evoked responses,
spectra, scalp maps. This tutorial does that on the FingerMovements data bundled with
``mne_dualdiv``, then reads the package's own evaluation report
(:func:`mne_dualdiv.evaluate`) and its plots, and writes it as an HTML page.

It uses the 16 channels that can be rebuilt from the distributed copy of the data
(``layout="recovered"``; see ``mne_dualdiv/datasets/data/FINGER_MOVEMENTS.md``), so that the
scalp maps put each signal where it was recorded. The engine runs at small settings (``SMALL``
below: 60 training steps, one bridge) so that the tutorial runs in well under a minute on one
CPU core; remove ``**SMALL`` for the engine's defaults (minutes per fit, samples closer to
the data).
"""

# %%
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import mne
import numpy as np
from sklearn.model_selection import train_test_split

import mne_dualdiv

epochs = mne_dualdiv.datasets.load_finger_movements(split="train", layout="recovered")
print(epochs)

# %%
# Fit on part of the epochs, keep the rest aside
# ----------------------------------------------
# The evaluation compares the synthetic epochs with real epochs that the generator never saw,
# so 80 epochs (stratified by hand) are held out before fitting. They come from the same
# recording as the training epochs, which also makes them the *non-members* that the privacy
# scores need.
train_idx, heldout_idx = train_test_split(np.arange(len(epochs)), test_size=80,
                                          stratify=epochs.events[:, 2], random_state=0)
train, heldout = epochs[np.sort(train_idx)], epochs[np.sort(heldout_idx)]

SMALL = mne_dualdiv.get_preset("fast")  # the command line's --quick: a fit of seconds
synthesizer = mne_dualdiv.EpochsSynthesizer(
    generator=mne_dualdiv.DualDivergenceGenerator(verbose=False, **SMALL), random_state=0)
synthesizer.fit(train)
synthetic = synthesizer.sample(1.0, random_state=1)  # as many as the real training epochs
print(synthetic)
print(synthetic.metadata.head(3))

# %%
# Evoked responses
# ----------------
# ``average()`` works as on real epochs. The epochs end 130 ms before the key press; the slow
# negative drift before a movement (the readiness potential) is the main evoked signal. The
# data carry a different DC offset on every channel, so each average is baseline-corrected on
# its first 100 ms (the epochs themselves are left as they are).
baseline = (None, -0.53)
evokeds = {f"{kind}/{condition}": data[condition].average().apply_baseline(baseline,
                                                                           verbose=False)
           for kind, data in (("real", train), ("synthetic", synthetic))
           for condition in ("left", "right")}
for name, evoked in evokeds.items():
    late = evoked.copy().crop(tmin=-0.29).data.mean() * 1e6
    print(f"{name:>15}: mean over channels of the last 150 ms, re baseline: {late:+.1f} µV")
mne.viz.plot_compare_evokeds(evokeds, picks="C3", show=False,
                             colors=dict(left="C0", right="C1"),
                             linestyles=dict(real="-", synthetic="--"),
                             title="C3: real (solid) and synthetic (dashed)")

# %%
# The real averages drift down by several microvolts towards the key press. Whether the
# synthetic ones do is in the printed values and in the plots; in the run shown on this page
# they stay much closer to the baseline: at 60 training steps the engine reproduces the
# epochs' spectra and channel correlations better than this slow trend, which is small next
# to the single-epoch noise. The evaluation report below puts numbers on each of these
# aspects. All channels at once, with ``Evoked.plot``:
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
fig.subplots_adjust(bottom=0.16, wspace=0.15)
for ax, kind in zip(axes, ("real", "synthetic")):
    evokeds[f"{kind}/left"].plot(axes=ax, show=False, spatial_colors=True, titles=None)
    ax.set_title(f"{kind}, left hand")

# %%
# Scalp maps
# ----------
# The montage survives, so topographies work directly. Here the lateralised part of the
# readiness potential: the right-hand average minus the left-hand average, at three times
# before the key press, for real and synthetic epochs (one colour scale for all six maps).
times = [-0.45, -0.3, -0.15]
differences = {kind: mne.combine_evoked([evokeds[f"{kind}/right"], evokeds[f"{kind}/left"]],
                                        weights=[1, -1]) for kind in ("real", "synthetic")}
limit = max(np.abs(evoked.data).max() for evoked in differences.values()) * 1e6
fig, axes = plt.subplots(2, len(times), figsize=(7, 4.6))
for row, (kind, difference) in enumerate(differences.items()):
    difference.plot_topomap(times=times, axes=axes[row], colorbar=False, show=False,
                            vlim=(-limit, limit), average=0.05)
    axes[row, 0].set_ylabel(kind)
fig.suptitle(f"Right minus left hand, averaged over 50 ms (colour scale ±{limit:.1f} µV)")

# %%
# Power spectra
# -------------
# ``compute_psd`` returns an :class:`mne.time_frequency.EpochsSpectrum` for both sets; with
# 500 ms epochs at 100 Hz the frequency resolution is 2 Hz.
spectra = {kind: data.compute_psd(fmin=2.0, fmax=40.0, verbose=False)
           for kind, data in (("real", train), ("synthetic", synthetic))}
# (``mne.use_log_level`` only keeps MNE's progress messages out of the page.)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
fig.subplots_adjust(bottom=0.16, wspace=0.15)
with mne.use_log_level("warning"):
    for ax, (kind, spectrum) in zip(axes, spectra.items()):
        spectrum.plot(axes=ax, show=False, amplitude=False, average=False)
        ax.set_title(kind)

# %%
# And the band power over the scalp, with ``plot_topomap`` of the spectra (each map with its
# own colour scale, in µV²/Hz):
bands = {"theta (4-8 Hz)": (4, 8), "alpha (8-12 Hz)": (8, 12), "beta (12-30 Hz)": (12, 30)}
fig, axes = plt.subplots(2, len(bands), figsize=(8, 4.8))
with mne.use_log_level("warning"):
    for row, (kind, spectrum) in enumerate(spectra.items()):
        spectrum.plot_topomap(bands=bands, axes=axes[row], show=False)
        axes[row, 0].set_ylabel(kind, fontsize=11)

# %%
# The evaluation report
# ---------------------
# :func:`mne_dualdiv.evaluate` scores the synthetic epochs against the held-out real ones,
# metric by metric, each next to the same metric for the real training epochs (the level a
# perfect generator would reach). Labels add the utility scores (train on synthetic, test on
# real; augmentation), and the held-out epochs as ``nonmembers`` add the privacy scores.
report = mne_dualdiv.evaluate(
    train, heldout, synthetic, y_train=train.events[:, 2], y_heldout=heldout.events[:, 2],
    y_synthetic=synthetic.events[:, 2], nonmembers=heldout, random_state=0)
print(report)

# %%
# The same as a :class:`pandas.DataFrame`, for your own tables and plots:
df = report.to_dataframe()
print(df[["metric", "category", "synthetic", "reference", "better",
          "as_good_as_reference"]].round(3).to_string(index=False))

# %%
# ``as_good_as_reference`` says, for each metric, whether the synthetic set does at least as
# well as real data: lower or higher than the reference as the ``better`` column says, or,
# for properties of one set (``'closer'``), within the difference between two real sets.
# ``docs/metrics.md`` explains every metric and its reference.
n_ok = int(df["as_good_as_reference"].fillna(False).sum())
print(f"{n_ok} of {len(df)} metrics as good as real data at these small settings")

# %%
# Its plots: the average spectra of the three sets, and every metric next to its reference.
report.plot_psd()
report.plot_metrics()

# %%
# The dual space of one condition
# -------------------------------
# A generator of the synthesizer scores how far synthetic epochs fall outside the real ones'
# range in its dual space (the out-of-distribution rate); the report then also draws the
# histogram of dual values.
left = mne_dualdiv.evaluate(train["left"], heldout["left"], synthetic["left"],
                            generator=synthesizer.generators_["left"], metrics=["ood_rate"])
print(left)
left.plot_dual_histogram()

# %%
# Save the report as a web page
# -----------------------------
# :meth:`~mne_dualdiv.metrics.EvaluationReport.save` writes the table and the figures into
# one self-contained HTML file (an :class:`mne.Report`), to share or archive with the
# synthetic data.
folder = Path(tempfile.mkdtemp(prefix="mne_dualdiv_report_"))
fname = report.save(folder / "finger_synthetic_report.html")
print(f"{fname.name}: {fname.stat().st_size / 1e6:.1f} MB")
shutil.rmtree(folder)  # this tutorial's temporary folder
plt.close("all")
