"""The F1 dialog: every keyboard shortcut, read from the one action table (rpan_studio.actions)."""

from __future__ import annotations

from PyQt6.QtWidgets import QDialog, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from rpan_studio.actions import ACTIONS, keys_file, shortcut

__all__ = ["ShortcutsDialog"]


class ShortcutsDialog(QDialog):
    """A table of keys and what they do (the window's and the pose editor's)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = [(shortcut(a.name), a.description, a.name) for a in ACTIONS if shortcut(a.name)]
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["keys", "what it does", "name (keys file)"])
        for i, (k, d, n) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(k))
            self.table.setItem(i, 1, QTableWidgetItem(d))
            self.table.setItem(i, 2, QTableWidgetItem(n))
        self.table.horizontalHeader().moveSection(2, 1)  # keys, name, what it does (the long one last)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        note = QLabel(f'Change keys in {keys_file()} (read at start), e.g. {{"heat": "F6"}}')
        note.setWordWrap(True)
        lay.addWidget(note)
        self.resize(900, 600)
