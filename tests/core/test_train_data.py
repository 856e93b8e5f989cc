"""Clip sampling and training samples: equal intervals, masks, mirror augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from rpan_core.data import ClipDataset, VideoItem, clip_indices, spread
from rpan_core.skeleton import PENNACTION


@pytest.mark.parametrize("n,T", [(60, 8), (8, 8), (5, 8), (1000, 8), (23, 3)])
def test_clip_indices_equal_intervals(n, T):
    mid = clip_indices(n, T)
    assert np.array_equal(mid, np.clip(np.floor((np.arange(T) + 0.5) * n / T), 0, n - 1).astype(int))
    rng = np.random.default_rng(0)
    for _ in range(50):
        idx = clip_indices(n, T, rng)
        seg = n / T
        assert len(idx) == T and np.all(np.diff(idx) >= 0) and idx.min() >= 0 and idx.max() < n
        # one shared offset: every index lies in its own segment
        assert np.all(idx >= np.floor(np.arange(T) * seg) - 1e-9) and np.all(idx < np.ceil((np.arange(T) + 1) * seg))


def test_spread_picks_among_given_frames():
    fr = np.array([3, 10, 11, 40, 41, 42, 90])
    assert set(spread(fr, 4)).issubset(set(fr))
    assert set(spread(fr, 4, np.random.default_rng(1))).issubset(set(fr))


def _item(action=0, label_frames=(0, 2, 4), n=6, w=40, h=30):
    J = PENNACTION.num_joints
    lf = np.array(label_frames, np.int64)
    xy = np.zeros((len(lf), J, 2), np.float32)
    xy[:, :, 0] = np.arange(J)[None] + 5  # x = joint index + 5
    xy[:, :, 1] = 10
    vis = np.ones((len(lf), J), bool)
    frames = np.zeros((n, h, w, 3), np.uint8)
    frames[:, :, :5] = 255  # a bright band on the left edge
    return VideoItem(1, "v.mp4", "h", n, w, h, action, lf, xy, vis, vis.copy(), frames)


def _ds(items, train, mirror=True, seed=0):
    return ClipDataset(items, T=6, input_size=(30, 40), grid=(3, 4), skeleton=PENNACTION, train=train,
                       seed=seed, mirror=mirror)


def test_masks_for_unlabeled_frames_and_videos_without_action():
    s = _ds([_item(action=2)], train=False)[0]
    assert s["pose_mask"].tolist() == [True, False, True, False, True, False]
    assert bool(s["action_mask"]) and int(s["label"]) == 2
    assert s["targets"].shape == (6, 13, 13) and np.allclose(s["targets"].sum(-1), 1)
    pose_only = _ds([_item(action=-1)], train=True)[0]
    assert not bool(pose_only["action_mask"])
    assert pose_only["pose_mask"].all()  # a pose-only clip is made of labeled frames


def test_mirror_flips_frames_and_swaps_left_right_joints():
    it = _item()
    flips = []
    for seed in range(12):
        ds = _ds([it], train=True, seed=seed)
        idx, flip = ds.indices(0)
        s = ds[0]
        flips.append(flip)
        t = int(np.flatnonzero(s["pose_mask"])[0])
        if flip:
            assert s["frames"][t, :, -5:].min() == 255 and s["frames"][t, :, :5].max() == 0
            xy = PENNACTION.flip_xy(it.xy[0], it.width)
        else:
            assert s["frames"][t, :, :5].min() == 255
            xy = it.xy[0]
        from rpan_core.targets import joint_targets

        ref = joint_targets(xy, np.ones(13, bool), (30, 40), (3, 4)).numpy()
        np.testing.assert_allclose(s["targets"][t], ref, atol=1e-6)
    assert any(flips) and not all(flips)
    assert not any(_ds([it], train=False).indices(0)[1] for _ in range(3))
