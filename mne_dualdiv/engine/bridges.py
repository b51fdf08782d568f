"""Training of the bridge functions and their Donsker-Varadhan divergence estimates."""

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F

from .._logging import logger, progress
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
    labels = torch.cat([torch.ones(len(x)), torch.zeros(len(x))])
    return F.binary_cross_entropy_with_logits(logits, labels)


@torch.no_grad()
def bridge_divergences(net, X_real, X_marginal, masks, n_draws, generator, batch_size=2048):
    """Donsker-Varadhan estimate of every bridge ``KL(P_{k-1} || P_k)`` in nats.

    ``DV_k = E_{P_{k-1}}[f_k] - log E_{P_k}[exp f_k]``, each expectation over the rows of
    ``X_real`` coupled with ``n_draws`` fresh marginal samples drawn from ``X_marginal``.

    Returns
    -------
    divergences : ndarray, shape (n_bridges,)
    mean_loss : float
        The mean logistic loss over the same pairs (used for early stopping).
    """
    n_bridges = masks.shape[0] - 1
    n_real = X_real.shape[0]
    linear = torch.zeros(n_bridges, dtype=torch.float64)
    partition = [[] for _ in range(n_bridges)]
    loss_sum, n_pairs = 0.0, 0
    x_all = X_real.repeat(n_draws, 1, 1)
    z_all = marginal_samples(X_marginal, len(x_all), generator)
    for k in range(n_bridges):
        bridge = torch.full((len(x_all),), k, dtype=torch.long)
        for start in range(0, len(x_all), batch_size):
            sl = slice(start, start + batch_size)
            before, after = coupled_pair(x_all[sl], z_all[sl], masks, bridge[sl])
            logits = _bridge_logits(net, before, after, bridge[sl]).double()
            pos, neg = logits.split(len(before))
            linear[k] += pos.sum()
            partition[k].append(neg)
            loss_sum += (F.softplus(-pos).sum() + F.softplus(neg).sum()).item()
            n_pairs += 2 * len(before)
    total = n_real * n_draws
    divergences = np.empty(n_bridges)
    for k in range(n_bridges):
        neg = torch.cat(partition[k])
        divergences[k] = (linear[k] / total - (torch.logsumexp(neg, 0) - math.log(total))).item()
    return divergences, loss_sum / n_pairs


def train_bridges(net, X_train, X_valid, masks, *, n_steps, batch_size, learning_rate,
                  weight_decay, eval_every, patience, n_eval_draws, generator):
    """Train all bridge heads of ``net`` as logistic classifiers, with early stopping.

    Each step draws a batch of real training samples, one fresh product-of-marginals sample per
    row (every pixel from an independently drawn training row), and a bridge index per row; the shared network is
    trained on the coupled pairs. Every ``eval_every`` steps the logistic loss on the held-out
    split (with fixed marginal draws) is computed; the weights with the lowest held-out loss are
    kept, and training stops after ``patience`` evaluations without improvement.

    Returns
    -------
    history : list of dict
        One entry per evaluation: step, train loss, held-out loss, held-out divergence.
    """
    n_bridges = masks.shape[0] - 1
    optimizer = torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=weight_decay)
    eval_seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    best_loss, best_state, since_best = math.inf, None, 0
    history, running = [], []
    n_train = X_train.shape[0]
    with progress(n_steps, "fit: training steps") as bar:
        for step in range(1, n_steps + 1):
            bar.update(1)
            net.train()
            rows = torch.randint(0, n_train, (batch_size,), generator=generator)
            z = marginal_samples(X_train, batch_size, generator)
            bridge = torch.randint(0, n_bridges, (batch_size,), generator=generator)
            loss = _classification_loss(net, X_train[rows], z, masks, bridge)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running.append(loss.item())
            if step % eval_every == 0 or step == n_steps:
                net.eval()
                eval_gen = torch.Generator().manual_seed(eval_seed)
                divs, valid_loss = bridge_divergences(net, X_valid, X_train, masks,
                                                      n_eval_draws, eval_gen)
                entry = dict(step=step, train_loss=float(np.mean(running)),
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
    net.eval()
    return history
