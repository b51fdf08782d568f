"""The dual-function network: a small channel x time CNN with one output per bridge."""

import torch
from torch import nn


class DualNetwork(nn.Module):
    """Shared convolutional trunk with one output per bridge of the path.

    The layout follows ShallowConvNet / EEGNet, with the channels as the input features of a 1-D
    convolution over time: a spatio-temporal filter bank that mixes all channels over a short
    time window (linear, as the temporal + spatial convolutions of ShallowConvNet), its SiLU and
    its square side by side, a temporal convolution, average pooling to a fixed number of time bins (so the heads
    know *when* a feature occurs), then a small MLP whose ``n_bridges`` outputs are the bridge
    functions ``f_k``. Activations are SiLU (smooth, because the sampler follows the input
    gradient). With ``spectral_norm=True`` every weight layer is spectrally normalised and a
    learned per-head gain restores the output range, which bounds each head's Lipschitz constant.

    Parameters
    ----------
    masks : array-like of bool, shape (n_bridges + 1, n_channels * n_times)
        The path masks (True where a pixel is marginal in ``P_k``); ``n_bridges`` heads.
    n_channels, n_times : int
        Image size.
    n_filters : int
        Width of the convolutional trunk.
    temporal_kernel : int
        Length of the temporal filters in samples (odd values keep the time axis aligned). For
        epochs longer than 128 samples the first filter bank runs with a stride of
        ``n_times // 64`` and a kernel of at least twice the stride.
    n_time_bins : int
        Number of time bins kept after pooling.
    hidden : int
        Width of the MLP.
    spectral_norm : bool
        Whether to spectrally normalise the weight layers.
    """

    def __init__(self, masks, n_channels, n_times, n_filters=32, temporal_kernel=5,
                 n_time_bins=8, hidden=128, spectral_norm=False):
        super().__init__()
        n_bridges = masks.shape[0] - 1
        self.register_buffer("masks", torch.as_tensor(masks, dtype=torch.bool).view(
            n_bridges + 1, n_channels, n_times))
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        # Long epochs are filtered with a stride, so that the cost stays that of ~64 time steps.
        stride = max(1, n_times // 64)
        kernel = min(max(temporal_kernel, 2 * stride + 1), n_times)
        kernel -= 1 - kernel % 2  # odd, so that 'same' padding keeps the time axis aligned
        n_steps_out = (n_times + 2 * (kernel // 2) - kernel) // stride + 1
        n_bins = min(n_time_bins, n_steps_out)
        self.n_bridges = n_bridges
        self.spatiotemporal = sn(nn.Conv1d(n_channels, n_filters, kernel, stride=stride,
                                           padding=kernel // 2))
        # The mask inputs are the same for every image of a bridge: their filter responses are
        # computed once per bridge (not once per image), then added to the images' responses.
        self.mask_filters = sn(nn.Conv1d(2 * n_channels, n_filters, kernel, stride=stride,
                                         padding=kernel // 2, bias=False))
        self.temporal = sn(nn.Conv1d(2 * n_filters, n_filters, 3, padding=1))
        self.pool = nn.AdaptiveAvgPool1d(n_bins)
        self.mlp = nn.Sequential(
            sn(nn.Linear(n_filters * n_bins, hidden)), nn.SiLU(),
            sn(nn.Linear(hidden, n_bridges)),
        )
        self.log_gain = nn.Parameter(torch.zeros(n_bridges))
        self.act = nn.SiLU()

    def forward(self, x, bridge):
        """Value of bridge function ``f_k`` on images ``x``.

        The pixels already marginal in ``P_{k-1}`` are independent of everything under both
        distributions of bridge ``k``, so the optimal ``f_k`` does not depend on them: they are
        zeroed, and the two masks are given as extra input channels, so one trunk serves every
        bridge and learns from all of them.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, n_channels, n_times)
            Scaled images.
        bridge : torch.Tensor of int, shape (batch,)
            0-based bridge index ``k - 1`` of each row.

        Returns
        -------
        out : torch.Tensor, shape (batch,)
        """
        before = self.masks[:-1]
        handed_over = self.masks[1:] & ~before
        mask_response = self.mask_filters(torch.cat([before, handed_over], 1).to(x.dtype))
        # A one-hot product rather than mask_response[bridge]: the backward pass of indexing
        # accumulates with scatter-adds whose order varies between runs, a matrix product does
        # not, so that fits stay reproducible bit for bit. A comparison, not one_hot, which
        # reads its input's values and so cannot run under torch.func.vmap (engine/dp.py).
        one_hot = (bridge[:, None] == torch.arange(self.n_bridges, device=bridge.device)
                   ).to(x.dtype)
        mask_response = (one_hot @ mask_response.flatten(1)).view(len(x), *mask_response.shape[1:])
        filtered = self.spatiotemporal(x.masked_fill(before[bridge], 0.0)) + mask_response
        # Squared filter outputs (band power, as in ShallowConvNet) make Gaussian-like log
        # density ratios, which are quadratic forms, easy to represent; SiLU covers the rest.
        h = torch.cat([self.act(filtered), 0.5 * filtered.square()], 1)
        h = self.act(self.temporal(h))
        h = self.pool(h).flatten(1)
        out = self.mlp(h) * self.log_gain.exp()
        return out.gather(1, bridge[:, None]).squeeze(1)

    def dual_value(self, x, max_rows=4096):
        """The embedding ``F(x) = sum_k f_k(x)``, shape (batch,).

        All heads are evaluated in one batched pass (``n_bridges`` rows per image), in chunks of
        at most ``max_rows`` rows to bound memory.
        """
        n = len(x)
        per_chunk = max(1, max_rows // self.n_bridges)
        bridges = torch.arange(self.n_bridges, device=x.device)
        totals = []
        for start in range(0, n, per_chunk):
            chunk = x[start:start + per_chunk]
            m = len(chunk)
            rows = chunk.repeat(self.n_bridges, 1, 1)  # bridge-major: rows k*m ... (k+1)*m - 1
            out = self(rows, bridges.repeat_interleave(m))
            totals.append(out.view(self.n_bridges, m).sum(0))
        return torch.cat(totals) if totals else x.new_zeros(0)
