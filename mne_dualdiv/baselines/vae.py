"""Variational autoencoder baseline (Kingma & Welling, 2014) with a convolutional encoder/decoder."""

import math

import torch

from .._checks import check_int
from .._docs import fill_doc
from ._base import TorchGenerator
from ._networks import ConvDecoder, ConvEncoder


@fill_doc
class VAEGenerator(TorchGenerator):
    """Variational autoencoder on robustly scaled channel x time images.

    The encoder (:class:`~mne_dualdiv.baselines._networks.ConvEncoder`) gives the mean and log
    variance of a diagonal Gaussian posterior over ``n_latent`` dimensions; the decoder
    (:class:`~mne_dualdiv.baselines._networks.ConvDecoder`) maps a latent vector to an image.
    The likelihood is Gaussian with one learned variance per channel (the "sigma-VAE"), so the
    balance between reconstruction and KL terms is learned instead of tuned. Samples are decoder
    means of latent vectors drawn from the standard normal prior, the usual way to sample a
    VAE (adding the observation noise would only add white noise).

    Parameters
    ----------
    %(n_latent)s
    %(n_filters_baseline)s
    %(training_parameters_baseline)s

    Attributes
    ----------
    %(attributes_deep)s
    encoder_, decoder_ : torch.nn.Module
        The trained networks.
    log_sigma_ : torch.Tensor, shape (n_channels,)
        Learned log standard deviation of the likelihood of each channel (scaled units).

    References
    ----------
    .. [1] Kingma DP, Welling M (2014). Auto-encoding variational Bayes. ICLR.
    .. [2] Rybkin O, Daniilidis K, Levine S (2021). Simple and effective VAE training with
           calibrated decoders. ICML.
    """

    def __init__(self, n_latent=32, n_filters=26, max_steps=6000, batch_size=256,
                 learning_rate=1e-3, weight_decay=1e-2, device="auto",
                 random_state=None, verbose=None):
        super().__init__(n_filters=n_filters, max_steps=max_steps, batch_size=batch_size,
                         learning_rate=learning_rate, weight_decay=weight_decay,
                         device=device, random_state=random_state, verbose=verbose)
        self.n_latent = n_latent

    def _check_params(self):
        super()._check_params()
        check_int("n_latent", self.n_latent, minimum=1)

    def _build(self, n_channels, n_times):
        self.encoder_ = ConvEncoder(n_channels, n_times, self.n_filters, 2 * self.n_latent)
        self.decoder_ = ConvDecoder(self.n_latent, n_channels, n_times, self.n_filters)
        self.log_sigma_ = torch.nn.Parameter(torch.zeros(n_channels))
        self._likelihood = torch.nn.ParameterList([self.log_sigma_])
        return {"vae": [self.encoder_, self.decoder_, self._likelihood]}

    def _training_step(self, batch, step, generator):
        mean, log_var = self.encoder_(batch).chunk(2, dim=1)
        log_var = log_var.clamp(-10, 10)
        eps = self._randn(mean.shape, generator)
        reconstruction = self.decoder_(mean + (0.5 * log_var).exp() * eps)
        log_sigma = self.log_sigma_.clamp(min=-6)[:, None]
        # Negative log-likelihood per image, Gaussian with a learned per-channel sigma.
        nll = (0.5 * ((batch - reconstruction) / log_sigma.exp()).square() + log_sigma
               + 0.5 * math.log(2 * math.pi)).sum((1, 2))
        kl = 0.5 * (mean.square() + log_var.exp() - 1 - log_var).sum(1)
        n_pixels = batch.shape[1] * batch.shape[2]
        loss = (nll + kl).mean() / n_pixels  # per pixel, so that one learning rate fits all sizes
        self._step(self._optimizers["vae"], loss)
        return dict(loss=loss.item(), kl=kl.mean().item())

    def _generate(self, n_samples, generator):
        z = self._randn((n_samples, self.n_latent), generator)
        return self.decoder_(z)
