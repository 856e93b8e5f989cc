"""Input pipeline for analysis: frames decoded and resized on a background thread, in blocks.

Why: analysis used to decode a frame, resize it, and only then run the network, one
after the other, so its speed was the *sum* of the three costs. Decoding (FFmpeg
inside OpenCV) and resizing (OpenCV) release the GIL, so a plain thread overlaps them
with the network (PyTorch releases the GIL too): the analysis then runs at the speed
of the slower of the two, not their sum. Resizing runs on its own threads beside the
decoder, so on a machine with cores to spare (a GPU machine, where the network is
not on the CPU) the pass runs at the speed of decoding alone. A small queue (``depth`` blocks) bounds
the memory and keeps the decoder at most that far ahead.

Why :func:`area_resize`: ``cv2.INTER_AREA`` (the right filter for a large downscale:
every source pixel counts, no aliasing) is fast only for integer factors; a 1080p
frame to 256x320 takes longer than decoding the frame. Two stages are almost
exact and several times cheaper: an integer-factor area step (OpenCV's fast path)
that keeps at least ``3x`` the target size, then the exact area resize of that
smaller image. The test suite checks the difference to a direct ``INTER_AREA``
stays tiny.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator

import cv2
import numpy as np

__all__ = ["area_resize", "frame_blocks", "auto_batch", "cpu_share", "default_workers", "prefetch"]

#: The integer pre-shrink keeps at least this many source pixels per target pixel on each axis.
AREA_MARGIN = 3


def _divisor_at_most(n: int, limit: int) -> int:
    """The largest divisor of ``n`` that is <= ``limit`` (1 at least): an exact integer shrink."""
    for k in range(max(1, int(limit)), 1, -1):
        if n % k == 0:
            return k
    return 1


def area_resize(img: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """``cv2.INTER_AREA`` resize of ``img`` to ``size_hw``, via exact integer shrinks first (see module doc).

    The shrinks are 2 x 2 halvings while the sides are even and stay at least
    ``AREA_MARGIN`` times the target: OpenCV's vectorised 2 x 2 area path costs a few
    percent of a general one (0.2 vs 1.6 ms on a 1080p plane), so a 1080p frame goes
    1920 -> 960 by halving before the one general area step. Odd sides fall back to one
    integer-divisor shrink."""
    h, w = int(size_hw[0]), int(size_hw[1])
    H, W = img.shape[:2]
    if (H, W) == (h, w):
        return img
    if H <= h or W <= w or (H % h == 0 and W % w == 0):  # an upscale, or OpenCV's own integer fast path
        return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    halved = False
    while H % 2 == 0 and W % 2 == 0 and H // 2 >= AREA_MARGIN * h and W // 2 >= AREA_MARGIN * w:
        H, W, halved = H // 2, W // 2, True
        img = cv2.resize(img, (W, H), interpolation=cv2.INTER_AREA)
    if halved:
        return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    ky = _divisor_at_most(H, H // (AREA_MARGIN * h))
    kx = _divisor_at_most(W, W // (AREA_MARGIN * w))
    if kx * ky > 1:
        img = cv2.resize(img, (W // kx, H // ky), interpolation=cv2.INTER_AREA)
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def auto_batch(device: Any) -> int:
    """Frames per backbone batch for ``device``: 64 on a CPU (the demo network ran at 460 frames/s
    per core with 64 frames a batch vs 380 with 16; the blocks stay small: 64 input-size frames),
    larger on a GPU in proportion to its memory."""
    kind = getattr(device, "type", str(device)).split(":")[0]
    if kind == "cuda":
        try:
            import torch

            idx = getattr(device, "index", None)
            gb = torch.cuda.get_device_properties(idx if idx is not None else 0).total_memory / 2 ** 30
        except Exception:  # no properties (odd driver): a safe middle
            return 64
        return int(max(32, min(512, 16 * gb)))
    if kind == "mps":
        return 32
    return 64


@contextlib.contextmanager
def cpu_share(device: Any, workers: int) -> Iterator[None]:
    """On a CPU, leave cores to the decode and resize threads while the network runs.

    PyTorch's intra-op threads spin while they wait; with the decoder and resize threads
    on the same cores that oversubscription made the network 2-3x slower (measured on 2
    cores). The network gets the cores the pipeline does not use (at least one); the
    previous setting is restored afterwards. Other devices: nothing changes.
    """
    kind = getattr(device, "type", str(device)).split(":")[0]
    if kind != "cpu":
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(before, (os.cpu_count() or 2) - 1 - int(workers))))
    try:
        yield
    finally:
        torch.set_num_threads(before)


_END = object()


def default_workers() -> int:
    """Resize threads beside the decoder: half the cores (the rest decode and feed the network), 2..4.
    Two even on 2 cores: with the decoder's own frame threads, the resize threads and the network
    sharing two cores, a second resize thread keeps the cores busy when one waits (analysis of the
    1080p clips 5-15 % faster, docs/speed.md)."""
    return max(2, min(4, (os.cpu_count() or 2) // 2))


def frame_blocks(frames: Iterable[np.ndarray], block_sizes: Iterable[int], transform: Callable[[np.ndarray], np.ndarray],
                 shape: tuple[int, ...], depth: int = 2, workers: int | None = None, start: bool = False
                 ) -> "FrameBlocks":
    """Yield ``(block, count)`` for each wanted block size: ``count`` frames of ``frames``, each
    passed through ``transform`` into ``block[:count]`` (``len(block)`` = the size asked for,
    ``shape`` = one transformed frame). A background thread decodes (iterates ``frames``) up
    to ``depth`` blocks ahead and hands each frame to ``workers`` resize threads (default
    :func:`default_workers`), so decoding never waits for resizing. ``count`` < the size asked
    for means ``frames`` ran out. An exception in a thread (a decode error) is raised here;
    closing the iterator stops the threads. ``start``: the decode thread starts now (the caller
    does other set-up meanwhile, e.g. builds its model) instead of at the first block asked for;
    the caller must then close the iterator when it does not read it to the end.
    """
    blocks = FrameBlocks(frames, block_sizes, transform, shape, depth, workers)
    if start:
        blocks.start()
    return blocks



def _close_quietly(it: Any) -> None:
    """Close a producer's source iterator (a decoder generator) on its own thread; a failing close
    changes nothing for the consumer, who already has the frames or the error."""
    close = getattr(it, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            pass


class FrameBlocks:
    """The iterator :func:`frame_blocks` returns (its decode thread, resize threads and queue)."""

    def __init__(self, frames: Iterable[np.ndarray], block_sizes: Iterable[int],
                 transform: Callable[[np.ndarray], np.ndarray], shape: tuple[int, ...], depth: int = 2,
                 workers: int | None = None) -> None:
        self._frames, self._sizes, self._transform, self._shape = frames, block_sizes, transform, shape
        self._q: queue.Queue = queue.Queue(maxsize=max(1, int(depth)))
        self._stop = threading.Event()
        self._workers = max(1, int(workers or default_workers()))
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._done = False

    def start(self) -> None:
        if self._thread is not None or self._done:
            return
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="analysis-resize")
        self._thread = threading.Thread(target=self._work, daemon=True, name="analysis-decode")
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        it = iter(self._frames)
        transform, pool = self._transform, self._pool

        def fill(blk: np.ndarray, k: int, fr: np.ndarray) -> None:
            blk[k] = transform(fr)

        try:
            for size in self._sizes:
                blk = np.empty((int(size), *self._shape), np.uint8)
                futures = []
                k = 0
                for k in range(int(size)):
                    if self._stop.is_set():
                        return
                    fr = next(it, None)
                    if fr is None:
                        break
                    futures.append(pool.submit(fill, blk, k, fr))
                else:
                    k = int(size)
                if not self._put((blk, k, futures)) or k < int(size):
                    return
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)
        finally:
            _close_quietly(it)

    def __iter__(self) -> "FrameBlocks":
        return self

    def __next__(self) -> tuple[np.ndarray, int]:
        if self._done:
            self.close()
            raise StopIteration
        self.start()
        try:
            item = self._q.get()
            if item is _END:
                raise StopIteration
            if isinstance(item, BaseException):
                raise item
            blk, k, futures = item
            for f in futures:
                f.result()  # a resize error is raised here
            if k < len(blk):
                self._done = True  # the frames ran out: this is the last block
            return blk, k
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the threads (also when the blocks were not read to the end)."""
        self._done = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __del__(self) -> None:
        if not self._done:
            self._stop.set()


def prefetch(items: Iterable[Any], depth: int = 4, name: str = "analysis-prefetch") -> Iterator[Any]:
    """``items`` in order, produced by a thread up to ``depth`` ahead of the caller.

    Why: an analysis that must run the network frame by frame (the labeling preset follows the
    person: frame t+1's crop comes from frame t's joints, so nothing can be batched) used to
    decode each frame in between two network calls; decoding (FFmpeg inside OpenCV) releases
    the GIL, so on a thread it overlaps the network instead. Errors are raised in the caller;
    closing the iterator stops the thread.
    """
    q: queue.Queue = queue.Queue(maxsize=max(1, int(depth)))
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        it = iter(items)
        try:
            for item in it:
                if not put((item,)):
                    return
            put(_END)
        except BaseException as exc:  # raised in the caller
            put(exc)
        finally:
            _close_quietly(it)

    t = threading.Thread(target=work, daemon=True, name=name)
    t.start()

    def gen() -> Iterator[Any]:
        try:
            while True:
                got = q.get()
                if got is _END:
                    return
                if isinstance(got, BaseException):
                    raise got
                yield got[0]
        finally:
            stop.set()
            t.join(timeout=10)

    return gen()
