"""Frame-exact, cached access to videos and frame folders.

Everything that shows or learns from a frame asks for it by index, so ``frame(i)``
must return exactly frame ``i`` on every codec. OpenCV's ``CAP_PROP_POS_FRAMES``
seek lands on the wrong frame for some inter-coded files, and
``CAP_PROP_FRAME_COUNT`` comes from the header, which lies for some files, so
neither is trusted blindly:

* **Counting.** At open the header count ``n`` is verified by decoding frame
  ``n - 1`` and checking that nothing follows it. If that fails the file is scanned
  once with ``grab()`` (no colour conversion) and the count is cached per content
  hash for the process. A file whose header promises more frames than can be
  decoded is *truncated*: the readable prefix is served, and asking for a frame
  past it raises :class:`~rpan_core.errors.VideoError` naming the file and frame.
* **Exact seeks.** The capture's position is tracked by us (we count every
  ``grab``). A request a short way ahead of the decoder (``<= FORWARD`` frames) is
  served by decoding forward, never seeking, which makes sequential reading and
  +1 scrubbing cheap. Otherwise we seek to ``i - BACKOFF`` and check what the
  decoder reports through ``CAP_PROP_POS_FRAMES`` after one ``grab``; if it landed
  past the target or not where asked, we seek to an earlier spot (doubling the
  back-off) and, as the last resort, decode forward from frame 0. The seek cost is
  therefore one container seek plus at most ``BACKOFF + FORWARD`` decodes,
  independent of the frame index. Files where a verified seek ever failed are
  marked, and later seeks there use the larger back-off straight away.
* **Cache.** A bounded LRU (``cache_mb``) holds decoded RGB frames. ``prefetch(i)``
  asks a background thread to decode a window around the cursor; the one
  ``cv2.VideoCapture`` is guarded by a lock because it is not thread-safe.
* **Sequential iteration.** ``frames(start, stop)`` uses its own capture and only
  reads forward, so iterating never pays for a seek per frame and never disturbs
  the scrubbing capture.

Frame folders (PennAction and JHMDB ship JPEG folders) are read image by image in
natural name order; there every frame is exactly addressable by construction.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import cv2
import numpy as np

from rpan_core.errors import VideoError

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.proxy import Proxy, ProxyBuilder

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv")

#: Requests up to this many frames ahead of the decoder decode forward instead of seeking.
FORWARD = 48
#: First back-off (frames) before the target when seeking; doubled on each failed check.
BACKOFF = 0
#: Bytes hashed from the start, middle and end of a file for its content hash.
HASH_CHUNK = 1 << 20
#: Frames per second reported for frame folders (they carry no timing).
FOLDER_FPS = 30.0

_COUNT_CACHE: dict[str, int] = {}
_COUNT_LOCK = threading.Lock()


def content_hash(path: str | os.PathLike) -> str:
    """Content hash of a video file or frame folder (hex).

    Folder: sha256 over every image's name and the sha256 of all its bytes
    (:mod:`rpan_core.filehash`, remembered per file by its stat, so reopening a
    100k-frame folder costs stats, not reads), so editing any frame changes it.
    File: sha1 of the byte size and the first, middle and last MB (``HASH_CHUNK``),
    a fast identity for a multi-GB file; results that must never go stale (the
    analysis cache) key on :func:`exact_hash` instead, which covers every byte.
    """
    p = Path(path)
    if p.is_dir():
        from rpan_core.filehash import file_digests, tree_digest

        files = _folder_images(p)
        return tree_digest([f.name for f in files], file_digests(files))
    return _sampled_file_hash(p)


def _sampled_file_hash(p: Path) -> str:
    h = hashlib.sha1()
    size = p.stat().st_size
    h.update(str(size).encode())
    with open(p, "rb") as fh:
        for off in sorted({0, max(0, size // 2 - HASH_CHUNK // 2), max(0, size - HASH_CHUNK)}):
            fh.seek(off)
            h.update(fh.read(HASH_CHUNK))
    return h.hexdigest()


def exact_hash(path: str | os.PathLike) -> str:
    """A hash of every byte of a video file or frame folder (remembered by stat; see rpan_core.filehash)."""
    p = Path(path)
    if p.is_dir():
        return content_hash(p)
    from rpan_core.filehash import file_digest

    return file_digest(p)


def legacy_folder_hash(path: str | os.PathLike) -> str:
    """The folder hash older versions stored (names, sizes, first and last image): only to recognize
    an old project's frame folder when relinking it, never as a cache key."""
    p = Path(path)
    h = hashlib.sha1()
    files = _folder_images(p)
    for f in files:
        h.update(f.name.encode("utf-8", "surrogateescape"))
        h.update(str(f.stat().st_size).encode())
    for f in (files[:1] + files[-1:]) if files else []:
        h.update(f.read_bytes())
    return h.hexdigest()


