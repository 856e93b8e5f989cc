"""The studio's Propagate command (Shift+I), the left/right swap keys (X, Shift+X) and the review queue's side doubts,
through the real window (pytest-qt, offscreen) on a real project."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import QSettings, Qt

from rpan_core.project import FrameState
from rpan_core.skeleton import PENNACTION
from rpan_studio.actions import action, help_rows
from rpan_studio.app import make_app
from rpan_studio.main_window import MainWindow

J = PENNACTION.num_joints
LW, RW = PENNACTION.index("left_wrist"), PENNACTION.index("right_wrist")
KEYS = (0, 6, 11)


def pose(f: int) -> np.ndarray:
    """A front-facing stick person drifting right 2 px a frame (left joints at larger x)."""
    out = np.zeros((J, 2))
    for j, name in enumerate(PENNACTION.joints):
        side = 1 if name.startswith("left") else (-1 if name.startswith("right") else 0)
        out[j] = (30 + 8 * side + 2 * f, 4 + 3 * j)
    return out


@pytest.fixture
def studio(qtbot, tmp_path, project_with_video):
    make_app()
    project, vid = project_with_video
    for f in KEYS:
        project.set_labels(vid, [(f, j, *pose(f)[j], True, "manual") for j in range(J)])
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(project, settings=settings, auto_analyze=False)  # (no runs: the demo model would analyze)
    w.quiet = True
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitUntil(lambda: w.video_id == vid and w.view.frame_index == 0, timeout=10000)
    w.activateWindow()
    qtbot.waitUntil(lambda: w.isActiveWindow(), timeout=3000)
    w.view.setFocus()
    yield w
    w.close()


def labels(w, f: int) -> dict:
    return {j: (lab.x, lab.y, str(lab.source)) for j, lab in w.project.frame_labels(w.video_id, f).items()}


def test_actions_are_in_the_table_with_their_keys():
    assert action("propagate").keys == "Shift+I" and action("swap_sides").keys == "X"
    assert action("swap_sides_range").keys == "Shift+X"
    rows = dict(help_rows())
    assert "left and right on this frame" in rows["X"] and "keyframes" in rows["Shift+I"]


def test_shift_i_propagates_in_the_worker_and_the_timeline_shows_predictions(qtbot, studio):
    w = studio
    qtbot.keyClick(w.view, Qt.Key.Key_I, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: w.project.prediction_count(w.video_id) > 0, timeout=10000)
    w.wait_tasks()
    qtbot.waitUntil(lambda: w.display.stored is not None, timeout=5000)
    between = [f for f in range(12) if f not in KEYS]
    assert w.project.prediction_count(w.video_id) == len(between) * J
    assert (w.display.states[between] == FrameState.PREDICTED).all()
    assert (w.display.states[list(KEYS)] == FrameState.MANUAL).all()
    np.testing.assert_array_equal(w.seekbar.states[between], FrameState.PREDICTED)
    assert all(labels(w, f) == {} for f in between)  # predictions, not labels
    # the propagated pose is drawn on a frame no analysis covers, and A accepts it
    w.seek(3)
    qtbot.waitUntil(lambda: w.view.frame_index == 3, timeout=5000)
    xs, ys = w.view.skeleton.points.getData()
    np.testing.assert_allclose(np.stack([xs, ys], 1), pose(3), atol=1e-4)
    qtbot.keyClick(w.view, Qt.Key.Key_A)
    assert labels(w, 3)[LW] == (pytest.approx(pose(3)[LW][0]), pytest.approx(pose(3)[LW][1]), "accepted")
    assert w.errors == []


def test_x_swaps_a_frame_and_undo_restores_it(qtbot, studio):
    w = studio
    w.seek(6)
    qtbot.waitUntil(lambda: w.view.frame_index == 6, timeout=5000)
    before = labels(w, 6)
    qtbot.keyClick(w.view, Qt.Key.Key_X)
    after = labels(w, 6)
    assert after[RW][:2] == before[LW][:2] and after[LW][:2] == before[RW][:2] and after[0] == before[0]
    assert w.undo_stack.count() == 1 and w.undo_stack.undoText() == "Swap left/right on frame 6"
    qtbot.keyClick(w.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert labels(w, 6) == before
    assert w.errors == []


def test_shift_x_swaps_a_range_of_predictions_as_one_step(qtbot, studio, monkeypatch):
    from PyQt6.QtWidgets import QInputDialog

    w = studio
    w.session.propagate()
    w.wait_tasks()
    qtbot.waitUntil(lambda: w.display.stored is not None, timeout=5000)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("1-4", True)))
    qtbot.keyClick(w.view, Qt.Key.Key_X, Qt.KeyboardModifier.ShiftModifier)
    assert w.undo_stack.count() == 1
    for f in (1, 2, 3, 4):
        got = labels(w, f)
        assert got[RW][:2] == pytest.approx(tuple(pose(f)[LW])) and got[RW][2] == "corrected"
        assert got[0][2] == "accepted"  # the head has no partner: taken as the prediction
    w.undo_stack.undo()
    assert all(labels(w, f) == {} for f in (1, 2, 3, 4))


def test_review_queue_lists_frames_whose_sides_are_in_doubt(qtbot, studio):
    w = studio
    mirrored = pose(6)[list(PENNACTION.flip_index)]
    w.project.set_labels(w.video_id, [(6, j, *mirrored[j], True, "manual") for j in range(J)])
    w.session.labelsChanged.emit()
    texts = [w.review_list.item(i).text() for i in range(w.review_list.count())]
    assert texts and all(t.startswith("frame") and "left/right? (crossed)" in t for t in texts)
    # frame 6 disagrees with both neighbouring keyframes: it and the next keyframe are listed (either may be wrong)
    assert sorted(it.frame for it in w.review_list.items_) == [6, 11]
    # swapping frame 6 back (X) clears the doubt
    w.seek(6)
    qtbot.waitUntil(lambda: w.view.frame_index == 6, timeout=5000)
    qtbot.keyClick(w.view, Qt.Key.Key_X)
    assert w.review_list.count() == 0


def test_check_sides_on_the_mirrored_video_feeds_the_review_queue(qtbot, studio, monkeypatch):
    """The flipped-video test runs in the worker; frames where the mirrored image's pose fits the swapped pose
    are listed (here a stand-in for the model: mirrored on frames 2-3)."""
    import rpan_core.sides as sides

    w = studio
    back = np.stack([pose(f) for f in range(12)])
    back[2:4] = back[2:4][:, list(PENNACTION.flip_index)]
    monkeypatch.setattr(sides, "flipped_poses", lambda *a, **k: back)
    w.session.propagate()
    w.wait_tasks()
    fake = Path(w.project.folder) / "fake.pt"
    fake.write_bytes(b"x")
    w.state.set_checkpoint(fake, "chosen")
    w.actions_["check_sides"].trigger()
    w.wait_tasks()
    qtbot.waitUntil(lambda: w.review_list.count() > 0, timeout=5000)
    assert [(it.frame, it.last, it.detail) for it in w.review_list.items_] == [(2, 3, "flip")]
    assert w.review_list.item(0).text() == "frames 2-3   left/right? (flipped image)"
    assert w.errors == []


def test_propagation_blends_the_analysis_on_screen(qtbot, studio):
    """With an analysis shown, Propagate blends its poses (no second analysis); the origin says so."""
    from tests.studio.coded_clips import make_analysis

    w = studio
    a = make_analysis(12)
    a.xy = np.stack([pose(f) for f in range(12)]).astype(np.float32) + np.float32(0.5)  # a good model
    w.set_analysis(a)
    w.actions_["propagate"].trigger()
    w.wait_tasks()
    qtbot.waitUntil(lambda: w.project.prediction_count(w.video_id) > 0, timeout=5000)
    pred = w.project.frame_predictions(w.video_id, 3)
    assert pred[0].origin.startswith("propagate:blend")
    np.testing.assert_allclose([pred[LW].x, pred[LW].y], pose(3)[LW], atol=1e-6)  # the bias is taken off
    assert w.errors == []


def test_propagation_can_take_the_keyframes_sides_and_remembers_the_choice(qtbot, studio, tmp_path):
    """Edit > Propagation takes the keyframes' left/right: a model that reads every frame mirrored is stored on the
    keyframes' sides when it is on, as it reads when it is off; the choice survives a restart (QSettings)."""
    from tests.studio.coded_clips import make_analysis

    w = studio

    side = np.array([1 if n.startswith("left") else (-1 if n.startswith("right") else 0) for n in PENNACTION.joints])

    def curved(f: int) -> np.ndarray:  # a path and a width the keyframes' interpolation gets wrong between them
        out = pose(f) + [[0.4 * f * f, 0.0]]
        out[:, 0] += side * 0.3 * f * f  # so the mirrored reading is no constant offset either
        return out

    w.project.set_labels(w.video_id, [(f, j, *curved(f)[j], True, "manual") for f in KEYS for j in range(J)])
    flip = list(PENNACTION.flip_index)
    a = make_analysis(12)
    a.xy = np.stack([curved(f)[flip] for f in range(12)]).astype(np.float32)  # sides exchanged on every frame
    w.set_analysis(a)
    act = w.actions_["propagate_align_sides"]
    assert act.isCheckable() and not act.isChecked()

    def left_wrist_at_3() -> float:
        w.actions_["propagate"].trigger()
        w.wait_tasks()
        qtbot.waitUntil(lambda: w.project.prediction_count(w.video_id) > 0, timeout=5000)
        return w.project.frame_predictions(w.video_id, 3)[LW].x

    w.project.clear_predictions(w.video_id)
    off = left_wrist_at_3()
    act.trigger()  # on
    assert act.isChecked() and w.session.align_sides
    w.project.clear_predictions(w.video_id)
    on = left_wrist_at_3()
    assert abs(on - curved(3)[LW][0]) < 0.5 < 2 < abs(off - curved(3)[LW][0])
    assert w.errors == []
    assert str(w.settings.value("propagate/align_sides")).lower() == "true"
    again = MainWindow(None, settings=w.settings, auto_analyze=False)  # the next session, no project yet
    qtbot.addWidget(again)
    assert again.actions_["propagate_align_sides"].isChecked() and again.session.align_sides
