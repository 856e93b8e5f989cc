"""The model's card (Model > Model card): what the current checkpoint was trained on, and whether the
open video is far from that. The banner over the video says the same in one line.

Why: a checkpoint's poses look equally confident on any video; the card (rpan_core.model_card, stored
in the checkpoint) is what tells a person whether to trust them here.
"""
from __future__ import annotations

import os
from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from rpan_core.errors import RPANError
from rpan_core.model_card import ModelCard, card_lines

__all__ = ["ModelCardDialog", "ModelBanner", "read_card"]

_CACHE: dict[tuple[str, int, int], tuple[ModelCard | None, str]] = {}


def read_card(path: str | os.PathLike | None) -> tuple[ModelCard | None, str]:
    """(card or None, '' or why it could not be read) of a checkpoint, cached by path, size and mtime."""
    if not path:
        return None, "no checkpoint"
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        return None, str(exc)
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _CACHE:
        from rpan_core.checkpoint import read_checkpoint

        try:
            _CACHE[key] = (read_checkpoint(p)[1].card, "")
        except RPANError as exc:
            _CACHE[key] = (None, str(exc))
    return _CACHE[key]


class ModelBanner(QLabel):
    """One plain line over the video when the model's poses there are not estimates (hidden otherwise)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setStyleSheet("QLabel { background: #f2c94c; color: #1a1a1a; font-weight: bold; font-size: 13px;"
                           " padding: 6px 10px; border-radius: 3px; }")
        self.setToolTip("Model > Model card says what this model was trained on")
        self.hide()

    def set_warnings(self, warnings: list[str]) -> None:
        self.setText("\n".join(warnings))
        self.setVisible(bool(warnings))


class ModelCardDialog(QDialog):
    """The card's rows, the checkpoint's path and where it came from, and the warnings for the open video."""

    def __init__(self, checkpoint: str | None, origin: str | None, warnings: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model card")
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        card, error = read_card(checkpoint)
        head = QLabel(f"<b>{Path(checkpoint).name if checkpoint else 'No checkpoint'}</b>"
                      + (f" &nbsp;({origin})" if origin and checkpoint else ""))
        lay.addWidget(head)
        form = QFormLayout()
        self.rows: list[tuple[str, str]] = []
        if checkpoint:
            self.rows.append(("File", str(checkpoint)))
        if error and checkpoint:
            self.rows.append(("Error", error))
        elif checkpoint:
            self.rows.extend(card_lines(card))
        else:
            self.rows.append(("Checkpoint", "none: choose one (Model > Choose checkpoint) or train one"))
        for k, v in self.rows:
            val = QLabel(v)
            val.setWordWrap(True)
            val.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{k}:", val)
        lay.addLayout(form)
        self.warning_label = QLabel("\n".join(warnings) if warnings else
                                    "The open video is within what this model was trained on.")
        self.warning_label.setWordWrap(True)
        if warnings:
            self.warning_label.setStyleSheet("QLabel { background: #f2c94c; color: #1a1a1a; font-weight: bold;"
                                             " padding: 6px; }")
        lay.addWidget(self.warning_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        lay.addWidget(buttons)
        self.adjustSize()

    def text(self) -> str:
        """Everything the dialog shows, as plain text (tests, copy)."""
        return "\n".join(f"{k}: {v}" for k, v in self.rows) + "\n" + self.warning_label.text()
