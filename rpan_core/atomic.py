"""One way to write a file or a folder so that a crash leaves the old version or the new one.

Why one helper: checkpoints, trainer state, analyses, flow caches and exports were each
written with their own temp-file dance, some without fsync, some without removing the
temp file when the disk filled up (a full disk then stayed full). Every writer goes
through here: a temp name in the same folder (so the rename is atomic), fsync, rename,
and the temp removed on any error. Temp names carry the writer's pid, so a later run can
tell an orphan of a killed process (pid gone) from a write in progress
(:func:`remove_orphans`).
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import threading
from pathlib import Path
from typing import IO, Callable, Iterator

TMP_TAG = ".rpan-tmp"
_TMP_RE = re.compile(re.escape(TMP_TAG) + r"(\d+)-\d+$")


def temp_name(path: Path) -> Path:
    """The temp sibling of ``path`` for this process and thread."""
    return path.with_name(f".{path.name}{TMP_TAG}{os.getpid()}-{threading.get_ident()}")


def is_disk_full(exc: BaseException) -> bool:
    """True for the errors a full disk (or quota) raises."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None,
                 newline: str | None = None) -> Iterator[IO]:
    """Open a temp file beside ``path``; on a clean exit fsync it and rename it onto ``path``.

    On any exception (a full disk included) the temp file is removed and ``path`` is
    left exactly as it was; the exception propagates for the caller to turn into its
    own one-line error.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    if "b" in mode:
        encoding = None
    elif encoding is None:
        encoding = "utf-8"
    try:
        with open(tmp, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return Path(path)


def save_with(path: str | os.PathLike, writer: Callable[[IO], None]) -> Path:
    """``writer(fh)`` into a temp file, then rename: for ``torch.save``, ``np.save`` and friends."""
    with atomic_write(path, "wb") as fh:
        writer(fh)
    return Path(path)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, replace: bool = True, durable: bool = True) -> Iterator[Path]:
    """Fill a temp folder beside ``path``; on a clean exit it becomes ``path``.

    With ``replace`` an existing ``path`` is swapped out (renamed aside, then removed),
    so a recomputed result always wins over the old one; without it an existing
    ``path`` is kept and the new folder discarded. On an error the temp folder is
    removed and ``path`` is untouched.

    ``durable=False`` skips the fsyncs (of every file and of the folder): only for a cache
    whose reader checks every file against checksums stored with it and recomputes a damaged
    entry (the analysis cache), where a power cut can at worst cost a recomputation, and the
    fsyncs cost a measurable share of a short video's analysis (11 files).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        for f in tmp.rglob("*") if durable else ():
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        if path.exists():
            if not replace:
                shutil.rmtree(tmp, ignore_errors=True)
                return
            old = path.with_name(f".{path.name}{TMP_TAG}{os.getpid()}-old{threading.get_ident()}")
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        if durable:
            _fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(p: Path) -> bool:
    """Delete a file or folder; False when it could not be (gone already, no permission)."""
    try:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    except OSError:
        return False
    return True


def remove_orphans(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Delete temp files and folders left in ``folder`` by writers that no longer run.

    Recognizes this module's temp names and the older ``NAME.tmpPID`` /
    ``.KEY.tmpPID-TID`` names earlier versions wrote. Returns what was removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    old_re = re.compile(r"\.tmp(\d+)(?:-\d+)?(?:\.\w+)?$")
    removed: list[Path] = []
    entries = folder.rglob("*") if recursive else folder.iterdir()
    for p in list(entries):
        m = _TMP_RE.search(p.name) or old_re.search(p.name)
        if not m:
            m = re.search(re.escape(TMP_TAG) + r"(\d+)-old\d+$", p.name)
        if not m or _pid_alive(int(m.group(1))):
            continue
        if _remove(p):
            removed.append(p)
    return removed


def remove_orphans_of(path: str | os.PathLike) -> list[Path]:
    """Delete the temp files a killed writer of ``path`` left beside it (and only those).

    For targets in folders the user owns (exports), where sweeping every
    ``*.tmpNNN`` name could hit someone else's file: only this module's temp names
    for ``path`` and the ``NAME.tmp`` / ``NAME.tmpPID`` names older exporters used.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        return []
    ours = re.compile(re.escape(f".{path.name}{TMP_TAG}") + r"(\d+)-(?:old)?\d+$")
    legacy = re.compile(re.escape(f"{path.name}.tmp") + r"(\d*)(?:-\d+)?$")
    removed: list[Path] = []
    for p in list(folder.iterdir()):
        m = ours.match(p.name) or legacy.match(p.name)
        if not m or (m.group(1) and _pid_alive(int(m.group(1)))):
            continue
        if _remove(p):
            removed.append(p)
    return removed
