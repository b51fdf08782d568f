"""Training of the bridge functions and their Donsker-Varadhan divergence estimates."""

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F

from .._logging import logger, progress
from .distributed import Ranks
from .marginals import marginal_samples


def coupled_pair(x, z, masks, bridge):
    """Coupled samples of ``P_{k-1}`` and ``P_k`` from real ``x`` and marginal ``z``.

    Parameters
    ----------
    x, z : torch.Tensor, shape (batch, n_channels, n_times)
        Real and marginal samples.
    masks : torch.Tensor of bool, shape (n_bridges + 1, n_pixels)
        Path masks (True where the pixel is marginal).
    bridge : torch.Tensor of int, shape (batch,)
        Bridge index ``k - 1`` (0-based) of each row.

    Returns
    -------
    before, after : torch.Tensor, shape (batch, n_channels, n_times)
        ``(1 - m_{k-1}) x + m_{k-1} z`` and ``(1 - m_k) x + m_k z``.
    """
    shape = x.shape
    m_before = masks[bridge].view(shape)
    m_after = masks[bridge + 1].view(shape)
    return torch.where(m_before, z, x), torch.where(m_after, z, x)


def _bridge_logits(net, before, after, bridge):
    return net(torch.cat([before, after]), torch.cat([bridge, bridge]))


def _classification_loss(net, x, z, masks, bridge):
    """Logistic loss of telling ``P_{k-1}`` (label 1) from ``P_k`` (label 0) on bridge ``k``.

    The optimal logit is ``log p_{k-1}/p_k``, the same function as the optimal DV critic, and
    the loss is bounded, unlike the DV objective whose log-partition over a batch is dominated
    by rare large values (METHOD.md section 7).
    """
    before, after = coupled_pair(x, z, masks, bridge)
    logits = _bridge_logits(net, before, after, bridge)
    labels = torch.cat([torch.ones(len(x), device=x.device), torch.zeros(len(x), device=x.device)])
    return F.binary_cross_entropy_with_logits(logits, labels)


@torch.no_grad()
def bridge_divergences(net, X_real, X_marginal, masks, n_draws, generator, batch_size=2048,
                       ranks=None):
    """Donsker-Varadhan estimate of every bridge ``KL(P_{k-1} || P_k)`` in nats.

    ``DV_k = E_{P_{k-1}}[f_k] - log E_{P_k}[exp f_k]``, each expectation over the rows of
    ``X_real`` coupled with ``n_draws`` fresh marginal samples drawn from ``X_marginal``.

    Parameters
    ----------
    net : DualNetwork
        The network, on the device of ``X_real``.
    X_real, X_marginal : torch.Tensor, shape (n, n_channels, n_times)
        Real samples, and the samples whose pixel marginals are drawn.
    masks : torch.Tensor of bool, shape (n_bridges + 1, n_pixels)
        Path masks.
    n_draws : int
        Marginal draws per real sample.
    generator : torch.Generator
        Source of the marginal draws (on the CPU; the same state on every rank).
    batch_size : int
        Pairs per forward pass.
    ranks : None | Ranks
        The processes that share the work (:mod:`~mne_dualdiv.engine.distributed`): every rank
        draws all pairs and evaluates its own block of them, and the sums are combined, so that
        every rank gets the same estimates. None: one process.

    Returns
    -------
    divergences : ndarray, shape (n_bridges,)
    mean_loss : float
        The mean logistic loss over the same pairs (used for early stopping).
    """
    ranks = Ranks(X_real.device) if ranks is None else ranks
    n_bridges = masks.shape[0] - 1
    n_real = X_real.shape[0]
    linear = torch.zeros(n_bridges, dtype=torch.float64, device=X_real.device)
    log_partition = torch.full((n_bridges,), -math.inf, dtype=torch.float64,
                               device=X_real.device)
    loss_sum, n_pairs = 0.0, 0
    x_all = X_real.repeat(n_draws, 1, 1)
    z_all = marginal_samples(X_marginal, len(x_all), generator)
    begin, end = ranks.block(len(x_all))
    for k in range(n_bridges):
        bridge = torch.full((len(x_all),), k, dtype=torch.long, device=X_real.device)
        partition = []
        for start in range(begin, end, batch_size):
            sl = slice(start, min(start + batch_size, end))
            before, after = coupled_pair(x_all[sl], z_all[sl], masks, bridge[sl])
            logits = _bridge_logits(net, before, after, bridge[sl]).double()
            pos, neg = logits.split(len(before))
            linear[k] += pos.sum()
            partition.append(neg)
            loss_sum += (F.softplus(-pos).sum() + F.softplus(neg).sum()).item()
            n_pairs += 2 * len(before)
        if partition:
            log_partition[k] = torch.logsumexp(torch.cat(partition), 0)
    if ranks.distributed:
        linear, log_partition, loss_sum, n_pairs = _combine(ranks, linear, log_partition,
                                                            loss_sum, n_pairs)
    total = n_real * n_draws
    divergences = np.empty(n_bridges)
    for k in range(n_bridges):
        divergences[k] = (linear[k] / total - (log_partition[k] - math.log(total))).item()
    return divergences, loss_sum / n_pairs


