"""A plain fit script that ``tests/test_distributed.py`` runs with ``torchrun`` on 2 processes.

Usage: ``torchrun --standalone --nproc_per_node 2 distributed_fit_script.py OUT_FOLDER``. Each
rank writes ``rank<r>.npz`` and ``rank<r>.json`` with what the test compares.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.distributed as dist

from mne_dualdiv import DualDivergenceGenerator

#: Small enough for a few seconds on 2 cores; every stage of fit still runs.
PARAMS = dict(n_bridges=3, n_filters=4, hidden=8, max_steps=40, eval_every=10, batch_size=16,
              n_final_draws=100, n_local_draws=2, walk_steps=3, random_state=0, verbose="INFO")


def parameters(generator):
    """The fitted network's parameters and buffers, flattened into one array."""
    return torch.cat([value.flatten().double()
                      for value in generator.network_.state_dict().values()]).numpy()


def main(out):
    rank = int(os.environ["RANK"])
    X = np.random.default_rng(0).standard_normal((48, 3, 16)).cumsum(-1)

    # As a user writes it: no distributed code at all.
    generator = DualDivergenceGenerator(**PARAMS).fit(X)
    generator.save(os.path.join(out, f"model_saved_by_rank{rank}.pt"))
    group_after_fit = dist.is_initialized()
    again = DualDivergenceGenerator(**PARAMS).fit(X)  # a second group from the environment

    # In a process group the script initialised itself, which the fit must leave initialised.
    dist.init_process_group("gloo")
    own_group = DualDivergenceGenerator(**PARAMS).fit(X)
    group_kept = dist.is_initialized()
    try:
        DualDivergenceGenerator(**PARAMS).fit(X + rank)
        refusal = ""
    except ValueError as err:
        refusal = str(err)
    dist.destroy_process_group()

    np.savez(os.path.join(out, f"rank{rank}.npz"), parameters=parameters(generator),
             again_parameters=parameters(again), own_group_parameters=parameters(own_group),
             dual_values_train=generator.dual_values_train_,
             samples=generator.sample(4, random_state=1))
    with open(os.path.join(out, f"rank{rank}.json"), "w") as fid:
        json.dump(dict(group_after_fit=group_after_fit, group_kept=group_kept, refusal=refusal,
                       history=generator.history_, divergence=generator.divergence_), fid)


if __name__ == "__main__":
    main(sys.argv[1])
