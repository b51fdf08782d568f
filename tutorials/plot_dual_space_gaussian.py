"""
.. _tut-dual-space-gaussian:

The dual space, explained on a toy Gaussian
===========================================

:class:`mne_dualdiv.DualDivergenceGenerator` learns how far the data are from the *product
of their marginals* — the same pixel values, each drawn independently — and uses what it
learned as a one-dimensional map of the data. This tutorial takes data whose answer is known
in closed form, small Gaussian "epochs" of 2 channels x 16 time samples, and looks at each
piece: the divergence (path against direct estimate), the end points of the dual space, the
out-of-distribution score, and what a walk changes.

It uses small engine settings (``SMALL`` below), so that it runs in well under a minute on
two CPU cores. Remove ``**SMALL`` for the engine's defaults (1500 training steps, 32 bridges:
minutes per fit, and estimates closer to the truth).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import mne_dualdiv
from mne_dualdiv.baselines import MarginalShuffleGenerator
from mne_dualdiv.metrics import gaussian_total_correlation

# %%
# Data with a known divergence
# ----------------------------
# Every "epoch" is a draw of a 32-dimensional Gaussian: 2 channels correlated 0.8, each with
# a smooth time course (neighbouring samples correlated 0.9). For a Gaussian the
# divergence from the product of its marginals, ``KL(P || Q)``, is its *total correlation*
# ``-1/2 log det R`` (``R``: the correlation matrix), here known exactly.
rng = np.random.default_rng(0)
n_epochs, n_channels, n_times = 300, 2, 16
spatial = np.array([[1.0, 0.8], [0.8, 1.0]])
lags = np.abs(np.subtract.outer(np.arange(n_times), np.arange(n_times)))
temporal = 0.9 ** lags
covariance = np.kron(spatial, temporal)  # pixel order: channel by channel
X = rng.multivariate_normal(np.zeros(n_channels * n_times), covariance, size=n_epochs)
X = X.reshape(n_epochs, n_channels, n_times)
true_divergence = gaussian_total_correlation(covariance)
print(f"{X.shape} images; true KL(P || Q) = {true_divergence:.2f} nats")

# %%
# Path against direct estimate
# ----------------------------
# ``method='direct'`` trains one classifier-like network to tell real images from
# marginal-shuffled ones and reads ``KL(P || Q)`` off its dual form. When ``P`` and ``Q`` are
# far apart the task is too easy and the estimate saturates near ``log(n)``.
# ``method='path'`` hands the pixels over to the marginal a few at a time, along a path of
# ``n_bridges`` small steps, and sums the small divergences of the bridges
# (``bridge_divergences_``): each stays in the range where the dual estimate is accurate.
SMALL = dict(max_steps=300, eval_every=100, patience=2, n_eval_draws=2, n_final_draws=600,
             hidden=32, n_filters=8, n_local_draws=4, walk_steps=10)

path = mne_dualdiv.DualDivergenceGenerator(method="path", n_bridges=8, random_state=0, **SMALL)
path.fit(X)
direct = mne_dualdiv.DualDivergenceGenerator(method="direct", random_state=0, **SMALL)
direct.fit(X)
for name, generator in (("path", path), ("direct", direct)):
    print(f"{name:>6}: KL = {generator.divergence_:.2f} nats held out "
          f"({generator.train_divergence_:.2f} on training samples)")
print("bridges of the path:", np.round(path.bridge_divergences_, 2))

# %%
# Compare both with the true value printed above. The engine warns when a bridge carries
# more than half of ``log(n)`` nats (``n``: the held-out pairs it is estimated from), the
# range where a dual estimate starts to saturate: more bridges (the default is 32) and more
# training steps bring the path estimate closer to the truth. How the two estimates behave on
# real epochs, and over sizes and seeds, is measured in :doc:`/method`. The gap between the
# held-out and the training estimate measures overfitting.

# %%
# The dual space and its end points
# ---------------------------------
# The trained network assigns every image a *dual value* ``F(x)``, an estimate of
# ``log p(x) / q(x)`` up to a constant: how much more likely ``x`` is under the data than
# under the product of marginals. The real training images span an interval, whose ends are
# the generator's ``endpoints_``; ``robust_endpoints_`` leave out 2.5 % at each end.
shuffler = MarginalShuffleGenerator(random_state=0).fit(X)
shuffled = shuffler.sample(n_epochs, random_state=1)
heldout = rng.multivariate_normal(np.zeros(n_channels * n_times), covariance, size=n_epochs)
heldout = heldout.reshape(n_epochs, n_channels, n_times)

fig, ax = plt.subplots(figsize=(6, 3.5))
bins = np.linspace(*np.percentile(np.r_[path.dual_values(heldout),
                                        path.dual_values(shuffled)], [0.5, 99.5]), 40)
ax.hist(path.dual_values_train_, bins, alpha=0.5, density=True, label="training (real)")
ax.hist(path.dual_values(heldout), bins, histtype="step", lw=2, density=True,
        label="new real draws")
ax.hist(path.dual_values(shuffled), bins, histtype="step", lw=2, density=True,
        label="marginal-shuffled")
for value in path.endpoints_:
    ax.axvline(value, color="k", ls="--")
ax.set(xlabel="dual value F(x)", ylabel="density", title="The dual space (path estimate)")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Out-of-distribution score
# -------------------------
# :meth:`~mne_dualdiv.DualDivergenceGenerator.is_in_distribution` tells whether an image's
# dual value lies between the end points. New draws of the same Gaussian mostly do; images
# with the same pixel values but no dependencies between them mostly do not.
for name, images in (("new real draws", heldout), ("marginal-shuffled", shuffled)):
    inside = path.is_in_distribution(images)
    robust = path.is_in_distribution(images, robust=True)
    print(f"{name:>18}: {inside.mean():.0%} inside the end points "
          f"({robust.mean():.0%} inside the robust ones)")

# %%
# What a walk changes
# -------------------
# ``sample`` starts walks from images of the data's shape and moves them, by noisy gradient
# steps on ``F``, to target dual values drawn from those of the real images; a sample is kept
# only if it lands between the end points and is no near-copy of a training image.
# ``return_delta=True`` also returns what each walk changed, ``x - x_start``.
samples, delta = path.sample(200, random_state=2, return_delta=True)
print(f"{len(samples)} samples; {path.is_in_distribution(samples).mean():.0%} inside the "
      f"end points; mean |delta| = {np.abs(delta).mean():.2f} (data s.d. 1)")

# %%
# The samples keep the data's dependencies: their channel correlation and lag-1 correlation
# are close to the real ones (0.8 and 0.9), which the marginal-shuffled images have lost.


def dependencies(images):
    channels = np.corrcoef(images[:, 0].ravel(), images[:, 1].ravel())[0, 1]
    lag1 = np.corrcoef(images[:, :, :-1].ravel(), images[:, :, 1:].ravel())[0, 1]
    return channels, lag1


for name, images in (("real", X), ("synthetic", samples), ("marginal-shuffled", shuffled)):
    channels, lag1 = dependencies(images)
    print(f"{name:>18}: channel correlation {channels:.2f}, lag-1 correlation {lag1:.2f}")

fig, axes = plt.subplots(1, 3, figsize=(9, 2.8), sharex=True, sharey=True)
for ax, (name, images) in zip(axes, (("real", X), ("synthetic", samples),
                                     ("marginal-shuffled", shuffled))):
    ax.plot(images[:3, 0].T, color="C0", alpha=0.8)
    ax.plot(images[:3, 1].T, color="C1", alpha=0.8)
    ax.set(title=name, xlabel="time sample")
axes[0].set_ylabel("value (channel 1: blue, 2: orange)")
fig.tight_layout()
