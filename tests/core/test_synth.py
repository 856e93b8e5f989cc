"""Synthetic actions: deterministic, joints on the drawn body, occlusion, mirroring."""

from __future__ import annotations

import numpy as np
import pytest

from rpan_core import synth
from rpan_core.errors import ConfigError
from rpan_core.skeleton import PENNACTION

SIZE = (120, 160)
T = 24


@pytest.fixture(scope="module")
def clips():
    return {a: synth.render_video(3, a, n_frames=T, size=SIZE, mirror=False) for a in synth.ACTIONS}


def test_at_least_eight_actions():
    assert len(synth.ACTIONS) >= 8 and len(set(synth.ACTIONS)) == len(synth.ACTIONS)
    for a, b in synth.CONFUSABLE:
        assert a in synth.ACTIONS and b in synth.ACTIONS


def test_all_actions_render(clips):
    H, W = SIZE
    for a, sv in clips.items():
        assert sv.frames.shape == (T, H, W, 3) and sv.frames.dtype == np.uint8
        assert sv.xy.shape == (T, 13, 2) and sv.visible.shape == (T, 13) and sv.bbox.shape == (T, 4)
        assert sv.action == a and sv.label == synth.ACTIONS.index(a)
        # every joint inside the frame
        assert (sv.xy[..., 0] >= 0).all() and (sv.xy[..., 0] <= W - 1).all(), a
        assert (sv.xy[..., 1] >= 0).all() and (sv.xy[..., 1] <= H - 1).all(), a
        assert sv.visible.mean() > 0.45, a  # a pure side view hides the far limbs
        # the body moves: joints change over the clip
        assert np.abs(sv.xy - sv.xy[:1]).max() > 3, a


def test_deterministic_by_seed():
    a = synth.render_video(11, "squat", n_frames=8, size=SIZE)
    b = synth.render_video(11, "squat", n_frames=8, size=SIZE)
    c = synth.render_video(12, "squat", n_frames=8, size=SIZE)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.xy, b.xy)
    assert np.array_equal(a.visible, b.visible)
    assert not np.array_equal(a.frames, c.frames)


def test_joints_lie_on_drawn_body(clips):
    for a in ("jumping_jacks", "tennis_forehand", "bowling", "pushup"):
        sv = clips[a]
        bg = synth.render_video(3, a, n_frames=T, size=SIZE, mirror=False, person=False)
        assert np.array_equal(bg.xy, sv.xy)
        diff = np.abs(sv.frames.astype(int) - bg.frames.astype(int)).sum(-1)  # T x H x W
        x = np.round(sv.xy[..., 0]).astype(int)
        y = np.round(sv.xy[..., 1]).astype(int)
        on = diff[np.arange(T)[:, None], y, x]  # T x 13
        vis = sv.visible
        # visible joints sit on painted pixels (allow a few anti-aliased coincidences)
        assert (on[vis] > 12).mean() > 0.97, a
        # and pixels far from every joint and bone are mostly background
        assert (diff[:, :3, :3] <= 1).all(), a


def test_occlusion_in_side_view():
    hidden = 0
    for seed in range(3):
        sv = synth.render_video(seed, "bowling", n_frames=30, size=SIZE, mirror=False)
        hidden += (~sv.visible).sum()
        assert sv.visible[:, 0].all()  # the head is never behind anything here
    assert hidden > 0
    sv = synth.render_video(0, "jumping_jacks", n_frames=30, size=SIZE, mirror=False)
    assert sv.visible.mean() > 0.95  # front view: nothing hides


def test_mirroring_swaps_left_and_right():
    a = synth.render_video(5, "tennis_serve", n_frames=10, size=SIZE, mirror=False)
    b = synth.render_video(5, "tennis_serve", n_frames=10, size=SIZE, mirror=True)
    W = SIZE[1]
    assert b.mirrored and not a.mirrored
    assert np.array_equal(b.frames, a.frames[:, :, ::-1])
    flip = list(PENNACTION.flip_index)
    assert flip[1] == 2 and flip[5] == 6
    np.testing.assert_allclose(b.xy[..., 0], (W - 1) - a.xy[:, flip, 0], atol=1e-4)
    np.testing.assert_allclose(b.xy[..., 1], a.xy[:, flip, 1], atol=1e-4)
    assert np.array_equal(b.visible, a.visible[:, flip])


