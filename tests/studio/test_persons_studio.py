"""Several persons in the studio: add, box, edit, swap, cycle, each step undone (pytest-qt, offscreen)."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QSettings, Qt

from rpan_core.project import FrameState
from rpan_studio.app import make_app
from rpan_studio.main_window import MainWindow
from rpan_studio.person_commands import person_colour
from rpan_studio.views.persons_layer import default_box

from .coded_clips import make_analysis

N = 20


@pytest.fixture
def studio(qtbot, tmp_path, coded_project):
    make_app()
    project, vid = coded_project(N)
    analysis = make_analysis(N)

    def fake_analyze(video_path, checkpoint, project=None, progress=None, cancel=None):
        return analysis

    checkpoint = tmp_path / "fake.pt"
    checkpoint.write_bytes(b"x")
    w = MainWindow(project, checkpoint=checkpoint, analyze_fn=fake_analyze,
                   settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    w.quiet = True
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitUntil(lambda: w.analysis is not None and w.view.frame_index == 0, timeout=10000)
    w.test_project, w.test_vid = project, vid
    yield w
    w.close()


def _seek(qtbot, w, frame):
    w.seek(frame)
    qtbot.waitUntil(lambda: w.view.frame_index == frame, timeout=5000)


def test_second_person_box_joint_swap_and_undo_each_step(qtbot, studio):
    w, p, vid = studio, studio.test_project, studio.test_vid
    _seek(qtbot, w, 5)
    w.editor.move_joint(0, 10.0, 12.0)  # person 1 has a head on frame 5
    assert w.persons_panel.ids() == [1] and w.state.person == 1
    layer = w.persons_layer
    # add a second person (Persons > Add person): it becomes the selected one, in its own colour
    w.actions_["add_person"].trigger()
    assert w.errors == [] and w.persons_panel.ids() == [1, 2] and w.state.person == 2
    assert w.persons_panel.list.currentItem().text().startswith("2")
    assert w.editor.person == 2 and w.editor.labels == {}  # its joints, not person 1's
    # draw its box: a Shift+drag rubber band on the frame (real mouse events), a keyframe on this frame
    _drag(qtbot, w, (20.0, 8.0), (56.0, 50.0))
    first = p.frame_box(vid, 5, 2)
    np.testing.assert_allclose(first, [20, 8, 56, 50], atol=1.0)
    # then drag it somewhere else
    roi = layer.roi  # the selected person's box is the one handle
    assert layer.roi_person == 2 and roi.isVisible() and roi.pen.color().getRgb()[:3] == person_colour(2)
    roi.setPos((3.0, 4.0), finish=True)  # what a drag ends with
    moved = np.array([3.0, 4.0, 3.0 + first[2] - first[0], 4.0 + first[3] - first[1]])
    np.testing.assert_allclose(p.frame_box(vid, 5, 2), moved)
    np.testing.assert_allclose(layer.box_rect(2), moved)
    # move one of its joints: written for person 2 only
    w.editor.move_joint(3, 20.0, 21.0)
    assert p.frame_labels(vid, 5, person=2)[3].x == 20.0 and 3 not in p.frame_labels(vid, 5)
    assert w.display.states[5] == FrameState.MANUAL  # the timeline follows person 2
    # person 1 is drawn by the layer in its colour while person 2 is edited
    np.testing.assert_array_equal(layer.skeleton_xy(1), [[10.0, 12.0]])
    assert layer.drawn(1).colour == person_colour(1) and layer.skeleton_xy(2) is None
    # swap identities from frame 5 on
    w.persons.swap_with(1)
    assert p.frame_labels(vid, 5, person=1)[3].x == 20.0 and p.frame_labels(vid, 5, person=2)[0].x == 10.0
    np.testing.assert_allclose(p.frame_box(vid, 5, 1), moved)
    assert w.editor.labels[0].x == 10.0  # the editor shows person 2, now holding the old person 1's head
    # keys cycle the persons
    w.activateWindow()
    w.actions_["next_person"].trigger()
    assert w.state.person == 1 and w.editor.person == 1
    w.actions_["previous_person"].trigger()
    assert w.state.person == 2
    # undo each step, newest first
    stack = w.undo_stack
    stack.undo()  # the swap
    assert p.frame_labels(vid, 5, person=2)[3].x == 20.0 and p.frame_labels(vid, 5)[0].x == 10.0
    assert p.frame_box(vid, 5, 1) is None
    stack.undo()  # the joint move
    assert p.frame_labels(vid, 5, person=2) == {} and w.display.states[5] == 0
    stack.undo()  # the box drag
    np.testing.assert_allclose(p.frame_box(vid, 5, 2), first)
    stack.undo()  # the drawn box
    assert p.frame_box(vid, 5, 2) is None
    stack.undo()  # the added person
    assert [q.id for q in p.persons(vid)] == [1] and w.persons_panel.ids() == [1] and w.state.person == 1
    assert p.frame_labels(vid, 5)[0].x == 10.0 and w.errors == []
    stack.redo()  # and it comes back as the same person
    assert [q.id for q in p.persons(vid)] == [1, 2]


def test_rename_delete_and_restore(qtbot, studio, monkeypatch):
    w, p, vid = studio, studio.test_project, studio.test_vid
    from rpan_studio.dialogs import ask

    w.persons.add("Ann")
    w.editor.move_joint(1, 5.0, 6.0)
    monkeypatch.setattr(ask, "ask_person_name", lambda parent, current: "Anna")
    w.actions_["rename_person"].trigger()
    assert p.person(vid, 2).name == "Anna" and "Anna" in w.persons_panel.list.item(1).text()
    w.actions_["delete_person"].trigger()
    assert w.persons_panel.ids() == [1] and w.state.person == 1 and p.label_count(vid, person=2) == 0
    w.undo_stack.undo()
    assert p.person(vid, 2).name == "Anna" and p.frame_labels(vid, 0, person=2)[1].x == 5.0
    assert w.persons_panel.ids() == [1, 2]
    w.state.set_person(1)
    w.actions_["remove_box"].trigger()  # person 1 has no box keyframe here: one clear line, nothing written
    assert w.errors and "no box keyframe" in w.errors[-1]


def test_whole_frame_poses_are_person_1s(qtbot, studio):
    w = studio
    w.persons.add()
    w.actions_["accept_frame"].trigger()  # nothing reads person 2 yet: one line saying what to do
    assert w.errors and "person 2 has no model pose" in w.errors[-1] and "Shift+I" in w.errors[-1]
    assert w.editor.prediction is None  # the model's (whole-frame) pose is not offered for person 2's joints
    assert w.view.skeleton.xy is not None  # but it stays on screen
    w.state.set_person(1)
    _seek(qtbot, w, 2)
    assert w.editor.prediction is not None


def _stick(f: int, dx: float) -> np.ndarray:
    from rpan_core.skeleton import PENNACTION

    return np.array([(dx + 2.0 * f + (j % 3), 5.0 + 4.0 * j) for j in range(PENNACTION.num_joints)])


def test_propagate_and_accept_act_on_the_selected_person(qtbot, studio):
    """Shift+I propagates the selected person's keyframes into its own predictions; A and Shift+A accept them as
    its labels (one undo step each); person 1's labels and predictions stay as they were."""
    w, p, vid = studio, studio.test_project, studio.test_vid
    pid = w.persons.add("Bo")
    J = p.skeleton.num_joints
    for f in (2, 10):
        p.set_labels(vid, [(f, j, *_stick(f, 40.0)[j], True, "manual") for j in range(J)], person=pid)
    p.set_labels(vid, [(0, 0, 7.0, 7.0, True, "manual")], person=1)
    w.display.refresh_states()
    w.activateWindow()
    w.actions_["propagate"].trigger()
    w.wait_tasks()
    qtbot.waitUntil(lambda: w.display.stored is not None, timeout=5000)
    assert w.errors == []
    assert p.prediction_count(vid, person=pid) == 7 * J and p.prediction_count(vid, person=1) == 0
    assert (w.display.states[3:10] == FrameState.PREDICTED).all()  # the timeline shows Bo's predictions
    _seek(qtbot, w, 6)
    np.testing.assert_allclose(w.editor.prediction[0], _stick(6, 40.0), atol=1e-3)  # interpolated: no model of Bo
    w.actions_["accept_frame"].trigger()
    got = p.frame_labels(vid, 6, person=pid)
    assert len(got) == J and all(str(lab.source) == "accepted" for lab in got.values())
    np.testing.assert_allclose([[got[j].x, got[j].y] for j in range(J)], _stick(6, 40.0), atol=1e-3)
    assert p.frame_labels(vid, 6, person=1) == {}
    w.labeling.accept_range(3, 5)  # Shift+A's range, one undo step
    assert all(len(p.frame_labels(vid, f, person=pid)) == J for f in (3, 4, 5))
    w.undo_stack.undo()
    assert all(p.frame_labels(vid, f, person=pid) == {} for f in (3, 4, 5))
    w.undo_stack.undo()
    assert p.frame_labels(vid, 6, person=pid) == {}
    # person 1 gets the whole frame's reading again, and its own (empty) predictions
    w.state.set_person(1)
    assert w.display.stored is None and w.editor.prediction is not None
    w.actions_["accept_frame"].trigger()
    assert len(p.frame_labels(vid, 6, person=1)) == J and p.frame_labels(vid, 6, person=pid) == {}
    assert w.errors == []


