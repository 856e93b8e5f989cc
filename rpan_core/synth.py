"""Synthetic action videos with exact joints (``rpan synth``).

Real datasets are large, licensed and slow to fetch; tests, the demo and the
labeling benchmark need videos whose true poses are known to the pixel. This
module draws people (:mod:`rpan_core.synth_body`) performing nine actions on
cluttered textured backgrounds, with camera shake and zoom, self-occlusion in
the visibility flags and random mirroring, all deterministic by seed.

The actions are chosen to be distinguishable the way real classes are (by the
motion, not one frame), with two deliberately confusable pairs: tennis forehand
vs. tennis serve (same racket, same stance, different swing plane) and push-up
vs. sit-up (both on the floor, both cyclic).

``make_project`` writes mp4 files and all labels (source ``imported``), action
labels and a train/test split straight into a project; ``write_pennaction``
exports such a project in the PennAction layout through
:mod:`rpan_core.formats.pennaction`.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rpan_core.errors import ConfigError, FormatError, ProjectError, VideoError
from rpan_core.skeleton import PENNACTION
from rpan_core.synth_body import ACTION_FUNCS, RATE, YAW, Body, draw_person, place, pose_points

#: The action classes, in class-index order.
ACTIONS: tuple[str, ...] = tuple(ACTION_FUNCS)
#: Pairs that are meant to be hard to tell apart.
CONFUSABLE: tuple[tuple[str, str], ...] = (("tennis_forehand", "tennis_serve"), ("pushup", "situp"))

DEFAULT_SIZE = (240, 320)
DEFAULT_FRAMES = 60
DEFAULT_FPS = 30.0


@dataclass
class SynthVideo:
    """One rendered clip. ``frames`` T x H x W x 3 uint8 RGB, ``xy`` T x 13 x 2 float32
    (PennAction order, pixels), ``visible`` T x 13 bool, ``bbox`` T x 4 (x1, y1, x2, y2)."""

    frames: np.ndarray
    xy: np.ndarray
    visible: np.ndarray
    bbox: np.ndarray
    action: str
    mirrored: bool
    fps: float = DEFAULT_FPS

    @property
    def label(self) -> int:
        return ACTIONS.index(self.action)


# ------------------------------------------------------------------ background

def _noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    small = rng.random((max(2, h // cells), max(2, w // cells))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _colour(rng: np.random.Generator, sat=(20, 160), val=(60, 230)) -> np.ndarray:
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(*sat), rng.integers(*val)]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def render_background(rng: np.random.Generator, h: int, w: int, ground_y: float) -> np.ndarray:
    """A cluttered indoor/outdoor-ish scene: textured wall, floor, furniture-like blocks."""
    wall = _colour(rng)
    tex = 0.75 + 0.5 * (0.6 * _noise(rng, h, w, 24) + 0.4 * _noise(rng, h, w, 4))
    img = wall[None, None, :] * tex[..., None]
    # vertical stripes / panels on the wall
    if rng.random() < 0.5:
        period = int(rng.integers(12, 40))
        stripe = (np.arange(w) // period) % 2
        img *= (1 + 0.12 * stripe)[None, :, None]
    gy = int(np.clip(ground_y, 0, h))
    floor = _colour(rng, val=(50, 200))
    ftex = 0.8 + 0.4 * _noise(rng, h - gy if h > gy else 1, w, 6)
    if h > gy:
        img[gy:] = floor[None, None, :] * ftex[..., None]
        # floor boards / court lines converging a little
        for k in range(int(rng.integers(2, 6))):
            y = int(gy + (h - gy) * rng.random())
            cv2.line(img, (0, y), (w, y + int(rng.integers(-10, 10))), (floor * 0.7).tolist(), 1, cv2.LINE_AA)
    img = np.clip(img, 0, 255).astype(np.uint8)
    # clutter: boxes, windows, posters, plants (ellipses), poles
    for _ in range(int(rng.integers(6, 14))):
        c = _colour(rng, sat=(10, 255), val=(30, 250)).tolist()
        kind = rng.integers(4)
        x, y = int(rng.integers(0, w)), int(rng.integers(0, max(1, gy)))
        sx, sy = int(rng.integers(8, w // 4)), int(rng.integers(8, h // 3))
        if kind == 0:
            cv2.rectangle(img, (x, y), (x + sx, y + sy), c, -1)
            cv2.rectangle(img, (x, y), (x + sx, y + sy), [v * 0.5 for v in c], 2)
        elif kind == 1:
            cv2.ellipse(img, (x, y), (sx // 2, sy // 2), float(rng.integers(0, 180)), 0, 360, c, -1, cv2.LINE_AA)
        elif kind == 2:
            cv2.line(img, (x, 0), (x + int(rng.integers(-20, 20)), gy), c, int(rng.integers(2, 7)), cv2.LINE_AA)
        else:  # window with a grid
            cv2.rectangle(img, (x, y), (x + sx, y + sy), c, -1)
            cv2.line(img, (x + sx // 2, y), (x + sx // 2, y + sy), (240, 240, 240), 2)
            cv2.line(img, (x, y + sy // 2), (x + sx, y + sy // 2), (240, 240, 240), 2)
    return img


# ------------------------------------------------------------------ rendering

def _plank_pitch(body: Body, pose, yaw: float) -> float:
    """Body pitch at which hands and toes touch the floor together (push-up), by bisection."""
    from rpan_core.synth_body import LWRI, RWRI

    def gap(pitch: float) -> float:  # toes minus hands (y down): < 0 while the hands hang lower
        pose.pitch = pitch
        P, _, ex = pose_points(body, pose, yaw)
        return max(ex["toe_l"][1], ex["toe_r"][1]) - max(P[LWRI, 1], P[RWRI, 1])

    lo, hi = -90.0, -20.0
    if gap(lo) >= 0:
        return lo
    for _ in range(14):
        mid = (lo + hi) / 2
        if gap(mid) < 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _check_action(action: str) -> str:
    if action not in ACTION_FUNCS:
        raise ConfigError(f"unknown synthetic action {action!r}; choose one of: {', '.join(ACTIONS)}")
    return action


def action_track(body: Body, action: str, rng: np.random.Generator, n_frames: int, fps: float,
                 yaw: float | None = None) -> tuple[np.ndarray, list, list, list, float]:
    """One person's 3-D joints over a clip of ``action`` (body units, placed on their support).

    Draws the style, yaw (unless given), rate and starting phase from ``rng``.
    Returns ``(P3 T x 13 x 3, necks, extras, poses, yaw)``.
    """
    style = rng.uniform(-1, 1, 4)
    y0, y1 = YAW[action]
    drawn_yaw = float(rng.uniform(y0, y1))
    yaw = drawn_yaw if yaw is None else float(yaw)
    rate = float(rng.uniform(*RATE[action]))
    phase0 = float(rng.random())
    fn = ACTION_FUNCS[action]
    P3, necks, extras, poses = [], [], [], []
    for t in range(n_frames):
        pose = fn((phase0 + rate * t / fps) % 1.0, style)
        if pose.support == "plank":
            pose.pitch = _plank_pitch(body, pose, yaw)
        P, neck, ex = pose_points(body, pose, yaw)
        dy = place(P, neck, ex, pose, body)
        off = np.array([0.0, dy, 0.0])
        P3.append(P + off)
        necks.append(neck + off)
        extras.append({k: v + off for k, v in ex.items()})
        poses.append(pose)
    return np.array(P3), necks, extras, poses, yaw


def camera_motion(r_cam: np.random.Generator, n_frames: int, fps: float, width: int, *,
                  max_zoom: float, max_shake: float) -> tuple[float, float, np.ndarray, np.ndarray]:
    """A hand-held camera: a slow sinusoidal zoom and a bounded random-walk shake.

    Shared by single-person clips and multi-person scenes so both move alike; the draws
    from ``r_cam`` are made in a fixed order, so a seed gives the same clip as before.
    Returns (zoom amplitude, shake in pixels, per-frame (x, y) shake, per-frame zoom factor).
    """
    zoom_amp, shake = r_cam.uniform(0.0, max_zoom), r_cam.uniform(0.0, max_shake) * width
    z_freq, z_ph = r_cam.uniform(0.2, 0.6), r_cam.uniform(0, 2 * math.pi)
    walk = np.cumsum(r_cam.normal(0, 1, (n_frames, 2)), 0)
    walk = walk - walk.mean(0)
    walk = walk / (np.abs(walk).max() + 1e-9) * shake
    zooms = 1 + zoom_amp * np.sin(2 * math.pi * z_freq * np.arange(n_frames) / fps + z_ph)
    return zoom_amp, shake, walk, zooms



def render_video(seed: int, action: str, n_frames: int = DEFAULT_FRAMES, size: tuple[int, int] = DEFAULT_SIZE,
                 *, mirror: bool | None = None, person: bool = True, fps: float = DEFAULT_FPS) -> SynthVideo:
    """Render one clip of ``action``; the same arguments always give the same clip.

    ``mirror=None`` lets the seed decide; ``person=False`` renders the same clip
    without the person (same background, camera, labels) -- the tests use it to check
    that the joints lie on the drawn body.
    """
    _check_action(action)
    H, W = int(size[0]), int(size[1])
    if n_frames < 1 or H < 32 or W < 32:
        raise ConfigError(f"need n_frames >= 1 and a frame of at least 32x32 (got {n_frames}, {H}x{W})")
    ss = np.random.SeedSequence([int(seed), ACTIONS.index(action)])
    r_body, r_motion, r_scene, r_cam = (np.random.default_rng(s) for s in ss.spawn(4))
    body = Body.random(r_body)
    P3, necks, extras, poses, yaw = action_track(body, action, r_motion, n_frames, fps)
    if mirror is None:
        mirror = bool(r_motion.random() < 0.5)
    # extent in body units, including head radius, props and toes
    pts = [P3[..., :2].reshape(-1, 2)] + [np.array([e[k][:2] for e in extras]) for k in extras[0]]
    allp = np.concatenate(pts)
    hr = body.head_r * 1.3
    xmin, ymin = allp.min(0) - hr
    xmax, ymax = allp.max(0) + hr
    if poses[0].support == "bar":
        ymin = min(ymin, -1.05)
    ext_w, ext_h = xmax - xmin, ymax - ymin
    fill = r_scene.uniform(0.62, 0.88)
    scale = fill * min(H / ext_h, W / ext_w)
    # camera: slow zoom and shake, bounded so the body stays inside
    zoom_amp, shake, walk, zooms = camera_motion(r_cam, n_frames, fps, W, max_zoom=0.06, max_shake=0.012)
    slack_w = W - ext_w * scale * (1 + zoom_amp) - 2 * shake - 4
    slack_h = H - ext_h * scale * (1 + zoom_amp) - 2 * shake - 4
    ox = W / 2 + r_scene.uniform(-0.5, 0.5) * max(0.0, slack_w) - (xmin + xmax) / 2 * scale
    oy = H / 2 + r_scene.uniform(-0.5, 0.5) * max(0.0, slack_h) - (ymin + ymax) / 2 * scale
    # background in base coordinates with a margin for the camera motion
    m = int(0.15 * max(H, W)) + 4
    bg = render_background(r_scene, H + 2 * m, W + 2 * m, oy + m + 0.0 * scale + 2)
    if poses[0].support == "bar":
        by = int(round(oy - 1.0 * scale)) + m
        cv2.line(bg, (0, by), (W + 2 * m, by), (90, 90, 100), max(2, int(0.025 * scale)), cv2.LINE_AA)
    frames = np.empty((n_frames, H, W, 3), np.uint8)
    xy = np.empty((n_frames, 13, 2), np.float32)
    vis = np.empty((n_frames, 13), bool)
    c = np.array([W / 2, H / 2])
    for t in range(n_frames):
        z, s = zooms[t], walk[t]

        def cam(p2: np.ndarray) -> np.ndarray:
            base = p2 * scale + np.array([ox, oy])
            return c + z * (base - c) + s

        M = np.array([[z, 0, -z * m + (1 - z) * c[0] + s[0]], [0, z, -z * m + (1 - z) * c[1] + s[1]]])
        img = cv2.warpAffine(bg, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        P2 = cam(P3[t][:, :2])
        ex2 = {k: cam(v[:2]) for k, v in extras[t].items()}
        neck2 = cam(necks[t][:2])
        facing = float(np.sign(math.sin(math.radians(yaw)))) if abs(math.sin(math.radians(yaw))) > 0.5 else 0.0
        canvas = img.copy()
        v = draw_person(canvas, P2, P3[t][:, 2], neck2, ex2, body, scale * z, poses[t], facing)
        frames[t] = canvas if person else img
        xy[t] = P2
        vis[t] = v
    # light sensor noise, identical with or without the person
    noise = np.random.default_rng(ss.spawn(1)[0]).normal(0, 2.0, (1, H, W, 1)).astype(np.float32)
    frames = np.clip(frames.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if mirror:
        frames = frames[:, :, ::-1].copy()
        xy[..., 0] = (W - 1) - xy[..., 0]
        flip = list(PENNACTION.flip_index)
        xy, vis = xy[:, flip].copy(), vis[:, flip].copy()
    hr_px = body.head_r * scale
    bbox = np.stack([xy[..., 0].min(1), xy[..., 1].min(1) - hr_px, xy[..., 0].max(1), xy[..., 1].max(1)], 1)
    bbox = np.clip(bbox, 0, [W - 1, H - 1, W - 1, H - 1]).astype(np.float32)
    return SynthVideo(frames=frames, xy=xy, visible=vis, bbox=bbox, action=action, mirrored=bool(mirror), fps=fps)


# ------------------------------------------------------------------ files and projects

def write_mp4(path: str | os.PathLike, frames: np.ndarray, fps: float = DEFAULT_FPS) -> Path:
    """Write RGB frames as an mp4v .mp4 (OpenCV's always-available encoder)."""
    path = Path(path)
    H, W = frames.shape[1:3]
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (W, H))
    if not w.isOpened():
        raise VideoError(f"{path}: OpenCV cannot write mp4v video here; check the folder is writable")
    try:
        for f in frames:
            w.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    finally:
        w.release()
    return path


