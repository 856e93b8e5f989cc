"""Structured decoding of pose attention: a kinematic-tree prior over each joint's candidate peaks.

Why: the plain decode takes each joint's attention peak on its own. On a camera view the
model never saw, an arm's attention often has two peaks, the arm and something arm-like
(on the real clips' held-out view, a life-size anatomical skeleton model standing in the
room), and the plain decode takes the wrong one about a fifth of the time. The right place
is nearly always among the joint's few strongest local maxima (on those clips, for 89-92 %
of the missed joints within the 5 strongest; docs/real_video.md), so the choice can be made
jointly: a wrist far beyond an arm's length from its elbow is not a wrist.

How:

1. **Candidates**: per joint the ``k`` strongest local maxima of its attention map (5 x 5
   non-maximum suppression), each refined to sub-cell precision by the same parabola fit as
   :func:`rpan_core.targets.decode_quadratic`, and scored by the attention mass in the 5 x 5
   window around it (the plain decode's confidence).
2. **Prior**: the skeleton's drawing edges reduced to a tree (breadth-first from its first
   joint), and per tree edge the distribution of its length relative to the body's scale,
   learned from the project's own labeled poses (:meth:`PosePrior.fit`), so it adapts to the
   skeleton and to the people being labeled. Lengths are modelled in the log domain,
   ``log len_e = log s + m_e + noise``, with a per-pose scale ``s``. Longer than expected is
   penalised hard; shorter only gently, because a limb pointing at the camera is short in
   the image (foreshortening) while no limb is ever longer than it is.
3. **Exact solution**: for every scale on a geometric grid, dynamic programming on the tree
   (min-sum) gives the best candidate per joint; the best scale wins. The scale is not given
   by anyone: the limbs agree on it. Cost = sum over joints of ``-log(mass)`` plus ``weight``
   times the sum over edges of the length penalty.

Joints the model parks on its dummy cell ("not in the frame") keep their plain decode and
their edges cost nothing: their position means nothing.

The result is a drop-in for the plain decode: poses in the model input's pixels (map them to
frame pixels through each frame's window) and a confidence per joint.
"""
from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rpan_core.errors import ConfigError

__all__ = ["PosePrior", "PriorError", "tree_edges", "candidates", "solve_tree", "decode_frames",
           "prior_from_project", "with_pose_prior", "DEFAULT_K", "DEFAULT_WEIGHT", "MIN_POSES"]

#: bump when the decoding changes (kept poses of the old decoding are then decoded again)
DECODE_VERSION = 1
#: candidate peaks per joint
DEFAULT_K = 5
#: weight of the limb-length term against the attention's log-mass
DEFAULT_WEIGHT = 1.0
#: fewer labeled poses than this (with every joint of an edge visible) and no prior is learned
MIN_POSES = 3
#: non-maximum suppression window (cells) and the window whose mass scores a candidate
NMS_CELLS = 5
#: floor of the log-length spread (20 %: labels are a few pixels off, people bend)
MIN_LOG_STD = 0.2
#: shorter than expected costs less than longer: its spread is this many times wider ...
SHORT_SPREAD = 2.5
#: ... and it costs at most this much (a limb pointing at the camera can look as short as it likes)
SHORT_CAP = 1.0
#: the scale grid: geometric, between these fractions of the long side of the region the input shows
SCALE_RANGE = (0.04, 1.2)
SCALE_STEPS = 40
#: mass floor inside the log (a candidate with no mass still has a finite cost)
MASS_FLOOR = 1e-4


class PriorError(ConfigError):
    """A pose prior that cannot be learned or does not fit the skeleton."""


