"""Benchmark: how many joints a person must move to label a video, with and without the model.

The studio's promise is that correcting the model's poses is cheaper than
labeling from nothing, and gets cheaper as the model is fine-tuned on the
corrections. This measures it with a simulated annotator on synthetic videos
whose joints are exact. The annotator moves a joint when the label it is shown
is off by more than a tolerance (5 % of the larger side of the person's box) or
has the wrong visibility flag; labeling from nothing, it places every visible
joint. Work is counted as joints moved per frame, at four stages:

(a) from nothing, (b) starting from the demo model's predictions, (c) after one
fine-tune round on a few hundred corrected frames from *other* videos, (d) after
a second round that adds as many again.

Everything goes through the studio's own paths, so the figure measures what a
user gets: videos are mp4 files, predictions come from
:func:`rpan_core.analyze.analyze_video` (the recurrence run at the checkpoint's
training stride, refined sub-cell decoding), corrected frames are written to a
:class:`~rpan_core.project.Project` as the annotator leaves them (accepted
predictions keep their small error, moved joints get the truth), and a round is
:func:`rpan_core.engine.run_training` with the engine's ``finetune`` preset,
initialized from the previous checkpoint, backbone frozen, feature cubes cached
(see :data:`ROUND_RECIPE` for the labeling-specific settings and why). The
evaluation videos are never written to the project: nothing is trained or tuned
on them. The "visible" decision (dummy-cell probability below a threshold) is
picked on the project's corrected frames after each round, never on the
evaluation frames; before any correction exists it is 0.5.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

# the studio's visibility rule, used while no corrected frame exists to pick a threshold
from rpan_core.analyze import DEFAULT_DUMMY_THRESHOLD

#: The annotator's tolerance, as a fraction of the larger side of the person's box.
TOLERANCE = 0.05

#: Overrides of the engine's ``finetune`` preset for a labeling round (``rpan train --init CK
#: --freeze-backbone --preset finetune`` plus these), and why:
#:
#: * ``lambda_pose`` 10: a labeling fine-tune is there to improve poses; the action loss
#:   (summed over 8 steps) would otherwise dominate the squared attention error.
#: * ``sigma_px`` 16: about half an 8 x 10 grid cell at 240 x 320. The paper's 5 px makes the
#:   target nearly one cell, so the decoded pose snaps to cell centres (up to ~20 px off);
#:   a target spread over the neighbouring cells teaches attention whose weighted mean
#:   (``decode_refined``) lands between cells, which is what a 5 % tolerance needs.
#: * ``mirror`` off: with cached cubes the mirror augmentation flips the cube, not the frame,
#:   which is only approximately the flipped frame's features: wrong pixels for poses.
#: * ``epochs`` / ``batch`` / ``lr``: one 8-frame clip per video per epoch, so a few hundred
#:   frames need more epochs than the preset's 15 for ~60 optimizer steps (seconds on cached
#:   cubes). Longer runs memorize the few corrected videos (see docs/labeling_effort.md).
ROUND_RECIPE: dict[str, Any] = dict(preset="finetune", freeze_backbone=True, lambda_action=1.0, lambda_pose=10.0,
                                    sigma_px=16.0, mirror=False, epochs=40, lr_step_epoch=30, batch=4, lr=0.01)


def joint_tolerance(bbox_xyxy: np.ndarray, fraction: float = TOLERANCE) -> np.ndarray:
    """Per-frame tolerance in pixels: ``fraction * max(box width, box height)``; ``F x 4 -> F``."""
    b = np.asarray(bbox_xyxy, dtype=np.float64)
    return fraction * np.maximum(b[..., 2] - b[..., 0], b[..., 3] - b[..., 1])


def joints_to_move(pred_xy: np.ndarray, pred_visible: np.ndarray, true_xy: np.ndarray,
                   true_visible: np.ndarray, bbox_xyxy: np.ndarray,
                   fraction: float = TOLERANCE) -> np.ndarray:
    """``F x J`` bool: the joints the annotator has to touch to reach the truth.

    A truly visible joint is touched when the shown label says invisible or lies
    farther than the tolerance from the truth (distance strictly above it). A truly
    invisible joint is touched only when the shown label says visible (one click
    to flip the flag); its position does not matter.
    """
    pred_visible = np.asarray(pred_visible, bool)
    true_visible = np.asarray(true_visible, bool)
    dist = np.linalg.norm(np.asarray(pred_xy, np.float64) - np.asarray(true_xy, np.float64), axis=-1)
    tol = joint_tolerance(bbox_xyxy, fraction)[..., None]
    wrong_place = true_visible & pred_visible & ~(dist <= tol)  # a NaN position is never accepted
    wrong_flag = pred_visible != true_visible
    return wrong_place | wrong_flag


def from_nothing(true_visible: np.ndarray) -> np.ndarray:
    """``F``: joints placed per frame when labeling from nothing (every visible joint)."""
    return np.asarray(true_visible, bool).sum(-1)


def corrected_labels(pred_xy: np.ndarray, pred_visible: np.ndarray, true_xy: np.ndarray, true_visible: np.ndarray,
                     bbox_xyxy: np.ndarray, fraction: float = TOLERANCE
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the annotator leaves behind: ``(xy F x J x 2, visible F x J, moved F x J)``.

    Moved joints get the true position and flag; accepted joints keep the predicted
    position (within the tolerance of the truth, not on it) and their (right) flag.
    """
    moved = joints_to_move(pred_xy, pred_visible, true_xy, true_visible, bbox_xyxy, fraction)
    keep = ~moved & np.asarray(true_visible, bool)
    xy = np.where(keep[..., None], np.asarray(pred_xy, np.float64), np.asarray(true_xy, np.float64))
    return xy.astype(np.float32), np.asarray(true_visible, bool).copy(), moved


