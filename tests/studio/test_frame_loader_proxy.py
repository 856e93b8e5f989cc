"""The studio's seek path with the display proxy: proxy frame at once, the exact one when wanted or when
only the nearest decoded frame could be shown (marked), and the view keeps video coordinates."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rpan_core.proxy import build_proxy
from rpan_core.video import open_video
from rpan_studio.app import make_app
from rpan_studio.views.video_view import VideoView
from rpan_studio.workers import FrameLoader
from tests.core.test_video import H, W, decode, encode

N = 90


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    p = tmp_path_factory.mktemp("loader") / "clip.mp4"
    w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"mp4v"), 30, (2 * W, 2 * H))
    for i in range(N):
        w.write(cv2.resize(encode(i), (2 * W, 2 * H), interpolation=cv2.INTER_NEAREST))
    w.release()
    return p


def _half(img):
    return cv2.resize(img, (W, H), interpolation=cv2.INTER_AREA) if img.shape[0] != H else img


def _collect(loader):
    got = []
    loader.frameReady.connect(lambda i, img: got.append(("ready", i, None, img)))
    loader.frameNearest.connect(lambda i, src, img: got.append(("nearest", i, src, img)))
    return got


def test_proxy_frame_at_once_exact_only_when_wanted(qtbot, clip, tmp_path):
    make_app()
    with open_video(clip, cache_mb=0.5) as v:
        assert v.attach_proxy(build_proxy(clip, tmp_path, long_side=W))  # proxy at half size
        loader = FrameLoader()
        loader.set_video(v)
        got = _collect(loader)
        loader.request(57)
        qtbot.waitUntil(lambda: len(got) == 1, timeout=5000)
        assert loader.wait_idle(5)
        kind, i, _, img = got[0]
        assert (kind, i) == ("ready", 57) and img.shape == (H, W, 3) and decode(img) == 57
        assert 57 not in v.cache  # no full-resolution decode, no read-ahead of full frames
        loader.exact_wanted = True  # zoomed in to label: the exact frame follows the proxy's
        loader.request(12)
        qtbot.waitUntil(lambda: len(got) == 3, timeout=5000)
        assert [(k, i, g.shape[:2]) for k, i, _, g in got[1:]] == [("ready", 12, (H, W)), ("ready", 12, (2 * H, 2 * W))]
        assert decode(_half(got[2][3])) == 12
        loader.stop()


def test_nearest_decoded_frame_marked_then_exact(qtbot, clip):
    make_app()
    with open_video(clip, cache_mb=16) as v:
        v.frame(40)  # decoded earlier (no proxy yet)
        loader = FrameLoader(read_ahead=False)
        loader.set_video(v)
        got = _collect(loader)
        loader.request(44)
        qtbot.waitUntil(lambda: len(got) == 2, timeout=5000)
        (k1, i1, src, img1), (k2, i2, _, img2) = got
        assert (k1, i1, src) == ("nearest", 44, 40) and decode(_half(img1)) == 40
        assert (k2, i2) == ("ready", 44) and decode(_half(img2)) == 44
        loader.stop()


def test_view_keeps_video_coordinates_for_a_smaller_proxy_image(qtbot):
    make_app()
    view = VideoView()
    qtbot.addWidget(view)
    view.set_frame(0, np.zeros((54, 96, 3), np.uint8), (108, 192))
    r = view.image_item.mapRectToParent(view.image_item.boundingRect())
    assert (r.width(), r.height()) == (192, 108) and view.frame_size == (108, 192)
    view.set_frame(1, np.zeros((108, 192, 3), np.uint8), (108, 192))  # the exact frame, same rect
    r = view.image_item.mapRectToParent(view.image_item.boundingRect())
    assert (r.width(), r.height()) == (192, 108)
    view.set_heat(np.random.default_rng(0).random((13, 4, 6)).astype(np.float32))
    assert view.heat_item.image.shape[:2] == (54, 96)  # 16 px per cell on the long side, stretched by the paint
    r = view.heat_item.mapRectToParent(view.heat_item.boundingRect())
    assert (r.width(), r.height()) == (192, 108)


def test_pixel_centres_sit_at_integer_scene_coordinates(qtbot):
    """A label at pixel (x, y) is drawn on that pixel's centre (rpan_core.geometry's one convention): the
    frame, its heat map and a smaller proxy image span [-0.5, W - 0.5] x [-0.5, H - 0.5]."""
    from PyQt6.QtCore import QPointF

    make_app()
    view = VideoView()
    qtbot.addWidget(view)
    view.set_frame(0, np.zeros((108, 192, 3), np.uint8))
    c = view.image_item.mapToParent(QPointF(37.5, 21.5))  # the centre of image pixel (37, 21)
    assert (c.x(), c.y()) == (37.0, 21.0)
    view.set_frame(1, np.zeros((54, 96, 3), np.uint8), (108, 192))  # a half-size proxy of the same frame
    r = view.image_item.mapRectToParent(view.image_item.boundingRect())
    assert (r.left(), r.top(), r.right(), r.bottom()) == (-0.5, -0.5, 191.5, 107.5)
    view.set_heat(np.random.default_rng(0).random((13, 4, 6)).astype(np.float32))
    r = view.heat_item.mapRectToParent(view.heat_item.boundingRect())
    assert (r.left(), r.top()) == (-0.5, -0.5)
