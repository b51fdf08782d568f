"""Training on several processes with ``torch.distributed``: a fit's process group and ranks.

A user's fit script runs unchanged under ``torchrun --nproc_per_node N``: :func:`process_group`
joins the process group that is already initialised, or initialises one from the variables
``torchrun`` sets and destroys it when the fit ends. :class:`Ranks` is what the one training
loop (:func:`~mne_dualdiv.engine.bridges.train_bridges`) needs to know about it: which rows are
this rank's, how to wrap the network in ``DistributedDataParallel``, and how to combine the
ranks' numbers so that every rank takes the same decisions and ends with the same model. For a
single process every method hands its input back untouched, so that a fit without a process
group runs exactly, bit for bit, as it did before multi-process training existed.
"""

import contextlib
import hashlib
import inspect
import itertools
import os

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .._logging import logger

#: The environment variables of ``torchrun`` from which a fit initialises a process group
#: (``env://``); ``WORLD_SIZE`` must be above 1.
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
#: Process groups the fits of this process have initialised (their stores' prefixes).
_GROUPS_CREATED = itertools.count()


class Ranks:
    """A fit's place among the processes that train one model together.

    Parameters
    ----------
    device : torch.device
        Where this rank computes.
    rank, world_size : int
        This process's rank and the number of processes (0 and 1: a single process).
    comm_device : None | torch.device
        Where the process group's collectives take their tensors: the GPU for NCCL, the CPU
        for gloo. None: the CPU.
    """

    def __init__(self, device, rank=0, world_size=1, comm_device=None):
        self.device = device
        self.rank = rank
        self.world_size = world_size
        self.comm_device = torch.device("cpu") if comm_device is None else comm_device

    @property
    def distributed(self):
        """Whether several processes train together."""
        return self.world_size > 1

    def shard(self, rows):
        """This rank's part of ``rows``: rows ``rank``, ``rank + world_size``, ... (the split of
        :class:`torch.utils.data.DistributedSampler` without shuffling); all of them alone."""
        return rows[self.rank::self.world_size] if self.distributed else rows

    def batch_size(self, total):
        """This rank's part of a batch of ``total`` rows; the parts add up to ``total``."""
        return total // self.world_size + int(self.rank < total % self.world_size)

    def block(self, n_items):
        """``(begin, end)`` of this rank's contiguous block of ``n_items`` (all of them alone)."""
        return (n_items * self.rank // self.world_size,
                n_items * (self.rank + 1) // self.world_size)

    def own_generator(self, generator):
        """The source of this rank's training batches: ``generator`` itself in one process;
        otherwise a generator seeded by a draw of ``generator`` (the same on every rank) and the
        rank, so that the ranks draw different batches, reproducibly."""
        if not self.distributed:
            return generator
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        rank_seed = int(np.random.default_rng([seed, self.rank]).integers(2**62))
        return torch.Generator().manual_seed(rank_seed)

    def same_rng(self, rng):
        """A numpy generator in the same state on every rank: seeded by rank 0's draw of ``rng``
        (``rng`` itself in one process), so that ``random_state=None`` splits and orders the
        data alike on every rank."""
        if not self.distributed:
            return rng
        seeds = self.gather(torch.tensor([int(rng.integers(2**62))], dtype=torch.int64))
        return np.random.default_rng(int(seeds[0, 0]))

    def wrap(self, network):
        """``network`` for the training steps: in ``DistributedDataParallel`` over several
        processes (which averages the ranks' gradients at every step), itself alone."""
        if not self.distributed:
            return network
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        # The masks, the network's only buffer, are the same on every rank: not re-sent at
        # every step (torch 2.13 renamed the option and deprecated the old name).
        option = ("forward_sync_buffers" if "forward_sync_buffers"
                  in inspect.signature(DistributedDataParallel).parameters
                  else "broadcast_buffers")
        return DistributedDataParallel(network, device_ids=device_ids, **{option: False})

    def gather(self, values):
        """Every rank's ``values`` (a 1-D tensor of the same size on every rank), stacked in
        rank order: shape ``(world_size, n)``, the same bits on every rank."""
        if not self.distributed:
            return values[None]
        local = values.to(self.comm_device)
        parts = [torch.empty_like(local) for _ in range(self.world_size)]
        dist.all_gather(parts, local)
        return torch.stack(parts).to(values.device)

    def mean(self, value):
        """The mean of a float over the ranks, the same on every rank (``value`` alone)."""
        if not self.distributed:
            return value
        return float(self.gather(torch.tensor([value], dtype=torch.float64)).mean())

    def broadcast_parameters(self, network):
        """Give every rank rank 0's parameters and buffers, bit for bit, and check how far
        they were apart.

        ``DistributedDataParallel`` keeps the ranks' parameters equal: a difference (logged as
        a warning) means that the ranks did not train in step.

        Returns
        -------
        difference : float
            The largest absolute difference from rank 0's values on any rank (0 in one
            process).
        """
        if not self.distributed:
            return 0.0
        difference = 0.0
        with torch.no_grad():
            for tensor in network.state_dict().values():
                buffer = tensor.to(self.comm_device, copy=True)
                dist.broadcast(buffer, 0)
                buffer = buffer.to(tensor.device)
                difference = max(difference, float((buffer.double() - tensor.double()).abs().max()))
                tensor.copy_(buffer)
        difference = float(self.gather(torch.tensor([difference], dtype=torch.float64)).max())
        if difference > 0 and self.rank == 0:
            logger.warning("The ranks' parameters differed by up to %.3g before rank 0's were "
                           "given to every rank: the ranks did not train in step.", difference)
        return difference

    def check_same(self, X, name="X"):
        """Refuse, on every rank at once, data that differs between the ranks.

        Each rank of a ``torchrun`` script loads its own copy of the data; copies that differ
        would train one model on a mixture and split it differently on every rank.
        """
        if not self.distributed:
            return
        digest = hashlib.sha256(np.ascontiguousarray(X).tobytes()).digest()
        digests = self.gather(torch.frombuffer(bytearray(digest), dtype=torch.uint8))
        differ = [rank for rank in range(self.world_size)
                  if not torch.equal(digests[rank], digests[0])]
        if differ:
            raise ValueError(f"{name} differs between the {self.world_size} processes of the "
                             f"fit (rank(s) {differ} hold other data than rank 0): every "
                             "process must give fit the same samples.")


def launched_by_torchrun():
    """Whether the environment describes one of several processes (``torchrun``'s variables)."""
    if not all(name in os.environ for name in TORCHRUN_VARIABLES):
        return False
    try:
        return int(os.environ["WORLD_SIZE"]) > 1
    except ValueError:
        return False


def _own_store(rank, world_size):
    """The store of a process group a fit initialises, under a prefix of its own.

    ``env://`` would give every group from the same ``torchrun`` environment the same keys in
    the same store: the next group (a second fit, or the script's own
    ``init_process_group`` after a fit) would then read the keys the previous one left and
    hang. The fits of a script are counted alike on every rank, so their prefixes agree.
    """
    # torchrun's agent hosts the store; without it, rank 0 does (as env:// does).
    agent_store = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
    store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world_size,
                          is_master=rank == 0 and not agent_store, multi_tenant=True)
    return dist.PrefixStore(f"mne_dualdiv/fit{next(_GROUPS_CREATED)}", store)


