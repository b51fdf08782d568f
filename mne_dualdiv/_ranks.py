"""Which process of a multi-process run this is, so that only the first one writes files."""

import os

import torch.distributed as dist


def process_rank():
    """Rank of this process: in the initialised ``torch.distributed`` process group, else as
    ``torchrun`` announces it (its ``RANK`` environment variable), else 0 (a single process).

    The environment counts too because the engine leaves the process group it creates for a
    ``fit`` when that ``fit`` ends: a script run by ``torchrun`` that saves its model afterwards
    is still one of several processes.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def writes_files():
    """Whether this process writes files: rank 0 alone, so that the ranks of a multi-process
    run, which hold the same model, do not write one file several times over."""
    return process_rank() == 0
