"""Swapping left and right: one undo step over a range, on labels, stored predictions and model poses."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtGui import QUndoStack

from rpan_core.errors import ProjectError
from rpan_core.project import Project
from rpan_core.skeleton import PENNACTION
from rpan_studio import commands as cmds
from tests.core.test_add import write_video

J = PENNACTION.num_joints
LW, RW = PENNACTION.index("left_wrist"), PENNACTION.index("right_wrist")


def pose(shift: float = 0.0) -> np.ndarray:
    return np.array([[10.0 + 2 * j + shift, 5.0 + j] for j in range(J)])


def stored(p: Project, vid: int, f: int) -> dict:
    return {j: (lab.x, lab.y, lab.visible, str(lab.source)) for j, lab in p.frame_labels(vid, f).items()}


@pytest.fixture
def env(qapp, tmp_path):
    p = Project.create(tmp_path / "proj")
    vid = p.add_video(write_video(tmp_path / "v.avi", n=8, size=(64, 48)))
    p.set_labels(vid, [(0, j, *pose()[j], j != LW, "manual") for j in range(J)])
    p.set_labels(vid, [(1, j, *pose(1)[j], True, "accepted") for j in range(J)])
    p.set_predictions(vid, [2], pose(2)[None], True, 0.7, "test")
    stack = QUndoStack()
    yield p, vid, stack
    stack.clear()
    p.close()


def test_swap_a_range_is_one_undo_step(env):
    p, vid, stack = env
    before = {f: stored(p, vid, f) for f in range(4)}
    model = {3: (pose(3), np.ones(J, bool))}
    cmd = cmds.swap_sides(stack, p, vid, range(0, 5), predicted=model.get)
    assert cmd.text() == "Swap left/right on 4 frames (0-3)" and stack.count() == 1
    assert stored(p, vid, 0)[RW] == (pose()[LW][0], pose()[LW][1], False, "manual")  # a manual label stays manual
    assert stored(p, vid, 1)[RW][3] == "corrected" and stored(p, vid, 1)[0][3] == "accepted"  # the head: untouched
    assert stored(p, vid, 2)[LW][:2] == tuple(pose(2)[RW]) and stored(p, vid, 2)[0][3] == "accepted"
    assert stored(p, vid, 3)[LW][:2] == tuple(pose(3)[RW]) and len(stored(p, vid, 3)) == J
    assert p.frame_labels(vid, 4) == {}
    stack.undo()
    assert {f: stored(p, vid, f) for f in range(4)} == before
    stack.redo()
    stack.push(cmds.SwapSidesCommand(p, vid, [1]))  # swapping twice gives the positions back
    assert {j: v[:3] for j, v in stored(p, vid, 1).items()} == {j: v[:3] for j, v in before[1].items()}


def test_nothing_to_swap_is_refused(env):
    p, vid, stack = env
    with pytest.raises(ProjectError, match="no pose to swap on frames 5-7"):
        cmds.swap_sides(stack, p, vid, [5, 6, 7])
    assert stack.count() == 0
