"""Product-of-marginals sampling and the path of diffusing dependencies (pixel masks)."""

import numpy as np
import torch


def marginal_samples(X, n_samples, generator, replace=True):
    """Draw samples of the product of the pixel marginals of ``X``.

    Every pixel takes its value from a row of ``X`` drawn independently of the other pixels, so
    each pixel keeps its empirical marginal and all dependencies between pixels are destroyed.

    Parameters
    ----------
    X : torch.Tensor, shape (n_rows, n_channels, n_times)
        The (scaled) real samples whose marginals are used.
    n_samples : int
        How many marginal samples to return.
    generator : torch.Generator
        Source of randomness (on the CPU; the samples are on the device of ``X``).
    replace : bool
        True (the engine's draws): every pixel of every sample picks a uniformly random row,
        independently, which samples the product of the empirical marginals exactly. False (a
        marginal shuffle): every pixel gets its own random permutation of the rows, so that
        with ``n_samples == n_rows`` each pixel's column is a permutation of the real one; more
        than ``n_rows`` samples chain fresh permutations. Both give the same distribution per
        sample; drawing with replacement is about 10 times faster (no sort).

    Returns
    -------
    Z : torch.Tensor, shape (n_samples, n_channels, n_times)
    """
    n_rows = X.shape[0]
    flat = X.reshape(n_rows, -1)
    if replace:
        rows = torch.randint(0, n_rows, (n_samples, flat.shape[1]), generator=generator)
    else:
        n_blocks = -(-n_samples // n_rows)
        # argsort of uniform noise along the sample axis: an independent permutation per pixel.
        rows = torch.rand((n_blocks * n_rows, flat.shape[1]), generator=generator)
        rows = rows.view(n_blocks, n_rows, -1).argsort(dim=1).view(n_blocks * n_rows, -1)
        rows = rows[:n_samples]
    # Drawn on the CPU (the generator's device) and moved: the same draws on every device.
    return torch.gather(flat, 0, rows.to(X.device)).view(n_samples, *X.shape[1:])


def pixel_order(n_channels, n_times, order, rng):
    """Order in which pixels are handed over to the marginal along the path.

    Parameters
    ----------
    n_channels, n_times : int
        Image size.
    order : 'channel' | 'time' | 'random'
        ``'channel'`` diffuses whole channels in turn (contiguous channel-major blocks),
        ``'time'`` whole time points in turn, ``'random'`` a random permutation of pixels.
    rng : numpy.random.Generator
        Used for ``'random'`` only.

    Returns
    -------
    order : ndarray of int, shape (n_channels * n_times,)
        Flat (channel-major) pixel indices.
    """
    n_pixels = n_channels * n_times
    if order == "channel":
        return np.arange(n_pixels)
    if order == "time":
        return np.arange(n_pixels).reshape(n_channels, n_times).T.ravel()
    return rng.permutation(n_pixels)


def path_masks(order, n_bridges):
    """Masks of the path ``P_0 = P, ..., P_K = Q``.

    ``masks[k]`` is True on the pixels that are marginal (shuffled) in ``P_k``: the first
    ``round(k * d / K)`` pixels of ``order``.

    Returns
    -------
    masks : ndarray of bool, shape (n_bridges + 1, n_pixels)
    """
    n_pixels = len(order)
    masks = np.zeros((n_bridges + 1, n_pixels), dtype=bool)
    for k in range(1, n_bridges + 1):
        masks[k, order[: int(round(k * n_pixels / n_bridges))]] = True
    return masks
