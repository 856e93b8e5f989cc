"""Person boxes: one box per frame from a few keyframes, or from the extent of a pose.

Why boxes are computed, not stored per frame: a person labeling draws a box on a
few frames (or a dataset gives one per labeled frame); the frames between follow
by linear interpolation, exactly like joint keyframes. Where a person has no box
keyframe at all, its labeled joints say where it is: their extent, grown by a
margin, is its box. The per-person analysis (:mod:`rpan_core.analyze`) and the
studio read the same :func:`box_track`, so what the person sees is what the model
crops.

Boxes are ``[x0, y0, x1, y1]`` in pixels of the original frame (x right, y down).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rpan_core.project import BoxArrays, LabelArrays

__all__ = ["pose_box", "interpolate_boxes", "box_track"]


def pose_box(xy: np.ndarray, visible: np.ndarray | None = None, margin: float = 0.1) -> np.ndarray:
    """The extent of one pose (``J x 2``; NaN joints ignored) grown by ``margin`` of its size per side.

    Uses the visible joints when at least two are, else every placed joint (an
    occluded joint still says roughly where the body is). NaN box when fewer than
    two joints have a position. A degenerate extent (all joints on a line) gets
    the other side's size, so the box always has an area.
    """
    xy = np.asarray(xy, np.float64)
    placed = np.isfinite(xy).all(axis=-1)
    use = placed
    if visible is not None:
        vis = placed & np.asarray(visible, bool)
        if vis.sum() >= 2:
            use = vis
    if use.sum() < 2:
        return np.full(4, np.nan)
    lo, hi = xy[use].min(axis=0), xy[use].max(axis=0)
    size = hi - lo
    side = max(float(size.max()), 1.0)
    size = np.where(size < 1e-6, side, size)
    grow = margin * size
    centre = (lo + hi) / 2
    half = size / 2 + grow
    return np.concatenate([centre - half, centre + half])


def interpolate_boxes(n_frames: int, frames: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """``n_frames x 4`` boxes: linear between keyframes, held before the first and after the last.

    NaN everywhere when there is no keyframe.
    """
    out = np.full((n_frames, 4), np.nan)
    frames = np.asarray(frames, np.int64)
    if len(frames) == 0 or n_frames <= 0:
        return out
    order = np.argsort(frames)
    frames, boxes = frames[order], np.asarray(boxes, np.float64)[order]
    t = np.arange(n_frames)
    for c in range(4):
        out[:, c] = np.interp(t, frames, boxes[:, c])
    return out


def box_track(n_frames: int, keys: "BoxArrays", labels: "LabelArrays", margin: float = 0.1) -> np.ndarray:
    """One box per frame for a person: its box keyframes interpolated; without any, its pose's extent.

    From the pose, labeled frames get their own extent and the frames between are
    interpolated between those extents (held beyond the first and last), so a
    person labeled every 10th frame still has a box on every frame.
    """
    if len(keys.frames):
        return interpolate_boxes(n_frames, keys.frames, keys.boxes)
    if len(labels.frames) == 0:
        return np.full((n_frames, 4), np.nan)
    xy = np.where(labels.labeled[..., None], labels.xy, np.nan)
    per = np.stack([pose_box(xy[i], labels.visible[i], margin) for i in range(len(labels.frames))])
    ok = np.isfinite(per).all(axis=1) & (labels.frames >= 0) & (labels.frames < n_frames)
    return interpolate_boxes(n_frames, labels.frames[ok], per[ok])