def _combine(ranks, linear, log_partition, loss_sum, n_pairs):
    """The sums of :func:`bridge_divergences` over all ranks' blocks, the same on every rank
    (each rank combines the same gathered numbers in rank order)."""
    local = torch.cat([linear, log_partition,
                       torch.tensor([loss_sum, n_pairs], dtype=torch.float64,
                                    device=linear.device)])
    parts = ranks.gather(local)
    n_bridges = len(linear)
    totals = parts[:, -2:].sum(0)
    return (parts[:, :n_bridges].sum(0), torch.logsumexp(parts[:, n_bridges:2 * n_bridges], 0),
            float(totals[0]), int(totals[1]))


def train_bridges(net, X_train, X_valid, masks, *, n_steps, batch_size, learning_rate,
                  weight_decay, eval_every, patience, n_eval_draws, generator, ranks=None,
                  private=None):
    """Train all bridge heads of ``net`` as logistic classifiers, with early stopping.

    Each step draws a batch of real training samples, one fresh product-of-marginals sample per
    row (every pixel from an independently drawn training row), and a bridge index per row; the
    shared network is trained on the coupled pairs. Every ``eval_every`` steps the logistic
    loss on the held-out split (with fixed marginal draws) is computed; the weights with the
    lowest held-out loss are kept, and training stops after ``patience`` evaluations without
    improvement.

    With several processes (``ranks``), the network is trained in ``DistributedDataParallel``:
    each rank draws its part of every batch (:meth:`Ranks.batch_size`) from its own shard of
    the training samples (:meth:`Ranks.shard`) with its own generator, the marginal samples
    from all training samples, and the gradients are averaged over the ranks at every step;
    the held-out evaluations are shared out and combined (:func:`bridge_divergences`), so every
    rank stops at the same step, and rank 0's weights are given to every rank at the end.

    Parameters
    ----------
    net : DualNetwork
        The network, on the device of the data; trained in place.
    X_train, X_valid : torch.Tensor, shape (n, n_channels, n_times)
        Scaled training and held-out samples.
    masks : torch.Tensor of bool, shape (n_bridges + 1, n_pixels)
        Path masks.
    n_steps, batch_size, learning_rate, weight_decay, eval_every, patience, n_eval_draws
        The estimator's training settings.
    generator : torch.Generator
        Source of the batches and marginal draws (on the CPU, whatever the device, so that
        a fit does not depend on the device's random numbers; the same state on every rank).
    ranks : None | Ranks
        The processes that train together (:mod:`~mne_dualdiv.engine.distributed`). None:
        one process.
    private : None | PrivateSteps
        DP-SGD (:class:`~mne_dualdiv.engine.dp.PrivateSteps`): Poisson batches of privacy
        units, per-unit gradients, the optimizer wrapped in Opacus' DPOptimizer, and no
        evaluation (``X_valid`` is None: all ``n_steps`` steps run, the accountant's plan).

    Returns
    -------
    history : list of dict
        One entry per evaluation: step, train loss (the mean over the ranks), held-out loss,
        held-out divergence.
    """
    ranks = Ranks(X_train.device) if ranks is None else ranks
    device = X_train.device
    n_bridges = masks.shape[0] - 1
    model = ranks.wrap(net)
    optimizer = torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=weight_decay)
    if private is not None:
        optimizer = private.wrap(optimizer)
    eval_seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    batch_generator = ranks.own_generator(generator)
    X_shard = ranks.shard(X_train)
    n_rows, n_batch = X_shard.shape[0], ranks.batch_size(batch_size)
    best_loss, best_state, since_best = math.inf, None, 0
    history, running = [], []
    with progress(n_steps, "fit: training steps") as bar:
        for step in range(1, n_steps + 1):
            bar.update(1)
            model.train()
            if private is not None:
                optimizer.zero_grad(set_to_none=True)
                private.set_unit_gradients(net, X_train, masks, _classification_loss,
                                           batch_generator)
                optimizer.step()
                continue
            rows = torch.randint(0, n_rows, (n_batch,), generator=batch_generator)
            z = marginal_samples(X_train, n_batch, batch_generator)
            bridge = torch.randint(0, n_bridges, (n_batch,), generator=batch_generator)
            loss = _classification_loss(model, X_shard[rows.to(device)], z, masks,
                                        bridge.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running.append(loss.item())
            if step % eval_every == 0 or step == n_steps:
                net.eval()
                eval_gen = torch.Generator().manual_seed(eval_seed)
                divs, valid_loss = bridge_divergences(net, X_valid, X_train, masks,
                                                      n_eval_draws, eval_gen, ranks=ranks)
                entry = dict(step=step, train_loss=ranks.mean(float(np.mean(running))),
                             valid_loss=valid_loss, valid_divergence=float(divs.sum()))
                history.append(entry)
                running = []
                logger.info("step %5d  train loss %.4f  held-out loss %.4f  held-out KL %.2f "
                            "nats", step, entry["train_loss"], valid_loss,
                            entry["valid_divergence"])
                if valid_loss < best_loss - 1e-5:
                    best_loss, since_best = valid_loss, 0
                    best_state = copy.deepcopy(net.state_dict())
                else:
                    since_best += 1
                    if since_best >= patience:
                        break
    if best_state is not None:
        net.load_state_dict(best_state)
    ranks.broadcast_parameters(net)
    net.eval()
    return history
