"""Project.close folds the WAL into project.db: the database file alone holds every label afterwards."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from rpan_core.project import DB_NAME, Project
from tests.conftest import write_frames


def db_alone_label_count(folder: Path, tmp: Path) -> int:
    """Labels readable from a copy of project.db alone (no -wal beside it), as a backup would see them."""
    tmp.mkdir()
    shutil.copy(folder / DB_NAME, tmp / DB_NAME)
    db = sqlite3.connect(tmp / DB_NAME)
    try:
        if db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'labels'").fetchone()[0] == 0:
            return 0  # an empty shell: even the schema is still in the WAL
        return int(db.execute("SELECT COUNT(*) FROM labels").fetchone()[0])
    finally:
        db.close()


def test_close_checkpoints_the_wal(tmp_path, make_project):
    project = make_project()
    vid = project.add_video(write_frames(tmp_path / "clip", 4))
    project.set_labels(vid, [(t, j, 1.0 + j, 2.0 + t, True, "manual") for t in range(4) for j in range(13)])
    wal = project.folder / (DB_NAME + "-wal")
    assert wal.exists() and wal.stat().st_size > 0  # before closing, the labels live in the WAL
    assert db_alone_label_count(project.folder, tmp_path / "before") == 0
    other = Project.open(project.folder)  # another connection stays open (SQLite folds the WAL only at the last)
    project.close()
    assert wal.stat().st_size == 0
    assert db_alone_label_count(project.folder, tmp_path / "after") == 52
    project.close()  # idempotent
    other.close()
