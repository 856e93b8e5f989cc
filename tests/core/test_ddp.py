"""Multi-process training (DDP, gloo, two CPU processes): ranks end with the same parameters."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import torch
import torch.multiprocessing as mp

from tests.core.engine_support import make_tiny_project


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, project: str, run: str, out: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from rpan_core.engine import TrainConfig, Trainer

    t = Trainer(TrainConfig(project=project, run_dir=run, epochs=2, backbone="small_cnn", backbone_weights=None,
                            input_size=(64, 96), hidden=16, batch=2, lr=0.01, clip_len=4, device="cpu", seed=1),
                progress=False)
    t.run()
    torch.save(t.model.state_dict(), Path(out) / f"rank{rank}.pt")


def test_two_gloo_ranks_agree(tmp_path):
    from rpan_core.runlog import read_events

    make_tiny_project(tmp_path / "p", per_class=3, n_frames=12, size=(64, 80))
    run = tmp_path / "run"
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "p"), str(run), str(tmp_path)), nprocs=2, join=True)
    a, b = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ev = read_events(run / "events.jsonl")
    start = ev[0]
    assert start["type"] == "start" and start["world_size"] == 2
    # 6 training videos over 2 ranks, 2 per rank-batch: 2 steps an epoch, written once (rank 0 only)
    assert [e["step"] for e in ev if e["type"] == "step"] == [1, 2, 3, 4]
    assert [e for e in ev if e["type"] == "ddp_check"][0]["ranks_agree"] is True
    assert ev[-1]["status"] == "finished" and (run / "last.pt").exists()
