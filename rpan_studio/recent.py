"""The "Open recent" list: the last project folders opened, newest first, kept in the user's settings."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QSettings

__all__ = ["RecentProjects", "MAX_RECENT"]

MAX_RECENT = 8


class RecentProjects:
    def __init__(self, settings: QSettings, key: str = "recent_projects") -> None:
        self.settings = settings
        self.key = key

    def folders(self) -> list[str]:
        v = self.settings.value(self.key, [])
        return [str(x) for x in ([v] if isinstance(v, str) else (v or []))]

    def add(self, folder: str | Path) -> None:
        folder = str(Path(folder).resolve())
        self.settings.setValue(self.key, ([folder] + [r for r in self.folders() if r != folder])[:MAX_RECENT])
