"""The synthetic person: a 3-D stick body with volume, its actions, and its drawing.

Kept apart from :mod:`rpan_core.synth` (video layout, files, projects, CLI) so the
body can be read as one piece: proportions and clothes (:class:`Body`), the joint
angles each action drives over a cycle (``ACTION_FUNCS``), forward kinematics to
13 PennAction joints in 3-D (:func:`pose_points`), and a painter that draws limbs
as shaded capsules far-to-near and reports, per joint, whether a nearer body
part covers it (:func:`draw_person`). Joint positions are exact because the
same numbers that place the joints draw the limbs.

Body frame: X to the person's left, Y down, Z forward (the way the person
faces); units are body heights (about 1 from ankle to head top). The camera
looks along +depth; with yaw 0 the person faces the camera, with yaw 90 degrees
the person faces image right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# PennAction order (rpan_core.skeleton.PENNACTION): left before right.
HEAD, LSHO, RSHO, LELB, RELB, LWRI, RWRI, LHIP, RHIP, LKNE, RKNE, LANK, RANK = range(13)


def _rad(a: float) -> float:
    return a * math.pi / 180.0


def limb(flex: float, abd: float = 0.0, side: int = 1) -> np.ndarray:
    """Unit limb direction: hanging down, raised ``flex`` degrees forward and ``abd`` outward."""
    f, a = _rad(flex), _rad(abd)
    return np.array([side * math.sin(a), math.cos(a) * math.cos(f), math.cos(a) * math.sin(f)])


def sweep(angle: float, drop: float = 0.0, side: int = 1) -> np.ndarray:
    """Unit direction in a near-horizontal plane: ``angle`` 0 = straight out sideways,
    90 = forward, negative = behind; ``drop`` degrees below horizontal."""
    a, d = _rad(angle), _rad(drop)
    return np.array([side * math.cos(a) * math.cos(d), math.sin(d), math.sin(a) * math.cos(d)])


def rot_x(deg: float) -> np.ndarray:
    c, s = math.cos(_rad(deg)), math.sin(_rad(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_y(deg: float) -> np.ndarray:
    c, s = math.cos(_rad(deg)), math.sin(_rad(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


SKIN = [(255, 224, 196), (234, 192, 160), (198, 150, 110), (160, 110, 75), (110, 75, 50), (80, 55, 40)]
HAIR = [(30, 25, 20), (70, 45, 25), (140, 95, 50), (200, 170, 110), (120, 120, 120), (160, 50, 30)]


@dataclass
class Body:
    """Proportions (body-height units), build and clothing colours (RGB)."""

    head_r: float
    neck: float
    torso: float
    shoulder_w: float
    hip_w: float
    upper_arm: float
    forearm: float
    thigh: float
    shin: float
    build: float
    skin: tuple
    hair: tuple
    shirt: tuple
    pants: tuple
    shoes: tuple
    long_sleeves: bool
    long_pants: bool
    hair_long: bool

    @classmethod
    def random(cls, rng: np.random.Generator) -> "Body":
        s = rng.uniform(0.93, 1.07)  # limb length factor

        def colour() -> tuple:
            hsv = np.uint8([[[rng.integers(0, 180), rng.integers(40, 255), rng.integers(50, 240)]]])
            return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])

        return cls(
            head_r=rng.uniform(0.055, 0.066), neck=rng.uniform(0.025, 0.04), torso=rng.uniform(0.28, 0.32),
            shoulder_w=rng.uniform(0.19, 0.25), hip_w=rng.uniform(0.13, 0.17),
            upper_arm=0.165 * s, forearm=0.15 * s, thigh=0.235 * s, shin=0.225 * s,
            build=rng.uniform(0.85, 1.2),
            skin=SKIN[rng.integers(len(SKIN))], hair=HAIR[rng.integers(len(HAIR))],
            shirt=colour(), pants=colour(), shoes=colour(),
            long_sleeves=bool(rng.random() < 0.5), long_pants=bool(rng.random() < 0.6),
            hair_long=bool(rng.random() < 0.35),
        )


@dataclass
class Pose:
    """One frame of an action in the body frame. Arm directions are in the torso's frame
    (they lean and twist with it), leg directions in the pelvis frame."""

    lu: np.ndarray  # left upper arm
    lf: np.ndarray  # left forearm
    ru: np.ndarray
    rf: np.ndarray
    lt: np.ndarray  # left thigh
    ls: np.ndarray  # left shin
    rt: np.ndarray
    rs: np.ndarray
    lean: float = 0.0   # torso forward lean (deg)
    twist: float = 0.0  # torso rotation about the spine (deg, positive turns the chest to the left)
    pitch: float = 0.0  # whole-body pitch (deg): +90 lying on the back, -90 face down
    lift: float = 0.0   # jump height (body units) above the support
    support: str = "ground"  # "ground" | "bar" (hands hold a bar) | "plank" (hands and feet on the floor)
    prop: str | None = None  # "racket" | "bat" | "ball" in the right hand
    prop_dir: np.ndarray | None = None


# ------------------------------------------------------------------ actions
# Each takes the cycle phase p in [0, 1) and a style vector st (uniform [-1, 1] draws
# fixed per video) and returns a Pose. Amplitudes and timing vary with st.

def _smooth(x: float) -> float:
    return 0.5 - 0.5 * math.cos(2 * math.pi * x)  # 0 -> 1 -> 0 over one cycle


def _ramp(p: float, a: float, b: float) -> float:
    """0 before a, 1 after b, smooth in between."""
    if p <= a:
        return 0.0
    if p >= b:
        return 1.0
    x = (p - a) / (b - a)
    return x * x * (3 - 2 * x)


def _stand_legs(spread: float = 4.0, bend: float = 0.0):
    return (limb(bend, spread, 1), limb(-bend * 0.3, spread, 1), limb(bend, spread, -1), limb(-bend * 0.3, spread, -1))


def jumping_jacks(p: float, st: np.ndarray) -> Pose:
    s = _smooth(p)
    arm = 15 + (150 + 15 * st[0]) * s
    leg = 4 + (20 + 5 * st[1]) * s
    lt, ls, rt, rs = limb(5 * s, leg, 1), limb(0, leg, 1), limb(5 * s, leg, -1), limb(0, leg, -1)
    return Pose(limb(0, arm, 1), limb(0, arm + 10 * s, 1), limb(0, arm, -1), limb(0, arm + 10 * s, -1),
                lt, ls, rt, rs, lift=0.06 * math.sin(math.pi * s) ** 2)


def squat(p: float, st: np.ndarray) -> Pose:
    s = _smooth(p) * (0.85 + 0.15 * st[0])
    hip = 100 * s
    arms = 85 * s + 10
    return Pose(limb(arms, 8, 1), limb(arms + 5, 8, 1), limb(arms, 8, -1), limb(arms + 5, 8, -1),
                limb(hip, 12, 1), limb(-25 * s, 6, 1), limb(hip, 12, -1), limb(-25 * s, 6, -1),
                lean=45 * s)


def situp(p: float, st: np.ndarray) -> Pose:
    s = _smooth(p)
    hands_head = st[0] > 0
    if hands_head:  # hands behind the head
        lu, lf, ru, rf = limb(160, 40, 1), limb(330, 10, 1), limb(160, 40, -1), limb(330, 10, -1)
    else:           # arms crossed on the chest
        lu, lf, ru, rf = limb(35, 10, 1), limb(110, -55, 1), limb(35, 10, -1), limb(110, -55, -1)
    return Pose(lu, lf, ru, rf, limb(55, 8, 1), limb(-50, 6, 1), limb(55, 8, -1), limb(-50, 6, -1),
                lean=(70 + 10 * st[1]) * s, pitch=90)


def pushup(p: float, st: np.ndarray) -> Pose:
    s = _smooth(p)
    bend = (70 + 10 * st[0]) * s  # elbow flexion
    up = limb(80 - 0.6 * bend, 12, 1)
    fore = limb(80 + 0.5 * bend, 8, 1)
    up_r, fore_r = limb(80 - 0.6 * bend, 12, -1), limb(80 + 0.5 * bend, 8, -1)
    return Pose(up, fore, up_r, fore_r, limb(0, 3, 1), limb(0, 3, 1), limb(0, 3, -1), limb(0, 3, -1),
                support="plank", pitch=-75)  # pitch solved per frame


def pullup(p: float, st: np.ndarray) -> Pose:
    s = _smooth(p)
    abd = 150 - 55 * s
    fore = 178 - 8 * s
    knee = 25 + 20 * st[0]
    return Pose(limb(0, abd, 1), limb(0, fore, 1), limb(0, abd, -1), limb(0, fore, -1),
                limb(15, 4, 1), limb(-knee, 2, 1), limb(15, 4, -1), limb(-knee, 2, -1), support="bar")


def tennis_serve(p: float, st: np.ndarray) -> Pose:
    # toss (left arm up), trophy pose, racket drop behind the back, contact high, follow-through down
    toss = _ramp(p, 0.05, 0.35) * (1 - _ramp(p, 0.55, 0.75))
    a = 20 + 150 * toss
    lu, lf = limb(a, 10, 1), limb(a + 5, 10, 1)
    back = _ramp(p, 0.1, 0.35)
    drop = _ramp(p, 0.35, 0.5)
    hit = _ramp(p, 0.5, 0.6)
    follow = _ramp(p, 0.6, 0.85)
    ru_flex = -20 - 40 * back + 60 * back + 110 * drop + 40 * hit - 150 * follow
    ru_abd = 20 + 60 * back - 30 * hit
    rf_flex = ru_flex + 40 * back + 60 * drop - 90 * hit * (1 - follow) - 20 * follow
    ru, rf = limb(ru_flex, ru_abd, -1), limb(rf_flex, ru_abd * 0.6, -1)
    knee = 30 * _ramp(p, 0.2, 0.45) * (1 - _ramp(p, 0.45, 0.55))
    lean = -15 * back + 35 * follow
    return Pose(lu, lf, ru, rf, limb(10 + knee, 8, 1), limb(-knee, 6, 1), limb(-10 + knee, 8, -1),
                limb(-10 - knee, 6, -1), lean=lean, twist=-40 * back + 70 * hit,
                lift=0.05 * hit * (1 - follow) * (1 + 0.3 * st[0]), prop="racket")


def tennis_forehand(p: float, st: np.ndarray) -> Pose:
    back = _ramp(p, 0.0, 0.35)
    swing = _ramp(p, 0.4, 0.7)
    ang = -60 * back + (190 + 15 * st[0]) * swing  # racket arm sweeps behind -> across the body
    drop = 25 - 10 * swing - 30 * _ramp(p, 0.7, 0.9)
    ru = sweep(ang - 0, drop + 20, -1)
    rf = sweep(ang + 15, drop, -1)
    lu, lf = sweep(40 + 20 * back - 70 * swing, 35, 1), sweep(70 + 20 * back - 90 * swing, 20, 1)
    return Pose(lu, lf, ru, rf, limb(15, 15, 1), limb(-10, 8, 1), limb(-15, 15, -1), limb(-20, 8, -1),
                lean=15, twist=60 * back - 110 * swing, prop="racket")


def baseball_swing(p: float, st: np.ndarray) -> Pose:
    load = _ramp(p, 0.0, 0.35)
    swing = _ramp(p, 0.45, 0.65)
    follow = _ramp(p, 0.65, 0.9)
    ang = 140 - 40 * load - 200 * swing - 40 * follow  # hands together, bat sweeping across
    d_up = 10 + 20 * load * (1 - swing) + 10 * st[0]
    # both hands meet in front of the chest: arms point forward-across from each shoulder
    ru = sweep(ang - 20, 45 + d_up, -1)
    rf = sweep(ang + 30, 25 + d_up, -1)
    lu = sweep(180 - ang + 20, 45 + d_up, 1)
    lf = sweep(180 - ang - 30, 25 + d_up, 1)
    stride = 25 * _ramp(p, 0.3, 0.45)
    return Pose(lu, lf, ru, rf, limb(20 + stride, 18, 1), limb(-15, 10, 1), limb(-10, 18, -1), limb(-30, 10, -1),
                lean=25, twist=50 * load - 100 * swing, prop="bat")


def bowling(p: float, st: np.ndarray) -> Pose:
    back = _ramp(p, 0.1, 0.45)
    fwd = _ramp(p, 0.45, 0.8)
    flex = 10 - (70 + 15 * st[0]) * back + 190 * fwd
    step = _ramp(p, 0.3, 0.7)
    knee = 60 * step
    return Pose(limb(30 + 30 * step, 45, 1), limb(35 + 30 * step, 50, 1), limb(flex, 8, -1), limb(flex + 5, 6, -1),
                limb(10 + 60 * step, 6, 1), limb(-10 + 10 * step - knee * 0.2, 6, 1),
                limb(-10 - 35 * step, 6, -1), limb(-20 - 60 * step, 6, -1),
                lean=10 + 40 * step, prop="ball")


ACTION_FUNCS = {
    "jumping_jacks": jumping_jacks,
    "squat": squat,
    "situp": situp,
    "pushup": pushup,
    "pullup": pullup,
    "tennis_serve": tennis_serve,
    "tennis_forehand": tennis_forehand,
    "baseball_swing": baseball_swing,
    "bowling": bowling,
}

#: Camera yaw ranges (degrees) per action: which way the person faces the camera.
YAW = {
    "jumping_jacks": (-25, 25), "squat": (35, 90), "situp": (80, 95), "pushup": (75, 95),
    "pullup": (150, 210), "tennis_serve": (60, 100), "tennis_forehand": (-70, -20),
    "baseball_swing": (-20, 20), "bowling": (70, 100),
}

#: Cycles per second (range) for each action.
RATE = {
    "jumping_jacks": (1.0, 1.6), "squat": (0.5, 0.8), "situp": (0.5, 0.8), "pushup": (0.6, 0.9),
    "pullup": (0.4, 0.6), "tennis_serve": (0.5, 0.6), "tennis_forehand": (0.55, 0.7),
    "baseball_swing": (0.55, 0.7), "bowling": (0.5, 0.6),
}


def pose_points(body: Body, pose: Pose, yaw: float) -> tuple[np.ndarray, np.ndarray, dict]:
    """Forward kinematics: 13 PennAction joints in 3-D after pitch and yaw (camera frame:
    x right, y down, z = depth away from the camera), before support placement.

    Returns ``(joints 13 x 3, neck 3, extras)`` where extras holds the prop end point.
    """
    b = body
    R_t = rot_x(-pose.lean) @ rot_y(pose.twist)  # torso frame in the body frame
    hip_l, hip_r = np.array([b.hip_w / 2, 0, 0]), np.array([-b.hip_w / 2, 0, 0])
    up = R_t @ np.array([0.0, -1.0, 0.0])
    neck = up * b.torso
    sho_l = neck + R_t @ np.array([b.shoulder_w / 2, 0.02, 0])
    sho_r = neck + R_t @ np.array([-b.shoulder_w / 2, 0.02, 0])
    head = neck + up * (b.neck + b.head_r)
    elb_l = sho_l + R_t @ pose.lu * b.upper_arm
    elb_r = sho_r + R_t @ pose.ru * b.upper_arm
    wri_l = elb_l + R_t @ pose.lf * b.forearm
    wri_r = elb_r + R_t @ pose.rf * b.forearm
    kne_l = hip_l + pose.lt * b.thigh
    kne_r = hip_r + pose.rt * b.thigh
    ank_l = kne_l + pose.ls * b.shin
    ank_r = kne_r + pose.rs * b.shin
    P = np.stack([head, sho_l, sho_r, elb_l, elb_r, wri_l, wri_r, hip_l, hip_r, kne_l, kne_r, ank_l, ank_r])
    extras = {}
    if pose.prop in ("racket", "bat"):
        fdir = (wri_r - elb_r) / (np.linalg.norm(wri_r - elb_r) + 1e-9)
        length = 0.33 if pose.prop == "racket" else 0.45
        extras["prop_end"] = wri_r + fdir * length
    forward = np.array([0.0, 0.0, 1.0])
    extras["toe_l"] = ank_l + forward * 0.07 + np.array([0, 0.02, 0])
    extras["toe_r"] = ank_r + forward * 0.07 + np.array([0, 0.02, 0])
    # whole-body pitch, then yaw; body (X left, Y down, Z forward) -> camera (x right, y down, depth)
    R = rot_y(yaw) @ rot_x(pose.pitch)
    to_cam = np.array([[1, 0, 0], [0, 1, 0], [0, 0, -1]])
    M = to_cam @ R
    P = P @ M.T
    neck = M @ neck
    extras = {k: M @ v for k, v in extras.items()}
    return P, neck, extras


def place(P: np.ndarray, neck: np.ndarray, extras: dict, pose: Pose, body: Body) -> float:
    """Vertical offset that puts the body on its support (ground at y=0, bar at y=-1)."""
    if pose.support == "bar":
        return -1.0 - min(P[LWRI, 1], P[RWRI, 1]) + 0.015
    low = max(P[:, 1].max() + 0.02, extras["toe_l"][1], extras["toe_r"][1])
    if pose.pitch != 0:  # lying: the torso and head touch the floor too
        low = max(low, P[HEAD, 1] + body.head_r, neck[1] + 0.06)
    return -low - pose.lift


# ------------------------------------------------------------------ drawing

# Parts: (name, joint a, joint b or None, adjacent joints) -- "a"/"b" may be extras.
LIMBS = [
    ("l_upper_arm", LSHO, LELB), ("l_forearm", LELB, LWRI), ("r_upper_arm", RSHO, RELB), ("r_forearm", RELB, RWRI),
    ("l_thigh", LHIP, LKNE), ("l_shin", LKNE, LANK), ("r_thigh", RHIP, RKNE), ("r_shin", RKNE, RANK),
]
ADJACENT = {
    HEAD: {"head", "neck"}, LSHO: {"l_upper_arm"}, RSHO: {"r_upper_arm"},
    LELB: {"l_upper_arm", "l_forearm"}, RELB: {"r_upper_arm", "r_forearm"},
    LWRI: {"l_forearm", "l_hand"}, RWRI: {"r_forearm", "r_hand", "prop"},
    LHIP: {"l_thigh"}, RHIP: {"r_thigh"}, LKNE: {"l_thigh", "l_shin"}, RKNE: {"r_thigh", "r_shin"},
    LANK: {"l_shin", "l_foot"}, RANK: {"r_shin", "r_foot"},
}


def _shade(c: tuple, f: float) -> tuple:
    return tuple(int(min(255, max(0, v * f))) for v in c)


def _capsule(img, ids, a, b, r, colour, pid, light=True):
    pa, pb = (int(round(a[0] * 16)), int(round(a[1] * 16))), (int(round(b[0] * 16)), int(round(b[1] * 16)))
    t = max(1, int(round(2 * r)))
    cv2.line(img, pa, pb, _shade(colour, 0.6), t + 2, cv2.LINE_AA, shift=4)
    cv2.line(img, pa, pb, colour, t, cv2.LINE_AA, shift=4)
    if light and t >= 4:
        d = np.array(b[:2]) - np.array(a[:2])
        n = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-9) * r * 0.35
        qa = (int(round((a[0] - n[0]) * 16)), int(round((a[1] - n[1]) * 16)))
        qb = (int(round((b[0] - n[0]) * 16)), int(round((b[1] - n[1]) * 16)))
        cv2.line(img, qa, qb, _shade(colour, 1.25), max(1, t // 3), cv2.LINE_AA, shift=4)
    cv2.line(ids, (int(round(a[0])), int(round(a[1]))), (int(round(b[0])), int(round(b[1]))), pid, t + 2)


def draw_person(img: np.ndarray, P2: np.ndarray, depth: np.ndarray, neck2: np.ndarray, extras2: dict,
                body: Body, scale: float, pose: Pose, facing: float, cover: np.ndarray | None = None) -> np.ndarray:
    """Draw the person far-to-near on ``img`` (RGB, in place); return visibility (13 bool).

    ``P2`` are joint pixels, ``depth`` their depths (body units), ``scale`` pixels per
    body unit, ``facing`` the sign of the person's forward direction along image x.
    ``cover`` (H x W bool), when given, is set True where this person's body was
    drawn, so a scene of several people can tell which joints a nearer person hides.
    """
    H, W = img.shape[:2]
    ids = np.full((H, W), 255, np.uint8)
    b = body
    u = scale * b.build
    parts = []  # (depth, name, draw)
    shirt, pants, skin = b.shirt, b.pants, b.skin
    for name, ja, jb in LIMBS:
        arm = "arm" in name
        if arm:
            col = shirt if ("upper" in name or b.long_sleeves) else skin
            r = (0.027 if "upper" in name else 0.022) * u
        else:
            col = pants if ("thigh" in name or b.long_pants) else skin
            r = (0.039 if "thigh" in name else 0.029) * u
        parts.append((float(depth[ja] + depth[jb]) / 2, name, ("cap", P2[ja], P2[jb], r, col)))
    for side, wri, elb in (("l", LWRI, LELB), ("r", RWRI, RELB)):
        d = P2[wri] - P2[elb]
        hand = P2[wri] + d / (np.linalg.norm(d) + 1e-9) * 0.03 * scale
        parts.append((float(depth[wri]) - 1e-3, f"{side}_hand", ("cap", P2[wri], hand, 0.022 * u, skin)))
    for side, ank in (("l", LANK), ("r", RANK)):
        toe = extras2[f"toe_{side}"]
        parts.append((float(depth[ank]) - 1e-3, f"{side}_foot", ("cap", P2[ank], toe, 0.026 * u, b.shoes)))
    # torso: a polygon through shoulders and hips plus a capsule down the spine (gives it depth in side view)
    mid_hip = (P2[LHIP] + P2[RHIP]) / 2
    tdepth = float(depth[[LSHO, RSHO, LHIP, RHIP]].mean())
    parts.append((tdepth, "torso", ("torso", P2[LSHO], P2[RSHO], P2[RHIP], P2[LHIP], neck2, mid_hip, 0.075 * u)))
    parts.append((tdepth - 1e-3, "neck", ("cap", neck2, P2[HEAD], 0.025 * u, skin)))
    parts.append((float(depth[HEAD]) - 2e-3, "head", ("head", P2[HEAD], b.head_r * scale, neck2)))
    if "prop_end" in extras2:
        parts.append((float(depth[RWRI]) - 2e-3, "prop", ("prop", P2[RWRI], extras2["prop_end"], pose.prop)))
    elif pose.prop == "ball":
        parts.append((float(depth[RWRI]) - 2e-3, "prop", ("ball", P2[RWRI], 0.055 * scale)))
    names = [p[1] for p in parts]
    pdepth = {p[1]: p[0] for p in parts}
    for pid, (_, name, spec) in sorted(enumerate(parts), key=lambda t: -t[1][0]):
        kind = spec[0]
        if kind == "cap":
            _capsule(img, ids, spec[1], spec[2], spec[3], spec[4], pid)
        elif kind == "torso":
            quad = np.array([spec[1], spec[2], spec[3], spec[4]])
            _capsule(img, ids, spec[5], spec[6], spec[7], shirt, pid, light=False)
            pts = np.round(quad * 16).astype(np.int32)
            cv2.fillConvexPoly(img, pts, shirt, cv2.LINE_AA, shift=4)
            cv2.polylines(img, [pts], True, _shade(shirt, 0.6), 1, cv2.LINE_AA, shift=4)
            # belt line at the hips shows the pants start
            _capsule(img, ids, spec[3], spec[4], 0.03 * u, pants, pid, light=False)
            cv2.fillConvexPoly(ids, np.round(quad).astype(np.int32), pid)
        elif kind == "head":
            c, r, nk = spec[1], max(2.0, spec[2]), spec[3]
            ci = (int(round(c[0] * 16)), int(round(c[1] * 16)))
            cv2.circle(img, ci, int(r * 16), _shade(skin, 0.7), -1, cv2.LINE_AA, shift=4)
            cv2.circle(img, ci, int(r * 0.92 * 16), skin, -1, cv2.LINE_AA, shift=4)
            # hair: a cap on the side away from the neck, shifted to the back of the head
            up = np.array(c) - np.array(nk[:2])
            up /= np.linalg.norm(up) + 1e-9
            ang = math.degrees(math.atan2(up[1], up[0]))
            back = -facing * (0.25 if abs(facing) > 0 else 0)
            hc = (int(round((c[0] + back * r) * 16)), int(round((c[1] + up[1] * 0.1 * r) * 16)))
            span = 120 if b.hair_long else 90
            cv2.ellipse(img, hc, (int(r * 1.02 * 16), int(r * 1.02 * 16)), ang, -span, span, b.hair, -1,
                        cv2.LINE_AA, shift=4)
            if abs(facing) > 0.5:  # an eye on the face side
                e = (int(round((c[0] + facing * 0.5 * r) * 16)), int(round((c[1] - 0.1 * r) * 16)))
                cv2.circle(img, e, max(16, int(r * 0.12 * 16)), (30, 30, 30), -1, cv2.LINE_AA, shift=4)
            cv2.circle(ids, (int(round(c[0])), int(round(c[1]))), int(round(r)), pid, -1)
        elif kind == "prop":
            a, e, what = spec[1], spec[2], spec[3]
            if what == "racket":
                grip = np.array(a) + (np.array(e) - np.array(a)) * 0.45
                _capsule(img, ids, a, grip, 0.012 * scale, (40, 40, 40), pid, light=False)
                d = np.array(e) - grip
                ang = math.degrees(math.atan2(d[1], d[0]))
                cen = tuple(int(round(v * 16)) for v in (grip + np.array(e)) / 2)
                ax = (int(np.linalg.norm(d) / 2 * 16), int(0.07 * scale * 16))
                cv2.ellipse(img, cen, ax, ang, 0, 360, (220, 220, 230), max(1, int(0.012 * scale)), cv2.LINE_AA, shift=4)
            else:
                _capsule(img, ids, a, e, 0.018 * scale, (170, 120, 70), pid)
        elif kind == "ball":
            c = (int(round(spec[1][0] * 16)), int(round((spec[1][1] + spec[2] * 0.6) * 16)))
            cv2.circle(img, c, int(spec[2] * 16), (30, 60, 160), -1, cv2.LINE_AA, shift=4)
    if cover is not None:
        cover |= ids != 255
    # visibility: occluded when the top part at the joint is not its own and clearly nearer
    vis = np.ones(13, bool)
    margin = 0.04
    for j in range(13):
        x, y = int(round(P2[j, 0])), int(round(P2[j, 1]))
        if not (0 <= x < W and 0 <= y < H):
            vis[j] = False
            continue
        top = ids[y, x]
        if top == 255:
            continue
        name = names[top]
        if name in ADJACENT[j]:
            continue
        if pdepth[name] < depth[j] - margin:
            vis[j] = False
    return vis
