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


def test_pck_counts_truly_visible_joints_whatever_the_flag():
    from rpan_core.benchmarks.labeling import pck

    true_xy, true_vis, bbox = _case()
    pred = true_xy.copy()
    pred[0, 1] += [6.0, 0.0]   # 6 px: outside 5 % (5 px), inside 10 % (10 px)
    pred[0, 3] += [90.0, 0.0]  # invisible: not counted
    assert pck(pred, true_xy, true_vis, bbox, 0.05) == pytest.approx(2 / 3)
    assert pck(pred, true_xy, true_vis, bbox, 0.1) == 1.0


def test_the_benchmark_plumbing_on_a_tiny_model(tmp_path):
    """The whole benchmark with a 64 x 64 labeling model, a few training steps and a few frames: every row is
    there, the thresholds are the studio's 0.5 and one picked on the held-out corrections, the fine-tune learned
    from the keyframes plus the round's training videos only, the evaluation videos never entered the project,
    and the script writes its page from the results."""
    import json
    import sys
    from pathlib import Path

    from rpan_core.benchmarks.labeling import COMBOS, THRESHOLDS, Recipe, run
    from rpan_core.project import Project

    tiny = Recipe(seed_steps=3, seed_copies=1, round_steps=3, round_copies=1, input_size=(64, 64), batch=2)
    r = run(workdir=tmp_path, recipe=tiny, n_seed=1, seed_frames=10, n_round=2, n_val=1, n_eval=1, frames=4,
            demo=False, threads=1)
    assert r["rows"] == ["from_nothing"] + [c[0] for c in COMBOS if c[1] != "w1fresh"]  # fresh=False
    assert r["w0_train_frames"] == 2 and r["w0more_train_frames"] == 2  # keyframes 0 and 5
    assert r["w1_train_frames"] == 2 + 4  # + the round's one training video, every frame
    for w in ("w0", "w1", "w0more"):
        assert r[f"{w}_t0_threshold"] == 0.5 and r[f"{w}_t1_threshold"] in THRESHOLDS
        assert r[f"{w}_t0_pck05"] == r[f"{w}_t1_pck05"]  # the threshold changes flags, never positions
        for t in ("t0", "t1"):
            e = r[f"{w}_{t}_joints_per_frame"]
            assert 0 <= e <= 13 and e == pytest.approx(r[f"{w}_{t}_misplaced_per_frame"] + r[f"{w}_{t}_wrong_flags_per_frame"])
    p = Project.open(tmp_path / "project")
    try:
        vids = p.videos()
        assert len(vids) == 1 + 2 and sorted(v.split for v in vids) == ["train", "train", "val"]
        assert all("eval" not in str(v.path) for v in vids)
    finally:
        p.close()
    (tmp_path / "r.json").write_text(json.dumps(r))
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    try:
        import labeling_effort
    finally:
        sys.path.pop(0)
    assert labeling_effort.main(["--from-json", str(tmp_path / "r.json"), "--out", str(tmp_path / "page.md")]) == 0
    page = (tmp_path / "page.md").read_text()
    assert "fine-tuned weights + old threshold" in page and f"{r['w1_t0_joints_per_frame']:.2f}" in page
