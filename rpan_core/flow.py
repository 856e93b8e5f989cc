"""Optical flow for RPAN's temporal stream, computed once per video and cached.

The paper's best numbers (Table 4) fuse an RGB stream with an optical-flow stream
(TSN-style, 1:2). The flow stream's input is TSN's: dense flow between consecutive
frames, clipped to [-20, 20] px and mapped linearly to uint8 0..255 per x and y, and
stacked over 5 consecutive frame pairs into 10 channels (x0, y0, x1, y1, ...).

Flow is by far the slowest thing to compute on a CPU, and training visits every
video many times, so it is computed once per video at a working resolution and
kept on disk in the project's ``flow_dir``: one compressed ``.npz`` of uint8 per
chunk of frame pairs, in a folder keyed by the video's content hash and the flow
parameters. A chunk is written atomically, and the folder's ``meta.json`` is
written last, so a cancelled computation keeps its finished chunks and the next
request resumes from them; a complete folder is served without decoding a frame.

We use OpenCV's DIS flow (fast, good on large motion) with Farneback as a fallback
for OpenCV builds without it. ``flow_to_rgb`` renders flow on the usual colour
wheel (hue = direction, value = magnitude) for the studio's overlay.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rpan_core.atomic import remove_orphans, save_with, write_text
from rpan_core.errors import ConfigError, ProjectError, RPANError, VideoError

#: TSN's clipping bound, in pixels of the working resolution.
FLOW_BOUND = 20.0
#: TSN stacks 5 consecutive flow fields: 10 channels (x, y interleaved).
STACK_LENGTH = 5
#: Normalization of a uint8 flow image into the network: (v / 255 - mean) / std, so a
#: still pixel (v = 127.5) is 0 and the spread is that of ImageNet-normalized RGB.
FLOW_MEAN = 0.5
FLOW_STD = 0.226

CACHE_VERSION = 1

ProgressFn = Callable[[int, int], None]


class FlowCancelled(RPANError):
    """A flow computation stopped by its cancel event (finished chunks are kept)."""


def has_dis() -> bool:
    """Whether this OpenCV build has DIS optical flow."""
    return hasattr(cv2, "DISOpticalFlow_create")


@dataclass(frozen=True)
class FlowParams:
    """How flow is computed; part of the cache key, so changing one recomputes.

    method: ``dis`` (OpenCV DIS) or ``farneback``; ``dis`` falls back to Farneback
    where the OpenCV build lacks it. preset: DIS preset, ``ultrafast`` | ``fast`` |
    ``medium``. max_side: frames are downscaled (never upscaled) so their longer side
    is at most this many pixels before flow is computed; flow is in pixels of that
    working resolution, as in TSN. bound: the clipping bound in pixels. chunk: frame
    pairs per cache file.
    """

    method: str = "dis"
    preset: str = "medium"
    max_side: int = 320
    bound: float = FLOW_BOUND
    chunk: int = 64

    def __post_init__(self) -> None:
        if self.method not in ("dis", "farneback"):
            raise ConfigError(f"flow method {self.method!r} is unknown; use 'dis' or 'farneback'")
        if self.preset not in _DIS_PRESETS:
            raise ConfigError(f"DIS preset {self.preset!r} is unknown; use one of {', '.join(_DIS_PRESETS)}")
        if self.max_side < 16:
            raise ConfigError(f"flow max_side {self.max_side} is too small; use at least 16 pixels")
        if not self.bound > 0:
            raise ConfigError(f"flow bound {self.bound} must be positive (TSN uses 20 pixels)")
        if self.chunk < 1:
            raise ConfigError(f"flow chunk {self.chunk} must be at least 1 frame pair")

    @property
    def effective_method(self) -> str:
        return "dis" if self.method == "dis" and has_dis() else "farneback"

    def key(self) -> str:
        """A short hash of everything that changes the stored values."""
        d = asdict(self)
        d["method"] = self.effective_method
        if d["method"] != "dis":
            d.pop("preset")
        d["version"] = CACHE_VERSION
        return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


_DIS_PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}


def flow_params_of(train_config: dict | None) -> FlowParams:
    """The FlowParams a flow checkpoint was trained with (the defaults where its train_config does not say)."""
    d = dict((train_config or {}).get("flow") or {})
    names = set(FlowParams.__dataclass_fields__)
    return FlowParams(**{k: v for k, v in d.items() if k in names})


# ----------------------------------------------------------------------------- values


def flow_to_uint8(flow: np.ndarray, bound: float = FLOW_BOUND) -> np.ndarray:
    """TSN's encoding: clip to [-bound, bound] px, map linearly to 0..255, round.

    ``-bound -> 0``, ``0 -> 128`` (127.5 rounded half to even is 128), ``+bound -> 255``.
    Works on any shape; x and y are encoded the same way, independently.
    """
    f = np.clip(np.asarray(flow, dtype=np.float32), -bound, bound)
    return np.rint((f + bound) * (255.0 / (2.0 * bound))).astype(np.uint8)


def uint8_to_flow(encoded: np.ndarray, bound: float = FLOW_BOUND) -> np.ndarray:
    """Inverse of :func:`flow_to_uint8` (exact up to the quantization step 2*bound/255)."""
    return np.asarray(encoded, dtype=np.float32) * (2.0 * bound / 255.0) - bound


def flow_to_input(stacked: np.ndarray) -> np.ndarray:
    """uint8 stacked flow (any shape) -> float32 network input, still pixel = 0."""
    return (np.asarray(stacked, dtype=np.float32) / 255.0 - FLOW_MEAN) / FLOW_STD


def flow_to_rgb(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-wheel rendering of ``H x W x 2`` flow as ``H x W x 3 uint8`` RGB.

    Hue is the direction (0 deg = +x, right: red; 90 deg = +y, down in image
    coordinates; 180 deg = left: cyan), value the magnitude scaled by
    ``max_magnitude`` (default: the field's largest magnitude), saturation full.
    Zero flow is black. A uint8 (TSN-encoded) field is decoded first.
    """
    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"flow_to_rgb expects H x W x 2 flow, got shape {flow.shape}")
    if flow.dtype == np.uint8:
        flow = uint8_to_flow(flow)
    fx = np.ascontiguousarray(flow[..., 0], dtype=np.float32)
    fy = np.ascontiguousarray(flow[..., 1], dtype=np.float32)
    mag, ang = cv2.cartToPolar(fx, fy, angleInDegrees=True)
    top = float(mag.max()) if max_magnitude is None else float(max_magnitude)
    hsv = np.empty(flow.shape[:2] + (3,), np.uint8)
    hsv[..., 0] = np.rint(ang / 2.0).astype(np.int32) % 180  # OpenCV hue is 0..179
    hsv[..., 1] = 255
    if top > 0:
        hsv[..., 2] = np.clip(np.rint(mag * (255.0 / top)), 0, 255).astype(np.uint8)
    else:
        hsv[..., 2] = 0
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


