"""Synthetic scenes of several persons: exact joints and boxes, crossing, occlusion, projects."""

from __future__ import annotations

import numpy as np
import pytest

from rpan_core import synth
from rpan_core.errors import ConfigError
from rpan_core.synth_scene import UPRIGHT, render_scene

SIZE = (120, 160)
T = 30


@pytest.fixture(scope="module")
def scene():
    return render_scene(4, "jumping_jacks", n_persons=3, n_frames=T, size=SIZE)


def test_shapes_determinism_and_boxes(scene):
    H, W = SIZE
    assert scene.frames.shape == (T, H, W, 3) and scene.xy.shape == (T, 3, 13, 2)
    assert scene.visible.shape == (T, 3, 13) and scene.bbox.shape == (T, 3, 4) and scene.n_persons == 3
    again = render_scene(4, "jumping_jacks", n_persons=3, n_frames=T, size=SIZE)
    assert np.array_equal(again.frames, scene.frames) and np.array_equal(again.xy, scene.xy)
    assert (scene.xy[..., 0] >= 0).all() and (scene.xy[..., 0] <= W - 1).all()
    assert (scene.xy[..., 1] >= 0).all() and (scene.xy[..., 1] <= H - 1).all()
    # every joint inside its person's box
    x, y = scene.xy[..., 0], scene.xy[..., 1]
    b = scene.bbox[:, :, None, :]
    assert ((x >= b[..., 0] - 1e-3) & (x <= b[..., 2] + 1e-3) & (y >= b[..., 1] - 1e-3)
            & (y <= b[..., 3] + 1e-3)).all()


def test_persons_cross_and_occlude(scene):
    cx = scene.xy[..., 0].mean(-1)  # T x N centres
    crossed = any(np.sign(cx[0, a] - cx[0, b]) != np.sign(cx[-1, a] - cx[-1, b])
                  for a in range(3) for b in range(a + 1, 3))
    assert crossed
    alone = [render_scene(4, "jumping_jacks", n_persons=3, n_frames=T, size=SIZE, only=k) for k in range(3)]
    for k, sc in enumerate(alone):
        assert np.array_equal(sc.xy, scene.xy) and sc.drawn == (k,)
        assert not sc.visible[:, [i for i in range(3) if i != k]].any()
        assert (scene.visible[:, k] <= sc.visible[:, k]).all()  # others can only hide joints
    hidden_by_others = sum(int((sc.visible[:, k] & ~scene.visible[:, k]).sum()) for k, sc in enumerate(alone))
    assert hidden_by_others > 5


def test_joints_lie_on_their_own_body():
    """With one person drawn, its visible joints sit on painted pixels (exact labels per person)."""
    alone = [render_scene(9, "squat", n_persons=2, n_frames=8, size=SIZE, only=k) for k in range(2)]
    for k in range(2):
        sc, other = alone[k], alone[1 - k]
        diff = np.abs(sc.frames.astype(int) - other.frames.astype(int)).sum(-1)
        px = np.round(sc.xy[:, k]).astype(int)
        on = diff[np.arange(8)[:, None], px[..., 1], px[..., 0]]
        assert (on[sc.visible[:, k]] > 12).mean() > 0.95


def test_refusals():
    with pytest.raises(ConfigError, match="standing actions"):
        render_scene(0, "pullup", 2)
    with pytest.raises(ConfigError, match="1..3"):
        render_scene(0, "squat", 4)
    with pytest.raises(ConfigError, match="not a person"):
        render_scene(0, "squat", 2, only=2)
    assert set(UPRIGHT) <= set(synth.ACTIONS)


def test_make_project_with_three_persons(tmp_path):
    p = synth.make_project(tmp_path / "p", 2, seed=1, n_frames=6, size=SIZE, workers=1, progress=False, persons=3)
    try:
        for v in p.videos():
            assert v.action in UPRIGHT
            assert [q.id for q in p.persons(v.id)] == [1, 2, 3]
            for q in (1, 2, 3):
                arr = p.video_labels(v.id, person=q)
                assert arr.frames.tolist() == list(range(6)) and arr.labeled.all()
                keys = p.box_keyframes(v.id, q)
                assert keys.frames.tolist() == list(range(6)) and (keys.source == 4).all()
                xy = arr.xy[arr.visible]
                assert np.isfinite(xy).all()
        assert p.label_count() == 2 * 3 * 6 * 13
    finally:
        p.close()


def test_cli_persons(tmp_path, capsys):
    from rpan_core.cli import main

    assert main(["synth", "--out", str(tmp_path / "s"), "--videos", "1", "--frames", "4", "--size", "96x128",
                 "--persons", "2", "--workers", "1"]) == 0
    from rpan_core.project import Project

    with Project.open(tmp_path / "s") as p:
        assert len(p.persons(p.videos()[0].id)) == 2
    assert main(["synth", "--out", str(tmp_path / "pa"), "--videos", "1", "--persons", "2",
                 "--format", "pennaction"]) == 1
    assert "one person per video" in capsys.readouterr().err
