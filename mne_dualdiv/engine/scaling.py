"""Per-channel robust scaling, fitted on training data, with its exact inverse."""

import numpy as np

# The IQR of a standard normal: dividing by IQR / 1.349 gives unit scale on Gaussian channels.
_IQR_TO_STD = 1.3489795003921634


class ChannelScaler:
    """Centre each channel on its median and divide by its robust standard deviation.

    The robust standard deviation is the inter-quartile range divided by 1.349. A channel whose
    IQR is zero falls back to its standard deviation, and a constant channel to a scale of 1, so
    that no channel is ever divided by zero.

    Attributes
    ----------
    center_ : ndarray, shape (n_channels,)
        Median of each channel over samples and times.
    scale_ : ndarray, shape (n_channels,)
        Robust standard deviation of each channel (strictly positive).
    """

    def fit(self, X):
        """Learn the per-channel centre and scale of ``X`` (n_samples, n_channels, n_times)."""
        per_channel = np.moveaxis(X, 1, 0).reshape(X.shape[1], -1)
        q25, center, q75 = np.percentile(per_channel, [25, 50, 75], axis=1)
        scale = (q75 - q25) / _IQR_TO_STD
        scale = np.where(scale > 0, scale, per_channel.std(axis=1))
        # A constant channel keeps scale 1: its values pass through unchanged (minus the centre).
        constant = np.ptp(per_channel, axis=1) == 0
        self.center_ = center
        self.scale_ = np.where(constant | ~(scale > 0), 1.0, scale)
        return self

    def transform(self, X):
        """Scale ``X`` with the learned statistics; returns a new array."""
        return (X - self.center_[:, None]) / self.scale_[:, None]

    def inverse_transform(self, Z):
        """Map scaled values back to the input's units; returns a new array."""
        return Z * self.scale_[:, None] + self.center_[:, None]

    def inverse_transform_difference(self, D):
        """Map a difference of scaled values (no centre) back to the input's units."""
        return D * self.scale_[:, None]