@dataclass
class Effort:
    """Totals over a set of frames: joints moved, frames, and what from nothing would cost."""

    moved: int
    frames: int
    baseline: int
    wrong_place: int = 0  # of ``moved``: visible, shown visible, too far off
    wrong_flag: int = 0  # of ``moved``: visibility flag wrong

    @property
    def per_frame(self) -> float:
        return self.moved / max(1, self.frames)

    @property
    def saved(self) -> float:
        """Fraction of the from-nothing work that is saved (1 = nothing to do)."""
        return 1.0 - self.moved / max(1, self.baseline)

    def __add__(self, other: "Effort") -> "Effort":
        return Effort(self.moved + other.moved, self.frames + other.frames, self.baseline + other.baseline,
                      self.wrong_place + other.wrong_place, self.wrong_flag + other.wrong_flag)


def effort(pred_xy: np.ndarray | None, pred_visible: np.ndarray | None, true_xy: np.ndarray,
           true_visible: np.ndarray, bbox_xyxy: np.ndarray, fraction: float = TOLERANCE) -> Effort:
    """The annotator's work on one video; ``pred_xy=None`` means labeling from nothing."""
    base = int(from_nothing(true_visible).sum())
    if pred_xy is None:
        return Effort(base, len(true_visible), base)
    moved = joints_to_move(pred_xy, pred_visible, true_xy, true_visible, bbox_xyxy, fraction)
    flag = np.asarray(pred_visible, bool) != np.asarray(true_visible, bool)
    return Effort(int(moved.sum()), len(true_visible), base, int((moved & ~flag).sum()), int(flag.sum()))


def pick_dummy_threshold(pred_xy: np.ndarray, dummy: np.ndarray, label_xy: np.ndarray, label_visible: np.ndarray,
                         bbox_xyxy: np.ndarray, fraction: float = TOLERANCE,
                         grid: Sequence[float] = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))) -> float:
    """The visibility threshold (visible = dummy probability below it) that leaves the fewest
    joints to move on the given frames: call it with *labeled* frames (the fine-tune's own),
    never with the frames being evaluated. Ties go to the threshold closest to 0.5."""
    best = None
    for thr in sorted(grid, key=lambda t: abs(t - 0.5)):
        n = int(joints_to_move(pred_xy, np.asarray(dummy) < thr, label_xy, label_visible, bbox_xyxy, fraction).sum())
        if best is None or n < best[0]:
            best = (n, float(thr))
    return best[1] if best is not None else DEFAULT_DUMMY_THRESHOLD


# ----------------------------------------------------------------------------- the simulation

DEMO_CHECKPOINT = Path(__file__).resolve().parents[2] / "assets" / "demo_checkpoint.pt"
N_FRAMES = 40  # the demo model's clip length, so the analysis stride matches its training stride
EVAL_SEED, POOL_SEED = 9000, 5000  # disjoint from the demo model's training videos (synth seed 7)


@dataclass
class _Video:
    path: Path
    xy: np.ndarray
    visible: np.ndarray
    bbox: np.ndarray
    action: str
    video_id: int | None = None


def _render(folder: Path, seed0: int, n: int, n_frames: int, actions: Sequence[str], offset: int = 0) -> list[_Video]:
    from rpan_core import synth

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(offset, offset + n):
        a = actions[k % len(actions)]
        sv = synth.render_video(seed0 + k, a, n_frames=n_frames)
        p = synth.write_mp4(folder / f"{k:03d}_{a}.mp4", sv.frames, sv.fps)
        out.append(_Video(p, sv.xy, sv.visible, sv.bbox, a))
    return out


