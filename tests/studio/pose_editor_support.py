"""Shared test helpers for the pose editor / commands / crash tests: a tiny real project."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def project_class():
    """The project store class (rpan_core.project.Project)."""
    from rpan_core.project import Project

    return Project


N_FRAMES = 12
WIDTH, HEIGHT = 64, 48
CLASSES = ["jump", "squat", "wave"]


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
