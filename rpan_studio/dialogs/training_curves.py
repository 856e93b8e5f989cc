"""The training dialog's live curves: loss per step, validation metrics per epoch, from ``events.jsonl``."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PyQt6.QtWidgets import QHBoxLayout, QWidget

from rpan_studio.dialogs.training_run import IntegerAxis, whole

__all__ = ["TrainingCurves", "step_summary"]


def step_summary(ev: dict[str, Any], step: int, total: int) -> str:
    """One line for a ``step`` event: step, epoch, loss, learning rate, throughput."""
    bits = [f"step {step}/{total or '?'}", f"epoch {whole(ev.get('epoch', '?'))}"]
    if isinstance(ev.get("loss"), (int, float)):
        bits.append(f"loss {ev['loss']:.4f}")
    if isinstance(ev.get("lr"), (int, float)):
        bits.append(f"lr {ev['lr']:.3g}")
    if isinstance(ev.get("clips_per_s"), (int, float)):
        bits.append(f"{ev['clips_per_s']:.1f} clips/s")
    return "  ".join(bits)


class TrainingCurves(QWidget):
    """Two plots side by side; :meth:`add` takes parsed events and redraws what changed."""

    LOSS_KEYS = ("loss", "action_loss", "pose_loss")
    METRIC_KEYS = ("val_accuracy", "val_pck", "train_accuracy")
    COLORS = {
        "loss": (240, 240, 240),
        "action_loss": (230, 120, 60),
        "pose_loss": (70, 160, 240),
        "val_accuracy": (240, 200, 60),
        "val_pck": (90, 210, 120),
        "train_accuracy": (200, 110, 220),
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        plots = QHBoxLayout(self)
        plots.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = pg.PlotWidget(title="Training loss", axisItems={"bottom": IntegerAxis("bottom")})
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.addLegend(offset=(-10, 5), brush=(0, 0, 0, 170), colCount=3)
        self.loss_plot.showGrid(x=True, y=True, alpha=0.25)
        self.metric_plot = pg.PlotWidget(title="Validation", axisItems={"bottom": IntegerAxis("bottom")})
        self.metric_plot.setLabel("bottom", "epoch")
        self.metric_legend = self.metric_plot.addLegend(offset=(10, 5), brush=(0, 0, 0, 170), colCount=3)
        self.metric_plot.showGrid(x=True, y=True, alpha=0.25)
        self.metric_plot.setYRange(0.0, 1.2, padding=0)  # headroom above 1.0 for the legend row
        self.metric_plot.getAxis("left").setTicks([[(v / 5, f"{v / 5:.1f}") for v in range(6)]])
        self.curves: dict[str, pg.PlotDataItem] = {}
        for k in self.LOSS_KEYS:
            self.curves[k] = self.loss_plot.plot([], [], name=k, pen=pg.mkPen(self.COLORS[k], width=2))
        for k in self.METRIC_KEYS:
            self.curves[k] = self.metric_plot.plot(
                [], [], name=k, pen=pg.mkPen(self.COLORS[k], width=2),
                symbol="o", symbolSize=6, symbolBrush=self.COLORS[k], symbolPen=None)
        # below this the plots' titles, legends and axes leave no room for a curve (a short dialog)
        self.setMinimumHeight(170)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.metric_plot)
        # why the validation plot is empty (no validation labels), said inside it until a point arrives
        self.empty_note = pg.TextItem("", color=(235, 235, 235), anchor=(0.5, 0.5), fill=pg.mkBrush(0, 0, 0, 170))
        self.empty_note.setPos(0.5, 0.6)
        self.empty_note.hide()
        self.metric_plot.addItem(self.empty_note, ignoreBounds=True)
        self.x: dict[str, list[float]] = {k: [] for k in self.LOSS_KEYS + self.METRIC_KEYS}
        self.y: dict[str, list[float]] = {k: [] for k in self.LOSS_KEYS + self.METRIC_KEYS}

    def set_empty_note(self, text: str) -> None:
        """A sentence in the validation plot while it has no point ('' hides it)."""
        self.empty_note.setText(text)
        has_points = any(self.x[k] for k in self.METRIC_KEYS)
        self._show_note(bool(text) and not has_points)

    def _show_note(self, show: bool) -> None:
        """The note and the legend share the plot's top: a legend of curves that cannot come is hidden."""
        self.empty_note.setVisible(show)
        self.metric_legend.setVisible(not show)

    def clear(self) -> None:
        for k, c in self.curves.items():
            self.x[k].clear()
            self.y[k].clear()
            c.setData([], [])

    def add(self, events: list[dict[str, Any]]) -> None:
        dirty: set[str] = set()
        for ev in events:
            kind = ev.get("type")
            if kind == "step":
                keys, at = self.LOSS_KEYS, float(ev.get("step", len(self.x["loss"])))
            elif kind == "epoch":
                keys, at = self.METRIC_KEYS, float(ev.get("epoch", len(self.x["val_accuracy"])))
            else:
                continue
            for k in keys:
                v = ev.get(k)
                if isinstance(v, (int, float)) and v == v:  # not NaN
                    self.x[k].append(at)
                    self.y[k].append(float(v))
                    dirty.add(k)
        for k in dirty:
            self.curves[k].setData(self.x[k], self.y[k])
        if any(k in self.METRIC_KEYS for k in dirty):
            self._show_note(False)
