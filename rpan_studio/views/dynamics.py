"""LSTM hidden-state dynamics (the paper's Fig. 5) and per-joint confidence over time.

Why the image is built the way it is: Fig. 5 of the RPAN paper shows how the
LSTM's state evolves as the action unfolds, with the most active units sorted so
that units that end high and units that end low form visible bands. We pick the
``n_dims`` units with the largest mean |h| (on at most ``MAX_ROWS_FOR_STATS``
evenly spaced frames, so a 100k-frame memory-mapped analysis is not read in
full), sort them by their activation on the last frame (descending), and show
``dims x time`` with a diverging colour map symmetric around zero (blue negative,
white zero, red positive). Long videos are binned to at most ``max_cols`` columns.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg

from rpan_studio.views.timeline import LinkedPlot, class_color, remove_curve

__all__ = ["dynamics_image", "DynamicsPlot", "ConfidencePlot", "DIVERGING"]

MAX_ROWS_FOR_STATS = 4096
DIVERGING = pg.ColorMap([0.0, 0.5, 1.0], [(33, 102, 172), (247, 247, 247), (178, 24, 43)])


def dynamics_image(hidden: np.ndarray, n_dims: int = 256, max_cols: int = 2048
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """(image dims x cols float32, chosen unit indices, symmetric colour limit).

    Units: the ``n_dims`` with the largest mean |h|, ordered by their value on the
    last frame, largest first. Columns: frames, mean-binned to at most ``max_cols``.
    """
    h = np.asarray(hidden)
    if h.ndim != 2 or h.shape[0] == 0:
        raise ValueError(f"hidden must be T x H with T > 0, got shape {h.shape}")
    t_total, n_units = h.shape
    rows = np.unique(np.linspace(0, t_total - 1, min(t_total, MAX_ROWS_FOR_STATS)).astype(np.int64))
    sample = np.asarray(h[rows], dtype=np.float32)
    k = min(int(n_dims), n_units)
    activity = np.abs(sample).mean(axis=0)
    top = np.argsort(-activity, kind="stable")[:k]
    last = np.asarray(h[t_total - 1], dtype=np.float32)[top]
    dims = top[np.argsort(-last, kind="stable")]
    if t_total > max_cols:
        edges = np.linspace(0, t_total, max_cols + 1).astype(np.int64)
        cols = np.stack([np.asarray(h[a:b][:, dims], dtype=np.float32).mean(axis=0)
                         for a, b in zip(edges[:-1], edges[1:])], axis=1)
    else:
        cols = np.asarray(h[:, dims], dtype=np.float32).T
    lim = float(np.abs(cols).max()) or 1.0
    return cols, dims, lim


class DynamicsPlot(LinkedPlot):
    """Hidden-state dynamics as an image (units x frames) with the current frame marked."""

    def __init__(self, parent=None, n_dims: int = 256) -> None:
        super().__init__(parent, title="LSTM hidden state (most active units, sorted by last frame)",
                         cursor_color=(20, 20, 20))
        self.n_dims = n_dims
        pi = self.getPlotItem()
        pi.setLabel("left", "unit")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(DIVERGING.getLookupTable(0.0, 1.0, 256))
        pi.addItem(self.image)
        pi.getViewBox().invertY(True)
        self.dims: np.ndarray = np.zeros(0, np.int64)
        self.data: np.ndarray | None = None

    def set_hidden(self, hidden: np.ndarray | None) -> None:
        if hidden is None:
            self.image.clear()
            self.data = None
            return
        img, dims, lim = dynamics_image(hidden, self.n_dims)
        self.data, self.dims = img, dims
        t = int(np.asarray(hidden).shape[0])
        self.image.setImage(img, autoLevels=False, levels=(-lim, lim))
        self.image.setRect(-0.5, 0, t, len(dims))
        self.getPlotItem().setYRange(0, len(dims), padding=0)
        self.set_n_frames(t)


class ConfidencePlot(LinkedPlot):
    """Per-joint attention-peak confidence over time (one thin line per joint, the mean thick)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, title="pose confidence per joint (thick: mean)")
        self.getPlotItem().showGrid(y=True, alpha=0.2)
        self.curves: list[pg.PlotDataItem] = []

    def set_conf(self, conf: np.ndarray | None, joint_names: Sequence[str] = ()) -> None:
        pi = self.getPlotItem()
        for c in self.curves:
            remove_curve(pi, c)
        self.curves = []
        if conf is None:
            return
        c = np.asarray(conf, dtype=np.float32)
        t = np.arange(c.shape[0])
        for j in range(c.shape[1]):
            name = joint_names[j] if j < len(joint_names) else f"joint {j}"
            curve = pg.PlotDataItem(t, c[:, j], pen=pg.mkPen(class_color(j), width=1), name=name)
            curve.setDownsampling(auto=True, method="peak")
            curve.setOpacity(0.55)
            pi.addItem(curve)
            curve.setClipToView(True)
            self.curves.append(curve)
        mean = pg.PlotDataItem(t, c.mean(axis=1), pen=pg.mkPen((255, 255, 255), width=3), name="mean")
        mean.setDownsampling(auto=True, method="mean")
        pi.addItem(mean)
        mean.setClipToView(True)
        self.curves.append(mean)
        pi.setYRange(0, max(1e-3, float(np.nanmax(c))) * 1.05, padding=0)
        self.set_n_frames(c.shape[0])
