"""Few-keyframe training (rpan_core.keyframes), person-following analysis (rpan_core.crops), the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rpan_core.geometry import Window
from rpan_core.keyframes import Keyframe, KeyframeConfig, crops_of, train_keyframes
from rpan_core.skeleton import PENNACTION
from tests.core.engine_support import make_tiny_project

SIZE = (64, 64)


def test_crops_follow_their_joints_and_flips_swap_sides():
    h, w = 300, 200
    frame = np.zeros((h, w, 3), np.uint8)
    rng = np.random.default_rng(0)
    xy = np.stack([rng.uniform(40, 160, 13), rng.uniform(40, 260, 13)], 1)
    for j, (x, y) in enumerate(xy):  # joint j painted with red level 10 * (j + 1), 7 x 7 px
        frame[int(y) - 3:int(y) + 4, int(x) - 3:int(x) + 4] = (10 * (j + 1), 255, 0)
    xy = np.floor(xy) + 0.5
    key = Keyframe("v", 0, xy, np.ones(13, bool), np.ones(13, bool))
    imgs, pts, vis = crops_of([key], [frame], 12, (128, 96), PENNACTION.flip_index, rng, colour=False)
    assert imgs.shape == (12, 128, 96, 3) and pts.shape == (12, 13, 2) and vis.all()
    flips = 0
    for img, p in zip(imgs, pts):
        seen = [int(img[int(y), int(x), 0]) // 10 - 1 if 0 <= x < 96 and 0 <= y < 128 else None for x, y in p]
        ok = [(s, j) for j, s in enumerate(seen) if s is not None and img[int(p[j][1]), int(p[j][0]), 1] > 200]
        assert len(ok) >= 8
        straight = all(s == j for s, j in ok)
        swapped = all(s == PENNACTION.flip_index[j] for s, j in ok)
        assert straight or swapped  # the label that sits on a dot is that dot's joint, or its mirror twin
        flips += swapped and not straight
    assert 0 < flips < 11  # some crops were flipped (with the joints swapped), some not


def test_augmentation_ranges_are_the_configured_ones():
    """scale=0 and rotate_deg=0 leave only shifts and flips: joint distances stay those of the plain crop."""
    frame = np.zeros((300, 200, 3), np.uint8)
    rng = np.random.default_rng(1)
    xy = np.stack([rng.uniform(40, 160, 13), rng.uniform(40, 260, 13)], 1)
    key = Keyframe("v", 0, xy, np.ones(13, bool), np.ones(13, bool))

    def spans(**aug):
        _, pts, _ = crops_of([key], [frame], 8, (128, 96), PENNACTION.flip_index, np.random.default_rng(2),
                             colour=False, **aug)
        d = np.linalg.norm(pts[:, 0] - pts[:, 7], axis=-1)  # head to a hip: flips keep it (up to the swap)
        d2 = np.linalg.norm(pts[:, 0] - pts[:, 8], axis=-1)
        return np.minimum(d, d2) / min(d[0], d2[0]), np.maximum(d, d2) / max(d[0], d2[0])
    lo, hi = spans(scale=0.0, rotate_deg=0.0)
    np.testing.assert_allclose(lo, 1, atol=1e-4)
    np.testing.assert_allclose(hi, 1, atol=1e-4)
    lo, _ = spans(scale=0.5, rotate_deg=0.0)
    assert np.abs(lo[1:] - 1).max() > 0.05
    _, pts0, _ = crops_of([key], [frame], 8, (128, 96), PENNACTION.flip_index, np.random.default_rng(2), colour=False,
                          scale=0.0, rotate_deg=0.0)
    _, pts1, _ = crops_of([key], [frame], 8, (128, 96), PENNACTION.flip_index, np.random.default_rng(2), colour=False,
                          scale=0.0, rotate_deg=0.0, aspect=0.5)
    height = lambda p: np.ptp(p[..., 1], axis=-1)  # noqa: E731
    width = lambda p: np.ptp(p[..., 0], axis=-1)  # noqa: E731
    np.testing.assert_allclose(height(pts1), height(pts0), rtol=1e-4)  # the squeeze changes widths only
    assert np.abs(width(pts1[1:]) / width(pts0[1:]) - 1).max() > 0.05


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kf") / "project"
    project, truth = make_tiny_project(folder, actions=("squat", "pullup"), per_class=2, n_frames=8, size=(96, 72),
                                       pose_every=4, test_per_class=1)
    project.close()
    return folder, truth


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    folder, _ = tiny
    run = tmp_path_factory.mktemp("runs") / "kf"
    kc = KeyframeConfig(str(folder), minutes=None, steps=6, copies=3, batch=4, input_size=SIZE, run_dir=str(run),
                        eval_every_s=0.0)
    return train_keyframes(kc)


def test_training_writes_small_checkpoints_and_picks_best_on_held_out_frames(trained):
    from rpan_core.checkpoint import load_checkpoint, read_checkpoint

    ev = [json.loads(line) for line in (trained / "events.jsonl").read_text().splitlines()]
    assert ev[0]["type"] == "start" and ev[0]["keyframes"] == 4 and ev[0]["held_out"] == 4
    assert ev[-1]["type"] == "end" and ev[-1]["status"] == "finished" and ev[-1]["step"] == 6
    assert any(e["type"] == "val" for e in ev)
    state, info = read_checkpoint(trained / "last.pt")
    assert info.config.backbone == "mobilenet_v2_fpn" and info.config.framing == "person"
    assert all(v.dtype == torch.float16 for k, v in state.items() if v.is_floating_point())
    assert (trained / "best.pt").exists()
    model, _ = load_checkpoint(trained / "best.pt")
    assert next(model.parameters()).dtype == torch.float32
    assert float(model.A_h.detach().abs().max()) == 0.0  # pose-only: the attention never depends on the LSTM state


def test_without_held_out_frames_the_run_says_so_and_keeps_last(tiny, tmp_path):
    from rpan_core.project import Project

    folder, _ = tiny
    kc = KeyframeConfig(str(folder), minutes=None, steps=2, copies=2, batch=2, input_size=SIZE,
                        run_dir=str(tmp_path / "r"), splits=("train", "test"))
    run = train_keyframes(kc)
    assert (run / "last.pt").exists() and not (run / "best.pt").exists()
    assert "no labeled frames outside the training split" in (run / "log.txt").read_text()
    with Project.open(folder) as p:
        assert p.runs_dir.exists()


def test_analysis_follows_the_person_and_maps_points_back(trained, tiny, tmp_path):
    from rpan_core.analyze import analyze_video
    from rpan_core.project import Project
    from rpan_core.targets import decode_quadratic

    folder, _ = tiny
    with Project.open(folder) as p:
        video = p.videos()[0]
    a = analyze_video(video.path, trained / "last.pt", cache_dir=tmp_path / "cache")
    assert a.attention.shape[-2:] == (16, 16) and a.window.shape == (video.frame_count, 2, 3)
    for t in (0, 5):
        win = Window(a.window[t].astype(np.float64), SIZE)
        xy_in, _ = decode_quadratic(torch.from_numpy(np.asarray(a.attention[t], np.float32)), SIZE)
        d = np.abs(win.to_frame(xy_in.numpy()) - a.xy[t]).max(-1)
        # the stored attention is float16: an untrained model's near-tied peaks may round to another cell
        assert (d < 0.05).sum() >= 10, d
        assert abs(win.matrix[0, 0] - win.matrix[1, 1]) < 1e-4  # aspect kept
    again = analyze_video(video.path, trained / "last.pt", cache_dir=tmp_path / "cache")
    assert again.from_cache and np.array_equal(again.window, a.window)


def test_cli_trains_the_labeling_preset(tiny, tmp_path, capsys):
    from rpan_core.cli import main

    folder, _ = tiny
    from rpan_core.checkpoint import read_checkpoint

    assert main(["train", "--project", str(folder), "--model-preset", "labeling", "--max-steps", "2", "--copies", "2",
                 "--batch", "2", "--input-size", "64x64", "--run-dir", str(tmp_path / "cli"), "--train-trunk", "32",
                 "--flip-test", "--between", "1"]) == 0
    out = capsys.readouterr().out
    assert "best checkpoint:" in out and (tmp_path / "cli" / "best.pt").exists()
    cfg = json.loads((tmp_path / "cli" / "config.json").read_text())
    assert cfg["train"]["train_trunk"] == 32 and read_checkpoint(tmp_path / "cli" / "last.pt")[1].config.flip_test
    assert cfg["train"]["between"] == 1 and "frames between keyframes" in (tmp_path / "cli" / "log.txt").read_text()
    assert main(["train", "--project", str(folder), "--model-preset", "labeling", "--input-size", "60x40"]) != 0
    assert "multiples of 32" in capsys.readouterr().err
    assert main(["train", "--project", str(folder), "--model-preset", "demo", "--train-trunk", "32"]) != 0
    assert "--train-trunk belongs to the few-keyframe recipe" in capsys.readouterr().err
    assert main(["train", "--project", str(folder), "--model-preset", "demo", "--between", "2"]) != 0
    assert "--between belongs to the few-keyframe recipe" in capsys.readouterr().err
    assert main(["train", "--project", str(folder), "--model-preset", "labeling", "--between", "-1"]) != 0
    assert "--between -1" in capsys.readouterr().err


def test_the_labeling_recipe_trains_on_the_device_it_is_given(tiny, tmp_path, capsys):
    """``--device`` reaches the few-keyframe recipe (it used to train on the CPU whatever was asked)."""
    from rpan_core.cli import main

    folder, _ = tiny
    assert main(["train", "--project", str(folder), "--model-preset", "labeling", "--max-steps", "1", "--copies", "1",
                 "--batch", "2", "--input-size", "64x64", "--run-dir", str(tmp_path / "cpu"), "--device", "cpu"]) == 0
    assert json.loads((tmp_path / "cpu" / "config.json").read_text())["train"]["device"] == "cpu"
    assert "crops on cpu" in (tmp_path / "cpu" / "log.txt").read_text()
    if not torch.cuda.is_available():
        assert main(["train", "--project", str(folder), "--model-preset", "labeling", "--max-steps", "1",
                     "--run-dir", str(tmp_path / "gpu"), "--device", "cuda"]) != 0
        assert "no CUDA GPU" in capsys.readouterr().err and not (tmp_path / "gpu").exists()


def test_an_unlabeled_joint_is_unknown_not_invisible(tmp_path, monkeypatch):
    """A partly labeled frame trains only its labeled joints: the loss mask follows the labels (swapped on
    flipped crops), and a joint labeled "not visible" still counts (it trains the dummy cell)."""
    import rpan_core.keyframes as kf
    from rpan_core.keyframes import labeled_crops
    from rpan_core.project import Project

    fi = np.asarray(PENNACTION.flip_index)
    frame = np.zeros((200, 160, 3), np.uint8)
    xy = np.stack([np.linspace(40, 120, 13), np.linspace(30, 170, 13)], 1)
    labeled = np.ones(13, bool)
    labeled[[1, 4, 9]] = False  # never labeled: left shoulder, right elbow, left knee
    visible = labeled.copy()
    visible[11] = False  # labeled as not visible
    key = Keyframe("v", 0, xy, visible, labeled)
    _, _, vis, lab = labeled_crops([key], [frame], 16, (128, 96), fi, np.random.default_rng(4), colour=False)
    assert lab.shape == (16, 13)
    for v, m in zip(vis, lab):
        assert (m == labeled).all() or (m == labeled[fi]).all()
        assert not (v & ~m).any()  # nothing unlabeled is visible
    assert (lab == labeled[fi]).all(axis=1).any() and (lab == labeled).all(axis=1).any()

    # the training loop hands that mask to the loss
    folder = tmp_path / "p"
    project, truth = make_tiny_project(folder, actions=("squat",), per_class=2, n_frames=8, size=(96, 72),
                                       pose_every=4, test_per_class=0)
    vid = project.videos()[0].id
    for j in (1, 4, 9):
        assert project.delete_label(vid, 0, j)
    project.close()
    with Project.open(folder) as p:
        left = {j for j in range(13) if p.frame_labels(vid, 0).get(j) is not None}
    assert left == set(range(13)) - {1, 4, 9}
    masks = []
    real_loss = kf.pose_loss

    def spy(att, dummy, targets, mask):
        masks.append(mask.clone())
        return real_loss(att, dummy, targets, mask)

    monkeypatch.setattr(kf, "pose_loss", spy)
    kc = KeyframeConfig(str(folder), minutes=None, steps=3, copies=2, batch=8, input_size=SIZE,
                        run_dir=str(tmp_path / "run"))
    train_keyframes(kc)
    m = torch.cat(masks)
    assert m.dtype == torch.bool and not m.all()  # the partly labeled frame's three joints are left out
    assert (m.sum(1) >= 10).all()


def test_flip_test_reads_a_mirrored_frame_as_the_mirror_of_its_reading():
    """With ``flip_test`` the attention of a mirrored frame is exactly the mirror of the frame's (cells mirrored,
    left and right joints swapped): the two readings are averaged. Without it a model makes no such promise."""
    from rpan_core.model import RPAN, preset

    torch.manual_seed(0)
    fi = list(PENNACTION.flip_index)
    frame = torch.rand(2, 3, 64, 64)

    def read(model, x):
        with torch.no_grad():
            out, _ = model.step(x, model.init_state(len(x)))
        return out.attention, out.dummy

    for flip_test in (False, True):
        torch.manual_seed(0)
        model = RPAN(preset("labeling", input_size=SIZE, backbone_weights=None, flip_test=flip_test)).eval()
        with torch.no_grad():
            model.v.mul_(300.0)  # an untrained model's attention is nearly uniform: make its peaks matter
        a, d = read(model, frame)
        am, dm = read(model, frame.flip(-1))
        mirrored = am[:, fi].flip(-1)
        if flip_test:
            torch.testing.assert_close(mirrored, a, atol=1e-6, rtol=1e-4)
            torch.testing.assert_close(dm[:, fi], d, atol=1e-6, rtol=1e-4)
        else:
            assert (mirrored - a).abs().max() > 1e-3 * a.max()


def test_the_deep_trunk_stages_can_train_on_cached_early_features(tiny, tmp_path):
    """``train_trunk=32``: the blocks before the stride-32 stage stay frozen (cached), that stage trains."""
    from rpan_core.checkpoint import load_checkpoint
    from rpan_core.model import RPAN, preset

    folder, _ = tiny
    kc = KeyframeConfig(str(folder), minutes=None, steps=3, copies=2, batch=2, input_size=SIZE,
                        run_dir=str(tmp_path / "t32"), train_trunk=32, flip_test=True)
    model, _ = load_checkpoint(train_keyframes(kc) / "last.pt")
    assert model.cfg.flip_test
    start = RPAN(preset("labeling", input_size=SIZE)).backbone.trunk.features
    split = model.backbone.split_at(32)
    now = model.backbone.trunk.features
    moved = [float((p.float() - q).abs().max()) for i in (split - 1, split)
             for p, q in zip(now[i].parameters(), start[i].parameters())]
    n = len(list(now[split - 1].parameters()))
    assert max(moved[:n]) < 1e-2  # float16 rounding only: the block before the split is frozen
    assert max(moved[n:]) > 1e-3  # the stride-32 stage trained


def test_frames_between_close_keyframes_train_with_interpolated_poses():
    from rpan_core.keyframes import interpolated_keyframes

    vis = np.ones(13, bool)
    hidden = vis.copy()
    hidden[4] = False
    a = Keyframe("v", 0, np.zeros((13, 2)), vis, vis)
    b = Keyframe("v", 10, np.full((13, 2), 20.0), hidden, vis)
    far = Keyframe("v", 40, np.ones((13, 2)), vis, vis)  # 30 frames after b: too far to interpolate
    other = Keyframe("w", 5, np.ones((13, 2)), vis, vis)  # another video: never paired with v's keyframes
    out = interpolated_keyframes([b, far, other, a], between=4)
    assert [(k.path, k.frame) for k in out] == [("v", 2), ("v", 4), ("v", 6), ("v", 8)]
    np.testing.assert_allclose(out[1].xy, 8.0)  # 4/10 of the way from 0 to 20
    assert all(not k.visible[4] and k.visible.sum() == 12 for k in out)  # hidden on either end: hidden between
    assert interpolated_keyframes([a, b], between=4, max_gap=8) == []
