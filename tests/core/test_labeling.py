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


def test_breakdown_and_corrected_labels():
    from rpan_core.benchmarks.labeling import corrected_labels

    true_xy, true_vis, bbox = _case()
    pred = true_xy.copy()
    pred[0, 0] += [1.0, 0.0]   # accepted: keeps the prediction, not the truth
    pred[0, 1] += [9.0, 0.0]   # moved: gets the truth
    vis = np.array([[True, True, False, True]])  # joint 2 shown invisible (wrong), joint 3 shown visible (wrong)
    e = effort(pred, vis, true_xy, true_vis, bbox)
    assert (e.moved, e.wrong_place, e.wrong_flag) == (3, 1, 2)
    assert (e + e).moved == 6 and (e + e).wrong_flag == 4
    xy, v, moved = corrected_labels(pred, vis, true_xy, true_vis, bbox)
    assert moved.tolist() == [[False, True, True, True]]
    assert v.tolist() == true_vis.tolist()
    assert np.allclose(xy[0, 0], pred[0, 0]) and np.allclose(xy[0, 1:], true_xy[0, 1:])
    # a NaN prediction for a visible joint is never accepted
    pred[0, 0] = np.nan
    assert joints_to_move(pred, vis, true_xy, true_vis, bbox)[0, 0]


def test_threshold_is_picked_from_the_given_labeled_frames():
    from rpan_core.benchmarks.labeling import pick_dummy_threshold

    true_xy, true_vis, bbox = _case()
    # visible joints have dummy 0.25, the invisible one 0.3: only thresholds in (0.25, 0.3] get every flag right
    dummy = np.array([[0.25, 0.25, 0.25, 0.3]])
    thr = pick_dummy_threshold(true_xy, dummy, true_xy, true_vis, bbox)
    assert 0.25 < thr <= 0.3
    assert joints_to_move(true_xy, dummy < thr, true_xy, true_vis, bbox).sum() == 0


def test_a_finetune_round_on_corrected_frames_reduces_the_error_on_held_out_videos(tmp_path):
    """End to end through the engine: the demo model's backbone under an untrained head, fine-tuned (backbone
    frozen, cubes cached) on the corrected frames of three synthetic videos, puts joints closer to the truth
    on two other, unseen videos than before the round."""
    import torch

    from rpan_core.benchmarks.labeling import (DEMO_CHECKPOINT, _analyze, _correct_into_project, _render,
                                               finetune_round)
    from rpan_core.checkpoint import load_checkpoint, save_checkpoint
    from rpan_core.model import RPAN
    from rpan_core.project import Project
    from rpan_core.synth import ACTIONS

    torch.manual_seed(0)
    demo, info = load_checkpoint(DEMO_CHECKPOINT)
    acts = list(info.classes)
    fresh = RPAN(info.config)
    fresh.load_state_dict({k: v for k, v in demo.state_dict().items() if k.startswith("backbone")}, strict=False)
    ck0 = save_checkpoint(tmp_path / "init.pt", fresh.eval(), classes=acts, train_config={"stride": 3, "clip_len": 8})
    acts = [a for a in ACTIONS if a in acts][:3]
    project = Project.create(tmp_path / "project", skeleton="pennaction", classes=acts)
    train = _render(tmp_path / "project" / "videos", 5000, 3, 24, acts)
    held = _render(tmp_path / "held", 9000, 2, 24, acts)
    cache = tmp_path / "analyses"
    _correct_into_project(project, train, ck0, cache, 0.5)
    project.close()

    def error(ck):
        d = []
        for v in held:
            xy, _, _ = _analyze(v, ck, cache, 0.5)
            d.append(np.linalg.norm(xy - v.xy, axis=-1)[v.visible])
        return float(np.mean(np.concatenate(d)))

    ck1, secs = finetune_round(tmp_path / "project", ck0, tmp_path / "round",
                               dict(epochs=40, lr_step_epoch=30, batch=3, lr=0.05, sigma_px=16.0))
    before, after = error(ck0), error(ck1)
    print(f"held-out mean error {before:.1f} px -> {after:.1f} px ({secs:.1f} s round)")
    assert after < 0.8 * before, (before, after)
