"""Undoable edit commands against a real project store: the store is checked after every redo/undo."""

from __future__ import annotations


import numpy as np
import pytest
from PyQt6.QtGui import QUndoStack

from rpan_core.errors import ProjectError
from rpan_studio import commands as cmds

from .pose_editor_support import rows

J = 13


@pytest.fixture
def env(qapp, project_with_video):
    project, vid = project_with_video
    stack = QUndoStack()
    yield project, vid, stack
    stack.clear()


def test_set_joint_undo_redo_restores_exact_rows(env) -> None:
    project, vid, stack = env
    project.set_label(vid, 3, 0, 10.0, 12.0, visible=False, source="imported")
    before = rows(project, vid, 3)
    stack.push(cmds.SetJointCommand(project, vid, 3, 0, 20.5, 22.25))
    # editing an imported label makes it corrected and keeps its visibility
    assert rows(project, vid, 3) == {0: (20.5, 22.25, False, "corrected")}
    stack.push(cmds.SetJointCommand(project, vid, 3, 5, 30.0, 31.0))  # from nothing: manual
    assert rows(project, vid, 3)[5] == (30.0, 31.0, True, "manual")
    stack.undo()
    assert 5 not in rows(project, vid, 3)  # the absent label is absent again
    stack.undo()
    assert rows(project, vid, 3) == before
    stack.redo()
    stack.redo()
    assert rows(project, vid, 3) == {0: (20.5, 22.25, False, "corrected"), 5: (30.0, 31.0, True, "manual")}


def test_edited_source_rules() -> None:
    assert cmds.edited_source(None, from_prediction=False) == "manual"
    assert cmds.edited_source(None, from_prediction=True) == "corrected"
    assert cmds.edited_source("manual", True) == "manual"
    for s in ("accepted", "imported", "corrected"):
        assert cmds.edited_source(s, False) == "corrected"


def test_nudges_merge_into_one_undo_step(env) -> None:
    project, vid, stack = env
    project.set_label(vid, 1, 2, 5.0, 5.0, source="manual")
    for k in range(1, 4):
        stack.push(cmds.SetJointCommand(project, vid, 1, 2, 5.0 + k, 5.0, merge_id=77))
    assert stack.count() == 1
    assert rows(project, vid, 1)[2] == (8.0, 5.0, True, "manual")
    stack.undo()
    assert rows(project, vid, 1)[2] == (5.0, 5.0, True, "manual")
    # different joints never merge
    stack.push(cmds.SetJointCommand(project, vid, 1, 2, 6.0, 5.0, merge_id=77))
    stack.push(cmds.SetJointCommand(project, vid, 1, 3, 6.0, 5.0, merge_id=77))
    assert stack.count() == 2


def test_visibility_toggle_and_delete(env) -> None:
    project, vid, stack = env
    project.set_label(vid, 0, 4, 11.0, 9.0, source="accepted")
    stack.push(cmds.SetVisibilityCommand(project, vid, 0, 4, False))
    assert rows(project, vid, 0)[4] == (11.0, 9.0, False, "corrected")
    # a predicted joint without a label gets a corrected label at the predicted position
    stack.push(cmds.SetVisibilityCommand(project, vid, 0, 7, False, xy=(40.0, 41.0)))
    assert rows(project, vid, 0)[7] == (40.0, 41.0, False, "corrected")
    with pytest.raises(ProjectError, match="place it first"):
        cmds.SetVisibilityCommand(project, vid, 0, 8, False)
    stack.push(cmds.DeleteLabelCommand(project, vid, 0, [4]))
    assert 4 not in rows(project, vid, 0)
    stack.undo()
    assert rows(project, vid, 0)[4] == (11.0, 9.0, False, "corrected")
    stack.undo()
    stack.undo()
    assert rows(project, vid, 0) == {4: (11.0, 9.0, True, "accepted")}


def test_accept_prediction_range_keeps_human_labels(env) -> None:
    project, vid, stack = env
    frames = [2, 3, 4, 5]
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 40, size=(4, J, 2)).round(3)
    xy[1, 6] = np.nan  # no prediction for this joint
    conf = np.full((4, J), 0.9)
    conf[2, 1] = 0.1
    project.set_label(vid, 3, 0, 1.0, 2.0, source="manual")  # a person's label: kept
    project.set_label(vid, 4, 0, 3.0, 4.0, source="accepted")  # an earlier acceptance: replaced
    before = {f: rows(project, vid, f) for f in frames}
    cmd = cmds.accept_prediction(stack, project, vid, frames, xy, conf, min_conf=0.5)
    assert stack.count() == 1 and cmd is not None
    for i, f in enumerate(frames):
        got = rows(project, vid, f)
        for j in range(J):
            if f == 3 and j == 0:
                assert got[0] == (1.0, 2.0, True, "manual")
            elif f == 3 and j == 6:
                assert 6 not in got
            else:
                assert got[j] == (xy[i, j, 0], xy[i, j, 1], not (f == 4 and j == 1), "accepted")
    stack.undo()
    assert {f: rows(project, vid, f) for f in frames} == before
    stack.redo()
    assert rows(project, vid, 5)[12] == (xy[3, 12, 0], xy[3, 12, 1], True, "accepted")
    # a single frame with J x 2
    stack.undo()
    cmds.accept_prediction(stack, project, vid, 7, xy[0], conf[0])
    assert len(rows(project, vid, 7)) == J
    with pytest.raises(ProjectError, match="do not match"):
        cmds.accept_prediction(stack, project, vid, [1, 2], xy, conf)


