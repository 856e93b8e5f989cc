"""`rpan add`: videos into a new or existing project, refused cleanly when they cannot be read."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from rpan_core.add import add_videos
from rpan_core.cli import main
from rpan_core.errors import ProjectError
from rpan_core.project import DB_NAME, Project


def write_video(path: Path, n: int = 6, shade: int = 0, size: tuple[int, int] = (32, 24)) -> Path:
    """A tiny MJPG .avi whose frames differ (so two calls with other shades differ in content)."""
    w, h = size
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (w, h))
    for i in range(n):
        out.write(np.full((h, w, 3), (shade + 30 * i) % 250, np.uint8))
    out.release()
    return path


def test_add_creates_project_and_is_idempotent(tmp_path, capsys):
    a = write_video(tmp_path / "walk.avi", shade=0)
    b = write_video(tmp_path / "run.avi", n=5, shade=100)
    proj = tmp_path / "proj"
    assert main(["add", "--project", str(proj), "--action", "walking", "--split", "val", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "created a pennaction project" in out and "added" in out and "new action class: walking" in out
    with Project.open(proj) as p:
        vids = p.videos()
        assert [(Path(v.path).name, v.frame_count, v.width, v.height, v.action, v.split) for v in vids] == [
            ("walk.avi", 6, 32, 24, "walking", "val"), ("run.avi", 5, 32, 24, "walking", "val")]
        assert p.classes == ["walking"]
    # again, plus one new video: the two are reported as already there, nothing is duplicated
    c = write_video(tmp_path / "jump.avi", shade=200)
    assert main(["add", "--project", str(proj), str(a), str(b), str(c)]) == 0
    out = capsys.readouterr().out
    assert out.count("already in the project") == 2 and "jump.avi as video 3" in out
    with Project.open(proj) as p:
        assert len(p.videos()) == 3 and p.videos()[2].action is None and p.videos()[2].split == "train"


def test_add_refuses_corrupt_or_missing_video_and_writes_nothing(tmp_path, capsys):
    good = write_video(tmp_path / "good.avi")
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x01not a video" * 50)
    proj = tmp_path / "proj"
    assert main(["add", "--project", str(proj), str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "broken.mp4" in err and len(err.strip().splitlines()) == 1
    assert not (proj / DB_NAME).exists()  # no half-made project left behind
    # into an existing project: refused as a whole, the good video is not added either
    Project.create(proj).close()
    with pytest.raises(ProjectError, match="missing.avi: no such file"):
        add_videos(proj, [good, tmp_path / "missing.avi"])
    with Project.open(proj) as p:
        assert p.videos() == []


def test_add_skeleton_must_match_existing_project(tmp_path):
    v = write_video(tmp_path / "a.avi")
    proj = tmp_path / "proj"
    res = add_videos(proj, [v], skeleton="coco")
    assert res.created and res.skeleton == "coco" and len(res.added) == 1
    with pytest.raises(ProjectError, match="is a coco project.*pennaction skeleton"):
        add_videos(proj, [write_video(tmp_path / "b.avi", shade=90)], skeleton="pennaction")
    with Project.open(proj) as p:
        assert len(p.videos()) == 1
    assert add_videos(proj, [v], skeleton="coco").existing == [(str(v), 1)]
    with pytest.raises(ProjectError, match="unknown skeleton"):
        add_videos(tmp_path / "other", [v], skeleton="horse")
    assert not (tmp_path / "other").exists()


def test_add_relinks_a_moved_video(tmp_path):
    v = write_video(tmp_path / "a.avi")
    proj = tmp_path / "proj"
    add_videos(proj, [v])
    with Project.open(proj) as p:
        p.set_label(1, 2, 0, 5.0, 6.0)
    moved = tmp_path / "elsewhere" / "a.avi"
    moved.parent.mkdir()
    shutil.move(v, moved)
    res = add_videos(proj, [moved])
    assert res.relinked == [(str(moved), 1)] and not res.added
    with Project.open(proj) as p:
        assert p.video(1).path == str(moved) and p.label_count(1) == 1
