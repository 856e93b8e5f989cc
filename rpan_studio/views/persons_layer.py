"""The persons of the shown frame: every person's box, and the other persons' skeletons, each in its colour.

Why a layer beside the pose editor: the editor shows and edits the selected
person's joints; the others stay on screen (in their own colours, not editable)
so a person labeling sees who is who when people cross. The selected person's
box is a handle: dragging or resizing it writes a box keyframe on this frame
(:class:`~rpan_studio.person_commands.SetBoxCommand`, one undo step); on other
frames the box is interpolated between keyframes, or taken from the extent of
the person's labeled pose (:meth:`rpan_core.project.Project.person_box`).

Everything is read from the store when a frame is shown (a few indexed reads per
person), so what is drawn is always what is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QLineF, QObject, Qt
from PyQt6.QtGui import QColor, QPen, QUndoStack
from PyQt6.QtWidgets import QGraphicsLineItem

from rpan_studio import commands as cmds
from rpan_studio.person_commands import SetBoxCommand, person_colour

if TYPE_CHECKING:  # pragma: no cover
    from rpan_studio.state import StudioState

__all__ = ["PersonsLayer", "default_box"]


def default_box(frame_size: tuple[int, int]) -> np.ndarray:
    """A first box for a person with none yet: a third of the frame, centred (the person then drags it)."""
    h, w = frame_size
    return np.array([w / 3, h / 4, 2 * w / 3, 3 * h / 4], np.float64)


class _Skeleton:
    """One non-selected person's pose in the person's colour: its labels (solid), or the model's estimate
    of it (``estimate``: dashed edges, smaller diamonds, under the labels)."""

    def __init__(self, view_box: pg.ViewBox, edges: list[tuple[int, int]], estimate: bool = False) -> None:
        self.view_box, self.edges, self.estimate = view_box, edges, estimate
        self.lines = []
        for _ in edges:
            ln = QGraphicsLineItem()
            ln.setZValue(19 if estimate else 24)
            view_box.addItem(ln, ignoreBounds=True)
            self.lines.append(ln)
        self.points = pg.ScatterPlotItem(size=7 if estimate else 8, pxMode=True, symbol="d" if estimate else "o")
        self.points.setZValue(19.5 if estimate else 25)
        view_box.addItem(self.points, ignoreBounds=True)
        self.colour: tuple[int, int, int] | None = None
        self._shown = False

    def _paint(self, colour: tuple[int, int, int]) -> None:
        """Pens and brushes are made once per colour (a frame then only moves points)."""
        self.colour = colour
        self._fill, self._hollow = pg.mkBrush(*colour), pg.mkBrush(0, 0, 0, 0)
        self.points.setPen(pg.mkPen(*colour, width=2))
        pen = QPen(QColor(*colour))
        pen.setWidthF(1.5 if self.estimate else 2.0)
        pen.setCosmetic(True)
        if self.estimate:
            pen.setStyle(Qt.PenStyle.DashLine)
        for ln in self.lines:
            ln.setPen(pen)

    def set(self, xy: np.ndarray | None, visible: np.ndarray | None, colour: tuple[int, int, int]) -> None:
        if xy is None:
            if self._shown:
                self.points.setData([])
                for ln in self.lines:
                    ln.hide()
                self._shown = False
            return
        if colour != self.colour:
            self._paint(colour)
        ok = np.isfinite(xy).all(axis=1)
        self.points.setData(pos=xy[ok], brush=[self._fill if v else self._hollow for v in visible[ok]])
        for ln, (a, b) in zip(self.lines, self.edges):
            if ok[a] and ok[b]:
                ln.setLine(QLineF(xy[a, 0], xy[a, 1], xy[b, 0], xy[b, 1]))
                ln.show()
            else:
                ln.hide()
        self._shown = True

    def remove(self) -> None:
        for ln in self.lines:
            self.view_box.removeItem(ln)
        self.view_box.removeItem(self.points)


class PersonsLayer(QObject):
    """Boxes of every person and skeletons of the non-selected ones over the video view's frame."""

    def __init__(self, view_box: pg.ViewBox, state: StudioState, undo_stack: QUndoStack,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view_box, self.state, self.undo_stack = view_box, state, undo_stack
        self.visible = True
        self.frame: int | None = None
        self._boxes: dict[int, pg.RectROI] = {}
        self._names: dict[int, pg.TextItem] = {}
        self._skeletons: dict[int, _Skeleton] = {}
        self._estimates: dict[int, _Skeleton] = {}  # the model's pose of each non-selected person analyzed
        self._updating = False
        self._pens: dict[tuple, object] = {}
        self._looks: dict[int, tuple] = {}
        self._tags: dict[int, tuple] = {}
        self.draw_count = 0  # frames drawn (the scrubbing benchmark reads it)
        cmds.notifier().boxesChanged.connect(self._store_changed)
        cmds.notifier().personsChanged.connect(lambda p, v: self._store_changed(p, v, 0))
        cmds.notifier().labelsChanged.connect(lambda p, v, _f: self._store_changed(p, v, 0))
        state.personChanged.connect(lambda _p: self.redraw())
        state.videoChanged.connect(lambda _v: self.clear())

    # ------------------------------------------------------------------ drawing
    def show(self, frame: int) -> None:
        """Draw the persons of ``frame`` (the frame on screen)."""
        self.frame = int(frame)
        self.redraw()

    def redraw(self) -> None:
        st = self.state
        project, vid = st.project, st.video_id
        if project is None or vid is None or self.frame is None:
            self.clear(keep_frame=True)
            return
        persons = project.persons(vid)
        skel = project.skeleton
        self._draw_estimates(persons, skel)
        if not self.visible or not st.overlay.annotation:  # the "annotated pose" overlay toggle hides them too
            self.hide_all(estimates=False)
            return
        ids = {p.id for p in persons}
        for pid in [p for p in self._boxes if p not in ids]:
            self._drop(pid)
        for p in persons:
            colour = person_colour(p.id)
            box = project.person_box(vid, self.frame, p.id)
            self._set_box(p.id, p.name, box, colour, selected=p.id == st.person)
            sk = self._skeletons.get(p.id)
            if p.id == st.person:  # the pose editor draws (and edits) the selected person's joints
                if sk is not None:
                    sk.set(None, None, colour)
                continue
            if sk is None:
                sk = self._skeletons[p.id] = _Skeleton(self.view_box, list(skel.edges))
            labels = project.frame_labels(vid, self.frame, p.id)
            if labels:
                xy = np.full((skel.num_joints, 2), np.nan)
                vis = np.zeros(skel.num_joints, bool)
                for j, lab in labels.items():
                    xy[j], vis[j] = (lab.x, lab.y), lab.visible
                sk.set(xy, vis, colour)
            else:
                sk.set(None, None, colour)
        self.draw_count += 1

    def _draw_estimates(self, persons: list, skel: object) -> None:
        """Each non-selected person's estimated pose (its own analysis on its crop), in its colour, dashed;
        the selected person's is the video view's (coloured by confidence) and the editor's."""
        st, f = self.state, self.frame
        analyses = st.person_analyses if (self.visible and st.overlay.skeleton) else {}
        for p in persons:
            a = analyses.get(p.id)
            est = self._estimates.get(p.id)
            if a is None or p.id == st.person or f is None or f >= int(np.asarray(a.probs).shape[0]):
                if est is not None:
                    est.set(None, None, person_colour(p.id))
                continue
            if est is None:
                est = self._estimates[p.id] = _Skeleton(self.view_box, list(skel.edges), estimate=True)
            from rpan_core.analyze import DEFAULT_DUMMY_THRESHOLD

            est.set(np.asarray(a.xy[f], np.float64), np.asarray(a.dummy[f], np.float32) < DEFAULT_DUMMY_THRESHOLD,
                    person_colour(p.id))
        for pid in [k for k in self._estimates if k not in {p.id for p in persons}]:
            self._estimates.pop(pid).remove()

    def estimate_xy(self, pid: int) -> np.ndarray | None:
        """Where a non-selected person's estimated joints are drawn (None when not drawn)."""
        est = self._estimates.get(pid)
        if est is None or not est._shown:
            return None
        xs, ys = est.points.getData()
        return np.stack([xs, ys], 1)

    def _set_box(self, pid: int, name: str, box: np.ndarray | None, colour: tuple[int, int, int],
                 selected: bool) -> None:
        roi = self._boxes.get(pid)
        if box is None or not np.isfinite(box).all():
            if roi is not None:
                roi.hide()
                self._names[pid].hide()
            return
        x0, y0, x1, y1 = (float(v) for v in box)
        look = (colour, selected)
        pen = self._pens.get(look)
        if pen is None:
            pen = self._pens[look] = pg.mkPen(*colour, width=3 if selected else 1.5,
                                              style=Qt.PenStyle.SolidLine if selected else Qt.PenStyle.DashLine)
        if roi is None:
            roi = pg.RectROI((x0, y0), (x1 - x0, y1 - y0), pen=pen, movable=True, rotatable=False,
                             removable=False, invertible=False)
            roi.setZValue(22)
            roi.sigRegionChangeFinished.connect(lambda r, pid=pid: self._dragged(pid, r))
            self.view_box.addItem(roi, ignoreBounds=True)
            self._boxes[pid] = roi
            tag = pg.TextItem(name, color=colour, anchor=(0, 1))
            tag.setZValue(26)
            self.view_box.addItem(tag, ignoreBounds=True)
            self._names[pid] = tag
        self._updating = True
        try:
            (px, py), (pw, ph) = roi.pos(), roi.size()
            if (px, py, pw, ph) != (x0, y0, x1 - x0, y1 - y0):
                roi.setPos((x0, y0), update=False, finish=False)
                roi.setSize((x1 - x0, y1 - y0), update=True, finish=False)
        finally:
            self._updating = False
        if self._looks.get(pid) != look:  # only the selected person's box is a handle
            roi.setPen(pen)
            roi.translatable = selected
            for h in roi.getHandles():
                h.setVisible(selected)
            roi.setAcceptedMouseButtons(Qt.MouseButton.LeftButton if selected else Qt.MouseButton.NoButton)
            self._looks[pid] = look
        roi.show()
        tag = self._names[pid]
        if self._tags.get(pid) != (name, colour):
            tag.setText(name, color=colour)
            self._tags[pid] = (name, colour)
        tag.setPos(x0, y0)
        tag.show()

    def box_rect(self, pid: int) -> np.ndarray | None:
        """The box drawn for a person ``[x0, y0, x1, y1]`` (None when none is shown)."""
        roi = self._boxes.get(pid)
        if roi is None or not roi.isVisible():
            return None
        (x, y), (w, h) = roi.pos(), roi.size()
        return np.array([x, y, x + w, y + h], np.float64)

    def hide_all(self, estimates: bool = True) -> None:
        """Hide every item but keep it (showing the persons again is then cheap)."""
        for pid, roi in self._boxes.items():
            roi.hide()
            self._names[pid].hide()
        for sk in list(self._skeletons.values()) + (list(self._estimates.values()) if estimates else []):
            sk.set(None, None, sk.colour or (0, 0, 0))

    def clear(self, keep_frame: bool = False) -> None:
        for pid in list(self._boxes):
            self._drop(pid)
        for sk in list(self._skeletons.values()) + list(self._estimates.values()):
            sk.remove()
        self._skeletons.clear()
        self._estimates.clear()
        if not keep_frame:
            self.frame = None

    def _drop(self, pid: int) -> None:
        self._looks.pop(pid, None)
        self._tags.pop(pid, None)
        roi = self._boxes.pop(pid, None)
        if roi is not None:
            self.view_box.removeItem(roi)
        tag = self._names.pop(pid, None)
        if tag is not None:
            self.view_box.removeItem(tag)
        sk = self._skeletons.pop(pid, None)
        if sk is not None:
            sk.remove()

    def setVisible(self, visible: bool) -> None:  # noqa: N802 (Qt style)
        self.visible = bool(visible)
        self.redraw()

    # ------------------------------------------------------------------ editing
    def set_box(self, pid: int, box: np.ndarray | None) -> None:
        """Write ``box`` as the person's box keyframe on the shown frame (None removes it), one undo step."""
        st = self.state
        if st.project is None or st.video_id is None or self.frame is None:
            return
        self.undo_stack.push(SetBoxCommand(st.project, st.video_id, self.frame, pid, box))

    def _dragged(self, pid: int, roi: pg.RectROI) -> None:
        if self._updating or pid != self.state.person:
            return
        (x, y), (w, h) = roi.pos(), roi.size()
        if w <= 1 or h <= 1:
            return
        self.set_box(pid, np.array([x, y, x + w, y + h]))

    def _store_changed(self, project: object, video_id: int, _person: int) -> None:
        if project is self.state.project and video_id == self.state.video_id and self.frame is not None:
            self.redraw()