def test_copy_previous(env) -> None:
    project, vid, stack = env
    project.set_labels(vid, [(2, 0, 5.0, 6.0, True, "manual"), (2, 1, 7.0, 8.0, False, "accepted"),
                             (6, 0, 50.0, 50.0, True, "manual")])
    project.set_label(vid, 5, 9, 1.0, 1.0, source="corrected")
    # the labeled frame before 5 is 2 (6 is after it); frame 5's own joint 9 stays
    cmds.copy_previous(stack, project, vid, 5)
    assert rows(project, vid, 5) == {0: (5.0, 6.0, True, "manual"), 1: (7.0, 8.0, False, "accepted"),
                                     9: (1.0, 1.0, True, "corrected")}
    stack.undo()
    assert rows(project, vid, 5) == {9: (1.0, 1.0, True, "corrected")}
    with pytest.raises(ProjectError, match="no labeled frame before frame 2"):
        cmds.copy_previous(stack, project, vid, 2)


def test_interpolate_exact_values(env) -> None:
    project, vid, stack = env
    project.set_labels(vid, [
        (2, 0, 10.0, 20.0, True, "manual"), (10, 0, 30.0, 4.0, True, "manual"),
        (2, 1, 0.0, 0.0, True, "manual"), (10, 1, 8.0, 16.0, False, "manual"),  # invisible at b: skipped
        (2, 2, 1.0, 1.0, True, "manual"),  # only on a: skipped
        (6, 5, 7.0, 7.0, True, "manual"),  # a person's label between the keyframes
        (2, 5, 0.0, 0.0, True, "manual"), (10, 5, 40.0, 40.0, True, "manual"),
        (4, 0, 99.0, 99.0, True, "accepted"),  # an accepted row in between: replaced
    ])
    before = {f: rows(project, vid, f) for f in range(2, 11)}
    cmd = cmds.interpolate(stack, project, vid, 10, 2)  # order does not matter
    assert cmd is not None and cmd.joints == [0, 5]
    mid = rows(project, vid, 6)
    assert mid[0] == (20.0, 12.0, True, "accepted")  # exact midpoint
    assert mid[5] == (7.0, 7.0, True, "manual")  # kept
    assert 1 not in mid and 2 not in mid
    assert rows(project, vid, 4)[0] == (15.0, 16.0, True, "accepted")
    assert rows(project, vid, 3)[0] == (12.5, 18.0, True, "accepted")
    assert rows(project, vid, 5)[5] == (15.0, 15.0, True, "accepted")
    assert rows(project, vid, 2) == before[2] and rows(project, vid, 10) == before[10]
    stack.undo()
    assert {f: rows(project, vid, f) for f in range(2, 11)} == before
    project.set_label(vid, 7, 5, 1.0, 1.0, source="manual")
    assert cmds.interpolate(stack, project, vid, 6, 7) is None  # adjacent: nothing in between
    with pytest.raises(ProjectError, match="no labels"):
        cmds.interpolate(stack, project, vid, 2, 11)
    assert cmds.neighbour_keyframes(project, vid, 5) == (4, 6)


def test_set_action_undo(env) -> None:
    project, vid, stack = env
    assert project.video(vid).action is None
    seen = []
    cmds.notifier().actionChanged.connect(lambda p, v, a: seen.append((v, a)))
    cmds.set_action(stack, project, vid, "squat")
    assert project.video(vid).action == "squat"
    cmds.set_action(stack, project, vid, "wave")
    stack.undo()
    assert project.video(vid).action == "squat"
    stack.undo()
    assert project.video(vid).action is None
    stack.redo()
    assert project.video(vid).action == "squat"
    assert seen == [(vid, "squat"), (vid, "wave"), (vid, "squat"), (vid, None), (vid, "squat")]
    with pytest.raises(ProjectError, match="unknown action"):
        cmds.set_action(stack, project, vid, "moonwalk")


def test_notifier_reports_frames(env) -> None:
    project, vid, stack = env
    got = []
    cmds.notifier().labelsChanged.connect(lambda p, v, f: got.append((p is project, v, f)))
    cmds.accept_prediction(stack, project, vid, [3, 1], np.ones((2, J, 2)), np.ones((2, J)))
    stack.undo()
    assert got == [(True, vid, [1, 3]), (True, vid, [1, 3])]


def test_shortcuts_table_is_complete() -> None:
    from rpan_studio.actions import ACTIONS, shortcut

    names = [a.name for a in ACTIONS]
    assert len(names) == len(set(names))
    keys = [a.keys for a in ACTIONS if a.keys]
    assert len(keys) == len(set(keys)), "two actions share a key"
    assert shortcut("undo") == "Ctrl+Z" and shortcut("redo") == "Ctrl+Shift+Z"
    for required in ("toggle_visibility", "delete_label", "place_joint", "accept_frame", "copy_previous",
                     "interpolate"):
        assert required in names


def test_undo_actions(env) -> None:
    project, vid, stack = env
    from PyQt6.QtCore import QObject

    owner = QObject()
    undo, redo = cmds.make_undo_actions(stack, owner)
    assert undo.shortcut().toString() == "Ctrl+Z" and redo.shortcut().toString() == "Ctrl+Shift+Z"
    cmds.set_action(stack, project, vid, "jump")
    undo.trigger()
    assert project.video(vid).action is None
    redo.trigger()
    assert project.video(vid).action == "jump"
