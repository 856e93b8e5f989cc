"""The model's card: a checkpoint says what it was trained on, and how far a video is from that."""
from __future__ import annotations

import pytest
import torch

from rpan_core.checkpoint import read_checkpoint, save_checkpoint
from rpan_core.demo import demo_checkpoint_path
from rpan_core.model import RPAN, preset
from rpan_core.model_card import ModelCard, card_lines, mismatch_warnings, video_origin
from rpan_core.synth import make_project


@pytest.fixture
def model():
    torch.manual_seed(0)
    return RPAN(preset("demo", num_classes=9, hidden=16, attention_dim=4, input_size=(64, 80))).eval()


def test_a_run_s_checkpoint_records_its_training_project(tmp_path, model):
    proj = make_project(tmp_path / "p", 4, seed=1, n_frames=6, size=(48, 64), workers=1, progress=False)
    vids = proj.videos()
    held_out = [v for v in vids if v.split == "test"]
    proj.close()
    tc = {"project": str(tmp_path / "p"), "run_dir": str(tmp_path / "run"), "model_preset": "demo",
          "val_split": "test"}
    save_checkpoint(tmp_path / "run" / "last.pt", model, classes=[f"c{i}" for i in range(9)], train_config=tc)
    _, info = read_checkpoint(tmp_path / "run" / "last.pt")
    card = info.card
    assert card is not None and card.project == "p" and card.source == "synthetic"
    assert card.videos == len(vids) - len(held_out) and card.labeled_frames == card.videos * 6
    assert card.frame_sizes == [[64, 48, card.videos]] and card.input_size == [64, 80]
    assert card.skeleton == "pennaction" and len(card.classes) == 9 and card.created
    assert dict(card_lines(card))["Labeled frames"] == str(card.videos * 6)
    assert video_origin(vids[0].path) == "synthetic"


def test_the_shipped_demo_model_says_it_is_synthetic_and_warns_on_a_real_portrait_video(tmp_path):
    _, info = read_checkpoint(demo_checkpoint_path())
    assert info.card is not None and info.card.source == "synthetic" and info.card.preset == "demo"
    real = tmp_path / "clip.mp4"
    real.write_bytes(b"")
    assert video_origin(real) == "real"
    warn = mismatch_warnings(info.card, 1080, 1920, "real")
    assert warn and "synthetic figures" in warn[0] and "not estimates" in warn[0]
    assert mismatch_warnings(info.card, 320, 240, "synthetic") == []


def test_a_real_model_warns_on_a_far_shape_and_a_card_less_checkpoint_says_unknown():
    card = ModelCard(source="real", frame_sizes=[[1920, 1080, 3]], input_size=[256, 192])
    assert mismatch_warnings(card, 1920, 1080, "real") == []
    assert "shape" in mismatch_warnings(card, 1080, 1920, "real")[0]
    assert mismatch_warnings(None, 10, 10, "real") == []
    card.labeled_frames = 3
    assert "only 3 labeled frames" in mismatch_warnings(card, 1920, 1080, "real")[0]
    assert "unknown" in card_lines(None)[0][1]


def test_an_explicit_card_wins_and_a_checkpoint_without_project_has_none(tmp_path, model):
    p = save_checkpoint(tmp_path / "a.pt", model, classes=[f"c{i}" for i in range(9)])
    assert read_checkpoint(p)[1].card is None
    p = save_checkpoint(tmp_path / "b.pt", model, classes=[f"c{i}" for i in range(9)],
                        card=ModelCard(project="x", videos=2, source="real"))
    assert read_checkpoint(p)[1].card.project == "x"


def test_the_card_counts_only_the_frames_the_run_learned_from(tmp_path, model, make_project):
    """Training-split frames only, less those the engine holds out when the validation split has no labels."""
    from tests.conftest import write_frames

    project = make_project()
    train = project.add_video(write_frames(tmp_path / "a", n=20), split="train")
    project.add_video(write_frames(tmp_path / "b", n=12), split="test")  # unlabeled: the run holds out
    project.set_labels(train, [(f, 0, 5.0, 6.0, True, "manual") for f in range(20)])
    folder = str(project.folder)
    tc = {"project": folder, "run_dir": str(tmp_path / "r1"), "holdout": 0.1, "val_split": None}
    from rpan_core.model_card import card_from_train_config

    assert card_from_train_config(model.cfg, tc).labeled_frames == 18  # 2 of 20 held out to choose best.pt
    assert card_from_train_config(model.cfg, dict(tc, holdout=0.0)).labeled_frames == 20
    # labels in the test split: the run validates there, holds nothing out, and does not learn from them
    test = [v.id for v in project.videos() if v.split == "test"][0]
    project.set_labels(test, [(f, 0, 5.0, 6.0, True, "manual") for f in range(4)])
    card = card_from_train_config(model.cfg, tc)
    assert card.labeled_frames == 20 and card.videos == 1
    # the few-keyframe recipe: its splits, no hold-out
    kc = {"project": folder, "run_dir": str(tmp_path / "r2"), "recipe": "keyframes", "splits": ["train"]}
    card = card_from_train_config(model.cfg, kc)
    assert card.labeled_frames == 20 and card.preset == "labeling"
