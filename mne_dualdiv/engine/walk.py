"""The gradient walk in data space towards target values of the dual function."""

import numpy as np
import torch

#: Half-width of the walk's pixel bounds in robust standard deviations around each pixel's median.
BOUND_SDS = 3.0


def dual_values_and_gradients(net, x):
    """Dual values ``F(x)`` and their input gradients for a batch of scaled images."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        values = net.dual_value(x)
        (grad,) = torch.autograd.grad(values.sum(), x)
    return values.detach(), grad


def pixel_median_and_spread(train):
    """Robust centre and spread of each training pixel: the median and IQR / 1.349.

    Robust so that spikes or artefacts in a few training samples do not move where walks drift
    to (:func:`gradient_walk`) or how far they may go (:func:`walk_bounds`).

    Parameters
    ----------
    train : ndarray, shape (n_samples, n_channels, n_times)
        Scaled training images.

    Returns
    -------
    median, spread : ndarray of float64, shape (n_channels, n_times)
        Median and robust standard deviation of each pixel (0 for a constant pixel).
    """
    q25, q50, q75 = np.percentile(train, [25, 50, 75], axis=0)
    return q50, (q75 - q25) / 1.349


def walk_bounds(train, n_sds=BOUND_SDS):
    """Per-pixel bounds of the walk: the training range, widened to ``n_sds`` robust SDs.

    Every walk step clips each pixel to these bounds. The training range alone is too narrow for
    small cohorts: the minimum and maximum of ``n`` Gaussian samples lie only about
    1.8 standard deviations from the mean at ``n = 16``, and a walk clipped at every step settles
    in the Gaussian truncated there, whose variance is about 0.65 of the data's (measured on 16
    training samples: within-pixel variance 0.57 with the clip, 0.87 without, for a target of
    0.88). Synthetic samples then sit closer to the training set than held-out samples do, and
    the near-copy guard rejects them. Widening each side to the median plus or minus ``n_sds``
    robust SDs (IQR / 1.349) keeps the truncation's loss of variance under 3 % for Gaussian
    pixels; heavy-tailed pixels keep their (wider) training range.

    Parameters
    ----------
    train : ndarray, shape (n_samples, n_channels, n_times)
        Scaled training images.
    n_sds : float
        Half-width of the widened bounds in robust SDs.

    Returns
    -------
    lower, upper : ndarray, shape (n_channels, n_times)
        Bounds of each pixel (same dtype as ``train``).
    """
    median, spread = pixel_median_and_spread(train)
    lower = np.minimum(train.min(0), median - n_sds * spread).astype(train.dtype)
    upper = np.maximum(train.max(0), median + n_sds * spread).astype(train.dtype)
    return lower, upper


def gradient_walk(net, starts, targets, *, n_steps, step_size, noise, n_final_steps, lower, upper,
                  generator, pixel_mean=None, pixel_var=None):
    """Walk each start image until its dual value reaches its target (METHOD.md section 5).

    Every step moves along the gradient by a damped Newton step,
    ``x <- x + step_size * (t - F(x)) * grad F / ||grad F||^2``, then makes a Langevin move along
    the level set of ``F``: Gaussian noise of standard deviation ``noise`` plus the drift
    ``noise**2 / 2 * grad log q(x)``, both projected orthogonally to ``grad F``, and clips every
    pixel to its bounds (:func:`walk_bounds`). ``n_final_steps`` noise-free Newton steps end the
    walk so that the value lands on its target.

    Why the drift is ``grad log q`` (the product of marginals) and not ``grad log p``: the model
    density is ``p(x) = q(x) exp(F(x))``, so ``grad log p = grad log q + grad F``, and the
    ``grad F`` part vanishes once projected on the level set. The projected move is therefore a
    Langevin step for ``p`` restricted to ``F(x) = t``: it keeps each pixel's amplitude where it
    is instead of letting the noise inflate it (pure noise adds ``noise**2`` of variance per step).
    ``q`` is approximated by independent Gaussians with the training pixels' means and
    variances.

    Parameters
    ----------
    net : DualNetwork
        The trained dual network (its ``dual_value`` is ``F``).
    starts : torch.Tensor, shape (n, n_channels, n_times)
        Scaled start images (real training samples).
    targets : torch.Tensor, shape (n,)
        Target dual values.
    n_steps : int
        Noisy steps.
    step_size : float
        Newton damping in (0, 1].
    noise : float
        Standard deviation, per pixel and step, of the orthogonal noise (scaled units).
    n_final_steps : int
        Noise-free Newton steps at the end.
    lower, upper : torch.Tensor, shape (n_channels, n_times)
        Per-pixel bounds (:func:`walk_bounds`).
    generator : torch.Generator
        Source of randomness.
    pixel_mean, pixel_var : torch.Tensor, shape (n_channels, n_times) | None
        Centre and spread (squared) of each training pixel (scaled): the Gaussian approximation of the
        marginals that gives the Langevin drift. ``None`` walks without drift (noise only).

    Returns
    -------
    x : torch.Tensor, shape (n, n_channels, n_times)
        End points of the walks (scaled).
    values : torch.Tensor, shape (n,)
        Their dual values.
    """
    x = starts.clone()
    for step in range(n_steps + n_final_steps):
        values, grad = dual_values_and_gradients(net, x)
        norm_sq = grad.flatten(1).square().sum(1).clamp_min(1e-12)
        newton = ((targets - values) / norm_sq)[:, None, None] * grad
        x = x + step_size * newton
        if step < n_steps and noise > 0:
            move = noise * torch.randn(x.shape, generator=generator)
            if pixel_mean is not None:
                move = move - (noise ** 2 / 2) * (x - pixel_mean) / pixel_var
            along = (move * grad).flatten(1).sum(1) / norm_sq
            x = x + move - along[:, None, None] * grad
        x = torch.maximum(torch.minimum(x, upper), lower)
    with torch.no_grad():
        values = net.dual_value(x)
    return x.detach(), values