# ---------------------------------------------------------------------------- rubber-band box drawing
def _screen(w, x: float, y: float):
    """The viewport point under frame pixel (x, y)."""
    from PyQt6.QtCore import QPointF

    scene = w.view.view_box.mapViewToScene(QPointF(x, y))
    return w.view.mapFromScene(scene)


def _drag(qtbot, w, a, b, modifier=Qt.KeyboardModifier.ShiftModifier, release=True):
    """A real left-button drag on the view's viewport from frame point a to b (press, two moves, release)."""
    from PyQt6.QtCore import QPoint

    vp = w.view.viewport()
    pa, pb = _screen(w, *a), _screen(w, *b)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, modifier, pa)
    mid = QPoint((pa.x() + pb.x()) // 2, (pa.y() + pb.y()) // 2)
    for p in (mid, pb):
        qtbot.mouseMove(vp, p)
    if release:
        qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, modifier, pb)


def test_shift_drag_draws_the_selected_persons_box_one_undo_step(qtbot, studio):
    w, p, vid = studio, studio.test_project, studio.test_vid
    _seek(qtbot, w, 4)
    w.persons.add()
    assert w.state.person == 2 and p.frame_box(vid, 4, 2) is None
    n = w.undo_stack.index()
    _drag(qtbot, w, (20.0, 10.0), (60.0, 50.0), release=False)
    band = w.box_drawer.band_rect()  # mid-drag: the rubber band follows the pointer, nothing written yet
    assert band is not None and w.box_drawer.band.isVisible() and p.frame_box(vid, 4, 2) is None
    np.testing.assert_allclose(band, [20, 10, 60, 50], atol=1.0)
    assert w.box_drawer.band.pen().color().getRgb()[:3] == person_colour(2)
    qtbot.mouseRelease(w.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                       _screen(w, 60.0, 50.0))
    box = p.frame_box(vid, 4, 2)
    assert box is not None and not w.box_drawer.band.isVisible()
    np.testing.assert_allclose(box, [20, 10, 60, 50], atol=1.0)  # within a screen pixel
    np.testing.assert_allclose(w.persons_layer.box_rect(2), box)
    assert w.undo_stack.index() == n + 1 and w.errors == []
    assert p.frame_labels(vid, 4) == {} and p.frame_labels(vid, 4, person=2) == {}  # no joint moved
    # drawn backwards (bottom-right to top-left, past the frame's edge): the same kind of box, clipped to the frame
    _drag(qtbot, w, (90.0, 60.0), (-30.0, 30.0))
    np.testing.assert_allclose(p.frame_box(vid, 4, 2), [0, 30, 90, 60], atol=1.0)
    assert w.undo_stack.index() == n + 2
    w.undo_stack.undo()
    np.testing.assert_allclose(p.frame_box(vid, 4, 2), box)
    w.undo_stack.undo()
    assert p.frame_box(vid, 4, 2) is None
    # a click (no real rectangle) is a slip: nothing written
    _drag(qtbot, w, (30.0, 30.0), (30.5, 30.5))
    assert p.frame_box(vid, 4, 2) is None and w.undo_stack.index() == n
    assert w.undo_stack.count() == n + 2  # the undone boxes are still there to redo


