"""Checkpoints: round trip, atomic writes, and a clear CheckpointError for every kind of wrong file."""
from __future__ import annotations

import pytest
import torch

from rpan_core.checkpoint import expect_skeleton, load_checkpoint, read_checkpoint, save_checkpoint
from rpan_core.errors import CheckpointError
from rpan_core.model import RPAN, preset

CLASSES = ["a", "b", "c"]


@pytest.fixture
def model():
    torch.manual_seed(0)
    return RPAN(preset("demo", num_classes=3, hidden=16, attention_dim=4, input_size=(64, 80))).eval()


def test_round_trip_gives_the_same_outputs(tmp_path, model):
    p = save_checkpoint(tmp_path / "m.pt", model, classes=CLASSES, train_config={"lr": 0.1, "p": tmp_path},
                        metrics={"acc": torch.tensor(0.5)})
    loaded, info = load_checkpoint(p)
    x = torch.randn(1, 2, 3, 64, 80)
    with torch.no_grad():
        assert torch.allclose(model(x).logits, loaded(x).logits)
    assert info.classes == CLASSES and info.skeleton.name == "pennaction"
    assert info.metrics["acc"] == 0.5 and info.train_config["p"] == str(tmp_path)
    assert not list(tmp_path.glob("*.tmp*"))


def test_a_failed_write_keeps_the_previous_file(tmp_path, model, monkeypatch):
    p = save_checkpoint(tmp_path / "m.pt", model, classes=CLASSES)
    before = p.read_bytes()

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointError, match="No space left"):
        save_checkpoint(p, model, classes=CLASSES)
    assert p.read_bytes() == before and not list(tmp_path.glob("*.tmp*"))


def test_missing_truncated_and_foreign_files(tmp_path, model):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    p = save_checkpoint(tmp_path / "m.pt", model, classes=CLASSES)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(p.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="cut.pt.*truncated"):
        load_checkpoint(cut)
    txt = tmp_path / "notes.pt"
    txt.write_text("hello")
    with pytest.raises(CheckpointError, match="notes.pt"):
        load_checkpoint(txt)
    bare = tmp_path / "bare.pt"
    torch.save(model.state_dict(), bare)
    with pytest.raises(CheckpointError, match="--backbone-weights"):
        load_checkpoint(bare)


def test_tampered_contents_are_named(tmp_path, model):
    p = save_checkpoint(tmp_path / "m.pt", model, classes=CLASSES)
    d = torch.load(p, weights_only=True)
    d["state"]["classifier.weight"] = torch.zeros(7, 16)
    torch.save(d, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match="wrong shape.*classifier.weight"):
        load_checkpoint(tmp_path / "shape.pt")
    d = torch.load(p, weights_only=True)
    d["version"] = 99
    torch.save(d, tmp_path / "new.pt")
    with pytest.raises(CheckpointError, match="update RPAN Studio"):
        load_checkpoint(tmp_path / "new.pt")
    d = torch.load(p, weights_only=True)
    d["joints"] = list(reversed(d["joints"]))
    torch.save(d, tmp_path / "joints.pt")
    with pytest.raises(CheckpointError, match="joints"):
        read_checkpoint(tmp_path / "joints.pt")


def test_a_checkpoint_for_another_skeleton_is_refused(tmp_path, model):
    _, info = read_checkpoint(save_checkpoint(tmp_path / "m.pt", model, classes=CLASSES))
    expect_skeleton(info, "pennaction")
    with pytest.raises(CheckpointError, match="'pennaction' skeleton \\(13 joints\\).*'jhmdb' \\(15 joints\\)"):
        expect_skeleton(info, "jhmdb")


def test_the_shipped_demo_checkpoint_loads():
    from rpan_core.demo import demo_checkpoint_path

    model, info = load_checkpoint(demo_checkpoint_path())
    assert info.skeleton.name == "pennaction" and len(info.classes) == model.cfg.num_classes