def tree_edges(edges: Any, num_joints: int, root: int = 0) -> list[tuple[int, int]]:
    """``(parent, child)`` pairs of a spanning tree of the skeleton's edges, in breadth-first order from
    ``root`` (every parent comes before its children; edges that would close a cycle are left out).
    Joints the edges do not reach from ``root`` start trees of their own (in joint order)."""
    adj: dict[int, list[int]] = {j: [] for j in range(num_joints)}
    for a, b in edges:
        adj[int(a)].append(int(b))
        adj[int(b)].append(int(a))
    seen = [False] * num_joints
    out: list[tuple[int, int]] = []
    for start in [root, *range(num_joints)]:
        if seen[start]:
            continue
        seen[start] = True
        q = deque([start])
        while q:
            p = q.popleft()
            for c in adj[p]:
                if not seen[c]:
                    seen[c] = True
                    out.append((p, c))
                    q.append(c)
    return out


@dataclass(frozen=True)
class PosePrior:
    """Limb-length statistics of a skeleton's tree edges (log length relative to the pose's scale).

    ``edges`` (E x 2 parent, child) in breadth-first order; ``log_mean`` / ``log_std`` (E) of
    ``log(length) - log(scale)``, the scale of each labeled pose being the one its limbs agree on
    (normalised so the mean scale is the mean box side of the labeled poses); ``poses``: how many
    labeled poses it was learned from; ``weight``: the limb term's weight against the log-mass.
    """

    skeleton: str
    num_joints: int
    edges: tuple[tuple[int, int], ...]
    log_mean: tuple[float, ...]
    log_std: tuple[float, ...]
    poses: int
    weight: float = DEFAULT_WEIGHT
    k: int = DEFAULT_K

    # ------------------------------------------------------------------ learning
    @classmethod
    def fit(cls, xy: Any, visible: Any, skeleton: Any, *, weight: float = DEFAULT_WEIGHT,
            k: int = DEFAULT_K) -> "PosePrior":
        """Learn the limb lengths from labeled poses ``xy`` (N x J x 2, any pixels) with ``visible`` (N x J).

        Each pose's scale and the edges' typical lengths are fitted together (alternating means in
        the log domain), so poses of people at different distances teach the same proportions.
        """
        from rpan_core.skeleton import get_skeleton

        skel = get_skeleton(skeleton)
        J = skel.num_joints
        p = np.asarray(xy, np.float64)
        v = np.asarray(visible, bool)
        if p.ndim != 3 or p.shape[1:] != (J, 2) or v.shape != p.shape[:2]:
            raise PriorError(f"a pose prior for {skel.name} learns from N x {J} x 2 poses with N x {J} visibility, "
                             f"got {p.shape} and {v.shape}")
        v = v & np.isfinite(p).all(-1)
        tree = tree_edges(skel.edges, J)
        if not tree:
            raise PriorError(f"skeleton {skel.name} has no edges to learn limb lengths from")
        a, b = np.array([e[0] for e in tree]), np.array([e[1] for e in tree])
        ok = v[:, a] & v[:, b]  # N x E
        ln = np.log(np.maximum(np.linalg.norm(p[:, a] - p[:, b], axis=-1), 1e-3))
        ok &= np.isfinite(ln)
        counts = ok.sum(0)
        if (counts < MIN_POSES).any():
            missing = [f"{skel.joints[a[i]]}-{skel.joints[b[i]]}" for i in np.nonzero(counts < MIN_POSES)[0]]
            raise PriorError(f"too few labeled poses to learn limb lengths for {', '.join(missing)} "
                             f"(need {MIN_POSES} poses with both joints visible); label a few more frames")
        use = ok.sum(1) >= 2  # a pose's scale needs at least two limbs
        ok, ln = ok[use], ln[use]
        w = ok.astype(np.float64)
        m = (ln * w).sum(0) / w.sum(0)
        ls = np.zeros(len(ln))
        for _ in range(20):
            ls = ((ln - m) * w).sum(1) / w.sum(1)
            m = ((ln - ls[:, None]) * w).sum(0) / w.sum(0)
        # anchor: the mean log scale is the mean log box side of the labeled poses
        q = np.where(v[use][..., None], p[use], np.nan)
        with np.errstate(all="ignore"):
            side = np.fmax(np.nanmax(q[..., 0], 1) - np.nanmin(q[..., 0], 1),
                           np.nanmax(q[..., 1], 1) - np.nanmin(q[..., 1], 1))
        good = np.isfinite(side) & (side > 0)
        shift = float(np.mean(np.log(side[good])) - np.mean(ls[good])) if good.any() else 0.0
        ls, m = ls + shift, m - shift
        r = (ln - ls[:, None] - m) * w
        sd = np.sqrt((r ** 2).sum(0) / np.maximum(w.sum(0) - 1, 1))
        return cls(skel.name, J, tuple((int(x), int(y)) for x, y in tree), tuple(float(x) for x in m),
                   tuple(float(x) for x in sd), int(use.sum()), float(weight), int(k))

    # ------------------------------------------------------------------ storage
    def to_dict(self) -> dict:
        return {"skeleton": self.skeleton, "num_joints": self.num_joints, "edges": [list(e) for e in self.edges],
                "log_mean": list(self.log_mean), "log_std": list(self.log_std), "poses": self.poses,
                "weight": self.weight, "k": self.k}

    @classmethod
    def from_dict(cls, d: dict) -> "PosePrior":
        try:
            edges = tuple((int(a), int(b)) for a, b in d["edges"])
            pr = cls(str(d["skeleton"]), int(d["num_joints"]), edges, tuple(float(x) for x in d["log_mean"]),
                     tuple(float(x) for x in d["log_std"]), int(d["poses"]), float(d.get("weight", DEFAULT_WEIGHT)),
                     int(d.get("k", DEFAULT_K)))
        except (KeyError, TypeError, ValueError) as exc:
            raise PriorError(f"a stored pose prior is incomplete or garbled ({exc!r}); learn it again") from exc
        if not (len(pr.log_mean) == len(pr.log_std) == len(edges)) or \
                any(not 0 <= j < pr.num_joints for e in edges for j in e):
            raise PriorError("a stored pose prior's edges and statistics do not match; learn it again")
        return pr

    def digest(self) -> str:
        """A short hash of everything that changes the decoded poses (for cache keys): the statistics, the
        options and this module's decoding constants."""
        consts = [DECODE_VERSION, NMS_CELLS, MIN_LOG_STD, SHORT_SPREAD, SHORT_CAP, SCALE_RANGE, SCALE_STEPS,
                  MASS_FLOOR]
        return hashlib.sha256(json.dumps([self.to_dict(), consts], sort_keys=True).encode()).hexdigest()[:16]

    def with_options(self, weight: float | None = None, k: int | None = None) -> "PosePrior":
        return PosePrior(self.skeleton, self.num_joints, self.edges, self.log_mean, self.log_std, self.poses,
                         self.weight if weight is None else float(weight), self.k if k is None else int(k))

    def check_skeleton(self, skeleton: str, num_joints: int) -> None:
        if self.skeleton != str(skeleton) or self.num_joints != int(num_joints):
            raise PriorError(f"the pose prior was learned for {self.skeleton} ({self.num_joints} joints), the model "
                             f"reads {skeleton} ({num_joints} joints); learn it from this project's labels")

    # ------------------------------------------------------------------ the length cost
    def edge_cost(self, length: np.ndarray, log_scale: np.ndarray, e: int) -> np.ndarray:
        """Cost of tree edge ``e`` at ``length`` (any shape) for ``log_scale`` (broadcast)."""
        sd = max(self.log_std[e], MIN_LOG_STD)
        r = np.log(np.maximum(length, 1e-3)) - log_scale - self.log_mean[e]
        long = np.maximum(r, 0.0) / sd
        short = np.maximum(-r, 0.0) / (sd * SHORT_SPREAD)
        return long * long + np.minimum(short * short, SHORT_CAP)