def _analyze(video: _Video, checkpoint: Path, cache: Path, threshold: float) -> tuple[np.ndarray, np.ndarray,
                                                                                         np.ndarray]:
    """(xy, visible, dummy) as the studio would show them (refined decode)."""
    from rpan_core.analyze import analyze_video

    a = analyze_video(video.path, checkpoint, cache_dir=cache, device="cpu")
    dummy = np.asarray(a.dummy, np.float32)
    return np.asarray(a.xy, np.float32), dummy < threshold, dummy


def _stage(videos: Sequence[_Video], checkpoint: Path | None, cache: Path, threshold: float) -> Effort:
    tot = Effort(0, 0, 0)
    for v in videos:
        if checkpoint is None:
            tot = tot + effort(None, None, v.xy, v.visible, v.bbox)
        else:
            xy, vis, _ = _analyze(v, checkpoint, cache, threshold)
            tot = tot + effort(xy, vis, v.xy, v.visible, v.bbox)
    return tot


def _correct_into_project(project: Any, videos: Sequence[_Video], checkpoint: Path, cache: Path,
                          threshold: float, split: str = "train") -> Effort:
    """The annotator corrects the model's predictions on ``videos``; the result goes into the project."""
    tot = Effort(0, 0, 0)
    for v in videos:
        pxy, pvis, _ = _analyze(v, checkpoint, cache, threshold)
        xy, vis, moved = corrected_labels(pxy, pvis, v.xy, v.visible, v.bbox)
        v.video_id = project.add_video(v.path, action=v.action, split=split)
        rows = [(t, j, float(xy[t, j, 0]), float(xy[t, j, 1]), bool(vis[t, j]),
                 "corrected" if moved[t, j] else "accepted")
                for t in range(xy.shape[0]) for j in range(xy.shape[1])]
        project.set_labels(v.video_id, rows)
        tot = tot + effort(pxy, pvis, v.xy, v.visible, v.bbox)
    return tot


def _on_labels(project: Any, videos: Sequence[_Video], checkpoint: Path, cache: Path,
               threshold: float | None = None) -> tuple[float, Effort]:
    """On the project's corrected frames of ``videos`` (what the project knows, never the truth): the dummy
    threshold leaving the fewest moves (``threshold=None``) and the annotator's work at it."""
    P, D, L, V, B = [], [], [], [], []
    for v in videos:
        la = project.video_labels(v.video_id)
        frames = np.asarray(la.frames, np.int64)
        pxy, _, dummy = _analyze(v, checkpoint, cache, DEFAULT_DUMMY_THRESHOLD)
        P.append(pxy[frames]), D.append(dummy[frames])
        L.append(np.asarray(la.xy, np.float32)), V.append(np.asarray(la.visible, bool))
        B.append(v.bbox[frames])  # the person's box comes with the labels
    P, D, L, V, B = (np.concatenate(a) for a in (P, D, L, V, B))
    thr = pick_dummy_threshold(P, D, L, V, B) if threshold is None else threshold
    return thr, effort(P, D < thr, L, V, B)


def finetune_round(project_dir: Path, init: Path, run_dir: Path, recipe: dict | None = None,
                   seed: int = 0) -> tuple[Path, float]:
    """One labeling fine-tune round with the engine: ``(checkpoint, seconds)``."""
    from rpan_core.engine import TrainConfig, run_training

    rec = dict(ROUND_RECIPE, **(recipe or {}))
    tc = TrainConfig(project=str(project_dir), run_dir=str(run_dir), init=str(init), device="cpu", seed=seed,
                     tensorboard=False, **rec)
    t0 = time.perf_counter()
    run = run_training(tc, progress=False)
    return Path(run) / "last.pt", time.perf_counter() - t0


def _split(videos: list[_Video], val_fraction: float) -> tuple[list[_Video], list[_Video]]:
    n_val = max(1, int(round(len(videos) * val_fraction))) if len(videos) > 1 else 0
    return videos[:len(videos) - n_val], videos[len(videos) - n_val:]


