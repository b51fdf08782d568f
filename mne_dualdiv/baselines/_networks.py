"""Small 1-D convolutional networks over time, with the channels as features, for the baselines.

All baselines see an image ``(n_channels, n_times)`` as the engine's
:class:`~mne_dualdiv.engine.network.DualNetwork` does: the channels are the input features of
1-D convolutions over time (a spatio-temporal filter bank, as in ShallowConvNet / EEGNet), so
the parameter count grows with the number of channels but hardly with the epoch length, and the
same architecture serves 28 x 50 EEG epochs, 6 x 896 slow cortical potentials and 32 x 64
extracellular windows. An MLP on flattened pixels would need ``n_channels * n_times * hidden``
weights in its first layer alone (5376 x 64 = 344k for SelfRegulationSCP1), far more than the
engine, and would ignore the translation structure of time series.

Long epochs are first squeezed in time (:func:`squeeze`): ``s`` consecutive samples of each
channel become ``s`` channels of one time step, with ``s = n_times // 64`` as the stride of the
engine's first filter bank (or the largest divisor of ``n_times`` below it), so that every
network runs on about 64 time steps whatever the epoch length: 6 x 896 SelfRegulationSCP1
epochs become 84 x 64 images. The squeeze is a permutation of the pixels, so flows keep an exact
likelihood and diffusion noise stays white.
"""

import math

import torch
from torch import nn

#: Time length the encoder reduces an epoch to, and the decoder starts from.
MAX_BOTTLENECK_LENGTH = 16