def plan(n_videos: int, seed: int = 0, test_fraction: float = 0.25,
         actions: tuple[str, ...] = ACTIONS) -> list[tuple[int, str, str]]:
    """``(video seed, action, split)`` for each video: actions round-robin, a per-class split."""
    if n_videos < 1:
        raise ConfigError(f"--videos must be at least 1 (got {n_videos})")
    out = []
    counts: dict[str, int] = {}
    for k in range(n_videos):
        action = actions[k % len(actions)]
        i = counts.get(action, 0)
        counts[action] = i + 1
        # every 4th video of each class goes to test (the 2nd, 6th, ...)
        split = "test" if (i % round(1 / test_fraction)) == 1 else "train"
        out.append((int(seed) * 100_003 + k, action, split))
    return out


def _render_job(job: tuple) -> dict:
    vseed, action, split, out_dir, name, n_frames, size, fps, persons = job
    if persons > 1:
        from rpan_core.synth_scene import render_scene

        sc = render_scene(vseed, action, persons, n_frames=n_frames, size=size, fps=fps)
        path = write_mp4(Path(out_dir) / name, sc.frames, fps)
        return {"path": str(path), "action": action, "split": split, "xy": sc.xy, "visible": sc.visible,
                "bbox": sc.bbox, "mirrored": False}
    sv = render_video(vseed, action, n_frames=n_frames, size=size, fps=fps)
    path = write_mp4(Path(out_dir) / name, sv.frames, fps)
    return {"path": str(path), "action": action, "split": split, "xy": sv.xy, "visible": sv.visible,
            "bbox": sv.bbox, "mirrored": sv.mirrored}


