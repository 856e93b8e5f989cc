"""The Train dialog says why the validation plot is empty and when training is pose-only, and writes no
empty "epoch N:" lines (a run with nothing to validate)."""
from __future__ import annotations

import sys
import textwrap

from rpan_studio.dialogs.training import TrainingDialog

NO_VAL_TRAINER = textwrap.dedent(r'''
    import argparse, json, os
    p = argparse.ArgumentParser()
    for o in ("--project", "--run-dir", "--epochs", "--lr", "--init", "--device"):
        p.add_argument(o)
    p.add_argument("--freeze-backbone", action="store_true")
    a, _unknown = p.parse_known_args()
    os.makedirs(a.run_dir, exist_ok=True)
    ev = open(os.path.join(a.run_dir, "events.jsonl"), "a")
    def emit(**kw):
        ev.write(json.dumps(kw) + "\n"); ev.flush()
    emit(type="start", total_steps=4, epochs=2)
    for step in range(1, 5):
        emit(type="step", step=step, epoch=(step - 1) // 2, loss=1.0 / step, action_loss=0.0, pose_loss=1.0 / step,
             lr=0.01, clips_per_s=5.0, elapsed_s=0.1 * step)
        if step % 2 == 0:
            emit(type="epoch", epoch=step // 2 - 1)  # nothing validated: no metric at all
    open(os.path.join(a.run_dir, "last.pt"), "wb").write(b"x")
    emit(type="end", status="finished", message="done", best_checkpoint=None)
''')


def test_no_validation_labels_and_no_actions_are_explained(qtbot, project_with_video, tmp_path):
    project, vid = project_with_video
    project.set_labels(vid, [(0, j, 10.0 + j, 20.0, True, "manual") for j in range(13)])  # a train-split keyframe
    script = tmp_path / "trainer.py"
    script.write_text(NO_VAL_TRAINER)
    dlg = TrainingDialog(project, trainer=[sys.executable, str(script)])
    qtbot.addWidget(dlg)
    dlg.show()
    # a pose-only project starts with the labeling model: poses only by design, no action note
    assert dlg.model_box.preset() == "labeling" and "No video has an action" not in dlg.notes_label.text()
    assert "poses only (the labeling model has no action classes)" in dlg.data_label.text()
    dlg.model_box.preset_combo.setCurrentIndex(dlg.model_box.preset_combo.findData("demo"))  # the engine's
    text = dlg.notes_label.text()
    assert dlg.notes_label.isVisible()
    assert "No validation labels" in text and "'test' split" in text
    assert "No video has an action" in text and "action loss is 0" in text and "poses only" in text
    assert dlg.curves_view.empty_note.isVisible() and "No validation labels" in dlg.curves_view.empty_note.textItem.toPlainText()
    with qtbot.waitSignal(dlg.runFinished, timeout=20000):
        assert dlg.start()
    log = dlg.log_view.toPlainText()
    assert "epoch 0:" not in log and "epoch 1:" not in log
    assert dlg.curves_view.empty_note.isVisible()  # still nothing to plot


def test_a_project_with_validation_labels_and_actions_has_no_notes(qtbot, make_project, tmp_path):
    from tests.conftest import write_frames

    project = make_project()
    vid = project.add_video(write_frames(tmp_path / "v"), action="jump", split="test")
    project.set_labels(vid, [(0, j, 10.0 + j, 20.0, True, "manual") for j in range(13)])
    dlg = TrainingDialog(project, trainer=[sys.executable, "-c", "pass"])
    qtbot.addWidget(dlg)
    assert dlg.notes == [] and not dlg.curves_view.empty_note.isVisible()


def test_the_shipped_demo_checkpoint_is_a_named_choice_beside_the_current_one(qtbot, project_with_video, tmp_path):
    from rpan_core.demo import demo_checkpoint_path

    project, _vid = project_with_video
    run_ck = tmp_path / "runs" / "run-1" / "best.pt"
    run_ck.parent.mkdir(parents=True)
    run_ck.write_bytes(b"x")
    dlg = TrainingDialog(project, current_checkpoint=run_ck, current_origin="latest run",
                         trainer=[sys.executable, "-c", "pass"])
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.init_current.text() == "Current checkpoint: run-1/best.pt (latest run)"
    assert dlg.init_demo.isVisible() and dlg.init_demo.text().startswith("Shipped demo checkpoint")
    dlg.init_demo.click()
    assert dlg.options().init == str(demo_checkpoint_path())
    dlg.init_current.click()
    assert dlg.options().init == str(run_ck)
    same = TrainingDialog(project, current_checkpoint=demo_checkpoint_path(), current_origin="demo",
                          trainer=[sys.executable, "-c", "pass"])
    qtbot.addWidget(same)
    same.show()
    assert not same.init_demo.isVisible() and same.init_current.text().startswith("Demo checkpoint")


def test_the_empty_validation_note_hides_the_legend_it_would_cover_until_a_point_arrives(qtbot):
    """In a short dialog the note sat on the legend's row; the legend of an empty plot says nothing."""
    from rpan_studio.dialogs.training_curves import TrainingCurves

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.resize(600, 100)
    curves.show()
    assert curves.height() >= 170  # a short dialog cannot squash the plots below their titles and axes
    assert curves.metric_legend.isVisible()
    curves.set_empty_note("No validation labels:\nnothing to plot")
    assert curves.empty_note.isVisible() and not curves.metric_legend.isVisible()
    curves.add([{"type": "epoch", "epoch": 1, "val_pck": 0.5}])
    assert not curves.empty_note.isVisible() and curves.metric_legend.isVisible()
    curves.set_empty_note("")
    assert curves.metric_legend.isVisible()
