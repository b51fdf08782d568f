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

    Robust so that spikes or artefacts in a few training samples do not change how far walks
    may go (:func:`walk_bounds`).

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
                  generator, gaussian, precondition=True):
    """Walk each start image until its dual value reaches its target (METHOD.md section 5).

    Every step moves along the gradient by a damped Newton step,
    ``x <- x + step_size * (t - F(x)) * grad F / ||grad F||^2``, then makes an
    Ornstein-Uhlenbeck move of the data-shaped Gaussian ``N(mu, Sigma)``
    (:class:`~mne_dualdiv.engine.gaussian.DataGaussian`),
    ``x <- mu + sqrt(1 - noise**2) (x - mu) + noise * eps`` with ``eps ~ N(0, Sigma)``, projected
    orthogonally to ``grad F`` so that it moves along the level set, and clips every pixel to its
    bounds (:func:`walk_bounds`). ``n_final_steps`` noise-free Newton steps end the walk so that
    the value lands on its target.

    Why this move: the exact OU discretisation leaves ``N(mu, Sigma)`` invariant for any
    ``noise`` in (0, 1], so a walk neither inflates nor shrinks the pixels' amplitudes, and its
    noise has the data's spectra and spatial covariance instead of being white (white noise
    flattened the spectra of the first walk's samples: ``docs/method.md``, section 5). It is
    the preconditioned Langevin step of that Gaussian; projected on the level set it explores
    ``F(x) = t`` with the Gaussian as the reference density.

    Parameters
    ----------
    net : DualNetwork
        The trained dual network (its ``dual_value`` is ``F``).
    starts : torch.Tensor, shape (n, n_channels, n_times)
        Scaled start images.
    targets : torch.Tensor, shape (n,)
        Target dual values.
    n_steps : int
        Noisy steps.
    step_size : float
        Newton damping in (0, 1].
    noise : float
        Square root of the fraction of the Gaussian's variance renewed at each noisy step,
        in [0, 1] (0: Newton steps only).
    n_final_steps : int
        Noise-free Newton steps at the end.
    lower, upper : torch.Tensor, shape (n_channels, n_times)
        Per-pixel bounds (:func:`walk_bounds`).
    generator : torch.Generator
        Source of randomness, on the CPU whatever the device of ``starts``
        (:meth:`DataGaussian.draw_centred` moves its draws), so that the walks do not depend on
        the device's random numbers.
    gaussian : DataGaussian
        The data-shaped Gaussian that gives the noise and the drift's centre, on the device of
        ``starts`` (:meth:`DataGaussian.to`).

    Returns
    -------
    x : torch.Tensor, shape (n, n_channels, n_times)
        End points of the walks (scaled).
    values : torch.Tensor, shape (n,)
        Their dual values.
    """
    x = starts.clone()
    keep = (1.0 - noise ** 2) ** 0.5
    for step in range(n_steps + n_final_steps):
        values, grad = dual_values_and_gradients(net, x)
        direction = gaussian.covariance_times(grad) if precondition else grad
        norm_sq = (grad * direction).flatten(1).sum(1).clamp_min(1e-12)
        x = x + step_size * ((targets - values) / norm_sq)[:, None, None] * direction
        if step < n_steps and noise > 0:
            move = ((keep - 1.0) * (x - gaussian.mean)
                    + noise * gaussian.draw_centred(len(x), generator))
            along = (move * grad).flatten(1).sum(1) / norm_sq
            x = x + move - along[:, None, None] * direction
        x = torch.maximum(torch.minimum(x, upper), lower)
    with torch.no_grad():
        values = net.dual_value(x)
    return x.detach(), values
