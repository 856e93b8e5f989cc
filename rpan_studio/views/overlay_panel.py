"""The Overlays panel: which layers are drawn over the frame, written into StudioState.overlay.

Why it writes the state rather than the view: the live view and the video
exporter must draw the same thing, and both read the one
:class:`~rpan_studio.views.overlays.OverlayOptions` in the state.
The panel also holds the two-stream controls: the optical-flow layer and which
stream's attention is shown.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QSlider, QWidget

from rpan_core.skeleton import Skeleton
from rpan_studio.state import StudioState
from rpan_studio.views.flow_layer import flow_wheel_pixmap
from rpan_studio.views.overlays import HEAT_MODES

__all__ = ["OverlayPanel"]


class OverlayPanel(QWidget):
    """Check boxes, heat-map mode and opacity; the flow layer switch; the stream selector."""

    flowToggled = pyqtSignal(bool)
    streamChosen = pyqtSignal(str)  # "rgb" | "flow"

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.skeleton: Skeleton | None = None
        form = QFormLayout(self)
        self.heat_check = QCheckBox("attention heat map")
        self.heat_check.setChecked(True)
        self.heat_mode = QComboBox()
        self.heat_mode.addItems(["one joint", "body part", "all joints (mean)", "all joints (max)"])
        self.heat_mode.setCurrentIndex(2)
        self.heat_joint = QComboBox()
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.skeleton_check = QCheckBox("estimated pose (colour = confidence)")
        self.skeleton_check.setChecked(True)
        self.annotation_check = QCheckBox("annotated pose (editable)")
        self.annotation_check.setChecked(True)
        self.caption_check = QCheckBox("predicted action caption")
        self.caption_check.setChecked(True)
        form.addRow(self.heat_check)
        form.addRow("map of", self.heat_mode)
        form.addRow("joint / part", self.heat_joint)
        form.addRow("opacity", self.opacity)
        form.addRow(self.skeleton_check)
        form.addRow(self.annotation_check)
        form.addRow(self.caption_check)
        for w in (self.heat_check, self.skeleton_check, self.annotation_check, self.caption_check):
            w.toggled.connect(self._changed)
        # two streams: the optical-flow layer and which stream's attention is shown
        self.flow_check = QCheckBox("optical flow (colour = direction)")
        self.flow_check.setToolTip("Dense optical flow from this frame to the next (the flow stream's input), "
                                   "computed once per video into the project's flow cache")
        self.flow_wheel = QLabel()
        self.flow_wheel.setPixmap(flow_wheel_pixmap(40))
        self.flow_wheel.setToolTip("Colour wheel: the colour of motion toward each direction (right red, "
                                   "left cyan); brighter = faster")
        row = QHBoxLayout()
        row.addWidget(self.flow_check)
        row.addWidget(self.flow_wheel)
        row.addStretch(1)
        form.addRow(row)
        self.stream_combo = QComboBox()
        self.stream_combo.addItems(["RGB stream", "flow stream"])
        self.stream_combo.setEnabled(False)
        self.stream_combo.setToolTip("With two checkpoints (Model > Choose flow checkpoint): whose attention maps "
                                     "and poses are shown; the action probabilities are the fused ones")
        form.addRow("attention of", self.stream_combo)
        self.flow_check.toggled.connect(self.flowToggled)
        self.stream_combo.currentIndexChanged.connect(lambda i: self.streamChosen.emit(("rgb", "flow")[max(0, i)]))
        self.heat_mode.currentIndexChanged.connect(self._heat_mode_changed)
        self.heat_joint.currentIndexChanged.connect(self._changed)
        self.opacity.valueChanged.connect(self._changed)

    def set_skeleton(self, skeleton: Skeleton | None) -> None:
        self.skeleton = skeleton
        self.heat_joint.blockSignals(True)
        self._fill_heat_joint()
        self.heat_joint.blockSignals(False)

    def show_streams(self, two: bool, shown: str) -> None:
        """Enable the stream selector for a two-stream analysis and show which stream is drawn."""
        self.stream_combo.blockSignals(True)
        self.stream_combo.setEnabled(two)
        self.stream_combo.setCurrentIndex(1 if shown == "flow" else 0)
        self.stream_combo.blockSignals(False)

    def _fill_heat_joint(self) -> None:
        self.heat_joint.clear()
        if self.skeleton is None:
            return
        names = self.skeleton.parts if self.heat_mode.currentIndex() == 1 else self.skeleton.joints
        self.heat_joint.addItems(list(names))
        self.heat_joint.setEnabled(self.heat_mode.currentIndex() in (0, 1))

    def _heat_mode_changed(self) -> None:
        self.heat_joint.blockSignals(True)
        self._fill_heat_joint()
        self.heat_joint.blockSignals(False)
        self._changed()

    def _changed(self) -> None:
        mode = HEAT_MODES[self.heat_mode.currentIndex()]
        sel = max(0, self.heat_joint.currentIndex())
        part_joints = self.state.overlay.part_joints
        if mode == "part" and self.skeleton is not None:
            part = self.skeleton.parts[min(sel, len(self.skeleton.parts) - 1)]
            part_joints = self.skeleton.joints_of_part(part)
        self.state.set_overlay(heat=self.heat_check.isChecked(), heat_mode=mode, joint=sel, part_joints=part_joints,
                               opacity=self.opacity.value() / 100.0, skeleton=self.skeleton_check.isChecked(),
                               caption=self.caption_check.isChecked(),
                               annotation=self.annotation_check.isChecked())
