"""RPAN over one person of a video, each frame cropped around that person (``rpan analyze --person``).

Why crops: RPAN reads one person. In a scene of several people the whole frame
gives the model everyone at once (it draws one skeleton across them) and gives a
small person a few cells of its attention grid. With a box per frame, the model
reads an aspect-preserving crop in which this person fills the input
(:meth:`rpan_core.geometry.Window.around_box`, the margin of
:data:`rpan_core.crops.MARGIN`, the same crops the ``labeling`` preset trains on),
and every decoded joint is mapped back to frame pixels through that frame's
window, exactly (:meth:`~rpan_core.geometry.Window.to_frame`).

Where each frame's box comes from, first that exists:

1. the person's boxes in the project (:meth:`rpan_core.project.Project.person_boxes`:
   its box keyframes interpolated, else the extent of its labeled poses);
2. a box the caller gives (the studio's drawn box, ``rpan analyze --box``): one box
   for one frame, or one per frame with NaN where unknown;
3. propagated: the extent of the joints the model placed on the latest frame it
   read (the previous time step), by the rule the person-following analysis uses
   (:func:`rpan_core.crops.next_box`: a weak reading, too few placed joints or a box
   that doubles or halves in one step counts as lost);
4. held: the latest box used (or, before the first known box, the first one).

A person with no box anywhere is refused with one line: in a crowd a whole-frame
reading would follow whoever the model sees best.

The recurrence is the one of :func:`rpan_core.analyze.analyze_video`: a model
trained on squashed whole frames runs ``stride`` interleaved chains (each step's
``stride`` crops go through the backbone together); a model that keeps the aspect
(``framing`` ``letterbox`` / ``person``) runs one chain, frame by frame. Steps whose
boxes are all known in advance go through the backbone a block at a time;
propagation makes a step wait for the one before.

The result is a :class:`PersonAnalysis`: an :class:`rpan_core.analyze.Analysis`
whose poses are in frame pixels and whose attention is over each frame's crop, with
``window`` (T x 2 x 3, frame -> input) so heat maps are drawn where the model
looked (:func:`rpan_core.geometry.grid_map_to_frame`), plus the box each crop was
made around and where it came from. It is cached per video content, checkpoint,
person, analysis version and the boxes given (a moved box is a different entry),
and checked like every analysis before it is served.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from rpan_core.analyze import (_ARRAYS, ANALYSIS_VERSION, Analysis, AnalysisCancelled, StaleAnalysis, _array_sha256,
                               _cancelled, _resolve_cache_dir, _to_device, analysis_stride, file_hash, load_cached)
from rpan_core.atomic import atomic_dir, remove_orphans
from rpan_core.crops import MARGIN, next_box
from rpan_core.errors import ConfigError

__all__ = ["PersonAnalysis", "analyze_person", "analyze_project_person", "analyze_persons", "person_box_inputs",
           "NoPersonBox", "check_has_box", "BOX_GIVEN", "BOX_USER", "BOX_PROPAGATED", "BOX_HELD", "PERSON_VERSION"]

#: Bump when the per-person computation or its extra arrays change (old entries are then recomputed).
PERSON_VERSION = 1
#: ``box_origin`` codes: where the box of a frame came from.
BOX_GIVEN, BOX_USER, BOX_PROPAGATED, BOX_HELD = 1, 2, 3, 4
_PERSON_ARRAYS = ("boxes", "box_origin")
#: growth of a box made from a person's labeled joints (none: the crop's own margin is :data:`rpan_core.crops.MARGIN`)
LABEL_BOX_MARGIN = 0.0


class NoPersonBox(ConfigError):
    """The person has no box on any frame (no box keyframe, no label, none given)."""


@dataclass
class PersonAnalysis(Analysis):
    """An :class:`Analysis` of one person on crops around its boxes.

    ``window`` (T x 2 x 3, inherited) maps frame pixels to each frame's crop, whose
    ``input_size`` the attention grid covers; ``xy``/``xy_argmax`` are frame pixels.
    ``boxes`` T x 4 float64: the box each crop was made around; ``box_origin`` T uint8:
    :data:`BOX_GIVEN` (project), :data:`BOX_USER`, :data:`BOX_PROPAGATED`, :data:`BOX_HELD`.
    """

    person: int = 1
    boxes: np.ndarray | None = None
    box_origin: np.ndarray | None = None

    @classmethod
    def load(cls, path: str | os.PathLike, expect: dict | None = None, verify: bool = True) -> "PersonAnalysis":
        a = super().load(path, expect=expect, verify=verify)
        p = Path(path)
        meta = json.loads((p / "meta.json").read_text())
        extra = meta.get("person_arrays")
        if not isinstance(extra, dict) or set(extra) != set(_PERSON_ARRAYS):
            raise StaleAnalysis(f"{p}: not a per-person analysis (its box arrays are not recorded); it is recomputed")
        for k in _PERSON_ARRAYS:
            f = p / f"{k}.npy"
            if verify and (not f.is_file() or _array_sha256(f) != extra[k]):
                raise StaleAnalysis(f"{p}: {k}.npy is missing or does not match its checksum; it is recomputed")
            try:
                arr = np.load(f, mmap_mode="r")
            except (OSError, ValueError) as exc:
                raise StaleAnalysis(f"{p}: {k}.npy cannot be read ({exc}); it is recomputed") from exc
            if arr.shape[0] != a.num_frames:
                raise StaleAnalysis(f"{p}: {k}.npy has {arr.shape[0]} rows for {a.num_frames} frames; recomputed")
            setattr(a, k, arr)
        a.person = int(meta.get("person", 1))
        return a


# ----------------------------------------------------------------------------- boxes

def _user_boxes(box: Any, n: int, box_frame: int | None) -> np.ndarray:
    """``n x 4`` (NaN where unknown) from one box ``[x0, y0, x1, y1]`` on ``box_frame`` or ``n x 4`` boxes."""
    out = np.full((n, 4), np.nan)
    if box is None:
        return out
    b = np.asarray(box, dtype=np.float64)
    if b.shape == (4,):
        f = 0 if box_frame is None else int(box_frame)
        if not 0 <= f < n:
            raise ConfigError(f"the box is given for frame {f}, outside the video (frames 0..{n - 1})")
        out[f] = b
    elif b.shape == (n, 4):
        out[:] = b
    else:
        raise ConfigError(f"a person box is [x0, y0, x1, y1] (one frame) or one per frame ({n} x 4), "
                          f"got shape {b.shape}")
    ok = np.isfinite(out).all(axis=1)
    bad = ok & ((out[:, 2] <= out[:, 0]) | (out[:, 3] <= out[:, 1]))
    if bad.any():
        f = int(np.nonzero(bad)[0][0])
        raise ConfigError(f"the box on frame {f} needs x1 > x0 and y1 > y0, got {out[f].tolist()}")
    out[~ok] = np.nan
    return out


def person_box_inputs(project_boxes: np.ndarray | None, user: Any = None, n: int | None = None,
                      box_frame: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Merge the project's boxes (``n x 4``, NaN unknown) with a user's box: ``(boxes, origin)``
    where the project's box wins, the user's fills its gaps, and NaN / 0 marks frames left to propagate."""
    if project_boxes is None:
        if n is None:
            raise ConfigError("person_box_inputs needs the project's boxes or the frame count")
        project_boxes = np.full((n, 4), np.nan)
    pb = np.array(project_boxes, dtype=np.float64, copy=True)
    n = len(pb)
    ub = _user_boxes(user, n, box_frame)
    origin = np.zeros(n, np.uint8)
    have = np.isfinite(pb).all(axis=1)
    origin[have] = BOX_GIVEN
    fill = ~have & np.isfinite(ub).all(axis=1)
    pb[fill] = ub[fill]
    origin[fill] = BOX_USER
    pb[origin == 0] = np.nan
    return pb, origin


