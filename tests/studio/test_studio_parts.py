"""The studio's building blocks against independent references: maps, bands, dynamics, review, loader, figures."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PyQt6.QtGui import QImage

from rpan_studio.app import make_app
from rpan_studio.views.dynamics import dynamics_image
from rpan_studio.export import caption_for, confusion_from_result, save_confusion_png
from rpan_studio.views.frame_display import low_confidence_frames
from rpan_studio.views.overlays import (OverlayOptions, attention_map, colorize_heat, confidence_rgb, draw_overlays,
                                        upsample_map)
from rpan_studio.views.review import pose_jumps, review_queue
from rpan_studio.views.timeline import STATE_COLORS, state_band
from rpan_studio.workers import FrameLoader, TaskWorker


def test_attention_map_modes_match_numpy():
    rng = np.random.default_rng(1)
    a = rng.random((13, 4, 6)).astype(np.float32)
    np.testing.assert_array_equal(attention_map(a, "joint", joint=4), a[4])
    np.testing.assert_allclose(attention_map(a, "part", part_joints=[3, 4]), (a[3] + a[4]) / 2, rtol=1e-6)
    np.testing.assert_allclose(attention_map(a, "mean"), a.sum(0) / 13, rtol=1e-5)
    np.testing.assert_array_equal(attention_map(a, "max"), np.maximum.reduce(list(a)))
    with pytest.raises(ValueError):
        attention_map(a, "joint", joint=13)
    with pytest.raises(ValueError):
        attention_map(a, "median")


@pytest.mark.parametrize("r,c", [(0, 0), (2, 3), (3, 5)])
def test_upsampled_peak_lands_on_its_cell(r, c):
    grid = np.zeros((4, 6), np.float32)
    grid[r, c] = 1.0
    up = upsample_map(grid, (64, 96))  # 16 x 16 px cells
    y, x = np.unravel_index(np.argmax(up), up.shape)
    assert r * 16 <= y < (r + 1) * 16 and c * 16 <= x < (c + 1) * 16
    assert up.min() >= 0.0


def test_colorize_alpha_follows_value():
    v = np.array([[0.0, 0.5, 1.0]], np.float32)
    rgba = colorize_heat(v, opacity=1.0)
    assert rgba[0, 0, 3] == 0 and rgba[0, 2, 3] == 255 and 0 < rgba[0, 1, 3] < 255


def test_confidence_colours_red_to_green():
    c = confidence_rgb(np.array([0.0, 0.5, 1.0]))
    assert tuple(c[0][:2]) == (255, 0) and tuple(c[1][:2]) == (255, 255) and tuple(c[2][:2]) == (0, 255)


def test_draw_overlays_burns_joint_and_heat():
    frame = np.zeros((32, 48, 3), np.uint8)
    att = np.zeros((2, 2, 3), np.float32)
    att[:, 1, 2] = 1.0  # bottom-right cell: x 32..48, y 16..32
    xy = np.array([[5.0, 5.0], [20.0, 10.0]])
    out = draw_overlays(frame, attention=att, xy=xy, conf=np.array([1.0, 0.0]), edges=[(0, 1)],
                        opts=OverlayOptions(caption=False))
    assert out[5, 5, 1] > 200 and out[5, 5, 0] < 50  # confident joint: green
    assert out[10, 20, 0] > 200 and out[10, 20, 1] < 50  # unsure joint: red
    assert out[24, 40].sum() > 100 and out[2, 40].sum() == 0  # heat on the bottom-right cell only


def test_state_band_bins_keep_the_highest_state():
    s = np.zeros(10_000, np.uint8)
    s[5000] = 4
    s[9999] = 2
    band = state_band(s, max_columns=100)
    assert band.shape == (1, 100, 3)
    codes = [int(np.flatnonzero((STATE_COLORS == px).all(1))[0]) for px in band[0]]
    assert codes[50] == 4 and codes[99] == 2 and sum(codes) == 6
    small = state_band(np.array([0, 1, 2, 3, 4]))
    np.testing.assert_array_equal(small[0], STATE_COLORS)


def test_dynamics_picks_most_active_units_sorted_by_last_frame():
    t, h = 50, 20
    hidden = np.zeros((t, h), np.float32)
    hidden[:, 3] = 1.0   # active, ends +1
    hidden[:, 8] = -2.0  # most active, ends -2
    hidden[:, 5] = 0.5   # ends +0.5
    hidden[:, 11] = 0.01  # nearly silent
    img, dims, lim = dynamics_image(hidden, n_dims=3)
    assert list(dims) == [3, 5, 8]
    np.testing.assert_array_equal(img, hidden[:, [3, 5, 8]].T)
    assert lim == 2.0
    img2, dims2, _ = dynamics_image(np.repeat(hidden, 100, axis=0), n_dims=3, max_cols=64)
    assert img2.shape == (3, 64) and list(dims2) == [3, 5, 8]


def test_review_queue_orders_and_skips():
    t, j = 30, 2
    conf = np.full((t, j), 0.9)
    conf[7] = 0.1
    conf[20] = 0.2
    xy = np.zeros((t, j, 2))
    xy[15:, :, 0] += 10.0  # one jump of 10 px (in x) at frame 15
    np.testing.assert_allclose(pose_jumps(xy)[[0, 14, 15, 16]], [0, 0, 10, 0])
    items = review_queue(conf, xy, n=3)
    assert [(i.frame, i.reason) for i in items] == [(7, "low confidence"), (15, "pose jump"), (20, "low confidence")]
    items = review_queue(conf, xy, n=2, skip=[7])
    assert [i.frame for i in items] == [20, 15]
    items = review_queue(conf, xy, n=3, min_gap=6)
    assert all(abs(a.frame - b.frame) > 6 for a in items for b in items if a is not b)


def test_low_confidence_frames_rank_and_median():
    c = np.full(40, 0.8)
    c[[5, 13]] = 0.1
    np.testing.assert_array_equal(low_confidence_frames(c), [5, 13])
    np.testing.assert_array_equal(low_confidence_frames(np.full(10, 0.5)), [])
    np.testing.assert_array_equal(low_confidence_frames(np.arange(20.0)), [0, 1])


class SlowVideo:
    """A Video stand-in that takes 20 ms per decode and records what was decoded."""

    frame_count = 1000

    def __init__(self):
        self.decoded = []
        self.prefetched = []

    def frame(self, i):
        time.sleep(0.02)
        self.decoded.append(i)
        return np.full((4, 4, 3), i % 256, np.uint8)

    def prefetch(self, i):
        self.prefetched.append(i)


def test_frame_loader_latest_request_wins(qtbot):
    make_app()
    loader = FrameLoader()
    video = SlowVideo()
    loader.set_video(video)
    shown = []
    loader.frameReady.connect(lambda i, img: shown.append((i, int(img[0, 0, 0]))))
    for i in range(200):
        loader.request(i)
    assert loader.wait_idle(5)
    qtbot.waitUntil(lambda: bool(shown) and shown[-1][0] == 199, timeout=3000)
    assert len(video.decoded) <= 3  # the first, maybe one in between, and the newest: never a queue
    assert video.decoded == sorted(video.decoded) and video.decoded[-1] == 199
    assert all(i % 256 == v for i, v in shown)
    assert video.prefetched[-1] == 199
    # switching videos drops results of the old one
    loader.request(5)
    loader.set_video(SlowVideo())
    assert loader.wait_idle(5)
    qtbot.wait(50)
    assert all(i != 5 for i, _ in shown)
    loader.stop()


def test_task_worker_reports_progress_result_and_errors(qtbot):
    make_app()
    from rpan_core.errors import VideoError

    def work(n, progress=None):
        for i in range(n):
            progress(i + 1, n)
        return n * 2

    w = TaskWorker(work, 5)
    seen = []
    w.progress.connect(lambda d, t: seen.append((d, t)))
    with qtbot.waitSignal(w.done, timeout=5000) as sig:
        w.start()
    assert sig.args == [10] and seen[-1] == (5, 5)

    def bad():
        raise VideoError("clip.mp4: frame 3 unreadable; re-encode it")

    w2 = TaskWorker(bad)
    with qtbot.waitSignal(w2.failed, timeout=5000) as sig:
        w2.start()
    assert sig.args == ["clip.mp4: frame 3 unreadable; re-encode it"]
    w.wait()
    w2.wait()


def test_confusion_png_and_caption(tmp_path, qapp):
    m, classes = confusion_from_result({"confusion": [[3, 1], [0, 4]], "classes": ["a", "b"]})
    out = save_confusion_png(m, classes, tmp_path / "cm.png")
    img = QImage(str(out))
    assert not img.isNull() and img.width() > 2 * 44
    assert caption_for(np.array([0.1, 0.7, 0.2]), ["x", "jump", "y"]) == "jump 70%"


def test_a_png_export_on_a_full_disk_says_so_and_keeps_the_old_file(tmp_path, monkeypatch, qapp):
    """The PNG is encoded in memory and written atomically: a full disk leaves the previous
    figure as it was and no temp file, and the message names the cause."""
    import errno

    import rpan_core.atomic as atomic

    from rpan_core.errors import RPANError

    m = np.array([[3, 1], [0, 4]])
    out = save_confusion_png(m, ["a", "b"], tmp_path / "cm.png")
    before = out.read_bytes()
    assert before.startswith(b"\x89PNG")

    real_open = open

    def full_disk_open(path, *a, **k):
        if atomic.TMP_TAG in str(path):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", full_disk_open)
    with pytest.raises(RPANError, match="disk is full"):
        save_confusion_png(np.array([[1, 0], [0, 1]]), ["a", "b"], out)
    monkeypatch.undo()
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["cm.png"]
