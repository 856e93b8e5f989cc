"""JHMDB / Sub-JHMDB import.

Layout (Jhuang et al., ICCV 2013)::

    joint_positions/<class>/<video>/joint_positions.mat   pos_img: 2 x 15 x T, 1-based pixels
    Rename_Images/<class>/<video>/NNNNN.png               the frames (or <class>/<video>.avi)
    splits/<class>_test_split<N>.txt                      "video.avi 1" (train) / "video.avi 2" (test)

Joints are in :data:`rpan_core.skeleton.JHMDB` order. JHMDB has no visibility
flags (the puppet is fitted to every joint), so every joint is stored as
visible; joints outside the frame are kept as they are (the model's targets
treat out-of-frame joints as absent). Positions are shifted to 0-based pixels.

The project's skeleton must be ``jhmdb``; a ``pennaction`` project can take
JHMDB with ``convert=True``, mapping joints through
:func:`rpan_core.skeleton.convert_pose` (neck and belly are dropped; the other
13 joints exist in both sets by name).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from rpan_core.errors import FormatError, RPANError
from rpan_core.formats import as_float_array, check_coordinates, get_field, guard_project_errors, load_mat
from rpan_core.skeleton import JHMDB, convert_pose

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.project import Project

ORIGIN = 1.0  # pos_img is in 1-based (MATLAB) pixels
J = JHMDB.num_joints


@dataclass
class JhmdbClip:
    cls: str
    name: str
    mat_path: Path
    frames_path: Path
    xy: np.ndarray  # T x 15 x 2, 0-based


def read_joint_positions(path: str | os.PathLike) -> np.ndarray:
    """``pos_img`` of one ``joint_positions.mat`` as T x 15 x 2 0-based pixels (NaN: not labeled; positions
    are checked against the frames at import)."""
    path = Path(path)
    d = load_mat(path)
    pos = as_float_array(get_field(d, "pos_img", path), "pos_img", path, shape=(2, J, None), finite=False)
    if pos.shape[2] < 1:
        raise FormatError(f"{path}: field 'pos_img' has no frames (shape 2 x 15 x 0)")
    return np.transpose(pos, (2, 1, 0)) - ORIGIN


def read_splits(src: Path, split: int) -> dict[str, str]:
    """video name (without .avi) -> 'train' / 'test' from every ``*_test_split<N>.txt`` under ``src``."""
    out: dict[str, str] = {}
    pattern = f"*_test_split{split}.txt"  # in the root, splits/, sub_splits/ or any folder one level down
    files = sorted(set(src.glob(pattern)) | set(src.glob(f"*/{pattern}")))
    for f in files:
        for i, line in enumerate(f.read_text(errors="replace").splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or parts[1] not in ("1", "2"):
                raise FormatError(f"{f}: line {i} {line.strip()!r} must be 'video.avi 1' (train) or "
                                  "'video.avi 2' (test)")
            out[Path(parts[0]).stem] = "train" if parts[1] == "1" else "test"
    return out


def _frames_of(src: Path, cls: str, name: str) -> Path | None:
    for cand in (src / "Rename_Images" / cls / name, src / cls / f"{name}.avi",
                 src / "ReCompress_Videos" / cls / f"{name}.avi"):
        if cand.exists():
            return cand
    return None


def import_jhmdb(project: Project, src: str | os.PathLike, *, split: int = 1, convert: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> list[int]:
    """Import JHMDB or Sub-JHMDB into a project; returns the new video ids.

    ``split`` picks the ``*_test_split<N>.txt`` files (1, 2 or 3); videos they do
    not list get the split ``unsplit`` (not used by training). ``convert=True``
    imports into a pennaction project through skeleton.convert_pose.
    """
    from rpan_core.video import open_video

    src = Path(src)
    skel = project.skeleton.name
    if skel != "jhmdb" and not (convert and skel == "pennaction"):
        hint = " or pass convert=True (--convert) to map the joints to pennaction" if skel == "pennaction" else ""
        raise FormatError(f"JHMDB labels use the jhmdb skeleton (15 joints) but the project uses {skel}; import into "
                          f"a jhmdb project{hint}")
    root = src / "joint_positions"
    if not root.is_dir():
        raise FormatError(f"{src}: no joint_positions/ folder; point at the JHMDB (or Sub-JHMDB) root folder")
    mats = sorted(root.glob("*/*/joint_positions.mat"))
    if not mats:
        raise FormatError(f"{root}: holds no <class>/<video>/joint_positions.mat files")
    splits = read_splits(src, split)
    clips = []
    for m in mats:
        cls, name = m.parent.parent.name, m.parent.name
        xy = read_joint_positions(m)
        frames = _frames_of(src, cls, name)
        if frames is None:
            raise FormatError(f"{m}: no frames for it (looked for Rename_Images/{cls}/{name}/ and {cls}/{name}.avi)")
        try:
            with open_video(frames, cache_mb=1) as v:
                n, W, H = v.frame_count, v.width, v.height
        except RPANError as exc:
            raise FormatError(f"{m}: its frames cannot be read ({exc})") from exc
        if len(xy) > n:
            raise FormatError(f"{m}: field 'pos_img' has {len(xy)} frames but {frames} holds only {n}")
        check_coordinates(m, xy, W, H, JHMDB.joints, "field 'pos_img' at frame {t}")
        clips.append(JhmdbClip(cls, name, m, frames, xy))
    ids = []
    with project.transaction():
        project.add_classes(sorted({c.cls for c in clips}))
        for k, c in enumerate(clips):
            xy, vis = c.xy, ~np.isnan(c.xy).any(axis=-1)  # NaN: not labeled
            if skel != "jhmdb":
                xy, vis = convert_pose(xy, vis, "jhmdb", skel)
            with guard_project_errors(c.mat_path):
                vid = project.add_video(c.frames_path, action=c.cls, split=splits.get(c.name, "unsplit"))
                rows = [(t, j, float(xy[t, j, 0]), float(xy[t, j, 1]), bool(vis[t, j]), "imported")
                        for t in range(len(xy)) for j in range(xy.shape[1]) if vis[t, j]]
                project.set_labels(vid, rows)
            ids.append(vid)
            if progress:
                progress(k + 1, len(clips))
    return ids