# ----------------------------------------------------------------------------- compute


def working_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(w, h) of the working resolution: the longer side at most ``max_side``, never upscaled."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


class _Estimator:
    """One flow estimator (DIS objects are not thread-safe: one per computation)."""

    def __init__(self, params: FlowParams):
        self.params = params
        self.method = params.effective_method
        self._dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[params.preset]) if self.method == "dis" else None

    def __call__(self, prev_gray: np.ndarray, next_gray: np.ndarray) -> np.ndarray:
        return compute_pair(prev_gray, next_gray, self)


def compute_pair(prev_gray: np.ndarray, next_gray: np.ndarray, estimator: _Estimator) -> np.ndarray:
    """Float32 ``H x W x 2`` flow from one grayscale frame to the next, in pixels."""
    if estimator._dis is not None:
        return estimator._dis.calc(prev_gray, next_gray, None)
    # Farneback settings of the common TSN/denseflow fallbacks.
    return cv2.calcOpticalFlowFarneback(prev_gray, next_gray, None, 0.5, 3, 15, 3, 5, 1.2, 0)


def _to_gray(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if frame.ndim == 3:
        frame = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    if (frame.shape[1], frame.shape[0]) != size:
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return frame


class _Source:
    """A video path, an opened ``rpan_core.video.Video``, or a ``T x H x W x 3`` array."""

    def __init__(self, source: Any):
        self._array: np.ndarray | None = None
        self._video = None
        self._owned = False
        if isinstance(source, np.ndarray):
            if source.ndim not in (3, 4) or source.shape[0] < 1:
                raise VideoError(f"a frame array must be T x H x W (x 3); got shape {source.shape}")
            self._array = source
            self.frame_count, self.height, self.width = source.shape[:3]
            self.content_hash = hashlib.sha1(np.ascontiguousarray(source).data).hexdigest()
            self.name = f"<array {source.shape}>"
            return
        if isinstance(source, (str, os.PathLike)):
            from rpan_core.video import open_video  # heavy-ish; only for paths

            source = open_video(source)
            self._owned = True
        for attr in ("frame_count", "width", "height", "content_hash", "frames"):
            if not hasattr(source, attr):
                raise VideoError(f"{source!r} is not a video: it has no {attr!r}; pass a path or an open Video")
        self._video = source
        self.frame_count = int(source.frame_count)
        self.width, self.height = int(source.width), int(source.height)
        # every byte of the video when the source can tell (a same-size edit must not reuse stale flow)
        self.content_hash = str(getattr(source, "exact_hash", None) or source.content_hash)
        self.name = str(getattr(source, "path", source))

    def frames(self, start: int) -> Iterator[np.ndarray]:
        if self._array is not None:
            yield from self._array[start:]
        else:
            yield from self._video.frames(start)

    def close(self) -> None:
        if self._owned and self._video is not None:
            self._video.close()


# ----------------------------------------------------------------------------- cache


class FlowVolume:
    """A video's cached flow: ``flow(i)`` is the ``h x w x 2 uint8`` field from frame i to i+1.

    ``num_pairs = frame_count - 1``. Chunks are loaded lazily and a few are kept in
    memory. ``computed_pairs`` says how many pairs the call that returned this volume
    had to compute (0 when it was served from the cache).
    """

    def __init__(self, folder: Path, computed_pairs: int = 0, keep_chunks: int = 4):
        meta_path = folder / "meta.json"
        try:
            self.meta: dict = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise ProjectError(f"flow cache {folder} is incomplete or broken ({exc}); delete the folder to recompute") from exc
        self.folder = folder
        self.computed_pairs = computed_pairs
        self.frame_count = int(self.meta["frame_count"])
        self.num_pairs = max(0, self.frame_count - 1)
        self.size = tuple(self.meta["size"])  # (w, h) working resolution
        self.chunk = int(self.meta["params"]["chunk"])
        self.bound = float(self.meta["params"]["bound"])
        self.method = str(self.meta["method"])
        self._chunks: OrderedDict[int, np.ndarray] = OrderedDict()
        self._keep = keep_chunks
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.num_pairs

    def _load(self, c: int) -> np.ndarray:
        with self._lock:
            if c in self._chunks:
                self._chunks.move_to_end(c)
                return self._chunks[c]
        path = self.folder / _chunk_name(c)
        try:
            with np.load(path) as z:
                arr = z["flow"]
        except (OSError, ValueError, KeyError) as exc:
            raise ProjectError(f"flow cache file {path} cannot be read ({exc}); delete {self.folder} to recompute") from exc
        with self._lock:
            self._chunks[c] = arr
            while len(self._chunks) > self._keep:
                self._chunks.popitem(last=False)
        return arr

    def prefetch_around(self, i: int) -> threading.Thread | None:
        """Load the chunks before and after pair ``i``'s in a background thread (None when both are in memory).

        Why: a viewer that scrubs or plays across a chunk boundary then finds the
        next chunk already decompressed instead of paying for it on its UI thread.
        """
        c = i // self.chunk
        last = (self.num_pairs - 1) // self.chunk if self.num_pairs else -1
        with self._lock:
            todo = [k for k in (c + 1, c - 1) if 0 <= k <= last and k not in self._chunks]
        if not todo:
            return None

        def work() -> None:
            for k in todo:
                try:
                    self._load(k)
                except ProjectError:
                    return  # shown (with its message) when that pair is asked for

        t = threading.Thread(target=work, name="flow-prefetch", daemon=True)
        t.start()
        return t

    def flow(self, i: int) -> np.ndarray:
        """uint8 ``h x w x 2`` TSN-encoded flow from frame ``i`` to ``i + 1``."""
        if not 0 <= i < self.num_pairs:
            raise IndexError(f"flow pair {i} is out of range: the video has {self.num_pairs} pairs")
        return self._load(i // self.chunk)[i % self.chunk]

    def flow_float(self, i: int) -> np.ndarray:
        """Decoded float32 flow in working-resolution pixels (clipped to the bound)."""
        return uint8_to_flow(self.flow(i), self.bound)

    def stack(self, t: int, length: int = STACK_LENGTH) -> np.ndarray:
        """``2*length x h x w uint8``: pairs ``t .. t+length-1`` as x0, y0, x1, y1, ...

        The window is shifted left to fit inside the video; a video with fewer than
        ``length`` pairs repeats its last pair (and a one-frame video gives still flow).
        """
        w, h = self.size
        if self.num_pairs == 0:
            return np.full((2 * length, h, w), 128, np.uint8)
        start = max(0, min(int(t), self.num_pairs - length))
        idx = [min(start + k, self.num_pairs - 1) for k in range(length)]
        return np.stack([self.flow(i) for i in idx], 0).transpose(0, 3, 1, 2).reshape(2 * length, h, w)


def _chunk_name(c: int) -> str:
    return f"chunk_{c:05d}.npz"


def flow_cache_folder(cache_dir: str | os.PathLike, content_hash: str, params: FlowParams) -> Path:
    """Where a video's flow lives: ``cache_dir / <content hash>-<params key>``."""
    safe = "".join(ch for ch in content_hash if ch.isalnum())[:32] or "video"
    return Path(cache_dir) / f"{safe}-{params.key()}"


def _atomic_savez(path: Path, arr: np.ndarray) -> None:
    """One chunk, via rpan_core.atomic (fsync, rename; a full disk leaves no temp file behind)."""
    save_with(path, lambda fh: np.savez_compressed(fh, flow=arr))


def compute_flow(
    source: Any,
    cache_dir: str | os.PathLike,
    params: FlowParams | None = None,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
) -> FlowVolume:
    """The video's flow, from the cache when present, else computed and cached.

    ``source``: a video path, an open ``Video``, or a ``T x H x W x 3`` uint8 array.
    ``progress(done_pairs, total_pairs)`` is called as chunks finish; a set
    ``cancel`` event (or a callable returning True) stops at the next frame pair with :class:`FlowCancelled`
    (finished chunks stay cached and a later call resumes from them).
    """
    params = params or FlowParams()
    src = _Source(source)
    try:
        folder = flow_cache_folder(cache_dir, src.content_hash, params)
        if (folder / "meta.json").is_file():
            vol = FlowVolume(folder)
            if vol.frame_count == src.frame_count:
                if progress:
                    progress(vol.num_pairs, vol.num_pairs)
                return vol
        try:
            folder.mkdir(parents=True, exist_ok=True)
            remove_orphans(folder)  # chunks half-written by a run killed earlier
        except OSError as exc:
            raise ProjectError(f"cannot create the flow cache folder {folder} ({exc}); check the project folder is writable") from exc
        computed = _compute_into(src, folder, params, progress, cancel)
        w, h = working_size(src.width, src.height, params.max_side)
        meta = {
            "version": CACHE_VERSION, "content_hash": src.content_hash, "source": src.name,
            "frame_count": src.frame_count, "frame_size": [src.width, src.height], "size": [w, h],
            "method": params.effective_method, "params": asdict(params),
        }
        write_text(folder / "meta.json", json.dumps(meta, indent=1))
        return FlowVolume(folder, computed_pairs=computed)
    finally:
        src.close()


def _compute_into(src: _Source, folder: Path, params: FlowParams,
                  progress: ProgressFn | None, cancel: threading.Event | None) -> int:
    n_pairs = max(0, src.frame_count - 1)
    n_chunks = -(-n_pairs // params.chunk)
    missing = [c for c in range(n_chunks) if not (folder / _chunk_name(c)).is_file()]
    done = (n_chunks - len(missing)) * params.chunk
    if not missing:
        return 0
    size = working_size(src.width, src.height, params.max_side)
    estimator = _Estimator(params)
    missing_set = set(missing)
    first = missing[0] * params.chunk
    computed = 0
    prev: np.ndarray | None = None
    buf: list[np.ndarray] = []
    for offset, frame in enumerate(src.frames(first)):
        i = first + offset  # frame index
        if i >= src.frame_count:
            break
        gray = _to_gray(np.asarray(frame), size)
        if prev is not None:
            pair = i - 1
            c = pair // params.chunk
            if c in missing_set:
                if cancel is not None and (cancel.is_set() if hasattr(cancel, "is_set") else cancel()):
                    raise FlowCancelled(f"flow computation for {src.name} was cancelled at frame pair {pair} "
                                        f"of {n_pairs}; the finished chunks are kept and the next run resumes")
                buf.append(flow_to_uint8(estimator(prev, gray), params.bound))
                computed += 1
                if len(buf) == params.chunk or pair == n_pairs - 1:
                    _atomic_savez(folder / _chunk_name(c), np.stack(buf, 0))
                    buf = []
                    done = min(n_pairs, done + params.chunk)
                    if progress:
                        progress(min(done, n_pairs), n_pairs)
        prev = gray
    if buf or any(not (folder / _chunk_name(c)).is_file() for c in missing):
        raise VideoError(f"{src.name} ended early: it reports {src.frame_count} frames but fewer could be "
                         f"decoded; re-encode the video or trim its frame count")
    return computed


# ----------------------------------------------------------------------------- model input


def flow_clip(
    video: Any,
    frame_indices: Sequence[int],
    *,
    cache_dir: str | os.PathLike | None = None,
    params: FlowParams | None = None,
    length: int = STACK_LENGTH,
    size: tuple[int, int] | None = None,
    volume: FlowVolume | None = None,
) -> np.ndarray:
    """The temporal stream's input for sampled frames: ``T x 2*length x H x W uint8``.

    For each sampled frame t, the stacked TSN flow of pairs t .. t+length-1 (x, y
    interleaved). ``size=(H, W)`` resizes each flow image (values are kept as
    images, as TSN does); default: the working resolution. Pass ``volume`` (from
    :func:`compute_flow`) to skip the cache lookup, or ``video`` + ``cache_dir``.
    Use :func:`flow_to_input` to turn the result into the network's float input.
    """
    if volume is None:
        if cache_dir is None:
            raise ConfigError("flow_clip needs a cache_dir (the project's flow_dir) or a computed volume")
        volume = compute_flow(video, cache_dir, params)
    stacks = [volume.stack(int(t), length) for t in frame_indices]
    out = np.stack(stacks, 0) if stacks else np.zeros((0, 2 * length) + volume.size[::-1], np.uint8)
    if size is not None and tuple(size) != (out.shape[2], out.shape[3]):
        h, w = int(size[0]), int(size[1])
        flat = out.reshape(-1, out.shape[2], out.shape[3])
        out = np.stack([cv2.resize(im, (w, h), interpolation=cv2.INTER_LINEAR) for im in flat], 0)
        out = out.reshape(len(stacks), 2 * length, h, w)
    return out


class FlowClipAdapter:
    """Turns (video, sampled frame indices) into the flow stream's float input.

    Meant for the engine's datasets: ``adapter(video_path, indices)`` returns a
    ``T x 10 x H x W float32`` array, normalized with :func:`flow_to_input`, using
    the cache in ``cache_dir`` (computing a video's flow on first use). Volumes are
    kept open per content path so a training epoch reads chunks, not metadata; only
    the ``max_loaded`` most recently used videos keep decoded chunks in memory, so
    RAM stays bounded on a large project.
    """

    def __init__(self, cache_dir: str | os.PathLike, input_size: tuple[int, int],
                 params: FlowParams | None = None, length: int = STACK_LENGTH, max_loaded: int = 256):
        self.cache_dir = Path(cache_dir)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.params = params or FlowParams()
        self.length = length
        self.max_loaded = max(1, int(max_loaded))
        self._volumes: dict[str, FlowVolume] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()

    def volume(self, video: Any) -> FlowVolume:
        key = str(getattr(video, "path", video)) if not isinstance(video, np.ndarray) else str(id(video))
        vol = self._volumes.get(key)
        if vol is None:
            vol = self._volumes[key] = compute_flow(video, self.cache_dir, self.params)
        self._recent[key] = None
        self._recent.move_to_end(key)
        while len(self._recent) > self.max_loaded:
            old, _ = self._recent.popitem(last=False)
            stale = self._volumes.get(old)
            if stale is not None:
                with stale._lock:
                    stale._chunks.clear()
        return vol

    def __call__(self, video: Any, frame_indices: Sequence[int]) -> np.ndarray:
        clip = flow_clip(None, frame_indices, volume=self.volume(video), length=self.length, size=self.input_size)
        return flow_to_input(clip)


def mirror_input(x: np.ndarray) -> np.ndarray:
    """Mirror a normalized flow input ``... x 2*length x H x W`` left-right.

    Flipping the image reverses horizontal motion, so the x channels (even
    indices) change sign; in the normalized domain of :func:`flow_to_input` a
    still pixel is 0, so negation is exact (the uint8 counterpart is 255 - v).
    """
    out = np.ascontiguousarray(np.asarray(x)[..., ::-1])
    out[..., 0::2, :, :] *= -1
    return out


def cross_modality_init(model: Any, rgb_state: dict) -> list[str]:
    """TSN's cross-modality initialization of a flow model from an RGB model's weights.

    Every tensor of ``rgb_state`` whose key and shape match ``model``'s is copied;
    a convolution that differs only in its input channels (the stem: ``O x 3 x k x k``
    against ``O x 10 x k x k``) gets the RGB kernel's mean over its channels,
    replicated to every flow channel. Returns the keys initialized that way.
    Other mismatches (a different class count) are left as initialized.
    """
    import torch

    from rpan_core.model.backbones import cross_modality_kernel

    own = model.state_dict()
    load, stems = {}, []
    for k, v in rgb_state.items():
        if k not in own:
            continue
        tgt = own[k]
        if tuple(tgt.shape) == tuple(v.shape):
            load[k] = v
        elif (v.ndim == 4 and tgt.ndim == 4 and v.shape[0] == tgt.shape[0] and v.shape[2:] == tgt.shape[2:]
              and v.shape[1] != tgt.shape[1]):
            load[k] = cross_modality_kernel(v, tgt.shape[1]).to(tgt.dtype)
            stems.append(k)
    with torch.no_grad():
        model.load_state_dict(load, strict=False)
    return stems


# ----------------------------------------------------------------------------- command line


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", type=Path, help="project folder (flow is cached in its flow_dir)")
    parser.add_argument("--video", type=int, action="append", metavar="ID",
                        help="only this video id (repeatable; default: every video)")
    parser.add_argument("--method", choices=("dis", "farneback"), default="dis")
    parser.add_argument("--preset", choices=tuple(_DIS_PRESETS), default="medium", help="DIS preset")
    parser.add_argument("--max-side", type=int, default=320,
                        help="working resolution: longer side in pixels (default: %(default)s)")


def cli_main(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from rpan_core.project import Project

    params = FlowParams(method=args.method, preset=args.preset, max_side=args.max_side)
    project = Project.open(args.project)
    records = project.videos()
    if args.video:
        wanted = set(args.video)
        unknown = wanted - {r.id for r in records}
        if unknown:
            raise ConfigError(f"no video with id {sorted(unknown)} in {args.project}; "
                              f"ids are {[r.id for r in records]}")
        records = [r for r in records if r.id in wanted]
    if params.method == "dis" and not has_dis():
        print("rpan flow: this OpenCV build has no DIS flow; using Farneback")
    for rec in records:
        with tqdm(total=max(0, rec.frame_count - 1), desc=f"flow {rec.rel_path}", unit="pair") as bar:
            def report(done: int, total: int, bar=bar) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            vol = compute_flow(rec.path, project.flow_dir, params, progress=report)
        state = "cached" if vol.computed_pairs == 0 else f"computed {vol.computed_pairs} pairs"
        print(f"{rec.rel_path}: {vol.num_pairs} pairs at {vol.size[0]}x{vol.size[1]} ({state}) -> {vol.folder}")
    return 0
