"""Left and right: swap a whole skeleton's sides, and find the frames whose sides are in doubt.

Why: a model trained on keyframes that all show one side of a person puts the
skeleton on the body but mirrored when the person turns (left arm labeled as
right and the other way round), and people labeling fast make the same slip.
Moving 12 joints one by one to fix it is the slowest correction there is; one
swap of the mirror pairs (:attr:`Skeleton.mirror_pairs`) fixes the whole pose.

Which frames to look at (:func:`side_doubts`):

* ``crossed``: the left/right joints crossed since the previous keyframe. Frame
  by frame from a keyframe (a person confirmed its sides), each pose is compared
  with the one before it: when it fits that pose better with its sides swapped
  (summed distance of the mirror-paired joints), the sides changed there. A frame
  reached through an odd number of such changes is flagged, so a whole mirrored
  run is flagged, not only its first frame; a keyframe whose sides disagree with
  the chain leading to it is flagged too, and so is a keyframe that fits the
  previous keyframe better with its sides swapped (frames interpolated towards a
  mirrored keyframe cross over gradually, which no single step shows). Between
  keyframes, consecutive frames rather than the keyframe are compared because
  legs that cross while walking would make a pose ten frames on look "swapped"
  against the keyframe.
* ``flip``: the model, run on the horizontally flipped frame and mapped back
  (x -> W - 1 - x, left and right joints exchanged), agrees better with the
  swapped pose than with the pose itself. A model sure of the sides gives the
  same pose both ways; one guessing them gives the mirror image.

The score of a doubt is how much better the swapped pose fits, over the body's
box side; frames are flagged when it is above ``margin``. No Qt here; the studio
turns :func:`swap_rows` into one undoable step and shows the doubts in its review
queue.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rpan_core.skeleton import Skeleton, get_skeleton

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.project import Project, ProjectSnapshot

__all__ = ["SideDoubt", "DoubtRun", "doubt_runs", "swap_pose", "swap_rows", "swap_changes", "swap_gain", "doubts_for_video", "side_doubts", "flipped_poses", "DEFAULT_MARGIN"]

#: A frame is in doubt when the swapped pose fits better by more than this share of the body's box side.
DEFAULT_MARGIN = 0.02


def swap_pose(xy: Any, visible: Any, skeleton: str | Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """``... x J x 2`` / ``... x J`` with left and right joints exchanged (positions stay where they are)."""
    flip = list(get_skeleton(skeleton).flip_index)
    return np.asarray(xy)[..., flip, :].copy(), np.asarray(visible)[..., flip].copy()


def swap_rows(rows: dict[int, Any], skeleton: str | Skeleton, *,
              keep_source: tuple[str, ...] = ("manual",), new_source: str = "corrected") -> dict[int, tuple]:
    """One frame's swapped labels: ``{joint: (x, y, visible, source)}`` from ``{joint: row}``.

    ``row`` is anything with ``x``, ``y``, ``visible`` and ``source`` (a Label, a
    studio Row, a stored Prediction with source ``predicted``). Each joint takes its
    mirror partner's position and visibility; the source becomes ``new_source``
    (a person corrected it), except that a joint a person placed from nothing
    (``keep_source``) stays so. A joint whose partner has no row loses its own
    (``None``), so the swap is exact: swapping twice gives the frame back.
    """
    flip = get_skeleton(skeleton).flip_index
    out: dict[int, tuple | None] = {}
    for j in sorted(set(rows) | {flip[j] for j in rows}):
        if flip[j] == j:
            continue
        src = rows.get(flip[j])
        if src is None:
            out[j] = None
            continue
        own = rows.get(j)
        own_source = str(getattr(own, "source", "")) if own is not None else ""
        source = own_source if own_source in keep_source else new_source
        out[j] = (float(src.x), float(src.y), bool(src.visible), source)
    return out


def swap_changes(project: Project | ProjectSnapshot, video_id: int, frames: Any, predicted: Any = None,
                 person: int = 1) -> dict[tuple[int, int], tuple | None]:
    """The label writes that swap left and right on ``frames``: ``{(frame, joint): (x, y, visible, source) | None}``.

    A frame with labels has its labels swapped (:func:`swap_rows`). A frame without
    labels takes the pose a person sees there, swapped: the stored prediction, else
    ``predicted(frame) -> (xy J x 2, visible J)`` (the studio's model pose); its
    joints become ``corrected`` labels (a person fixed the model's sides) and its
    unpaired joints (the head) ``accepted`` ones, so the frame ends up whole. Frames
    with no pose at all are left alone.
    """
    skel = project.skeleton
    flip = skel.flip_index
    out: dict[tuple[int, int], tuple | None] = {}
    for f in (int(v) for v in frames):
        labels = project.frame_labels(video_id, f, person=person)
        if labels:
            rows = {j: _Row(lab.x, lab.y, lab.visible, str(lab.source)) for j, lab in labels.items()}
        else:
            preds = project.frame_predictions(video_id, f, person=person)
            if preds:
                rows = {j: _Row(p.x, p.y, p.visible, "predicted") for j, p in preds.items()}
            elif predicted is not None and predicted(f) is not None:
                xy, vis = predicted(f)
                rows = {j: _Row(float(xy[j][0]), float(xy[j][1]), bool(vis[j]), "predicted")
                        for j in range(skel.num_joints) if np.isfinite(np.asarray(xy[j], np.float64)).all()}
            else:
                continue
            for j, r in rows.items():
                if flip[j] == j:
                    out[(f, j)] = (r.x, r.y, r.visible, "accepted")
        for j, v in swap_rows(rows, skel).items():
            out[(f, j)] = v
    return out


@dataclass(frozen=True)
class _Row:
    x: float
    y: float
    visible: bool
    source: str


def _pair_cost(a: np.ndarray, b: np.ndarray, pairs: list[int]) -> np.ndarray:
    d = np.linalg.norm(a[..., pairs, :] - b[..., pairs, :], axis=-1)
    return np.nansum(d, axis=-1)


def _box_side(xy: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        side = np.nanmax(np.nanmax(xy, axis=-2) - np.nanmin(xy, axis=-2), axis=-1)
    return np.where(np.isfinite(side) & (side > 0), side, np.nan)


def swap_gain(xy: Any, ref_xy: Any, skeleton: str | Skeleton) -> np.ndarray:
    """How much better ``xy`` (``... x J x 2``) fits ``ref_xy`` with its sides swapped, over the box side.

    Positive: the swapped pose is closer. Only mirror-paired joints count, and only
    those with a position in both (NaN elsewhere).
    """
    skel = get_skeleton(skeleton)
    pairs = sorted({j for p in skel.mirror_pairs for j in p})
    xy, ref = np.asarray(xy, np.float64), np.asarray(ref_xy, np.float64)
    flip = list(skel.flip_index)
    # only joints whose position, partner's position and reference all exist count, in both sums alike
    ok = np.isfinite(xy).all(-1) & np.isfinite(xy[..., flip, :]).all(-1) & np.isfinite(ref).all(-1) \
        & np.isfinite(ref[..., flip, :]).all(-1)
    xy = np.where(ok[..., None], xy, np.nan)
    same = _pair_cost(xy, ref, pairs)
    swapped = _pair_cost(xy[..., flip, :], np.where(ok[..., flip, None], ref, np.nan), pairs)
    gain = (same - swapped) / _box_side(ref)
    return np.where(ok[..., pairs].any(-1), gain, np.nan)


@dataclass(frozen=True)
class SideDoubt:
    """A frame whose left/right sides may be the wrong way round."""

    frame: int
    reason: str  # "crossed" (against the previous keyframe) or "flip" (the flipped image's prediction)
    score: float  # how much better the swapped pose fits, over the body's box side
    reference: int | None = None  # the keyframe compared with ("crossed")


def side_doubts(frames: Any, xy: Any, key_frames: Any, key_xy: Any, skeleton: str | Skeleton, *,
                flipped_xy: Any = None, margin: float = DEFAULT_MARGIN) -> list[SideDoubt]:
    """Frames whose sides are in doubt, most doubtful first (see the module docstring).

    ``frames`` F and ``xy`` F x J x 2: the poses to check (labels or predictions;
    NaN for joints without one). ``key_frames`` / ``key_xy``: the frames a person
    labeled, compared with by ``crossed`` (each frame with the nearest keyframe
    before it). ``flipped_xy`` (F x J x 2, already mapped back to the frame and
    with joints swapped back, see :func:`flipped_poses`): the ``flip`` test.
    """
    fr = np.asarray(frames, np.int64).reshape(-1)
    xy = np.asarray(xy, np.float64)
    kf = np.asarray(key_frames, np.int64).reshape(-1)
    kxy = np.asarray(key_xy, np.float64)
    order = np.argsort(kf, kind="stable")
    kf, kxy = kf[order], kxy[order]
    best: dict[int, SideDoubt] = {}

    def keep(frames: np.ndarray, reason: str, scores: np.ndarray, refs: np.ndarray | None = None) -> None:
        for k, (f, g) in enumerate(zip(frames.tolist(), scores.tolist())):
            if g > margin and (f not in best or best[f].score < g):
                best[f] = SideDoubt(int(f), reason, float(g), None if refs is None else int(refs[k]))

    if len(kf) and len(fr):
        # every pose in frame order, keyframes taking their labels (vectorized: 100k frames stay fast)
        order = np.argsort(fr, kind="stable")
        fr, xy = fr[order], xy[order]
        if flipped_xy is not None:
            flipped_xy = np.asarray(flipped_xy, np.float64)[order]
        allf = np.union1d(fr, kf)
        P = np.full((len(allf), xy.shape[1], 2), np.nan)
        P[np.searchsorted(allf, fr)] = xy
        P[np.searchsorted(allf, kf)] = kxy
        key = np.isin(allf, kf)
        g = np.zeros(len(allf))
        if len(allf) > 1:
            g[1:] = np.nan_to_num(swap_gain(P[1:], P[:-1], skeleton), nan=0.0)
        changed = g > margin
        seg = np.cumsum(key)  # 0 before the first keyframe, then one segment per keyframe
        toggles = np.cumsum(changed & ~key)
        start = np.flatnonzero(key)
        base = np.zeros(len(allf), np.int64)
        base[seg > 0] = toggles[start[seg[seg > 0] - 1]]
        swapped = ((toggles - base) % 2 == 1) & (seg > 0) & ~key
        idx = np.arange(len(allf))
        last = np.maximum.accumulate(np.where(changed, idx, 0))
        ref = np.where(seg > 0, allf[start[np.maximum(seg, 1) - 1]], -1)
        run = np.maximum(g[last], margin + 1e-9)
        keep(allf[swapped], "crossed", run[swapped], ref[swapped])
        # a keyframe whose sides disagree with the chain leading to it
        prev = np.concatenate([[False], swapped[:-1]])
        had = np.concatenate([[False], seg[:-1] > 0])
        bad_key = key & had & (prev != changed)
        score = np.where(changed, np.abs(g), run[np.maximum(idx - 1, 0)])
        keep(allf[bad_key], "crossed", score[bad_key], np.concatenate([[-1], ref[:-1]])[bad_key])
        # a keyframe whose sides are swapped against the previous keyframe itself: the frames between may
        # cross over gradually (interpolated towards the mirrored keyframe), which no single step shows
        if len(kf) > 1:
            kg = np.nan_to_num(swap_gain(kxy[1:], kxy[:-1], skeleton), nan=0.0)
            keep(kf[1:], "crossed", kg, kf[:-1])
    if flipped_xy is not None and len(fr):
        gain = np.nan_to_num(swap_gain(xy, np.asarray(flipped_xy, np.float64), skeleton), nan=0.0)
        keep(fr, "flip", gain)
    return sorted(best.values(), key=lambda d: (-d.score, d.frame))


@dataclass(frozen=True)
class DoubtRun:
    """Consecutive frames in doubt for the same reason: one entry of a review queue, one swap to fix."""

    first: int
    last: int
    reason: str
    score: float  # the largest score in the run


def doubt_runs(doubts: list[SideDoubt]) -> list[DoubtRun]:
    """Group :func:`side_doubts` into runs of consecutive frames (same reason), most doubtful first."""
    runs: list[DoubtRun] = []
    for d in sorted(doubts, key=lambda d: (d.reason, d.frame)):
        if runs and runs[-1].reason == d.reason and runs[-1].last == d.frame - 1:
            r = runs[-1]
            runs[-1] = DoubtRun(r.first, d.frame, r.reason, max(r.score, d.score))
        else:
            runs.append(DoubtRun(d.frame, d.frame, d.reason, d.score))
    return sorted(runs, key=lambda r: (-r.score, r.first))


# ----------------------------------------------------------------------------- the flipped image's prediction

def flipped_poses(video_path: str | os.PathLike, checkpoint: str | os.PathLike, *, project: Project | None = None,
                  device: str | None = None, progress: Any = None, cancel: Any = None) -> np.ndarray:
    """The model's poses on the horizontally flipped video, mapped back: ``T x J x 2`` in the video's pixels.

    The flipped copy is written once (lossless-enough MJPG) beside the project's
    analyses and analyzed like any video, so both are cached; mapping back mirrors
    x and exchanges left and right joints, so a side-consistent model gives back
    its own pose here.
    """
    import cv2

    from rpan_core.analyze import _resolve_cache_dir, analyze_video
    from rpan_core.atomic import temp_name
    from rpan_core.video import content_hash, open_video

    root = _resolve_cache_dir(project) / "flipped"
    root.mkdir(parents=True, exist_ok=True)
    out = root / f"{content_hash(video_path)[:20]}.avi"
    with open_video(video_path) as video:
        W = video.width
        if not out.exists():
            tmp = temp_name(out).with_suffix(".avi")
            writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"MJPG"), float(video.fps),
                                     (video.width, video.height))
            writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 100)
            try:
                for fr in video.frames():
                    writer.write(cv2.cvtColor(np.ascontiguousarray(fr[:, ::-1]), cv2.COLOR_RGB2BGR))
            finally:
                writer.release()
            os.replace(tmp, out)
    a = analyze_video(out, checkpoint, project=project, device=device, progress=progress, cancel=cancel)
    skel = get_skeleton(a.skeleton)
    return skel.flip_xy(np.asarray(a.xy, np.float64), W)


def doubts_for_video(project: Project | ProjectSnapshot, video_id: int, *, analysis: Any = None, flipped_xy: Any = None,
                     margin: float = DEFAULT_MARGIN, person: int = 1) -> list[SideDoubt]:
    """Side doubts of one project video: its labeled frames, stored predictions and model poses.

    Each frame is checked with the pose a person sees there: the label where there
    is one, else the stored prediction, else the analysis' pose.
    """
    from rpan_core.propagate import human_keyframes

    skel = project.skeleton
    kf, kxy, _ = human_keyframes(project, video_id, person)
    n = project.video(video_id).frame_count
    xy = np.full((n, skel.num_joints, 2), np.nan)
    have = np.zeros(n, bool)
    if analysis is not None:
        m = np.asarray(analysis.xy, np.float64)[:n]
        xy[:len(m)] = m
        have[:len(m)] = True
    pr = project.predictions(video_id, person=person)
    if len(pr.frames):
        xy[pr.frames] = np.where(pr.filled[..., None], pr.xy, xy[pr.frames])
        have[pr.frames] = True
    if len(kf):
        xy[kf] = np.where(np.isfinite(kxy), kxy, xy[kf])
        have[kf] = True
    frames = np.flatnonzero(have)
    fx = None if flipped_xy is None else np.asarray(flipped_xy, np.float64)[frames]
    return side_doubts(frames, xy[frames], kf, kxy, skel, flipped_xy=fx, margin=margin)

