"""The optical-flow overlay layer of the video view (issue 6: the temporal stream made visible).

Why a layer of its own: flow is computed once per video into the project's flow
cache (``rpan_core.flow.compute_flow``, seconds to minutes on a CPU), so the main
window computes it in a TaskWorker and hands the finished ``FlowVolume`` here;
this layer only reads one cached field per shown frame (frame i shows the flow
from i to i+1, the last frame its predecessor's) and paints it with the colour
wheel of :func:`rpan_studio.views.overlays.flow_rgba` between the frame (z 0) and the
attention heat map (z 10). ``flow_wheel_pixmap`` is the legend shown beside the
checkbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PyQt6.QtGui import QImage, QPixmap

from rpan_studio.views.overlays import flow_rgba, flow_wheel

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.flow import FlowVolume
    from rpan_studio.views.video_view import VideoView

__all__ = ["FlowLayer", "flow_wheel_pixmap"]


class FlowLayer:
    """Colour-wheel optical flow drawn over a :class:`~rpan_studio.views.video_view.VideoView`'s frame."""

    Z = 5

    def __init__(self, view: VideoView) -> None:
        self.view = view
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setZValue(self.Z)
        view.view_box.addItem(self.item, ignoreBounds=True)
        self.item.hide()
        self.volume: FlowVolume | None = None
        self.video_id: int | None = None  # whose flow ``volume`` is
        self.enabled = False
        self.opacity = 0.85
        self.shown_pair: int | None = None  # tests: which flow pair is on screen

    def set_volume(self, volume: FlowVolume | None, video_id: int | None = None) -> None:
        self.volume = volume
        self.video_id = video_id
        if volume is None:
            self.hide()

    def hide(self) -> None:
        self.item.hide()
        self.shown_pair = None

    def show(self, index: int) -> None:
        """Paint the flow of frame ``index`` (or hide the layer when it is off or not computed yet)."""
        vol = self.volume
        size = self.view.frame_size
        if not self.enabled or vol is None or size is None or vol.num_pairs < 1:
            self.hide()
            return
        pair = int(np.clip(index, 0, vol.num_pairs - 1))
        rgba = flow_rgba(vol.flow(pair), size, opacity=self.opacity)
        self.item.setImage(rgba, autoLevels=False, levels=(0, 255))
        h, w = size
        self.item.setRect(-0.5, -0.5, w, h)  # over the frame's pixels, like the frame
        self.item.show()
        self.shown_pair = pair
        vol.prefetch_around(pair)  # the neighbouring chunks decompress off the UI thread


def flow_wheel_pixmap(size: int = 56) -> QPixmap:
    """The colour wheel as a pixmap (legend: the colour of motion toward each direction)."""
    rgba = np.ascontiguousarray(flow_wheel(size))
    img = QImage(rgba.data, size, size, 4 * size, QImage.Format.Format_RGBA8888)
    return QPixmap.fromImage(img.copy())
