"""rpan train: learning on a tiny synthetic project, run folders, fine-tuning, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.core.engine_support import make_tiny_project, rpan_cli


from rpan_core.errors import TrainingError  # noqa: E402
from rpan_core.runlog import read_events  # noqa: E402
from rpan_core.engine import TrainConfig, run_training  # noqa: E402

SMALL = dict(backbone="small_cnn", backbone_weights=None, backbone_stride=32, input_size=(64, 96), hidden=48, batch=3, lr=0.005,
             clip_len=6, seed=0, preload=True)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny") / "project"
    project, truth = make_tiny_project(folder)
    return folder, project, truth


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    folder, _, _ = tiny
    run = tmp_path_factory.mktemp("runs") / "run1"
    cfg = TrainConfig(project=str(folder), run_dir=str(run), epochs=14, val_split="train", **SMALL)
    return run_training(cfg, progress=False)


def test_training_learns_actions_and_pose(trained):
    ev = read_events(Path(trained) / "events.jsonl")
    types = [e["type"] for e in ev]
    assert types[0] == "start" and types[-1] == "end" and ev[-1]["status"] == "finished"
    steps = [e for e in ev if e["type"] == "step"]
    epochs = [e for e in ev if e["type"] == "epoch"]
    assert ev[0]["total_steps"] == len(steps) == steps[-1]["step"]
    for k in ("step", "epoch", "loss", "action_loss", "pose_loss", "lr", "clips_per_s", "elapsed_s"):
        assert k in steps[0]
    # 3 classes: chance is 1/3; the last epoch on the training videos must be clearly better
    print("accuracy by epoch", [e["val_accuracy"] for e in epochs])
    assert epochs[-1]["val_accuracy"] >= 0.75
    pose = np.array([s["pose_loss"] for s in steps])
    k = len(pose) // 4
    print("pose loss first/last quarter", pose[:k].mean(), pose[-k:].mean())
    assert pose[-k:].mean() < 0.8 * pose[:k].mean()


def test_run_folder_holds_config_and_checkpoints(trained):
    from rpan_core.checkpoint import load_checkpoint

    run = Path(trained)
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["train"]["epochs"] == 14 and cfg["classes"] == ["jumping_jacks", "squat", "pullup"]
    for name in ("last.pt", "best.pt"):
        model, info = load_checkpoint(run / name)
        assert list(info.classes) == cfg["classes"]
        assert info.train_config["stride"] >= 1
    end = read_events(run / "events.jsonl")[-1]
    assert end["best_checkpoint"] == str(run / "best.pt")


def test_finetune_new_classes_with_frozen_cached_backbone(tiny, trained, tmp_path):
    from rpan_core.checkpoint import load_checkpoint
    from rpan_core.project import Project

    folder, _, _ = tiny
    # same videos, a different class list (one class renamed): the classifier restarts, the rest is kept
    ft_folder = tmp_path / "ft"
    project, _ = make_tiny_project(ft_folder, actions=("jumping_jacks", "squat", "pullup"), per_class=2)
    project.set_classes(["jumping_jacks", "squat", "pullup", "bowling"])
    src, _ = load_checkpoint(Path(trained) / "best.pt")
    run = run_training(TrainConfig(project=str(ft_folder), run_dir=str(tmp_path / "ft_run"), preset="finetune",
                                   init=str(Path(trained) / "best.pt"), freeze_backbone=True, epochs=2, batch=2,
                                   lr=0.01), progress=False)
    ev = read_events(Path(run) / "events.jsonl")
    assert ev[-1]["status"] == "finished"
    assert "re-initializing the classifier" in ev[0].get("reinit_classifier", "")
    model, info = load_checkpoint(Path(run) / "last.pt")
    assert len(info.classes) == 4 and model.classifier.weight.shape[0] == 4
    # frozen backbone: bit-identical to the initial checkpoint's
    for (k, a), b in zip(src.backbone.state_dict().items(), model.backbone.state_dict().values()):
        assert torch.equal(a, b), k
    cache = list((Path(Project.open(ft_folder).folder) / "features").rglob("*.npy"))
    assert cache, "feature cubes are cached in the project"


def test_skeleton_mismatch_is_refused(tiny, tmp_path):
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.model import RPAN, RPANConfig

    folder, _, _ = tiny
    jh = RPAN(RPANConfig(skeleton="jhmdb", num_classes=3, input_size=(64, 96), hidden=16))
    ck = tmp_path / "jhmdb.pt"
    save_checkpoint(ck, jh, classes=["a", "b", "c"], train_config={}, metrics={})
    with pytest.raises(TrainingError, match="skeleton"):
        run_training(TrainConfig(project=str(folder), run_dir=str(tmp_path / "r"), init=str(ck), epochs=1),
                     progress=False)
    ev = read_events(tmp_path / "r" / "events.jsonl")
    assert ev[-1]["type"] == "end" and ev[-1]["status"] == "failed" and "skeleton" in ev[-1]["message"]


def test_no_labeled_data_is_a_clear_error(tmp_path):
    import subprocess

    from rpan_core.project import Project

    Project.create(tmp_path / "empty", skeleton="pennaction", classes=["a", "b"])
    r = subprocess.run(rpan_cli("train", "--project", str(tmp_path / "empty"), "--run-dir", str(tmp_path / "run"),
                                "--no-progress"), capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "no labeled training data" in r.stderr
    end = read_events(tmp_path / "run" / "events.jsonl")[-1]
    assert end["status"] == "failed" and "no labeled training data" in end["message"]


def test_backbone_stride_pool_and_partial_freeze_reach_the_model(tiny, tmp_path):
    from rpan_core.checkpoint import load_checkpoint
    from rpan_core.model import RPAN

    folder, _, _ = tiny
    cfg = TrainConfig(project=str(folder), run_dir=str(tmp_path / "r"), epochs=1, val_split="train",
                      **dict(SMALL, backbone_stride=16, pool="max", freeze_stages="stem"))
    run = Path(run_training(cfg, progress=False))
    model, info = load_checkpoint(run / "last.pt")
    assert (info.config.backbone_stride, info.config.pool, info.config.freeze_backbone) == (16, "max", "stem")
    assert model.grid == (4, 6)
    # the frozen stem kept its initial weights (same seed, same init); a later stage moved
    torch.manual_seed(cfg.seed)
    fresh = RPAN(info.config).state_dict()
    trained_sd = model.state_dict()
    assert torch.equal(trained_sd["backbone.features.0.weight"], fresh["backbone.features.0.weight"])
    assert not torch.equal(trained_sd["backbone.features.12.weight"], fresh["backbone.features.12.weight"])
