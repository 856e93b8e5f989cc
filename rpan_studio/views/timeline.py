"""The timeline: a seek bar with per-frame label state, and action probabilities over time.

Why these are drawn the way they are: a PennAction clip has ~100 frames but a
recorded session can have 100k, and the timeline must not make scrubbing lag. The
label-state band is therefore one small image (frames binned to at most
``MAX_COLUMNS`` columns, each bin showing its most-advanced state, manual >
corrected > accepted > predicted > none) instead of 100k rectangles, and the curves
use pyqtgraph's clip-to-view downsampling. Every plot here shares one x axis
convention (frame index), one movable cursor line, and one signal,
``seekRequested(int)``, emitted when the person clicks or drags anywhere on it, so
the main window links them all to one current frame.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal

from rpan_core.project import FrameState

__all__ = ["LinkedPlot", "SeekBar", "ActionPlot", "STATE_COLORS", "STATE_NAMES", "state_band"]

#: the timeline's states are rpan_core.project.FrameState (its codes index STATE_COLORS)
STATE_NAMES = tuple(s.name.lower() for s in sorted(FrameState))
STATE_COLORS = np.array([
    [60, 60, 66],      # none
    [150, 150, 160],   # predicted (the model has a pose, no person looked)
    [80, 170, 255],    # accepted
    [255, 160, 40],    # corrected
    [70, 220, 100],    # manual / imported
], dtype=np.uint8)
MAX_COLUMNS = 4096
LEGEND_CLASSES = 4
CLASS_COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def class_color(i: int) -> tuple[int, int, int]:
    c = CLASS_COLORS[i % len(CLASS_COLORS)]
    if i >= len(CLASS_COLORS):  # a second round: lighter
        c = tuple(min(255, v + 60) for v in c)
    return c


def remove_curve(plot_item: pg.PlotItem, curve: pg.PlotDataItem) -> None:
    """Remove a clip-to-view curve (pyqtgraph 0.14 asks a view-less item for its ViewBox range otherwise)."""
    curve.setClipToView(False)
    curve.setDownsampling(auto=False)
    plot_item.removeItem(curve)


def state_band(states: np.ndarray, max_columns: int = MAX_COLUMNS) -> np.ndarray:
    """1 x N x 3 uint8 image of per-frame label states, binned to at most ``max_columns``.

    A bin shows the largest state code among its frames (so a single manual frame in
    a long unlabeled stretch stays visible).
    """
    s = np.asarray(states, dtype=np.uint8)
    n = len(s)
    if n == 0:
        return np.zeros((1, 1, 3), np.uint8)
    s = np.minimum(s, len(STATE_COLORS) - 1)
    if n > max_columns:
        edges = np.linspace(0, n, max_columns + 1).astype(np.int64)
        s = np.maximum.reduceat(s, edges[:-1])
    return STATE_COLORS[s][None, :, :]


class LinkedPlot(pg.PlotWidget):
    """A PlotWidget over frame indices with a cursor line; click or drag it to seek."""

    seekRequested = pyqtSignal(int)

    def __init__(self, parent=None, title: str | None = None, cursor_color=(255, 255, 80)) -> None:
        super().__init__(parent)
        self.n_frames = 1
        pi = self.getPlotItem()
        if title:
            pi.setTitle(title, size="9pt")
        pi.setMenuEnabled(False)
        pi.hideButtons()
        vb = pi.getViewBox()
        vb.setMouseEnabled(x=False, y=False)
        self.cursor = pg.InfiniteLine(pos=0, angle=90, movable=True, pen=pg.mkPen(cursor_color, width=2),
                                      hoverPen=pg.mkPen((255, 255, 255), width=3))
        self.cursor.setZValue(50)
        pi.addItem(self.cursor, ignoreBounds=True)
        self.cursor.sigDragged.connect(self._cursor_dragged)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.setMinimumHeight(40)
        self._scrubbing = False

    # press anywhere on the plot and drag: scrub (not only a click, or grabbing the 2-pixel cursor line)
    def _frame_at_x(self, ev) -> int:
        vb = self.getPlotItem().getViewBox()
        x = vb.mapSceneToView(self.mapToScene(ev.position().toPoint())).x()
        return int(np.clip(round(x), 0, self.n_frames - 1))

    def mousePressEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        if ev.button() == Qt.MouseButton.LeftButton and \
                self.frame_at_scene(self.mapToScene(ev.position().toPoint())) is not None:
            self._scrubbing = True
            self._scrub_frame = self._frame_at_x(ev)
            self.seekRequested.emit(self._scrub_frame)
            ev.accept()
            return
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        if self._scrubbing and ev.buttons() & Qt.MouseButton.LeftButton:
            f = self._frame_at_x(ev)
            if f != self._scrub_frame:
                self._scrub_frame = f
                self.seekRequested.emit(f)
            ev.accept()
            return
        super().mouseMoveEvent(ev)

    def mouseReleaseEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        if self._scrubbing:
            self._scrubbing = False
            ev.accept()
            return
        super().mouseReleaseEvent(ev)

    def set_n_frames(self, n: int) -> None:
        self.n_frames = max(1, int(n))
        self.getPlotItem().setXRange(-0.5, self.n_frames - 0.5, padding=0)
        self.cursor.setBounds((0, self.n_frames - 1))

    def set_frame(self, frame: int) -> None:
        if int(round(self.cursor.value())) != frame or not self.cursor.moving:
            self.cursor.blockSignals(True)
            self.cursor.setValue(frame)
            self.cursor.blockSignals(False)

    def frame_at_scene(self, scene_pos) -> int | None:
        vb = self.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        x = vb.mapSceneToView(scene_pos).x()
        return int(np.clip(round(x), 0, self.n_frames - 1))

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        f = self.frame_at_scene(ev.scenePos())
        if f is not None:
            ev.accept()
            self.seekRequested.emit(f)

    def _cursor_dragged(self, line) -> None:
        self.seekRequested.emit(int(np.clip(round(line.value()), 0, self.n_frames - 1)))


class SeekBar(LinkedPlot):
    """The seek bar: a band coloured by label state per frame (one image), and the cursor."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        pi = self.getPlotItem()
        pi.hideAxis("left")
        pi.getAxis("bottom").setHeight(18)
        self.band = pg.ImageItem(axisOrder="row-major")
        pi.addItem(self.band)
        pi.setYRange(0, 1, padding=0)
        self.states = np.zeros(0, np.uint8)
        self.setFixedHeight(52)
        self.setToolTip("Label state per frame: grey none, light grey predicted, blue accepted, "
                        "orange corrected, green manual. Click or drag to seek.")

    def set_states(self, states: np.ndarray) -> None:
        self.states = np.asarray(states, dtype=np.uint8)
        n = max(1, len(self.states))
        img = state_band(self.states)
        self.band.setImage(img, autoLevels=False, levels=(0, 255))
        self.band.setRect(-0.5, 0, n, 1)
        self.set_n_frames(n)


