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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

# the studio's visibility rule, used while no corrected frame exists to pick a threshold
from rpan_core.analyze import DEFAULT_DUMMY_THRESHOLD

#: The annotator's tolerance, as a fraction of the larger side of the person's box.
TOLERANCE = 0.05

#: Visibility thresholds tried on corrected frames: the studio's 0.05 steps, and below them, since a model
#: trained on a few keyframes puts a dummy probability of a few thousandths on its visible joints.
THRESHOLDS: tuple[float, ...] = (0.001, 0.002, 0.005, 0.01, 0.02) + tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))


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
                         grid: Sequence[float] = THRESHOLDS) -> float:
    """The visibility threshold (visible = dummy probability below it) that leaves the fewest
    joints to move on the given frames: call it with *labeled* frames (the fine-tune's own),
    never with the frames being evaluated. Ties go to the threshold closest to 0.5."""
    best = None
    for thr in sorted(grid, key=lambda t: abs(t - 0.5)):
        n = int(joints_to_move(pred_xy, np.asarray(dummy) < thr, label_xy, label_visible, bbox_xyxy, fraction).sum())
        if best is None or n < best[0]:
            best = (n, float(thr))
    return best[1] if best is not None else DEFAULT_DUMMY_THRESHOLD


def pck(pred_xy: np.ndarray, true_xy: np.ndarray, true_visible: np.ndarray, bbox_xyxy: np.ndarray,
        alpha: float) -> float:
    """Share of the truly visible joints within ``alpha`` x the larger box side of the truth (the flag shown
    does not matter: PCK measures where the model puts a joint, the work also counts the flags)."""
    vis = np.asarray(true_visible, bool)
    d = np.linalg.norm(np.asarray(pred_xy, np.float64) - np.asarray(true_xy, np.float64), axis=-1)
    ok = (d <= joint_tolerance(bbox_xyxy, alpha)[..., None]) & vis
    return float(ok.sum() / max(1, vis.sum()))


# ----------------------------------------------------------------------------- the simulation

DEMO_CHECKPOINT = Path(__file__).resolve().parents[2] / "assets" / "demo_checkpoint.pt"
EVAL_SEED, POOL_SEED, ROUND_SEED = 9000, 5000, 6000  # disjoint from each other and from the demo model's (synth 7)
SEED_FRAMES, SEED_EVERY = 40, 5  # round 0: keyframes every 5th frame of 40-frame videos, placed from nothing


@dataclass(frozen=True)
class Recipe:
    """The labeling preset's few-keyframe trainer (:mod:`rpan_core.keyframes`, ``rpan train --model-preset
    labeling [--init CK] --steps S --copies C --lr LR``) as the benchmark runs it.

    Why these settings: round 0 learns from a couple of dozen keyframes, so each gets more augmented copies;
    the round's fine-tune continues round 0's weights (``--init``) on everything the project holds (the round-0
    keyframes and the corrected frames, as ``rpan train`` on the project does) at half the learning rate, with
    fewer copies per frame since it has several times more frames. Steps, not
    minutes, so the figures do not depend on the machine's load.
    """

    seed_steps: int = 200
    seed_copies: int = 8
    seed_lr: float = 4e-3
    round_steps: int = 200
    round_copies: int = 3
    round_lr: float = 2e-3
    batch: int = 8
    sigma_px: float = 6.0
    input_size: tuple[int, int] = (256, 192)
    stride: int = 4


#: ``--quick``: the same plumbing, seconds of training (figures not meaningful).
QUICK = Recipe(seed_steps=40, seed_copies=4, round_steps=40, round_copies=2)


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
    """(xy, visible, dummy) as the studio would show them (``rpan analyze``: refined decode; for the labeling
    preset a crop following the person frame by frame)."""
    from rpan_core.analyze import analyze_video

    a = analyze_video(video.path, checkpoint, cache_dir=cache, device="cpu")
    dummy = np.asarray(a.dummy, np.float32)
    return np.asarray(a.xy, np.float32), dummy < threshold, dummy


