"""The Train dialog's "Model" box: which model trains (preset), at what input size and resolution, and
which of its parts train; with the account of the labels it will learn from.

Why a box of its own: the choices depend on each other (the labeling recipe caches a frozen ImageNet
trunk, so only its neck and head can train, and it needs a time budget; a random backbone is not worth
freezing; a checkpoint fixes its own model) and on the "Start from" choice. Keeping those rules here,
with the mapping to `rpan train` options in :func:`rpan_studio.dialogs.training_run.train_command`,
leaves the dialog itself to run control.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from rpan_core.errors import TrainingError
from rpan_studio.dialogs.training_run import (
    MODEL_PRESETS,
    TRAINS,
    checkpoint_model,
    preset_geometry,
    strides_for,
    trains_for,
)

__all__ = ["ModelBox", "FROM_CHECKPOINT", "parse_input_size"]

#: The preset combo's first item: the starting checkpoint's own model.
FROM_CHECKPOINT = "checkpoint"

#: The labeling recipe's default time budget (minutes): a usable model of a few keyframes on a CPU.
LABELING_MINUTES = 5.0

#: Each recipe's usual learning rate (the keyframes trainer's AdamW; the engine's SGD).
DEFAULT_LR = {"labeling": 0.004}


def parse_input_size(text: str) -> tuple[int, int] | None:
    """``'256x192'`` -> (256, 192); empty -> None (the model's own); anything else -> TrainingError."""
    t = text.strip().lower().replace(" ", "")
    if not t:
        return None
    try:
        h, w = (int(v) for v in t.split("x"))
    except ValueError:
        raise TrainingError(f"input size {text!r} must look like 256x192 (height x width in pixels)") from None
    return h, w


class ModelBox(QGroupBox):
    """Preset, input size, resolution (feature stride), what trains, time budget, and the data account."""

    changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Model", parent)
        form = QFormLayout(self)
        self.preset_combo = QComboBox()
        self.preset_combo.addItem("the starting checkpoint's model", FROM_CHECKPOINT)
        for name, text in MODEL_PRESETS.items():
            self.preset_combo.addItem(text, name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.setToolTip("rpan train --model-preset: a new model of this kind (a checkpoint fixes its "
                                     "own model)")
        form.addRow("Preset", self.preset_combo)
        self.input_edit = QLineEdit()
        self.input_edit.setToolTip("rpan train --input-size HxW: the frame (or person crop) size fed to the "
                                   "backbone; empty: the model's own")
        form.addRow("Input size", self.input_edit)
        self.stride_combo = QComboBox()
        self.stride_combo.setToolTip("rpan train --backbone-stride: pixels per attention cell (finer: sharper "
                                     "poses, slower)")
        form.addRow("Resolution", self.stride_combo)
        self.trains_combo = QComboBox()
        self.trains_combo.setToolTip("what trains: --freeze-backbone (head only), --freeze-stages stem|partial")
        form.addRow("Trains", self.trains_combo)
        self.minutes_spin = QDoubleSpinBox()
        self.minutes_spin.setRange(0.0, 24 * 60.0)
        self.minutes_spin.setDecimals(1)
        self.minutes_spin.setSuffix(" min")
        self.minutes_spin.setSpecialValueText("no limit")
        self.minutes_spin.setToolTip("rpan train --minutes: the run ends cleanly when the time is spent")
        form.addRow("Time budget", self.minutes_spin)
        self.flip_check = QCheckBox("read each frame with its mirror image too")
        self.flip_check.setToolTip("rpan train --flip-test (labeling model): every analysis averages a frame's "
                                   "reading with its mirror's, at twice the backbone's cost; it helped on camera "
                                   "views the keyframes do not show (docs/real_video.md)")
        form.addRow("Mirror test", self.flip_check)
        self.between_spin = QSpinBox()
        self.between_spin.setRange(0, 30)
        self.between_spin.setSpecialValueText("keyframes only")
        self.between_spin.setSuffix(" frames between keyframes")
        self.between_spin.setToolTip("rpan train --between N (labeling model): also learn from N frames between "
                                     "each two keyframes at most 15 frames apart, their poses interpolated from the "
                                     "two; it helped on camera views the keyframes do not show (docs/real_video.md)")
        form.addRow("Also learn from", self.between_spin)
        for combo in (self.preset_combo, self.stride_combo, self.trains_combo):  # long item texts: the
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(24)  # dialog keeps a laptop's width; the open list shows them whole
        self.note_label = QLabel("")
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("QLabel { color: #666; }")
        form.addRow(self.note_label)
        self.start_preset: str | None = None  # the starting checkpoint's preset (None: unknown or scratch)
        self.start_geometry: tuple[tuple[int, int] | None, int | None] = (None, None)
        self.scratch = True
        self.stream = "rgb"
        self.preset_combo.currentIndexChanged.connect(self._preset_changed)
        self.input_edit.textChanged.connect(lambda _t: self._update_grid())
        self.stride_combo.currentIndexChanged.connect(lambda _i: self._update_grid())
        self.trains_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.flip_check.toggled.connect(lambda _c: self.changed.emit())
        self.between_spin.valueChanged.connect(lambda _v: self.changed.emit())
        self.between_spin.valueChanged.connect(  # "1 frame", "4 frames"
            lambda v: self.between_spin.setSuffix(f" frame{'' if v == 1 else 's'} between keyframes"))

    # ------------------------------------------------------------------ state
    def preset(self) -> str | None:
        """The chosen preset name, or None for the starting checkpoint's own model."""
        data = self.preset_combo.currentData()
        return None if data == FROM_CHECKPOINT else str(data)

    def effective_preset(self) -> str | None:
        """The preset of the model that will train (the checkpoint's when it keeps its own)."""
        return self.preset() or (self.start_preset if not self.scratch else "demo")

    def recipe(self) -> str:
        """``keyframes`` (the labeling trainer) or ``engine``."""
        return "keyframes" if self.effective_preset() == "labeling" else "engine"

    def set_start(self, checkpoint: str | None, stream: str = "rgb") -> None:
        """Follow the dialog's "Start from" choice (None: scratch) and stream."""
        self.scratch, self.stream = checkpoint is None, stream
        name, size, stride = checkpoint_model(checkpoint) if checkpoint else (None, None, None)
        self.start_preset, self.start_geometry = name, (size, stride)
        item = self.preset_combo.model().item(0)
        item.setEnabled(not self.scratch)
        label = f" ({name})" if name else ""
        self.preset_combo.setItemText(0, f"the starting checkpoint's model{label}")
        self.preset_combo.blockSignals(True)
        if self.scratch and self.preset() is None:
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(self.default_scratch_preset))
        elif not self.scratch and self.preset() is not None and not self._continues(self.preset()):
            self.preset_combo.setCurrentIndex(0)  # a checkpoint fixes its own model
        self.preset_combo.blockSignals(False)
        self._refresh(keep_lr=True)

    default_scratch_preset = "demo"

    def _continues(self, preset: str | None) -> bool:
        """A chosen preset can continue the starting checkpoint only when it is the labeling model on a
        labeling checkpoint (the few-keyframe trainer's --init)."""
        return preset == "labeling" and self.start_preset == "labeling"

    def _preset_changed(self, _i: int) -> None:
        self._refresh(keep_lr=False)

    def _refresh(self, keep_lr: bool) -> None:
        preset = self.effective_preset()
        size, stride = (self.start_geometry if self.preset() is None and not self.scratch
                        else preset_geometry(preset) if preset in MODEL_PRESETS else (None, None))
        self.input_edit.setPlaceholderText(f"{size[0]}x{size[1]} (the model's own)" if size else "the model's own")
        current = self.stride_combo.currentData()
        self.stride_combo.blockSignals(True)
        self.stride_combo.clear()
        self.stride_combo.addItem(f"the model's own ({stride} px cells)" if stride else "the model's own", None)
        for s in strides_for(preset):
            if s != stride:
                self.stride_combo.addItem(f"{s} px cells", s)
        idx = self.stride_combo.findData(current)
        self.stride_combo.setCurrentIndex(max(idx, 0))
        self.stride_combo.blockSignals(False)
        chosen = self.trains_combo.currentData()
        self.trains_combo.blockSignals(True)
        self.trains_combo.clear()
        for key in trains_for(preset, self.scratch, self.stream):
            self.trains_combo.addItem(TRAINS[key], key)
            self.trains_combo.setItemData(self.trains_combo.count() - 1, TRAINS[key], Qt.ItemDataRole.ToolTipRole)
        idx = self.trains_combo.findData(chosen)
        self.trains_combo.setCurrentIndex(max(idx, 0))
        self.trains_combo.blockSignals(False)
        labeling = preset == "labeling"
        self.flip_check.setEnabled(labeling)
        self.between_spin.setEnabled(labeling)
        if not labeling:
            self.flip_check.setChecked(False)
            self.between_spin.setValue(0)
        minutes = self.minutes_spin.value()
        self.minutes_spin.setMinimum(0.5 if labeling else 0.0)
        if labeling and minutes < 0.5:
            self.minutes_spin.setValue(LABELING_MINUTES)  # the recipe needs a budget
        elif not labeling and minutes == LABELING_MINUTES:
            self.minutes_spin.setValue(0.0)  # the labeling default does not carry over to epochs
        self._update_grid()

    def _update_grid(self) -> None:
        """The note under the form: the attention grid the choices give, and what the recipe does."""
        preset = self.effective_preset()
        size, stride = (self.start_geometry if self.preset() is None and not self.scratch
                        else preset_geometry(preset) if preset in MODEL_PRESETS else (None, None))
        try:
            size = parse_input_size(self.input_edit.text()) or size
        except TrainingError as exc:
            self.note_label.setText(str(exc))
            self.changed.emit()
            return
        stride = self.stride_combo.currentData() or stride
        parts = []
        if size and stride:
            parts.append(f"attention grid {size[0] // stride} x {size[1] // stride} cells of {stride} px "
                         f"on a {size[0]}x{size[1]} input")
        if preset == "labeling":
            parts.append("few-keyframe trainer: person crops, ImageNet trunk frozen and cached, poses only; "
                         "trains for the time budget")
        self.note_label.setText("; ".join(parts))
        self.changed.emit()

    def choices(self) -> dict[str, Any]:
        """The box as TrainingOptions fields (raises TrainingError on a bad input size)."""
        minutes = self.minutes_spin.value()
        preset = self.preset()
        if preset is None and not self.scratch and self.start_preset == "labeling":
            preset = "labeling"  # continuing a labeling checkpoint is the few-keyframe trainer's --init
        return dict(model_preset=preset, input_size=parse_input_size(self.input_edit.text()),
                    backbone_stride=self.stride_combo.currentData(), trains=str(self.trains_combo.currentData()),
                    minutes=minutes if minutes > 0 else None,
                    flip_test=self.flip_check.isEnabled() and self.flip_check.isChecked(),
                    between=self.between_spin.value() if self.between_spin.isEnabled() else 0)