def run(quick: bool = False, *, checkpoint: str | os.PathLike | None = None, workdir: str | os.PathLike | None = None,
        recipe: dict | None = None, n_eval: int | None = None, n_round: int | None = None,
        val_fraction: float = 0.25) -> dict:
    """Joints to move per frame at stages (a)-(d); fraction saved; fine-tune seconds per round.

    Each round's corrected videos are split: ``1 - val_fraction`` of them train the fine-tune,
    the rest (split ``val``, held out from it) pick the visibility threshold and decide whether
    the fine-tuned weights replace the previous ones (kept only when they leave fewer moves on
    those held-out corrected frames). The evaluation videos play no part in either choice; the
    fine-tuned weights' own evaluation figures are reported too (``*_finetuned_*``).
    """
    from rpan_core.checkpoint import read_checkpoint
    from rpan_core.project import Project
    from rpan_core.synth import ACTIONS

    ck0 = Path(checkpoint) if checkpoint else DEMO_CHECKPOINT
    _, info = read_checkpoint(ck0)
    classes = list(info.classes)
    acts = [a for a in ACTIONS if a in classes] or list(ACTIONS)
    n_eval = n_eval or (3 if quick else len(acts))
    n_round = n_round or (4 if quick else 8)  # videos per round, N_FRAMES corrected frames each
    rec = dict(recipe or {})
    if quick:
        rec.setdefault("epochs", max(1, ROUND_RECIPE["epochs"] // 3))
        rec.setdefault("lr_step_epoch", max(1, ROUND_RECIPE["lr_step_epoch"] // 3))
    tmp = tempfile.TemporaryDirectory(prefix="rpan-labeling-") if workdir is None else None
    work = Path(tmp.name if tmp else workdir)
    res: dict[str, Any] = {}
    try:
        cache = work / "analyses"
        evals = _render(work / "eval", EVAL_SEED, n_eval, N_FRAMES, acts)
        project = Project.create(work / "project", skeleton=info.skeleton.name, classes=classes)
        try:
            rounds = [_split(_render(work / "project" / "videos", POOL_SEED, n_round, N_FRAMES, acts, offset=r * n_round),
                             val_fraction) for r in range(2)]
            n_train = len(rounds[0][0])
            res.update(eval_videos=n_eval, eval_frames=n_eval * N_FRAMES, videos_per_round=n_round,
                       train_videos_per_round=n_train, frames_per_round=n_round * N_FRAMES,
                       train_frames_per_round=n_train * N_FRAMES, grid="x".join(map(str, _grid(info))),
                       tolerance=TOLERANCE)
            stages = {"a_from_nothing": _stage(evals, None, cache, 0.5),
                      "b_demo_model": _stage(evals, ck0, cache, DEFAULT_DUMMY_THRESHOLD)}
            current, thr = ck0, DEFAULT_DUMMY_THRESHOLD
            trained_on: dict[Path, set[int]] = {ck0: set()}  # corrected videos each checkpoint was tuned on
            train_v: list[_Video] = []
            val_v: list[_Video] = []

            def held_out(ck: Path) -> list[_Video]:
                return [v for v in train_v + val_v if v.video_id not in trained_on[ck]]

            for r, (tr, va) in enumerate(rounds, start=1):
                # the annotator corrects the current model's poses on this round's (other) videos
                w = _correct_into_project(project, tr, current, cache, thr, "train")
                w = w + _correct_into_project(project, va, current, cache, thr, "val")
                train_v, val_v = train_v + tr, val_v + va
                ck, secs = finetune_round(work / "project", current, work / f"round{r}", rec, seed=r - 1)
                trained_on[ck] = trained_on[current] | {v.video_id for v in train_v}
                # thresholds on corrected frames each model was not tuned on; the choice on ``val_v`` (neither was)
                thr_new = _on_labels(project, held_out(ck), ck, cache)[0]
                thr_old = _on_labels(project, held_out(current), current, cache)[0]
                on_val_new = _on_labels(project, val_v, ck, cache, thr_new)[1]
                on_val_old = _on_labels(project, val_v, current, cache, thr_old)[1]
                finetuned = _stage(evals, ck, cache, thr_new)
                keep = on_val_new.moved < on_val_old.moved
                current, thr = (ck, thr_new) if keep else (current, thr_old)
                key = "c_round1" if r == 1 else "d_round2"
                stages[key] = finetuned if keep else _stage(evals, current, cache, thr)
                res.update({f"round{r}_finetune_s": secs, f"round{r}_threshold": thr,
                            f"round{r}_kept_finetuned": bool(keep),
                            f"round{r}_val_joints_per_frame_finetuned": on_val_new.per_frame,
                            f"round{r}_val_joints_per_frame_previous": on_val_old.per_frame,
                            f"round{r}_annotated_joints_per_frame": w.per_frame,
                            f"{key}_finetuned_joints_per_frame": finetuned.per_frame,
                            f"{key}_finetuned_work_saved": finetuned.saved})
        finally:
            project.close()
        for name, e in stages.items():
            res[f"{name}_joints_per_frame"] = e.per_frame
            res[f"{name}_work_saved"] = e.saved
            if name != "a_from_nothing":
                res[f"{name}_misplaced_per_frame"] = e.wrong_place / max(1, e.frames)
                res[f"{name}_wrong_flags_per_frame"] = e.wrong_flag / max(1, e.frames)
        res["recipe"] = dict(ROUND_RECIPE, **rec)
        return res
    finally:
        if tmp is not None:
            tmp.cleanup()


def _grid(info: Any) -> tuple[int, int]:
    h, w = info.config.input_size
    s = int(getattr(info.config, "backbone_stride", 32))
    return (-(-h // s), -(-w // s))