class ActionPlot(LinkedPlot):
    """Action probabilities over time: one line per class, the predicted class thick."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, title="action probability")
        pi = self.getPlotItem()
        pi.setYRange(0, 1.02, padding=0)
        pi.showGrid(y=True, alpha=0.2)
        self.legend = pi.addLegend(offset=(4, 4), labelTextSize="8pt", colCount=2,
                                   brush=pg.mkBrush(0, 0, 0, 150))
        self.curves: list[pg.PlotDataItem] = []
        self.classes: list[str] = []
        self.predicted: int | None = None
        self.note = pg.TextItem("", color=(200, 200, 200), anchor=(0.5, 0.5))
        self.note.setParentItem(pi.getViewBox())
        self.note.hide()

    def clear_data(self) -> None:
        for c in self.curves:
            remove_curve(self.getPlotItem(), c)
        self.curves = []
        self.legend.clear()
        self.note.hide()

    def set_probs(self, probs: np.ndarray | None, classes: Sequence[str], predicted: int | None = None,
                  withheld: str = "") -> None:
        """Draw the class curves; none, with a note instead, for a pose-only (one-class) model or when the
        studio withholds action names (``withheld``: why; the banner's rule)."""
        self.clear_data()
        self.classes = list(classes)
        self.predicted = predicted
        if probs is None:
            return
        reason = withheld or ("no action classes: a pose-only model" if len(self.classes) < 2 else "")
        if reason:
            self.note.setText(reason)
            box = self.getPlotItem().getViewBox().boundingRect()
            self.note.setPos(box.center())
            self.note.show()
            self.set_n_frames(int(np.asarray(probs).shape[0]))
            return
        p = np.asarray(probs, dtype=np.float32)
        t = np.arange(p.shape[0])
        # The legend names only the classes that matter here (the predicted one and the
        # runners-up by mean probability): 15 PennAction names would hide the curves.
        ranked = list(np.argsort(-p.mean(axis=0), kind="stable"))
        named = set(ranked[:LEGEND_CLASSES]) | ({predicted} if predicted is not None else set())
        order = [c for c in range(p.shape[1]) if c != predicted] + ([predicted] if predicted is not None else [])
        for c in order:
            hi = c == predicted
            pen = pg.mkPen(class_color(c), width=3 if hi else 1)
            if not hi and predicted is not None:
                pen.setStyle(Qt.PenStyle.SolidLine)
            name = self.classes[c] if c < len(self.classes) else str(c)
            label = (("\u25b6 " + name) if hi else name) if c in named else None
            curve = pg.PlotDataItem(t, p[:, c], pen=pen, name=label)
            curve.setDownsampling(auto=True, method="peak")
            curve.setZValue(10 if hi else 1)
            self.getPlotItem().addItem(curve)
            curve.setClipToView(True)  # after adding: pyqtgraph 0.14 fails on a view-less clipped item
            self.curves.append(curve)
        self.set_n_frames(p.shape[0])
