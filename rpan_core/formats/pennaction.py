"""PennAction: import into a project, and export a project in the dataset's layout.

Layout (Zhang, Zhu, Derpanis, ICCV 2013)::

    frames/NNNN/NNNNNN.jpg     one folder per video, frames numbered from 000001
    labels/NNNN.mat            action, pose, x, y, visibility, train, bbox, dimensions, nframes

``x``/``y``/``visibility`` are ``nframes x 13`` in the PennAction joint order
(:data:`rpan_core.skeleton.PENNACTION`), ``bbox`` is ``[x1 y1 x2 y2]`` per frame
(some sequences lack the last frame's row), ``train`` is 1 (train) or -1 (test),
``dimensions`` is ``[H W nframes]``.

Coordinates: the dataset's README does not say whether x/y are 0- or 1-based.
The annotations were made and shipped for MATLAB (``.mat`` files, frame files
numbered from 1), and JHMDB, annotated the same way, documents 1-based pixel
coordinates, so we read them as MATLAB 1-based pixels: project x = file x - 1,
and export adds 1 back. (It is a one-pixel question; if you know better, change
:data:`ORIGIN` - import and export both use it.)

Export writes the frames as JPEG (read through :func:`rpan_core.video.open_video`)
and a label file per video; joints with no label are written as ``(0, 0)`` not
visible (a position outside 1-based pixel space), and the importer reads such
joints back as not visible without a position. The synthetic data generator
(:func:`rpan_core.synth.write_pennaction`) uses :func:`export_pennaction`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from rpan_core.atomic import atomic_dir, remove_orphans, save_with
from rpan_core.errors import FormatError, RPANError
from rpan_core.formats import (as_float_array, as_int, as_str, check_coordinates, check_single_person, check_skeleton,
                               get_field, guard_project_errors, load_mat)
from rpan_core.skeleton import PENNACTION

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.project import Project, ProjectSnapshot

#: 1-based pixels in the files (see the module docstring).
ORIGIN = 1.0
J = PENNACTION.num_joints
FIELDS = ("action", "pose", "x", "y", "visibility", "train", "bbox", "dimensions", "nframes")


@dataclass
class PennSequence:
    """One checked label file, coordinates already 0-based."""

    name: str
    label_path: Path
    frames_path: Path
    action: str | None
    pose: str
    xy: np.ndarray        # T x 13 x 2 (NaN where the file has no position)
    visible: np.ndarray   # T x 13 bool
    train: bool
    bbox: np.ndarray      # T' x 4 (T' = T or T - 1)
    size_hw: tuple[int, int]
    nframes: int
    labeled: np.ndarray | None = None  # T x 13 bool: False where the file's x or y is NaN (not labeled)


def read_label_file(path: str | os.PathLike) -> PennSequence:
    """Read and check one ``labels/NNNN.mat``; raises FormatError naming the file and field."""
    path = Path(path)
    d = load_mat(path)
    for f in FIELDS:
        get_field(d, f, path)
    n = as_int(d["nframes"], "nframes", path)
    if n < 1:
        raise FormatError(f"{path}: field 'nframes' is {n}; a sequence has at least one frame")
    x = as_float_array(d["x"], "x", path, shape=(n, J), finite=False)  # NaN: not labeled; inf: checked at import
    y = as_float_array(d["y"], "y", path, shape=(n, J), finite=False)
    vis = as_float_array(d["visibility"], "visibility", path, shape=(n, J))
    if not np.isin(vis, (0, 1)).all():
        raise FormatError(f"{path}: field 'visibility' must hold only 0 and 1")
    train = as_int(d["train"], "train", path)
    if train not in (1, -1):
        raise FormatError(f"{path}: field 'train' is {train}; it must be 1 (train) or -1 (test)")
    bbox = as_float_array(d["bbox"], "bbox", path)
    if bbox.ndim != 2 or bbox.shape[1] != 4 or bbox.shape[0] not in (n, n - 1):
        raise FormatError(f"{path}: field 'bbox' has shape {' x '.join(map(str, bbox.shape))}, expected "
                          f"{n} x 4 (or {n - 1} x 4)")
    dims = as_float_array(d["dimensions"], "dimensions", path).reshape(-1)
    if dims.size != 3 or (dims <= 0).any() or (dims != np.round(dims)).any():
        raise FormatError(f"{path}: field 'dimensions' must be [H W nframes], got {dims.tolist()}")
    if int(dims[2]) != n:
        raise FormatError(f"{path}: field 'dimensions' says {int(dims[2])} frames but 'nframes' is {n}")
    action = as_str(d["action"], "action", path) or None
    pose = as_str(d["pose"], "pose", path)
    xy = np.stack([x, y], axis=-1) - ORIGIN
    labeled = ~(np.isnan(x) | np.isnan(y))
    none = (vis == 0) & (x == 0) & (y == 0)  # our export's "no position"
    xy[none] = np.nan
    name = path.stem
    frames = path.parent.parent / "frames" / name
    return PennSequence(name, path, frames, action, pose, xy, (vis > 0) & labeled, train == 1, bbox - ORIGIN,
                        (int(dims[0]), int(dims[1])), n, labeled)


def _label_files(src: Path) -> list[Path]:
    labels = src / "labels"
    if not labels.is_dir():
        raise FormatError(f"{src}: no labels/ folder; point at the Penn_Action folder that holds labels/ and frames/")
    files = sorted(p for p in labels.iterdir() if p.suffix.lower() == ".mat")
    if not files:
        raise FormatError(f"{labels}: holds no .mat label files")
    return files


def import_pennaction(project: Project, src: str | os.PathLike, *, videos: list[str] | None = None,
                      progress: Callable[[int, int], None] | None = None) -> list[int]:
    """Import a PennAction tree into a pennaction project; returns the new video ids.

    ``videos`` limits the import to those sequence names (``"0001"``, ...). Every
    label file is checked (and its frame folder counted) before one transaction
    adds the videos, their actions (new classes are appended), splits and labels.
    """
    from rpan_core.video import open_video

    src = Path(src)
    check_skeleton(project, "pennaction", "PennAction")
    files = _label_files(src)
    if videos is not None:
        want = set(videos)
        files = [f for f in files if f.stem in want]
        missing = want - {f.stem for f in files}
        if missing:
            raise FormatError(f"{src / 'labels'}: no label file for {', '.join(sorted(missing))}")
    seqs = []
    for f in files:
        s = read_label_file(f)
        if not s.frames_path.is_dir():
            raise FormatError(f"{f}: its frames folder {s.frames_path} is missing")
        try:
            with open_video(s.frames_path, cache_mb=1) as v:
                n, W, H = v.frame_count, v.width, v.height
        except RPANError as exc:
            raise FormatError(f"{f}: its frames cannot be read ({exc})") from exc
        if n != s.nframes:
            raise FormatError(f"{f}: field 'nframes' is {s.nframes} but {s.frames_path} holds {n} frames")
        check_coordinates(f, s.xy, W, H, PENNACTION.joints, "fields 'x'/'y' at frame {t}")
        seqs.append(s)
    ids = []
    with project.transaction():
        project.add_classes([s.action for s in seqs if s.action])
        for k, s in enumerate(seqs):
            with guard_project_errors(s.label_path):
                vid = project.add_video(s.frames_path, action=s.action, split="train" if s.train else "test")
                lab = s.labeled if s.labeled is not None else np.ones((s.nframes, J), bool)
                rows = [(t, j, _num(s.xy[t, j, 0]), _num(s.xy[t, j, 1]), bool(s.visible[t, j]), "imported")
                        for t in range(s.nframes) for j in range(J) if lab[t, j]]
                project.set_labels(vid, rows)
            ids.append(vid)
            if progress:
                progress(k + 1, len(seqs))
    return ids


def _num(v: float) -> float | None:
    return None if np.isnan(v) else float(v)


def _bbox_from_joints(xy: np.ndarray, labeled: np.ndarray, w: int, h: int) -> np.ndarray:
    """T x 4 [x1 y1 x2 y2] (0-based) around the labeled joints with a 10 % margin; whole frame if none."""
    out = np.tile(np.array([0.0, 0.0, w - 1.0, h - 1.0]), (len(xy), 1))
    for t in range(len(xy)):
        m = labeled[t] & np.isfinite(xy[t]).all(axis=1)
        if m.any():
            lo, hi = xy[t, m].min(axis=0), xy[t, m].max(axis=0)
            pad = 0.1 * max(hi[0] - lo[0], hi[1] - lo[1], 1.0)
            out[t] = [max(lo[0] - pad, 0), max(lo[1] - pad, 0), min(hi[0] + pad, w - 1), min(hi[1] + pad, h - 1)]
    return out


def export_pennaction(project: Project | ProjectSnapshot, out_dir: str | os.PathLike, *,
                      video_ids: list[int] | None = None,
                      quality: int = 95, progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the project's videos in the PennAction layout under ``out_dir``; returns it.

    Videos are numbered 0001, 0002, ... in id order; frames go to
    ``frames/NNNN/NNNNNN.jpg``, labels to ``labels/NNNN.mat``. A video's split
    ``train`` becomes ``train = 1``, anything else -1.
    """
    import cv2
    import scipy.io

    from rpan_core.video import open_video

    check_skeleton(project, "pennaction", "PennAction")
    out = Path(out_dir)
    recs = project.videos()
    if video_ids is not None:
        keep = set(video_ids)
        recs = [r for r in recs if r.id in keep]
    check_single_person(project, recs, "PennAction")
    (out / "labels").mkdir(parents=True, exist_ok=True)
    (out / "frames").mkdir(parents=True, exist_ok=True)
    for sub in ("labels", "frames"):  # temp files and folders of exports killed earlier
        remove_orphans(out / sub)
    untrusted = [r for r in recs if not getattr(r, "trusted", True)]
    if untrusted:  # export copies frames out: never those of a path a crafted project named
        r = untrusted[0]
        raise FormatError(f"video {r.id} ({r.path}) lies outside the project folder and was not added or relinked "
                          "by you, so it is not exported; relink it first (studio: Relink video, or Project.relink)")
    for k, r in enumerate(recs, start=1):
        name = f"{k:04d}"
        try:
            # the whole frame folder appears at once (or the old one stays): never a half-written video
            with open_video(r.path) as v, atomic_dir(out / "frames" / name, replace=True) as fdir:
                n, h, w = v.frame_count, v.height, v.width
                for t, frame in enumerate(v.frames()):
                    ok = cv2.imwrite(str(fdir / f"{t + 1:06d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                                     [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
                    if not ok:
                        raise FormatError(f"cannot write {out / 'frames' / name / f'{t + 1:06d}.jpg'}; check disk "
                                          "space and permissions")
        except RPANError as exc:
            if isinstance(exc, FormatError):
                raise
            raise FormatError(f"cannot export video {r.id} ({r.path}): {exc}") from exc
        except OSError as exc:
            raise FormatError(f"cannot export video {r.id} to {out}: {exc.strerror or exc}; check disk space and "
                              "permissions (nothing half-written is left)") from exc
        la = project.video_labels(r.id)
        xy = np.full((n, J, 2), np.nan)
        vis = np.zeros((n, J), bool)
        lab = np.zeros((n, J), bool)
        ok = la.frames < n
        xy[la.frames[ok]] = la.xy[ok]
        vis[la.frames[ok]] = la.visible[ok]
        lab[la.frames[ok]] = la.labeled[ok]
        bbox = _bbox_from_joints(xy, lab, w, h) + ORIGIN
        fx = np.where(lab & np.isfinite(xy[..., 0]), xy[..., 0] + ORIGIN, 0.0)
        fy = np.where(lab & np.isfinite(xy[..., 1]), xy[..., 1] + ORIGIN, 0.0)
        fvis = (vis & lab).astype(np.float64)
        mat = {"action": r.action or "", "pose": "unknown", "x": fx, "y": fy, "visibility": fvis,
               "train": np.array([[1 if r.split == "train" else -1]], np.float64), "bbox": bbox,
               "dimensions": np.array([[h, w, n]], np.float64), "nframes": np.array([[n]], np.float64)}
        try:
            save_with(out / "labels" / f"{name}.mat", lambda fh: scipy.io.savemat(fh, mat, do_compression=True))
        except OSError as exc:
            raise FormatError(f"cannot write {out / 'labels' / f'{name}.mat'}: {exc.strerror or exc}; check disk "
                              "space and permissions") from exc
        if progress:
            progress(k, len(recs))
    return out

