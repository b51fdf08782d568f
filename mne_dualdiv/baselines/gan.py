"""Adversarial baselines: GAN, WGAN-GP and f-GAN, sharing one generator and discriminator."""

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_float, check_int, check_option
from .._docs import fill_doc
from ._base import TorchGenerator
from ._networks import ConvDecoder, ConvEncoder


# f-divergences of Nowozin et al. (2016), table 2: the output activation g_f of the critic and
# the convex conjugate f* composed with it, written as functions of the raw output v so that
# they stay finite (e.g. for Jensen-Shannon f*(g_f(v)) = softplus(v) - log 2).
_F_DIVERGENCES = {
    "kl": (lambda v: v, lambda v: torch.exp(v - 1)),
    "reverse_kl": (lambda v: -torch.exp(-v), lambda v: v - 1),
    "pearson": (lambda v: v, lambda v: 0.25 * v.square() + v),
    "squared_hellinger": (lambda v: 1 - torch.exp(-v), lambda v: torch.exp(v) - 1),
    "js": (lambda v: math.log(2) - F.softplus(-v), lambda v: F.softplus(v) - math.log(2)),
}


class _AdversarialGenerator(TorchGenerator):
    """A generator network trained against a discriminator; subclasses give the losses."""

    _betas = (0.5, 0.9)

    def _critic_updates(self):
        """Discriminator updates per generator update."""
        return 1

    def _check_params(self):
        super()._check_params()
        check_int("n_latent", self.n_latent, minimum=1)

    def _build(self, n_channels, n_times):
        self.generator_ = ConvDecoder(self.n_latent, n_channels, n_times, self.n_filters)
        self.discriminator_ = ConvEncoder(n_channels, n_times, self.n_filters, 1,
                                          activation=functools.partial(nn.LeakyReLU, 0.2))
        return {"generator": [self.generator_], "discriminator": [self.discriminator_]}

    def _critic(self, x):
        return self.discriminator_(x).squeeze(1)

    def _training_step(self, batch, step, generator):
        z = self._randn((len(batch), self.n_latent), generator)
        fake = self.generator_(z)
        d_loss = self._discriminator_loss(batch, fake.detach(), generator)
        self._step(self._optimizers["discriminator"], d_loss)
        losses = dict(discriminator=d_loss.item())
        if step % self._critic_updates() == 0:
            g_loss = self._generator_loss(self._critic(fake))
            self._step(self._optimizers["generator"], g_loss)
            losses["generator"] = g_loss.item()
        return losses

    def _generate(self, n_samples, generator):
        z = self._randn((n_samples, self.n_latent), generator)
        return self.generator_(z)


@fill_doc
class GANGenerator(_AdversarialGenerator):
    """Generative adversarial network with the non-saturating loss (Goodfellow et al., 2014).

    %(adversarial)s The discriminator minimises the logistic loss of telling real (1) from
    generated (0) images; the generator minimises ``-log D(G(z))``.

    Parameters
    ----------
    %(n_latent)s
    %(n_filters_baseline)s
    %(training_parameters_baseline)s

    Attributes
    ----------
    %(attributes_deep)s
    %(attributes_adversarial)s

    References
    ----------
    .. [1] Goodfellow I, Pouget-Abadie J, Mirza M, et al. (2014). Generative adversarial nets.
           NeurIPS.
    .. [2] Radford A, Metz L, Chintala S (2016). Unsupervised representation learning with deep
           convolutional generative adversarial networks. ICLR.
    """

    def __init__(self, n_latent=32, n_filters=38, max_steps=6000, batch_size=256,
                 learning_rate=2e-4, weight_decay=0.0, device="auto",
                 random_state=None, verbose=None):
        super().__init__(n_filters=n_filters, max_steps=max_steps, batch_size=batch_size,
                         learning_rate=learning_rate, weight_decay=weight_decay,
                         device=device, random_state=random_state, verbose=verbose)
        self.n_latent = n_latent

    def _discriminator_loss(self, real, fake, generator):
        real_logits, fake_logits = self._critic(real), self._critic(fake)
        return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))

    def _generator_loss(self, fake_logits):
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


