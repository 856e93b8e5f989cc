"""Rubber-band box drawing: a person's box drawn by dragging a rectangle on the frame.

Why a viewport event filter (like the labeling mode's clicks): a plain left drag
on the frame already means "move this joint" (on a handle), "move this box" (on
the selected person's box) or "pan" (on the background), and in labeling mode a
left click places a joint. Drawing therefore has its own gesture, taken before any
scene item can claim it:

* ``Shift`` + left drag, at any time (also in labeling mode: the labeling goes on
  after the box is drawn), or
* after Persons > Draw box (``Ctrl+B``), the next left drag; ``Ctrl+B`` again or
  ``Esc`` stops without drawing.

While the button is down a dashed rectangle in the selected person's colour
follows the pointer; on release the rectangle (clipped to the frame) becomes the
selected person's box keyframe on the shown frame, one undo step
(:class:`~rpan_studio.person_commands.SetBoxCommand` through
:meth:`~rpan_studio.views.persons_layer.PersonsLayer.set_box`). A rectangle
smaller than :data:`MIN_SIDE_PX` screen pixels on a side is a slip, not a box:
nothing is written and one line says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QPen
from PyQt6.QtWidgets import QGraphicsRectItem

from rpan_studio.person_commands import person_colour

if TYPE_CHECKING:  # pragma: no cover
    from rpan_studio.state import StudioState
    from rpan_studio.views.persons_layer import PersonsLayer

__all__ = ["BoxDrawer", "MIN_SIDE_PX"]

#: a drawn rectangle needs at least this many screen pixels on each side (smaller is a slip of the mouse)
MIN_SIDE_PX = 4


class BoxDrawer(QObject):
    """Draws the selected person's box from a mouse drag over ``view`` (a GraphicsView holding ``view_box``)."""

    modeChanged = pyqtSignal(bool)  # armed (the next left drag draws) or not
    boxDrawn = pyqtSignal(int, object)  # person id, box [x0, y0, x1, y1] in frame pixels (written)
    message = pyqtSignal(str)  # a user-facing line (a too small rectangle, nothing to draw on)

    def __init__(self, view: pg.GraphicsView, view_box: pg.ViewBox, state: StudioState, layer: PersonsLayer,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view, self.view_box, self.state, self.layer = view, view_box, state, layer
        self.armed = False
        self._start: QPointF | None = None  # frame coordinates of the press, while dragging
        self._start_screen: QPointF | None = None
        self.band = QGraphicsRectItem()
        self.band.setZValue(45)
        self.band.hide()
        view_box.addItem(self.band, ignoreBounds=True)
        view.viewport().installEventFilter(self)
        state.videoChanged.connect(lambda _v: self.cancel())
        state.frameChanged.connect(lambda _f: self.cancel_drag())  # a box belongs to the frame it was drawn on

    # ------------------------------------------------------------------ public
    @property
    def dragging(self) -> bool:
        return self._start is not None

    def arm(self, on: bool = True) -> None:
        """Draw-box mode: the next left drag draws the selected person's box (``on=False`` leaves it)."""
        on = bool(on)
        if on and (self.state.project is None or self.state.video_id is None):
            self.message.emit("no video is open: open one before drawing a person's box")
            on = False
        if on == self.armed:
            return
        self.armed = on
        vp = self.view.viewport()
        if on:
            vp.setCursor(Qt.CursorShape.CrossCursor)
        else:
            vp.unsetCursor()
        self.modeChanged.emit(on)

    def toggle(self) -> None:
        self.arm(not self.armed)

    def cancel(self) -> None:
        """Leave draw-box mode and drop a drag in progress (nothing is written)."""
        self.cancel_drag()
        self.arm(False)

    def cancel_drag(self) -> None:
        self._start = self._start_screen = None
        self.band.hide()

    def band_rect(self) -> np.ndarray | None:
        """The rubber band on screen ``[x0, y0, x1, y1]`` in frame pixels (None when not dragging)."""
        if not self.dragging:
            return None
        r = self.band.rect()
        return np.array([r.left(), r.top(), r.right(), r.bottom()], np.float64)

    # ------------------------------------------------------------------ mouse
    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:  # noqa: N802 (Qt name)
        kind = ev.type()
        if kind == QEvent.Type.MouseButtonPress:
            if ev.button() != Qt.MouseButton.LeftButton:
                if self.dragging:  # another button during the drag cancels it
                    self.cancel_drag()
                    return True
                return False
            if not (self.armed or ev.modifiers() & Qt.KeyboardModifier.ShiftModifier) or self.state.video_id is None:
                return False
            p = self._frame_point(ev)
            if p is None:
                return False
            if self.layer.frame is None or self.layer.frame != self.state.frame:
                self.message.emit("the frame is still being decoded: draw the box once it is shown")
                return True
            self._start, self._start_screen = p, QPointF(ev.position())
            self._show_band(p)
            return True
        if kind == QEvent.Type.MouseMove and self.dragging:
            p = self._frame_point(ev, clip=True)
            if p is not None:
                self._show_band(p)
            return True
        if kind == QEvent.Type.MouseButtonRelease and self.dragging and ev.button() == Qt.MouseButton.LeftButton:
            p = self._frame_point(ev, clip=True)
            self._finish(p, QPointF(ev.position()))
            return True
        if kind == QEvent.Type.MouseButtonDblClick and (self.dragging or self.armed):
            return True
        return False

    def _frame_point(self, ev: QEvent, clip: bool = False) -> QPointF | None:
        """The event's position in frame pixels (None outside the view box unless ``clip``)."""
        scene = self.view.mapToScene(ev.position().toPoint())
        if not clip and not self.view_box.sceneBoundingRect().contains(scene):
            return None
        return self.view_box.mapSceneToView(scene)

    def _clipped(self, a: QPointF, b: QPointF) -> np.ndarray:
        x0, x1 = sorted((a.x(), b.x()))
        y0, y1 = sorted((a.y(), b.y()))
        v = self.state.video
        if v is not None:  # frame points: pixel centres at integers, the frame spans [-0.5, W - 0.5]
            lo, w, h = -0.5, float(v.width) - 0.5, float(v.height) - 0.5
            x0, x1 = min(max(x0, lo), w), min(max(x1, lo), w)
            y0, y1 = min(max(y0, lo), h), min(max(y1, lo), h)
        return np.array([x0, y0, x1, y1], np.float64)

    def _show_band(self, p: QPointF) -> None:
        assert self._start is not None
        x0, y0, x1, y1 = self._clipped(self._start, p)
        pen = QPen(QColor(*person_colour(self.state.person)))
        pen.setCosmetic(True)
        pen.setWidthF(2.0)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.band.setPen(pen)
        self.band.setBrush(QColor(*person_colour(self.state.person), 40))
        self.band.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.band.show()

    def _finish(self, p: QPointF | None, screen: QPointF) -> None:
        start, start_screen = self._start, self._start_screen
        self.cancel_drag()
        if start is None or start_screen is None or p is None:
            return
        if min(abs(screen.x() - start_screen.x()), abs(screen.y() - start_screen.y())) < MIN_SIDE_PX:
            self.message.emit("drag a larger rectangle to draw the person's box (nothing was changed)")
            return
        box = self._clipped(start, p)
        if box[2] - box[0] <= 1 or box[3] - box[1] <= 1:
            self.message.emit("the rectangle lies outside the frame: draw the box over the person")
            return
        pid = self.state.person
        self.layer.set_box(pid, box)
        self.arm(False)
        self.boxDrawn.emit(pid, box)