def squeeze_factor(n_times, target_length=64):
    """Largest divisor of ``n_times`` not above ``max(1, n_times // target_length)``."""
    limit = max(1, n_times // target_length)
    return max(factor for factor in range(1, limit + 1) if n_times % factor == 0)


def squeeze(x, factor):
    """``(batch, C, T)`` to ``(batch, C * factor, T // factor)``: time blocks become channels."""
    batch, n_channels, n_times = x.shape
    blocks = x.reshape(batch, n_channels, n_times // factor, factor)
    return blocks.transpose(2, 3).reshape(batch, n_channels * factor, n_times // factor)


def unsqueeze(x, factor):
    """Inverse of :func:`squeeze`."""
    batch, n_squeezed, length = x.shape
    blocks = x.reshape(batch, n_squeezed // factor, factor, length)
    return blocks.transpose(2, 3).reshape(batch, n_squeezed // factor, length * factor)


def n_resampling_stages(n_times):
    """Number of factor-2 down- (or up-) sampling stages to reach at most 16 time steps."""
    n_stages = 0
    while math.ceil(n_times / 2**n_stages) > MAX_BOTTLENECK_LENGTH:
        n_stages += 1
    return n_stages


def _conv(n_in, n_out, kernel=5, stride=1, dilation=1):
    return nn.Conv1d(n_in, n_out, kernel, stride=stride, dilation=dilation,
                     padding=dilation * (kernel // 2))


class ConvEncoder(nn.Module):
    """Images to vectors: a spatio-temporal filter bank, strided convolutions, a linear read-out.

    ``Conv1d(n_channels -> n_filters, 5)``, then ``n_resampling_stages(n_times)`` blocks of
    ``Conv1d(n_filters -> n_filters, 5, stride 2)``, each followed by the activation, then a
    linear map of the flattened ``n_filters x (at most 16)`` features to ``n_outputs``.

    Parameters
    ----------
    n_channels, n_times : int
        Image size.
    n_filters : int
        Width of the convolutions.
    n_outputs : int
        Output dimension (e.g. ``2 * n_latent`` for a VAE encoder, 1 for a discriminator).
    activation : type of torch.nn.Module
        The non-linearity (SiLU; the discriminators use LeakyReLU, as in DCGAN).
    """

    def __init__(self, n_channels, n_times, n_filters, n_outputs, activation=nn.SiLU):
        super().__init__()
        layers = [_conv(n_channels, n_filters), activation()]
        length = n_times
        for _ in range(n_resampling_stages(n_times)):
            layers += [_conv(n_filters, n_filters, stride=2), activation()]
            length = (length - 1) // 2 + 1
        self.features = nn.Sequential(*layers)
        self.readout = nn.Linear(n_filters * length, n_outputs)

    def forward(self, x):
        """Map ``x`` of shape (batch, n_channels, n_times) to (batch, n_outputs)."""
        return self.readout(self.features(x).flatten(1))


class ConvDecoder(nn.Module):
    """Vectors to images: a linear map to a short feature sequence, upsampling convolutions.

    ``Linear(n_latent -> n_filters x L0)`` with ``L0 = ceil(n_times / 2**n_stages) <= 16``, then
    ``n_stages`` blocks of nearest-neighbour upsampling by 2, ``Conv1d(n_filters -> n_filters,
    5)`` and SiLU, a crop to ``n_times``, and a linear ``Conv1d(n_filters -> n_channels, 5)``.

    Parameters
    ----------
    n_latent : int
        Input dimension.
    n_channels, n_times : int
        Image size.
    n_filters : int
        Width of the convolutions.
    """

    def __init__(self, n_latent, n_channels, n_times, n_filters):
        super().__init__()
        n_stages = n_resampling_stages(n_times)
        self.n_filters, self.n_times = n_filters, n_times
        self.start_length = math.ceil(n_times / 2**n_stages)
        self.project = nn.Linear(n_latent, n_filters * self.start_length)
        layers = [nn.SiLU()]
        for _ in range(n_stages):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       _conv(n_filters, n_filters), nn.SiLU()]
        self.features = nn.Sequential(*layers)
        self.output = _conv(n_filters, n_channels)

    def forward(self, z):
        """Map ``z`` of shape (batch, n_latent) to images (batch, n_channels, n_times)."""
        h = self.project(z).view(len(z), self.n_filters, self.start_length)
        return self.output(self.features(h)[..., :self.n_times])


class DilatedConvNet(nn.Module):
    """Image-to-image network: residual dilated convolutions over time, optionally conditioned.

    ``Conv1d(n_in -> n_filters, 5)``, then one residual block per entry of ``dilations``
    (``h + Conv1d(SiLU(h + c), 5, dilation d)``, where ``c`` is a projection of the
    conditioning vector, e.g. a diffusion time embedding), then ``Conv1d(n_filters -> n_out, 5)``.
    With dilations (1, 2, 4, 8) the receptive field spans 65 time samples.

    Parameters
    ----------
    n_in, n_out : int
        Input and output features (channels).
    n_filters : int
        Width of the convolutions.
    dilations : tuple of int
        Dilation of each residual block.
    n_condition : int
        Dimension of the conditioning vector (0: none).
    zero_output : bool
        Initialise the output layer at zero (an identity start for flow couplings).
    """

    def __init__(self, n_in, n_out, n_filters, dilations=(1, 2, 4, 8), n_condition=0,
                 zero_output=False):
        super().__init__()
        self.input = _conv(n_in, n_filters)
        self.blocks = nn.ModuleList(_conv(n_filters, n_filters, dilation=d) for d in dilations)
        self.conditions = nn.ModuleList(nn.Linear(n_condition, n_filters) for _ in dilations) \
            if n_condition else None
        self.output = _conv(n_filters, n_out)
        self.act = nn.SiLU()
        if zero_output:
            nn.init.zeros_(self.output.weight)
            nn.init.zeros_(self.output.bias)

    def forward(self, x, condition=None):
        """Map ``x`` (batch, n_in, n_times) to (batch, n_out, n_times)."""
        h = self.input(x)
        for index, block in enumerate(self.blocks):
            inner = h if condition is None else h + self.conditions[index](condition)[..., None]
            h = h + block(self.act(inner))
        return self.output(self.act(h))