# ----------------------------------------------------------------------------- analysis

def _key(exact: str, ck_hash: str, person: int, box_hash: str, stride: int | None) -> str:
    return (f"{exact[:20]}-{ck_hash[:20]}-v{ANALYSIS_VERSION}p{PERSON_VERSION}-person{int(person)}-{box_hash[:12]}"
            + (f"-s{stride}" if stride else ""))


def analyze_person(video_path: str | os.PathLike, checkpoint: str | os.PathLike, boxes: Any, *,
                   origin: Any = None, person: int = 1, project: Any = None, device: str | None = None,
                   batch: int | None = None, progress: Callable[..., Any] | None = None, cancel: Any = None,
                   cache_dir: str | os.PathLike | None = None, stride: int | None = None,
                   refresh: bool = False, cached_only: bool = False) -> PersonAnalysis | None:
    """Analyze one person of ``video_path`` on crops around its boxes (see the module docstring).

    ``cached_only``: return the cached result, or None without computing (for a view
    that shows what exists and leaves the work to a background task).

    ``boxes``: ``frame_count x 4`` ``[x0, y0, x1, y1]`` frame pixels, NaN where unknown
    (those frames' boxes are propagated or held), or one box (frame 0's). ``origin``
    (``frame_count`` codes, default :data:`BOX_GIVEN` where a box is known) is kept in
    the result. ``person`` names the person in the cache key and the result;
    ``project`` gives the cache folder and the skeleton check. ``progress(done,
    total)`` and ``cancel`` (an Event or a callable) work as in
    :func:`rpan_core.analyze.analyze_video`.
    """
    import torch

    from rpan_core.checkpoint import expect_skeleton, load_checkpoint
    from rpan_core.data import clip_indices
    from rpan_core.device import pick_device
    from rpan_core.geometry import Window
    from rpan_core.pipeline import auto_batch
    from rpan_core.targets import decode_argmax, decode_quadratic, decode_refined
    from rpan_core.video import open_video

    t0 = time.time()
    ck_path = Path(checkpoint)
    if not ck_path.exists():
        from rpan_core.errors import CheckpointError

        raise CheckpointError(f"checkpoint {ck_path} does not exist; pass a .pt file written by `rpan train`")
    if isinstance(project, (str, os.PathLike)):
        from rpan_core.project import Project

        project = Project.open(project)
    root = Path(cache_dir) if cache_dir is not None else _resolve_cache_dir(project)
    pid = int(person)
    with open_video(video_path) as video:
        n, H, W = int(video.frame_count), int(video.height), int(video.width)
        given = _user_boxes(boxes, n, 0)
        known = np.isfinite(given).all(axis=1)
        if not known.any():
            raise NoPersonBox(f"person {pid} of {video_path} has no box on any frame: draw its box on a frame "
                              "(B in the studio), label one of its frames, or give a box (--box x0,y0,x1,y1)")
        how = np.where(known, BOX_GIVEN, 0).astype(np.uint8) if origin is None else \
            np.where(known, np.asarray(origin, np.uint8).reshape(n), 0).astype(np.uint8)
        exact = video.exact_hash
        ck_hash = file_hash(ck_path)
        box_hash = hashlib.sha256(np.ascontiguousarray(given).tobytes() + how.tobytes()
                                  + repr(float(MARGIN)).encode()).hexdigest()
        final = root / _key(exact, ck_hash, pid, box_hash, stride)
        remove_orphans(root)
        expect = {"video_sha256": exact, "checkpoint_sha256": ck_hash, "frames": n, "version": ANALYSIS_VERSION,
                  "person_version": PERSON_VERSION, "person": pid, "boxes_sha256": box_hash}
        if stride:
            expect["stride"] = int(stride)
        cached = None if refresh else load_cached(PersonAnalysis, final, expect, progress)
        if cached is not None:
            return cached  # (a damaged entry, or one made from other inputs, is recomputed and swapped in)
        if cached_only:
            return None
        dev = pick_device(device)
        model, info = load_checkpoint(ck_path, device=str(dev))
        if project is not None:
            expect_skeleton(info, project.skeleton, f"the project {project.folder}")
        model.to(dev).eval()
        if getattr(model.cfg, "in_channels", 3) != 3:
            raise ConfigError("per-person analysis runs RGB checkpoints; this one reads optical flow "
                              "(analyze the whole frame for the flow stream)")
        in_size = tuple(model.cfg.input_size)
        K1, K2 = model.grid
        squash = model.cfg.framing == "squash"
        tc = dict(info.train_config or {})
        T_clip = int(tc.get("clip_len") or 8)
        s = 1 if not squash else max(1, min(stride or analysis_stride(tc, n, T_clip), n))
        steps = -(-n // s)
        per_block = max(1, (int(batch) if batch else auto_batch(dev)) // s)
        decode = decode_refined if squash else decode_quadratic  # as analyze_video decodes each framing
        root.mkdir(parents=True, exist_ok=True)
        first_known = int(np.argmax(known))
        frames_iter = video.frames()
        state = _to_device(model.init_state(s), dev)
        windows = np.zeros((n, 2, 3), np.float64)
        used = np.full((n, 4), np.nan)
        used_how = np.zeros(n, np.uint8)
        level = {int(i) for i in clip_indices(n, T_clip)}  # the video-level frames, kept as they pass
        level_crops: dict[int, np.ndarray] = {}
        prop: np.ndarray | None = None  # the box propagated from the latest reading
        last_box: np.ndarray | None = None
        last_frame: np.ndarray | None = None

        def box_for(f: int) -> tuple[np.ndarray, int]:
            if known[f]:
                return given[f], int(how[f])
            if prop is not None:
                return prop, BOX_PROPAGATED
            if last_box is not None:
                return last_box, BOX_HELD
            return given[first_known], BOX_HELD

        with atomic_dir(final, replace=True) as tmp:
            out: dict[str, np.ndarray] = {}
            t = 0
            while t < steps:
                if _cancelled(cancel):
                    raise AnalysisCancelled(f"analysis of person {pid} in {video_path} cancelled")
                # a block of steps whose boxes are all known now; one step when it needs propagation
                t1 = t + 1
                while t1 < min(steps, t + per_block) and known[t1 * s:min(n, (t1 + 1) * s)].all() \
                        and known[t * s:min(n, t1 * s)].all():
                    t1 += 1
                f0, f1 = t * s, min(n, t1 * s)
                nreal = f1 - f0
                want = (t1 - t) * s
                crops = np.empty((want, *in_size, 3), np.uint8)
                wins: list[Window] = []
                for r in range(want):
                    f = min(f0 + r, f1 - 1)  # the last step's missing chains repeat the last frame
                    if r < nreal:
                        fr = next(frames_iter, None)
                        if fr is None:
                            from rpan_core.errors import VideoError

                            raise VideoError(f"{video_path}: only {f} of its {n} frames could be decoded; re-encode "
                                             "the video (e.g. ffmpeg -i in.mp4 out.mp4) and analyze again")
                        last_frame = fr
                        box, code = box_for(f)
                        win = Window.around_box(box, in_size, margin=MARGIN)
                        windows[f], used[f], used_how[f] = win.matrix, box, code
                    else:
                        win = wins[-1]
                    crops[r] = win.warp(last_frame)
                    wins.append(win)
                    if r < nreal and f in level:
                        level_crops[f] = crops[r].copy()
                x = model.preprocess(crops[None]).to(dev)
                with torch.no_grad():
                    cubes = model.features(x)[0]
                    mirrored = model.features(x.flip(-1))[0] if model.cfg.flip_test else None
                    res = []
                    for k in range(t1 - t):
                        so, state = model.step_features(cubes[k * s:(k + 1) * s], state,
                                                        None if mirrored is None else mirrored[k * s:(k + 1) * s])
                        res.append(so)
                J = res[0].attention.shape[1]
                att = torch.stack([o.attention for o in res]).float().reshape(want, J, K1, K2)[:nreal].cpu()
                dummy = torch.stack([o.dummy.reshape(s, -1) for o in res]).float().reshape(want, -1)[:nreal].cpu()
                hid = torch.stack([o.hidden.reshape(s, -1) for o in res]).float().reshape(want, -1)[:nreal].cpu()
                prob = torch.softmax(torch.stack([o.logits.reshape(s, -1) for o in res]).float(), -1)
                prob = prob.reshape(want, -1)[:nreal].cpu()
                xy_r, c_r = decode(att, in_size)
                xy_a, c_a = decode_argmax(att, in_size)
                xy_r = np.stack([wins[r].to_frame(p) for r, p in enumerate(xy_r.numpy())])
                xy_a = np.stack([wins[r].to_frame(p) for r, p in enumerate(xy_a.numpy())])
                k = nreal - 1  # the latest frame read places the next step's box
                last_box = used[f0 + k]
                prop = next_box(last_box, xy_r[k], dummy[k].numpy(), c_r[k].numpy(), (H, W))
                chunk = {"attention": att.numpy().astype(np.float16), "dummy": dummy.numpy().astype(np.float16),
                         "xy": xy_r.astype(np.float32), "conf": c_r.numpy().astype(np.float32),
                         "xy_argmax": xy_a.astype(np.float32), "conf_argmax": c_a.numpy().astype(np.float32),
                         "hidden": hid.numpy().astype(np.float16), "probs": prob.numpy().astype(np.float32),
                         "window": windows[f0:f1].astype(np.float32)}
                if not out:
                    for key, v in chunk.items():
                        out[key] = np.lib.format.open_memmap(tmp / f"{key}.npy", mode="w+", dtype=v.dtype,
                                                             shape=(n, *v.shape[1:]))
                for key, v in chunk.items():
                    out[key][f0:f1] = v
                if progress is not None:
                    progress(f1, n)
                t = t1
            for v in out.values():
                v.flush()
            shapes = {k: v.shape for k, v in out.items()}
            dtypes = {k: str(v.dtype) for k, v in out.items()}
            del out
            np.save(tmp / "boxes.npy", used)
            np.save(tmp / "box_origin.npy", used_how)
            with torch.no_grad():  # the paper's video-level protocol on this person's crops
                idx = sorted(level_crops)
                o = model(model.preprocess(np.stack([level_crops[i] for i in idx])[None]).to(dev))
                vprobs = torch.softmax(o.logits[0, -1].float(), -1).cpu().numpy()
            meta = {"version": ANALYSIS_VERSION, "video": str(video_path), "video_hash": video.content_hash,
                    "checkpoint": str(ck_path), "checkpoint_hash": ck_hash, "classes": list(info.classes),
                    "skeleton": getattr(info.skeleton, "name", info.skeleton), "frame_size": [H, W],
                    "grid": [K1, K2], "stride": s, "clip_len": T_clip, "num_frames": n,
                    "video_pred": int(np.argmax(vprobs)), "video_probs": [float(p) for p in vprobs],
                    "seconds": time.time() - t0, "device": str(dev), "stream": "rgb", "input_size": list(in_size),
                    "person": pid, "margin": float(MARGIN), "inputs": {**expect, "stride": s},
                    "arrays": {k: {"sha256": _array_sha256(tmp / f"{k}.npy"), "shape": list(shapes[k]),
                                   "dtype": dtypes[k]} for k in _ARRAYS},
                    "person_arrays": {k: _array_sha256(tmp / f"{k}.npy") for k in _PERSON_ARRAYS}}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    return PersonAnalysis.load(final, verify=False)


# ----------------------------------------------------------------------------- a project's persons

def _project_of(project: Any) -> Any:
    if isinstance(project, (str, os.PathLike)):
        from rpan_core.project import Project

        return Project.open(project)
    return project


def analyze_project_person(project: Any, video_id: int, checkpoint: str | os.PathLike, person: int, *,
                           box: Any = None, box_frame: int | None = None, device: str | None = None,
                           batch: int | None = None, progress: Callable[..., Any] | None = None,
                           cancel: Any = None, cache_dir: str | os.PathLike | None = None,
                           stride: int | None = None, refresh: bool = False,
                           cached_only: bool = False) -> PersonAnalysis | None:
    """Analyze person ``person`` of the project's video ``video_id`` on crops (cached; with
    ``cached_only`` the cached result or None, nothing computed).

    Boxes: the person's own (:meth:`~rpan_core.project.Project.person_boxes`), then
    ``box`` (``[x0, y0, x1, y1]`` on ``box_frame``, default 0, or ``frame_count x 4``)
    where the project has none, then propagated from the poses read. An unknown person
    is a :class:`~rpan_core.errors.ProjectError`; a person without any box a
    :class:`NoPersonBox`.
    """
    project = _project_of(project)
    rec = project.video(int(video_id))
    project.person(rec.id, int(person))  # one clear line for an unknown person
    if not rec.exists:
        from rpan_core.errors import VideoError

        raise VideoError(f"video {rec.id} ({rec.path}) is missing; relink it, then analyze again")
    boxes, origin = check_has_box(project, rec.id, int(person), box, box_frame)
    return analyze_person(rec.path, checkpoint, boxes, origin=origin, person=int(person), project=project,
                          device=device, batch=batch, progress=progress, cancel=cancel, cache_dir=cache_dir,
                          stride=stride, refresh=refresh, cached_only=cached_only)


def check_has_box(project: Any, video_id: int, person: int, box: Any = None,
                  box_frame: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The person's merged boxes and their origins (:func:`person_box_inputs`); :class:`NoPersonBox`
    (one line naming the person and what to do) when no frame has one."""
    # margin 0: a box from the labels is the joints' extent, the box the keyframe trainer and the follower crop
    # around (rpan_core.keyframes.crops_of, rpan_core.crops.next_box), so the model sees people at the scale it
    # learned; drawn box keyframes are used as drawn
    boxes, origin = person_box_inputs(project.person_boxes(int(video_id), int(person), margin=LABEL_BOX_MARGIN), box,
                                      box_frame=box_frame)
    if not np.isfinite(boxes).all(axis=1).any():
        name = project.person(int(video_id), int(person)).name
        raise NoPersonBox(f"{name} (person {int(person)}) of video {int(video_id)} has no box on any frame: draw its "
                          "box (B in the studio), label one of its frames, or give one (rpan analyze --box "
                          "x0,y0,x1,y1)")
    return boxes, origin


def analyze_persons(project: Any, video_id: int, checkpoint: str | os.PathLike,
                    persons: Sequence[int] | None = None, *, device: str | None = None, batch: int | None = None,
                    progress: Callable[..., Any] | None = None, cancel: Any = None,
                    cache_dir: str | os.PathLike | None = None, stride: int | None = None,
                    refresh: bool = False) -> dict[int, PersonAnalysis]:
    """Every person of the video (or ``persons``) analyzed on crops: ``{person id: PersonAnalysis}``.

    ``progress(done, total)`` counts frames over all persons. Persons without any
    box are skipped when ``persons`` is None (all); named ones must have a box.
    """
    project = _project_of(project)
    rec = project.video(int(video_id))
    if persons is None:
        ids = []
        for p in project.persons(rec.id):
            if np.isfinite(project.person_boxes(rec.id, p.id)).all(axis=1).any():
                ids.append(p.id)
        if not ids:
            raise NoPersonBox(f"no person of video {rec.id} has a box on any frame: draw a box or label a frame "
                              "of each person to analyze")
    else:
        ids = [int(p) for p in persons]
    n = max(1, rec.frame_count)
    out: dict[int, PersonAnalysis] = {}
    for k, pid in enumerate(ids):
        def prog(done: float, total: float | None = None, k: int = k) -> None:
            if progress is not None:
                progress(int(k * n + float(done) * n / float(total or n)), len(ids) * n)

        out[pid] = analyze_project_person(project, rec.id, checkpoint, pid, device=device, batch=batch,
                                          progress=prog, cancel=cancel, cache_dir=cache_dir, stride=stride,
                                          refresh=refresh)
    return out
