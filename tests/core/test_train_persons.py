"""Training on person crops in a project of several persons: each person is its own sample, cropped around
its own box, for the keyframe trainer (labeling preset) and for the engine (paper presets)."""

from __future__ import annotations

import numpy as np
import pytest

from rpan_core.crops import MARGIN
from rpan_core.data import ClipDataset, collect_items
from rpan_core.geometry import Window, pose_box
from rpan_core.keyframes import crops_of, project_keyframes
from rpan_core.skeleton import PENNACTION
from rpan_core.video import open_video

N_FRAMES = 8
IN = (64, 48)


@pytest.fixture(scope="module")
def crowd(tmp_path_factory):
    """Two videos of three persons each (exact joints on every frame, box keyframes), train split."""
    from rpan_core import synth

    folder = tmp_path_factory.mktemp("crowd") / "p"
    p = synth.make_project(folder, 2, seed=5, n_frames=N_FRAMES, size=(96, 128), workers=1, progress=False,
                           persons=3)
    for v in p.videos():
        p.set_split(v.id, "train")
    yield p
    p.close()


def _centred(xy_in: np.ndarray, vis: np.ndarray, size=IN) -> bool:
    """The visible joints' extent sits in the middle of the crop (the person the crop was made for)."""
    box = pose_box(xy_in, vis)
    c = (box[:2] + box[2:]) / 2
    return bool(abs(c[0] - size[1] / 2) < 0.1 * size[1] and abs(c[1] - size[0] / 2) < 0.1 * size[0])


def test_the_keyframe_trainer_crops_every_person_of_every_labeled_frame(crowd):
    p = crowd
    keys = project_keyframes(p, ("train",), 13)
    want = sum(int(((p.video_labels(v.id, q.id).visible & p.video_labels(v.id, q.id).labeled).sum(1) >= 2).sum())
               for v in p.videos() for q in p.persons(v.id))
    # one sample per person and labeled frame (frames where a person is hidden to fewer than 2 joints: none)
    assert len(keys) == want and want > 0.9 * 2 * 3 * N_FRAMES
    same = [k for k in keys if k.path == keys[0].path]
    with open_video(keys[0].path) as v:
        frames = [np.array(v.frame(k.frame)) for k in same]
    imgs, pts, vis = crops_of(same, frames, 1, IN, PENNACTION.flip_index, np.random.default_rng(0), colour=False)
    assert len(imgs) == len(same)
    assert all(_centred(q, v) for q, v in zip(pts, vis))  # each crop is around its own person
    by_frame: dict[int, list] = {}
    for k, img in zip(same, imgs):
        by_frame.setdefault(k.frame, []).append(img)
    full = [v for v in by_frame.values() if len(v) == 3]
    assert len(full) > N_FRAMES / 2
    assert all(not np.array_equal(v[0], v[1]) and not np.array_equal(v[1], v[2]) for v in full)  # 3 crops a frame


def test_the_engine_makes_one_cropped_sample_per_person(crowd):
    p = crowd
    snap = p.snapshot()
    try:
        items = collect_items(snap, p.classes, "train", 13, persons=True)
        whole = collect_items(snap, p.classes, "train", 13)  # without persons: as before, one item per video
    finally:
        snap.close()
    assert len(whole) == 2 and all(not it.cropped for it in whole)
    assert [(it.video_id, it.person) for it in items] == [(v.id, k) for v in p.videos() for k in (1, 2, 3)]
    it = items[1]
    np.testing.assert_allclose(it.boxes, p.person_boxes(it.video_id, 2, margin=0.0))
    ds = ClipDataset(items, T=4, input_size=IN, grid=(8, 6), skeleton=PENNACTION, train=True, seed=1, mirror=False)
    s = ds[1]
    idx, _ = ds.indices(1)
    with open_video(it.path) as v:
        want = np.stack([Window.around_box(it.boxes[f], IN, MARGIN).warp(v.frame(int(f))) for f in idx])
    np.testing.assert_array_equal(s["frames"], want)  # the person's crops
    # targets: each labeled joint's mass peaks at the cell holding that joint inside the crop
    pos = np.searchsorted(it.label_frames, idx)
    for t, (f, q) in enumerate(zip(idx, pos)):
        xy_in = Window.around_box(it.boxes[f], IN, MARGIN).to_input(it.xy[q])
        assert _centred(xy_in, it.visible[q])
        for j in np.nonzero(it.visible[q])[0]:
            x, y = xy_in[j]
            if 0 <= x < IN[1] and 0 <= y < IN[0]:
                r, c = divmod(int(np.argmax(s["targets"][t, j, :-1])), 6)
                assert abs((c + 0.5) * 8 - x) <= 4 + 1e-6 and abs((r + 0.5) * 8 - y) <= 4 + 1e-6  # its own cell
    ds.close()