def test_plain_drag_without_shift_draws_nothing_and_draw_box_mode_draws_once(qtbot, studio):
    from rpan_studio.actions import MENUS, action, help_rows

    w, p, vid = studio, studio.test_project, studio.test_vid
    assert action("draw_box").keys == "Ctrl+B" and "draw_box" in MENUS["&Persons"]
    assert "Shift+Left drag" in dict(help_rows())
    _seek(qtbot, w, 2)
    _drag(qtbot, w, (10.0, 10.0), (50.0, 40.0), modifier=Qt.KeyboardModifier.NoModifier)  # a pan, not a box
    assert p.frame_box(vid, 2, 1) is None
    w.actions_["draw_box"].trigger()  # Persons > Draw box: the next plain drag draws
    assert w.box_drawer.armed and w.actions_["draw_box"].isChecked()
    _drag(qtbot, w, (10.0, 8.0), (50.0, 40.0), modifier=Qt.KeyboardModifier.NoModifier)
    np.testing.assert_allclose(p.frame_box(vid, 2, 1), [10, 8, 50, 40], atol=1.0)
    assert not w.box_drawer.armed and not w.actions_["draw_box"].isChecked()
    w.actions_["draw_box"].trigger()
    w.editor.actions["cancel_place"].trigger()  # Esc leaves the mode
    assert not w.box_drawer.armed
    # B: person 2's first box keyframe is a third of the frame, to drag into place
    w.persons.add()
    w.actions_["set_box"].trigger()
    np.testing.assert_allclose(p.frame_box(vid, 2, 2), default_box((p.video(vid).height, p.video(vid).width)))


def test_shift_drag_in_labeling_mode_draws_a_box_and_labeling_goes_on(qtbot, studio):
    w, p, vid = studio, studio.test_project, studio.test_vid
    _seek(qtbot, w, 3)
    w.editor.begin_place()
    first = w.editor.placing_joint
    assert first is not None
    _drag(qtbot, w, (12.0, 6.0), (44.0, 58.0))
    np.testing.assert_allclose(p.frame_box(vid, 3, 1), [12, 6, 44, 58], atol=1.0)
    assert w.editor.placing_joint == first and p.frame_labels(vid, 3) == {}  # no joint placed by the drag
    vp = w.view.viewport()
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _screen(w, 30.0, 20.0))
    lab = p.frame_labels(vid, 3)[first]  # a plain click still places the joint
    assert abs(lab.x - 30.0) < 1.0 and abs(lab.y - 20.0) < 1.0
