"""Labeling mode: a new frame's 13 joints in 14 user actions (P, then one click per joint), each click
one saved, undoable placement; O skips a joint as not visible, Z goes back one, Shift+P redoes a limb."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from rpan_core.skeleton import PENNACTION
from rpan_studio.views.pose_editor import limb_of

from .pose_editor_support import rows
from .test_pose_editor import Harness, _pose

J = PENNACTION.num_joints


@pytest.fixture
def h(qtbot, project_with_video):
    harness = Harness(qtbot, *project_with_video)
    yield harness
    harness.stack.clear()


def _key(h, key, mod=Qt.KeyboardModifier.NoModifier) -> None:
    h.qtbot.keyClick(h.view, key, mod)


def test_a_new_frame_takes_13_clicks_and_one_key(h) -> None:
    h.editor.set_context(h.project, h.vid, 2)
    pose = _pose()
    actions = 0
    _key(h, Qt.Key.Key_P)  # labeling mode
    actions += 1
    assert h.editor.placing_joint == 0 and "head" in h.editor.cursor_hint() and "(1/13)" in h.editor.cursor_hint()
    for j in range(J):
        assert h.editor.placing_joint == j  # skeleton order, advanced by each click
        h.click(h.to_px(*pose[j]))
        actions += 1
        assert len(rows(h.project, h.vid, 2)) == j + 1  # saved at once
        if j < J - 1:  # the hint beside the pointer names the next joint, where the pointer is
            assert PENNACTION.joints[j + 1].replace("_", " ") in h.editor.cursor_tag.textItem.toPlainText()
            assert h.editor.cursor_tag.isVisible()
            tag = h.editor.cursor_tag.pos()
            assert abs(tag.x() - pose[j][0]) < 2 and abs(tag.y() - pose[j][1]) < 2
    assert actions == 14 and h.editor.placing_joint is None and not h.editor.cursor_tag.isVisible()
    stored = rows(h.project, h.vid, 2)
    assert set(stored) == set(range(J)) and all(r[2] and r[3] == "manual" for r in stored.values())
    for j in range(J):
        assert stored[j][0] == pytest.approx(pose[j][0], abs=0.6) and stored[j][1] == pytest.approx(pose[j][1], abs=0.6)
    assert h.stack.count() == J  # one transaction (one undo step) per placement
    h.stack.undo()
    assert set(rows(h.project, h.vid, 2)) == set(range(J - 1))


def test_x_skips_a_hidden_joint_and_b_goes_back(h) -> None:
    h.editor.set_context(h.project, h.vid, 3)
    pose = _pose()
    _key(h, Qt.Key.Key_P)
    h.click(h.to_px(*pose[0]))  # head
    _key(h, Qt.Key.Key_O)  # left shoulder hidden
    assert h.editor.placing_joint == 2
    r = rows(h.project, h.vid, 3)[1]
    assert r[2] is False and math.isnan(r[0])
    h.click(h.to_px(*pose[2]))  # right shoulder, placed too far left: go back and redo it
    assert h.editor.placing_joint == 3
    _key(h, Qt.Key.Key_Z)
    assert h.editor.placing_joint == 2 and "(3/13)" in h.editor.cursor_hint()
    h.click(h.to_px(40.0, 14.0))
    assert rows(h.project, h.vid, 3)[2][0] == pytest.approx(40.0, abs=0.6)
    assert h.editor.placing_joint == 3
    _key(h, Qt.Key.Key_Escape)
    assert h.editor.placing_joint is None and set(rows(h.project, h.vid, 3)) == {0, 1, 2}


def test_shift_p_redoes_the_selected_limb(h) -> None:
    pose = _pose()
    h.project.set_labels(h.vid, [(4, j, *pose[j], True, "manual") for j in range(J)])
    h.editor.set_context(h.project, h.vid, 4)
    assert limb_of(PENNACTION, PENNACTION.index("left_elbow")) == [PENNACTION.index(n) for n in
                                                                  ("left_shoulder", "left_elbow", "left_wrist")]
    h.editor.select(PENNACTION.index("left_knee"))
    _key(h, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    leg = [PENNACTION.index(n) for n in ("left_hip", "left_knee", "left_ankle")]
    new = np.array([[20.0, 25.0], [18.0, 33.0], [17.0, 44.0]])
    for j, p in zip(leg, new):
        assert h.editor.placing_joint == j
        h.click(h.to_px(*p))  # on or near drawn markers: still places
    assert h.editor.placing_joint is None
    after = rows(h.project, h.vid, 4)
    for j, p in zip(leg, new):
        assert after[j][:2] == (pytest.approx(p[0], abs=0.6), pytest.approx(p[1], abs=0.6))
    assert after[0][:2] == (pytest.approx(pose[0][0]), pytest.approx(pose[0][1]))  # the rest untouched


def test_a_joint_placed_where_the_model_predicts_one_is_the_person_s_own_label(h) -> None:
    """Clicking a joint into place (labeling mode) stores it as manual even where the model shows that joint;
    dragging the model's joint stays a correction of it."""
    pose = _pose()
    h.editor.set_context(h.project, h.vid, 3, (pose + 6.0, np.ones(J)))  # the model predicts every joint
    _key(h, Qt.Key.Key_P)
    for j in range(3):
        h.click(h.to_px(*pose[j]))
    stored = rows(h.project, h.vid, 3)
    assert [stored[j][3] for j in range(3)] == ["manual"] * 3
    h.editor.cancel_place()
    h.drag(h.to_px(*(pose[8] + 6.0)), h.to_px(*(pose[8] + 12.0)))  # the model's right hip, moved
    assert rows(h.project, h.vid, 3)[8][3] == "corrected"