def render_many(out_dir: str | os.PathLike, n_videos: int, seed: int = 0, *, n_frames: int = DEFAULT_FRAMES,
                size: tuple[int, int] = DEFAULT_SIZE, fps: float = DEFAULT_FPS, workers: int | None = None,
                progress: bool = True, persons: int = 1) -> list[dict]:
    """Render and write ``n_videos`` mp4 files into ``out_dir`` (in parallel); return their labels.

    With ``persons`` > 1 each video is a scene of that many people crossing
    (:mod:`rpan_core.synth_scene`, standing actions only) and the labels gain a
    person axis: ``xy`` T x N x 13 x 2, ``visible`` T x N x 13, ``bbox`` T x N x 4.
    """
    from rpan_core.synth_scene import MAX_PERSONS, UPRIGHT

    persons = int(persons)
    if not 1 <= persons <= MAX_PERSONS:
        raise ConfigError(f"--persons must be 1..{MAX_PERSONS} (got {persons})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    from rpan_core.model_card import mark_synthetic

    mark_synthetic(out_dir)  # the model card and the studio tell synthetic clips from real video
    actions = ACTIONS if persons == 1 else UPRIGHT
    jobs = [(vs, a, sp, str(out_dir), f"{k:04d}_{a}.mp4", n_frames, tuple(size), fps, persons)
            for k, (vs, a, sp) in enumerate(plan(n_videos, seed, actions=actions))]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    from tqdm import tqdm
    bar = tqdm(total=len(jobs), desc="synth", unit="video", disable=not progress)
    try:
        if workers <= 1:
            results = []
            for j in jobs:
                results.append(_render_job(j))
                bar.update()
        else:
            import multiprocessing as mp
            ctx = mp.get_context("fork" if hasattr(os, "fork") else "spawn")
            results = []
            with ctx.Pool(workers) as pool:
                for r in pool.imap(_render_job, jobs):
                    results.append(r)
                    bar.update()
    finally:
        bar.close()
    return results


def make_project(out: str | os.PathLike, n_videos: int, seed: int = 0, *, n_frames: int = DEFAULT_FRAMES,
                 size: tuple[int, int] = DEFAULT_SIZE, fps: float = DEFAULT_FPS, workers: int | None = None,
                 progress: bool = True, persons: int = 1):
    """Create a project at ``out`` with ``n_videos`` synthetic videos, every frame's joints
    (source ``imported``), the action labels and a train/test split. Returns the Project.

    With ``persons`` > 1 every video holds that many persons (``person 1`` ...), each with
    its joints and its box on every frame (both ``imported``)."""
    try:
        from rpan_core.project import Project
    except ImportError as exc:
        raise ProjectError(f"the project store is not available in this install ({exc}); "
                           "use `rpan synth --format videos` for bare mp4 files plus labels.npz") from exc
    out = Path(out)
    project = Project.create(out, skeleton="pennaction", classes=list(ACTIONS))
    results = render_many(out / "videos", n_videos, seed, n_frames=n_frames, size=size, fps=fps,
                          workers=workers, progress=progress, persons=persons)
    for r in results:
        if persons == 1:
            vid = project.add_video(r["path"], action=r["action"], split=r["split"])
            _store_person(project, vid, 1, r["xy"], r["visible"], None)
            continue
        with project.transaction():  # a video and all its persons, or nothing
            vid = project.add_video(r["path"], action=r["action"], split=r["split"])
            for k in range(persons):
                pid = 1 if k == 0 else project.add_person(vid)
                _store_person(project, vid, pid, r["xy"][:, k], r["visible"][:, k], r["bbox"][:, k])
    return project


def _store_person(project, vid: int, pid: int, xy: np.ndarray, vis: np.ndarray, bbox: np.ndarray | None) -> None:
    rows = [(t, j, float(xy[t, j, 0]), float(xy[t, j, 1]), bool(vis[t, j]), "imported")
            for t in range(xy.shape[0]) for j in range(xy.shape[1])]
    if pid == 1:
        project.set_labels(vid, rows)  # the single-person call, as before persons existed
    else:
        project.set_labels(vid, rows, person=pid)
    if bbox is not None:
        project.set_boxes(vid, [(t, *(float(v) for v in bbox[t]), "imported") for t in range(len(bbox))],
                          person=pid)


def write_pennaction(out: str | os.PathLike, n_videos: int, seed: int = 0, **kwargs) -> Path:
    """Write a synthetic dataset in the PennAction layout (frames/ and labels/ .mat files)."""
    try:
        from rpan_core.formats.pennaction import export_pennaction
    except ImportError as exc:
        raise FormatError("PennAction export is not available in this install "
                          f"(rpan_core.formats.pennaction.export_pennaction: {exc}); "
                          "write a project with `rpan synth --out DIR` instead") from exc
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="rpan-synth-") as tmp:
        project = make_project(Path(tmp) / "project", n_videos, seed, **kwargs)
        export_pennaction(project, out)
        close = getattr(project, "close", None)
        if close:
            close()
    return out


