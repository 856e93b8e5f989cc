"""The simulated annotator's counting, on hand-made cases with exact answers."""

import numpy as np
import pytest

from rpan_core.benchmarks.labeling import Effort, effort, from_nothing, joint_tolerance, joints_to_move


def _case():
    # one frame, 4 joints; box 100 wide x 40 tall -> tolerance 5 px
    true_xy = np.array([[[10.0, 10.0], [20.0, 20.0], [30.0, 30.0], [40.0, 40.0]]])
    true_vis = np.array([[True, True, True, False]])
    bbox = np.array([[0.0, 0.0, 100.0, 40.0]])
    return true_xy, true_vis, bbox


def test_tolerance_is_five_percent_of_the_larger_box_side():
    assert joint_tolerance(np.array([[0, 0, 100, 40], [10, 10, 30, 210]])).tolist() == [5.0, 10.0]


def test_hand_made_counts():
    true_xy, true_vis, bbox = _case()
    pred = true_xy.copy()
    pred[0, 0] += [3.0, 4.0]      # exactly 5 px: within tolerance, not moved
    pred[0, 1] += [3.0, 4.01]     # just over 5 px: moved
    pred[0, 3] += [50.0, 50.0]    # invisible in truth and prediction: position irrelevant
    vis = np.array([[True, True, True, False]])
    assert joints_to_move(pred, vis, true_xy, true_vis, bbox).tolist() == [[False, True, False, False]]
    # wrong flags: a visible joint shown invisible, an invisible joint shown visible
    vis2 = np.array([[True, True, False, True]])
    assert joints_to_move(pred, vis2, true_xy, true_vis, bbox).tolist() == [[False, True, True, True]]
    e = effort(pred, vis2, true_xy, true_vis, bbox)
    assert (e.moved, e.frames, e.baseline) == (3, 1, 3)
    assert e.saved == pytest.approx(0.0)


def test_from_nothing_counts_every_visible_joint():
    true_xy, true_vis, bbox = _case()
    vis = np.concatenate([true_vis, [[False, False, True, True]]])
    assert from_nothing(vis).tolist() == [3, 2]
    e = effort(None, None, np.concatenate([true_xy, true_xy]), vis, np.concatenate([bbox, bbox]))
    assert (e.moved, e.baseline, e.per_frame, e.saved) == (5, 5, 2.5, 0.0)


def test_perfect_prediction_saves_everything_and_tolerance_scales_per_frame():
    true_xy, true_vis, bbox = _case()
    xy = np.repeat(true_xy, 2, 0)
    vis = np.repeat(true_vis, 2, 0)
    boxes = np.array([[0, 0, 100, 40], [0, 0, 200, 40]], float)  # tolerances 5 and 10 px
    pred = xy + np.array([7.0, 0.0])
    moved = joints_to_move(pred, vis, xy, vis, boxes)
    assert moved.sum(1).tolist() == [3, 0]
    e = effort(xy, vis, xy, vis, boxes)
    assert e.moved == 0 and e.saved == 1.0
    assert Effort(3, 2, 12).per_frame == 1.5 and Effort(3, 2, 12).saved == 0.75
