"""Propagation between keyframes: the combination rules, the stored predictions, `rpan propagate`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rpan_core.cli import main
from rpan_core.errors import ConfigError, ProjectError
from rpan_core.project import FrameState, Project
from rpan_core.propagate import BlendParams, propagate, propagate_video
from tests.core.test_add import write_video

J = 13


def curve(n: int = 41, seed: int = 0) -> np.ndarray:
    """n x J x 2 joints on smooth, non-linear paths (what interpolation gets wrong mid-gap)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    base = rng.uniform(50, 150, (1, J, 2))
    amp, freq = rng.uniform(5, 15, (1, J, 2)), rng.uniform(0.05, 0.15, (1, J, 2))
    return base + amp * np.sin(freq * t[..., None] + rng.uniform(0, 6, (1, J, 2)))


def keys(truth: np.ndarray, every: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f = np.arange(0, len(truth), every)
    return f, truth[f], np.ones((len(f), J), bool)


def test_interpolation_fallback_fills_only_between_keyframes():
    truth = curve()
    f, kxy, kvis = keys(truth, 10)
    kxy[1, 4] = np.nan  # joint 4 not labeled on frame 10: its gap runs 0..20
    p = propagate(41, f[:4], kxy[:4], kvis[:4])  # keyframes 0, 10, 20, 30; frames 31..40 stay empty
    assert p.method == "interp" and p.frames.tolist() == [t for t in range(1, 30) if t % 10]
    assert p.filled.all() and (p.weight == 0).all()
    i = p.frames.tolist().index(5)
    np.testing.assert_allclose(p.xy[i, 0], (truth[0, 0] + truth[10, 0]) / 2)
    np.testing.assert_allclose(p.xy[i, 4], truth[0, 4] + (truth[20, 4] - truth[0, 4]) * 5 / 20)
    with pytest.raises(ConfigError, match="needs the model's poses"):
        propagate(41, f, kxy, kvis, method="blend")


def test_offset_correction_removes_a_constant_model_bias_exactly():
    truth = curve(seed=1)
    model = truth + np.array([7.0, -4.0])  # a model that is always 7 px right, 4 px up
    f, kxy, kvis = keys(truth, 10)
    err = {}
    for method in ("interp", "model", "offset", "blend"):
        p = propagate(41, f, kxy, kvis, model_xy=model, model_conf=np.full((41, J), 0.8), method=method,
                      params=BlendParams(snap=0))
        err[method] = float(np.linalg.norm(p.xy - truth[p.frames], axis=-1).mean())
    assert err["offset"] < 1e-9 and err["model"] == pytest.approx(np.hypot(7, 4))
    assert err["interp"] > 0.5 and err["blend"] < err["interp"]  # the blend is between, nearer the truth


def test_blend_weights_by_distance_and_snaps_a_jump_to_the_interpolation():
    truth = curve(seed=2)
    model = truth.copy()
    model[15, 3] += (120.0, 0.0)  # the model jumps to something else on one frame
    f, kxy, kvis = keys(truth, 10)
    p = propagate(41, f, kxy, kvis, model_xy=model, model_conf=np.ones((41, J)), params=BlendParams(snap=2.0))
    fr = p.frames.tolist()
    i15, i11 = fr.index(15), fr.index(11)
    assert p.snapped[i15, 3] and p.weight[i15, 3] == 0
    np.testing.assert_allclose(p.xy[i15, 3], (truth[10, 3] + truth[20, 3]) / 2)
    assert p.weight[i15, 0] == pytest.approx(1.0) and p.weight[i11, 0] == pytest.approx(0.2)
    np.testing.assert_allclose(p.xy[i15, 0], truth[15, 0])  # a perfect model wins mid-gap
    low = propagate(41, f, kxy, kvis, model_xy=model, model_conf=np.full((41, J), 0.25),
                    params=BlendParams(conf_power=1.0, snap=0))
    assert low.weight[i15, 0] == pytest.approx(0.25)


@pytest.fixture()
def project(tmp_path):
    p = Project.create(tmp_path / "proj")
    vid = p.add_video(write_video(tmp_path / "v.avi", n=12))
    truth = curve(12, seed=3)
    rows = [(f, j, *truth[f, j], True, "manual") for f in (0, 5, 11) for j in range(J)]
    rows.append((8, 2, 10.0, 11.0, True, "corrected"))  # a person's label between keyframes: frame 8 is one
    p.set_labels(vid, rows)
    yield p, vid, truth
    p.close()


def test_predictions_are_stored_beside_labels_and_shown_as_predicted(project):
    p, vid, truth = project
    before = p.video_labels(vid)
    prop = propagate_video(p, vid)
    assert prop.frames.tolist() == [1, 2, 3, 4, 6, 7, 9, 10]
    assert p.prediction_count(vid) == 8 * J and p.label_count(vid) == 3 * J + 1
    after = p.video_labels(vid)
    np.testing.assert_array_equal(before.xy, after.xy)
    states = p.frame_states(vid)
    assert states[[0, 5, 8, 11]].tolist() == [FrameState.MANUAL, FrameState.MANUAL, FrameState.CORRECTED,
                                              FrameState.MANUAL]
    assert (states[[1, 2, 3, 4, 6, 7, 9, 10]] == FrameState.PREDICTED).all()
    pr = p.predictions(vid)
    assert pr.frames.tolist() == prop.frames.tolist() and pr.filled.all()
    np.testing.assert_allclose(pr.xy[0, 1], truth[0, 1] + (truth[5, 1] - truth[0, 1]) / 5)
    assert p.frame_predictions(vid, 1)[1].origin == "propagate:interp"
    # a label placed on a predicted frame makes it a keyframe; the rerun drops the stale prediction there
    p.set_label(vid, 3, 0, 1.0, 2.0, True, "accepted")
    assert p.frame_states(vid)[3] == FrameState.ACCEPTED
    p.clear_predictions(vid)
    assert p.prediction_count(vid) == 0 and p.frame_states(vid)[1] == FrameState.NONE
    propagate_video(p, vid)
    assert 3 not in p.predictions(vid).frames.tolist() and p.prediction_count() == 7 * J
    p.remove_video(vid)
    assert p.prediction_count() == 0


def test_predictions_refuse_bad_shapes_and_frames(project):
    p, vid, _ = project
    with pytest.raises(ProjectError, match="expected 1 x 13 x 2"):
        p.set_predictions(vid, [1], np.zeros((1, 12, 2)), True, 0.5, "test")
    with pytest.raises(ProjectError, match="frame 12 is outside video"):
        p.set_predictions(vid, [12], np.zeros((1, J, 2)), True, 0.5, "test")
    assert p.prediction_count() == 0


def test_cli_propagate_with_and_without_a_checkpoint(project, tmp_path, capsys, monkeypatch):
    from rpan_core.demo import demo_checkpoint_path

    p, vid, _ = project
    folder = str(p.folder)
    assert main(["propagate", "--project", folder]) == 0
    out = capsys.readouterr().out
    assert "video 1 v.avi: 8 frames predicted by interp (104 joints)" in out
    assert main(["propagate", "--project", folder, "--checkpoint", str(demo_checkpoint_path()), "--video", "v",
                 "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["method"] == "blend" and row["frames"] == 8 and 0 <= row["model_share"] <= 1
    assert p.frame_predictions(vid, 2)[0].origin.startswith("propagate:blend:")
    assert main(["propagate", "--project", folder, "--video", "nope"]) == 1
    assert "no video 'nope'" in capsys.readouterr().err
    # a keyframe labeled with its sides swapped is listed, with the frames after it
    from rpan_core.sides import swap_pose

    sw, _ = swap_pose(np.array([[p.frame_labels(vid, 5)[j].x, p.frame_labels(vid, 5)[j].y] for j in range(J)]),
                      np.ones(J), "pennaction")
    p.set_labels(vid, [(5, j, *sw[j], True, "manual") for j in range(J)])
    assert main(["propagate", "--project", folder]) == 0
    assert "left/right in doubt on 3 frames: 3-5 (swap them" in capsys.readouterr().out  # 3, 4: interpolated
    assert main(["propagate", "--project", folder, "--json"]) == 0  # towards the mirrored pose, they cross
    (row,) = json.loads(capsys.readouterr().out)
    assert {d["frame"]: d["reason"] for d in row["side_doubts"]} == {3: "crossed", 4: "crossed", 5: "crossed"}
    assert main(["propagate", "--project", folder, "--check-sides"]) == 1
    assert "give --checkpoint too" in capsys.readouterr().err


def test_adaptive_weights_follow_the_errors_measured_on_the_keyframes():
    """A model that is good on this video takes over mid-gap; a poor one fades to interpolation."""
    truth = curve(81, seed=4)
    rng = np.random.default_rng(0)
    f, kxy, kvis = keys(truth, 10)
    params = BlendParams(snap=0, adaptive=True)
    err = {}
    for name, noise in (("good", 0.3), ("poor", 25.0)):
        model = truth + rng.normal(0, noise, truth.shape)
        p = propagate(81, f, kxy, kvis, model_xy=model, params=params)
        mid = np.isin(p.frames, f + 5)
        err[name] = float(np.linalg.norm(p.xy - truth[p.frames], axis=-1).mean())
        if name == "good":
            assert p.weight[mid].mean() > 0.7
        else:
            assert p.weight[mid].mean() < 0.1
    interp = propagate(81, f, kxy, kvis)
    err["interp"] = float(np.linalg.norm(interp.xy - truth[interp.frames], axis=-1).mean())
    assert err["good"] < 0.5 * err["interp"] and err["poor"] < 1.05 * err["interp"]


def test_confidence_shown_mixes_the_model_confidence_by_its_share():
    truth = curve(seed=6)
    f, kxy, kvis = keys(truth, 10)
    p = propagate(41, f, kxy, kvis, model_xy=truth, model_conf=np.full((41, J), 0.4),
                  params=BlendParams(snap=0))
    np.testing.assert_allclose(p.conf, 1 - p.weight + 0.4 * p.weight)
    assert (propagate(41, f, kxy, kvis).conf == 1).all()


def test_predictions_belong_to_a_person(project):
    p, vid, truth = project
    p.set_labels(vid, [(f, j, *truth[f, j] + 50, True, "manual") for f in (0, 11) for j in range(J)], person=2)
    propagate_video(p, vid, person=2)
    assert p.prediction_count(vid, person=2) == 10 * J and p.prediction_count(vid, person=1) == 0
    assert p.frame_states(vid, person=1)[1] == FrameState.NONE
    assert p.frame_states(vid, person=2)[1] == FrameState.PREDICTED
    moved = p.predictions(vid, person=2).xy[3]
    p.swap_persons(vid, 1, 2, from_frame=4)  # identities swap from frame 4: the predictions follow
    assert p.predictions(vid, person=1).frames.tolist() == list(range(4, 11))
    np.testing.assert_array_equal(p.predictions(vid, person=1).xy[0], moved)  # frame 4 was person 2's row 3
    assert p.predictions(vid, person=2).frames.tolist() == [1, 2, 3]
    p.delete_person(vid, 1)
    assert p.prediction_count(vid) == 3 * J


def test_a_crafted_prediction_is_refused_on_open(project):
    import sqlite3

    p, vid, _ = project
    propagate_video(p, vid)
    folder = p.folder
    p.close()
    db = sqlite3.connect(folder / "project.db")
    db.execute("UPDATE predictions SET conf=5 WHERE frame=1")
    db.commit()
    db.close()
    with pytest.raises(ProjectError, match="predictions.*confidence outside 0..1|confidence outside 0..1"):
        Project.open(folder)


FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11]  # PennAction: head, then left/right pairs


def test_model_poses_take_the_keyframes_sides():
    """A model that mirrors the skeleton on a run of frames is put back on the keyframes' sides, then blended."""
    from rpan_core.propagate import align_sides

    truth = curve(41, seed=7)
    truth[:, 1::2, 0] -= 30  # left joints well to the left of the right ones: sides are clear
    model = truth.copy()
    model[12:28] = truth[12:28][:, FLIP]  # sides exchanged mid-gap
    f, kxy, kvis = keys(truth, 20)
    fixed, conf = align_sides(model, np.ones((41, J)), f, kxy, FLIP)
    np.testing.assert_allclose(fixed, truth)
    params = BlendParams(snap=0, adaptive=True)
    plain = propagate(41, f, kxy, kvis, model_xy=model, params=params)
    aligned = propagate(41, f, kxy, kvis, model_xy=model, params=params, flip_index=FLIP)
    err = lambda p: float(np.linalg.norm(p.xy - truth[p.frames], axis=-1).mean())  # noqa: E731
    assert err(aligned) < 1e-6 < err(plain)


def test_sparse_keyframes_trust_a_good_model_more_with_a_lower_gap_power():
    """Interpolation's error grows with the gap; estimated from few keyframes, a gap**2 law keeps the model's share
    mid-gap where gap**4 (fit to a smooth curve) underrates how far interpolation strays over a sparse gap."""
    t = np.arange(101)[:, None, None]
    rng = np.random.default_rng(3)
    truth = 100 + 20 * np.sin(2 * np.pi * t / rng.uniform(25, 40, (1, J, 2)) + rng.uniform(0, 6, (1, J, 2)))
    model = truth + rng.normal(0, 0.8, truth.shape)
    f = np.array([0, 40, 80, 100])
    kxy, kvis = truth[f], np.ones((len(f), J), bool)
    err = {}
    for p in (4.0, 2.0):
        prop = propagate(101, f, kxy, kvis, model_xy=model, params=BlendParams(snap=0, adaptive=True, gap_power=p))
        err[p] = float(np.linalg.norm(prop.xy - truth[prop.frames], axis=-1).mean())
    assert err[2.0] < err[4.0]


def test_auto_offset_drops_the_keyframe_offset_of_errors_that_come_and_go():
    """White model noise: carrying a keyframe's offset across the gap adds that noise (1.5x mid-gap); auto_offset
    uses the raw model there, and still removes a constant bias."""
    truth = curve(81, seed=8)
    rng = np.random.default_rng(1)
    f, kxy, kvis = keys(truth, 10)
    noisy = truth + rng.normal(0, 2.0, truth.shape)
    biased = truth + np.array([6.0, -3.0])
    e = {}
    for name, model in (("noisy", noisy), ("biased", biased)):
        for auto in (False, True):
            prm = BlendParams(snap=0, adaptive=True, auto_offset=auto)
            p = propagate(81, f, kxy, kvis, model_xy=model, params=prm)
            e[name, auto] = float(np.linalg.norm(p.xy - truth[p.frames], axis=-1).mean())
    assert e["noisy", True] < e["noisy", False]
    assert e["biased", True] < 1e-6 and e["biased", False] < 1e-6


def test_cli_propagate_one_person_of_a_crowd(tmp_path, capsys):
    """``rpan propagate --person N`` fills only that person's frames; with a checkpoint in a video of several
    persons the model reads that person on crops around its boxes (rpan_core.person_analysis)."""
    import torch

    from rpan_core import synth
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.model import RPAN, RPANConfig

    p = synth.make_project(tmp_path / "p", 1, seed=2, n_frames=9, size=(96, 128), workers=1, progress=False,
                           persons=2)
    vid = p.videos()[0].id
    for f in range(9):
        if f not in (0, 4, 8):
            p.delete_frame_labels(vid, f, person=2)
            p.delete_frame_labels(vid, f, person=1)
    p.delete_frame_labels(vid, 4, person=1)
    p.delete_frame_labels(vid, 8, person=1)  # person 1 keeps one keyframe: nothing to propagate for it
    folder = str(p.folder)
    assert main(["propagate", "--project", folder, "--person", "2"]) == 0
    assert "person 2: 6 frames predicted by interp" in capsys.readouterr().out
    assert p.prediction_count(vid, person=2) > 0 and p.prediction_count(vid, person=1) == 0
    assert p.frame_states(vid, person=2)[1] == FrameState.PREDICTED
    torch.manual_seed(0)
    model = RPAN(RPANConfig(num_classes=len(p.classes), input_size=(64, 48), hidden=16)).eval()
    ck = tmp_path / "ck.pt"
    save_checkpoint(ck, model, classes=p.classes, train_config={"stride": 2, "clip_len": 4})
    assert main(["propagate", "--project", folder, "--person", "2", "--checkpoint", str(ck), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["person"] == 2 and row["method"] == "blend" and row["frames"] == 6
    assert any("person2" in d.name for d in p.analyses_dir.iterdir())  # read on person 2's crops
    assert p.frame_predictions(vid, 1, person=2)[0].origin.startswith("propagate:blend:")
    assert main(["propagate", "--project", folder, "--person", "5", "--video", str(vid)]) == 1
    err = capsys.readouterr().err.strip()
    assert "no person 5" in err and len(err.splitlines()) == 1
    assert main(["propagate", "--project", folder]) == 1  # person 1 has one keyframe
    assert "two labeled frames" in capsys.readouterr().err
    p.close()


def test_propagate_video_and_the_cli_can_take_the_keyframes_sides(project, monkeypatch, capsys):
    """`align=True` / `rpan propagate --align-sides`: a model that reads the view mirrored is stored on the right sides."""
    from types import SimpleNamespace

    from rpan_core import propagate as prop_mod

    p, vid, truth = project
    flip = np.asarray(p.skeleton.flip_index)
    truth = truth.copy()
    left = [j for j, name in enumerate(p.skeleton.joints) if name.startswith("left_")]
    truth[:, left, 0] -= 40  # the sides are clear: every left joint well left of its right twin
    p.set_labels(vid, [(f, j, *truth[f, j], True, "manual") for f in (0, 5, 11) for j in range(J)])
    mirrored = truth[:, flip].astype(np.float32)  # the model reads every frame with its sides exchanged
    fake = SimpleNamespace(xy=mirrored, conf=np.ones((12, J), np.float32))
    prop_mod.propagate_video(p, vid, analysis=fake, method="model")
    err = lambda: float(np.linalg.norm(p.predictions(vid).xy - truth[p.predictions(vid).frames], axis=-1).mean())  # noqa: E731
    assert err() > 20  # stored mirrored
    prop_mod.propagate_video(p, vid, analysis=fake, method="model", align=True)
    assert err() < 1e-3
    monkeypatch.setattr(prop_mod, "model_poses", lambda *a, **k: fake)
    folder = str(p.folder)
    assert main(["propagate", "--project", folder, "--checkpoint", "unused.pt", "--method", "model"]) == 0
    assert err() > 20
    assert main(["propagate", "--project", folder, "--checkpoint", "unused.pt", "--method", "model",
                 "--align-sides"]) == 0
    assert err() < 1e-3
    capsys.readouterr()
