"""The gradient walk in data space towards target values of the dual function."""

import torch


def dual_values_and_gradients(net, x):
    """Dual values ``F(x)`` and their input gradients for a batch of scaled images."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        values = net.dual_value(x)
        (grad,) = torch.autograd.grad(values.sum(), x)
    return values.detach(), grad


def gradient_walk(net, starts, targets, *, n_steps, step_size, noise, n_final_steps, lower, upper,
                  generator, pixel_mean=None, pixel_var=None):
    """Walk each start image until its dual value reaches its target (METHOD.md section 5).

    Every step moves along the gradient by a damped Newton step,
    ``x <- x + step_size * (t - F(x)) * grad F / ||grad F||^2``, then makes a Langevin move along
    the level set of ``F``: Gaussian noise of standard deviation ``noise`` plus the drift
    ``noise**2 / 2 * grad log q(x)``, both projected orthogonally to ``grad F``, and clips every
    pixel to its training range. ``n_final_steps`` noise-free Newton steps end the walk so that
    the value lands on its target.

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
        Per-pixel training range.
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
