"""Fill the frames between a video's labeled keyframes: the model's poses combined with interpolation.

Why combine: linear interpolation between two keyframes is exact at the keyframes
and drifts in between as the motion departs from a straight line; a model trained
on the keyframes sees every frame but carries its own bias (a few pixels off the
annotator's idea of a wrist) and now and then jumps to the wrong limb. The
combination keeps each one where it is good:

1. **Offset correction.** At both keyframes of a gap the model's error is known
   (label minus model). That offset, interpolated across the gap, is added to the
   model's pose on every frame in between, so the model's systematic bias vanishes
   at the keyframes and the result joins the labels without a jump.
2. **Blend by distance and confidence.** Per joint and frame, the corrected model
   gets the weight ``w = conf ** conf_power * (d / (gap / 2)) ** distance_power``
   (``d`` the distance to the nearest keyframe, ``conf`` the model's confidence in
   [0, 1]) and interpolation the rest: near a keyframe interpolation is nearly
   exact, mid-gap the model matters most.

   Or, ``adaptive``, each joint's weight comes from the two errors measured on the
   video's own keyframes (inverse-variance weighting, ``w = vi / (vi + vm)``):
   the model's, from how much its offset to the labels changes from one keyframe
   to the next (``vm = m2 * (1 + (1 - u)**2 + u**2)`` at fraction ``u`` of the gap,
   ``m2`` half the mean squared change), and the interpolation's, from
   interpolating each keyframe from its two neighbours (leave one out), scaled as
   the error of a curved path, ``vi = c2 * (4 u (1 - u))**2 * gap**4``. A model
   that is poor on this video thus fades to interpolation by itself, a good one
   takes over mid-gap; joints with too few keyframes use the median of the others.
3. **Snap.** Where the corrected model lands farther from the interpolation than
   ``snap * (motion + 0.05 * box)`` (``motion`` how far the joint moved between the
   two keyframes, ``box`` the body's size there), the model is taken to have jumped
   to something else and the interpolation is kept.

:data:`METHODS` lists the variants (``interp``, ``model``, ``offset``, ``blend``);
``scripts/propagation_eval.py`` measures them side by side on synthetic videos and
on real clips and :data:`DEFAULT_PARAMS` is the measured best (see
``docs/propagation.md``). Without a model, :func:`propagate` falls back to
interpolation.

Only frames strictly between two keyframes of a joint are filled, and never a
frame that carries a person's label: a keyframe is any frame with a human label
(manual, corrected, accepted or imported). The result is meant to be stored as
predictions (:meth:`rpan_core.project.Project.set_predictions`) to accept or correct
like any model pose. No Qt here: the command line (``rpan propagate``), the studio
and the benchmark share this module.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

import numpy as np

from rpan_core.errors import ConfigError, ProjectError

__all__ = ["METHODS", "BlendParams", "DEFAULT_PARAMS", "Propagation", "propagate", "propagate_video", "align_sides",
           "configure_parser", "cli_main"]

METHODS = ("interp", "model", "offset", "blend")


@dataclass(frozen=True)
class BlendParams:
    """How ``blend`` mixes the offset-corrected model with interpolation (see the module docstring)."""

    distance_power: float = 1.0
    conf_power: float = 0.0
    snap: float = 2.0  # <= 0 turns snapping off
    adaptive: bool = False  # weights from the model's and the interpolation's errors measured on the keyframes
    gap_power: float = 4.0  # adaptive: the interpolation's squared error grows as gap ** gap_power
    auto_offset: bool = False  # adaptive: per joint, the raw model where its keyframe errors do not persist

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


#: Chosen with scripts/propagation_eval.py (docs/propagation.md): adaptive weights were the only blend that
#: never did worse than interpolation (the demo model on synthetic video: 1.69 joints to move per frame at 5 %
#: with keyframes every 10th frame, interpolation 1.75, fixed distance weights 2.4-2.9).
DEFAULT_PARAMS = BlendParams(snap=2.0, adaptive=True)


@dataclass
class Propagation:
    """Poses for the frames between keyframes (``frames`` sorted; joints not filled are NaN / not labeled).

    ``weight`` is the share of the model in each joint (0 for interpolation, 1 for
    the model alone); ``snapped`` marks joints where the model was overruled;
    ``conf`` is what the studio shows as the joint's confidence: the model's
    confidence for its share, 1 for the interpolation's (``1 - w + w * conf``).
    """

    frames: np.ndarray   # F int64
    xy: np.ndarray       # F x J x 2 float64
    visible: np.ndarray  # F x J bool
    filled: np.ndarray   # F x J bool
    weight: np.ndarray   # F x J float64
    snapped: np.ndarray  # F x J bool
    conf: np.ndarray     # F x J float64
    method: str
    params: BlendParams = field(default_factory=BlendParams)

    @property
    def num_joints_filled(self) -> int:
        return int(self.filled.sum())


def _check(method: str, model_xy: Any) -> str:
    if method not in METHODS:
        raise ConfigError(f"unknown propagation method {method!r}; choose one of: {', '.join(METHODS)}")
    if method != "interp" and model_xy is None:
        raise ConfigError(f"propagation method {method!r} needs the model's poses (a checkpoint); "
                          "without one use 'interp'")
    return method


def propagate(n_frames: int, key_frames: Any, key_xy: Any, key_visible: Any, *, model_xy: Any = None,
              model_conf: Any = None, method: str | None = None, params: BlendParams | None = None,
              flip_index: Any = None) -> Propagation:
    """Fill the frames strictly between keyframes, joint by joint.

    ``key_frames`` K frame indices with human labels, ``key_xy`` K x J x 2 (NaN where
    a joint has no position there), ``key_visible`` K x J. ``model_xy`` (n_frames x J
    x 2) and ``model_conf`` (n_frames x J) are the model's poses for every frame
    (an :class:`~rpan_core.analyze.Analysis`' ``xy`` and ``conf``). ``method`` defaults
    to ``blend`` with a model and ``interp`` without. With the skeleton's
    ``flip_index`` the model's poses first take the sides the keyframes say
    (:func:`align_sides`).
    """
    params = params or DEFAULT_PARAMS
    method = _check(method or ("blend" if model_xy is not None else "interp"), model_xy)
    kf = np.asarray(key_frames, np.int64).reshape(-1)
    kxy = np.asarray(key_xy, np.float64)
    kvis = np.asarray(key_visible, bool)
    if kxy.ndim != 3 or kxy.shape[0] != len(kf) or kxy.shape[2] != 2 or kvis.shape != kxy.shape[:2]:
        raise ConfigError(f"keyframes: {len(kf)} frames with xy {kxy.shape} and visible {kvis.shape}; "
                          "expected K x J x 2 and K x J")
    order = np.argsort(kf, kind="stable")
    kf, kxy, kvis = kf[order], kxy[order], kvis[order]
    J = kxy.shape[1]
    if model_xy is not None:
        mxy = np.asarray(model_xy, np.float64)
        if mxy.shape[0] < n_frames or mxy.shape[1:] != (J, 2):
            raise ConfigError(f"the model's poses have shape {mxy.shape}; expected {n_frames} x {J} x 2 "
                              "(analyze the video with a checkpoint of the project's skeleton)")
        mconf = np.ones(mxy.shape[:2]) if model_conf is None else np.clip(np.asarray(model_conf, np.float64), 0, 1)
        if flip_index is not None:
            mxy, mconf = align_sides(mxy[:n_frames], mconf[:n_frames], kf, kxy, flip_index)
    is_key = np.zeros(n_frames, bool)
    is_key[kf[(kf >= 0) & (kf < n_frames)]] = True
    if len(kf) < 2:
        targets = np.zeros(0, np.int64)
    else:
        targets = np.arange(kf[0] + 1, kf[-1], dtype=np.int64)
        targets = targets[~is_key[targets]]
    F = len(targets)
    xy = np.full((F, J, 2), np.nan)
    visible = np.zeros((F, J), bool)
    filled = np.zeros((F, J), bool)
    weight = np.zeros((F, J))
    snapped = np.zeros((F, J), bool)
    conf = np.zeros((F, J))
    stats = _error_stats(kf, kxy, mxy, params.gap_power) if (method == "blend" and params.adaptive) else None
    for j in range(J):
        have = np.isfinite(kxy[:, j]).all(axis=1)
        anchors, A, V = kf[have], kxy[have, j], kvis[have, j]
        if len(anchors) < 2 or F == 0:
            continue
        i = np.searchsorted(anchors, targets)
        ok = (i > 0) & (i < len(anchors))
        if not ok.any():
            continue
        t = targets[ok].astype(np.float64)
        ia, ib = i[ok] - 1, i[ok]
        a, b = anchors[ia].astype(np.float64), anchors[ib].astype(np.float64)
        u = ((t - a) / (b - a))[:, None]
        La, Lb = A[ia], A[ib]
        interp = (1 - u) * La + u * Lb
        near_a = (t - a) <= (b - t)
        vis = np.where(near_a, V[ia], V[ib])
        out, w, snap = interp, np.zeros(len(t)), np.zeros(len(t), bool)
        if method != "interp":
            ti, ai, bi = targets[ok], anchors[ia], anchors[ib]
            M = mxy[ti, j]
            good = np.isfinite(M).all(axis=1) & np.isfinite(mxy[ai, j]).all(axis=1) & np.isfinite(mxy[bi, j]).all(axis=1)
            if method == "model":
                corrected, w = M, np.ones(len(t))
            else:
                corrected = M + (1 - u) * (La - mxy[ai, j]) + u * (Lb - mxy[bi, j])
                if method == "offset":
                    w = np.ones(len(t))
                else:
                    d = np.minimum(t - a, b - t) / ((b - a) / 2.0)
                    if stats is not None and stats[0][j] is not None and stats[1][j] is not None:
                        g = (b - a)
                        vi = stats[0][j] * (4 * u[:, 0] * (1 - u[:, 0])) ** (params.gap_power / 2) * g ** params.gap_power
                        vm = stats[1][j] * (1 + (1 - u[:, 0]) ** 2 + u[:, 0] ** 2)
                        if params.auto_offset and stats[2][j] is not None and stats[2][j] < vm.mean():
                            corrected, vm = M, np.full(len(t), stats[2][j])  # errors that come and go: no offset
                        w = vi / np.maximum(vi + vm, 1e-12)
                    else:
                        w = np.clip(d, 0, 1) ** params.distance_power
                    if params.conf_power:
                        w = w * mconf[ti, j] ** params.conf_power
                    if params.snap > 0:
                        motion = np.linalg.norm(Lb - La, axis=1)
                        box = _box_size(kxy, kvis, ia, ib, anchors, kf)
                        snap = np.linalg.norm(corrected - interp, axis=1) > params.snap * (motion + 0.05 * box)
                        w = np.where(snap, 0.0, w)
            w = np.where(good, w, 0.0)
            corrected = np.where(good[:, None], corrected, interp)
            out = w[:, None] * corrected + (1 - w[:, None]) * interp
        rows = np.flatnonzero(ok)
        xy[rows, j] = out
        visible[rows, j] = vis
        filled[rows, j] = True
        weight[rows, j] = w
        snapped[rows, j] = snap
        conf[rows, j] = 1.0 - w + (w * mconf[targets[ok], j] if method != "interp" else 0.0)
    return Propagation(targets, xy, visible, filled, weight, snapped, conf, method, params)


def align_sides(model_xy: np.ndarray, model_conf: np.ndarray, key_frames: np.ndarray, key_xy: np.ndarray,
                flip_index: Any) -> tuple[np.ndarray, np.ndarray]:
    """The model's poses with each frame's left/right sides swapped where the keyframes say so.

    Why: a model that never saw a view from behind (or saw it only in mirrored
    augmentation) places a whole skeleton on the body with its sides exchanged, often
    on runs of frames. The offset correction cannot repair that (the error flips with
    the pose), so the blend would throw the model away. The keyframes know the sides:
    each frame takes the version of the model's pose (as is, or sides swapped) that
    lies nearer to the interpolation between its keyframes (on a keyframe: nearer to
    the label), summed over the joints both have. Frames outside the keyframes' span
    are compared with the nearest keyframe.
    """
    fi = np.asarray(flip_index, np.int64)
    mxy = np.array(model_xy, np.float64)
    mconf = np.array(model_conf, np.float64)
    n, J = mxy.shape[:2]
    if len(fi) != J or len(key_frames) == 0:
        return mxy, mconf
    ref = np.full((n, J, 2), np.nan)
    t = np.arange(n, dtype=np.float64)
    for j in range(J):
        have = np.isfinite(key_xy[:, j]).all(axis=1)
        if have.any():
            for c in range(2):
                ref[:, j, c] = np.interp(t, key_frames[have], key_xy[have, j, c])
    with np.errstate(invalid="ignore"):
        d_as = np.nansum(np.linalg.norm(mxy - ref, axis=-1), axis=1)
        d_sw = np.nansum(np.linalg.norm(mxy[:, fi] - ref, axis=-1), axis=1)
    swap = d_sw < d_as
    mxy[swap] = mxy[swap][:, fi]
    mconf[swap] = mconf[swap][:, fi]
    return mxy, mconf


def _error_stats(kf: np.ndarray, kxy: np.ndarray, mxy: np.ndarray, gap_power: float = 4.0) -> tuple[list, list, list]:
    """Per joint: ``c2`` (interpolation's leave-one-out error per (4u(1-u))^(p/2) gap^p, p = ``gap_power``),
    ``m2`` (half the mean squared change of the model's keyframe offsets) and ``s2`` (mean squared offset).

    None where a joint has too few keyframes; then the median over the joints that
    have them (None when no joint has).
    """
    J = kxy.shape[1]
    c2: list[float | None] = [None] * J
    m2: list[float | None] = [None] * J
    s2: list[float | None] = [None] * J
    for j in range(J):
        have = np.isfinite(kxy[:, j]).all(axis=1)
        f, A = kf[have], kxy[have, j]
        if len(f) >= 3:
            u = (f[1:-1] - f[:-2]) / (f[2:] - f[:-2])
            r = A[1:-1] - ((1 - u)[:, None] * A[:-2] + u[:, None] * A[2:])
            G = (f[2:] - f[:-2]).astype(np.float64)
            c2[j] = float(np.mean((r ** 2).sum(1) / ((4 * u * (1 - u)) ** (gap_power / 2) * G ** gap_power)))
        M = mxy[f, j]
        ok = np.isfinite(M).all(axis=1)
        o = (A - M)[ok]
        if len(o) >= 2:
            m2[j] = float(np.mean((np.diff(o, axis=0) ** 2).sum(1)) / 2)
            s2[j] = float(np.mean((o ** 2).sum(1)))
    for lst in (c2, m2, s2):
        known = [v for v in lst if v is not None]
        if known:
            med = float(np.median(known))
            lst[:] = [med if v is None else v for v in lst]
    return c2, m2, s2


def _box_size(kxy: np.ndarray, kvis: np.ndarray, ia: np.ndarray, ib: np.ndarray, anchors: np.ndarray,
              kf: np.ndarray) -> np.ndarray:
    """Body size (the larger side of the labeled joints' box) at the two keyframes of each gap, averaged."""
    pts = np.where(np.isfinite(kxy), kxy, np.nan)
    with np.errstate(all="ignore"):
        lo, hi = np.nanmin(pts, axis=1), np.nanmax(pts, axis=1)
    size = np.nan_to_num(np.max(hi - lo, axis=1), nan=0.0)  # per keyframe
    pos = {int(f): k for k, f in enumerate(kf)}
    sa = size[[pos[int(f)] for f in anchors[ia]]]
    sb = size[[pos[int(f)] for f in anchors[ib]]]
    return (sa + sb) / 2.0


# ----------------------------------------------------------------------------- a project's video

def human_keyframes(project: Any, video_id: int, person: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frames where ``person`` was labeled (any stored label is human: predictions live elsewhere)."""
    la = project.video_labels(video_id, person=person)
    keep = la.labeled.any(axis=1)
    xy = np.where(la.labeled[..., None], la.xy, np.nan)
    return la.frames[keep], xy[keep], (la.visible & la.labeled)[keep]


def propagate_video(project: Any, video_id: int, *, checkpoint: str | os.PathLike | None = None,
                    method: str | None = None, params: BlendParams | None = None, device: str | None = None,
                    analysis: Any = None, progress: Callable[..., Any] | None = None, cancel: Any = None,
                    write: bool = True, person: int = 1, align: bool = False) -> Propagation:
    """Propagate one video's keyframes and store the result as the video's predictions.

    With ``checkpoint`` (or a ready ``analysis``) the model's poses are used (the
    video is analyzed once, cached under the project); without, interpolation.
    ``align``: each frame of the model's poses first takes the left/right the keyframes
    say (:func:`align_sides`), for a model that reads this view mirrored.
    Previous predictions on the filled frames are replaced; labels are never touched.
    """
    rec = project.video(video_id)
    frames, kxy, kvis = human_keyframes(project, video_id, person)
    if len(frames) < 2:
        raise ProjectError(f"video {video_id} ({os.path.basename(rec.path)}) has {len(frames)} labeled frame"
                           f"{'' if len(frames) == 1 else 's'}; propagation fills the frames between keyframes, "
                           "so label at least two frames first")
    if analysis is None and checkpoint is not None:
        analysis = model_poses(project, video_id, checkpoint, person, device=device, progress=progress,
                               cancel=cancel)
    mxy = mconf = None
    if analysis is not None:
        mxy, mconf = np.asarray(analysis.xy), np.asarray(analysis.conf)
    flip_index = project.skeleton.flip_index if (align and mxy is not None) else None
    prop = propagate(rec.frame_count, frames, kxy, kvis, model_xy=mxy, model_conf=mconf, method=method,
                     params=params, flip_index=flip_index)
    if write:
        origin = f"propagate:{prop.method}"
        if analysis is not None:
            origin += f":{str(getattr(analysis, 'checkpoint_hash', ''))[:12]}"
        project.set_predictions(video_id, prop.frames, prop.xy, prop.visible, prop.conf, origin,
                                filled=prop.filled, person=person)
    return prop


def model_poses(project: Any, video_id: int, checkpoint: str | os.PathLike, person: int = 1, *,
                device: str | None = None, progress: Callable[..., Any] | None = None, cancel: Any = None) -> Any:
    """The model's reading of one person: the whole-frame analysis in a single-person video, the
    per-person analysis on crops around its boxes (:mod:`rpan_core.person_analysis`) when the video
    has several persons (a whole frame would give every person the same skeleton)."""
    rec = project.video(video_id)
    if len(project.persons(video_id)) > 1:
        from rpan_core.person_analysis import analyze_project_person

        return analyze_project_person(project, video_id, checkpoint, person, device=device, progress=progress,
                                      cancel=cancel)
    from rpan_core.analyze import analyze_video

    return analyze_video(rec.path, checkpoint, project=project, device=device, progress=progress, cancel=cancel)


# ----------------------------------------------------------------------------- command line

def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", required=True, help="project folder")
    parser.add_argument("--checkpoint", help="a checkpoint for the project's skeleton; without one the frames "
                                             "are interpolated")
    parser.add_argument("--video", action="append", default=None, metavar="ID_OR_NAME",
                        help="video id or file name (repeatable; default: every video with two or more "
                             "labeled frames)")
    parser.add_argument("--method", choices=METHODS, help="blend (default with a checkpoint), offset, model, or "
                                                          "interp (default without)")
    parser.add_argument("--fixed-weights", action="store_true",
                        help="blend by distance to the keyframes (--distance-power) instead of by the errors the "
                             "model and the interpolation make on this video's keyframes (the default)")
    parser.add_argument("--distance-power", type=float, default=DEFAULT_PARAMS.distance_power)
    parser.add_argument("--conf-power", type=float, default=DEFAULT_PARAMS.conf_power,
                        help="also weight the model by its confidence to this power (default 0: not)")
    parser.add_argument("--snap", type=float, default=DEFAULT_PARAMS.snap,
                        help="keep the interpolation where the model lands farther than SNAP x (motion + 5%% "
                             "of the body) from it; 0 turns it off")
    parser.add_argument("--device", help="cuda, cpu (default: CUDA when available)")
    parser.add_argument("--check-sides", action="store_true",
                        help="also run the model on the horizontally flipped video and list the frames whose "
                             "left/right it doubts (needs --checkpoint; the crossed-sides check always runs)")
    parser.add_argument("--align-sides", action="store_true",
                        help="give each frame of the model's poses the left/right its keyframes say before blending "
                             "(for a model that reads this camera view mirrored, e.g. a person filmed from behind)")
    parser.add_argument("--person", type=int, default=1, metavar="N",
                        help="the person whose keyframes are propagated (default 1); with --checkpoint, in a video "
                             "of several persons the model reads it on crops around its boxes")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")


def _pick_videos(project: Any, wanted: list[str] | None, person: int = 1) -> list[Any]:
    videos = project.videos()
    if not wanted:
        return [v for v in videos if len(project.labeled_frames(v.id, person)) >= 2]
    out = []
    for w in wanted:
        hit = [v for v in videos if str(v.id) == w or os.path.basename(v.path) == w
               or os.path.splitext(os.path.basename(v.path))[0] == w]
        if not hit:
            names = ", ".join(f"{v.id} {os.path.basename(v.path)}" for v in videos) or "none"
            raise ProjectError(f"no video {w!r} in {project.folder}; its videos: {names}")
        out.extend(h for h in hit if h not in out)
    return out


def _ranges(frames: list[int]) -> str:
    """``1-3, 7, 9-10`` for [1, 2, 3, 7, 9, 10]."""
    out: list[str] = []
    for f in sorted(set(frames)):
        if out and int(out[-1].split("-")[-1]) == f - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{f}"
        else:
            out.append(str(f))
    return ", ".join(out)


def cli_main(args: argparse.Namespace) -> int:
    from rpan_core.project import Project

    params = replace(DEFAULT_PARAMS, distance_power=args.distance_power, conf_power=args.conf_power, snap=args.snap,
                     adaptive=not args.fixed_weights)
    person = int(getattr(args, "person", 1) or 1)
    if person < 1:
        raise ConfigError(f"person ids start at 1, got --person {person}")
    with Project.open(args.project) as project:
        videos = _pick_videos(project, args.video, person)
        if not videos:
            who = "" if person == 1 else f" for person {person}"
            raise ProjectError(f"no video of {args.project} has two labeled frames{who}; label keyframes first")
        for v in videos:  # an unknown person: one line before any work
            project.person(v.id, person)
        if args.check_sides and not args.checkpoint:
            raise ConfigError("--check-sides runs the model on the flipped video: give --checkpoint too")
        summary = []
        for v in videos:
            from rpan_core.sides import doubts_for_video, flipped_poses

            analysis = None
            if args.checkpoint:
                analysis = model_poses(project, v.id, args.checkpoint, person, device=args.device)
            prop = propagate_video(project, v.id, analysis=analysis, method=args.method, params=params, person=person,
                                   align=bool(getattr(args, "align_sides", False)))
            # the flipped reading is a whole-frame one: it speaks for the person of a single-person video only
            flipped = flipped_poses(v.path, args.checkpoint, project=project, device=args.device) \
                if args.check_sides and len(project.persons(v.id)) == 1 else None
            doubts = doubts_for_video(project, v.id, flipped_xy=flipped, person=person)
            frames_filled = int(prop.filled.any(axis=1).sum())
            row = {"video": v.id, "name": os.path.basename(v.path), "person": person, "method": prop.method,
                   "frames": frames_filled, "joints": prop.num_joints_filled,
                   "model_share": float(prop.weight[prop.filled].mean()) if prop.filled.any() else 0.0,
                   "snapped": int(prop.snapped.sum()),
                   "side_doubts": [{"frame": d.frame, "reason": d.reason, "score": round(d.score, 4)}
                                   for d in sorted(doubts, key=lambda d: d.frame)]}
            summary.append(row)
            if not args.json:
                extra = (f", model share {row['model_share']:.2f}, {row['snapped']} joints snapped to the "
                         "interpolation" if prop.method != "interp" else "")
                who = "" if person == 1 else f" person {person}"
                print(f"video {v.id} {row['name']}{who}: {row['frames']} frames predicted by {prop.method} "
                      f"({row['joints']} joints{extra})")
                if doubts:
                    print(f"  left/right in doubt on {len(doubts)} frames: {_ranges([d.frame for d in doubts])} "
                          "(swap them in the studio: X / Shift+X)")
        if args.json:
            print(json.dumps(summary, indent=1))
        else:
            print("stored as predictions: accept or correct them in the studio (A / Shift+A)")
    return 0
