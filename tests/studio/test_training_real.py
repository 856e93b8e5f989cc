"""The training dialog with the real `rpan train` on a tiny synthetic project (separate process).

Checks what the fake trainer cannot: the real option names are accepted, the real
events.jsonl drives the curves, a finished run yields a loadable checkpoint, and
the real trainer's SIGTERM handling ends a cancelled run with status cancelled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


from rpan_core.synth import render_video, write_mp4  # noqa: E402
from rpan_studio.dialogs.training import TrainingDialog  # noqa: E402

ACTIONS = ("jumping_jacks", "squat")
TINY = ["--backbone", "small_cnn", "--backbone-weights", "none", "--input-size", "48x64", "--hidden", "16",
        "--batch", "2", "--clip-len", "4", "--no-progress", "--device", "cpu"]


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory):
    from rpan_core.project import Project

    folder = tmp_path_factory.mktemp("real") / "project"
    project = Project.create(folder, skeleton="pennaction", classes=list(ACTIONS))
    (folder / "videos").mkdir()
    for k in range(2):
        for a in ACTIONS:
            sv = render_video(k * 7 + ACTIONS.index(a), a, n_frames=8, size=(48, 64))
            path = write_mp4(folder / "videos" / f"{a}_{k}.mp4", sv.frames)
            vid = project.add_video(str(path), action=a, split="test" if k == 0 else "train")
            project.set_labels(vid, [(t, j, float(sv.xy[t, j, 0]), float(sv.xy[t, j, 1]), bool(sv.visible[t, j]),
                                      "manual") for t in range(8) for j in range(13)])
    return project


def _curve_len(dlg, key="loss") -> int:
    xs = dlg.curves[key].getData()[0]
    return 0 if xs is None else len(xs)


def test_real_rpan_train_run_in_dialog(qtbot, tiny_project) -> None:
    from rpan_core.checkpoint import load_checkpoint

    dlg = TrainingDialog(tiny_project)
    qtbot.addWidget(dlg)
    dlg.extra_args = TINY + ["--val-split", "train"]
    dlg.epochs_spin.setValue(2)
    dlg.lr_spin.setValue(0.01)
    ended = []
    dlg.runEnded.connect(lambda *a: ended.append(a))
    with qtbot.waitSignal(dlg.runFinished, timeout=180_000) as sig:
        assert dlg.start()
    run_dir, ckpt = sig.args
    assert ended[0][1] == "finished", dlg.log_view.toPlainText()
    events = [json.loads(x) for x in (Path(run_dir) / "events.jsonl").read_text().splitlines()]
    steps = [e for e in events if e["type"] == "step"]
    assert steps and _curve_len(dlg) == len(steps)
    assert list(dlg.curves["loss"].getData()[1]) == pytest.approx([e["loss"] for e in steps])
    assert _curve_len(dlg, "val_accuracy") == sum(e["type"] == "epoch" for e in events) == 2
    model, info = load_checkpoint(ckpt)
    assert list(info.classes) == list(ACTIONS)


def test_real_rpan_train_cancel(qtbot, tiny_project) -> None:
    dlg = TrainingDialog(tiny_project)
    qtbot.addWidget(dlg)
    dlg.extra_args = TINY
    dlg.epochs_spin.setValue(500)
    assert dlg.start()
    qtbot.waitUntil(lambda: _curve_len(dlg) >= 2, timeout=180_000)
    pid = dlg.process.processId()
    dlg.cancel()
    qtbot.waitUntil(lambda: dlg.status != "running", timeout=60_000)
    assert dlg.status == "cancelled", dlg.log_view.toPlainText()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    events = [json.loads(x) for x in (dlg.run_dir / "events.jsonl").read_text().splitlines()]
    assert events[-1]["type"] == "end" and events[-1]["status"] == "cancelled"
    assert (dlg.run_dir / "last.pt").exists()


def test_real_rpan_train_failure_shows_error(qtbot, tmp_path) -> None:
    from rpan_core.project import Project

    empty = Project.create(tmp_path / "empty", skeleton="pennaction", classes=list(ACTIONS))
    dlg = TrainingDialog(empty)
    qtbot.addWidget(dlg)
    dlg.extra_args = TINY
    with qtbot.waitSignal(dlg.runEnded, timeout=120_000) as sig:
        assert dlg.start()
    assert sig.args[1] == "failed"
    shown = dlg.log_view.toPlainText()
    assert "Training failed" in shown and len(dlg.message) > 10
    assert dlg.message in shown