@fill_doc
class WGANGPGenerator(_AdversarialGenerator):
    """Wasserstein GAN with gradient penalty (Gulrajani et al., 2017).

    %(adversarial)s The critic maximises ``E[D(real)] - E[D(fake)]`` minus
    ``gradient_penalty * E[(||grad D(x_hat)|| - 1)^2]`` at random interpolates ``x_hat`` of real
    and generated images; the generator minimises ``-E[D(G(z))]``. With ``n_critic=5`` the
    generator is updated every fifth step, so ``max_steps`` counts critic updates and the cost
    per step stays close to the other adversarial baselines'.

    Parameters
    ----------
    %(n_latent)s
    %(n_filters_baseline)s
    n_critic : int
        Critic updates per generator update.
    gradient_penalty : float
        Weight of the gradient penalty (10 in the paper).
    %(training_parameters_baseline)s

    Attributes
    ----------
    %(attributes_deep)s
    %(attributes_adversarial)s

    References
    ----------
    .. [1] Gulrajani I, Ahmed F, Arjovsky M, Dumoulin V, Courville A (2017). Improved training of
           Wasserstein GANs. NeurIPS.
    """

    def __init__(self, n_latent=32, n_filters=38, n_critic=5, gradient_penalty=10.0,
                 max_steps=6000, batch_size=256, learning_rate=1e-4, weight_decay=0.0,
                 device="auto", random_state=None, verbose=None):
        super().__init__(n_filters=n_filters, max_steps=max_steps, batch_size=batch_size,
                         learning_rate=learning_rate, weight_decay=weight_decay,
                         device=device, random_state=random_state, verbose=verbose)
        self.n_latent = n_latent
        self.n_critic = n_critic
        self.gradient_penalty = gradient_penalty

    def _check_params(self):
        super()._check_params()
        check_int("n_critic", self.n_critic, minimum=1)
        check_float("gradient_penalty", self.gradient_penalty, low=0)

    def _critic_updates(self):
        return self.n_critic

    def _discriminator_loss(self, real, fake, generator):
        mix = self._rand((len(real), 1, 1), generator)
        interpolates = (mix * real + (1 - mix) * fake).requires_grad_(True)
        gradient, = torch.autograd.grad(self._critic(interpolates).sum(), interpolates,
                                        create_graph=True)
        penalty = (gradient.flatten(1).norm(dim=1) - 1).square().mean()
        return (self._critic(fake).mean() - self._critic(real).mean()
                + self.gradient_penalty * penalty)

    def _generator_loss(self, fake_scores):
        return -fake_scores.mean()


@fill_doc
class FGANGenerator(_AdversarialGenerator):
    """f-GAN: variational f-divergence minimisation (Nowozin et al., 2016).

    %(adversarial)s The critic ``T = g_f(V(x))`` maximises the variational lower bound
    ``E_real[T] - E_fake[f*(T)]`` of the f-divergence ``D_f(P || Q)`` between the data ``P``
    and the generator ``Q``, where ``f*`` is the convex conjugate of ``f`` and ``g_f`` the output
    activation of table 2 of the paper; the generator maximises ``E_fake[T]`` (the paper's
    alternative, non-saturating update).

    The default ``divergence='kl'`` minimises ``KL(P || Q)``, the divergence the dual-divergence
    engine estimates (there between the data and its marginals); ``'js'`` (Jensen-Shannon) is
    the f-GAN form of the standard GAN.

    Parameters
    ----------
    divergence : 'kl' | 'reverse_kl' | 'js' | 'pearson' | 'squared_hellinger'
        The f-divergence: ``f(u) = u log u`` (``g_f(v) = v``, ``f*(t) = exp(t - 1)``),
        ``-log u`` (``g_f(v) = -exp(-v)``, ``f*(t) = -1 - log(-t)``), Jensen-Shannon
        ``u log u - (u + 1) log((u + 1) / 2)`` (``g_f(v) = log 2 - log(1 + exp(-v))``,
        ``f*(t) = -log(2 - exp(t))``), Pearson chi-squared ``(u - 1)^2`` (``g_f(v) = v``,
        ``f*(t) = t^2 / 4 + t``) or squared Hellinger ``(sqrt(u) - 1)^2``
        (``g_f(v) = 1 - exp(-v)``, ``f*(t) = t / (1 - t)``).
    critic_bound : float | None
        The critic's raw output ``v`` is softly bounded to ``critic_bound * tanh(v /
        critic_bound)``. Without a bound, the KL critic's value on real samples grows without
        limit as soon as real and generated images are told apart, and ``exp(v - 1)``
        overflows within a few hundred steps on EEG epochs; a bound of 10 nats leaves the
        usual range untouched. None: unbounded.
    %(n_latent)s
    %(n_filters_baseline)s
    %(training_parameters_baseline)s

    Attributes
    ----------
    %(attributes_deep)s
    %(attributes_adversarial)s

    References
    ----------
    .. [1] Nowozin S, Cseke B, Tomioka R (2016). f-GAN: Training generative neural samplers
           using variational divergence minimization. NeurIPS.
    """

    def __init__(self, divergence="kl", critic_bound=10.0, n_latent=32, n_filters=38,
                 max_steps=6000, batch_size=256, learning_rate=2e-4, weight_decay=0.0,
                 device="auto", random_state=None, verbose=None):
        super().__init__(n_filters=n_filters, max_steps=max_steps, batch_size=batch_size,
                         learning_rate=learning_rate, weight_decay=weight_decay,
                         device=device, random_state=random_state, verbose=verbose)
        self.divergence = divergence
        self.critic_bound = critic_bound
        self.n_latent = n_latent

    def _check_params(self):
        super()._check_params()
        check_option("divergence", self.divergence, tuple(_F_DIVERGENCES))
        if self.critic_bound is not None:
            check_float("critic_bound", self.critic_bound, low=0, low_inclusive=False)

    def _critic(self, x):
        output = super()._critic(x)
        if self.critic_bound is None:
            return output
        return self.critic_bound * torch.tanh(output / self.critic_bound)

    def _discriminator_loss(self, real, fake, generator):
        activation, conjugate = _F_DIVERGENCES[self.divergence]
        lower_bound = activation(self._critic(real)).mean() - conjugate(self._critic(fake)).mean()
        return -lower_bound

    def _generator_loss(self, fake_outputs):
        activation, _ = _F_DIVERGENCES[self.divergence]
        return -activation(fake_outputs).mean()
