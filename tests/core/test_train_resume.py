"""Resuming: exact continuation, SIGKILL recovery from the last checkpoint, SIGTERM cancel."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from tests.core.engine_support import make_tiny_project, rpan_cli


from rpan_core.runlog import read_events  # noqa: E402
from rpan_core.engine import TrainConfig, Trainer, run_training  # noqa: E402

SMALL = dict(backbone="small_cnn", backbone_weights=None, input_size=(64, 96), hidden=32, batch=3, lr=0.005,
             clip_len=4, seed=3)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume") / "project"
    make_tiny_project(folder, per_class=3, n_frames=12, size=(64, 80))
    return folder


def _params(run: Path) -> dict:
    from rpan_core.checkpoint import load_checkpoint

    model, _ = load_checkpoint(run / "last.pt")
    return model.state_dict()


def test_resume_continues_exactly(tiny, tmp_path):
    ref = run_training(TrainConfig(project=str(tiny), run_dir=str(tmp_path / "ref"), epochs=3, **SMALL),
                       progress=False)
    # the same run stopped after step 5 (mid-epoch: 6 train videos / batch 3 = 2 steps per epoch... step 5 is
    # the first step of epoch 3) then resumed
    t = Trainer(TrainConfig(project=str(tiny), run_dir=str(tmp_path / "cut"), epochs=3, **SMALL), progress=False)
    t.on_step = lambda tr, step: setattr(tr, "stop_reason", "test stop") if step == 5 else None
    t.run()
    ev = read_events(tmp_path / "cut" / "events.jsonl")
    assert ev[-1]["status"] == "cancelled" and ev[-1]["step"] == 5
    run_training(TrainConfig(), progress=False, resume=tmp_path / "cut")
    ev = read_events(tmp_path / "cut" / "events.jsonl")
    starts = [e for e in ev if e["type"] == "start"]
    assert starts[-1]["step"] == 5 and starts[-1]["resumed"]
    assert [e["step"] for e in ev if e["type"] == "step"] == list(range(1, ev[0]["total_steps"] + 1))
    a, b = _params(Path(ref)), _params(tmp_path / "cut")
    for k in a:
        assert torch.equal(a[k], b[k]), k


def _wait_for_state(run: Path, min_step: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        steps = [e["step"] for e in read_events(run / "events.jsonl") if e["type"] == "step"]
        if (run / "trainer_state.pt").exists() and steps and steps[-1] >= min_step:
            return
        if proc.poll() is not None:
            raise AssertionError(f"trainer exited early: {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError("trainer wrote no checkpoint in time")


def _start(tiny: Path, run: Path) -> subprocess.Popen:
    return subprocess.Popen(rpan_cli("train", "--project", str(tiny), "--run-dir", str(run), "--epochs", "500",
                                     "--backbone", "small_cnn", "--backbone-weights", "none", "--input-size",
                                     "64x96", "--hidden", "32", "--batch", "3", "--lr", "0.005", "--clip-len", "4",
                                     "--checkpoint-every", "1", "--no-progress"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_then_resume_from_last_checkpoint(tiny, tmp_path):
    from rpan_core.checkpoint import load_checkpoint

    run = tmp_path / "killed"
    proc = _start(tiny, run)
    try:
        _wait_for_state(run, 3, proc)
    finally:
        proc.kill()
        proc.wait(30)
    # trainer_state.pt (model + optimizer + scheduler + RNG + step, one atomic file) is what a resume reads;
    # last.pt is written right after it, so a kill between the two leaves last.pt one save behind
    saved = torch.load(run / "trainer_state.pt", weights_only=False)["step"]
    _, info = load_checkpoint(run / "last.pt")
    assert info.metrics["step"] <= saved
    run_training(TrainConfig(max_steps=saved + 4), progress=False, resume=run)
    ev = read_events(run / "events.jsonl")
    start = [e for e in ev if e["type"] == "start"][-1]
    assert start["step"] == saved
    after = [e["step"] for e in ev[ev.index(start):] if e["type"] == "step"]
    assert after == list(range(saved + 1, saved + 5))
    assert ev[-1]["status"] == "finished" and ev[-1]["step"] == saved + 4


def test_sigterm_cancels_cleanly_with_last_checkpoint(tiny, tmp_path):
    run = tmp_path / "term"
    proc = _start(tiny, run)
    try:
        _wait_for_state(run, 2, proc)
        os.kill(proc.pid, signal.SIGTERM)
        rc = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    end = read_events(run / "events.jsonl")[-1]
    assert rc == 0, proc.stderr.read()
    assert end["type"] == "end" and end["status"] == "cancelled"
    state = torch.load(run / "trainer_state.pt", weights_only=False)
    assert state["step"] == end["step"] and (run / "last.pt").exists()