@dataclass
class _Preds:
    """A model's poses on a set of frames and what they are compared with."""

    xy: np.ndarray
    dummy: np.ndarray
    true_xy: np.ndarray
    true_visible: np.ndarray
    bbox: np.ndarray

    def effort(self, threshold: float) -> Effort:
        return effort(self.xy, self.dummy < threshold, self.true_xy, self.true_visible, self.bbox)

    def pck(self, alpha: float) -> float:
        return pck(self.xy, self.true_xy, self.true_visible, self.bbox, alpha)


def _cat(parts: list[tuple]) -> _Preds:
    return _Preds(*(np.concatenate([p[i] for p in parts]) for i in range(5)))


def _on_truth(videos: Sequence[_Video], ck: Path, cache: Path) -> _Preds:
    """Predictions on whole videos against their exact joints (the evaluation videos)."""
    parts = []
    for v in videos:
        xy, _, d = _analyze(v, ck, cache, DEFAULT_DUMMY_THRESHOLD)
        parts.append((xy, d, v.xy, v.visible, v.bbox))
    return _cat(parts)


def _on_labels(project: Any, videos: Sequence[_Video], ck: Path, cache: Path) -> _Preds:
    """Predictions on a project's labeled frames against the labels (what the project knows, never the truth;
    the person's box comes with the labels)."""
    parts = []
    for v in videos:
        la = project.video_labels(v.video_id)
        fr = np.asarray(la.frames, np.int64)
        xy, _, d = _analyze(v, ck, cache, DEFAULT_DUMMY_THRESHOLD)
        parts.append((xy[fr], d[fr], np.asarray(la.xy, np.float32), np.asarray(la.visible, bool), v.bbox[fr]))
    return _cat(parts)


def _label_rows(xy: np.ndarray, vis: np.ndarray, frames: Sequence[int], source: Any) -> list[tuple]:
    return [(int(t), j, float(xy[t, j, 0]), float(xy[t, j, 1]), bool(vis[t, j]),
             source[t, j] if isinstance(source, np.ndarray) else source) for t in frames for j in range(xy.shape[1])]


def _correct_into_project(project: Any, videos: Sequence[_Video], checkpoint: Path, cache: Path,
                          threshold: float, split: str = "train") -> Effort:
    """The annotator corrects the model's predictions on every frame of ``videos``; the labels go into the
    project (moved joints ``corrected`` with the truth, accepted ones ``accepted`` where the model put them)."""
    tot = Effort(0, 0, 0)
    for v in videos:
        pxy, pvis, _ = _analyze(v, checkpoint, cache, threshold)
        xy, vis, moved = corrected_labels(pxy, pvis, v.xy, v.visible, v.bbox)
        v.video_id = project.add_video(v.path, split=split)
        project.set_labels(v.video_id, _label_rows(xy, vis, range(len(xy)), np.where(moved, "corrected", "accepted")))
        tot = tot + effort(pxy, pvis, v.xy, v.visible, v.bbox)
    return tot


def train_round(project_dir: Path, run_dir: Path, *, steps: int, copies: int, lr: float, recipe: Recipe,
                init: Path | None = None, seed: int = 0, threads: int | None = None) -> tuple[Path, float, int]:
    """One training of the labeling preset on the project's ``train`` split: ``(last.pt, seconds, frames)``."""
    from rpan_core.keyframes import KeyframeConfig, train_keyframes

    lines: list[str] = []
    kc = KeyframeConfig(project=str(project_dir), minutes=None, steps=int(steps), copies=int(copies),
                        batch=recipe.batch, lr=float(lr), sigma_px=recipe.sigma_px, seed=seed,
                        input_size=tuple(recipe.input_size), stride=recipe.stride,
                        init=str(init) if init else None, run_dir=str(run_dir), save_every_s=1e9, eval_every_s=1e9,
                        threads=threads, min_steps=1)
    t0 = time.perf_counter()
    run = train_keyframes(kc, say=lines.append)
    frames = int(lines[0].split()[0]) if lines and lines[0].split()[0].isdigit() else -1
    return Path(run) / "last.pt", time.perf_counter() - t0, frames


