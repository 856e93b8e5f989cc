"""Left/right: swapping a pose's sides, and flagging frames whose sides are in doubt."""

from __future__ import annotations

import numpy as np

from rpan_core.project import Label, LabelSource
from rpan_core.sides import side_doubts, swap_gain, swap_pose, swap_rows
from rpan_core.skeleton import PENNACTION

J = PENNACTION.num_joints
L, R = PENNACTION.index("left_wrist"), PENNACTION.index("right_wrist")


def walker(n: int = 30) -> np.ndarray:
    """A front-facing person drifting right: left joints at larger x than right ones, 40 px apart."""
    base = np.zeros((J, 2))
    for j, name in enumerate(PENNACTION.joints):
        side = 1 if name.startswith("left") else (-1 if name.startswith("right") else 0)
        base[j] = (100 + 20 * side, 20 + 8 * j)
    return base[None] + np.arange(n)[:, None, None] * np.array([1.5, 0.0])


def test_swap_pose_and_rows_exchange_mirror_pairs_exactly():
    xy = walker(1)[0]
    vis = np.ones(J, bool)
    vis[L] = False
    sxy, svis = swap_pose(xy, vis, PENNACTION)
    np.testing.assert_array_equal(sxy[R], xy[L])
    assert not svis[R] and svis[L] and (sxy[0] == xy[0]).all()
    rows = {j: Label(float(xy[j, 0]), float(xy[j, 1]), bool(vis[j]), LabelSource.ACCEPTED) for j in range(J)}
    rows[L] = Label(1.0, 2.0, True, LabelSource.MANUAL)
    del rows[PENNACTION.index("right_ankle")]
    out = swap_rows(rows, PENNACTION)
    assert 0 not in out  # the head has no partner: untouched
    assert out[R] == (1.0, 2.0, True, "corrected") and out[L][3] == "manual"  # a person's own joint stays manual
    assert out[PENNACTION.index("left_ankle")] is None  # its partner had no label: the swap moves the gap too
    assert out[PENNACTION.index("right_ankle")][:3] == (float(xy[PENNACTION.index("left_ankle"), 0]),
                                                        float(xy[PENNACTION.index("left_ankle"), 1]), True)


def test_swap_gain_sign():
    xy = walker(1)[0]
    assert swap_gain(xy, xy, PENNACTION) < 0
    assert swap_gain(swap_pose(xy, np.ones(J), PENNACTION)[0], xy, PENNACTION) > 0.5


def test_a_mirrored_run_is_flagged_whole_and_nothing_else():
    truth = walker(30)
    poses = truth.copy()
    poses[12:17] = swap_pose(truth[12:17], np.ones((5, J)), PENNACTION)[0]  # the model mirrored frames 12-16
    kf = np.array([0, 10, 20, 29])
    frames = np.array([f for f in range(30) if f not in kf])
    doubts = side_doubts(frames, poses[frames], kf, truth[kf], PENNACTION)
    assert sorted(d.frame for d in doubts) == [12, 13, 14, 15, 16]
    assert {d.reason for d in doubts} == {"crossed"} and all(d.reference == 10 for d in doubts)
    # a keyframe whose labels are mirrored against the frames leading to it is flagged too
    kxy = truth[kf].copy()
    kxy[2] = swap_pose(kxy[2], np.ones(J), PENNACTION)[0]
    doubts = side_doubts(frames, truth[frames], kf, kxy, PENNACTION)
    by_frame = {d.frame: d for d in doubts}
    assert by_frame[20].reference == 10
    # the frames after it disagree with the (trusted) keyframe: flagged until a person fixes frame 20
    assert sorted(by_frame) == list(range(20, 30)) and by_frame[25].reference == 20
    kxy[2] = truth[20]
    assert side_doubts(frames, truth[frames], kf, kxy, PENNACTION) == []


def test_flip_test_flags_a_model_that_guesses_the_sides():
    truth = walker(6)
    flipped_back = truth.copy()  # a side-sure model: the flipped image gives back the same pose
    flipped_back[3] = swap_pose(truth[3], np.ones(J), PENNACTION)[0]  # here it gave the mirror image
    doubts = side_doubts(np.arange(6), truth, [], np.zeros((0, J, 2)), PENNACTION, flipped_xy=flipped_back)
    assert [(d.frame, d.reason) for d in doubts] == [(3, "flip")] and doubts[0].score > 0.5


def test_flipped_poses_map_the_mirrored_video_back(tmp_path, monkeypatch):
    """The flipped copy of a mirrored clip is the clip: its poses, mapped back, are the clip's poses mirrored."""
    import cv2

    from rpan_core.analyze import analyze_video
    from rpan_core.demo import demo_checkpoint_path
    from rpan_core.sides import flipped_poses
    from rpan_core.synth import render_video

    monkeypatch.setenv("RPAN_CACHE_DIR", str(tmp_path / "cache"))
    sv = render_video(5, "jumping_jacks", n_frames=8, size=(96, 128))
    for name, frames in (("clip", sv.frames), ("mirrored", sv.frames[:, :, ::-1])):
        (tmp_path / name).mkdir()
        for i, fr in enumerate(frames):
            cv2.imwrite(str(tmp_path / name / f"{i:03d}.png"), cv2.cvtColor(np.ascontiguousarray(fr),
                                                                            cv2.COLOR_RGB2BGR))
    ck = demo_checkpoint_path()
    direct = np.asarray(analyze_video(tmp_path / "clip", ck).xy, np.float64)
    back = flipped_poses(tmp_path / "mirrored", ck)  # analyzes a flipped copy of the mirrored clip
    expected = PENNACTION.flip_xy(direct, 128)  # the clip's poses, in the mirrored clip's pixels
    err = np.linalg.norm(back - expected, axis=-1)
    assert back.shape == (8, J, 2) and np.median(err) < 2.0  # JPEG-compressed copy: within a couple of pixels
    assert np.median(np.linalg.norm(back - direct, axis=-1)) > 10 * max(np.median(err), 0.1)


def test_swap_changes_on_labels_predictions_and_model_poses(tmp_path):
    from rpan_core.project import Project
    from rpan_core.sides import swap_changes
    from tests.core.test_add import write_video

    xy = walker(1)[0]
    with Project.create(tmp_path / "p") as p:
        vid = p.add_video(write_video(tmp_path / "v.avi", n=5))
        p.set_labels(vid, [(0, j, *xy[j], True, "imported") for j in range(J)])
        p.set_predictions(vid, [1], xy[None], True, 0.9, "test")
        model = lambda f: (xy, np.ones(J, bool)) if f == 2 else None  # noqa: E731
        ch = swap_changes(p, vid, range(5), model)
        assert sorted({f for f, _ in ch}) == [0, 1, 2]  # frames 3, 4: no pose, nothing written
        assert (0, 0) not in ch and ch[(1, 0)][3] == "accepted" and ch[(2, 0)][3] == "accepted"
        for f in (0, 1, 2):
            assert ch[(f, R)] == (float(xy[L, 0]), float(xy[L, 1]), True, "corrected")
        assert len(ch) == 12 + 13 + 13


def test_doubt_runs_group_consecutive_frames():
    from rpan_core.sides import SideDoubt, doubt_runs

    ds = [SideDoubt(f, "crossed", s) for f, s in ((12, 0.3), (13, 0.5), (14, 0.3), (20, 0.9))] + [
        SideDoubt(13, "flip", 0.2)]
    assert [(r.first, r.last, r.reason, r.score) for r in doubt_runs(ds)] == [
        (20, 20, "crossed", 0.9), (12, 14, "crossed", 0.5), (13, 13, "flip", 0.2)]