# ---------------------------------------------------------------------- candidates

def candidates(attention: Any, input_size: tuple[int, int], k: int = DEFAULT_K) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` strongest local maxima of each joint's map: ``(xy, mass)`` of shapes ``... x J x k x 2``
    (input pixels, sub-cell refined as :func:`rpan_core.targets.decode_quadratic` refines its peak) and
    ``... x J x k`` (attention mass of the 5 x 5 cells around the peak, the plain decode's confidence).
    A map with fewer than ``k`` maxima repeats its strongest with mass 0 (never chosen over it)."""
    from scipy.ndimage import maximum_filter, uniform_filter

    a = np.asarray(attention, np.float32)
    lead = a.shape[:-2]
    K1, K2 = a.shape[-2:]
    a = a.reshape(-1, K1, K2)
    n = len(a)
    mx = maximum_filter(a, size=(1, NMS_CELLS, NMS_CELLS), mode="constant", cval=-1.0)
    mass = uniform_filter(a.astype(np.float64), size=(1, NMS_CELLS, NMS_CELLS), mode="constant") * NMS_CELLS ** 2
    score = np.where((a >= mx) & (a > 0), a, -1.0).reshape(n, -1)
    kk = min(int(k), K1 * K2)
    idx = np.argpartition(-score, kk - 1, axis=1)[:, :kk]
    idx = np.take_along_axis(idx, np.argsort(-np.take_along_axis(score, idx, 1), axis=1), 1)  # strongest first
    got = np.take_along_axis(score, idx, 1) > -1.0
    got[:, 0] = True  # an all-zero map still has its arg-max
    idx = np.where(got, idx, idx[:, :1])
    r0, c0 = idx // K2, idx % K2
    la = np.log(np.maximum(a, 1e-30))
    rows = np.arange(n)[:, None]

    def at(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return la[rows, np.clip(r, 0, K1 - 1), np.clip(c, 0, K2 - 1)]

    def offset(lm: np.ndarray, l0: np.ndarray, lp: np.ndarray, ok: np.ndarray) -> np.ndarray:
        den = lm - 2 * l0 + lp
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(den < -1e-9, 0.5 * (lm - lp) / np.minimum(den, -1e-9), 0.0)
        return np.where(ok, np.clip(d, -0.5, 0.5), 0.0)

    l0 = at(r0, c0)
    dr = offset(at(r0 - 1, c0), l0, at(r0 + 1, c0), (r0 > 0) & (r0 < K1 - 1))
    dc = offset(at(r0, c0 - 1), l0, at(r0, c0 + 1), (c0 > 0) & (c0 < K2 - 1))
    ih, iw = input_size
    xy = np.stack([(c0 + dc + 0.5) * (iw / K2), (r0 + dr + 0.5) * (ih / K1)], -1)
    m = np.where(got, mass[rows, r0, c0], 0.0)
    return xy.reshape(*lead, kk, 2), m.reshape(*lead, kk)


# ---------------------------------------------------------------------- exact solution on the tree

def solve_tree(unary: np.ndarray, xy: np.ndarray, prior: PosePrior, log_scales: np.ndarray,
               free: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The exact minimum of ``sum_j unary[j, c_j] + weight * sum_e cost_e(|xy[p, c_p] - xy[q, c_q]|, s)``
    over one candidate ``c_j`` per joint and one scale ``s`` of ``log_scales``, for each of ``T`` poses.

    ``unary`` T x J x C (``inf``: not allowed), ``xy`` T x J x C x 2, ``log_scales`` S or T x S,
    ``free`` T x J (joints whose edges cost nothing). Returns ``(choice T x J, cost T)``. Min-sum
    dynamic programming from the leaves to the root(s) of the prior's tree, every scale at once.
    """
    T, J, C = unary.shape
    ls = np.asarray(log_scales, np.float64)
    ls = np.broadcast_to(ls, (T, ls.shape[-1]))
    S = ls.shape[1]
    ls4 = ls[:, :, None, None]
    wt = float(prior.weight)
    free = np.zeros((T, J), bool) if free is None else np.asarray(free, bool)
    below = np.broadcast_to(unary[:, None], (T, S, J, C)).copy()  # each joint's subtree cost-to-go
    best_child: dict[tuple[int, int], np.ndarray] = {}
    for e in reversed(range(len(prior.edges))):  # children before parents
        p, q = prior.edges[e]
        d = np.linalg.norm(xy[:, p, :, None, :] - xy[:, q, None, :, :], axis=-1)  # T x Cp x Cq
        pair = wt * prior.edge_cost(d[:, None], ls4, e)  # T x S x Cp x Cq
        pair = np.where((free[:, p] | free[:, q])[:, None, None, None], 0.0, pair)
        tot = pair + below[:, :, q][:, :, None, :]
        arg = tot.argmin(-1)  # T x S x Cp
        below[:, :, p] += np.take_along_axis(tot, arg[..., None], -1)[..., 0]
        best_child[(p, q)] = arg
    children = {q for _, q in prior.edges}
    roots = [j for j in range(J) if j not in children]
    total = sum(below[:, :, r].min(-1) for r in roots)  # T x S
    s_best = total.argmin(1)
    ti = np.arange(T)
    choice = np.zeros((T, J), np.int64)
    for r in roots:
        choice[:, r] = below[ti, s_best, r].argmin(-1)
    for p, q in prior.edges:  # parents first (breadth-first order)
        choice[:, q] = best_child[(p, q)][ti, s_best, choice[:, p]]
    return choice, total[ti, s_best]


def decode_frames(attention: Any, windows: Any, input_size: tuple[int, int], prior: PosePrior,
                  dummy: Any = None, dummy_threshold: float = 0.5, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Poses decoded with the prior, in frame pixels: ``(xy T x J x 2 float32, conf T x J float32)``.

    ``attention`` T x J x K1 x K2 over each frame's model input, ``windows`` T x 2 x 3 (the frame ->
    input map each frame was read through, :class:`rpan_core.geometry.Window`), ``dummy`` T x J: a
    joint at or above ``dummy_threshold`` keeps its strongest peak and is left out of the limb terms.
    Lengths are measured in frame pixels (a squashed whole frame is not a similarity), the scale grid
    spans the region the input shows. ``chunk`` frames at a time: a long video's memory-mapped maps
    stay on disk.
    """
    from rpan_core.geometry import Window

    T = len(attention)
    J = int(attention.shape[1])
    if J != prior.num_joints:
        raise PriorError(f"the pose prior is for {prior.num_joints} joints, the attention has {J}")
    size = (int(input_size[0]), int(input_size[1]))
    out = np.zeros((T, J, 2), np.float32)
    conf = np.zeros((T, J), np.float32)
    grid = np.linspace(np.log(SCALE_RANGE[0]), np.log(SCALE_RANGE[1]), SCALE_STEPS)
    for t0 in range(0, T, chunk):
        t1 = min(T, t0 + chunk)
        cxy, mass = candidates(np.asarray(attention[t0:t1], np.float32), size, prior.k)
        n, _, C, _ = cxy.shape
        fxy = np.empty_like(cxy)
        side = np.empty(n)
        for i in range(n):
            w = Window(np.asarray(windows[t0 + i], np.float64), size)
            fxy[i] = w.to_frame(cxy[i].reshape(-1, 2)).reshape(J, C, 2)
            b = w.frame_box()
            side[i] = max(b[2] - b[0], b[3] - b[1])
        unary = np.where(mass > 0, -np.log(np.maximum(mass, MASS_FLOOR)), np.inf)
        unary[:, :, 0] = np.minimum(unary[:, :, 0], -np.log(MASS_FLOOR))
        free = np.zeros((n, J), bool)
        if dummy is not None:
            free = np.asarray(dummy[t0:t1], np.float64).reshape(n, J) >= dummy_threshold
            unary[:, :, 1:] = np.where(free[..., None], np.inf, unary[:, :, 1:])
        choice, _ = solve_tree(unary, fxy, prior, np.log(side)[:, None] + grid[None])
        ti, ji = np.arange(n)[:, None], np.arange(J)[None, :]
        out[t0:t1] = fxy[ti, ji, choice]
        conf[t0:t1] = mass[ti, ji, choice]
    return out, conf


# ---------------------------------------------------------------------- from a project's labels

def prior_from_project(project: Any, **kw: Any) -> PosePrior:
    """The prior learned from every labeled pose in the project (all videos, all persons): the
    people and the skeleton the user labels, at the proportions they have in these videos."""
    xs, vs = [], []
    for rec in project.videos():
        for person in [p.id for p in project.persons(rec.id)] or [1]:
            la = project.video_labels(rec.id, person)
            if len(la.frames):
                xs.append(np.asarray(la.xy, np.float64))
                vs.append(np.asarray(la.visible, bool) & np.asarray(la.labeled, bool))
    if not xs:
        raise PriorError(f"the project {project.folder} has no labeled poses to learn a pose prior from; label a "
                         "few frames first (or analyze without the prior)")
    return PosePrior.fit(np.concatenate(xs), np.concatenate(vs), project.skeleton, **kw)


# ---------------------------------------------------------------------- an analysis decoded with the prior

def with_pose_prior(analysis: Any, prior: PosePrior, dummy_threshold: float | None = None) -> Any:
    """A copy of ``analysis`` (an :class:`rpan_core.analyze.Analysis`, or a per-person one) whose ``xy`` and
    ``conf`` are decoded with ``prior``; ``pose_prior`` names it (its digest). Attention, dummy, arg-max and
    everything else stay the model's.

    The poses are kept beside the analysis (``prior-<digest>.npz`` in its folder, written atomically), so
    a second call, or the studio opening the video again, reads them instead of decoding every frame's
    maps again; the folder is the analysis's own, so a recomputed analysis never meets stale poses.
    """
    import dataclasses

    from rpan_core.analyze import DEFAULT_DUMMY_THRESHOLD

    if getattr(analysis, "streams", None) is not None:
        raise PriorError("the pose prior decodes one stream's attention; analyze without --flow-checkpoint to use it")
    prior.check_skeleton(analysis.skeleton, int(np.asarray(analysis.xy).shape[1]))
    if analysis.window is None or analysis.input_size is None:
        raise PriorError(f"{analysis.path}: this analysis predates the windows the pose prior needs; "
                         "analyze again (rpan analyze --refresh)")
    thr = DEFAULT_DUMMY_THRESHOLD if dummy_threshold is None else float(dummy_threshold)
    tag = prior.digest() + ("" if dummy_threshold is None else f"-d{thr:g}")
    side = Path(analysis.path) / f"prior-{tag}.npz"
    T, J = np.asarray(analysis.xy).shape[:2]
    xy = conf = None
    if side.is_file():
        try:
            with np.load(side) as z:
                xy, conf = np.asarray(z["xy"], np.float32), np.asarray(z["conf"], np.float32)
            if xy.shape != (T, J, 2) or conf.shape != (T, J):
                xy = conf = None
        except (OSError, ValueError, KeyError):
            xy = conf = None
    if xy is None:
        xy, conf = decode_frames(analysis.attention, analysis.window, tuple(analysis.input_size), prior,
                                 analysis.dummy, dummy_threshold=thr)
        try:
            from rpan_core.atomic import save_with

            save_with(side, lambda fh: np.savez(fh, xy=xy, conf=conf))
        except OSError:
            pass  # a read-only cache: the poses are simply decoded again next time
    return dataclasses.replace(analysis, xy=xy, conf=conf, pose_prior=prior.digest())
