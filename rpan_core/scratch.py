"""Scratch projects: open a video without making a project first.

Why: a person who wants to look at one clip should not have to choose a folder, a
skeleton and classes before seeing anything. ``scratch_project(video)`` makes (or
reopens) a project in the cache that holds just that video — labels placed there
are saved like any others — and ``save_scratch_as`` turns it into a real project
in a folder of the person's choosing (the first "Save project as").
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from rpan_core.atomic import write_text
from rpan_core.errors import ProjectError
from rpan_core.project import Project

MARKER = "scratch.json"

__all__ = ["scratch_root", "scratch_project", "is_scratch", "save_scratch_as"]


def scratch_root() -> Path:
    """``$RPAN_SCRATCH_DIR``, else ``~/.cache/rpan-studio/scratch``."""
    env = os.environ.get("RPAN_SCRATCH_DIR")
    return Path(env) if env else Path.home() / ".cache" / "rpan-studio" / "scratch"


def scratch_project(video: str | os.PathLike, skeleton: str = "pennaction") -> Project:
    """The scratch project of ``video`` (the same one each time the same file is opened), with the video in it."""
    path = Path(video).resolve()
    if not path.exists():
        raise ProjectError(f"{video} does not exist; check the path")
    key = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    folder = scratch_root() / f"{path.stem[:40]}-{key}"
    if (folder / "project.db").exists():
        project = Project.open(folder)
        if not any(Path(r.path) == path for r in project.videos()):
            project.add_video(str(path))
        return project
    if folder.exists():  # an interrupted creation: start again
        shutil.rmtree(folder)
    project = Project.create(folder, skeleton=skeleton)
    try:
        project.add_video(str(path))
    except BaseException:
        project.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    write_text(folder / MARKER, json.dumps({"video": str(path)}))
    return project


def is_scratch(project: Project) -> bool:
    return (Path(project.folder) / MARKER).exists()


def save_scratch_as(project: Project, dest: str | os.PathLike) -> Project:
    """Move a scratch project (closed here, its WAL folded in) to ``dest`` as a real project; returns it open.

    ``dest`` must not exist or be an empty folder; the scratch copy is removed once the new one opens.
    """
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ProjectError(f"{dest} is not empty; choose a new or empty folder for the project")
    src = Path(project.folder)
    project.close()
    if dest.exists():
        dest.rmdir()
    try:
        shutil.copytree(src, dest)
        (dest / MARKER).unlink(missing_ok=True)
        saved = Project.open(dest)
    except OSError as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise ProjectError(f"cannot save the project to {dest} ({exc.strerror or exc}); the scratch project is "
                           f"unchanged in {src}") from exc
    shutil.rmtree(src, ignore_errors=True)
    return saved
