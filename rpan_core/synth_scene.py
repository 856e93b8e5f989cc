"""Synthetic scenes with several people who cross and occlude each other (``rpan synth --persons N``).

Why: several persons per frame need test data whose every person's joints and box
are known exactly, with the hard cases real scenes have: people of different
sizes at different depths, walking past each other so one hides the other for a
while. Each person is the same stick body as :mod:`rpan_core.synth` (its own
build, clothes, style and phase); all persons of a scene perform the scene's
action so a video keeps one action label.

Layout: persons stand at different depths (a nearer person is drawn larger,
lower in the frame, and later); they walk across the frame in opposite
directions, so their paths cross near the middle of the clip. A joint is
visible when neither its own body (as in the single-person clips) nor a nearer
person's body covers it.

``render_scene(..., only=k)`` renders the same scene (background, camera, sizes,
paths) with only person ``k`` drawn: the per-person benchmark compares a person
in the crowd with the same person alone, at the same size in pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rpan_core.errors import ConfigError
from rpan_core.synth_body import Body, draw_person

__all__ = ["UPRIGHT", "MAX_PERSONS", "SynthScene", "render_scene"]

#: Actions done standing (the lying and hanging ones need the whole frame's width or a bar).
UPRIGHT: tuple[str, ...] = ("jumping_jacks", "squat", "tennis_serve", "tennis_forehand", "baseball_swing", "bowling")
MAX_PERSONS = 3


@dataclass
class SynthScene:
    """One rendered scene. ``frames`` T x H x W x 3 uint8 RGB; per person (N): ``xy`` T x N x 13 x 2
    float32 (PennAction order, pixels), ``visible`` T x N x 13 bool, ``bbox`` T x N x 4 float32
    ``[x0, y0, x1, y1]`` (joints' extent, head included, clipped to the frame). ``drawn`` says
    which persons are painted (all, unless rendered with ``only``); an undrawn person's joints
    are all not visible."""

    frames: np.ndarray
    xy: np.ndarray
    visible: np.ndarray
    bbox: np.ndarray
    action: str
    drawn: tuple[int, ...]
    fps: float

    @property
    def n_persons(self) -> int:
        return int(self.xy.shape[1])


def render_scene(seed: int, action: str, n_persons: int = 2, n_frames: int = 60,
                 size: tuple[int, int] = (240, 320), *, only: int | None = None, fps: float = 30.0) -> SynthScene:
    """Render a scene of ``n_persons`` (2-3) doing ``action`` who cross paths; deterministic by arguments.

    ``only`` (a person index 0..N-1) draws that person alone in the same scene.
    """
    from rpan_core.synth import (ACTIONS, _check_action, _noise, action_track, camera_motion,  # noqa: F401
                                 render_background)

    _check_action(action)
    if action not in UPRIGHT:
        raise ConfigError(f"scenes of several persons use standing actions ({', '.join(UPRIGHT)}); "
                          f"{action!r} is not one")
    N = int(n_persons)
    if not 1 <= N <= MAX_PERSONS:
        raise ConfigError(f"--persons must be 1..{MAX_PERSONS} (got {n_persons})")
    if only is not None and not 0 <= int(only) < N:
        raise ConfigError(f"only={only} is not a person of this scene (0..{N - 1})")
    H, W = int(size[0]), int(size[1])
    if n_frames < 1 or H < 64 or W < 64:
        raise ConfigError(f"need n_frames >= 1 and a frame of at least 64x64 for a scene (got {n_frames}, {H}x{W})")
    ss = np.random.SeedSequence([int(seed), ACTIONS.index(action), 7919, N])
    r_scene, r_cam, r_noise, *r_people = (np.random.default_rng(s) for s in ss.spawn(3 + 2 * N))
    depth_rank = r_scene.permutation(N)  # 0 = farthest
    tracks = []
    for k in range(N):
        body = Body.random(r_people[2 * k])
        P3, necks, extras, poses, yaw = action_track(body, action, r_people[2 * k + 1], n_frames, fps)
        pts = np.concatenate([P3[..., :2].reshape(-1, 2)] +
                             [np.array([e[key][:2] for e in extras]) for key in extras[0]])
        hr = body.head_r * 1.3
        lo, hi = pts.min(0) - hr, pts.max(0) + hr
        tracks.append(dict(body=body, P3=P3, necks=necks, extras=extras, poses=poses, yaw=yaw, lo=lo, hi=hi))
    # sizes and ground lines: nearer persons are larger and stand lower
    for k, tr in enumerate(tracks):
        rank = int(depth_rank[k])
        ext_w, ext_h = tr["hi"] - tr["lo"]
        frac = r_scene.uniform(0.42, 0.55) * (1 + 0.14 * rank)
        scale = min(frac * H / ext_h, 0.42 * W / max(ext_w, 1e-6))
        ground = H * (0.93 - 0.05 * (N - 1 - rank)) - 2
        scale = min(scale, (ground - 4) / ext_h)  # the head stays inside
        tr.update(rank=rank, scale=scale, oy=ground - tr["hi"][1] * scale)
    # paths: start spread over the width, end in the opposite order, so the persons cross
    half = [(tr["hi"][0] - tr["lo"][0]) * tr["scale"] / 2 for tr in tracks]
    margin = max(half) + 0.02 * W + 2
    lanes = np.linspace(margin, W - margin, N) if N > 1 else np.array([W / 2])
    order = r_scene.permutation(N)
    t01 = np.linspace(0.0, 1.0, n_frames) if n_frames > 1 else np.zeros(1)
    for k, tr in enumerate(tracks):
        x0 = lanes[order[k]] + r_scene.uniform(-0.03, 0.03) * W
        x1 = lanes[N - 1 - order[k]] if N > 1 else x0 + r_scene.uniform(-0.2, 0.2) * W
        x0, x1 = (float(np.clip(v, margin, W - margin)) for v in (x0, x1))
        centre = x0 + (x1 - x0) * t01  # centre of the extent, per frame
        tr["ox"] = centre - (tr["lo"][0] + tr["hi"][0]) / 2 * tr["scale"]
    # camera: a little zoom and shake shared by everyone
    zoom_amp, shake, walk, zooms = camera_motion(r_cam, n_frames, fps, W, max_zoom=0.03, max_shake=0.008)
    m = int(0.15 * max(H, W)) + 4
    floor_y = min(tr["oy"] + tr["hi"][1] * tr["scale"] for tr in tracks) - 0.06 * H
    bg = render_background(r_scene, H + 2 * m, W + 2 * m, floor_y + m)

    import cv2

    frames = np.empty((n_frames, H, W, 3), np.uint8)
    xy = np.empty((n_frames, N, 13, 2), np.float32)
    vis = np.zeros((n_frames, N, 13), bool)
    c = np.array([W / 2, H / 2])
    draw_order = sorted(range(N), key=lambda k: tracks[k]["rank"])  # far to near
    drawn = tuple(range(N)) if only is None else (int(only),)
    for t in range(n_frames):
        z, s = zooms[t], walk[t]
        M = np.array([[z, 0, -z * m + (1 - z) * c[0] + s[0]], [0, z, -z * m + (1 - z) * c[1] + s[1]]])
        canvas = cv2.warpAffine(bg, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        covers: dict[int, np.ndarray] = {}
        for k in draw_order:
            tr = tracks[k]

            def cam(p2: np.ndarray, tr=tr) -> np.ndarray:
                base = p2 * tr["scale"] + np.array([tr["ox"][t], tr["oy"]])
                return c + z * (base - c) + s

            P2 = cam(tr["P3"][t][:, :2])
            xy[t, k] = P2
            if k not in drawn:
                continue
            ex2 = {key: cam(v[:2]) for key, v in tr["extras"][t].items()}
            yaw = tr["yaw"]
            facing = float(np.sign(math.sin(math.radians(yaw)))) if abs(math.sin(math.radians(yaw))) > 0.5 else 0.0
            cover = np.zeros((H, W), bool)
            vis[t, k] = draw_person(canvas, P2, tr["P3"][t][:, 2], cam(tr["necks"][t][:2]), ex2, tr["body"],
                                    tr["scale"] * z, tr["poses"][t], facing, cover=cover)
            covers[k] = cover
        # a nearer person's body hides a farther person's joints
        for k in drawn:
            for n in drawn:
                if tracks[n]["rank"] <= tracks[k]["rank"]:
                    continue
                px = np.round(xy[t, k]).astype(int)
                inside = (px[:, 0] >= 0) & (px[:, 0] < W) & (px[:, 1] >= 0) & (px[:, 1] < H)
                hit = np.zeros(13, bool)
                hit[inside] = covers[n][px[inside, 1], px[inside, 0]]
                vis[t, k] &= ~hit
        frames[t] = canvas
    noise = r_noise.normal(0, 2.0, (1, H, W, 1)).astype(np.float32)
    frames = np.clip(frames.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    head = np.array([tr["body"].head_r * tr["scale"] for tr in tracks])[None, :]
    bbox = np.stack([xy[..., 0].min(-1), xy[..., 1].min(-1) - head, xy[..., 0].max(-1), xy[..., 1].max(-1)], -1)
    bbox = np.clip(bbox, 0, [W - 1, H - 1, W - 1, H - 1]).astype(np.float32)
    return SynthScene(frames=frames, xy=xy, visible=vis, bbox=bbox, action=action, drawn=drawn, fps=fps)
