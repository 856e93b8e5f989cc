"""The studio's seek path with the display proxy (pytest-qt, offscreen, a real project with an mp4):
the proxy is built in the background while the studio stays usable, seeks show the proxy's frame,
zooming in brings the exact frame, and before any proxy the nearest decoded frame is shown, marked."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PyQt6.QtCore import QSettings

from rpan_studio.app import make_app
from rpan_studio.main_window import MainWindow
from rpan_studio.views.frame_display import FrameDisplay
from tests.core.test_video import H, W, decode, encode

N = 80


@pytest.fixture
def mp4_project(make_project, tmp_path):
    p = tmp_path / "clip.mp4"
    w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"mp4v"), 30, (2 * W, 2 * H))
    for i in range(N):
        w.write(cv2.resize(encode(i), (2 * W, 2 * H), interpolation=cv2.INTER_NEAREST))
    w.release()
    project = make_project()
    return project, project.add_video(str(p))


def _window(qtbot, tmp_path, project):
    make_app()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(project, settings=settings)
    w.quiet = True
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    qtbot.waitUntil(lambda: w.view.frame_index == 0, timeout=20000)
    return w


def _on_screen(w) -> int:
    img = w.view.image_item.image
    return decode(img if img.shape[0] == H else cv2.resize(img, (W, H), interpolation=cv2.INTER_AREA))


def test_proxy_built_in_background_then_seeks_use_it(qtbot, tmp_path, mp4_project, monkeypatch):
    monkeypatch.setattr(FrameDisplay, "proxy_long_side", W)  # a proxy at half the video's size
    project, _ = mp4_project
    w = _window(qtbot, tmp_path, project)
    messages = []
    w.display.proxyStatus.connect(messages.append)
    w.seek(33)  # usable while the proxy builds
    qtbot.waitUntil(lambda: w.view.frame_index == 33, timeout=20000)
    assert _on_screen(w) == 33
    video = w.state.video
    qtbot.waitUntil(lambda: video.proxy is not None, timeout=60000)
    assert (project.folder / "proxies").is_dir() and video.proxy.scale == 0.5
    qtbot.waitUntil(lambda: any("proxy ready" in m for m in messages), timeout=5000)
    # zoomed out (the small test video would otherwise be magnified past the proxy's resolution)
    w.view.view_box.setRange(xRange=(0, 20 * W), yRange=(0, 20 * H), padding=0)
    qtbot.waitUntil(lambda: not w.display.loader.exact_wanted, timeout=5000)
    w.seek(57)
    qtbot.waitUntil(lambda: w.view.frame_index == 57, timeout=5000)
    assert w.view.image_item.image.shape[:2] == (H, W) and _on_screen(w) == 57  # the proxy's frame
    r = w.view.image_item.mapRectToParent(w.view.image_item.boundingRect())
    assert (r.width(), r.height()) == (2 * W, 2 * H)  # drawn over the video's own coordinates
    w.view.view_box.setRange(xRange=(0, 2 * W / 8), yRange=(0, 2 * H / 8), padding=0)  # zoom in to label
    qtbot.waitUntil(lambda: w.view.image_item.image.shape[:2] == (2 * H, 2 * W), timeout=5000)
    assert w.display.loader.exact_wanted and w.view.frame_index == 57 and _on_screen(w) == 57


def test_nearest_decoded_frame_marked_until_the_exact_one(qtbot, tmp_path, mp4_project, monkeypatch):
    monkeypatch.setattr(FrameDisplay, "build_proxies", False)
    project, _ = mp4_project
    w = _window(qtbot, tmp_path, project)
    assert w.state.video.proxy_builder is None
    nearest, captions = [], []
    w.display.loader.frameNearest.connect(lambda i, src, img: nearest.append((i, src, decode(
        cv2.resize(img, (W, H), interpolation=cv2.INTER_AREA)))))
    orig = w.view.set_caption
    monkeypatch.setattr(w.view, "set_caption", lambda t: (captions.append(t), orig(t)))
    w.display.loader.read_ahead = False
    w.state.video.cache.clear()
    w.state.video.frame(20)  # the only frame decoded so far
    w.seek(26)
    qtbot.waitUntil(lambda: w.view.frame_index == 26, timeout=10000)
    assert nearest == [(26, 20, 20)]
    assert any("nearest decoded frame, 20" in c for c in captions)
    assert _on_screen(w) == 26
