"""Multi-process training: a plain fit script under ``torchrun``, and the ranks' bookkeeping."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mne_dualdiv import read_generator
from mne_dualdiv.engine.distributed import Ranks, launched_by_torchrun

SCRIPT = Path(__file__).with_name("distributed_fit_script.py")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def torchrun_outputs(tmp_path_factory):
    """Run the fit script with ``torchrun --standalone --nproc_per_node 2`` (gloo on CPU)."""
    pytest.importorskip("torch.distributed.run")
    out = tmp_path_factory.mktemp("torchrun")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    # A session of its own, so that a hang kills torchrun's workers too, not torchrun alone.
    process = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(SCRIPT), str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True)
    try:
        log, _ = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        log, _ = process.communicate()
        pytest.fail(f"torchrun did not finish in 180 s:\n{log[-3000:]}")
    assert process.returncode == 0, log[-6000:]
    ranks = []
    for rank in range(2):
        with np.load(out / f"rank{rank}.npz") as arrays, open(out / f"rank{rank}.json") as fid:
            ranks.append(dict(arrays, **json.load(fid)))
    return dict(folder=out, ranks=ranks, log=log)


pytestmark = pytest.mark.distributed


def test_a_plain_script_under_torchrun_trains_in_a_process_group_of_two(torchrun_outputs):
    for rank in range(2):
        assert f"Training in a process group of 2 (gloo): rank {rank} on cpu, initialised from " \
               "torchrun's environment" in torchrun_outputs["log"]


def test_the_ranks_train_in_step(torchrun_outputs):
    # DistributedDataParallel averages the gradients: the ranks' parameters never drift apart,
    # and giving every rank rank 0's at the end changes nothing.
    assert "parameters differed" not in torchrun_outputs["log"]


def test_every_rank_ends_with_the_same_model(torchrun_outputs):
    first, second = torchrun_outputs["ranks"]
    for key in ("parameters", "dual_values_train", "samples"):
        assert np.array_equal(first[key], second[key]), key
    assert first["history"] == second["history"]
    assert first["divergence"] == second["divergence"]


def test_the_fit_leaves_the_process_group_as_it_found_it(torchrun_outputs):
    for rank in torchrun_outputs["ranks"]:
        assert rank["group_after_fit"] is False  # the group the fit created is destroyed
        assert rank["group_kept"] is True  # the script's own group stays


def test_every_group_from_the_script_or_from_torchrun_trains_the_same_model(torchrun_outputs):
    for rank in torchrun_outputs["ranks"]:
        assert np.array_equal(rank["parameters"], rank["again_parameters"])
        assert np.array_equal(rank["parameters"], rank["own_group_parameters"])


def test_data_that_differs_between_ranks_is_refused_on_every_rank(torchrun_outputs):
    for rank in torchrun_outputs["ranks"]:
        assert "X differs between the 2 processes" in rank["refusal"]
        assert "rank(s) [1]" in rank["refusal"]


def test_rank_0_alone_writes_and_its_file_reads_back(torchrun_outputs):
    folder = torchrun_outputs["folder"]
    assert not (folder / "model_saved_by_rank1.pt").exists()
    loaded = read_generator(folder / "model_saved_by_rank0.pt")
    assert np.array_equal(loaded.sample(4, random_state=1), torchrun_outputs["ranks"][0]["samples"])


# ---------------------------------------------------------------------- one process
def test_one_process_hands_everything_back_untouched():
    ranks = Ranks(torch.device("cpu"))
    rows, generator = torch.arange(10), torch.Generator().manual_seed(0)
    network = torch.nn.Linear(2, 1)
    assert not ranks.distributed
    assert ranks.shard(rows) is rows
    assert ranks.batch_size(7) == 7
    assert ranks.block(10) == (0, 10)
    assert ranks.own_generator(generator) is generator
    assert ranks.wrap(network) is network
    rng = np.random.default_rng(0)
    assert ranks.same_rng(rng) is rng
    assert ranks.mean(0.25) == 0.25


@pytest.mark.parametrize("world_size", [2, 3])
def test_shards_batches_and_blocks_split_the_work_without_overlap(world_size):
    ranks = [Ranks(torch.device("cpu"), rank, world_size) for rank in range(world_size)]
    shards = [set(part.shard(np.arange(11)).tolist()) for part in ranks]
    assert set().union(*shards) == set(range(11))
    assert sum(len(shard) for shard in shards) == 11
    assert sum(part.batch_size(16) for part in ranks) == 16
    blocks = [part.block(11) for part in ranks]
    assert blocks[0][0] == 0 and blocks[-1][1] == 11
    assert all(blocks[i][1] == blocks[i + 1][0] for i in range(world_size - 1))


def test_the_ranks_draw_different_batches_reproducibly():
    draws = []
    for rank in (0, 1, 1):
        own = Ranks(torch.device("cpu"), rank, 2).own_generator(
            torch.Generator().manual_seed(3))
        draws.append(torch.randint(0, 1000, (8,), generator=own))
    assert not torch.equal(draws[0], draws[1])
    assert torch.equal(draws[1], draws[2])


def test_torchrun_is_recognised_by_its_environment(monkeypatch):
    for name, value in dict(RANK="0", WORLD_SIZE="2", MASTER_ADDR="localhost",
                            MASTER_PORT="29500").items():
        monkeypatch.setenv(name, value)
    assert launched_by_torchrun()
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert not launched_by_torchrun()
    monkeypatch.delenv("MASTER_PORT")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert not launched_by_torchrun()
