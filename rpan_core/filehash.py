"""Exact content hashes of files and frame folders, cheap to ask for again.

Why: a cached result (an analysis, a flow volume) is only as fresh as the key it is
stored under. A key built from sampled bytes (the first and last image of a folder,
a few MB of a file) keeps serving a stale result after a middle frame is edited.
So every byte is hashed, streamed, once; then the digest is remembered per file
under its ``(device, inode, size, mtime_ns, ctime_ns)``. Any write to a file
changes its ``ctime`` (which no ordinary tool can set back), so a remembered digest
is reused only for a file nobody has written since.

Cost (a 100k-frame JPEG folder, ~3 GB): the first hash reads all of it (disk
bound, a few seconds from the page cache); later ones are 100k ``stat`` calls plus
one indexed SQLite read each, a fraction of a second. The digests live in
``<cache root>/file-hashes.db`` (``RPAN_CACHE_DIR``, else ``~/.cache/rpan-studio``);
when that cannot be written the hashes are simply recomputed (kept for the
process only).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Iterable

_CHUNK = 1 << 20
_LOCK = threading.Lock()
_MEMO: dict[tuple, str] = {}
_DB: sqlite3.Connection | None = None
_DB_PATH: str | None = None
_DB_PID: int | None = None


def cache_root() -> Path:
    """The per-user cache folder (``RPAN_CACHE_DIR`` overrides it)."""
    return Path(os.environ.get("RPAN_CACHE_DIR", Path.home() / ".cache" / "rpan-studio"))


def _db() -> sqlite3.Connection | None:
    """The shared digest store (reopened when ``RPAN_CACHE_DIR`` changes); None when unwritable."""
    global _DB, _DB_PATH, _DB_PID
    path = str(cache_root() / "file-hashes.db")
    if _DB is not None and _DB_PATH == path and _DB_PID == os.getpid():
        return _DB
    if _DB is not None and _DB_PID == os.getpid():  # a forked child never touches its parent's connection
        with contextlib.suppress(sqlite3.Error):
            _DB.close()
    _DB, _DB_PATH, _DB_PID = None, path, os.getpid()
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=5, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS digests(key TEXT PRIMARY KEY, digest TEXT NOT NULL) WITHOUT ROWID")
        _DB = db
    except (OSError, sqlite3.Error):
        _DB = None
    return _DB


def _stat_key(path: Path, st: os.stat_result) -> tuple:
    return (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _digest_bytes(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def file_digests(paths: Iterable[str | os.PathLike]) -> list[str]:
    """SHA-256 of each file's bytes, remembered by its stat (see the module docstring)."""
    paths = [Path(os.path.abspath(p)) for p in paths]
    keys = []
    for p in paths:
        keys.append(_stat_key(p, p.stat()))
    out: list[str | None] = [None] * len(paths)
    with _LOCK:
        db = _db()
        ask = [i for i, k in enumerate(keys) if k not in _MEMO]
        stored: dict[str, str] = {}
        if db is not None:
            for b in range(0, len(ask), 500):  # one query per 500 files
                chunk = [repr(keys[i]) for i in ask[b:b + 500]]
                with contextlib.suppress(sqlite3.Error):
                    stored.update(db.execute(f"SELECT key, digest FROM digests WHERE key IN "
                                             f"({','.join('?' * len(chunk))})", chunk).fetchall())
        missing = []
        for i, k in enumerate(keys):
            hit = _MEMO.get(k) or stored.get(repr(k))
            if hit is None:
                missing.append(i)
            else:
                _MEMO[k] = hit
            out[i] = hit
    fresh = []
    for i in missing:
        d = _digest_bytes(paths[i])
        st = paths[i].stat()
        if _stat_key(paths[i], st) == keys[i]:  # unchanged while we read it: safe to remember
            fresh.append((keys[i], d))
        out[i] = d
    if fresh:
        with _LOCK:
            for k, d in fresh:
                _MEMO[k] = d
            db = _db()
            if db is not None:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("BEGIN")
                    db.executemany("INSERT OR REPLACE INTO digests VALUES (?, ?)", [(repr(k), d) for k, d in fresh])
                    db.execute("COMMIT")
    return [str(d) for d in out]


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of one file's bytes (remembered by its stat)."""
    return file_digests([path])[0]


def known_digest(path: str | os.PathLike) -> str | None:
    """The remembered SHA-256 of a file nobody wrote since it was hashed, else None; never reads the file.

    For callers on a UI thread: they look up by the exact hash when it is known and
    leave the first (whole-file) hash to a background thread."""
    p = Path(os.path.abspath(path))
    try:
        k = _stat_key(p, p.stat())
    except OSError:
        return None
    with _LOCK:
        hit = _MEMO.get(k)
        if hit is not None:
            return hit
        db = _db()
        if db is None:
            return None
        row = None
        with contextlib.suppress(sqlite3.Error):
            row = db.execute("SELECT digest FROM digests WHERE key = ?", (repr(k),)).fetchone()
        if row is None:
            return None
        _MEMO[k] = str(row[0])
        return str(row[0])


def tree_digest(names: list[str], digests: list[str]) -> str:
    """One hash over an ordered list of (name, content digest) pairs (a frame folder)."""
    h = hashlib.sha256()
    for n, d in zip(names, digests):
        h.update(n.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
        h.update(d.encode())
        h.update(b"\n")
    return h.hexdigest()


def forget() -> None:
    """Drop the process's remembered digests (tests)."""
    with _LOCK:
        _MEMO.clear()


__all__ = ["cache_root", "file_digest", "file_digests", "known_digest", "tree_digest", "forget"]
