"""Every non-trainer writer goes through rpan_core.atomic (issue 10, items 3 and 7).

A full disk is simulated by a writer that fails with ENOSPC after part of the
data went out; each writer must give one clear error line, keep the previous
file, and leave no temp file behind (a temp file left on a full disk keeps it
full). Temp files of writers killed earlier (their pid is gone) are removed by the
next run of the same writer.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from rpan_core.errors import CheckpointError, FormatError
from rpan_core.project import Project


@pytest.fixture(autouse=True)
def _private_config(tmp_path, monkeypatch):
    monkeypatch.setenv("RPAN_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RPAN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def dead_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)


def _disk_full(monkeypatch) -> None:
    """The next fsync fails as on a full disk (after the data was written to the temp file)."""
    import rpan_core.atomic as atomic

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "tmp" in p.name)


def _project(tmp_path: Path) -> Project:
    p = Project.create(tmp_path / "proj", classes=["a"])
    folder = tmp_path / "proj" / "clip"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i:05d}.png"), np.full((12, 16, 3), 40 * i, np.uint8))
    vid = p.add_video(folder)
    p.set_labels(vid, [(f, j, 3.0, 4.0, True, "manual") for f in range(3) for j in range(13)])
    return p


def _model():
    from rpan_core.model import RPAN, RPANConfig

    torch.manual_seed(0)
    return RPAN(RPANConfig(num_classes=2, input_size=(32, 32), hidden=8))


def test_checkpoint_on_a_full_disk_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    from rpan_core.checkpoint import read_checkpoint, save_checkpoint

    path = tmp_path / "last.pt"
    save_checkpoint(path, _model(), classes=["a", "b"], metrics={"epoch": 1})
    before = path.read_bytes()
    _disk_full(monkeypatch)
    with pytest.raises(CheckpointError, match="No space left") as exc:
        save_checkpoint(path, _model(), classes=["a", "b"], metrics={"epoch": 2})
    assert "\n" not in str(exc.value)
    assert path.read_bytes() == before and _leftovers(tmp_path) == []
    monkeypatch.undo()
    assert read_checkpoint(path)[1].metrics["epoch"] == 1


def test_a_killed_checkpoint_saves_temp_file_is_removed_by_the_next_save(tmp_path, dead_pid):
    from rpan_core.checkpoint import save_checkpoint

    old_style = tmp_path / f"last.pt.tmp{dead_pid}"
    new_style = tmp_path / f".last.pt.rpan-tmp{dead_pid}-7"
    for f in (old_style, new_style):
        f.write_bytes(b"x" * 1000)
    save_checkpoint(tmp_path / "last.pt", _model(), classes=["a", "b"])
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt", ["coco", "csv"])
def test_exports_on_a_full_disk_keep_the_old_file_and_leave_no_temp(tmp_path, monkeypatch, fmt):
    from rpan_core.formats.coco import export_coco
    from rpan_core.formats.csv_export import export_csv

    export = export_coco if fmt == "coco" else export_csv
    p = _project(tmp_path)
    out_dir = tmp_path / "exports"
    out = export(p, out_dir / f"labels.{fmt}")
    before = out.read_bytes()
    p.set_label(p.videos()[0].id, 0, 0, 9.0, 9.0)
    _disk_full(monkeypatch)
    with pytest.raises(FormatError, match="No space left") as exc:
        export(p, out)
    assert "\n" not in str(exc.value)
    assert out.read_bytes() == before and _leftovers(out_dir) == []


@pytest.mark.parametrize("fmt", ["coco", "csv"])
def test_an_exports_orphans_are_removed_by_the_next_export(tmp_path, dead_pid, fmt):
    from rpan_core.formats.coco import export_coco
    from rpan_core.formats.csv_export import export_csv

    export = export_coco if fmt == "coco" else export_csv
    p = _project(tmp_path)
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    name = f"labels.{fmt}"
    orphans = [out_dir / f"{name}.tmp", out_dir / f".{name}.rpan-tmp{dead_pid}-3"]
    unrelated = out_dir / "notes.tmp12"  # someone else's file in the user's folder: left alone
    for f in orphans + [unrelated]:
        f.write_text("half")
    export(p, out_dir / name)
    assert _leftovers(out_dir) == ["notes.tmp12"]


def test_pennaction_export_on_a_full_disk_leaves_no_half_video(tmp_path, monkeypatch):
    from rpan_core.formats.pennaction import export_pennaction

    p = _project(tmp_path)
    out = tmp_path / "penn"
    _disk_full(monkeypatch)
    with pytest.raises(FormatError, match="No space left") as exc:
        export_pennaction(p, out)
    assert "\n" not in str(exc.value)
    assert not list((out / "frames").iterdir()) and not list((out / "labels").iterdir())


def test_pennaction_exports_orphans_are_removed(tmp_path, dead_pid):
    from rpan_core.formats.pennaction import export_pennaction

    p = _project(tmp_path)
    out = tmp_path / "penn"
    (out / "frames" / f".0001.rpan-tmp{dead_pid}-5").mkdir(parents=True)
    (out / "labels").mkdir()
    (out / "labels" / f".0001.mat.rpan-tmp{dead_pid}-5").write_bytes(b"half")
    export_pennaction(p, out)
    assert sorted(x.name for x in (out / "frames").iterdir()) == ["0001"]
    assert sorted(x.name for x in (out / "labels").iterdir()) == ["0001.mat"]


def test_flow_cache_on_a_full_disk_leaves_no_temp_and_orphans_go_next_run(tmp_path, monkeypatch, dead_pid):
    from rpan_core.flow import FlowParams, compute_flow

    frames = np.random.default_rng(0).integers(0, 255, (5, 24, 32, 3), dtype=np.uint8)
    params = FlowParams(method="farneback", chunk=2)
    _disk_full(monkeypatch)
    with pytest.raises(OSError):
        compute_flow(frames, tmp_path / "flow", params)
    monkeypatch.undo()
    folder = next((tmp_path / "flow").iterdir())
    assert _leftovers(folder) == []
    orphan = folder / f"chunk_00001.npz.tmp{dead_pid}-9.npz"  # the name older versions used
    orphan.write_bytes(b"half")
    vol = compute_flow(frames, tmp_path / "flow", params)
    assert vol.frame_count == 5 and _leftovers(folder) == []


def test_runlog_json_on_a_full_disk_keeps_the_old_file(tmp_path, monkeypatch):
    from rpan_core.runlog import write_json_atomic

    path = tmp_path / "config.json"
    write_json_atomic(path, {"a": 1})
    _disk_full(monkeypatch)
    with pytest.raises(OSError):
        write_json_atomic(path, {"a": 2})
    assert path.read_text().replace(" ", "").replace("\n", "") == '{"a":1}' and _leftovers(tmp_path) == []
    assert os.listdir(tmp_path) == ["config.json"]
