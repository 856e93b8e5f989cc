"""The demo's real clip is shown with the shipped real-video (labeling) checkpoint: no banner, and the
caption of a pose-only model; the synthetic clips keep the synthetic demo model. Nothing is trained or
analyzed here (the checkpoint ships in assets/; analysis is off), so the test stays fast."""
from __future__ import annotations

import pytest
from PyQt6.QtCore import QSettings

from rpan_core.demo import REAL_CLIP, real_checkpoint_path, real_clip_path
from rpan_studio.app import make_app
from rpan_studio.main_window import MainWindow


@pytest.mark.skipif(not (real_checkpoint_path().is_file() and real_clip_path().is_file()),
                    reason="the real clip or its checkpoint is not shipped in this checkout")
def test_the_demo_shows_its_real_clip_with_the_real_video_model(qtbot, tmp_path, monkeypatch):
    import rpan_core.demo as demo

    monkeypatch.setenv("RPAN_DEMO_DIR", str(tmp_path / "demo"))
    monkeypatch.setattr(demo, "DEMO_VIDEOS", 2)  # a small demo: the real clip's model is under test
    monkeypatch.setattr(demo, "DEMO_FRAMES", 16)
    make_app()
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), auto_analyze=False)
    w.quiet = True
    qtbot.addWidget(w)
    w.first_video = REAL_CLIP  # what `rpan-studio --video pose2sim_cam01.mp4` does
    w.open_demo()
    qtbot.waitUntil(lambda: w.video_id is not None and w.view.frame_index == 0, timeout=120000)
    assert w.project.video(w.video_id).path.endswith(REAL_CLIP)
    assert w.checkpoint.endswith("real.pt") and w.state.checkpoint_origin == "demo"
    assert w.model_warnings() == [] and not w.banner.isVisible()
    w.show_model_card()
    text = w.model_card_dialog.text()
    assert "Trained on: real video" in text and "Preset: labeling" in text and REAL_CLIP in text
    w.model_card_dialog.close()
    synthetic = next(v.id for v in w.project.videos() if v.action)
    w.open_video(synthetic)  # a synthetic clip: back to the synthetic demo model
    assert w.checkpoint.endswith("demo.pt") and not w.banner.isVisible()
    w.close()
