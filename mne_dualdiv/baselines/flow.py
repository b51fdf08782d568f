"""Normalizing-flow baseline: RealNVP affine couplings with checkerboard masks over channel x time."""

import math

import torch
from torch import nn

from .._checks import check_float, check_int
from .._docs import fill_doc
from ._base import TorchGenerator
from ._networks import DilatedConvNet


def checkerboard_mask(n_channels, n_times, parity):
    """``(n_channels, n_times)`` float mask, 1 where ``(channel + time) % 2 == parity``."""
    grid = torch.arange(n_channels)[:, None] + torch.arange(n_times)[None, :]
    return ((grid % 2) == parity).float()


class AffineCoupling(nn.Module):
    """One RealNVP layer: the unmasked pixels get an affine map computed from the masked ones.

    ``y = m * x + (1 - m) * (x * exp(s) + t)`` with ``(s, t) = net(m * x)``; the log
    determinant of the Jacobian is ``sum((1 - m) * s)``. ``s = scale * tanh(raw)`` with a learned
    per-channel ``scale`` keeps the map well conditioned; the network's output layer starts at
    zero, so every coupling starts as the identity.
    """

    def __init__(self, mask, n_filters):
        super().__init__()
        n_channels = mask.shape[0]
        self.register_buffer("mask", mask)
        self.net = DilatedConvNet(n_channels, 2 * n_channels, n_filters, dilations=(1, 4),
                                  zero_output=True)
        self.log_scale = nn.Parameter(torch.zeros(n_channels, 1))

    def _shift_and_log_scale(self, x):
        raw_s, t = self.net(x * self.mask).chunk(2, dim=1)
        s = self.log_scale.exp() * torch.tanh(raw_s)
        free = 1 - self.mask
        return s * free, t * free

    def forward(self, x):
        """Data to latent direction: returns ``y`` and the log determinant per sample."""
        s, t = self._shift_and_log_scale(x)
        return x * s.exp() + t, s.sum((1, 2))

    def inverse(self, y):
        """Latent to data direction (exact: the masked pixels are left unchanged)."""
        s, t = self._shift_and_log_scale(y)
        return (y - t) * (-s).exp()


@fill_doc
class RealNVPGenerator(TorchGenerator):
    """RealNVP normalizing flow on robustly scaled channel x time images (Dinh et al., 2017).

    ``n_couplings`` affine coupling layers alternate a checkerboard mask over (channel, time)
    pixels with its complement; each coupling's scale and shift come from a
    :class:`~mne_dualdiv.baselines._networks.DilatedConvNet` (channels as features, dilations 1
    and 4: a receptive field of 25 time samples per coupling) applied to the masked image. The
    flow maps images to a standard normal of the same dimension and is trained by maximum
    likelihood; samples are standard normal draws (times ``temperature``) mapped back through
    the inverse flow. Convolutional couplings keep the parameter count independent of the
    epoch length; an MLP coupling on flattened pixels would not (see ``_networks``).

    Parameters
    ----------
    n_couplings : int
        Number of coupling layers (an even number alternates both masks equally).
    %(n_filters_baseline)s
    temperature : float
        Standard deviation of the latent draws at sampling time (1 samples the fitted model).
    %(training_parameters_baseline)s

    Attributes
    ----------
    %(attributes_deep)s
    couplings_ : torch.nn.ModuleList
        The trained coupling layers, in the data-to-latent order.

    References
    ----------
    .. [1] Dinh L, Sohl-Dickstein J, Bengio S (2017). Density estimation using Real NVP. ICLR.
    """

    def __init__(self, n_couplings=6, n_filters=16, temperature=1.0, max_steps=6000,
                 batch_size=256, learning_rate=1e-3, weight_decay=1e-2, device="auto",
                 random_state=None, verbose=None):
        super().__init__(n_filters=n_filters, max_steps=max_steps, batch_size=batch_size,
                         learning_rate=learning_rate, weight_decay=weight_decay,
                         device=device, random_state=random_state, verbose=verbose)
        self.n_couplings = n_couplings
        self.temperature = temperature

    def _check_params(self):
        super()._check_params()
        check_int("n_couplings", self.n_couplings, minimum=1)
        check_float("temperature", self.temperature, low=0)

    def _build(self, n_channels, n_times):
        self.couplings_ = nn.ModuleList(
            AffineCoupling(checkerboard_mask(n_channels, n_times, index % 2), self.n_filters)
            for index in range(self.n_couplings))
        return {"flow": [self.couplings_]}

    def _log_likelihood(self, x):
        log_det = x.new_zeros(len(x))
        for coupling in self.couplings_:
            x, layer_log_det = coupling(x)
            log_det = log_det + layer_log_det
        n_pixels = x.shape[1] * x.shape[2]
        log_normal = -0.5 * x.square().sum((1, 2)) - 0.5 * n_pixels * math.log(2 * math.pi)
        return log_normal + log_det

    def _training_step(self, batch, step, generator):
        n_pixels = batch.shape[1] * batch.shape[2]
        loss = -self._log_likelihood(batch).mean() / n_pixels  # nats per pixel
        self._step(self._optimizers["flow"], loss)
        return dict(nll_per_pixel=loss.item())

    def _generate(self, n_samples, generator):
        x = self.temperature * self._randn((n_samples, *self.network_shape_), generator)
        for coupling in reversed(self.couplings_):
            x = coupling.inverse(x)
        return x
