"""Denoising diffusion baseline (DDPM, Ho et al., 2020) with a dilated convolutional denoiser."""

import math

import torch
from torch import nn

from .._checks import check_int
from .._docs import fill_doc
from ._base import TorchGenerator
from ._networks import DilatedConvNet


def cosine_alpha_bars(n_steps, offset=0.008):
    """Cumulative signal fractions ``alpha_bar_t``, t = 1..n_steps, of the cosine schedule.

    ``alpha_bar(t) = cos^2((t / T + s) / (1 + s) * pi / 2)`` normalised to 1 at t = 0, with every
    step's ``beta_t = 1 - alpha_bar_t / alpha_bar_{t-1}`` clipped at 0.999 (Nichol & Dhariwal).
    """
    times = torch.linspace(0, 1, n_steps + 1, dtype=torch.float64)
    f = torch.cos((times + offset) / (1 + offset) * math.pi / 2).square()
    alpha_bars = f / f[0]
    betas = (1 - alpha_bars[1:] / alpha_bars[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, 0).float()


def sinusoidal_embedding(steps, dim):
    """Transformer-style sinusoidal embedding of integer diffusion steps, shape (batch, dim)."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10000.0) * torch.arange(half, device=steps.device)
                            / max(half - 1, 1))
    angles = steps.float()[:, None] * frequencies[None, :]
    embedding = torch.cat([angles.sin(), angles.cos()], dim=1)
    return nn.functional.pad(embedding, (0, dim - 2 * half))


class Denoiser(nn.Module):
    """Noise prediction ``eps(x_t, t)``: a dilated convolutional network conditioned on ``t``."""

    def __init__(self, n_channels, n_filters):
        super().__init__()
        self.n_filters = n_filters
        self.time_mlp = nn.Sequential(nn.Linear(n_filters, n_filters), nn.SiLU())
        self.net = DilatedConvNet(n_channels, n_channels, n_filters, n_condition=n_filters)

    def forward(self, x, steps):
        """Predict the noise in ``x`` (batch, n_channels, n_times) at diffusion ``steps``."""
        return self.net(x, self.time_mlp(sinusoidal_embedding(steps, self.n_filters)))


@fill_doc
class DDPMGenerator(TorchGenerator):
    """Denoising diffusion probabilistic model on robustly scaled channel x time images.

    Images are noised by ``x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps`` over
    ``n_diffusion_steps`` steps of a cosine schedule, and a
    :class:`~mne_dualdiv.baselines._networks.DilatedConvNet` (channels as features, dilations
    1, 2, 4, 8: a receptive field of 65 time samples, with a sinusoidal embedding of ``t``
    added in every residual block) learns to predict ``eps`` with the mean squared error of Ho
    et al. Samples are drawn by ancestral sampling from standard normal noise through the
    posterior ``q(x_{t-1} | x_t, x_0)`` of the predicted clean image ``x_0``, clipped to each
    channel's training range (as Ho et al. clip images to [-1, 1]). 100 diffusion steps (instead of 1000) keep sampling cheap on CPU;
    the cosine schedule was designed to work with few steps.

    Parameters
    ----------
    n_diffusion_steps : int
        Number of noise levels ``T``.
    %(n_filters_baseline)s
    %(training_parameters_baseline)s

    Attributes
    ----------
    %(attributes_deep)s
    denoiser_ : torch.nn.Module
        The trained noise-prediction network.

    References
    ----------
    .. [1] Ho J, Jain A, Abbeel P (2020). Denoising diffusion probabilistic models. NeurIPS.
    .. [2] Nichol A, Dhariwal P (2021). Improved denoising diffusion probabilistic models. ICML.
    """

    def __init__(self, n_diffusion_steps=100, n_filters=42, max_steps=6000, batch_size=256,
                 learning_rate=1e-3, weight_decay=1e-2, device="auto", random_state=None,
                 verbose=None):
        super().__init__(n_filters=n_filters, max_steps=max_steps, batch_size=batch_size,
                         learning_rate=learning_rate, weight_decay=weight_decay,
                         device=device, random_state=random_state, verbose=verbose)
        self.n_diffusion_steps = n_diffusion_steps

    def _check_params(self):
        super()._check_params()
        check_int("n_diffusion_steps", self.n_diffusion_steps, minimum=1)

    def _build(self, n_channels, n_times):
        self.denoiser_ = Denoiser(n_channels, self.n_filters)
        self._alpha_bars = cosine_alpha_bars(self.n_diffusion_steps)
        return {"denoiser": [self.denoiser_]}

    def _before_training(self, data):
        # On the CPU with the rest of the fitted state; moved to the device where used.
        self._channel_range = (data.amin((0, 2))[:, None].cpu(), data.amax((0, 2))[:, None].cpu())

    def _training_step(self, batch, step, generator):
        steps = self._randint(self.n_diffusion_steps, (len(batch),), generator)
        noise = self._randn(batch.shape, generator)
        alpha_bar = self._alpha_bars.to(batch.device)[steps][:, None, None]
        noisy = alpha_bar.sqrt() * batch + (1 - alpha_bar).sqrt() * noise
        loss = (self.denoiser_(noisy, steps) - noise).square().mean()
        self._step(self._optimizers["denoiser"], loss)
        return dict(mse=loss.item())

    def _generate(self, n_samples, generator):
        x = self._randn((n_samples, *self.network_shape_), generator)
        alpha_bars = self._alpha_bars.to(x.device)
        low, high = (bound.to(x.device) for bound in self._channel_range)
        for t in range(self.n_diffusion_steps - 1, -1, -1):
            alpha_bar = alpha_bars[t]
            alpha_bar_before = alpha_bars[t - 1] if t > 0 else torch.tensor(1.0, device=x.device)
            beta = 1 - alpha_bar / alpha_bar_before
            eps = self.denoiser_(x, torch.full((n_samples,), t, dtype=torch.long,
                                               device=x.device))
            # Predicted clean image, clipped to each channel's training range (Ho et al. clip
            # to the pixel range [-1, 1]); without it the last, nearly noise-free steps
            # (beta near 1 in the cosine schedule) amplify the prediction error.
            x0 = ((x - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()).clamp(low, high)
            # Mean and variance of the posterior q(x_{t-1} | x_t, x_0).
            x = ((alpha_bar_before.sqrt() * beta * x0 + (1 - beta).sqrt()
                  * (1 - alpha_bar_before) * x) / (1 - alpha_bar))
            if t > 0:
                variance = beta * (1 - alpha_bar_before) / (1 - alpha_bar)
                x = x + variance.sqrt() * self._randn(x.shape, generator)
        return x
