"""The trainer against hostile or unlucky run folders: pickled code, a full disk, leftovers of killed saves."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rpan_core.engine import TrainConfig, Trainer, run_training
from rpan_core.errors import TrainingError
from rpan_core.runlog import read_events
from tests.core.engine_support import make_tiny_project

# 6 training videos, batch 3: 2 steps an epoch
SMALL = dict(backbone="small_cnn", backbone_weights=None, input_size=(48, 64), hidden=16, batch=3, lr=0.005,
             clip_len=3, seed=0, tensorboard=False, val_split="train")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("rel") / "project"
    make_tiny_project(folder, per_class=3, n_frames=8, size=(48, 64))
    return folder


@pytest.fixture(scope="module")
def finished(tiny, tmp_path_factory):
    """A finished 2-epoch run, copied by the tests that tamper with it."""
    run = tmp_path_factory.mktemp("done") / "run"
    run_training(TrainConfig(project=str(tiny), run_dir=str(run), epochs=2, **SMALL), progress=False)
    return run


def _leftovers(run: Path) -> list[str]:
    return sorted(p.name for p in run.iterdir() if "tmp" in p.name)


class _Payload:
    """Unpickling this creates a file: what a crafted trainer_state.pt could do on resume."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_resume_never_unpickles_code(finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    marker = tmp_path / "pwned"
    state = torch.load(run / "trainer_state.pt", weights_only=True)
    state["best"] = _Payload(marker)
    torch.save(state, run / "trainer_state.pt")
    with pytest.raises(TrainingError) as e:
        run_training(TrainConfig(max_steps=6), progress=False, resume=run)
    assert not marker.exists(), "resume executed code from trainer_state.pt"
    assert "trainer_state.pt" in str(e.value) and "\n" not in str(e.value)
    end = read_events(run / "events.jsonl")[-1]
    assert end["type"] == "end" and end["status"] == "failed" and "trainer_state.pt" in end["message"]


def test_trainer_state_holds_only_tensors_and_plain_values(finished):
    st = torch.load(finished / "trainer_state.pt", weights_only=True)  # raises on anything else
    assert isinstance(st["torch_rng"], torch.Tensor) and st["step"] == 4 and st["epoch"] == 2


def _full_disk_after(monkeypatch, n_ok: int) -> list[int]:
    """torch.save writes ``n_ok`` files normally, then half a file and fails as on a full disk: torch reports
    ENOSPC as a RuntimeError raised while handling the OSError (seen on a 2 MB tmpfs)."""
    real = torch.save
    calls = [0]

    def save(obj, f, *a, **kw):
        calls[0] += 1
        if calls[0] > n_ok:
            f.write(b"\0" * 4096)
            try:
                raise OSError(errno.ENOSPC, "No space left on device")
            except OSError:
                raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")
        return real(obj, f, *a, **kw)

    monkeypatch.setattr(torch, "save", save)
    return calls


def test_disk_full_is_one_line_ends_the_log_leaves_no_temp_and_resume_works(tiny, tmp_path, monkeypatch):
    run = tmp_path / "run"
    # epoch 1 saves best.pt, trainer_state.pt, last.pt; the disk fills during epoch 2's saves
    _full_disk_after(monkeypatch, 3)
    with pytest.raises(TrainingError) as e:
        run_training(TrainConfig(project=str(tiny), run_dir=str(run), epochs=3, **SMALL), progress=False)
    msg = str(e.value)
    assert "disk is full" in msg and "--resume" in msg and "\n" not in msg
    end = read_events(run / "events.jsonl")[-1]
    assert end["type"] == "end" and end["status"] == "failed" and "disk is full" in end["message"]
    assert _leftovers(run) == []
    monkeypatch.undo()
    assert torch.load(run / "trainer_state.pt", weights_only=True)["step"] == 2  # epoch 1's state is intact
    run_training(TrainConfig(), progress=False, resume=run)
    ev = read_events(run / "events.jsonl")
    assert ev[-1]["status"] == "finished" and ev[-1]["step"] == 6
    assert _leftovers(run) == []


def test_disk_full_on_the_command_line_is_one_line(tiny, tmp_path):
    run = tmp_path / "run"
    # the same patched writer, in a real `rpan train` process
    code = ("import errno, sys, torch\n"
            "real = torch.save\n"
            "def save(obj, f, *a, **k):\n"
            "    f.write(b'x' * 100)\n"
            "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
            "torch.save = save\n"
            "from rpan_core.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    args = ["train", "--project", str(tiny), "--run-dir", str(run), "--epochs", "1", "--backbone", "small_cnn",
            "--backbone-weights", "none", "--input-size", "48x64", "--hidden", "16", "--batch", "3", "--clip-len", "3",
            "--no-tensorboard", "--no-progress"]
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    err = [ln for ln in r.stderr.strip().splitlines() if ln.startswith("rpan train: error")]
    assert len(err) == 1 and "disk is full" in err[0] and "Traceback" not in r.stderr
    assert _leftovers(run) == []


def test_orphaned_temp_files_are_removed_on_resume(finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphans = [run / f"last.pt.tmp{dead.pid}", run / f".trainer_state.pt.rpan-tmp{dead.pid}-1",
               run / f"best.pt.tmp{dead.pid}"]
    for p in orphans:
        p.write_bytes(b"\0" * 1000)
    mine = run / f".last.pt.rpan-tmp{os.getpid()}-7"  # a live writer's temp file is not touched
    mine.write_bytes(b"1")
    run_training(TrainConfig(max_steps=5), progress=False, resume=run)
    assert not any(p.exists() for p in orphans)
    assert mine.exists()


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs in the process."""


def test_kill_during_the_first_best_write_leaves_a_usable_run(tiny, tmp_path, monkeypatch):
    run = tmp_path / "run"
    real = Trainer.save_checkpoint

    def dying(self, name, metrics):
        if name == "best.pt":
            raise _Killed()
        return real(self, name, metrics)

    monkeypatch.setattr(Trainer, "save_checkpoint", dying)
    with pytest.raises(_Killed):
        run_training(TrainConfig(project=str(tiny), run_dir=str(run), epochs=1, checkpoint_every=1, **SMALL),
                     progress=False)
    monkeypatch.undo()
    assert not (run / "best.pt").exists()
    run_training(TrainConfig(), progress=False, resume=run)
    end = read_events(run / "events.jsonl")[-1]
    assert end["status"] == "finished" and end["best_checkpoint"] == str(run / "best.pt")
    assert (run / "best.pt").exists() and (run / "last.pt").exists()


def test_a_run_from_before_held_out_frames_resumes_on_the_same_labels(finished, tmp_path):
    import json

    run = tmp_path / "run"
    shutil.copytree(finished, run)
    cfg = json.loads((run / "config.json").read_text())
    del cfg["train"]["holdout"]  # as the trainer before the engine wrote it
    (run / "config.json").write_text(json.dumps(cfg))
    assert Trainer(TrainConfig(), resume=run).tc.holdout == 0.0
