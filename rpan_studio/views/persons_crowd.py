"""One graphics item that paints every person's name and the other persons' boxes and skeletons.

Why one item painted with QPainter, not an item per box, name, edge and joint set: the
non-selected persons are only looked at (the selected one is edited through the pose
editor and its box handle), and each pyqtgraph item costs its own bookkeeping when it
moves and its own paint call, transforms and state changes on every frame. Scrubbing a
video of three persons with an ROI, a TextItem, twelve line items and a scatter item per
person cost about 2-3 ms a frame over one person's view; here a frame is one
``set_persons`` (paths built once per frame) and one ``paint``: boxes and skeleton
edges as cosmetic paths in frame coordinates, joints and names as pixmaps blitted at
their screen positions (made once per colour and name, as ScatterPlotItem does).

What each person looks like (as the separate items drew it): the box in the person's
colour, thin and dashed (the selected person's is the layer's thick handle instead); its
name above the box's top-left corner; its labeled joints as filled circles (hollow where
labeled not visible) joined by solid edges; the model's estimate of its pose as smaller
diamonds joined by thin dashed edges. Pens are opaque and the thin dashed lines are not
antialiased: measured in Qt's raster engine, an antialiased dashed or translucent line
costs 5-35x a one-pixel aliased one, and was most of this item's painting time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PyQt6.QtWidgets import QApplication

__all__ = ["CrowdPerson", "PersonsCrowdItem"]

LABEL_JOINT_PX, ESTIMATE_JOINT_PX = 8, 7  # symbol sizes (as the scatter items had them)


@dataclass
class CrowdPerson:
    """What is painted for one person: ``box`` (None: none; the selected person's box is the handle's),
    ``name_at`` the point its name sits on (top-left of its box), its labeled pose ``xy``/``visible``
    and the model's estimate ``est_xy``/``est_visible`` (None: not drawn)."""

    id: int
    name: str
    colour: tuple[int, int, int]
    box: np.ndarray | None = None
    name_at: tuple[float, float] | None = None
    xy: np.ndarray | None = None
    visible: np.ndarray | None = None
    est_xy: np.ndarray | None = None
    est_visible: np.ndarray | None = None

    def same_as(self, other: "CrowdPerson") -> bool:
        """True when painting ``other`` would give the same picture (then nothing is redrawn)."""
        if (self.id, self.name, self.colour, self.name_at) != (other.id, other.name, other.colour, other.name_at):
            return False
        for a, b in ((self.box, other.box), (self.xy, other.xy), (self.visible, other.visible),
                     (self.est_xy, other.est_xy), (self.est_visible, other.est_visible)):
            if (a is None) != (b is None) or (a is not None and not np.array_equal(a, b, equal_nan=True)):
                return False
        return True


def _pose(xy: np.ndarray, visible: np.ndarray | None,
          edges: Sequence[tuple[int, int]]) -> tuple[QPainterPath | None, list[tuple[float, float, bool]]]:
    """The edges between placed joints as one path, and the placed joints ``(x, y, filled)``."""
    ok = np.isfinite(xy).all(axis=1).tolist()
    pts = xy.tolist()
    vis = [True] * len(pts) if visible is None else np.asarray(visible, bool).tolist()
    path = QPainterPath()
    n = 0
    for a, b in edges:
        if ok[a] and ok[b]:
            path.moveTo(*pts[a])
            path.lineTo(*pts[b])
            n += 1
    return (path if n else None), [(p[0], p[1], v) for p, v, k in zip(pts, vis, ok) if k]