def test_a_mirrored_person_crop_swaps_sides_inside_the_crop(crowd):
    p = crowd
    snap = p.snapshot()
    try:
        items = collect_items(snap, p.classes, "train", 13, persons=True)
    finally:
        snap.close()
    plain = ClipDataset(items, T=4, input_size=IN, grid=(8, 6), skeleton=PENNACTION, train=True, seed=3,
                        mirror=False)
    mirr = ClipDataset(items, T=4, input_size=IN, grid=(8, 6), skeleton=PENNACTION, train=True, seed=3, mirror=True)
    i = next(i for i in range(len(items)) if mirr.indices(i)[1])  # a sample drawn mirrored
    a, b = plain[i], mirr[i]
    np.testing.assert_array_equal(b["frames"], a["frames"][:, :, ::-1])
    fi = list(PENNACTION.flip_index)
    ta = a["targets"][..., :-1].reshape(4, 13, 8, 6)[:, fi][..., ::-1]
    np.testing.assert_allclose(b["targets"][..., :-1].reshape(4, 13, 8, 6), ta, atol=1e-5)
    plain.close()
    mirr.close()


def test_validation_scores_person_crops_in_frame_pixels(crowd):
    """A model whose attention is exactly the targets scores PCK ~1: validation maps each crop's decoded joints
    back to frame pixels through that crop's window."""
    import torch
    from types import SimpleNamespace

    from rpan_core.engine.validate import validate

    p = crowd
    snap = p.snapshot()
    try:
        items = collect_items(snap, p.classes, "train", 13, persons=True)
    finally:
        snap.close()
    ds = ClipDataset(items, T=4, input_size=IN, grid=(16, 12), skeleton=PENNACTION, train=False, sigma_px=1.0)

    def oracle(b):
        tg = torch.as_tensor(b["targets"])[..., :-1]
        B, T, J = tg.shape[:3]
        return SimpleNamespace(attention=tg.reshape(B, T, J, 16, 12), logits=torch.zeros(B, T, len(p.classes)))

    res = validate(SimpleNamespace(eval=lambda: None), ds, oracle)
    assert res["val_pck"] > 0.97
    ds.close()


def test_an_engine_run_trains_and_validates_on_person_crops(crowd, tmp_path, capsys):
    from rpan_core.engine import TrainConfig, run_training
    from rpan_core.runlog import read_events

    cfg = TrainConfig(project=str(crowd.folder), run_dir=str(tmp_path / "run"), epochs=1, val_split="train",
                      backbone="small_cnn", backbone_weights=None, backbone_stride=16, input_size=IN, hidden=16,
                      batch=3, clip_len=4, seed=0)
    run_training(cfg, progress=False)
    assert "6 persons of 2 videos with several persons train on crops" in capsys.readouterr().err
    events = read_events(tmp_path / "run" / "events.jsonl")
    assert events[0]["train_videos"] == 6  # 2 videos x 3 persons: six samples
    epoch = [e for e in events if e.get("type") == "epoch"][-1]
    assert epoch["val_pck"] is not None and events[-1]["status"] == "finished"
