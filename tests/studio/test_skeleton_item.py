"""The model's pose item: joint and edge colours follow the confidence on every frame (its pens and brushes are
reused between frames, so a reused style must never show a previous frame's colour or dash)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt

from rpan_studio.app import make_app
from rpan_studio.views.overlays import confidence_rgb
from rpan_studio.views.video_view import SkeletonItem

EDGES = [(0, 1), (1, 2)]


def _brush_rgb(item: SkeletonItem, j: int) -> np.ndarray:
    b = item.points.data["brush"][j]
    c = b.color()
    return np.array([c.red(), c.green(), c.blue(), c.alpha()])


def test_colours_and_dashes_follow_each_frames_confidence(qtbot):
    make_app()
    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    sk = SkeletonItem(widget.addViewBox())
    sk.set_edges(EDGES)
    xy = np.array([[10.0, 10.0], [20.0, 30.0], [30.0, 50.0]])
    for conf, occ in (([0.95, 0.9, 0.1], [False, False, True]), ([0.1, 0.5, 0.99], [True, False, False]),
                      ([0.95, 0.9, 0.1], [False, False, False])):
        conf, occ = np.array(conf), np.array(occ)
        sk.set_pose(xy, conf, occ)
        want = confidence_rgb(conf).astype(int)
        for j in range(3):
            got = _brush_rgb(sk, j)
            if occ[j]:
                assert got[3] == 0  # hollow: a guess
            else:
                assert got[3] == 255 and np.abs(got[:3] - want[j][:3]).max() <= 4
        for ln, (a, b) in zip(sk.lines, EDGES):
            pen = ln.pen()
            c = np.minimum(want[a], want[b])[:3]
            assert np.abs(np.array([pen.color().red(), pen.color().green(), pen.color().blue()]) - c).max() <= 4
            dashed = pen.style() == Qt.PenStyle.DashLine
            assert dashed == bool(occ[a] or occ[b])
            assert ln.line().x1() == xy[a, 0] and ln.line().y2() == xy[b, 1]
    sk.set_pose(None, None)
    assert not any(ln.isVisible() for ln in sk.lines)