@contextlib.contextmanager
def process_group(device):
    """The processes a fit on ``device`` trains with, as :class:`Ranks`.

    An initialised process group is used as it is. Otherwise, when ``torchrun``'s variables
    (:data:`TORCHRUN_VARIABLES`) say that this is one of several processes, a group is
    initialised from them (NCCL on a GPU, gloo on the CPU) and destroyed when the fit ends, so
    that the fit leaves the process group as it found it. Otherwise: a single process.

    Parameters
    ----------
    device : torch.device
        The fit's device (:func:`~mne_dualdiv._checks.check_device`). On a GPU without an
        index, each rank of a group the fit initialises takes the GPU of its ``LOCAL_RANK``
        (made the current CUDA device, so that sampling afterwards stays on it).

    Yields
    ------
    ranks : Ranks
    """
    joined = dist.is_available() and dist.is_initialized()
    created = False
    if not joined and dist.is_available() and launched_by_torchrun():
        if device.type == "cuda" and device.index is None:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                                store=_own_store(rank, world_size), rank=rank,
                                world_size=world_size)
        joined = created = True
    try:
        if not joined or dist.get_world_size() == 1:
            yield Ranks(device)
            return
        backend = dist.get_backend()
        if backend == "nccl" and device.type != "cuda":
            raise ValueError(f"The process group uses NCCL, which needs GPU tensors, but the fit "
                             f"runs on {device}: use device='cuda', or a gloo process group.")
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        rank, world_size = dist.get_rank(), dist.get_world_size()
        logger.info("Training in a process group of %d (%s): rank %d on %s%s", world_size,
                    backend, rank, device, ", initialised from torchrun's environment"
                    if created else "")
        yield Ranks(device, rank, world_size, device if backend == "nccl" else None)
    finally:
        if created:
            dist.destroy_process_group()
