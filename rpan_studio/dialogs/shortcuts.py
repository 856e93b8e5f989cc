"""The F1 dialog: every keyboard shortcut, read from the one action table (rpan_studio.actions)."""

from __future__ import annotations

from PyQt6.QtWidgets import QDialog, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from rpan_studio.actions import help_rows

__all__ = ["ShortcutsDialog"]


class ShortcutsDialog(QDialog):
    """A table of keys and what they do (the window's and the pose editor's)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = help_rows()
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels(["keys", "what it does"])
        for i, (k, d) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(k))
            self.table.setItem(i, 1, QTableWidgetItem(d))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        self.resize(620, 560)
