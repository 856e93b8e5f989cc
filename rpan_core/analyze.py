"""Run a checkpoint over a whole video and cache the result (``rpan analyze``).

Why interleaved chains: RPAN's LSTM was trained on clips whose frames are
``stride`` apart (T frames spread over a video), so a hidden state fed every frame
would see motion ``stride`` times slower than in training and its attention would
drift. Instead, with stride ``s``, chain ``r`` runs the recurrence over frames
``r, r+s, r+2s, ...``; all ``s`` chains advance together as one batch, and the ``s``
frames one time step needs are consecutive in the file, so the video is decoded
strictly sequentially. Every frame thus gets attention from a state that saw
frames at the training stride.

Why memory-mapped: outputs are written chunk by chunk into ``.npy`` files opened
with ``np.lib.format.open_memmap``; RAM stays bounded by one block of frames however
long the video. A finished analysis is renamed into place atomically
(:func:`rpan_core.atomic.atomic_dir`, which swaps out an older entry, so
``--refresh`` always leaves the new result) under a key made of a hash of every byte
of the video (:func:`rpan_core.video.exact_hash`) and the checkpoint file's hash, so
a second call (or the studio reopening a video) loads it instantly and a cancelled
or crashed analysis never leaves a half-written entry behind (its temp folder is
removed by the next run).

Why an entry is checked before it is served: a cache that answers with a stale or
damaged result is worse than none. ``meta.json`` records the exact inputs the entry
was made from (video and checkpoint SHA-256, frames analyzed, stride, format
version) and each array's SHA-256, shape and dtype; :meth:`Analysis.load` refuses
an entry whose inputs differ, whose arrays do not match their checksums (same-size
damage included) or whose values are impossible (a ``video_pred`` outside the
classes), and :func:`analyze_video` then recomputes it. Checking costs one read of
the arrays (hundreds of MB/s), small next to decoding the video again.

The video-level prediction follows the paper's test protocol: ``T`` (8) equally
spaced frames, the last step's class probabilities.

Two streams (the paper's Table 4): a checkpoint trained with ``rpan train --stream
flow`` records its stream in its train_config, and is run here on the video's
stacked TSN optical flow (computed once into the project's flow cache) instead of
its frames. :func:`analyze_two_stream` analyzes a video under an RGB and a flow
checkpoint (each cached as above) and fuses their class probabilities
(``rpan_core.fusion``, spatial:temporal 1:2 by default); the result keeps both
streams' attention and poses.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from rpan_core.atomic import atomic_dir, remove_orphans
from rpan_core.errors import ConfigError, RPANError

#: Bump when the on-disk layout or the computation changes (old entries are then ignored).
#: v2: meta.json records the inputs and each array's checksum.
#: v3: frames resized by the two-stage area resize (rpan_core.pipeline); the video-level frames
#: resized like every other frame (were bilinear-interpolated from full size).
#: v4: ``window``, each frame's frame -> input map, and the input size.
#: v5: the person-following crop keeps to the joints the model placed (rpan_core.crops.person_box).
#: v6: frame points are pixel centres at integers (rpan_core.geometry): poses of aspect-kept models move half a pixel.
#: v7: whole-frame inputs made from the decoder's YUV planes (rpan_core.yuv_frames; within 0.6 grey levels).
ANALYSIS_VERSION = 7
#: A joint is shown (and accepted) as visible while its dummy-cell ("not in the frame") mass is below this.
DEFAULT_DUMMY_THRESHOLD = 0.5
_ARRAYS = ("attention", "dummy", "xy", "conf", "xy_argmax", "conf_argmax", "hidden", "probs", "window")


class AnalysisCancelled(RPANError):
    """The analysis was cancelled before it finished (nothing was cached)."""


class StaleAnalysis(RPANError):
    """A cached analysis that is damaged or was made from other inputs (it is recomputed, never served)."""


def _array_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def load_cached(cls: type, folder: Path, expect: dict,
                progress: Callable[[int, int], Any] | None = None) -> Any:
    """The cached analysis at ``folder`` (an :class:`Analysis` subclass ``cls``) when it is whole and made
    from ``expect``, marked ``from_cache`` and reported as all done to ``progress``; else None.

    Why one function: the whole-frame and the per-person analyses keep their entries the same way,
    and a damaged entry or one made from other inputs must be recomputed (and swapped in) by both.
    """
    if not (folder / "meta.json").exists():
        return None
    try:
        a = cls.load(folder, expect=expect)
    except RPANError:
        return None
    a.from_cache = True
    if progress is not None:
        progress(a.num_frames, a.num_frames)
    return a


def check_entry(p: Path, meta: dict, expect: dict | None = None) -> None:
    """Raise :class:`StaleAnalysis` unless the entry at ``p`` is whole, undamaged and made from ``expect``.

    ``expect`` holds the inputs the caller wants (keys of ``meta["inputs"]``); each
    must be recorded with exactly that value.
    """
    def bad(why: str) -> StaleAnalysis:
        return StaleAnalysis(f"{p}: cached analysis not used ({why}); it is recomputed by `rpan analyze`")

    if meta.get("version") != ANALYSIS_VERSION:
        raise bad(f"format v{meta.get('version')}, this version writes v{ANALYSIS_VERSION}")
    inputs = meta.get("inputs")
    if not isinstance(inputs, dict):
        raise bad("it does not record its inputs")
    for k, v in (expect or {}).items():
        if inputs.get(k) != v:
            raise bad(f"made from {k} {inputs.get(k)!r}, wanted {v!r}")
    arrays = meta.get("arrays")
    if not isinstance(arrays, dict) or set(arrays) != set(_ARRAYS):
        raise bad("its array checksums are missing")
    n = inputs.get("frames")
    for k in _ARRAYS:
        rec = arrays[k]
        f = p / f"{k}.npy"
        if not isinstance(rec, dict) or not f.is_file():
            raise bad(f"{k}.npy is missing")
        if _array_sha256(f) != rec.get("sha256"):
            raise bad(f"{k}.npy does not match its checksum (damaged)")
    classes = meta.get("classes")
    probs = meta.get("video_probs")
    pred = meta.get("video_pred")
    if not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
        raise bad("its class list is broken")
    if not (isinstance(probs, list) and len(probs) == len(classes)
            and all(isinstance(v, (int, float)) and np.isfinite(v) for v in probs)):
        raise bad("its video probabilities are broken")
    if not (isinstance(pred, int) and not isinstance(pred, bool) and 0 <= pred < len(classes)):
        raise bad(f"video_pred {pred!r} is not a class index 0..{len(classes) - 1}")
    if not (isinstance(n, int) and n >= 1):
        raise bad("its frame count is broken")


def default_cache_dir() -> Path:
    """Analyses of videos outside any project: ``<cache root>/analyses`` (``RPAN_CACHE_DIR``)."""
    from rpan_core.filehash import cache_root

    return cache_root() / "analyses"


def file_hash(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (checkpoints are a few MB to a few hundred)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Analysis:
    """One video under one checkpoint. Arrays are memory-mapped (read-only) from ``path``."""

    path: Path
    attention: np.ndarray  # T x J x K1 x K2 float16
    dummy: np.ndarray  # T x J float16 (the no-joint cell's mass)
    xy: np.ndarray  # T x J x 2 float32, refined decode, original pixels
    conf: np.ndarray  # T x J float32
    xy_argmax: np.ndarray  # T x J x 2 float32
    conf_argmax: np.ndarray  # T x J float32
    hidden: np.ndarray  # T x H float16
    probs: np.ndarray  # T x C float32 (per frame, from its chain)
    video_pred: int
    video_probs: np.ndarray  # C
    classes: list[str]
    skeleton: str
    frame_size: tuple[int, int]  # (H, W) of the original frames
    grid: tuple[int, int]
    stride: int
    video_hash: str
    checkpoint_hash: str
    from_cache: bool = False
    seconds: float = 0.0
    stream: str = "rgb"  # the input the checkpoint needs: "rgb" frames or "flow" stacks
    # T x 2 x 3 float32: the affine map of frame pixels onto the model input each frame was read through
    # (rpan_core.geometry.Window); the attention grid covers that input evenly. Squashed frames: a plain
    # scale; letterboxed or person-cropped frames: an aspect-preserving window, per frame for crops.
    window: np.ndarray | None = None
    input_size: tuple[int, int] | None = None  # (h, w) of the model input the window maps onto
    # how the frames were read: rpan_core.yuv_frames.DecodeReport as a dict (path "yuv" or "exact", the colour
    # matrix, the check against the exact path, why the exact path was taken); None for older entries
    decode: dict | None = None
    # the digest of the pose prior ``xy`` / ``conf`` were decoded with (rpan_core.pose_prior), None: the plain decode
    pose_prior: str | None = None

    @property
    def num_frames(self) -> int:
        return int(self.xy.shape[0])

    @property
    def video_class(self) -> str:
        return self.classes[self.video_pred]

    @classmethod
    def load(cls, path: str | os.PathLike, expect: dict | None = None, verify: bool = True) -> "Analysis":
        """Open a cached analysis; with ``verify`` (the default) a damaged entry, or one made from other
        inputs than ``expect``, raises :class:`StaleAnalysis` instead of being served."""
        p = Path(path)
        meta_p = p / "meta.json"
        if not meta_p.exists():
            raise RPANError(f"{p} is not an analysis folder (no meta.json); run `rpan analyze` again")
        try:
            meta = json.loads(meta_p.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise StaleAnalysis(f"{p}: meta.json cannot be read ({exc}); run `rpan analyze` again") from exc
        if not isinstance(meta, dict):
            raise StaleAnalysis(f"{p}: meta.json is not an object; run `rpan analyze` again")
        if verify:
            check_entry(p, meta, expect)
        try:
            arrs = {k: np.load(p / f"{k}.npy", mmap_mode="r") for k in _ARRAYS}
        except (OSError, ValueError) as exc:
            raise StaleAnalysis(f"{p}: an array cannot be read ({exc}); run `rpan analyze` again") from exc
        if verify:
            n = meta["inputs"]["frames"]
            for k, a in arrs.items():
                rec = meta["arrays"][k]
                if list(a.shape) != rec.get("shape") or str(a.dtype) != rec.get("dtype") or a.shape[0] != n:
                    raise StaleAnalysis(f"{p}: {k}.npy has shape {list(a.shape)} {a.dtype}, its record says "
                                        f"{rec.get('shape')} {rec.get('dtype')}; run `rpan analyze` again")
        try:
            return cls(path=p, video_pred=int(meta["video_pred"]),
                       video_probs=np.asarray(meta["video_probs"], np.float32),
                       classes=list(meta["classes"]), skeleton=meta["skeleton"], frame_size=tuple(meta["frame_size"]),
                       grid=tuple(meta["grid"]), stride=int(meta["stride"]), video_hash=meta["video_hash"],
                       checkpoint_hash=meta["checkpoint_hash"], seconds=float(meta.get("seconds", 0.0)),
                       stream=str(meta.get("stream", "rgb")),
                       input_size=tuple(meta["input_size"]) if meta.get("input_size") else None,
                       decode=meta.get("decode"), **arrs)
        except (KeyError, TypeError, ValueError) as exc:
            raise StaleAnalysis(f"{p}: meta.json lacks or garbles {exc}; run `rpan analyze` again") from exc


def _analyze_followed(model: Any, video: Any, dev: Any, tmp: Path, out: dict, progress: Any, cancel: Any,
                      video_path: Any) -> None:
    """Every frame through an aspect-preserving window (``rpan_core.crops``: letterbox, or a crop
    following the person), one LSTM chain; arrays written into ``out`` memmaps under ``tmp``."""
    from rpan_core.crops import Follower
    from rpan_core.pipeline import prefetch

    n = video.frame_count
    follower = Follower(model, dev)
    k = -1
    # the next frames decode on a thread while the network runs (one call a frame: the crop of frame t+1
    # is made around frame t's joints, so the frames cannot be batched without changing the results)
    with contextlib.closing(prefetch(video.frames(), depth=4)) as frames:
        for k, fr in enumerate(frames):
            if k >= n:
                break
            if k % 8 == 0 and _cancelled(cancel):
                raise AnalysisCancelled(f"analysis of {video_path} cancelled")
            r = follower.step(fr)
            chunk = {"attention": r.attention.astype(np.float16), "dummy": r.dummy.astype(np.float16),
                     "xy": r.xy.astype(np.float32), "conf": r.conf.astype(np.float32),
                     "xy_argmax": r.xy_argmax.astype(np.float32), "conf_argmax": r.conf_argmax.astype(np.float32),
                     "hidden": r.hidden.astype(np.float16), "probs": r.probs.astype(np.float32),
                     "window": r.window.astype(np.float32)}
            if not out:
                for key, v in chunk.items():
                    out[key] = np.lib.format.open_memmap(tmp / f"{key}.npy", mode="w+", dtype=v.dtype, shape=(n, *v.shape))
            for key, v in chunk.items():
                out[key][k] = v
            if progress is not None and (k % 8 == 7 or k == n - 1):
                progress(k + 1, n)
    if k + 1 < n:
        from rpan_core.errors import VideoError

        raise VideoError(f"{video_path}: only {k + 1} of its {n} frames could be decoded; "
                         "re-encode the video (e.g. ffmpeg -i in.mp4 out.mp4) and analyze again")


def _cancelled(cancel: Any) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def analysis_stride(info_train_config: dict | None, frame_count: int, T: int = 8) -> int:
    """The frame stride the checkpoint was trained at (saved by the trainer), else frame_count / T."""
    s = (info_train_config or {}).get("stride")
    if s:
        return max(1, int(s))
    return max(1, min(32, int(round(frame_count / T))))


def _resolve_cache_dir(project: Any) -> Path:
    if project is None:
        return default_cache_dir()
    if isinstance(project, (str, os.PathLike)):
        from rpan_core.project import Project

        project = Project.open(project)
    return Path(project.analyses_dir)


def _video_level(model: Any, video: Any, T: int, dev: Any, volume: Any = None,
                 seen: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """Paper protocol: ``T`` equally spaced frames, softmax of the last step (flow stacks with ``volume``).

    ``seen``: those frames already resized during the sequential pass (no seek: on a
    long-GOP video eight random seeks cost more than the whole pass); missing ones
    are decoded and resized here, the same way."""
    import torch

    from rpan_core.data import clip_indices, resize_frame

    idx = clip_indices(video.frame_count, T)
    size = tuple(model.cfg.input_size)
    if volume is not None:
        x = torch.from_numpy(_flow_input(volume, idx, size))[None]
    else:
        seen = seen or {}
        if model.cfg.framing != "squash":  # the aspect kept, as in training
            from rpan_core.geometry import Window

            win = Window.letterbox((video.height, video.width), size)
            frames = np.stack([win.warp(video.frame(int(i))) for i in idx])
        else:
            frames = np.stack([seen[int(i)] if int(i) in seen else resize_frame(video.frame(int(i)), size)
                               for i in idx])
        x = model.preprocess(frames[None])
    with torch.no_grad():
        out = model(x.to(dev))
        return torch.softmax(out.logits[0, -1].float(), -1).cpu().numpy()


def _flow_input(volume: Any, frames: Any, size: tuple[int, int]) -> np.ndarray:
    """``len(frames) x 10 x H x W`` float32: the flow stream's input for those frames."""
    from rpan_core.flow import flow_clip, flow_to_input

    return flow_to_input(flow_clip(None, [int(i) for i in frames], volume=volume, size=size))


