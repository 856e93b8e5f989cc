"""Shared test helpers for the pose editor / commands / crash tests: a tiny real project.

The editor is written against docs/interfaces.md. While ``rpan_core.project`` is not
in the tree, :func:`project_class` gives a small SQLite stand-in implementing exactly
the documented calls the editor and commands make (WAL, one transaction per
set_labels), so these tests run either way; once the real module exists it is used
and the stand-in is never loaded.
"""

from __future__ import annotations

import enum
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def project_class():
    """rpan_core.project.Project when it exists, else the stand-in below (never put into sys.modules,
    so no other test module sees it)."""
    if not has_real_store():  # (another test module may have put its own stand-in in sys.modules)
        return _StandinProject
    from rpan_core.project import Project

    return Project


def has_real_store() -> bool:
    """True when rpan_core.project is the real module (not this file's stand-in)."""
    import importlib

    try:
        return hasattr(importlib.import_module("rpan_core.project"), "__file__")
    except ImportError:
        return False


N_FRAMES = 12
WIDTH, HEIGHT = 64, 48
CLASSES = ["jump", "squat", "wave"]


# ---- stand-in (only while rpan_core.project is missing) --------------------------------

class _LabelSource(str, enum.Enum):
    MANUAL = "manual"
    CORRECTED = "corrected"
    ACCEPTED = "accepted"
    IMPORTED = "imported"


@dataclass
class _Label:
    x: float
    y: float
    visible: bool
    source: _LabelSource


@dataclass
class _VideoRecord:
    id: int
    path: str
    frame_count: int
    action: str | None


class _StandinProject:
    """The documented Project calls the editor and commands use, on SQLite (WAL, autocommit)."""

    def __init__(self, folder) -> None:
        self.folder = Path(folder)
        self.runs_dir = self.folder / "runs"
        self.db = sqlite3.connect(self.folder / "project.db", isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        meta = dict(self.db.execute("SELECT k, v FROM meta"))
        self.skeleton = meta["skeleton"]
        self.classes = json.loads(meta["classes"])

    @classmethod
    def create(cls, folder, skeleton="pennaction", classes=()):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(folder / "project.db")
        db.executescript(
            "CREATE TABLE meta(k PRIMARY KEY, v);"
            "CREATE TABLE videos(id INTEGER PRIMARY KEY, path, frame_count, action);"
            "CREATE TABLE labels(video, frame, joint, x, y, visible, source, PRIMARY KEY(video, frame, joint));")
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("skeleton", skeleton), ("classes", json.dumps(list(classes)))])
        db.commit()
        db.close()
        return cls(folder)

    @classmethod
    def open(cls, folder):
        return cls(folder)

    def add_video(self, path, action=None, split="train"):
        n = len(list(Path(path).glob("*.png"))) if Path(path).is_dir() else 0
        return self.db.execute("INSERT INTO videos(path, frame_count, action) VALUES (?, ?, ?)",
                               (str(path), n, action)).lastrowid

    def video(self, video_id):
        return _VideoRecord(*self.db.execute("SELECT id, path, frame_count, action FROM videos WHERE id=?",
                                             (video_id,)).fetchone())

    def set_action(self, video_id, action):
        self.db.execute("UPDATE videos SET action=? WHERE id=?", (action, video_id))

    def set_label(self, video_id, frame, joint, x, y, visible=True, source="manual"):
        self.set_labels(video_id, [(frame, joint, x, y, visible, source)])

    def set_labels(self, video_id, rows):
        self.db.execute("BEGIN")
        self.db.executemany("INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [(video_id, f, j, x, y, int(v), _LabelSource(getattr(s, "value", s)).value)
                             for f, j, x, y, v, s in rows])
        self.db.execute("COMMIT")

    def delete_label(self, video_id, frame, joint):
        self.db.execute("DELETE FROM labels WHERE video=? AND frame=? AND joint=?", (video_id, frame, joint))

    def frame_labels(self, video_id, frame):
        q = "SELECT joint, x, y, visible, source FROM labels WHERE video=? AND frame=?"
        return {j: _Label(x, y, bool(v), _LabelSource(s)) for j, x, y, v, s in self.db.execute(q, (video_id, frame))}

    def labeled_frames(self, video_id):
        q = "SELECT DISTINCT frame FROM labels WHERE video=? ORDER BY frame"
        return [r[0] for r in self.db.execute(q, (video_id,))]

    def runs(self):
        return []

    def close(self):
        self.db.close()


def write_frames(folder: Path, n: int = N_FRAMES, width: int = WIDTH, height: int = HEIGHT) -> Path:
    """A folder of n small PNG frames (a video as a frame folder), each a different gray level."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.full((height, width, 3), (20 + 10 * i) % 250, np.uint8)
        cv2.imwrite(str(folder / f"{i:05d}.png"), img)
    return folder


def make_project(root: Path, n_frames: int = N_FRAMES):
    """A real rpan_core.project.Project with one video of n_frames; returns (project, video_id)."""
    Project = project_class()
    frames = write_frames(root / "clip", n_frames)
    project = Project.create(root / "proj", skeleton="pennaction", classes=CLASSES)
    vid = project.add_video(frames, action=None)
    return project, vid


def rows(project, video_id: int, frame: int) -> dict[int, tuple[float, float, bool, str]]:
    """The stored labels of one frame as plain tuples (source as its lowercase string)."""
    out = {}
    for j, lab in project.frame_labels(video_id, frame).items():
        src = getattr(lab.source, "value", lab.source)
        out[j] = (float(lab.x), float(lab.y), bool(lab.visible), str(src).lower())
    return out
