"""The video view: the frame in a zoomable ViewBox with toggleable overlay layers.

Why pyqtgraph: its ImageItem uploads a NumPy frame without copies through QImage
and its ViewBox gives zoom/pan with locked aspect for free; the pose editor adds
its own items to the same ViewBox (``view_box``), so labels, heat map and frame
share one coordinate system: frame pixels, x right, y down (the ViewBox is
y-inverted). The frame image fills the rect ``(0, 0, W, H)``, so pixel i's left
edge is at i, the convention of the contract's pixel coordinates (cv2 / COCO);
joint coordinates pass through unchanged.

Layers (z order): frame 0, heat map 10, estimated skeleton 20, editor's annotated
pose (its own items, z 25+), caption fixed above the image.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QLineF, Qt
from PyQt6.QtGui import QColor, QPen
from PyQt6.QtWidgets import QGraphicsLineItem

from rpan_studio.views.overlays import OverlayOptions, confidence_rgb, heat_rgba, heat_rgba_persons

__all__ = ["VideoView", "SkeletonItem"]

#: Heat-map pixels per attention cell on the grid's long side (smooth enough once stretched).
HEAT_PX_PER_CELL = 16


class SkeletonItem:
    """The model's pose: edges and joints coloured by confidence (red unsure -> green sure).

    Joints the model puts on its dummy cell (occluded or out of the frame) are drawn
    hollow with dashed edges: their position is a guess the person should not trust.
    """

    def __init__(self, view_box: pg.ViewBox, z: float = 20) -> None:
        self.view_box = view_box
        self.edges: Sequence[tuple[int, int]] = ()
        self.lines: list[QGraphicsLineItem] = []
        self.points = pg.ScatterPlotItem(size=9, pxMode=True, pen=pg.mkPen((0, 0, 0), width=1))
        self.points.setZValue(z + 1)
        self.z = z
        view_box.addItem(self.points, ignoreBounds=True)
        self.visible = True
        self.xy: np.ndarray | None = None
        self.occluded: np.ndarray = np.zeros(0, bool)
        # Pens and brushes by (colour, occluded): a pose is drawn on every frame of a scrub, and making
        # 13 brushes, 13 pens and 12 line pens anew each time cost about 1 ms of the repaint
        self._styles: dict[tuple, tuple[Any, Any, QPen]] = {}
        self._line_pens: list[QPen | None] = []  # the pen each edge has now

    def set_edges(self, edges: Sequence[tuple[int, int]]) -> None:
        for ln in self.lines:
            self.view_box.removeItem(ln)
        self.edges = list(edges)
        self.lines = []
        for _ in self.edges:
            ln = QGraphicsLineItem()
            ln.setZValue(self.z)
            self.view_box.addItem(ln, ignoreBounds=True)
            self.lines.append(ln)
        self._line_pens = [None] * len(self.lines)

    def _style(self, rgb: Any, occluded: bool) -> tuple[Any, Any, QPen]:
        """(point brush, point pen, edge pen) of a confidence colour; made once per colour.

        The colour is snapped to steps of 8 levels (at most 4 off: not visible on a joint dot), so a
        scrub through ever-changing confidences reuses a few dozen styles instead of making new ones."""
        key = tuple(min(255, (int(v) + 4) // 8 * 8) for v in rgb[:3]) + (bool(occluded),)
        st = self._styles.get(key)
        if st is None:
            c = tuple(int(v) for v in key[:3])
            line = QPen(QColor(*c))
            line.setWidthF(2.5)
            line.setCosmetic(True)
            if occluded:
                line.setStyle(Qt.PenStyle.DashLine)
            st = ((pg.mkBrush(0, 0, 0, 0), pg.mkPen(*c, width=2), line) if occluded
                  else (pg.mkBrush(*c), pg.mkPen((0, 0, 0), width=1), line))
            self._styles[key] = st
        return st

    def set_pose(self, xy: np.ndarray | None, conf: np.ndarray | None,
                 occluded: np.ndarray | None = None) -> None:
        self.xy = None if xy is None else np.asarray(xy, dtype=np.float64)
        if self.xy is None:
            self.points.setData([])
            for ln in self.lines:
                ln.hide()
            return
        cols = confidence_rgb(conf if conf is not None else np.ones(len(self.xy)))
        self.occluded = (np.zeros(len(self.xy), bool) if occluded is None
                         else np.asarray(occluded, dtype=bool).reshape(len(self.xy)))
        styles = [self._style(c, o) for c, o in zip(cols, self.occluded)]
        self.points.setData(pos=self.xy, brush=[st[0] for st in styles], pen=[st[1] for st in styles])
        for i, (ln, (a, b)) in enumerate(zip(self.lines, self.edges)):
            c = np.minimum(cols[a], cols[b])
            pen = self._style(c, bool(self.occluded[a] or self.occluded[b]))[2]
            if self._line_pens[i] is not pen:  # QGraphicsLineItem.setPen repaints even when the pen is the same
                ln.setPen(pen)
                self._line_pens[i] = pen
            ln.setLine(QLineF(self.xy[a, 0], self.xy[a, 1], self.xy[b, 0], self.xy[b, 1]))
            ln.setVisible(self.visible)
        self.points.setVisible(self.visible)

    def setVisible(self, visible: bool) -> None:  # noqa: N802 (Qt style)
        self.visible = bool(visible)
        self.points.setVisible(self.visible and self.xy is not None)
        for ln in self.lines:
            ln.setVisible(self.visible and self.xy is not None)


class VideoView(pg.GraphicsLayoutWidget):
    """Frame + heat map + estimated skeleton + caption; ``view_box`` is where the editor draws."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground((25, 25, 28))
        # No spatial index: nearly every item here (skeletons, heat map, boxes) moves on every frame, and
        # keeping Qt's default BSP index up to date cost more per frame than the few items it would save a
        # lookup through (measured with rpan_studio.bench_scrub: about 0.4 ms of a 3.4 ms repaint)
        self.scene().setItemIndexMethod(self.scene().ItemIndexMethod.NoIndex)
        self.caption = pg.LabelItem("", size="11pt", color=(235, 235, 235), justify="left")
        self.addItem(self.caption, row=0, col=0)
        self.view_box = pg.ViewBox(invertY=True, lockAspect=True, enableMenu=False)
        self.view_box.setDefaultPadding(0.01)
        self.addItem(self.view_box, row=1, col=0)
        self.ci.layout.setRowStretchFactor(1, 20)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setZValue(0)
        self.view_box.addItem(self.image_item)
        self.heat_item = pg.ImageItem(axisOrder="row-major")
        self.heat_item.setZValue(10)
        self.view_box.addItem(self.heat_item, ignoreBounds=True)
        self.skeleton = SkeletonItem(self.view_box)
        self.opts = OverlayOptions()
        self.frame_index: int | None = None
        self.frame_size: tuple[int, int] | None = None  # (H, W) of the video (frame coordinates)
        self._image_shape: tuple[int, ...] | None = None  # (h, w) of the image shown (a proxy's is smaller)
        self.paint_count = 0

    # -- content ---------------------------------------------------------
    def set_frame(self, index: int, image: np.ndarray, size: tuple[int, int] | None = None) -> None:
        """Show ``image`` as frame ``index``; ``size = (H, W)`` of the video when the image is its
        smaller display proxy: the image is stretched over the frame rect by the paint path, so
        overlays stay in the video's pixel coordinates whatever the image's resolution."""
        size = (int(size[0]), int(size[1])) if size is not None else (int(image.shape[0]), int(image.shape[1]))
        self.image_item.setImage(image, autoLevels=False, levels=None)  # uint8 as is: no per-pixel rescale
        if size != self.frame_size or image.shape[:2] != self._image_shape:
            # the rect is a scale of the image's pixels: redo it when either size changes
            self._image_shape = image.shape[:2]
            # pixel centres at integer scene coordinates, as labels and poses name them (rpan_core.geometry)
            self.image_item.setRect(-0.5, -0.5, size[1], size[0])
            if size != self.frame_size:
                self.frame_size = size
                self.view_box.autoRange(padding=0.01)
        self.frame_index = int(index)
        self.paint_count += 1

    def fit(self) -> None:
        """Zoom so the whole frame fills the view (after zooming out, joint handles keep their screen size)."""
        if self.frame_size is not None:
            h, w = self.frame_size
            self.view_box.setRange(xRange=(-0.5, w - 0.5), yRange=(-0.5, h - 0.5), padding=0.01)

    def clear_frame(self) -> None:
        self.image_item.clear()
        self.heat_item.clear()
        self.skeleton.set_pose(None, None)
        self.caption.setText("")
        self.frame_index = None

    def set_heat(self, attention: np.ndarray | None, window: np.ndarray | None = None,
                 input_size: tuple[int, int] | None = None) -> None:
        """Heat map from one frame's attention ``J x K1 x K2`` (None hides it), placed through the
        analysis' frame -> input ``window`` when given (letterboxed frames, person crops)."""
        if attention is None or not self.opts.heat or self.frame_size is None:
            self.heat_item.hide()
            return
        # drawn at a fixed number of pixels per attention cell and stretched over the frame rect
        # by the paint path: its cost does not grow with the video's pixel count
        k = max(np.shape(attention)[-2:])
        rgba = heat_rgba(attention, self.frame_size, self.opts, max_side=HEAT_PX_PER_CELL * int(k), window=window,
                         input_size=input_size)
        self.heat_item.setImage(rgba, autoLevels=False, levels=(0, 255))
        h, w = self.frame_size
        self.heat_item.setRect(-0.5, -0.5, w, h)  # over the frame's pixels, like the frame
        self.heat_item.show()

    def set_heats(self, layers: Sequence[tuple[np.ndarray, np.ndarray | None, tuple[int, int] | None]]) -> None:
        """Several persons' heat maps in one image, each placed through its own window (its crop);
        ``layers``: ``(attention J x K1 x K2, window, input_size)`` per person (empty hides the map)."""
        if not layers or not self.opts.heat or self.frame_size is None:
            self.heat_item.hide()
            return
        # HEAT_PX_PER_CELL pixels per cell over the smallest crop: a crop a third of the frame wide gets its
        # cells as sharp as a whole-frame map (capped at the frame's own size)
        h, w = self.frame_size
        side = 1
        for a, win, size in layers:
            k = max(np.shape(a)[-2:])
            frac = 1.0
            if win is not None and size is not None:
                sx, sy = abs(float(win[0][0])), abs(float(win[1][1]))  # input pixels per frame pixel
                frac = min(1.0, max(size[1] / max(sx, 1e-9) / w, size[0] / max(sy, 1e-9) / h))
            side = max(side, int(HEAT_PX_PER_CELL * k / max(frac, 1e-3)))
        rgba = heat_rgba_persons(layers, self.frame_size, self.opts, max_side=min(side, max(h, w)))
        self.heat_item.setImage(rgba, autoLevels=False, levels=(0, 255))
        h, w = self.frame_size
        self.heat_item.setRect(-0.5, -0.5, w, h)  # over the frame's pixels, like the frame
        self.heat_item.show()

    def set_skeleton_edges(self, edges: Sequence[tuple[int, int]]) -> None:
        self.skeleton.set_edges(edges)

    def set_pose(self, xy: np.ndarray | None, conf: np.ndarray | None,
                 occluded: np.ndarray | None = None) -> None:
        self.skeleton.set_pose(xy, conf, occluded)
        self.skeleton.setVisible(self.opts.skeleton)

    def set_caption(self, text: str) -> None:
        self.caption.setText(text if self.opts.caption else "")