class _CancelEvent:
    """``is_set()`` over an analysis cancel (an Event or a callable), for rpan_core.flow."""

    def __init__(self, cancel: Any) -> None:
        self.cancel = cancel

    def is_set(self) -> bool:
        return _cancelled(self.cancel)


def flow_cache_dir(project: Any, analyses_root: Path) -> Path:
    """Where a flow checkpoint's analysis finds the video's flow: the project's flow_dir, else beside the analyses."""
    if project is not None and not isinstance(project, (str, os.PathLike)) and hasattr(project, "flow_dir"):
        return Path(project.flow_dir)
    if isinstance(project, (str, os.PathLike)):
        from rpan_core.project import Project

        return Path(Project.open(project).flow_dir)
    return Path(analyses_root) / "_flow"


def analyze_video(video_path: str | os.PathLike, checkpoint: str | os.PathLike, *, project: Any = None,
                  device: str | None = None, batch: int | None = None, progress: Callable[..., Any] | None = None,
                  cancel: Any = None, cache_dir: str | os.PathLike | None = None, stride: int | None = None,
                  refresh: bool = False) -> Analysis:
    """Analyze every frame of ``video_path`` with ``checkpoint`` (cached; see the module docstring).

    ``progress(done, total)`` is called per block of frames; ``cancel`` is a
    ``threading.Event`` (or a callable returning True) polled per block, and a
    cancelled call raises :class:`AnalysisCancelled`. ``batch`` is the number of
    frames sent through the backbone at once (default: sized to the device,
    :func:`rpan_core.pipeline.auto_batch`). Frames are decoded and resized on a
    background thread while the network runs (:func:`rpan_core.pipeline.frame_blocks`).
    """
    import torch

    from rpan_core.checkpoint import model_from_state, read_checkpoint
    from rpan_core.device import pick_device
    from rpan_core.pipeline import auto_batch, cpu_share, default_workers, frame_blocks
    from rpan_core.targets import decode_argmax, decode_refined
    from rpan_core.video import open_video

    t0 = time.time()
    ck_path = Path(checkpoint)
    if not ck_path.exists():
        from rpan_core.errors import CheckpointError

        raise CheckpointError(f"checkpoint {ck_path} does not exist; pass a .pt file written by `rpan train`")
    if isinstance(project, (str, os.PathLike)):  # opened once: cache folder, skeleton check, flow cache
        from rpan_core.project import Project

        project = Project.open(project)
    root = Path(cache_dir) if cache_dir is not None else _resolve_cache_dir(project)
    with open_video(video_path) as video:
        vhash = video.content_hash
        exact = video.exact_hash  # every byte: a changed frame is a different key, never a stale hit
        ck_hash = file_hash(ck_path)
        key = f"{exact[:20]}-{ck_hash[:20]}-v{ANALYSIS_VERSION}" + (f"-s{stride}" if stride else "")
        final = root / key
        remove_orphans(root)  # temp folders of analyses killed earlier
        expect = {"video_sha256": exact, "checkpoint_sha256": ck_hash, "frames": int(video.frame_count),
                  "version": ANALYSIS_VERSION}
        if stride:
            expect["stride"] = int(stride)
        cached = None if refresh else load_cached(Analysis, final, expect, progress)
        if cached is not None:
            return cached  # (a damaged entry, or one made from other inputs, is recomputed below and swapped in)
        dev = pick_device(device)
        batch = int(batch) if batch else auto_batch(dev)
        # the checkpoint's settings first (cheap), the decode thread next, and the model is built while
        # that thread opens the video and checks its first frames: a short clip's fixed costs overlap
        state, info = read_checkpoint(ck_path)
        if project is not None:  # a model for another joint set would draw its joints on the wrong bones
            from rpan_core.checkpoint import expect_skeleton

            expect_skeleton(info, project.skeleton, f"the project {project.folder}")
        cfg = info.config
        in_size = tuple(cfg.input_size)
        tc = dict(info.train_config or {})
        from rpan_core.checkpoint import checkpoint_stream
        from rpan_core.flow import flow_params_of

        stream = checkpoint_stream(info)
        T_clip = int(tc.get("clip_len") or 8)
        n = video.frame_count
        H, W = video.height, video.width
        s = stride or analysis_stride(tc, n, T_clip)
        s = max(1, min(s, n))
        followed = cfg.framing != "squash" and stream != "flow"  # aspect kept: frame by frame, following the person
        if followed:
            s = 1
        steps = 0 if followed else -(-n // s)
        # time steps per block: enough frames to fill ``batch`` backbone inputs
        m = max(1, batch // s)
        root.mkdir(parents=True, exist_ok=True)
        starts = list(range(0, steps, m))
        # decoding and resizing run on a background thread, a block ahead of the network; the frames
        # come as the decoder's YUV planes, resized, then converted to RGB once small (no full-size
        # colour image), checked against the exact path on the first frames (rpan_core.yuv_frames)
        decode_report = None
        blocks = None
        if stream != "flow" and not followed:
            from rpan_core.yuv_frames import analysis_frames

            source, transform, decode_report = analysis_frames(video, in_size, device=dev)
            blocks = frame_blocks(source, [min(n, min(steps, t + m) * s) - t * s for t in starts], transform,
                                  (*in_size, 3), start=True)
        try:
            model = model_from_state(ck_path, state, info, device=str(dev))
        except BaseException:
            if blocks is not None:
                blocks.close()
            raise
        model.to(dev).eval()
        K1, K2 = model.grid
        volume = None
        if stream == "flow":  # the temporal stream runs on the video's stacked optical flow, cached
            from rpan_core.flow import FlowCancelled, compute_flow

            try:
                volume = compute_flow(video, flow_cache_dir(project, root), flow_params_of(tc), progress=progress,
                                      cancel=_CancelEvent(cancel) if cancel is not None else None)
            except FlowCancelled as exc:
                raise AnalysisCancelled(f"analysis of {video_path} cancelled while computing its optical flow "
                                        "(the finished part of the flow stays cached)") from exc
        from rpan_core.data import clip_indices

        level_idx = np.asarray(clip_indices(n, T_clip), np.int64)  # the video-level frames, kept as they pass
        level_frames: dict[int, np.ndarray] = {}
        # closing the blocks (also on an error or a cancel) stops the decode thread
        # not fsynced: every array is checked against its checksum when read, and a damaged entry is recomputed
        with atomic_dir(final, replace=True, durable=False) as tmp, \
                (contextlib.closing(blocks) if blocks is not None else contextlib.nullcontext()), \
                cpu_share(dev, default_workers() if blocks is not None else -1):
            out: dict[str, np.ndarray] = {}
            if followed:
                _analyze_followed(model, video, dev, tmp, out, progress, cancel, video_path)
            state = model.init_state(s)
            state = _to_device(state, dev)
            done = 0
            use_amp = dev.type == "cuda"
            for t_start in starts:  # squashed frames, ``s`` chains side by side
                if _cancelled(cancel):
                    raise AnalysisCancelled(f"analysis of {video_path} cancelled")
                t_stop = min(steps, t_start + m)
                f0, f1 = t_start * s, min(n, t_stop * s)
                nf = f1 - f0
                if blocks is not None:
                    blk, got = next(blocks, (None, 0))
                    if got < nf:
                        from rpan_core.errors import VideoError

                        raise VideoError(f"{video_path}: only {f0 + got} of its {n} frames could be decoded; "
                                         "re-encode the video (e.g. ffmpeg -i in.mp4 out.mp4) and analyze again")
                    for i in level_idx[(level_idx >= f0) & (level_idx < f1)]:
                        level_frames[int(i)] = blk[int(i) - f0].copy()
                real = nf
                want = (t_stop - t_start) * s
                if volume is not None:  # the last step's missing chains repeat the last frame
                    x = torch.from_numpy(_flow_input(volume, [min(f0 + k, f1 - 1) for k in range(want)], in_size))
                    nf = want
                    x = x[None]
                else:
                    if nf < want:  # the last step's missing chains repeat the last frame
                        blk = np.concatenate([blk[:nf], np.repeat(blk[nf - 1:nf], want - nf, 0)])
                        nf = want
                    x = model.preprocess(blk[None, :nf])
                with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
                    x = x.to(dev)
                    cubes = model.features(x)[0]  # nf x dc x K1 x K2
                    mirrored = model.features(x.flip(-1))[0] if model.cfg.flip_test else None
                    res = []
                    for t in range(t_stop - t_start):
                        so, state = model.step_features(cubes[t * s:(t + 1) * s], state,
                                                        None if mirrored is None else mirrored[t * s:(t + 1) * s])
                        res.append(so)
                att = torch.stack([r.attention.reshape(s, -1, K1, K2) for r in res]).float()  # m x s x J x K1 x K2
                dummy = torch.stack([r.dummy.reshape(s, -1) for r in res]).float()
                hid = torch.stack([r.hidden.reshape(s, -1) for r in res]).float()
                prob = torch.softmax(torch.stack([r.logits.reshape(s, -1) for r in res]).float(), -1)
                flat = lambda a: a.reshape(-1, *a.shape[2:])[:real].cpu()  # noqa: E731 (frame order = t*s + r)
                att, dummy, hid, prob = flat(att), flat(dummy), flat(hid), flat(prob)
                xy_r, c_r = decode_refined(att, (H, W))
                xy_a, c_a = decode_argmax(att, (H, W))
                chunk = {"attention": att.numpy().astype(np.float16), "dummy": dummy.numpy().astype(np.float16),
                         "xy": xy_r.numpy().astype(np.float32), "conf": c_r.numpy().astype(np.float32),
                         "xy_argmax": xy_a.numpy().astype(np.float32), "conf_argmax": c_a.numpy().astype(np.float32),
                         "hidden": hid.numpy().astype(np.float16), "probs": prob.numpy().astype(np.float32),
                         "window": np.broadcast_to(np.array([[in_size[1] / W, 0, 0], [0, in_size[0] / H, 0]],
                                                            np.float32), (real, 2, 3))}
                if not out:
                    for k, v in chunk.items():
                        out[k] = np.lib.format.open_memmap(tmp / f"{k}.npy", mode="w+", dtype=v.dtype,
                                                           shape=(n, *v.shape[1:]))
                for k, v in chunk.items():
                    out[k][f0:f0 + real] = v
                done = f0 + real
                if progress is not None:
                    progress(done, n)
            # no msync (flush): the checksums below read the same pages, and the entry need not be durable
            shapes = {k: v.shape for k, v in out.items()}
            dtypes = {k: str(v.dtype) for k, v in out.items()}
            del out
            if _cancelled(cancel):
                raise AnalysisCancelled(f"analysis of {video_path} cancelled")
            vprobs = _video_level(model, video, T_clip, dev, volume, level_frames)
            meta = {"version": ANALYSIS_VERSION, "video": str(video_path), "video_hash": vhash,
                    "checkpoint": str(ck_path), "checkpoint_hash": ck_hash, "classes": list(info.classes),
                    "skeleton": getattr(info.skeleton, "name", info.skeleton), "frame_size": [H, W],
                    "grid": [K1, K2], "stride": s, "clip_len": T_clip, "num_frames": n,
                    "video_pred": int(np.argmax(vprobs)), "video_probs": [float(p) for p in vprobs],
                    "seconds": time.time() - t0, "device": str(dev), "stream": stream,
                    "input_size": list(in_size),
                    "decode": decode_report.as_dict() if decode_report is not None else None,
                    "inputs": {**expect, "stride": s},
                    "arrays": {k: {"sha256": _array_sha256(tmp / f"{k}.npy"), "shape": list(shapes[k]),
                                   "dtype": dtypes[k]} for k in _ARRAYS}}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    return Analysis.load(final, verify=False)  # just written and checksummed


@dataclass
class TwoStreamAnalysis:
    """One video under an RGB and a flow checkpoint, with their class probabilities fused.

    ``probs`` (T x C), ``video_probs`` and ``video_pred`` are the fused ones
    (``rpan_core.fusion``, weights spatial:temporal); ``streams`` holds each stream's
    own :class:`Analysis`. Every other field an :class:`Analysis` has (attention, xy,
    conf, hidden, grid, ...) is the ``shown`` stream's, so code written for one
    analysis (the studio, evaluation's PCK) works unchanged; ``select("flow")`` gives
    a view showing the flow stream's attention and poses instead.
    """

    streams: dict[str, Analysis]
    weights: tuple[float, float]
    probs: np.ndarray
    video_probs: np.ndarray
    video_pred: int
    classes: list[str]
    shown: str = "rgb"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("streams", "shown"):
            raise AttributeError(name)
        return getattr(self.streams[self.shown], name)

    @property
    def stream(self) -> str:
        return "fused"

    @property
    def num_frames(self) -> int:
        return int(np.asarray(self.probs).shape[0])

    @property
    def video_class(self) -> str:
        return self.classes[self.video_pred]

    @property
    def from_cache(self) -> bool:
        return all(a.from_cache for a in self.streams.values())

    def select(self, stream: str) -> "TwoStreamAnalysis":
        """The same fused analysis showing ``stream``'s attention and poses."""
        if stream not in self.streams:
            raise ConfigError(f"this analysis has no {stream!r} stream; it has {', '.join(self.streams)}")
        import dataclasses

        return dataclasses.replace(self, shown=stream)

    @classmethod
    def fuse(cls, rgb: Analysis, flow: Analysis, weights: Any = None, shown: str = "rgb") -> "TwoStreamAnalysis":
        from rpan_core.fusion import DEFAULT_WEIGHTS, fuse_analyses

        w = tuple(float(v) for v in (weights or DEFAULT_WEIGHTS))
        if rgb.num_frames != flow.num_frames or tuple(rgb.frame_size) != tuple(flow.frame_size):
            raise ConfigError(f"the two analyses are of different videos ({rgb.num_frames} vs {flow.num_frames} "
                              "frames); analyze the same video with both checkpoints")
        f = fuse_analyses(rgb, flow, w)
        return cls(streams={"rgb": rgb, "flow": flow}, weights=w, probs=f["probs"], video_probs=f["video_probs"],
                   video_pred=int(f["video_pred"]), classes=list(f["classes"]), shown=shown)


def analyze_two_stream(video_path: str | os.PathLike, rgb_checkpoint: str | os.PathLike,
                       flow_checkpoint: str | os.PathLike, weights: Any = None, *, project: Any = None,
                       device: str | None = None, batch: int | None = None, progress: Callable[..., Any] | None = None,
                       cancel: Any = None, cache_dir: str | os.PathLike | None = None, stride: int | None = None,
                       refresh: bool = False) -> TwoStreamAnalysis:
    """Analyze a video under an RGB and a flow checkpoint (each cached) and fuse them (default 1:2).

    ``weights`` is (spatial, temporal) or a string like ``"1:2"``. The RGB
    checkpoint must be an RGB-stream one and the flow checkpoint a flow-stream one.
    """
    from rpan_core.checkpoint import read_checkpoint
    from rpan_core.fusion import parse_weights
    from rpan_core.checkpoint import checkpoint_stream

    if isinstance(weights, str):
        weights = parse_weights(weights)
    for path, want in ((rgb_checkpoint, "rgb"), (flow_checkpoint, "flow")):
        _, info = read_checkpoint(path)  # a missing or broken file is a CheckpointError naming it
        got = checkpoint_stream(info)
        if got != want:
            raise ConfigError(f"{path} is a {got}-stream checkpoint but was given as the {want} stream; pass the "
                              "RGB checkpoint as --checkpoint and the flow one as --flow-checkpoint")
    out = []
    for k, ck in enumerate((rgb_checkpoint, flow_checkpoint)):
        def prog(done: float, total: float | None = None, k=k) -> None:
            if progress is not None and total:
                progress(int(1000 * k + 1000 * float(done) / float(total)), 2000)

        out.append(analyze_video(video_path, ck, project=project, device=device, batch=batch, progress=prog,
                                 cancel=cancel, cache_dir=cache_dir, stride=stride, refresh=refresh))
    return TwoStreamAnalysis.fuse(out[0], out[1], weights)


def _to_device(state: Any, dev: Any) -> Any:
    if hasattr(state, "to"):
        return state.to(dev)
    if isinstance(state, (tuple, list)):
        return type(state)(_to_device(s, dev) for s in state)
    return state


def pose_pck(analysis: Analysis, frames: np.ndarray, xy: np.ndarray, visible: np.ndarray,
             bbox: np.ndarray | None = None, alpha: float = 0.2) -> dict[str, Any]:
    """PCK@alpha of an analysis against ground-truth joints on ``frames`` (arg-max and refined; "refined" is the
    analysis's ``xy``, decoded with the pose prior when it was, as ``decode`` says)."""
    from rpan_core.targets import pck
    from rpan_core.targets import label_bbox

    frames = np.asarray(frames, np.int64)
    gt, vis = np.asarray(xy, np.float32), np.asarray(visible, bool)
    bb = label_bbox(gt, vis) if bbox is None else np.asarray(bbox, np.float32)
    res: dict[str, Any] = {"frames": int(len(frames)),
                           "decode": "pose prior" if getattr(analysis, "pose_prior", None) else "refined"}
    for name, pred in (("argmax", analysis.xy_argmax), ("refined", analysis.xy)):
        per, mean = pck(np.asarray(pred[frames]), gt, vis, bb, alpha=alpha)
        res[name] = {"mean": float(mean), "per_joint": [None if not np.isfinite(v) else float(v)
                                                        for v in np.asarray(per)]}
    return res


# ----------------------------------------------------------------------------- command line

def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", nargs="?", help="a video file or a folder of frames (or --all with --project)")
    parser.add_argument("--all", action="store_true",
                        help="analyze every video of --project (cached ones skipped, a summary table at the end); "
                             "under torchrun each rank takes its share (rank r: videos r, r+W, ...)")
    parser.add_argument("--checkpoint", required=True,
                        help="a .pt checkpoint written by `rpan train` (an RGB- or a flow-stream one)")
    parser.add_argument("--flow-checkpoint", help="also analyze with this flow-stream checkpoint and fuse the two "
                                                  "streams' probabilities (--checkpoint is then the RGB stream)")
    parser.add_argument("--fuse", default="1:2", metavar="S:T",
                        help="fusion weights spatial:temporal with --flow-checkpoint (default 1:2, the paper's)")
    parser.add_argument("--project", help="project folder: cache under its analyses/ and report PCK@0.2 "
                                          "against its labels for this video")
    parser.add_argument("--device", help="cuda, cpu (default: CUDA when available)")
    parser.add_argument("--batch", type=int, help="frames per backbone batch (default: sized to the device, "
                                                  "16 on a CPU, more with more GPU memory)")
    parser.add_argument("--stride", type=int, help="recurrent stride (default: the checkpoint's training stride)")
    parser.add_argument("--refresh", action="store_true", help="recompute even if cached")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.add_argument("--poses-out", metavar="FILE.json",
                        help="also write the predicted poses of every frame as a COCO keypoints file (per-joint "
                             "confidence in 'scores'); `rpan import --format coco` reads it back. With --person: "
                             "one annotation per person and frame, with its track_id")
    parser.add_argument("--smooth", type=int, default=0, metavar="N",
                        help="with --poses-out: each joint's track through a running median of N frames (odd, e.g. "
                             "9 at 60 fps) before writing; drops one-frame misses of a model on a camera view it "
                             "never saw")
    parser.add_argument("--pose-prior", action="store_true",
                        help="with --project: decode the poses with a limb-length prior learned from the project's "
                             "labeled poses (each joint's strongest attention peaks, chosen jointly so limbs keep "
                             "their lengths; rpan_core.pose_prior): a wrist is not put on an arm-like thing beyond "
                             "arm's reach. The poses printed, written by --poses-out and scored against the labels")
    parser.add_argument("--video", dest="video_opt", metavar="VIDEO",
                        help="the video (same as the positional VIDEO): a file, a frame folder, or with --project "
                             "the video's id in the project")
    parser.add_argument("--person", metavar="N|all", action="append",
                        help="with --project: analyze person N of the video (repeat for several, or 'all' for every "
                             "person with a box) on aspect-preserving crops around its boxes (box keyframes, else its "
                             "labels' extent, else --box, else propagated from the poses read); cached per person")
    parser.add_argument("--box", metavar="X0,Y0,X1,Y1[@FRAME]",
                        help="with --person N: the person's box on FRAME (default 0) in frame pixels, used where "
                             "the project has none for it")


def _project_labels(project: Any, video_hash: str, video_path: str) -> tuple | None:
    for r in project.videos():
        if getattr(r, "content_hash", None) == video_hash or \
                os.path.abspath(str(getattr(r, "path", ""))) == os.path.abspath(video_path):
            la = project.video_labels(r.id)
            fr = np.asarray(la.frames, np.int64)
            if len(fr) == 0:
                return None
            lab = np.asarray(la.labeled, bool)
            keep = lab.any(axis=1)
            return fr[keep], np.asarray(la.xy)[keep], np.asarray(la.visible, bool)[keep] & lab[keep], r
    return None


def _cli_all(args: argparse.Namespace, project: Any) -> int:
    """``--all``: every video of the project (see rpan_core.analyze_all); 1 when a video failed."""
    from rpan_core.analyze_all import format_table, run_all

    if project is None:
        raise ConfigError("--all analyzes a project's videos: give --project P (or a single VIDEO instead of --all)")
    if args.video is not None:
        raise ConfigError("give either a VIDEO or --all, not both")
    if args.flow_checkpoint:
        raise ConfigError("--all runs one checkpoint; analyze two streams per video with VIDEO --flow-checkpoint")
    rows = run_all(project, args.checkpoint, device=args.device, batch=args.batch, stride=args.stride,
                   refresh=args.refresh)
    if rows is None:  # not rank 0: rank 0 prints every rank's rows
        return 0
    print(json.dumps(rows, indent=1) if args.json else format_table(rows))
    return 1 if any(r["status"] == "error" for r in rows) else 0


def frame_progress(desc: str) -> tuple[Any, Callable[..., None]]:
    """A tqdm bar over frames and the ``progress(done, total)`` callback that feeds it.

    Why a callback that sets the total: an analysis learns its frame count only once the
    video is open (or the cache is read), after the bar is on screen.
    """
    from tqdm import tqdm

    bar = tqdm(total=None, desc=desc, unit="frame")

    def prog(done: float, total: float | None = None) -> None:
        if total and bar.total != total:
            bar.total = int(total)
        bar.n = int(done)
        bar.refresh()

    return bar, prog


def _parse_persons(values: list[str]) -> list[int] | None:
    """``--person`` values: ids, or None for 'all'."""
    if any(v.strip().lower() == "all" for v in values):
        if len(values) > 1:
            raise ConfigError("--person all already takes every person; give it alone")
        return None
    out = []
    for v in values:
        try:
            pid = int(v)
        except ValueError:
            raise ConfigError(f"--person takes a person's id (1, 2, ...) or 'all', not {v!r}") from None
        if pid < 1:
            raise ConfigError(f"person ids start at 1, got --person {pid}")
        out.append(pid)
    return out


def _parse_box(text: str) -> tuple[list[float], int]:
    """``X0,Y0,X1,Y1[@FRAME]`` -> (box, frame)."""
    body, _, frame = text.partition("@")
    try:
        box = [float(v) for v in body.split(",")]
        f = int(frame) if frame else 0
    except ValueError:
        box, f = [], 0
    if len(box) != 4:
        raise ConfigError(f"--box is X0,Y0,X1,Y1 or X0,Y0,X1,Y1@FRAME in frame pixels, not {text!r}")
    return box, f


def _cli_video(project: Any, video: str) -> Any:
    """The project's video record for a path (or content) or an id."""
    if video.isdigit() and not os.path.exists(video):
        return project.video(int(video))
    from rpan_core.video import open_video

    with open_video(video, cache_mb=1) as v:
        h = v.content_hash
    for r in project.videos():
        if r.content_hash == h or os.path.abspath(str(r.path)) == os.path.abspath(video):
            return r
    raise ConfigError(f"{video} is not a video of the project {project.folder}; add it first "
                      "(rpan add / File > Add videos), or give its id")


def _cli_persons(args: argparse.Namespace, project: Any, prior: Any = None) -> int:
    """``--person N`` / ``--person all``: per-person analysis on crops (rpan_core.person_analysis)."""
    from rpan_core.person_analysis import analyze_persons, analyze_project_person

    if project is None:
        raise ConfigError("--person analyzes a person of a project's video: give --project P (its boxes and labels "
                          "are there)")
    if args.video is None:
        raise ConfigError("--person needs the video: VIDEO or --video V (a path or the video's id in the project)")
    if args.flow_checkpoint:
        raise ConfigError("--person runs one RGB checkpoint on crops; leave out --flow-checkpoint")
    persons = _parse_persons(args.person)
    box, box_frame = _parse_box(args.box) if args.box else (None, None)
    if box is not None and (persons is None or len(persons) != 1):
        raise ConfigError("--box is one person's box: give it with a single --person N")
    rec = _cli_video(project, args.video)
    from rpan_core.person_analysis import check_has_box

    for pid in persons or []:  # an unknown person, or one without any box: one line before any work
        project.person(rec.id, pid)
        check_has_box(project, rec.id, pid, box, box_frame)
    bar, prog = frame_progress("analyze persons")
    kw = dict(device=args.device, batch=args.batch, progress=prog, stride=args.stride, refresh=args.refresh)
    try:
        if box is not None:
            res = {persons[0]: analyze_project_person(project, rec.id, args.checkpoint, persons[0], box=box,
                                                      box_frame=box_frame, **kw)}
        else:
            res = analyze_persons(project, rec.id, args.checkpoint, persons, **kw)
    finally:
        bar.close()
    if prior is not None:
        from rpan_core.pose_prior import with_pose_prior

        res = {pid: with_pose_prior(a, prior) for pid, a in res.items()}
    names = {p.id: p.name for p in project.persons(rec.id)}
    rows = []
    for pid, a in res.items():
        row: dict[str, Any] = {"person": pid, "name": names.get(pid, f"person {pid}"), "frames": a.num_frames,
                               "cached": a.from_cache, "analysis": str(a.path), "stride": a.stride,
                               "video_pred": a.video_class, "seconds": a.seconds,
                               "boxes": {k: int((np.asarray(a.box_origin) == c).sum()) for k, c in
                                         (("given", 1), ("user", 2), ("propagated", 3), ("held", 4))}}
        la = project.video_labels(rec.id, pid)
        lab = np.asarray(la.labeled, bool)
        keep = lab.any(axis=1) if len(la.frames) else np.zeros(0, bool)
        if keep.any():
            row["pck@0.2"] = pose_pck(a, np.asarray(la.frames, np.int64)[keep], np.asarray(la.xy)[keep],
                                      np.asarray(la.visible, bool)[keep] & lab[keep])
        rows.append(row)
    summary: dict[str, Any] = {"video": str(rec.path), "video_id": rec.id, "persons": rows}
    if prior is not None:
        summary["pose_prior"] = _prior_summary(prior)
    if getattr(args, "poses_out", None):
        from rpan_core.formats.coco_poses import write_poses

        summary["poses_out"] = str(write_poses(res, rec.path, args.poses_out, names=names,
                                               smooth=getattr(args, "smooth", 0) or 0))
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        if prior is not None:
            print(_prior_line(prior))
        for r in rows:
            b = r["boxes"]
            print(f"{r['name']} (person {r['person']}): {'cached' if r['cached'] else 'analyzed'} {r['frames']} "
                  f"frames on crops (boxes: {b['given']} given, {b['user']} yours, {b['propagated']} propagated, "
                  f"{b['held']} held) -> {r['analysis']}")
            if "pck@0.2" in r:
                print("  " + _pck_line(r["pck@0.2"]))
        if "poses_out" in summary:
            print(f"poses of {len(rows)} person(s) written to {summary['poses_out']} (COCO keypoints, track_id)")
    return 0


def _prior_summary(prior: Any) -> dict[str, Any]:
    return {"digest": prior.digest(), "labeled_poses": prior.poses, "limbs": len(prior.edges), "weight": prior.weight,
            "candidates": prior.k}


def _prior_line(prior: Any) -> str:
    return (f"poses decoded with the pose prior ({len(prior.edges)} limbs learned from {prior.poses} labeled poses of "
            f"the project; {prior.k} peaks per joint)")


def _pck_line(p: dict) -> str:
    """The printed line of a ``pck@0.2`` summary entry (a whole-frame analysis or one person's)."""
    return (f"PCK@0.2 on {p['frames']} labeled frames: arg-max {p['argmax']['mean']:.3f}, "
            f"{p.get('decode', 'refined')} {p['refined']['mean']:.3f}")


def cli_main(args: argparse.Namespace) -> int:
    project = None
    if args.project:
        from rpan_core.project import Project

        project = Project.open(args.project)
    if args.batch is not None and args.batch < 1:
        raise ConfigError(f"--batch must be at least 1 (got {args.batch})")
    if getattr(args, "smooth", 0):
        if not getattr(args, "poses_out", None):
            raise ConfigError("--smooth applies to the poses written by --poses-out FILE.json; add it")
        from rpan_core.smoothing import median_smooth

        median_smooth(np.zeros((1, 1, 2)), args.smooth)  # an even or negative window: its one line now, not after
    prior = None
    if getattr(args, "pose_prior", False):
        if project is None:
            raise ConfigError("--pose-prior learns the limb lengths from a project's labeled poses: give --project P")
        if args.all or args.flow_checkpoint:
            raise ConfigError("--pose-prior decodes one video's analysis of one stream: give VIDEO (or --person), "
                              "without --all and --flow-checkpoint")
        from rpan_core.pose_prior import prior_from_project

        prior = prior_from_project(project)  # no labels, too few: its one line now, before any work
    if getattr(args, "video_opt", None) is not None:
        if args.video is not None and args.video != args.video_opt:
            raise ConfigError("give the video once: as VIDEO or as --video, not both")
        args.video = args.video_opt
    if args.all:
        return _cli_all(args, project)
    if getattr(args, "person", None):
        return _cli_persons(args, project, prior)
    if getattr(args, "box", None):
        raise ConfigError("--box is a person's box: give it with --project P --person N")
    if args.video is None:
        raise ConfigError("give a VIDEO to analyze, or --all with --project P for every video of a project")
    bar, prog = frame_progress("analyze")
    try:
        if args.flow_checkpoint:
            from rpan_core.fusion import parse_weights

            a = analyze_two_stream(args.video, args.checkpoint, args.flow_checkpoint, parse_weights(args.fuse),
                                   project=project, device=args.device, batch=args.batch, progress=prog,
                                   stride=args.stride, refresh=args.refresh)
        else:
            a = analyze_video(args.video, args.checkpoint, project=project, device=args.device, batch=args.batch,
                              progress=prog, stride=args.stride, refresh=args.refresh)
    finally:
        bar.close()
    if prior is not None:
        from rpan_core.pose_prior import with_pose_prior

        a = with_pose_prior(a, prior)
    summary: dict[str, Any] = {"video": args.video, "frames": a.num_frames, "cached": a.from_cache,
                               "analysis": str(a.path), "stride": a.stride, "video_pred": a.video_class,
                               "video_prob": float(a.video_probs[a.video_pred]), "seconds": a.seconds,
                               "stream": a.stream}
    if isinstance(a, TwoStreamAnalysis):
        summary["fusion_weights"] = list(a.weights)
        summary["streams"] = {k: {"analysis": str(s.path), "video_pred": s.video_class, "cached": s.from_cache,
                                  "video_prob": float(s.video_probs[s.video_pred])} for k, s in a.streams.items()}
    if prior is not None:
        summary["pose_prior"] = _prior_summary(prior)
    if project is not None:
        lab = _project_labels(project, a.video_hash, args.video)
        if lab is not None:
            fr, xy, vis, rec = lab
            summary["pck@0.2"] = pose_pck(a, fr, xy, vis)
            if getattr(rec, "action", None):
                summary["true_action"] = rec.action
    if getattr(args, "poses_out", None):
        from rpan_core.formats.coco_poses import write_poses

        summary["poses_out"] = str(write_poses(a, args.video, args.poses_out, smooth=getattr(args, "smooth", 0) or 0))
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(f"{'cached' if a.from_cache else 'analyzed'}: {a.num_frames} frames, stride {a.stride} -> {a.path}")
        if isinstance(a, TwoStreamAnalysis):
            for k, st in summary["streams"].items():
                print(f"  {k} stream: {st['video_pred']} ({st['video_prob']:.1%}) -> {st['analysis']}")
            print(f"fused {a.weights[0]:g}:{a.weights[1]:g} (spatial:temporal):")
        print(f"video prediction: {a.video_class} ({summary['video_prob']:.1%})"
              + (f"  (true: {summary['true_action']})" if "true_action" in summary else ""))
        if prior is not None:
            print(_prior_line(prior))
        if "pck@0.2" in summary:
            print(_pck_line(summary["pck@0.2"]))
        if "poses_out" in summary:
            print(f"poses of {a.num_frames} frames written to {summary['poses_out']} (COCO keypoints)")
    return 0


__all__ = ["Analysis", "AnalysisCancelled", "StaleAnalysis", "check_entry", "load_cached", "TwoStreamAnalysis", "analyze_two_stream", "flow_cache_dir", "analyze_video", "pose_pck", "file_hash", "default_cache_dir",
           "analysis_stride", "configure_parser", "cli_main"]
