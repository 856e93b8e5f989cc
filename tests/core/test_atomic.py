"""The one atomic-write helper: a crash or a full disk leaves the old file and no temp behind."""
from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from rpan_core import atomic


def test_write_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a.json"
    atomic.write_text(p, "old")
    atomic.write_text(p, "new")
    assert p.read_text() == "new"
    assert [f.name for f in tmp_path.iterdir()] == ["a.json"]


def test_error_keeps_old_file_and_removes_temp(tmp_path):
    p = tmp_path / "a.bin"
    atomic.write_bytes(p, b"old")

    class Full(OSError):
        pass

    with pytest.raises(OSError) as ei:
        with atomic.atomic_write(p) as fh:
            fh.write(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert atomic.is_disk_full(ei.value)
    assert p.read_bytes() == b"old"
    assert [f.name for f in tmp_path.iterdir()] == ["a.bin"]


def test_atomic_dir_replaces_existing(tmp_path):
    d = tmp_path / "entry"
    with atomic.atomic_dir(d) as t:
        (t / "x").write_text("1")
    with atomic.atomic_dir(d) as t:
        (t / "x").write_text("2")
    assert (d / "x").read_text() == "2"
    assert [f.name for f in tmp_path.iterdir()] == ["entry"]
    with pytest.raises(RuntimeError):
        with atomic.atomic_dir(d) as t:
            (t / "x").write_text("3")
            raise RuntimeError("killed")
    assert (d / "x").read_text() == "2"
    assert [f.name for f in tmp_path.iterdir()] == ["entry"]


def test_remove_orphans_only_of_dead_writers(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    pid = int(dead.stdout)
    orphan = tmp_path / f".last.pt{atomic.TMP_TAG}{pid}-1"
    orphan.write_bytes(b"x")
    legacy = tmp_path / f"trainer_state.pt.tmp{pid}"
    legacy.write_bytes(b"x")
    legacy_dir = tmp_path / f".abc.tmp{pid}-7"
    legacy_dir.mkdir()
    mine = tmp_path / f".best.pt{atomic.TMP_TAG}{os.getpid()}-1"
    mine.write_bytes(b"x")
    keep = tmp_path / "last.pt"
    keep.write_bytes(b"x")
    removed = {p.name for p in atomic.remove_orphans(tmp_path)}
    assert removed == {orphan.name, legacy.name, legacy_dir.name}
    assert mine.exists() and keep.exists()
