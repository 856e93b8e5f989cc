"""The demo project: built once, deterministic, checkpoint registered; `rpan demo` end to end."""

from __future__ import annotations

import json
import os

import pytest
import torch


@pytest.fixture()
def demo_env(tmp_path, monkeypatch):
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.model import RPAN, RPANConfig
    from rpan_core.synth import ACTIONS

    torch.manual_seed(0)
    ck = tmp_path / "demo_checkpoint.pt"
    save_checkpoint(ck, RPAN(RPANConfig(num_classes=len(ACTIONS), input_size=(64, 96), hidden=16)),
                    classes=list(ACTIONS), train_config={"clip_len": 8}, metrics={})
    monkeypatch.setenv("RPAN_DEMO_CHECKPOINT", str(ck))
    real = tmp_path / "real_demo_checkpoint.pt"
    save_checkpoint(real, RPAN(RPANConfig(num_classes=1, input_size=(64, 96), hidden=16)), classes=["unlabeled"])
    monkeypatch.setenv("RPAN_DEMO_REAL_CHECKPOINT", str(real))
    monkeypatch.setenv("RPAN_DEMO_DIR", str(tmp_path / "demo"))
    return tmp_path


def test_demo_project_is_built_once_and_registers_the_checkpoint(demo_env):
    from rpan_core.demo import DEMO_VIDEOS, ensure_demo_project
    from rpan_core.project import Project

    p = ensure_demo_project()
    assert p == demo_env / "demo" and p.checkpoint.exists()
    assert p.checkpoint.read_bytes() == (demo_env / "demo_checkpoint.pt").read_bytes()
    project = Project.open(p)
    vids = project.videos()
    synthetic = [v for v in vids if v.action]
    assert len(synthetic) == DEMO_VIDEOS
    real = [v for v in vids if not v.action]  # the shipped real clip, unlabeled, a real person to label
    assert len(real) == 1 and real[0].path.endswith("pose2sim_cam01.mp4") and real[0].height > real[0].width
    from rpan_core.model_card import video_origin
    assert video_origin(real[0].path) == "real" and video_origin(synthetic[0].path) == "synthetic"
    from rpan_core.demo import demo_video_checkpoint  # the real clip is shown with the real-video model
    ck_real = demo_video_checkpoint(p, real[0].path)
    assert ck_real == p / "checkpoints" / "real.pt"
    assert ck_real.read_bytes() == (demo_env / "real_demo_checkpoint.pt").read_bytes()
    assert demo_video_checkpoint(p, synthetic[0].path) == p.checkpoint
    assert demo_video_checkpoint(demo_env, synthetic[0].path) is None  # not the demo project
    assert any(v.split == "test" for v in vids) and len(project.labeled_frames(vids[0].id) if hasattr(
        project, "labeled_frames") else project.video_labels(vids[0].id).frames) > 0
    stamp = os.stat(p / "demo.json").st_mtime_ns
    again = ensure_demo_project()
    assert again == p and os.stat(p / "demo.json").st_mtime_ns == stamp  # not rebuilt
    # a newer shipped demo model replaces the project's copy (not the project)
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.model import RPAN, RPANConfig
    from rpan_core.synth import ACTIONS

    torch.manual_seed(1)
    save_checkpoint(demo_env / "demo_checkpoint.pt", RPAN(RPANConfig(num_classes=len(ACTIONS), input_size=(64, 96),
                                                                     hidden=16)), classes=list(ACTIONS))
    updated = ensure_demo_project()
    assert updated.checkpoint.read_bytes() == (demo_env / "demo_checkpoint.pt").read_bytes()
    assert os.stat(p / "demo.json").st_mtime_ns == stamp
    # an interrupted build (no marker) is rebuilt
    (p / "demo.json").unlink()
    assert ensure_demo_project().checkpoint.exists() and json.loads((p / "demo.json").read_text())["videos"] == 12


def test_missing_demo_checkpoint_is_a_clear_error(demo_env, monkeypatch):
    from rpan_core.demo import ensure_demo_project
    from rpan_core.errors import CheckpointError

    monkeypatch.setenv("RPAN_DEMO_CHECKPOINT", str(demo_env / "nope.pt"))
    with pytest.raises(CheckpointError, match="make_demo_assets"):
        ensure_demo_project()


def test_rpan_demo_runs_headless(demo_env, capsys):
    from rpan_core.cli import main

    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "analyzed" in out and "accuracy" in out and "PCK@0.2" in out


def test_shipped_demo_checkpoint_loads():
    from rpan_core.checkpoint import load_checkpoint
    from rpan_core.demo import REPO_ROOT
    from rpan_core.synth import ACTIONS

    path = REPO_ROOT / "assets" / "demo_checkpoint.pt"
    if not path.exists():
        pytest.skip("assets/demo_checkpoint.pt not generated yet (python scripts/make_demo_assets.py)")
    model, info = load_checkpoint(path)
    assert list(info.classes) == list(ACTIONS) and path.stat().st_size < 20e6


def test_shipped_real_demo_checkpoint_is_the_labeling_model_of_the_real_clip():
    """The real clip's checkpoint ships in assets/ (read, never retrained here: CI has no realclips)."""
    from rpan_core.checkpoint import read_checkpoint
    from rpan_core.demo import REAL_CLIP, REPO_ROOT

    path = REPO_ROOT / "assets" / "real_demo_checkpoint.pt"
    if not path.exists():
        pytest.skip("assets/real_demo_checkpoint.pt not built (python scripts/make_real_demo_assets.py ...)")
    _state, info = read_checkpoint(path)
    card = info.card
    assert card.preset == "labeling" and card.source == "real" and card.labeled_frames >= 10
    assert REAL_CLIP in card.note and tuple(info.config.input_size) == (256, 192)
    assert not any("/" in str(v) for v in (info.train_config or {}).values())  # no paths of the build machine
    assets = REPO_ROOT / "assets"
    assert path.stat().st_size < 10e6 and sum(p.stat().st_size for p in assets.iterdir()) < 40e6


def test_the_real_clip_ships_with_pose2sims_exact_licence():
    import hashlib

    from rpan_core.demo import REAL_CLIP, REPO_ROOT

    clip, notice = REPO_ROOT / "assets" / REAL_CLIP, REPO_ROOT / "assets" / "pose2sim_LICENSE.txt"
    if not clip.exists():
        pytest.skip("the real clip is not shipped in this checkout")
    text = notice.read_text()
    assert "BSD 3-Clause License\n\nCopyright (c) 2022, perfanalytics\nAll rights reserved." in text
    assert hashlib.sha256(clip.read_bytes()).hexdigest() in text  # the notice names this very file
