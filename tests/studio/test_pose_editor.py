"""The pose editor in a real pyqtgraph view, driven by real scene mouse events and its actions.

The store is checked after each edit, undo and redo; drags go through the
GraphicsView's viewport exactly as a mouse would (hover, press, several moves,
release), so the one-undo-step-per-drag rule is tested on the real event path.
"""

from __future__ import annotations


import numpy as np
import pyqtgraph as pg
import pytest
from PyQt6.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt6.QtGui import QMouseEvent, QUndoStack
from PyQt6.QtWidgets import QApplication

from rpan_core.skeleton import PENNACTION
from rpan_studio import commands as cmds
from rpan_studio.views.pose_editor import SOURCE_COLORS, JointListWidget, PoseEditor

from .pose_editor_support import HEIGHT, WIDTH, rows

J = PENNACTION.num_joints


def _pose() -> np.ndarray:
    """A plausible standing pose in the 64 x 48 frame (J x 2)."""
    return np.array([
        [32, 6], [26, 13], [38, 13], [23, 20], [41, 20], [21, 27], [43, 27],
        [28, 26], [36, 26], [27, 34], [37, 34], [26, 42], [38, 42],
    ], dtype=np.float64)


class Harness:
    def __init__(self, qtbot, project, vid) -> None:
        self.project, self.vid = project, vid
        self.view = pg.GraphicsView()
        self.vb = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view.setCentralItem(self.vb)
        self.image = pg.ImageItem(np.full((HEIGHT, WIDTH, 3), 60, np.uint8), axisOrder="row-major")
        self.vb.addItem(self.image)
        self.view.resize(640, 480)
        qtbot.addWidget(self.view)
        self.view.show()
        qtbot.waitExposed(self.view)
        self.vb.setRange(xRange=(0, WIDTH), yRange=(0, HEIGHT), padding=0)
        self.stack = QUndoStack()
        self.editor = PoseEditor(self.vb, self.stack)
        self.qtbot = qtbot

    # data coordinates <-> viewport pixels
    def to_px(self, x: float, y: float) -> QPoint:
        return self.view.mapFromScene(self.vb.mapViewToScene(QPointF(x, y)))

    def to_data(self, p: QPoint) -> tuple[float, float]:
        d = self.vb.mapSceneToView(self.view.mapToScene(p))
        return d.x(), d.y()

    def _send(self, kind, p: QPoint, button, buttons) -> None:
        vp = self.view.viewport()
        ev = QMouseEvent(kind, QPointF(p), QPointF(vp.mapToGlobal(p)), button, buttons,
                         Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(vp, ev)
        self.qtbot.wait(15)  # pyqtgraph drops move events closer than its rate limit

    def drag(self, p0: QPoint, p1: QPoint, steps: int = 5, cancel: bool = False, midway=None) -> None:
        left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
        self._send(QEvent.Type.MouseMove, p0, none, none)  # hover first, like a real pointer
        self._send(QEvent.Type.MouseButtonPress, p0, left, left)
        for k in range(1, steps + 1):
            p = QPoint(p0.x() + (p1.x() - p0.x()) * k // steps, p0.y() + (p1.y() - p0.y()) * k // steps)
            self._send(QEvent.Type.MouseMove, p, none, left)
            if midway is not None and k == steps // 2:
                midway()
        if cancel:
            right = Qt.MouseButton.RightButton
            self._send(QEvent.Type.MouseButtonPress, p1, right, left | right)
            self._send(QEvent.Type.MouseButtonRelease, p1, right, left)
        self._send(QEvent.Type.MouseButtonRelease, p1, left, none)

    def click(self, p: QPoint) -> None:
        left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
        self._send(QEvent.Type.MouseMove, p, none, none)
        self._send(QEvent.Type.MouseButtonPress, p, left, left)
        self._send(QEvent.Type.MouseButtonRelease, p, left, none)


@pytest.fixture
def h(qtbot, project_with_video):
    harness = Harness(qtbot, *project_with_video)
    yield harness
    harness.stack.clear()


def test_draws_labels_and_prediction_with_styles(h) -> None:
    pose = _pose()
    h.project.set_labels(h.vid, [
        (4, 0, *pose[0], True, "manual"), (4, 1, *pose[1], True, "corrected"),
        (4, 2, *pose[2], False, "accepted"), (4, 3, *pose[3], True, "imported"),
    ])
    pred = pose + 1.5
    pred[12] = np.nan  # no prediction for the right ankle
    h.editor.set_context(h.project, h.vid, 4, (pred, np.full(J, 0.8)))
    hd = h.editor.handles
    assert [hd[j].isVisible() for j in range(J)] == [True] * 12 + [False]
    assert (hd[0].pos().x(), hd[0].pos().y()) == tuple(pose[0])  # labels win over predictions
    assert (hd[5].pos().x(), hd[5].pos().y()) == tuple(pred[5])
    assert h.editor.joint_state(2) == "accepted" and h.editor.joint_state(5) == "predicted"
    assert h.editor.joint_state(12) == "missing"
    assert hd[0].brush.color().getRgb()[:3] == SOURCE_COLORS["manual"]
    assert hd[1].brush.color().getRgb()[:3] == SOURCE_COLORS["corrected"]
    assert hd[3].brush.color().getRgb()[:3] == SOURCE_COLORS["imported"]
    assert hd[2].pen.style() == Qt.PenStyle.DashLine and hd[2].brush.color().alpha() == 0  # occluded: hollow
    assert hd[5].pen.style() == Qt.PenStyle.DotLine  # predicted only
    assert h.editor.missing_joints() == list(range(4, J))
    h.editor.select(0)
    h.vb.setRange(xRange=(0, WIDTH), yRange=(0, HEIGHT), padding=0)
    h.qtbot.wait(50)


def test_drag_is_one_undo_step_and_undo_redo(h) -> None:
    pose = _pose()
    h.project.set_label(h.vid, 2, 4, *pose[4], visible=True, source="manual")
    h.editor.set_context(h.project, h.vid, 2)
    changed = []
    h.editor.labelsChanged.connect(lambda v, f: changed.append((v, f)))
    p0 = h.to_px(*pose[4])
    p1 = QPoint(p0.x() + 60, p0.y() + 35)
    h.drag(p0, p1, steps=6)
    assert h.stack.count() == 1  # one command for the whole drag, not one per move
    # the handle keeps its grab offset: it moves by exactly the pointer's displacement
    dx = np.subtract(h.to_data(p1), h.to_data(p0))
    want = pose[4] + dx
    got = rows(h.project, h.vid, 2)[4]
    assert got[:2] == pytest.approx(tuple(want), abs=1e-6)
    assert got[2:] == (True, "manual")
    assert changed == [(h.vid, [2])]
    assert h.editor.selected_joint == 4
    h.stack.undo()
    assert rows(h.project, h.vid, 2)[4] == (*pose[4], True, "manual")
    hp = h.editor.handles[4].pos()
    assert (hp.x(), hp.y()) == tuple(pose[4])  # the view follows undo
    h.stack.redo()
    assert rows(h.project, h.vid, 2)[4][:2] == pytest.approx(tuple(want), abs=1e-6)


def test_drag_cancelled_with_right_click_writes_nothing(h) -> None:
    pose = _pose()
    h.project.set_label(h.vid, 2, 4, *pose[4], source="manual")
    h.editor.set_context(h.project, h.vid, 2)
    p0 = h.to_px(*pose[4])
    h.drag(p0, QPoint(p0.x() + 50, p0.y()), cancel=True)
    assert h.stack.count() == 0
    assert rows(h.project, h.vid, 2)[4] == (*pose[4], True, "manual")
    hp = h.editor.handles[4].pos()
    assert (hp.x(), hp.y()) == tuple(pose[4])


def test_frame_change_mid_drag_writes_nothing(h) -> None:
    pose = _pose()
    h.project.set_label(h.vid, 2, 4, *pose[4], source="manual")
    h.editor.set_context(h.project, h.vid, 2)
    p0 = h.to_px(*pose[4])
    h.drag(p0, QPoint(p0.x() + 50, p0.y()), midway=lambda: h.editor.set_context(h.project, h.vid, 3))
    assert h.stack.count() == 0
    assert rows(h.project, h.vid, 3) == {}
    assert rows(h.project, h.vid, 2)[4] == (*pose[4], True, "manual")


def test_dragging_a_prediction_creates_a_corrected_label(h) -> None:
    pose = _pose()
    h.editor.set_context(h.project, h.vid, 0, (pose, np.ones(J)))
    assert rows(h.project, h.vid, 0) == {}
    p0 = h.to_px(*pose[9])
    h.drag(p0, QPoint(p0.x() - 40, p0.y() + 20))
    got = rows(h.project, h.vid, 0)
    assert list(got) == [9]
    assert got[9][2:] == (True, "corrected")
    h.stack.undo()
    assert rows(h.project, h.vid, 0) == {}


def test_visibility_toggle_delete_and_nudge_via_actions(h) -> None:
    pose = _pose()
    h.project.set_label(h.vid, 5, 7, *pose[7], source="manual")
    h.editor.set_context(h.project, h.vid, 5, (pose + 3, np.ones(J)))
    h.editor.select(7)
    h.editor.actions["toggle_visibility"].trigger()
    assert rows(h.project, h.vid, 5)[7] == (*pose[7], False, "manual")
    assert h.editor.handles[7].pen.style() == Qt.PenStyle.DashLine
    h.editor.actions["toggle_visibility"].trigger()
    assert rows(h.project, h.vid, 5)[7] == (*pose[7], True, "manual")
    for _ in range(3):
        h.editor.actions["nudge_right"].trigger()
    h.editor.actions["nudge_up_10"].trigger()
    assert rows(h.project, h.vid, 5)[7][:2] == (pose[7][0] + 3, pose[7][1] - 10)
    assert h.stack.count() == 3  # two toggles + one merged run of nudges
    h.editor.actions["delete_label"].trigger()
    assert 7 not in rows(h.project, h.vid, 5)
    hp = h.editor.handles[7].pos()
    assert (hp.x(), hp.y()) == tuple(pose[7] + 3)  # the prediction shows again
    assert h.editor.joint_state(7) == "predicted"
    h.stack.undo()
    h.stack.undo()
    assert rows(h.project, h.vid, 5)[7] == (*pose[7], True, "manual")
    # toggling a predicted joint marks it occluded as a corrected label
    h.editor.select(8)
    h.editor.toggle_visibility()
    assert rows(h.project, h.vid, 5)[8] == (*(pose[8] + 3), False, "corrected")


def test_place_missing_joint_by_click(h) -> None:
    pose = _pose()
    h.project.set_label(h.vid, 1, 0, *pose[0], source="manual")
    h.editor.set_context(h.project, h.vid, 1)
    placing = []
    h.editor.placingChanged.connect(placing.append)
    h.editor.actions["place_joint"].trigger()  # P: next missing joint
    assert h.editor.placing_joint == 1
    h.editor.begin_place("left_knee")
    assert h.editor.placing_joint == PENNACTION.index("left_knee")
    target = h.to_px(20.0, 30.0)
    h.click(target)
    x, y = h.to_data(target)
    assert rows(h.project, h.vid, 1)[9] == (pytest.approx(x), pytest.approx(y), True, "manual")
    assert h.editor.placing_joint is None and placing[-1] is None
    assert h.editor.selected_joint == 9
    # while placing, a click on a drawn marker still places (joints may sit on one another)
    h.editor.begin_place(2)
    h.click(h.to_px(*pose[0]))
    assert h.editor.selected_joint == 2 and rows(h.project, h.vid, 1)[2][:2] == rows(h.project, h.vid, 1)[0][:2]
    h.stack.undo()
    h.editor.begin_place(2)
    h.editor.actions["cancel_place"].trigger()
    assert h.editor.placing_joint is None
    h.click(h.to_px(50.0, 10.0))
    assert set(rows(h.project, h.vid, 1)) == {0, 9}
    # not placing: a click on a handle selects it
    h.click(h.to_px(*pose[0]))
    assert h.editor.selected_joint == 0


def test_menu_edits_redraw_and_are_reported(h, qtbot) -> None:
    pose = _pose()
    h.editor.set_context(h.project, h.vid, 3, (pose, np.ones(J)))
    got = []
    h.editor.labelsChanged.connect(lambda v, f: got.append((v, f)))
    cmds.accept_prediction(h.stack, h.project, h.vid, [3, 4], np.stack([pose, pose]), np.ones((2, J)))
    assert got == [(h.vid, [3, 4])]
    assert all(h.editor.joint_state(j) == "accepted" for j in range(J))
    assert h.editor.handles[0].brush.color().getRgb()[:3] == SOURCE_COLORS["accepted"]
    lst = JointListWidget(h.editor)
    qtbot.addWidget(lst)
    assert lst.count() == J and "accepted" in lst.item(0).text()
    h.stack.undo()
    assert h.editor.joint_state(0) == "predicted"
    assert "predicted" in lst.item(0).text()
    # clicking a missing joint in the list arms placing it
    h.editor.set_context(h.project, h.vid, 3, None)
    lst._clicked(lst.item(6))
    assert h.editor.placing_joint == 6
    # another video's edits are reported with that video's id, without redrawing this frame
    other = h.project.add_video(h.project.video(h.vid).path)
    h.stack.push(cmds.SetJointCommand(h.project, other, 3, 0, 1.0, 1.0))
    assert got[-1] == (other, [3])
    assert h.editor.joint_state(0) == "missing"


def test_context_switch_and_clear(h) -> None:
    pose = _pose()
    h.project.set_label(h.vid, 6, 0, *pose[0], source="manual")
    h.editor.set_context(h.project, h.vid, 6)
    assert h.editor.handles[0].isVisible()
    h.editor.set_context(h.project, h.vid, 7)
    assert not any(x.isVisible() for x in h.editor.handles)
    h.editor.setVisible(False)
    h.editor.set_context(h.project, h.vid, 6)
    assert not h.editor.handles[0].isVisible()
    h.editor.setVisible(True)
    assert h.editor.handles[0].isVisible()
    h.editor.set_context(None, None, 0)
    assert h.editor.handles == [] and h.editor.selected_joint is None
