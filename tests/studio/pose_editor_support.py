"""Shared helpers of the pose editor / commands / crash tests (their projects come from tests/conftest.py)."""

from __future__ import annotations

from rpan_core.project import LabelSource, Project

WIDTH, HEIGHT = 64, 48  # the frames of tests/conftest.write_frames


def rows(project: Project, video_id: int, frame: int) -> dict[int, tuple[float, float, bool, str]]:
    """The stored labels of one frame as plain tuples (source as its LabelSource value)."""
    return {j: (float(lab.x), float(lab.y), bool(lab.visible), LabelSource.parse(lab.source).value)
            for j, lab in project.frame_labels(video_id, frame).items()}
