"""The Persons dock: the open video's persons, each with its colour; selecting one makes it the edited person.

The buttons are the Persons menu's actions (add, rename, delete, swap, box); the
list only selects. It is rebuilt from the store whenever persons change (an
edit, undo or redo anywhere) so it never shows a person that is not stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QIcon, QPixmap
from PyQt6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from rpan_studio import commands as cmds
from rpan_studio.person_commands import person_colour

if TYPE_CHECKING:  # pragma: no cover
    from rpan_studio.state import StudioState

__all__ = ["PersonsPanel", "swatch"]


def swatch(colour: tuple[int, int, int], size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor(*colour))
    return QIcon(pm)


class PersonsPanel(QWidget):
    """A list of the video's persons (id, name, colour) bound to ``state.person``."""

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.list = QListWidget()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.list)
        self._filling = False
        self.list.currentItemChanged.connect(self._picked)
        state.videoChanged.connect(lambda _v: self.refresh())
        state.personChanged.connect(lambda _p: self._select_current())
        cmds.notifier().personsChanged.connect(self._store_changed)

    def add_button(self, widget: QWidget) -> None:
        """Put a button (or a row of them) under the list."""
        self.layout().addWidget(widget)

    def ids(self) -> list[int]:
        return [int(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())]

    def refresh(self) -> None:
        st = self.state
        self._filling = True
        try:
            self.list.clear()
            if st.project is None or st.video_id is None:
                return
            for p in st.project.persons(st.video_id):
                item = QListWidgetItem(swatch(person_colour(p.id)), f"{p.id}  {p.name}")
                item.setData(Qt.ItemDataRole.UserRole, p.id)
                self.list.addItem(item)
        finally:
            self._filling = False
        ids = self.ids()
        if ids and st.person not in ids:  # the selected person went (deleted, undo of an add)
            st.set_person(ids[0])
        self._select_current()

    def _select_current(self) -> None:
        for i, pid in enumerate(self.ids()):
            if pid == self.state.person:
                self._filling = True
                try:
                    self.list.setCurrentRow(i)
                finally:
                    self._filling = False
                return

    def _picked(self, item: QListWidgetItem | None, _prev: QListWidgetItem | None) -> None:
        if self._filling or item is None:
            return
        self.state.set_person(int(item.data(Qt.ItemDataRole.UserRole)))

    def _store_changed(self, project: object, video_id: int) -> None:
        if project is self.state.project and video_id == self.state.video_id:
            self.refresh()