class _Prepared:
    """One person's paths and pens for a paint (built in set_persons, not in paint)."""

    __slots__ = ("person", "box", "box_pen", "edges", "edge_pen", "est_edges", "est_pen", "joints", "est_joints")

    def __init__(self, person: CrowdPerson, edges: Sequence[tuple[int, int]], pens: dict) -> None:
        c = person.colour
        self.person = person
        self.box = self.edges = self.est_edges = None
        self.joints: list[tuple[float, float, bool]] = []
        self.est_joints: list[tuple[float, float, bool]] = []
        if person.box is not None and np.isfinite(person.box).all():
            x0, y0, x1, y1 = (float(v) for v in person.box)
            self.box = QRectF(x0, y0, x1 - x0, y1 - y0)
        self.box_pen = pens[("box", c)]
        self.edge_pen = pens[("edge", c)]
        self.est_pen = pens[("est", c)]
        if person.xy is not None:
            self.edges, self.joints = _pose(person.xy, person.visible, edges)
        if person.est_xy is not None:
            self.est_edges, self.est_joints = _pose(person.est_xy, person.est_visible, edges)


class PersonsCrowdItem(pg.GraphicsObject):
    """Paints the persons given to :meth:`set_persons` over the frame (one item for all of them)."""

    def __init__(self, edges: Sequence[tuple[int, int]] = ()) -> None:
        super().__init__()
        self.edges = list(edges)
        self.persons: list[CrowdPerson] = []
        self._prepared: list[_Prepared] = []
        self._pens: dict[tuple, QPen] = {}
        self._pixmaps: dict[tuple, QPixmap] = {}
        self._bounds: QRectF | None = None
        self.set_count = 0  # set_persons calls that changed the picture (tests read it)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # looked at, never grabbed: clicks go through

    # ------------------------------------------------------------------ data
    def set_edges(self, edges: Sequence[tuple[int, int]]) -> None:
        self.edges = list(edges)
        self.set_persons(list(self.persons), force=True)

    def prepare(self, persons: list[CrowdPerson]) -> list:
        """The paths and joints of ``persons`` for :meth:`set_persons` (made ahead: nothing is drawn)."""
        for p in persons:
            self._ensure_pens(p.colour)
        return [_Prepared(p, self.edges, self._pens) for p in persons]

    def set_persons(self, persons: list[CrowdPerson], force: bool = False, prepared: list | None = None) -> None:
        """Paint these persons from now on (nothing is redrawn when the picture would be the same);
        ``prepared``: what :meth:`prepare` made of them, if it was called ahead."""
        if (not force and len(persons) == len(self.persons)
                and all(a.same_as(b) for a, b in zip(persons, self.persons))):
            return
        self.persons = persons
        self._prepared = prepared if prepared is not None else self.prepare(persons)
        self.set_count += 1
        self.update()

    def person(self, pid: int) -> CrowdPerson | None:
        for p in self.persons:
            if p.id == pid:
                return p
        return None

    def pen(self, kind: str, colour: tuple[int, int, int]) -> QPen:
        """The pen of a person's ``box``, labeled skeleton ``edge`` or estimated skeleton ``est``."""
        self._ensure_pens(colour)
        return self._pens[(kind, colour)]

    def _ensure_pens(self, c: tuple[int, int, int]) -> None:
        if ("box", c) in self._pens:
            return

        def pen(width: float, dashed: bool) -> QPen:
            q = QPen(QColor(*c))  # opaque: a translucent antialiased line costs Qt's raster engine 5-8x more
            q.setWidthF(width)
            q.setCosmetic(True)
            if dashed:
                q.setStyle(Qt.PenStyle.DashLine)
            return q

        self._pens[("box", c)] = pen(1.0, True)
        self._pens[("edge", c)] = pen(2.0, False)
        self._pens[("est", c)] = pen(1.0, True)

    # ------------------------------------------------------------------ geometry
    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt name)
        """The visible part of the view: joints and names are drawn in screen pixels beside their points,
        so the picture's extent in frame units depends on the zoom; the view's rect holds all that shows."""
        if self._bounds is None:
            r = self.viewRect()
            if r is None:
                return QRectF()
            self._bounds = QRectF(r)
        return self._bounds

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph hook: zoom or pan)
        self.prepareGeometryChange()
        self._bounds = None

    # ------------------------------------------------------------------ painting
    def _pixmap(self, kind: str, colour: tuple[int, int, int], filled: bool, dpr: float) -> QPixmap:
        key = (kind, colour, filled, dpr)
        pm = self._pixmaps.get(key)
        if pm is not None:
            return pm
        size = LABEL_JOINT_PX if kind == "o" else ESTIMATE_JOINT_PX
        side = size + 4
        pm = QPixmap(int(np.ceil(side * dpr)), int(np.ceil(side * dpr)))
        pm.setDevicePixelRatio(dpr)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(*colour))
        pen.setWidthF(2.0)
        p.setPen(pen)
        p.setBrush(QColor(*colour) if filled else QColor(0, 0, 0, 0))
        c, r = side / 2, size / 2
        if kind == "o":
            p.drawEllipse(QPointF(c, c), r, r)
        else:  # pyqtgraph's "d": a diamond 0.8 as wide as it is high
            p.drawPolygon(QPolygonF([QPointF(c, c - r), QPointF(c - 0.8 * r, c), QPointF(c, c + r),
                                     QPointF(c + 0.8 * r, c)]))
        p.end()
        self._pixmaps[key] = pm
        return pm

    def _name_pixmap(self, name: str, colour: tuple[int, int, int], dpr: float) -> QPixmap:
        key = ("name", name, colour, dpr)
        pm = self._pixmaps.get(key)
        if pm is not None:
            return pm
        font = QApplication.font()
        fm = QFontMetrics(font)
        w, h = fm.horizontalAdvance(name) + 6, fm.height() + 4
        pm = QPixmap(int(np.ceil(w * dpr)), int(np.ceil(h * dpr)))
        pm.setDevicePixelRatio(dpr)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        p.setFont(font)
        p.setPen(QColor(*colour))
        p.drawText(QPointF(3, 2 + fm.ascent()), name)
        p.end()
        self._pixmaps[key] = pm
        return pm

    def paint(self, p: QPainter, *args) -> None:
        if not self._prepared:
            return
        p.setBrush(Qt.BrushStyle.NoBrush)
        # frame coordinates: boxes, then estimates under labeled poses. The thin dashed ones unantialiased:
        # a one-pixel cosmetic dash then takes Qt's fast line path (~8-20 us), where an antialiased dash is
        # stroked dash by dash (~150-200 us each)
        aa = p.testRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for d in self._prepared:
            if d.box is not None:
                p.setPen(d.box_pen)
                p.drawRect(d.box)
            if d.est_edges is not None:
                p.setPen(d.est_pen)
                p.drawPath(d.est_edges)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, aa)
        for d in self._prepared:
            if d.edges is not None:
                p.setPen(d.edge_pen)
                p.drawPath(d.edges)
        tr = p.transform()
        m11, m12, m21, m22, dx, dy = tr.m11(), tr.m12(), tr.m21(), tr.m22(), tr.dx(), tr.dy()
        dpr = float(p.device().devicePixelRatioF()) if p.device() is not None else 1.0
        p.resetTransform()  # screen pixels: joints and names keep their size whatever the zoom
        for d in self._prepared:
            c = d.person.colour
            for kind, joints in (("d", d.est_joints), ("o", d.joints)):
                if not joints:
                    continue
                full, hollow = self._pixmap(kind, c, True, dpr), self._pixmap(kind, c, False, dpr)
                half = full.width() / dpr / 2
                for x, y, v in joints:
                    p.drawPixmap(QPointF(m11 * x + m21 * y + dx - half, m12 * x + m22 * y + dy - half),
                                 full if v else hollow)
            if d.person.name_at is not None:
                x, y = d.person.name_at
                pm = self._name_pixmap(d.person.name, c, dpr)
                p.drawPixmap(QPointF(m11 * x + m21 * y + dx, m12 * x + m22 * y + dy - pm.height() / dpr), pm)
        p.setTransform(tr)
