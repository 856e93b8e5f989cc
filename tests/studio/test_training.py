"""The training dialog against a small fake trainer that writes events.jsonl like `rpan train`.

The fake is a real separate process launched through QProcess by the real dialog,
so launching, following the events file, cancelling with SIGTERM and showing a
failure's stderr are all exercised end to end. (The real `rpan train` is in
test_training_real.py.)
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from rpan_core.errors import TrainingError  # noqa: E402
from rpan_core.project import Project  # noqa: E402
from rpan_studio.dialogs.training import (  # noqa: E402
    EventFollower,
    TrainingDialog,
    TrainingOptions,
    format_duration,
    train_command,
)

FAKE_TRAINER = textwrap.dedent(
    r'''
    """Fake `rpan train`: same options subset, same events.jsonl format."""
    import argparse, json, os, signal, sys, time
    p = argparse.ArgumentParser()
    p.add_argument("--project"); p.add_argument("--run-dir"); p.add_argument("--resume")
    p.add_argument("--epochs", type=int, default=2); p.add_argument("--lr", type=float)
    p.add_argument("--init"); p.add_argument("--freeze-backbone", action="store_true")
    p.add_argument("--device")
    a, _unknown = p.parse_known_args()  # the model options (--model-preset, --minutes, ...) are not faked
    done_steps = 0
    if a.resume:
        saved = json.load(open(os.path.join(a.resume, "config.json")))
        a.run_dir, a.epochs, a.lr = a.resume, saved["epochs"], saved["lr"]
        done_steps = sum(1 for x in open(os.path.join(a.resume, "events.jsonl")) if '"step"' in x)
    mode = os.environ.get("FAKE_MODE", "ok")
    steps_per_epoch = int(os.environ.get("FAKE_STEPS", "4"))
    delay = float(os.environ.get("FAKE_DELAY", "0.01"))
    os.makedirs(a.run_dir, exist_ok=True)
    with open(os.path.join(a.run_dir, "argv.json"), "w") as f:
        json.dump(sys.argv[1:], f)
    with open(os.path.join(a.run_dir, "config.json"), "w") as f:
        json.dump({"epochs": a.epochs, "lr": a.lr}, f)
    ev = open(os.path.join(a.run_dir, "events.jsonl"), "a")
    def emit(**kw):
        ev.write(json.dumps(kw) + "\n"); ev.flush()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    total = a.epochs * steps_per_epoch
    emit(type="start", total_steps=total, epochs=a.epochs)
    t0 = time.time(); step = 0
    for epoch in range(a.epochs):
        for _ in range(steps_per_epoch):
            if step < done_steps:
                step += 1
                continue
            if stop:
                open(os.path.join(a.run_dir, "last.pt"), "wb").write(b"x")
                emit(type="end", status="cancelled", message="stopped by SIGTERM at step %d" % step,
                     best_checkpoint=None)
                sys.exit(0)
            step += 1
            loss = 2.0 / step
            emit(type="step", step=step, epoch=epoch, loss=loss, action_loss=loss * 0.6,
                 pose_loss=loss * 0.4, lr=a.lr, clips_per_s=10.0, elapsed_s=time.time() - t0 + 1e-3)
            if mode == "fail" and step == 2:
                print("Traceback (most recent call last):\nRuntimeError: CUDA out of memory (fake)",
                      file=sys.stderr, flush=True)
                emit(type="end", status="failed", message="out of memory at step 2; lower the batch size",
                     best_checkpoint=None)
                sys.exit(1)
            if mode == "crash" and step == 2:
                print("Segmentation fault in fake trainer", file=sys.stderr, flush=True)
                os._exit(3)
            time.sleep(delay)
        emit(type="epoch", epoch=epoch, val_accuracy=0.5 + 0.1 * epoch, val_pck=0.3 + 0.1 * epoch,
             train_accuracy=0.6 + 0.1 * epoch)
    open(os.path.join(a.run_dir, "best.pt"), "wb").write(b"x")
    emit(type="end", status="finished", message="done", best_checkpoint=os.path.join(a.run_dir, "best.pt"))
    '''
)


@pytest.fixture
def fake(tmp_path: Path) -> list[str]:
    script = tmp_path / "fake_trainer.py"
    script.write_text(FAKE_TRAINER)
    return [sys.executable, str(script)]


@pytest.fixture
def project(make_project) -> Project:
    return make_project()


def _events(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]


def test_train_command_maps_options(tmp_path: Path) -> None:
    opts = TrainingOptions(project=tmp_path, run_dir=tmp_path / "r", init="/x/demo.pt", epochs=3, lr=0.001,
                           freeze_backbone=True, device="cuda")
    argv = train_command(opts, ["py", "-m", "rpan_core.cli", "train"])
    assert argv[:4] == ["py", "-m", "rpan_core.cli", "train"]
    assert argv[argv.index("--epochs") + 1] == "3"
    assert float(argv[argv.index("--lr") + 1]) == 0.001
    assert argv[argv.index("--init") + 1] == "/x/demo.pt"
    assert "--freeze-backbone" in argv
    assert argv[argv.index("--device") + 1] == "cuda"
    assert argv[argv.index("--run-dir") + 1] == str(tmp_path / "r")
    scratch = train_command(TrainingOptions(project=tmp_path, run_dir=tmp_path / "r"), ["t"])
    assert "--init" not in scratch and "--device" not in scratch and "--freeze-backbone" not in scratch
    with pytest.raises(TrainingError, match="epochs"):
        train_command(TrainingOptions(project=tmp_path, run_dir=tmp_path, epochs=0))
    with pytest.raises(TrainingError, match="learning rate"):
        train_command(TrainingOptions(project=tmp_path, run_dir=tmp_path, lr=0.0))


def test_format_duration() -> None:
    assert format_duration(75) == "1:15"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(None) == "--"
    assert format_duration(float("nan")) == "--"


def test_event_follower_reads_only_complete_new_lines(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "run" / "events.jsonl"
    f = EventFollower(path)
    assert f.read_new() == []  # not there yet
    path.parent.mkdir()
    with open(path, "w") as fh:
        fh.write(json.dumps({"type": "start", "total_steps": 4}) + "\n" + '{"type": "st')
    assert f.read_new() == [{"type": "start", "total_steps": 4}]
    first_offset = f.offset
    with open(path, "a") as fh:
        fh.write('ep", "step": 1}\nnot json\n[1, 2]\n')
    assert f.read_new() == [{"type": "step", "step": 1}]
    assert f.bad_lines == 2
    assert f.offset == path.stat().st_size > first_offset
    assert f.read_new() == []
    # the watcher + poll path delivers appended events through the signal
    f.start()
    got: list = []
    f.events.connect(got.extend)
    with open(path, "a") as fh:
        fh.write(json.dumps({"type": "end", "status": "finished"}) + "\n")
    qtbot.waitUntil(lambda: got == [{"type": "end", "status": "finished"}], timeout=5000)
    f.stop()


def test_run_updates_curves_and_finishes(qtbot, project: Project, fake: list[str], tmp_path: Path,
                                         monkeypatch) -> None:
    demo = tmp_path / "demo.pt"
    demo.write_bytes(b"x")
    monkeypatch.setenv("FAKE_STEPS", "5")
    monkeypatch.setenv("FAKE_DELAY", "0.02")
    dlg = TrainingDialog(project, current_checkpoint=demo, current_origin="demo", trainer=fake)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.init_current.isChecked()
    dlg.epochs_spin.setValue(2)
    dlg.lr_spin.setValue(0.005)
    dlg.model_box.trains_combo.setCurrentIndex(dlg.model_box.trains_combo.findData("head"))
    with qtbot.waitSignal(dlg.runFinished, timeout=20000) as sig:
        assert dlg.start()
    run_dir, ckpt = sig.args
    assert Path(run_dir).parent == project.runs_dir
    assert ckpt == str(Path(run_dir) / "best.pt")
    argv = json.loads((Path(run_dir) / "argv.json").read_text())
    assert argv[argv.index("--init") + 1] == str(demo)
    assert float(argv[argv.index("--lr") + 1]) == 0.005
    assert "--freeze-backbone" in argv
    assert dlg.status == "finished"
    # The curves hold exactly what the trainer wrote.
    evs = _events(Path(run_dir))
    steps = [e for e in evs if e["type"] == "step"]
    assert len(steps) == 10
    xs, ys = dlg.curves["loss"].getData()
    assert list(xs) == [e["step"] for e in steps]
    assert list(ys) == pytest.approx([e["loss"] for e in steps])
    xs, ys = dlg.curves["val_pck"].getData()
    assert list(ys) == pytest.approx([0.3, 0.4])
    assert dlg.progress.value() == dlg.progress.maximum()
    assert not dlg.is_running()
    assert dlg.compare_button.isEnabled()  # started from a checkpoint: A/B comparison offered


def test_curve_updates_mid_run_then_cancel(qtbot, project: Project, fake: list[str], monkeypatch) -> None:
    monkeypatch.setenv("FAKE_STEPS", "1000")
    monkeypatch.setenv("FAKE_DELAY", "0.05")
    dlg = TrainingDialog(project, trainer=fake)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.init_scratch.isChecked() and not dlg.init_current.isEnabled()
    dlg.model_box.preset_combo.setCurrentIndex(dlg.model_box.preset_combo.findData("demo"))  # epochs, not minutes
    ended: list = []
    dlg.runEnded.connect(lambda *a: ended.append(a))
    finished: list = []
    dlg.runFinished.connect(lambda *a: finished.append(a))
    assert dlg.start()

    def curve_len() -> int:
        xs = dlg.curves["loss"].getData()[0]
        return 0 if xs is None else len(xs)

    qtbot.waitUntil(lambda: curve_len() >= 3, timeout=20000)
    assert 0 < dlg.progress.value() < dlg.progress.maximum()
    assert dlg.eta_seconds() is not None and dlg.eta_seconds() > 0
    pid = dlg.process.processId()
    assert pid > 0
    dlg.cancel()
    qtbot.waitUntil(lambda: dlg.status != "running", timeout=15000)
    assert dlg.status == "cancelled"
    assert not dlg.is_running()
    with pytest.raises(ProcessLookupError):  # the process is gone (and reaped)
        os.kill(pid, 0)
    run_dir = Path(ended[0][0])
    assert ended[0][1] == "cancelled"
    assert _events(run_dir)[-1]["status"] == "cancelled"
    assert (run_dir / "last.pt").exists()
    assert finished == []
    assert not dlg.compare_button.isEnabled()
    # resume continues the same run folder and the same curves, to the end
    n_before = curve_len()
    assert dlg.can_resume() and dlg.resume_button.isEnabled()
    monkeypatch.setenv("FAKE_STEPS", "3")  # (the fake reads its epochs from config.json; shorter epochs now)
    monkeypatch.setenv("FAKE_DELAY", "0")
    with qtbot.waitSignal(dlg.runFinished, timeout=20000) as sig:
        assert dlg.resume()
    assert sig.args[0] == str(run_dir)
    xs = list(dlg.curves["loss"].getData()[0])
    assert xs == sorted(xs) and len(xs) == 30 and curve_len() > n_before  # steps n_before+1..30 appended
    assert json.loads((run_dir / "argv.json").read_text()) == ["--resume", str(run_dir)]


def test_failing_run_shows_error_text(qtbot, project: Project, fake: list[str], monkeypatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "fail")
    dlg = TrainingDialog(project, trainer=fake)
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.runEnded, timeout=20000) as sig:
        dlg.start()
    assert sig.args[1] == "failed"
    assert dlg.status == "failed"
    shown = dlg.log_view.toPlainText()
    assert "out of memory at step 2; lower the batch size" in shown  # from the end event
    assert "CUDA out of memory (fake)" in shown  # from stderr
    assert "out of memory" in dlg.status_label.text()


def test_crashing_run_without_end_event_is_failed(qtbot, project: Project, fake: list[str],
                                                  monkeypatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "crash")
    dlg = TrainingDialog(project, trainer=fake)
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.runEnded, timeout=20000) as sig:
        dlg.start()
    assert sig.args[1] == "failed"
    assert "exited with code 3" in dlg.message
    assert "Segmentation fault in fake trainer" in dlg.log_view.toPlainText()


def test_bad_form_does_not_start(qtbot, project: Project, fake: list[str]) -> None:
    dlg = TrainingDialog(project, trainer=fake)
    qtbot.addWidget(dlg)
    dlg.init_ckpt.setChecked(True)
    dlg.ckpt_edit.setText("/nonexistent/model.pt")
    assert not dlg.start()
    assert dlg.status == "failed" and "does not exist" in dlg.message
    assert dlg.process is None


def test_freezing_is_offered_only_when_starting_from_a_checkpoint(qtbot, project: Project, fake: list[str],
                                                                   tmp_path: Path) -> None:
    demo = tmp_path / "demo.pt"
    demo.write_bytes(b"x")
    dlg = TrainingDialog(project, current_checkpoint=demo, current_origin="demo", trainer=fake)
    qtbot.addWidget(dlg)
    trains = dlg.model_box.trains_combo
    trains.setCurrentIndex(trains.findData("head"))
    dlg.init_scratch.setChecked(True)
    dlg.model_box.preset_combo.setCurrentIndex(dlg.model_box.preset_combo.findData("demo"))
    assert trains.findData("head") == -1 and trains.currentData() == "all"  # a random small CNN trains whole
    assert not dlg.options().freeze_backbone and dlg.options().trains == "all"
    dlg.init_current.setChecked(True)
    assert trains.findData("head") >= 0


def test_epoch_and_step_axes_label_whole_numbers_only(qtbot, project: Project, fake: list[str]) -> None:
    dlg = TrainingDialog(project, trainer=fake)
    qtbot.addWidget(dlg)
    for plot in (dlg.metric_plot, dlg.loss_plot):
        ticks = plot.getAxis("bottom").tickValues(1.0, 5.0, 400)
        values = [v for _, vals in ticks for v in vals]
        assert values and all(float(v).is_integer() for v in values)


def test_flow_stream_choice_reaches_rpan_train_and_forbids_freezing(qtbot, project: Project,
                                                                    fake: list[str], tmp_path: Path) -> None:
    demo = tmp_path / "demo.pt"
    demo.write_bytes(b"x")
    dlg = TrainingDialog(project, current_checkpoint=demo, current_origin="demo", trainer=fake)
    qtbot.addWidget(dlg)
    trains = dlg.model_box.trains_combo
    trains.setCurrentIndex(trains.findData("head"))
    dlg.stream_combo.setCurrentIndex(dlg.stream_combo.findData("flow"))
    assert trains.findData("head") == -1 and trains.currentData() == "all"
    argv = train_command(dlg.options())
    assert argv[argv.index("--stream") + 1] == "flow" and argv[argv.index("--init") + 1] == str(demo)
    dlg.stream_combo.setCurrentIndex(dlg.stream_combo.findData("rgb"))
    assert trains.findData("head") >= 0 and "--stream" not in train_command(dlg.options())
    with pytest.raises(TrainingError, match="untick freeze"):
        train_command(dataclasses.replace(dlg.options(), stream="flow", freeze_backbone=True))
