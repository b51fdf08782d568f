"""Methods of the generator that look training samples up: nearest rows, localized values.

A private fit keeps no training sample, so both refuse it (:mod:`~mne_dualdiv.engine.dp_fit`).
"""

import numpy as np

from .._checks import check_array_3d, check_random_state
from .dualspace import knn_indices, local_dual_values
from .sampling import WALK_BATCH


class TrainingLookupMixin:
    """``local_dual_values`` and ``nearest_training_indices`` of
    :class:`~mne_dualdiv.DualDivergenceGenerator`."""

    def local_dual_values(self, X, random_state=None):
        """Localized (kNN) dual values of images against their nearest training samples.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_channels, n_times)
            Images in the units of the data given to ``fit``.
        random_state : None | int | numpy.random.Generator
            Seed of the local marginal draws.

        Returns
        -------
        local_values : ndarray, shape (n_samples,)
        """
        self._check_fitted("local_dual_values")
        self._refuse_if_private("local_dual_values")
        X = check_array_3d(X, "X", self.n_channels_, self.n_times_)
        return self._local_values_scaled(self.scaler_.transform(X),
                                         check_random_state(random_state))

    def _local_values_scaled(self, scaled, rng):
        train = self._train_scaled
        neighbors = knn_indices(train, scaled, min(self.n_neighbors, len(train) - 1))
        return local_dual_values(self._dual_values_scaled, scaled, train, neighbors,
                                 self.n_local_draws, rng)

    def nearest_training_indices(self, X):
        """Row of the fitted ``X`` closest to each image (robust-scaled Euclidean distance).

        Parameters
        ----------
        X : array-like, shape (n_samples, n_channels, n_times)
            Images in the units of the data given to ``fit``.

        Returns
        -------
        rows : ndarray of int, shape (n_samples,)
            Indices into the ``X`` given to ``fit`` (values of ``train_indices_``).
        """
        self._check_fitted("nearest_training_indices")
        self._refuse_if_private("nearest_training_indices")
        X = check_array_3d(X, "X", self.n_channels_, self.n_times_)
        scaled = self.scaler_.transform(X)
        # In blocks: knn_indices forms a (queries x training samples) distance matrix.
        nearest = [knn_indices(self._train_scaled, scaled[start:start + WALK_BATCH], 1)[:, 0]
                   for start in range(0, len(scaled), WALK_BATCH)]
        return self.train_indices_[np.concatenate(nearest)]
