"""The Videos dock: the project's videos, a missing file in red with how to relink it."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QListWidget, QListWidgetItem

from rpan_core.project import Project

__all__ = ["VideoList"]


class VideoList(QListWidget):
    """One row per video (name, frame count, action); the video's id is the item's UserRole data."""

    def refresh(self, project: Project, current: int | None) -> None:
        """Re-list the videos without emitting a selection change; ``current`` stays selected."""
        self.blockSignals(True)
        self.clear()
        for rec in project.videos():
            label = f"{Path(rec.path).name}  ({rec.frame_count} fr{', ' + rec.action if rec.action else ''})"
            it = QListWidgetItem(label)
            it.setData(Qt.ItemDataRole.UserRole, int(rec.id))
            it.setToolTip(str(rec.path))
            if not Path(rec.path).exists():
                it.setForeground(pg.mkColor(220, 80, 80))
                it.setToolTip(f"{rec.path} is missing: relink it (File > Add videos)")
            self.addItem(it)
            if current is not None and int(rec.id) == current:
                self.setCurrentItem(it)
        self.blockSignals(False)

    @staticmethod
    def video_id(item: QListWidgetItem) -> int:
        return int(item.data(Qt.ItemDataRole.UserRole))
