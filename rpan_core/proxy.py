"""Display proxy: a frame index plus every frame as a small JPEG, for instant random seeks on any codec.

Why: an inter-coded video (H.264, VP9 with a key frame every few hundred frames)
can only be decoded forward from a key frame, so a random seek into a long GOP
costs tens to hundreds of ms of decoding, whatever the seek logic. Decoding the
file once *sequentially* (the fastest way through any codec) and storing every
frame intra-coded (JPEG) at display resolution (long side capped, default 1280
px) turns any later seek into one JPEG decode of a few ms.

Frame-exact by construction: the proxy's frame ``i`` is the ``i``-th frame the
sequential decoder produced, the same definition :class:`rpan_core.video.Video`
verifies its seeks against; the index also records the true decodable frame
count. The exact full-resolution frame stays :meth:`Video.frame`; the proxy is
what the screen shows while scrubbing (it differs from the original only by the
downscale and the JPEG quantization).

Layout of one proxy (a folder named after the video's content hash, the cap and
the format version, under the project's ``proxies/`` folder or the user cache). The
key is the SHA-256 of every byte of the file, the same key as the analysis cache
(:func:`rpan_core.video.exact_hash`, remembered per file by :mod:`rpan_core.filehash`),
so an edited video never shows an old proxy; the first hash of a file is read in the
builder's thread, never on the caller's:

* ``chunk_NNNNNN.jpgs``: the JPEG files of ``CHUNK`` consecutive frames, back to back;
* ``index.npy``: ``n x 2`` int64, each frame's byte offset and length in its chunk;
* ``meta.json``: version, content hash, frame count, original and proxy sizes, fps,
  build time and the sequential decode time it contained.

The whole folder is written through :func:`rpan_core.atomic.atomic_dir`: a build
that is killed leaves only a temp folder that :func:`rpan_core.atomic.remove_orphans`
deletes later, never a half proxy. While a build runs, :class:`ProxyBuilder` serves
the frames it has already written (its own chunks, flushed), so the studio can use
the first part of a long video before the whole proxy exists.

Proxies take 60-130 KB a frame (1-2 GB for 10 minutes of 1080p): each root keeps at
most a size budget, evicting whole least-recently-used proxies after each build
(:mod:`rpan_core.proxy_cache`, also ``rpan proxy --list / --clean``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from rpan_core.errors import RPANError, VideoError

__all__ = ["Proxy", "ProxyBuilder", "ProxyCancelled", "build_proxy", "default_proxy_root", "find_proxy",
           "in_use", "proxy_path", "proxy_root", "proxy_size", "PROXY_VERSION", "DEFAULT_LONG_SIDE"]

#: Bump when the layout, the key or the frame definition changes (old proxies are then ignored, and
#: evicted first by :func:`rpan_core.proxy_cache.enforce_budget`). 2: keyed by the every-byte hash.
PROXY_VERSION = 2
#: Long side of the proxy frames in pixels (smaller videos are stored at their own size). 960, not 1280:
#: resizing and JPEG-encoding 1280 px frames costs about as much CPU as decoding 1080p H.264, so the
#: build could not keep up with sequential decoding; 960 px fills a typical video pane, and the exact
#: full-resolution frame is shown when zoomed in.
DEFAULT_LONG_SIDE = 960
#: JPEG quality of the proxy frames (80: no visible blocking at display size; 1-3 ms to decode at 960 px).
JPEG_QUALITY = 80
#: Frames per chunk file.
CHUNK = 256
#: Build from PyAV's YUV planes when possible (False: always OpenCV's BGR frames; for comparisons).
PLANES = True
#: PyAV decoder threading for the build ("AUTO": frame threads, the decoder uses the cores the encoders leave).
PYAV_THREADS = "AUTO"
#: Frames in flight per encoder thread: enough that a slow JPEG never stalls the decoder.
AHEAD = 8
#: The decoder skips its loop (deblocking) filter on NON-REFERENCE frames while decoding for the proxy
#: ("noref"; None: never). No error can drift: no other frame is predicted from such a frame. H.264's
#: non-reference B-frames lose their deblocking only, a display proxy's worth of difference (docs/speed.md:
#: grey levels measured on the real clips); the exact frame (full zoom, analysis) is decoded in full.
#: Saves about a tenth of an H.264 decode with B-frames. VP9 has no non-reference frames this applies to.
SKIP_LOOP_FILTER: str | None = "noref"
SKIP_LOOP_FILTER_CODECS = ("h264", "hevc", "mpeg2video", "mpeg4")


class ProxyCancelled(RPANError):
    """The proxy build was cancelled (nothing was kept)."""


def default_proxy_root() -> Path:
    """The proxies folder when there is no project: ``$RPAN_CACHE_DIR`` or ``~/.cache/rpan-studio``."""
    from rpan_core.filehash import cache_root

    return cache_root() / "proxies"


def proxy_root(project: Any = None) -> Path:
    """Where proxies live: ``PROJECT/proxies`` (a project object or folder), else :func:`default_proxy_root`."""
    if project is None:
        return default_proxy_root()
    folder = Path(project) if isinstance(project, (str, os.PathLike)) else Path(project.folder)
    return folder / "proxies"


def proxy_size(height: int, width: int, long_side: int = DEFAULT_LONG_SIDE) -> tuple[int, int]:
    """``(h, w)`` of the proxy frames: the long side capped at ``long_side``, aspect kept, even sizes."""
    s = min(1.0, float(long_side) / max(height, width))
    if s >= 1.0:
        return int(height), int(width)
    return max(2, int(round(height * s / 2)) * 2), max(2, int(round(width * s / 2)) * 2)


def proxy_path(root: str | os.PathLike, content_hash: str, long_side: int = DEFAULT_LONG_SIDE) -> Path:
    """The folder of the proxy of the video with ``content_hash`` (its every-byte hash) at this cap."""
    return Path(root) / f"{content_hash[:24]}-{int(long_side)}-v{PROXY_VERSION}"


#: Proxy folders open in this process (folder -> count): never evicted while in use.
_IN_USE: dict[Path, int] = {}
_IN_USE_LOCK = threading.Lock()


def in_use() -> set[Path]:
    """Folders of the proxies this process holds open (or is building)."""
    with _IN_USE_LOCK:
        return {p for p, k in _IN_USE.items() if k > 0}


def _hold(folder: Path, delta: int) -> None:
    with _IN_USE_LOCK:
        k = _IN_USE.get(folder, 0) + delta
        if k > 0:
            _IN_USE[folder] = k
        else:
            _IN_USE.pop(folder, None)


class _ChunkReader:
    """Random reads of JPEG frames from chunk files (``os.pread``: no shared file position, thread-safe)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._fds: dict[int, int] = {}
        self._lock = threading.Lock()

    def _fd(self, chunk: int) -> int:
        with self._lock:
            fd = self._fds.get(chunk)
            if fd is None:
                fd = os.open(self.folder / f"chunk_{chunk:06d}.jpgs", os.O_RDONLY)
                self._fds[chunk] = fd
            return fd

    def read(self, i: int, offset: int, length: int) -> np.ndarray:
        data = os.pread(self._fd(i // CHUNK), int(length), int(offset))
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise VideoError(f"{self.folder}: proxy frame {i} is damaged; delete the folder to rebuild the proxy")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()


class Proxy:
    """A finished proxy (see the module docstring); ``frame(i)`` is frame ``i`` at proxy size, RGB uint8."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        try:
            self.meta = json.loads((self.folder / "meta.json").read_text())
            self.index = np.load(self.folder / "index.npy")
        except (OSError, ValueError) as exc:
            raise VideoError(f"{self.folder}: not a readable proxy ({exc}); delete it to rebuild") from exc
        if int(self.meta.get("version", -1)) != PROXY_VERSION or len(self.index) != int(self.meta["frame_count"]):
            raise VideoError(f"{self.folder}: proxy of another version or incomplete; delete it to rebuild")
        self.frame_count = int(self.meta["frame_count"])
        self.height, self.width = (int(v) for v in self.meta["proxy_size"])
        self.source_size = tuple(int(v) for v in self.meta["source_size"])
        self.content_hash = str(self.meta["content_hash"])
        self._reader = _ChunkReader(self.folder)
        self._held = True
        _hold(self.folder.resolve(), +1)
        try:  # the last use is the meta file's mtime: the least recently used proxy is evicted first
            os.utime(self.folder / "meta.json")
        except OSError:  # a read-only cache still serves
            pass

    def __len__(self) -> int:
        return self.frame_count

    @property
    def scale(self) -> float:
        """Proxy pixels per original pixel (1.0 when the video is not larger than the cap)."""
        return self.width / float(self.source_size[1])

    @property
    def size_bytes(self) -> int:
        """Bytes on disk (chunks, index, meta)."""
        return sum(f.stat().st_size for f in self.folder.iterdir() if f.is_file())

    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` at proxy size (RGB uint8)."""
        i = int(i)
        if not 0 <= i < self.frame_count:
            raise VideoError(f"{self.folder}: frame {i} out of range (proxy has {self.frame_count} frames)")
        off, length = self.index[i]
        return self._reader.read(i, off, length)

    __getitem__ = frame

    def frames(self, start: int = 0, stop: int | None = None):
        """Yield frames ``start .. stop-1`` in order."""
        stop = self.frame_count if stop is None else min(int(stop), self.frame_count)
        for i in range(max(0, int(start)), stop):
            yield self.frame(i)

    def close(self) -> None:
        self._reader.close()
        if self._held:
            self._held = False
            _hold(self.folder.resolve(), -1)

    def __enter__(self) -> "Proxy":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def find_proxy(root: str | os.PathLike, content_hash: str, long_side: int = DEFAULT_LONG_SIDE) -> Proxy | None:
    """The finished proxy of that video, or None (missing, another version, or damaged)."""
    folder = proxy_path(root, content_hash, long_side)
    if not (folder / "meta.json").exists():
        return None
    try:
        return Proxy(folder)
    except VideoError:
        return None


def _scale_and_encode(bgr: np.ndarray, size_hw: tuple[int, int]) -> bytes:
    h, w = size_hw
    if bgr.shape[:2] != (h, w):
        # INTER_AREA is 5x slower than decoding a 1080p frame; a display image only needs a
        # clean downscale: integer-factor area first (fast path), then bilinear for the rest.
        k = int(min(bgr.shape[0] // h, bgr.shape[1] // w))
        if k >= 2 and bgr.shape[0] % k == 0 and bgr.shape[1] % k == 0:
            bgr = cv2.resize(bgr, (bgr.shape[1] // k, bgr.shape[0] // k), interpolation=cv2.INTER_AREA)
        if bgr.shape[:2] != (h, w):
            bgr = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_LINEAR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise VideoError("JPEG encoding of a proxy frame failed")
    return buf.tobytes()


# JPEG (JFIF) stores full-range BT.601 YCbCr: limited-range planes are stretched by a lookup table
_Y_FULL = np.clip(np.round((np.arange(256) - 16) * 255 / 219), 0, 255).astype(np.uint8)
_C_FULL = np.clip(np.round((np.arange(256) - 128) * 255 / 224 + 128), 0, 255).astype(np.uint8)


def _to_bt601(colorspace: int | None, full: bool) -> np.ndarray | None:
    """3 x 3 matrix taking the stream's centred (Y, Cb, Cr) to BT.601's (what a JPEG decoder assumes),
    in the stream's own range; None when the stream already is BT.601 (or says nothing: swscale, and
    so the exact frames, read an unspecified matrix as BT.601)."""
    from rpan_core.yuv_frames import _KR_KB

    name, kr, kb = _KR_KB.get(int(colorspace or 0), ("bt601", 0.299, 0.114))
    if name == "bt601":
        return None

    def rgb_to_ycc(r: float, b: float) -> np.ndarray:
        g = 1 - r - b
        return np.array([[r, g, b], [-r / (2 * (1 - b)), -g / (2 * (1 - b)), 0.5],
                         [0.5, -g / (2 * (1 - r)), -b / (2 * (1 - r))]])

    t = rgb_to_ycc(0.299, 0.114) @ np.linalg.inv(rgb_to_ycc(kr, kb))
    if not full:  # luma spans 219 levels, chroma 224
        scale = np.array([219.0, 224.0, 224.0])
        t = t * scale[:, None] / scale[None, :]
    return t


def _halvings(src_hw: tuple[int, int], dst_hw: tuple[int, int]) -> int | None:
    """How many 2 x 2 halvings take ``src_hw`` (even sides all the way) to ``dst_hw``; None if none do."""
    (h, w), k = src_hw, 0
    while (h, w) != tuple(dst_hw):
        if h % 2 or w % 2 or h // 2 < dst_hw[0]:
            return None
        h, w, k = h // 2, w // 2, k + 1
    return k if h % 2 == 0 and w % 2 == 0 else None


class _PlaneEncoder:
    """JPEG of a decoded 4:2:0 frame at the proxy size straight from its planes (no colour image).

    Why: the JPEG is YCbCr 4:2:0 itself, so converting the decoder's YUV to BGR only for the
    encoder to convert it back (and subsample the chroma again) is wasted work. The planes
    are halved (OpenCV's fast 2 x 2 area path) to the proxy size; a stream in another matrix
    than BT.601 gets its planes mixed to BT.601 (the luma takes a little of the upsampled
    chroma), and limited-range planes are stretched to JPEG's full range by a lookup table.
    ``simplejpeg`` (libjpeg-turbo) encodes the planes. Only for proxy sizes that are the
    frame's size halved 0, 1, 2 ... times (:meth:`usable`); other frames take the BGR path."""

    def __init__(self, frame: Any, size_hw: tuple[int, int]) -> None:
        import simplejpeg

        self._encode = simplejpeg.encode_jpeg_yuv_planes
        self.size = (int(size_hw[0]), int(size_hw[1]))
        self.halvings = _halvings((frame.height, frame.width), self.size) or 0
        full = frame.format.name == "yuvj420p" or int(frame.color_range or 0) == 2
        self.luts = None if full else (_Y_FULL, _C_FULL)
        self.mix = _to_bt601(frame.colorspace, full)
        self.how = "planes" + ("" if self.mix is None else " mixed to BT.601")

    @staticmethod
    def usable(frame: Any, size_hw: tuple[int, int]) -> bool:
        return frame.format.name in ("yuv420p", "yuvj420p") and _halvings((frame.height, frame.width),
                                                                          size_hw) is not None

    def __call__(self, frame: Any) -> bytes:
        from rpan_core.yuv_frames import plane_views

        y, u, v = plane_views(frame)
        for _ in range(self.halvings):
            y, u, v = [cv2.resize(p, (p.shape[1] // 2, p.shape[0] // 2), interpolation=cv2.INTER_AREA)
                       for p in (y, u, v)]
        if self.mix is not None:
            t = self.mix
            up = [cv2.resize(c, (y.shape[1], y.shape[0]), interpolation=cv2.INTER_LINEAR) for c in (u, v)]
            y = cv2.addWeighted(y, 1.0, up[0], t[0, 1], -128.0 * t[0, 1])
            y = cv2.addWeighted(y, 1.0, up[1], t[0, 2], -128.0 * t[0, 2])
            u, v = (cv2.addWeighted(u, t[1, 1], v, t[1, 2], 128.0 * (1 - t[1, 1] - t[1, 2])),
                    cv2.addWeighted(u, t[2, 1], v, t[2, 2], 128.0 * (1 - t[2, 1] - t[2, 2])))
        if self.luts is not None:
            y, u, v = cv2.LUT(y, self.luts[0]), cv2.LUT(u, self.luts[1]), cv2.LUT(v, self.luts[1])
        return self._encode(np.ascontiguousarray(y), np.ascontiguousarray(u), np.ascontiguousarray(v),
                            quality=JPEG_QUALITY)


#: Frames compared between PyAV and OpenCV at the start of a build (the same frames, the same order).
CHECK_FRAMES = 2


def _check_capture(path: Path) -> cv2.VideoCapture:
    """OpenCV's capture of ``path`` for the header (frame count, fps) and the frame check, on ONE decoder
    thread: the check reads only the first frames, and OpenCV's default frame threads cost more to start
    (and fill) than those frames take to decode. The frames are the same whatever the thread count
    (FFmpeg's threading is bit-exact)."""
    try:
        cap = cv2.VideoCapture(str(path), cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, 1])
    except (cv2.error, AttributeError, TypeError):  # an OpenCV without open parameters
        cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        cap = cv2.VideoCapture(str(path))
    return cap


class _OpenCVHead(threading.Thread):
    """OpenCV's header (frame count, fps) and first frames of a video, read on a thread of its own.

    Why a thread: the frame check needs OpenCV's first frames, and decoding them one after the
    other with PyAV's start (its frame threads filling up) left a core idle for most of a short
    clip's fixed cost (about 70 ms of a 100-frame clip's 290 ms build). Now both start at once and
    the builder waits for the check before it exposes or keeps any frame (:meth:`ProxyBuilder._verify`).
    """

    def __init__(self, path: Path, n: int) -> None:
        super().__init__(daemon=True, name=f"proxy-check:{path.name}")
        self.path, self.n = path, int(n)
        self.opened = False
        self.total, self.fps = 0, 30.0
        self.frames: list[np.ndarray] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            cap = _check_capture(self.path)
            try:
                self.opened = cap.isOpened()
                if self.opened:
                    self.total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
                    self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
                    for _ in range(self.n):
                        ok, bgr = cap.read()
                        if not ok or bgr is None:
                            break
                        self.frames.append(bgr)
            finally:
                cap.release()
        except BaseException as exc:  # reported to the builder, which decides
            self.error = exc


def _first_frames_differ(av_frames: list[Any], cv_frames: list[np.ndarray]) -> str | None:
    """Why PyAV's first frames are not OpenCV's (what :class:`rpan_core.video.Video` numbers), or None."""
    for k, f in enumerate(av_frames):
        if f.format.name not in ("yuv420p", "yuvj420p"):
            return f"pixel format {f.format.name}"
        if k >= len(cv_frames) or \
                np.abs(f.to_ndarray(format="bgr24").astype(np.int16) - cv_frames[k]).mean() > 1.0:
            return "PyAV's first frames are not OpenCV's"
    return None


def _pyav_frames(path: Path, info: dict | None = None) -> tuple[Any, str | None]:
    """``(frames, None)``: PyAV's decoded frames of ``path`` (not checked here: the builder compares the
    first :data:`CHECK_FRAMES` with OpenCV's before it keeps any); or ``(None, why)`` when the build must
    decode with OpenCV instead. ``info`` gets ``skip_loop_filter`` (what the decoder skips, or None)."""
    try:
        import av
        import simplejpeg  # noqa: F401
    except ImportError as exc:
        return None, f"{exc.name} is not installed"
    try:
        container = av.open(str(path))
        stream = container.streams.video[0]
        stream.thread_type = PYAV_THREADS
        skip = SKIP_LOOP_FILTER if stream.codec_context.name in SKIP_LOOP_FILTER_CODECS else None
        if skip:
            stream.codec_context.options = {"skip_loop_filter": skip}
        if info is not None:
            info["skip_loop_filter"] = skip
            info["frames"] = int(stream.frames or 0)
    except (av.FFmpegError, OSError, IndexError) as exc:
        return None, f"PyAV cannot open the file ({exc})"

    def frames():
        try:
            yield from container.decode(stream)
        finally:
            container.close()
    return frames(), None


class _NoPlanes(Exception):
    pass


class ProxyBuilder:
    """Builds one video's proxy by sequential decoding; serves the frames written so far.

    ``run()`` builds in the calling thread; ``start()`` in a daemon thread (the studio,
    ``Video.build_proxy``). ``frame(i)`` returns frame ``i`` at proxy size when it is
    already written, else None. ``cancel()`` stops the build; nothing is kept.
    Resizing and JPEG encoding run on a small thread pool (OpenCV releases the GIL),
    overlapped with the decoder, so the build runs near sequential-decode speed.
    """

    def __init__(self, video_path: str | os.PathLike, root: str | os.PathLike, content_hash: str | None = None,
                 long_side: int = DEFAULT_LONG_SIDE, progress: Callable[[int, int], Any] | None = None,
                 workers: int | None = None, budget_bytes: int | None = None) -> None:
        self.video_path = Path(video_path)
        # the every-byte hash; None: computed by run() (in the builder's thread: it reads the whole file)
        self.content_hash = content_hash
        self.long_side = int(long_side)
        self.root = Path(root)
        self.budget_bytes = budget_bytes  # None: rpan_core.proxy_cache.budget_bytes()
        self.evicted: list[Path] = []  # proxies removed after this build to keep the root within its budget
        self.progress = progress
        # encoder threads beside the decoder: half the cores, 2..4 (one JPEG costs about half a 1080p decode)
        self.workers = max(1, int(workers)) if workers else max(2, min(4, (os.cpu_count() or 2) // 2))
        self.done = 0  # frames written (and readable through frame())
        self.total = 0  # expected frames (header count; the true count when finished)
        self.proxy: Proxy | None = None
        self.error: BaseException | None = None
        self.seconds = 0.0
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._lock = threading.Lock()
        self._tmp: Path | None = None
        self._reader: _ChunkReader | None = None
        self._offsets: list[tuple[int, int]] = []
        self._thread: threading.Thread | None = None
        self.decoder_note: str | None = None  # how the frames were decoded and encoded (meta.json "decoder")

    @property
    def final(self) -> Path:
        """The finished proxy's folder (needs the content hash: known once ``run()`` started)."""
        if self.content_hash is None:
            from rpan_core.video import exact_hash

            self.content_hash = exact_hash(self.video_path)
        return proxy_path(self.root, self.content_hash, self.long_side)

    # ---------------------------------------------------------------- control
    def start(self) -> "ProxyBuilder":
        self._thread = threading.Thread(target=self._run_catching, daemon=True,
                                        name=f"proxy:{self.video_path.name}")
        self._thread.start()
        return self

    def _run_catching(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # reported through .error; the thread must not die noisily
            self.error = exc

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the build ended (finished, failed or cancelled); False on timeout."""
        return self._finished.wait(timeout)

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    # ---------------------------------------------------------------- reading
    def frame(self, i: int) -> np.ndarray | None:
        """Frame ``i`` at proxy size if already written (finished or not), else None."""
        if self.proxy is not None:
            return self.proxy.frame(i)
        with self._lock:
            if self._reader is None or not 0 <= i < self.done:
                return None
            off, length = self._offsets[i]
            reader = self._reader
        try:
            return reader.read(i, off, length)
        except (OSError, VideoError):  # renamed meanwhile: the finished proxy serves it
            return self.proxy.frame(i) if self.proxy is not None else None

    # ---------------------------------------------------------------- building
    def run(self) -> Proxy:
        """Build (or find) the proxy; returns it. Raises :class:`ProxyCancelled` or ``VideoError``."""
        from rpan_core.atomic import atomic_dir, is_disk_full

        try:
            final = self.final  # hashes the file first when the caller did not
            existing = find_proxy(self.root, self.content_hash, self.long_side)
            if existing is not None:
                self.proxy, self.done, self.total = existing, existing.frame_count, existing.frame_count
                return existing
            t0 = time.perf_counter()
            try:
                with atomic_dir(final) as tmp:
                    self._build_into(tmp, t0)
            except OSError as exc:
                if is_disk_full(exc):
                    raise VideoError(f"the disk is full while building the display proxy of {self.video_path} "
                                     f"in {self.root}; free some space (nothing was kept)") from exc
                raise
            with self._lock:
                if self._reader is not None:
                    self._reader.close()
                self._reader = None
            self.proxy = Proxy(final)
            from rpan_core.proxy_cache import enforce_budget

            self.evicted = enforce_budget(self.root, self.budget_bytes, keep=(final,))
            return self.proxy
        finally:
            self._finished.set()

    def _build_into(self, tmp: Path, t0: float) -> None:
        from rpan_core.yuv_frames import EXACT_ENV

        with self._lock:
            self._tmp, self._reader = tmp, _ChunkReader(tmp)
        if not PLANES or os.environ.get(EXACT_ENV, "").strip() not in ("", "0"):
            why = f"{EXACT_ENV} is set" if PLANES else "PLANES is off"
        else:
            # PyAV's planes straight into the JPEGs (no colour image at any size) when it decodes the same
            # frames as OpenCV: OpenCV reads its first frames on its own thread meanwhile, and nothing is
            # kept or shown before they are compared (_verify); else OpenCV's BGR frames, scaled and encoded
            head = _OpenCVHead(self.video_path, CHECK_FRAMES)
            head.start()
            info: dict[str, Any] = {}
            planes, why = _pyav_frames(self.video_path, info)
            if planes is not None:
                try:
                    self._encode_all(tmp, t0, planes=planes, head=head, info=info)
                    return
                except _NoPlanes as exc:  # raised before any frame was written
                    why = str(exc)
        cap = cv2.VideoCapture(str(self.video_path))
        if not cap.isOpened():
            raise VideoError(f"{self.video_path}: OpenCV cannot open this file; re-encode it, e.g. to H.264 .mp4")
        self.decoder_note = f"OpenCV BGR ({why})"
        self._encode_all(tmp, t0, cap=cap)

    def _verify(self, head: _OpenCVHead, first: list[Any], info: dict[str, Any]) -> None:
        """Wait for OpenCV's first frames and compare PyAV's with them: :class:`_NoPlanes` when they differ."""
        head.join()
        if head.error is not None:
            raise head.error
        if not head.opened:
            raise VideoError(f"{self.video_path}: OpenCV cannot open this file; re-encode it, e.g. to H.264 .mp4")
        why = _first_frames_differ(first, head.frames)
        if why is not None:
            raise _NoPlanes(why)
        self.total, info["fps"] = head.total, head.fps

    def _encode_all(self, tmp: Path, t0: float, planes: Any = None, head: _OpenCVHead | None = None,
                    info: dict[str, Any] | None = None, cap: cv2.VideoCapture | None = None) -> None:
        """Decode (PyAV's ``planes``, or OpenCV's ``cap``), scale and encode every frame into ``tmp``."""
        info = {} if info is None else info
        if cap is not None:
            self.total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            info["fps"] = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
        else:
            self.total = int(info.get("frames") or 0)  # PyAV's count until OpenCV's header is read
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="proxy-enc")
        pending: list[Any] = []
        fh = None
        decode_s = 0.0
        src_hw: tuple[int, int] | None = None
        out_hw: tuple[int, int] | None = None
        encoder: Any = None
        n_in = 0
        first: list[Any] = []  # PyAV's first frames, compared with OpenCV's before anything is kept
        verified = head is None
        try:
            def drain(keep: int) -> None:
                nonlocal fh, verified
                while len(pending) > keep:
                    if not verified:
                        self._verify(head, first, info)
                        verified = True
                    data = pending.pop(0).result()
                    i = self.done
                    if i % CHUNK == 0:
                        if fh is not None:
                            fh.close()
                        fh = open(tmp / f"chunk_{i // CHUNK:06d}.jpgs", "wb")
                    off = fh.tell()
                    fh.write(data)
                    fh.flush()  # readable by frame() at once (fsync happens once, at the end)
                    with self._lock:
                        self._offsets.append((off, len(data)))
                        self.done = i + 1
                    if self.progress is not None and (i % 32 == 0):
                        self.progress(i + 1, max(self.total, i + 1))

            while True:
                if self._cancel.is_set():
                    raise ProxyCancelled(f"display proxy of {self.video_path} cancelled (nothing was kept)")
                td = time.perf_counter()
                if planes is not None:
                    frame = self._next_planes(planes, n_in)
                    decode_s += time.perf_counter() - td
                    if frame is None:
                        break
                    if src_hw is None:
                        if frame.format.name not in ("yuv420p", "yuvj420p"):
                            raise _NoPlanes(f"pixel format {frame.format.name}")
                        src_hw = (frame.height, frame.width)
                        out_hw = proxy_size(src_hw[0], src_hw[1], self.long_side)
                        if _PlaneEncoder.usable(frame, out_hw):
                            encoder = _PlaneEncoder(frame, out_hw)
                            self.decoder_note = f"PyAV {encoder.how}"
                        else:
                            self.decoder_note = f"PyAV, BGR ({frame.format.name} to {out_hw[1]}x{out_hw[0]})"
                    if len(first) < CHECK_FRAMES:
                        first.append(frame)
                    if encoder is not None:
                        pending.append(pool.submit(encoder, frame))
                    else:
                        pending.append(pool.submit(_scale_and_encode, frame.to_ndarray(format="bgr24"), out_hw))
                else:
                    ok, bgr = cap.read()
                    decode_s += time.perf_counter() - td
                    if not ok or bgr is None:
                        break
                    if src_hw is None:
                        src_hw = bgr.shape[:2]
                        out_hw = proxy_size(src_hw[0], src_hw[1], self.long_side)
                    pending.append(pool.submit(_scale_and_encode, bgr, out_hw))
                n_in += 1
                drain(AHEAD * self.workers)
            if planes is not None and n_in == 0:
                raise _NoPlanes("PyAV decodes no frame")
            drain(0)
            if planes is not None and 0 < n_in < self.total:
                # a truncated file: its last frame is damaged at the cut, and each FFmpeg build conceals
                # that differently; the proxy shows OpenCV's (what Video.frame serves), not PyAV's
                self._replace_last_frame(fh, n_in - 1, out_hw)
        finally:
            for fut in pending:
                fut.cancel()
            pool.shutdown(wait=True)
            if cap is not None:
                cap.release()
            if planes is not None:
                planes.close()
            if fh is not None:
                fh.close()
        if n_in == 0:
            raise VideoError(f"{self.video_path}: no decodable frames; re-encode or re-copy the video")
        np.save(tmp / "index.npy", np.asarray(self._offsets, np.int64).reshape(-1, 2))
        self.seconds = time.perf_counter() - t0
        meta = {"version": PROXY_VERSION, "content_hash": self.content_hash, "frame_count": n_in,
                "header_frame_count": self.total, "source_size": list(src_hw), "proxy_size": list(out_hw),
                "long_side": self.long_side, "fps": info.get("fps", 30.0), "jpeg_quality": JPEG_QUALITY,
                "chunk": CHUNK, "video": self.video_path.name, "build_seconds": round(self.seconds, 3),
                "decode_seconds": round(decode_s, 3), "decoder": self.decoder_note,
                "skip_loop_filter": info.get("skip_loop_filter") if planes is not None else None}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        self.total = n_in
        if self.progress is not None:
            self.progress(n_in, n_in)

    @staticmethod
    def _next_planes(planes: Any, n_in: int) -> Any:
        """PyAV's next frame, or None at the end; a decode error among the first frames sends the build
        to OpenCV (:class:`_NoPlanes`), a later one is the video's error."""
        import av

        try:
            return next(planes, None)
        except av.FFmpegError as exc:
            if n_in < CHECK_FRAMES:
                raise _NoPlanes(f"PyAV cannot decode the file ({exc})") from exc
            raise

    def _replace_last_frame(self, fh: Any, i: int, out_hw: tuple[int, int]) -> None:
        """Write frame ``i`` again from OpenCV's decode (appended to its chunk; the index points at it)."""
        from rpan_core.video import open_video

        with open_video(self.video_path, cache_mb=64) as v:
            if i >= v.frame_count:
                return
            data = _scale_and_encode(cv2.cvtColor(v.frame(i), cv2.COLOR_RGB2BGR), out_hw)
        fh.seek(0, os.SEEK_END)
        off = fh.tell()
        fh.write(data)
        fh.flush()
        with self._lock:
            self._offsets[i] = (off, len(data))


def build_proxy(video_path: str | os.PathLike, root: str | os.PathLike | None = None, *, project: Any = None,
                long_side: int = DEFAULT_LONG_SIDE, progress: Callable[[int, int], Any] | None = None,
                content_hash: str | None = None, budget_bytes: int | None = None) -> Proxy:
    """Build (or find) the display proxy of one video, in the calling thread."""
    root = Path(root) if root is not None else proxy_root(project)
    return ProxyBuilder(video_path, root, content_hash=content_hash, long_side=long_side, progress=progress,
                        budget_bytes=budget_bytes).run()
