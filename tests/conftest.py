"""Shared fixtures: REAL temporary projects (rpan_core.project.Project.create in tmp_path) with small synthetic videos.

Why real ones: an in-memory stand-in of the store can drift from it (a method the
studio calls that the stand-in fakes differently); a real project in ``tmp_path``
costs milliseconds and tests what users run. Every project a fixture makes is
closed at teardown.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

import pytest

from rpan_core.project import Project

CLASSES = ["jump", "squat", "wave"]


def write_frames(folder: Path, n: int = 12, width: int = 64, height: int = 48) -> Path:
    """A folder of n small PNG frames (a video as a frame folder), each a different gray level."""
    import cv2
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:05d}.png"), np.full((height, width, 3), (20 + 10 * i) % 250, np.uint8))
    return folder


ProjectFactory = Callable[..., Project]


def pytest_configure(config: pytest.Config) -> None:
    """Point the per-user cache and config folders (file-hash store, linked videos, proxies,
    analyses without a project, the studio's keys file) at a folder of this test session.

    Why: the suite must neither read a developer's own settings (a remapped key would fail
    a keyboard test) nor leave databases in their home folder. Set before any test module
    is imported; a variable the caller already set is kept.
    """
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="rpan-tests-"))
    config._rpan_user_dirs = root  # type: ignore[attr-defined]
    for var, sub in (("RPAN_CACHE_DIR", "cache"), ("RPAN_CONFIG_DIR", "config"), ("XDG_CONFIG_HOME", "xdg-config")):
        os.environ.setdefault(var, str(root / sub))


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    root = getattr(config, "_rpan_user_dirs", None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def make_project(tmp_path: Path) -> Iterator[ProjectFactory]:
    """``make_project(name="proj", skeleton="pennaction", classes=CLASSES)``: a new real project in tmp_path."""
    made: list[Project] = []

    def make(name: str = "proj", skeleton: str = "pennaction", classes: list[str] | None = None) -> Project:
        project = Project.create(tmp_path / name, skeleton=skeleton, classes=list(CLASSES if classes is None
                                                                                   else classes))
        made.append(project)
        return project

    yield make
    for p in made:
        p.close()


@pytest.fixture
def project_with_video(make_project: ProjectFactory, tmp_path: Path) -> tuple[Project, int]:
    """A real pennaction project holding one 12-frame clip (a frame folder); (project, video_id)."""
    project = make_project()
    return project, project.add_video(write_frames(tmp_path / "clip"))


@pytest.fixture
def coded_project(make_project: ProjectFactory, tmp_path: Path) -> Callable[[int], tuple[Project, int]]:
    """``coded_project(n)``: a real project holding one index-coded clip of n frames (tests/studio/coded_clips)."""
    from tests.studio.coded_clips import CLASSES as CODED_CLASSES
    from tests.studio.coded_clips import write_coded_clip

    def make(n: int) -> tuple[Project, int]:
        project = make_project(classes=CODED_CLASSES)
        return project, project.add_video(write_coded_clip(tmp_path / "clip", n))

    return make