# ------------------------------------------------------------------ command line

def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output folder (a project, or a PennAction tree)")
    parser.add_argument("--videos", type=int, default=64, help="number of videos (default 64)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES, help="frames per video (default 60)")
    parser.add_argument("--size", default=f"{DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]}", help="HxW (default 240x320)")
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    parser.add_argument("--persons", type=int, default=1,
                        help="persons per video, 1-3 (default 1); 2-3 walk across and occlude each other")
    parser.add_argument("--format", choices=("project", "pennaction", "videos"), default="project",
                        help="project (default), pennaction layout, or bare mp4 files plus labels.npz")


def _parse_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size must look like 240x320 (height x width), got {text!r}") from None
    return h, w


def cli_main(args: argparse.Namespace) -> int:
    size = _parse_size(args.size)
    kw = dict(n_frames=args.frames, size=size, fps=args.fps, workers=args.workers, persons=args.persons)
    out = Path(args.out)
    if args.format == "pennaction" and args.persons != 1:
        raise ConfigError("the PennAction layout holds one person per video; use --format project or videos "
                          "with --persons")
    if args.format == "pennaction":
        write_pennaction(out, args.videos, args.seed, **kw)
    elif args.format == "videos":
        res = render_many(out, args.videos, args.seed, **kw)
        np.savez_compressed(out / "labels.npz", paths=np.array([Path(r["path"]).name for r in res]),
                            actions=np.array([r["action"] for r in res]), splits=np.array([r["split"] for r in res]),
                            xy=np.stack([r["xy"] for r in res]), visible=np.stack([r["visible"] for r in res]),
                            bbox=np.stack([r["bbox"] for r in res]))
    else:
        if out.exists() and any(out.iterdir()):
            raise ConfigError(f"{out} exists and is not empty; pick a new folder for the project")
        make_project(out, args.videos, args.seed, **kw)
    print(f"wrote {args.videos} synthetic videos to {out}")
    return 0
