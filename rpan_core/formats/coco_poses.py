"""Predicted poses as a COCO keypoints file (``rpan analyze --poses-out``).

Why COCO: it is what other pose tools read, and it is the layout our own COCO
importer reads, so a model's poses can go into any tool or back into a project
(``rpan import --format coco``) to be accepted or corrected there.

Layout (the same as :func:`rpan_core.formats.coco.export_coco`): one image per
frame with ``file_name`` ``<video stem>/<frame:06d>.jpg``, ``video_name``,
``frame_index``, ``width``, ``height``; one ``person`` annotation per image with
``keypoints`` in the order of :func:`~rpan_core.formats.coco.keypoint_names` (the
COCO-17 names, then the skeleton's joints COCO has no name for, e.g. PennAction's
``head``). A joint the model sees gets v = 2, one it parks on its dummy cell ("not
in the frame", mass at or above the visibility threshold) v = 1 with its position
kept; keypoints the skeleton lacks are 0, 0, 0. Extra fields: ``scores`` (the
model's confidence per keypoint, in the same order, 0 where the skeleton has no
such joint), ``score`` (their mean over the skeleton's joints), and ``action`` /
``action_score`` (the frame's most probable class).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from rpan_core.atomic import write_text
from rpan_core.errors import RPANError
from rpan_core.formats.coco import _edges, keypoint_names
from rpan_core.skeleton import get_skeleton

__all__ = ["poses_document", "persons_document", "write_poses"]


def poses_document(analysis: Any, video_name: str, *, dummy_threshold: float | None = None, smooth: int = 0) -> dict:
    """The COCO keypoints document of every frame of ``analysis`` (see the module docstring); ``smooth`` > 1:
    each joint's track through the running median of that many frames first (:mod:`rpan_core.smoothing`)."""
    return _document({None: analysis}, video_name, None, dummy_threshold, smooth)


def persons_document(analyses: Mapping[int, Any], video_name: str, names: Mapping[int, str] | None = None, *,
                     dummy_threshold: float | None = None, smooth: int = 0) -> dict:
    """The COCO keypoints document of several persons of one video: one annotation per person and
    frame with ``track_id`` (the person's id) and ``person_name``, as the project's COCO export
    writes persons (``rpan analyze --person all --poses-out``); ``bbox`` is the extent of the
    joints the model sees, marked ``box_from_joints`` so an import does not store it as a drawn box."""
    if not analyses:
        raise RPANError("no person's analysis to write; analyze at least one person first")
    return _document(dict(analyses), video_name, dict(names or {}), dummy_threshold, smooth)


def _document(analyses: dict, video_name: str, names: dict | None, dummy_threshold: float | None,
              smooth: int = 0) -> dict:
    from rpan_core.analyze import DEFAULT_DUMMY_THRESHOLD
    from rpan_core.smoothing import median_smooth

    thr = DEFAULT_DUMMY_THRESHOLD if dummy_threshold is None else float(dummy_threshold)
    first = next(iter(analyses.values()))
    skel = get_skeleton(first.skeleton)
    names_kp = keypoint_names(skel)
    pos = np.array([names_kp.index(n) for n in skel.joints])
    H, W = (int(v) for v in first.frame_size)
    T = int(np.asarray(first.xy).shape[0])
    for a in analyses.values():
        if int(np.asarray(a.xy).shape[0]) != T or tuple(int(v) for v in a.frame_size) != (H, W):
            raise RPANError("the persons' analyses are of different videos (frame counts or sizes differ); "
                            "analyze every person of the same video")
    images = [{"id": f + 1, "file_name": f"{video_name}/{f:06d}.jpg", "width": W, "height": H,
               "video_name": video_name, "frame_index": f} for f in range(T)]
    per = {pid: (median_smooth(np.asarray(a.xy, np.float64), smooth), np.asarray(a.conf, np.float64),
                 np.asarray(a.dummy, np.float64),
                 np.asarray(a.probs, np.float64), list(a.classes)) for pid, a in analyses.items()}
    anns = []
    for f in range(T):
        for pid, (xy, conf, dummy, probs, classes) in per.items():
            kp = np.zeros((len(names_kp), 3))
            scores = np.zeros(len(names_kp))
            ok = np.isfinite(xy[f]).all(axis=1)
            kp[pos[ok], :2] = xy[f, ok]
            kp[pos[ok], 2] = np.where(dummy[f, ok] < thr, 2, 1)
            scores[pos] = np.nan_to_num(conf[f], nan=0.0)
            seen = kp[:, 2] == 2
            if seen.any():
                lo, hi = kp[seen, :2].min(axis=0), kp[seen, :2].max(axis=0)
                bbox = [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]
            else:
                bbox = [0.0, 0.0, 0.0, 0.0]
            ann = {"id": len(anns) + 1, "image_id": f + 1, "category_id": 1, "iscrowd": 0,
                   "keypoints": [float(v) if k % 3 < 2 else int(v) for k, v in enumerate(kp.reshape(-1))],
                   "num_keypoints": int((kp[:, 2] > 0).sum()), "bbox": bbox, "area": bbox[2] * bbox[3],
                   "scores": [float(s) for s in scores], "score": float(np.nan_to_num(conf[f]).mean())}
            if pid is not None:
                ann.update(track_id=int(pid), person_name=str((names or {}).get(pid, f"person {pid}")),
                           box_from_joints=True)
            if f < len(probs) and classes:
                c = int(np.argmax(probs[f]))
                ann["action"], ann["action_score"] = classes[c], float(probs[f, c])
            anns.append(ann)
    return {
        "info": {"description": f"RPAN predicted poses of {video_name}", "skeleton": skel.name,
                 "video_action": getattr(first, "video_class", None) if len(analyses) == 1 else None},
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "person", "supercategory": "person", "keypoints": names_kp,
                        "skeleton": _edges(skel, names_kp)}],
    }


def write_poses(analysis: Any, video_path: str | os.PathLike, out_path: str | os.PathLike, *,
                dummy_threshold: float | None = None, names: Mapping[int, str] | None = None, smooth: int = 0) -> Path:
    """Write ``analysis``'s poses of ``video_path`` as COCO keypoints JSON (atomically); returns the path.

    ``analysis`` may be a mapping ``{person id: analysis}`` (per-person analyses of one
    video): one annotation per person and frame with ``track_id`` (:func:`persons_document`)."""
    if isinstance(analysis, Mapping):
        doc = persons_document(analysis, Path(video_path).stem, names, dummy_threshold=dummy_threshold, smooth=smooth)
    else:
        doc = poses_document(analysis, Path(video_path).stem, dummy_threshold=dummy_threshold, smooth=smooth)
    text = json.dumps(doc, allow_nan=False, default=_no_nan)
    try:
        return write_text(out_path, text)
    except OSError as exc:
        raise RPANError(f"cannot write the poses to {out_path} ({exc}); check the folder, its permissions and "
                        "the free disk space") from exc


def _no_nan(v: Any) -> Any:  # pragma: no cover - numpy scalars only
    f = float(v)
    return f if math.isfinite(f) else None