def test_bbox_contains_joints(clips):
    for sv in clips.values():
        assert (sv.bbox[:, 0] <= sv.xy[..., 0].min(1) + 1e-3).all()
        assert (sv.bbox[:, 2] >= sv.xy[..., 0].max(1) - 1e-3).all()


def test_bad_arguments():
    with pytest.raises(ConfigError, match="unknown synthetic action"):
        synth.render_video(0, "juggling")
    with pytest.raises(ConfigError):
        synth.plan(0)


def test_plan_has_both_splits_per_class():
    p = synth.plan(36, seed=0)
    for a in synth.ACTIONS:
        splits = {s for _, act, s in p if act == a}
        assert splits == {"train", "test"}


def test_render_many_writes_readable_videos(tmp_path):
    from rpan_core.video import open_video
    res = synth.render_many(tmp_path, 2, seed=1, n_frames=6, size=SIZE, workers=1, progress=False)
    assert len(res) == 2
    with open_video(res[0]["path"]) as v:
        assert v.frame_count == 6 and (v.height, v.width) == SIZE


def test_make_project(tmp_path):
    project = synth.make_project(tmp_path / "p", 3, seed=0, n_frames=5, size=SIZE, workers=1, progress=False)
    vids = project.videos()
    assert len(vids) == 3 and [v.action for v in vids] == list(synth.ACTIONS[:3])
    labels = project.video_labels(vids[0].id)
    truth = synth.render_video(synth.plan(3, 0)[0][0], synth.ACTIONS[0], n_frames=5, size=SIZE)
    np.testing.assert_allclose(labels.xy, truth.xy, atol=1e-3)


def test_make_project_calls_the_store_as_documented(tmp_path, monkeypatch):
    """Against a recording stand-in for rpan_core.project (docs/interfaces.md signatures)."""
    import sys
    import types

    calls = {}

    class FakeProject:
        @classmethod
        def create(cls, folder, skeleton="pennaction", classes=()):
            calls["create"] = (folder, skeleton, list(classes))
            calls["videos"], calls["labels"] = [], {}
            return cls()

        def add_video(self, path, action=None, split="train"):
            calls["videos"].append((path, action, split))
            return len(calls["videos"])

        def set_labels(self, video_id, rows):
            calls["labels"][video_id] = list(rows)

    fake = types.ModuleType("rpan_core.project")
    fake.Project = FakeProject
    monkeypatch.setitem(sys.modules, "rpan_core.project", fake)
    synth.make_project(tmp_path / "p", 2, seed=4, n_frames=3, size=SIZE, workers=1, progress=False)
    assert calls["create"] == (tmp_path / "p", "pennaction", list(synth.ACTIONS))
    assert [v[1] for v in calls["videos"]] == list(synth.ACTIONS[:2])
    rows = calls["labels"][1]
    assert len(rows) == 3 * 13 and all(r[5] == "imported" for r in rows)
    truth = synth.render_video(synth.plan(2, 4)[0][0], synth.ACTIONS[0], n_frames=3, size=SIZE)
    frame, joint, x, y, vis, _ = rows[13 + 6]
    assert (frame, joint) == (1, 6)
    assert (x, y, vis) == (pytest.approx(truth.xy[1, 6, 0]), pytest.approx(truth.xy[1, 6, 1]), truth.visible[1, 6])


def test_cli_bare_videos(tmp_path):
    from rpan_core.cli import main
    out = tmp_path / "v"
    assert main(["synth", "--out", str(out), "--videos", "2", "--frames", "4", "--size", "64x80",
                 "--workers", "1", "--format", "videos"]) == 0
    z = np.load(out / "labels.npz")
    assert z["xy"].shape == (2, 4, 13, 2) and list(z["actions"]) == list(synth.ACTIONS[:2])
    assert main(["synth", "--out", str(out), "--size", "oops", "--format", "videos"]) == 1
