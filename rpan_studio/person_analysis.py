"""Analysis of a video of several persons, each on its own crop: what Ctrl+R runs when a video has persons.

Why per person: RPAN reads one person. On a frame with three people the whole
frame's attention spreads over all of them and one skeleton is stretched across
the crowd; each person analyzed on an aspect-preserving crop around its box (the
core's per-person analysis, cached per person, boxes and checkpoint) gives each
its own heat maps and pose, in frame pixels. A single-person video keeps the
whole-frame analysis (the paper's protocol).

This module has no widgets: it runs in the studio's task worker (never on the
UI thread), one person after the other, with one progress bar over all of them,
and returns ``{person id: analysis}``. The boxes are read from the store before
the task starts (each person's box keyframes interpolated, else the extent of its
labeled pose, NaN where neither: the core then propagates the box from the pose
it read on the previous step). A person with no box on any frame is not analyzed
(in a crowd a reading without a box would follow whoever the model sees best):
the studio says so and asks for a box.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.project import Project

__all__ = ["per_person_available", "persons_without_box", "person_boxes_of", "analyze_persons", "default_analyze_person", "analysis_window"]


def default_analyze_person(video_path: str, checkpoint: str, boxes: np.ndarray, *, person: int,
                           project: Any = None, progress: Callable[[int, int], None] | None = None,
                           cancel: Callable[[], bool] | None = None) -> Any:
    """rpan_core's per-person analysis of one person on crops around ``boxes`` (frame_count x 4, NaN unknown)."""
    from rpan_core.person_analysis import analyze_person

    return analyze_person(video_path, checkpoint, boxes, person=person, project=project, progress=progress,
                          cancel=cancel)


def per_person_available() -> bool:
    """rpan_core has the per-person analysis (without it a video of several persons reads the whole frame)."""
    import importlib.util

    return importlib.util.find_spec("rpan_core.person_analysis") is not None


def persons_without_box(boxes: dict[int, np.ndarray]) -> list[int]:
    """The persons of ``boxes`` with no box on any frame (they cannot be analyzed on crops)."""
    return [pid for pid, b in sorted(boxes.items()) if not np.isfinite(b).all(axis=1).any()]


def person_boxes_of(project: Project, video_id: int) -> dict[int, np.ndarray]:
    """Every person's box on every frame (``frame_count x 4``, NaN where unknown), read from the store."""
    n = int(project.video(video_id).frame_count)
    out: dict[int, np.ndarray] = {}
    for p in project.persons(video_id):
        b = np.asarray(project.person_boxes(video_id, p.id), np.float64)
        if b.shape != (n, 4):  # a store that knows fewer frames than the video: pad with unknown boxes
            full = np.full((n, 4), np.nan)
            full[:min(n, len(b))] = b[:n]
            b = full
        out[p.id] = b
    return out


def analyze_persons(video_path: str, checkpoint: str, boxes: dict[int, np.ndarray], *, project: Any = None,
                    analyze_person_fn: Callable[..., Any] | None = None, prior: Any = None,
                    progress: Callable[[int, int], None] | None = None,
                    cancel: Callable[[], bool] | None = None) -> dict[int, Any]:
    """Analyze each person of ``boxes`` on its crops, one after the other; ``{person id: analysis}``.

    ``progress(done, total)`` runs over all persons' frames together; ``cancel`` is
    passed to each person's analysis (a cancelled one raises, as a whole-frame one does).
    ``prior`` (a :class:`rpan_core.pose_prior.PosePrior`): each person's poses decoded with it.
    """
    fn = analyze_person_fn or default_analyze_person
    ids = sorted(int(k) for k in boxes)
    out: dict[int, Any] = {}
    for k, pid in enumerate(ids):
        if cancel is not None and cancel():
            from rpan_core.analyze import AnalysisCancelled

            raise AnalysisCancelled(f"analysis of {os.path.basename(video_path)} cancelled")
        sub = None
        if progress is not None:
            def sub(done: int, total: int, k: int = k) -> None:
                progress(k * max(1, total) + done, len(ids) * max(1, total))
        out[pid] = fn(video_path, checkpoint, boxes[pid], person=pid, project=project, progress=sub, cancel=cancel)
        if prior is not None:
            from rpan_core.pose_prior import with_pose_prior

            out[pid] = with_pose_prior(out[pid], prior)
    return out


def analysis_window(analysis: Any, frame: int) -> np.ndarray | None:
    """Frame ``frame``'s frame -> model-input map (2 x 3) of an analysis (None: the input is the squashed frame)."""
    win = getattr(analysis, "window", None)
    if win is None:
        win = getattr(analysis, "windows", None)
    if win is None:
        return None
    return np.asarray(win[frame], np.float64)
