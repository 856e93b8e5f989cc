"""The exported overlay video follows the view's rule: where the banner withholds action captions (the
synthetic demo model on a real video, a shape far from training, too few labels), the export burns in
the banner's reasons instead of an action name."""
from __future__ import annotations

import numpy as np
from PyQt6.QtWidgets import QFileDialog

import rpan_studio.export as export
from rpan_core.demo import demo_checkpoint_path
from rpan_core.model_card import mark_synthetic
from rpan_studio.views.overlays import wrap_caption

from .test_main_window import N
from .test_studio_day import _window
from .coded_clips import CLASSES


def _export_through_the_menu(qtbot, w, path, monkeypatch, seen):
    real_draw = export.draw_overlays

    def spy(frame, **kw):
        seen.append(kw.get("caption"))
        return real_draw(frame, **kw)

    monkeypatch.setattr(export, "draw_overlays", spy)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), "")))
    w.actions_["export_video"].trigger()
    qtbot.waitUntil(lambda: path.exists(), timeout=30000)


def test_export_withholds_action_captions_where_the_banner_does(qtbot, tmp_path, coded_project, monkeypatch):
    project, _vid = coded_project(N)
    w = _window(qtbot, tmp_path, project, checkpoint=demo_checkpoint_path())
    assert w.banner.isVisible()  # the demo model on a (not synthetic) video: the view withholds actions
    seen: list[str] = []
    _export_through_the_menu(qtbot, w, tmp_path / "real.mp4", monkeypatch, seen)
    assert seen and all(c.startswith("NOT AN ESTIMATE: Demo model trained on synthetic figures") for c in seen)
    assert not any(name in c for c in seen for name in CLASSES)
    # the same model on a synthetic clip: no banner, and the export names the action as the view does
    mark_synthetic(tmp_path / "clip")
    w.open_video(w.video_id)
    qtbot.waitUntil(lambda: w.analysis is not None and w.view.frame_index == 0, timeout=5000)
    assert not w.banner.isVisible()
    seen.clear()
    _export_through_the_menu(qtbot, w, tmp_path / "synthetic.mp4", monkeypatch, seen)
    assert seen and all(any(name in c for name in CLASSES) and "ESTIMATE" not in c for c in seen)


def test_a_long_caption_is_wrapped_inside_the_frame():
    import cv2

    text = export.exported_caption(np.array([0.2, 0.8]), ["a", "b"], [
        "Demo model trained on synthetic figures \u2014 its poses on this real video are not estimates"])
    assert text.isascii() and "b 80%" not in text
    lines = wrap_caption(text, 0.5, 200)
    assert len(lines) > 2 and " ".join(lines) == text
    assert all(cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)[0][0] <= 200 for line in lines if " " in line)