#: The evaluation rows: (key, weights, threshold) — weights ``w0`` = round 0's model (made the round's
#: predictions), ``w1`` = fine-tuned on the round's corrections, ``w0more`` = round 0's model trained as many
#: more steps on round 0's keyframes only (the control: more steps, no new labels); threshold ``t0`` = the
#: studio's default before any correction, ``t1`` = picked for those weights on the round's held-out corrections.
#: ``w1fresh`` (optional): the same labels as ``w1`` trained from ImageNet without ``--init``, as many steps as
#: round 0 and the fine-tune together (does continuing the round-0 weights matter?).
COMBOS = (("w0_t0", "w0", "t0"), ("w0_t1", "w0", "t1"), ("w1_t0", "w1", "t0"), ("w1_t1", "w1", "t1"),
          ("w0more_t0", "w0more", "t0"), ("w0more_t1", "w0more", "t1"),
          ("w1fresh_t0", "w1fresh", "t0"), ("w1fresh_t1", "w1fresh", "t1"))


def run(quick: bool = False, *, workdir: str | os.PathLike | None = None, recipe: Recipe | None = None,
        n_seed: int | None = None, n_round: int | None = None, n_val: int | None = None, n_eval: int | None = None,
        frames: int | None = None, seed_frames: int = SEED_FRAMES, control: bool = True, demo: bool = True,
        fresh: bool = False, threads: int | None = None) -> dict:
    """Round 0 (keyframes from nothing, train), round 1 (correct the model's poses on new videos, fine-tune),
    then the work on round 2's videos for every combination of weights and visibility threshold.

    Round 1's videos are split: ``n_round - n_val`` train the fine-tune, ``n_val`` (split ``val``, held out from
    it) pick each model's visibility threshold. The evaluation videos are never in the project: nothing is
    trained, tuned or chosen on them.
    """
    from rpan_core.project import Project
    from rpan_core.synth import ACTIONS

    rec = recipe or (QUICK if quick else Recipe())
    n_seed = n_seed or 3
    n_round = n_round or (4 if quick else 9)
    n_val = n_val or (1 if quick else 2)
    n_eval = n_eval or (3 if quick else 9)
    frames = frames or (8 if quick else 16)
    if not 0 < n_val < n_round:
        from rpan_core.errors import ConfigError

        raise ConfigError(f"n_val must be between 1 and n_round - 1 (got {n_val} of {n_round})")
    acts = list(ACTIONS)
    tmp = tempfile.TemporaryDirectory(prefix="rpan-labeling-") if workdir is None else None
    work = Path(tmp.name if tmp else workdir)
    res: dict[str, Any] = {}
    try:
        cache = work / "analyses"
        pdir = work / "project"
        seedv = _render(pdir / "videos", POOL_SEED, n_seed, seed_frames, acts)
        roundv = _render(pdir / "videos", ROUND_SEED, n_round, frames, acts, offset=n_seed)
        evals = _render(work / "eval", EVAL_SEED, n_eval, frames, acts)
        project = Project.create(pdir, skeleton="pennaction")
        try:
            keys = range(0, seed_frames, SEED_EVERY)
            for v in seedv:  # round 0: keyframes placed from nothing (exact)
                v.video_id = project.add_video(v.path, split="train")
                project.set_labels(v.video_id, _label_rows(v.xy, v.visible, keys, "manual"))
        finally:
            project.close()
        w: dict[str, Path] = {}
        w["w0"], res["w0_train_s"], res["w0_train_frames"] = train_round(
            pdir, work / "w0", steps=rec.seed_steps, copies=rec.seed_copies, lr=rec.seed_lr, recipe=rec,
            threads=threads)
        if control:  # before round 1's videos exist: the same fine-tune on round 0's keyframes only
            w["w0more"], res["w0more_train_s"], res["w0more_train_frames"] = train_round(
                pdir, work / "w0more", steps=rec.round_steps, copies=rec.round_copies, lr=rec.round_lr, recipe=rec,
                init=w["w0"], seed=2, threads=threads)
        project = Project.open(pdir)
        try:
            tr, va = roundv[:n_round - n_val], roundv[n_round - n_val:]
            work1 = _correct_into_project(project, tr, w["w0"], cache, DEFAULT_DUMMY_THRESHOLD, "train")
            work1 = work1 + _correct_into_project(project, va, w["w0"], cache, DEFAULT_DUMMY_THRESHOLD, "val")
        finally:
            project.close()
        res["round1_joints_per_frame"] = work1.per_frame  # what correcting round 0's model cost
        w["w1"], res["w1_train_s"], res["w1_train_frames"] = train_round(
            pdir, work / "w1", steps=rec.round_steps, copies=rec.round_copies, lr=rec.round_lr, recipe=rec,
            init=w["w0"], seed=1, threads=threads)
        if fresh:
            w["w1fresh"], res["w1fresh_train_s"], res["w1fresh_train_frames"] = train_round(
                pdir, work / "w1fresh", steps=rec.seed_steps + rec.round_steps, copies=rec.round_copies,
                lr=rec.seed_lr, recipe=rec, seed=3, threads=threads)
        project = Project.open(pdir)
        try:
            thr = {name: pick_dummy_threshold(p.xy, p.dummy, p.true_xy, p.true_visible, p.bbox)
                   for name, p in ((n, _on_labels(project, va, ck, cache)) for n, ck in w.items())}
        finally:
            project.close()
        preds = {name: _on_truth(evals, ck, cache) for name, ck in w.items()}
        nothing = sum((effort(None, None, v.xy, v.visible, v.bbox) for v in evals), Effort(0, 0, 0))
        rows: dict[str, tuple[Effort, float | None, float | None, float | None]] = {
            "from_nothing": (nothing, None, None, None)}
        if demo:
            dp = _on_truth(evals, DEMO_CHECKPOINT, cache)
            rows["demo_model"] = (dp.effort(DEFAULT_DUMMY_THRESHOLD), DEFAULT_DUMMY_THRESHOLD, dp.pck(0.05), dp.pck(0.1))
        for key, wname, tname in COMBOS:
            if wname in preds:
                t = DEFAULT_DUMMY_THRESHOLD if tname == "t0" else thr[wname]
                p = preds[wname]
                rows[key] = (p.effort(t), t, p.pck(TOLERANCE), p.pck(0.1))
        for key, (e, t, p05, p10) in rows.items():
            res[f"{key}_joints_per_frame"] = e.per_frame
            res[f"{key}_work_saved"] = e.saved
            if key != "from_nothing":
                res[f"{key}_misplaced_per_frame"] = e.wrong_place / max(1, e.frames)
                res[f"{key}_wrong_flags_per_frame"] = e.wrong_flag / max(1, e.frames)
                res[f"{key}_threshold"] = t
                res[f"{key}_pck05"] = p05
                res[f"{key}_pck10"] = p10
        res.update(rows=list(rows), seed_videos=n_seed, seed_keyframes=n_seed * len(range(0, seed_frames, SEED_EVERY)),
                   round_videos=n_round, round_train_videos=n_round - n_val, round_val_videos=n_val,
                   frames_per_video=frames, eval_videos=n_eval, eval_frames=n_eval * frames,
                   tolerance=TOLERANCE, recipe=asdict(rec))
        return res
    finally:
        if tmp is not None:
            tmp.cleanup()