def _natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _folder_images(folder: Path) -> list[Path]:
    files = [f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS]
    files.sort(key=lambda f: _natural_key(f.name))
    return files


class _FrameCache:
    """Thread-safe LRU of frames bounded by total bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._data: OrderedDict[int, np.ndarray] = OrderedDict()
        self.nbytes = 0
        self._lock = threading.Lock()

    def get(self, i: int) -> np.ndarray | None:
        with self._lock:
            f = self._data.get(i)
            if f is not None:
                self._data.move_to_end(i)
            return f

    def __contains__(self, i: int) -> bool:
        with self._lock:
            return i in self._data

    def put(self, i: int, frame: np.ndarray) -> None:
        if frame.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(i, None)
            if old is not None:
                self.nbytes -= old.nbytes
            self._data[i] = frame
            self.nbytes += frame.nbytes
            while self.nbytes > self.max_bytes and self._data:
                _, ev = self._data.popitem(last=False)
                self.nbytes -= ev.nbytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def keys(self) -> list[int]:
        with self._lock:
            return list(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.nbytes = 0


@dataclass(frozen=True)
class Shown:
    """What :meth:`Video.display_frame` serves for frame ``index``.

    ``kind``: ``"exact"`` (the full-resolution frame), ``"proxy"`` (frame ``index``
    from the display proxy, downscaled: ``image`` may be smaller than the video) or
    ``"nearest"`` (no proxy yet and frame ``index`` not decoded: ``image`` is the
    already-decoded frame ``source`` nearest to it, to be shown marked as such until
    the exact frame arrives).
    """

    index: int
    image: np.ndarray
    kind: str
    source: int

    @property
    def is_exact_frame(self) -> bool:
        """True when ``image`` shows frame ``index`` itself (full resolution or proxy)."""
        return self.source == self.index


class Video:
    """An opened video file or frame folder; see the module docstring. Use :func:`open_video`."""

    def __init__(self, path: str | os.PathLike, cache_mb: float = 256) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise VideoError(f"{self.path}: no such file or folder; check the path or relink the video")
        self.cache = _FrameCache(int(cache_mb * (1 << 20)))
        self._lock = threading.RLock()
        self._cap: cv2.VideoCapture | None = None
        self._pos = 0  # index of the frame the next grab() returns
        self._unreliable_seek = False
        self._closed = False
        self._prefetch_target: int | None = None
        self._prefetch_cond = threading.Condition()
        self._prefetch_thread: threading.Thread | None = None
        self._prefetch_busy = False
        self.prefetch_radius = 16
        self.truncated = False
        self.is_folder = self.path.is_dir()
        self.proxy: Proxy | None = None
        self.proxy_builder: ProxyBuilder | None = None
        try:
            self.content_hash = content_hash(self.path)
        except OSError as exc:
            raise VideoError(f"{self.path}: cannot read ({exc}); check permissions") from exc
        if self.is_folder:
            self._open_folder()
        else:
            self._open_file()

    # ----------------------------------------------------------------- opening
    def _open_folder(self) -> None:
        self._files = _folder_images(self.path)
        if not self._files:
            raise VideoError(f"{self.path}: folder holds no images ({', '.join(IMAGE_EXTENSIONS)}); "
                             "pick a folder of frame images or a video file")
        first = self._read_image(0)
        self.height, self.width = first.shape[:2]
        self.fps = FOLDER_FPS
        self.frame_count = len(self._files)
        self.expected_frames = self.frame_count
        self.cache.put(0, first)

    def _new_capture(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise VideoError(f"{self.path}: OpenCV cannot open this file (not a video, corrupt, "
                             "or an unsupported codec); re-encode it, e.g. to H.264 .mp4")
        return cap

    def _open_file(self) -> None:
        cap = self._new_capture()
        self._cap = cap
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
        header = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        ok, bgr = cap.read()
        if not ok or bgr is None:
            cap.release()
            raise VideoError(f"{self.path}: frame 0 cannot be decoded (corrupt or truncated file); "
                             "re-encode or re-copy the video")
        self._pos = 1
        self.height, self.width = bgr.shape[:2]
        self.cache.put(0, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        self.expected_frames = header
        with _COUNT_LOCK:
            known = _COUNT_CACHE.get(self.content_hash)
        if known is None:
            known = header if header > 0 and self._verify_count(header) else self._scan_count()
            with _COUNT_LOCK:
                _COUNT_CACHE[self.content_hash] = known
        self.frame_count = known
        if self.frame_count < 1:
            raise VideoError(f"{self.path}: no decodable frames")
        self.truncated = header > known
        if header <= 0:
            self.expected_frames = known

    def _verify_count(self, n: int) -> bool:
        """True when frame ``n-1`` decodes (exactly located) and nothing follows it."""
        try:
            self._seek_exact(n - 1)
            if self._pos > n:
                self._reopen()
            while self._pos < n:
                if not self._cap.grab():
                    return False
                self._pos += 1
            more = self._cap.grab()
            if more:
                self._pos += 1
            return not more
        except VideoError:
            return False

    def _scan_count(self) -> int:
        cap = self._new_capture()
        n = 0
        try:
            while cap.grab():
                n += 1
        finally:
            cap.release()
        self._reopen()
        return n

    def _reopen(self) -> None:
        if self._cap is not None:
            self._cap.release()
        self._cap = self._new_capture()
        self._pos = 0

    @property
    def exact_hash(self) -> str:
        """A hash of every byte (:func:`exact_hash`), computed on first use: the analysis cache's key."""
        h = getattr(self, "_exact_hash", None)
        if h is None:
            try:
                h = self.content_hash if self.is_folder else exact_hash(self.path)
            except OSError as exc:
                raise VideoError(f"{self.path}: cannot read ({exc}); check permissions") from exc
            self._exact_hash = h
        return h

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return self.frame_count

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)``."""
        return self.height, self.width

    def _check_index(self, i: int) -> int:
        if self._closed:
            raise VideoError(f"{self.path}: video is closed")
        i = int(i)
        if i < 0 or i >= max(self.frame_count, self.expected_frames):
            raise VideoError(f"{self.path}: frame {i} out of range (video has {self.frame_count} frames)")
        if i >= self.frame_count:
            raise VideoError(f"{self.path}: frame {i} cannot be decoded: the file is truncated (header says "
                             f"{self.expected_frames} frames, only {self.frame_count} decode); re-copy or "
                             "re-encode the video")
        return i

    def frame(self, i: int) -> np.ndarray:
        """Exactly frame ``i`` as ``H x W x 3`` uint8 RGB (a cached array: do not modify it)."""
        i = self._check_index(i)
        f = self.cache.get(i)
        if f is not None:
            return f
        if self.is_folder:
            f = self._read_image(i)
            self.cache.put(i, f)
            return f
        with self._lock:
            f = self.cache.get(i)
            if f is None:
                f = self._decode_locked(i)
        return f

    __getitem__ = frame

    # ----------------------------------------------------------- display proxy
    def attach_proxy(self, proxy: "Proxy") -> bool:
        """Serve :meth:`display_frame` from ``proxy``; refused (False) when it disagrees on the frame count
        or is not of this file's bytes (its key is :attr:`exact_hash`)."""
        if proxy.frame_count != self.frame_count or proxy.content_hash != self.exact_hash:
            return False
        self.proxy = proxy
        return True

    def use_proxy(self, root: str | os.PathLike, build: bool = True, long_side: int | None = None) -> bool:
        """Attach this video's proxy from ``root`` if it exists, else (``build``) start building it
        in a background thread; :meth:`display_frame` uses it as soon as it is finished (and the
        frames already written before that). True when a finished proxy is attached now.
        Frame folders need no proxy (every image is its own key frame): always False."""
        from rpan_core.filehash import known_digest
        from rpan_core.proxy import DEFAULT_LONG_SIDE, ProxyBuilder, find_proxy

        if self.is_folder or self._closed:
            return False
        long_side = int(long_side or DEFAULT_LONG_SIDE)
        # the key is the every-byte hash; only a remembered one is used here (this may be the UI thread):
        # an unknown one is computed by the builder's thread, which then finds the proxy or builds it
        key = getattr(self, "_exact_hash", None) or known_digest(self.path)
        if key is not None:
            self._exact_hash = key
            found = find_proxy(root, key, long_side)
            if found is not None:
                if self.attach_proxy(found):
                    return True
                found.close()
        if build and self.proxy_builder is None:
            b = ProxyBuilder(self.path, root, content_hash=key, long_side=long_side)
            self.proxy_builder = b
            threading.Thread(target=self._build_and_attach, args=(b,), daemon=True,
                             name=f"proxy:{self.path.name}").start()
        return False

    def _build_and_attach(self, builder: "ProxyBuilder") -> None:
        try:
            proxy = builder.run()
        except Exception as exc:  # reported through builder.error; the exact path keeps working
            builder.error = exc
            return
        if not self._closed:
            self.attach_proxy(proxy)

    def display_frame(self, i: int) -> Shown:
        """What to show for frame ``i`` at once, cheaply (see :class:`Shown`).

        In order: the exact frame if it is in the cache; the proxy's frame ``i``
        (finished, or already written by a running build); the nearest frame
        already decoded, marked ``"nearest"``; else the exact frame, decoded now.
        """
        i = self._check_index(i)
        f = self.cache.get(i)
        if f is not None:
            return Shown(i, f, "exact", i)
        if self.proxy is not None:
            return Shown(i, self.proxy.frame(i), "proxy", i)
        b = self.proxy_builder
        if b is not None:
            p = b.frame(i)
            if p is not None:
                return Shown(i, p, "proxy", i)
        if not self.is_folder:
            keys = self.cache.keys()
            if keys:
                j = min(keys, key=lambda k: abs(k - i))
                f = self.cache.get(j)
                if f is not None:
                    return Shown(i, f, "nearest", j)
        return Shown(i, self.frame(i), "exact", i)

    def _read_image(self, i: int) -> np.ndarray:
        f = self._files[i]
        bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if bgr is None:
            raise VideoError(f"{self.path}: frame {i} ({f.name}) cannot be read as an image; "
                             "replace or remove the file")
        if self.is_folder and hasattr(self, "height") and bgr.shape[:2] != (self.height, self.width):
            raise VideoError(f"{self.path}: frame {i} ({f.name}) is {bgr.shape[1]}x{bgr.shape[0]}, "
                             f"the folder's first frame is {self.width}x{self.height}; frames must share one size")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _seek_exact(self, i: int) -> None:
        """Leave the capture so that the next ``grab()`` returns frame ``i`` (lock held)."""
        if self._pos - 1 <= i <= self._pos + FORWARD and self._pos > 0:
            return
        if i < FORWARD and self._pos <= i:
            return
        back = max(BACKOFF, 32 if self._unreliable_seek else 0)
        for _ in range(4):
            s = max(0, i - back)
            if s == 0:
                break
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, s)
            if self._cap.grab():
                got = int(round(self._cap.get(cv2.CAP_PROP_POS_FRAMES))) - 1
                if got == s or (0 <= got <= i and got >= s - FORWARD):
                    # The decoder says which frame it just produced; trust it only when
                    # it equals the frame asked for or lies shortly before the target.
                    if got != s:
                        self._unreliable_seek = True
                    self._pos = got + 1
                    return
            self._unreliable_seek = True
            back = max(2 * back, 32)
        self._reopen()

    def _decode_locked(self, i: int) -> np.ndarray:
        if self._cap is None:
            self._reopen()
        ok, bgr = False, None
        for _ in range(2):
            self._seek_exact(i)
            if self._pos != i + 1:
                break
            # the decoder's last frame is i (just grabbed by a verified seek): no re-decode
            ok, bgr = self._cap.retrieve()
            if ok and bgr is not None:
                break
            self._pos = i + 2  # e.g. a failed grab() came after it: force a real seek, then retry
        if not ok or bgr is None:
            if self._pos > i:
                self._reopen()
            while self._pos < i:
                if not self._cap.grab():
                    self._fail(self._pos)
                self._pos += 1
            ok, bgr = self._cap.read()
        if not ok or bgr is None:
            self._fail(i)
        self._pos = i + 1
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        self.cache.put(i, rgb)
        return rgb

    def _fail(self, i: int) -> None:
        self._reopen()
        raise VideoError(f"{self.path}: frame {i} cannot be decoded (file corrupt or truncated near frame {i}); "
                         "re-copy or re-encode the video")

    def frames(self, start: int = 0, stop: int | None = None, bgr: bool = False) -> Iterator[np.ndarray]:
        """Yield frames ``start .. stop-1`` in order, reading forward only (its own decoder).

        One exact positioning at ``start`` (as :meth:`frame` does), then only reads.
        ``stop=None`` means every decodable frame; a ``stop`` past a truncated file's
        readable end raises :class:`VideoError` before anything is yielded. ``bgr``: the
        decoder's own channel order, no conversion (a caller that shrinks the frame first
        swaps the channels of the small image for free: the analysis pipeline)."""
        if stop is not None and int(stop) > self.frame_count:
            self._check_index(int(stop) - 1)  # names the truncation or the range problem
        stop = self.frame_count if stop is None else int(stop)
        start = max(0, int(start))
        if self.is_folder:
            for i in range(start, stop):
                f = self.cache.get(i)
                f = f if f is not None else self._read_image(i)
                yield f[..., ::-1] if bgr else f
            return
        if start >= stop:
            return
        # A private Video-like reader positioned exactly at ``start`` once, then only reading.
        reader = Video.__new__(Video)
        reader.path, reader._cap, reader._pos = self.path, self._new_capture(), 0
        reader._unreliable_seek = self._unreliable_seek
        try:
            if start > 0:
                reader._seek_exact(start)
                if reader._pos > start:
                    reader._reopen()
                while reader._pos < start:
                    if not reader._cap.grab():
                        self._fail(reader._pos)
                    reader._pos += 1
            for i in range(start, stop):
                ok, frame = reader._cap.read()
                if not ok or frame is None:
                    raise VideoError(f"{self.path}: frame {i} cannot be decoded (file corrupt or truncated); "
                                     "re-copy or re-encode the video")
                yield frame if bgr else cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        finally:
            reader._cap.release()

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.frames()

    # ---------------------------------------------------------------- prefetch
    def prefetch(self, i: int, radius: int | None = None) -> None:
        """Ask the background thread to decode frames around ``i`` (returns at once)."""
        if self._closed:
            return
        if radius is not None:
            self.prefetch_radius = int(radius)
        with self._prefetch_cond:
            self._prefetch_target = int(i)
            if self._prefetch_thread is None:
                self._prefetch_thread = threading.Thread(target=self._prefetch_loop, daemon=True,
                                                         name=f"prefetch:{self.path.name}")
                self._prefetch_thread.start()
            self._prefetch_cond.notify()

    def _prefetch_loop(self) -> None:
        while True:
            with self._prefetch_cond:
                while self._prefetch_target is None and not self._closed:
                    self._prefetch_cond.wait()
                if self._closed:
                    return
                target, self._prefetch_target = self._prefetch_target, None
                self._prefetch_busy = True
            r = self.prefetch_radius
            # Forward first (cheap, decoder order), then the frames just behind.
            order = list(range(target, min(self.frame_count, target + r + 1)))
            order += list(range(max(0, target - r), target))
            for j in order:
                if self._closed or self._prefetch_target is not None:
                    break
                if j in self.cache:
                    continue
                try:
                    self.frame(j)
                except VideoError:
                    break
            with self._prefetch_cond:
                self._prefetch_busy = False
                self._prefetch_cond.notify_all()

    def wait_prefetch(self, timeout: float = 10.0) -> bool:
        """Block until the read-ahead thread is idle (for tests and benchmarks); False on timeout."""
        with self._prefetch_cond:
            return self._prefetch_cond.wait_for(
                lambda: self._closed or (self._prefetch_target is None and not self._prefetch_busy), timeout)

    # ----------------------------------------------------------------- closing
    def close(self) -> None:
        """Stop read-ahead, release the decoder and drop the cache."""
        with self._prefetch_cond:
            self._closed = True
            self._prefetch_cond.notify_all()
        t = self._prefetch_thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=5)
        with self._lock:
            if self._cap is not None:
                self._cap.release()
                self._cap = None
        if self.proxy_builder is not None:
            self.proxy_builder.cancel()
        if self.proxy is not None:
            self.proxy.close()
        self.cache.clear()

    def __enter__(self) -> "Video":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Video({str(self.path)!r}, {self.frame_count} frames, {self.width}x{self.height}, "
                f"{self.fps:g} fps)")


def open_video(path: str | os.PathLike, cache_mb: float = 256) -> Video:
    """Open a video file (anything OpenCV reads) or a folder of frame images."""
    return Video(path, cache_mb=cache_mb)
