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
                  generator):
    """Walk each start image until its dual value reaches its target (METHOD.md section 5).

    Every step moves along the gradient by a damped Newton step,
    ``x <- x + step_size * (t - F(x)) * grad F / ||grad F||^2``, adds Gaussian noise projected
    orthogonally to ``grad F`` (a move along the level set that makes the sample differ from its
    start), and clips every pixel to its training range. ``n_final_steps`` noise-free Newton steps
    end the walk so that the value lands on its target.

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
            xi = noise * torch.randn(x.shape, generator=generator)
            along = (xi * grad).flatten(1).sum(1) / norm_sq
            x = x + xi - along[:, None, None] * grad
        x = torch.maximum(torch.minimum(x, upper), lower)
    with torch.no_grad():
        values = net.dual_value(x)
    return x.detach(), values
