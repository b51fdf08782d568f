"""Where a generator computes: its ``device``, and its fitted network's copy there.

The fitted state stays on the CPU (so that a saved file, a pickle or a clone sent to a worker
never holds GPU tensors, and a file saved on one machine reads on another); the work of
``sample``, ``dual_values`` and the dual space of ``fit`` runs on ``device``, with a copy of the
network moved there once.
"""

import copy

from .._checks import check_device


class DeviceMixin:
    """The device handling of :class:`~mne_dualdiv.DualDivergenceGenerator`."""

    def _compute_device(self):
        """``device`` as a :class:`torch.device`, checked (CUDA must be available for it)."""
        return check_device(self.device)

    def _network_on(self, device):
        """The fitted network on ``device``: ``network_`` itself on the CPU, else a copy made
        once per device (and again after a new fit)."""
        if device.type == "cpu":
            return self.network_
        cached = self.__dict__.get("_network_copy")
        if cached is None or cached[0] is not self.network_ or cached[1] != device:
            cached = (self.network_, device, copy.deepcopy(self.network_).to(device).eval())
            self._network_copy = cached
        return cached[2]

    def __getstate__(self):
        # A pickle (joblib and dask workers, copies) carries the CPU state only: a GPU copy of
        # the network would tie it to a machine with that GPU.
        state = dict(super().__getstate__())
        state.pop("_network_copy", None)
        return state
