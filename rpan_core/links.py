"""Which video paths outside a project folder this user linked to that project.

Why a record outside the project: a project folder may come from someone else (a
shared project, a download). Its database can name any path on disk as a video
(``/etc/passwd``, a private photo folder), and an export would then copy those
images out. A path inside the project folder is fine; a path outside it is used
only when *this user* added or relinked it to *this project* on this machine,
which is recorded here, in the user's own config folder, where a crafted project
cannot write. A project moved to another machine thus asks once to relink its
outside videos (:meth:`rpan_core.project.Project.relink`).

Stored in ``<config>/linked-videos.db`` (SQLite, so several processes may add
links at once): ``RPAN_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/rpan-studio``, else
``~/.config/rpan-studio``. When it cannot be written, links last for the process.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

_LOCK = threading.Lock()
_MEMO: dict[str, set[str]] = {}


def config_dir() -> Path:
    env = os.environ.get("RPAN_CONFIG_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "rpan-studio"


def _connect() -> sqlite3.Connection | None:
    try:
        folder = config_dir()
        folder.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(folder / "linked-videos.db"), timeout=30, isolation_level=None)
        db.execute("CREATE TABLE IF NOT EXISTS links(project TEXT NOT NULL, path TEXT NOT NULL, "
                   "PRIMARY KEY(project, path)) WITHOUT ROWID")
        return db
    except (OSError, sqlite3.Error):
        return None


def real(path: str | os.PathLike) -> str:
    """The path with symlinks and ``..`` resolved (what is actually read)."""
    return os.path.realpath(os.fspath(path))


def linked_paths(project_id: str) -> set[str]:
    """Every real path this user linked to the project (read once per process, then kept up to date)."""
    key = f"{config_dir()}|{project_id}"
    with _LOCK:
        hit = _MEMO.get(key)
        if hit is not None:
            return hit
        out: set[str] = set()
        db = _connect()
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                out = {r[0] for r in db.execute("SELECT path FROM links WHERE project=?", (project_id,))}
            db.close()
        _MEMO[key] = out
        return out


def record_link(project_id: str, path: str | os.PathLike) -> None:
    """Note that the user chose ``path`` as a video of the project."""
    p = real(path)
    known = linked_paths(project_id)
    with _LOCK:
        known.add(p)
        db = _connect()
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.execute("INSERT OR IGNORE INTO links VALUES (?, ?)", (project_id, p))
            db.close()


def is_inside(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """True when the real ``path`` lies inside the real ``folder``."""
    try:
        p, f = real(path), real(folder)
        return os.path.commonpath([p, f]) == f
    except ValueError:  # another drive, or a name no file can have (a NUL byte)
        return False


def forget() -> None:
    """Drop the in-process copy (tests that switch RPAN_CONFIG_DIR)."""
    with _LOCK:
        _MEMO.clear()


__all__ = ["config_dir", "linked_paths", "record_link", "is_inside", "real", "forget"]
