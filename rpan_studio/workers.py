"""Background work for the studio: frame decoding and long tasks off the UI thread.

Why two kinds of worker:

* :class:`FrameLoader` serves scrubbing. Requests arrive far faster than frames
  decode (dragging a slider over 100k frames), so it keeps only the *newest*
  request (latest-request-wins): one decoder thread takes the pending index, decodes
  it, emits it, and then asks ``Video.prefetch`` to read ahead around it. A request
  that was overtaken before its decode started is simply never decoded, so the view
  never lags behind the cursor by a queue of stale frames. With the video's display
  proxy (``rpan_core.proxy``) a frame is one small JPEG decode: it is shown at once,
  and the exact full-resolution frame follows only when ``exact_wanted`` (labeling
  zoomed in). Before the proxy exists, ``frameNearest`` shows the nearest frame
  already decoded (marked as such by the window) and the exact frame follows.
* :class:`TaskWorker` runs one long call (analysis, an export, building the demo,
  an import) in a QThread with ``progress(done, total)``, a cancel flag the call
  polls, and ``done`` / ``failed`` / ``cancelled`` signals; user-facing failures
  (``RPANError``) arrive as their message, anything else with its traceback.
  :class:`TaskRunner` keeps the running ones by key (one analysis at a time, a new
  one cancels the old) and tells the status bar what is busy. It is the studio's
  one way to run work in the background: the session's analysis, flow, imports and
  exports, and the compare dialog's evaluations all go through it.
"""

from __future__ import annotations

import inspect
import threading
import traceback
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from PyQt6.QtCore import QObject, QThread, pyqtSignal

from rpan_core.errors import RPANError

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.video import Video

__all__ = ["FrameLoader", "TaskWorker", "TaskRunner", "Cancelled"]

_LIVE: set["TaskWorker"] = set()  # running workers, kept alive even if their runner is deleted


class Cancelled(Exception):
    """Raised inside a task's progress callback once cancel was asked for."""


class _DecodeThread(QThread):
    decoded = pyqtSignal(int, int, object)  # generation, frame index, RGB image (exact or proxy)
    nearest = pyqtSignal(int, int, int, object)  # generation, frame index, index of the frame shown, RGB image
    failed = pyqtSignal(int, int, str)  # generation, frame index, message

    def __init__(self, loader: "FrameLoader") -> None:
        super().__init__()
        self.loader = loader

    def run(self) -> None:
        ld = self.loader
        while True:
            with ld._cond:
                while ld._pending is None and not ld._stop:
                    ld._cond.wait()
                if ld._stop:
                    return
                index, gen, video = ld._pending
                ld._pending = None
                ld._busy = True
            try:
                exact = self._serve(ld, video, gen, index)
            except RPANError as exc:
                self.failed.emit(gen, index, str(exc))
            except Exception as exc:  # a closed or broken capture mid-switch
                self.failed.emit(gen, index, f"frame {index}: {exc}")
            else:
                if ld.read_ahead and exact:
                    try:
                        video.prefetch(index)
                    except Exception:
                        pass
            finally:
                with ld._cond:
                    ld._busy = False
                    ld.decode_count += 1
                    ld._cond.notify_all()


    def _serve(self, ld: "FrameLoader", video: Any, gen: int, index: int) -> bool:
        """Emit what to show for ``index``; True when the full-resolution frame was decoded."""
        show = getattr(video, "display_frame", None)
        if show is None:  # a plain frame source (tests): exact frames only
            self.decoded.emit(gen, index, video.frame(index))
            return True
        shown = show(index)
        if shown.kind == "nearest":
            self.nearest.emit(gen, index, shown.source, shown.image)
        else:
            self.decoded.emit(gen, index, shown.image)
        if shown.kind == "exact" or (shown.kind == "proxy" and not ld.exact_wanted):
            return shown.kind == "exact"
        with ld._cond:  # overtaken meanwhile: the newer request goes first
            if ld._pending is not None:
                return False
        self.decoded.emit(gen, index, video.frame(index))
        return True


class FrameLoader(QObject):
    """Decode frames of one ``rpan_core.video.Video`` on a worker thread, newest request first.

    ``request(i)`` returns at once; ``frameReady(i, image)`` arrives on the UI thread
    for the request that was newest when its decode started (older pending requests
    are dropped). ``set_video`` switches videos; results for the old one are dropped.
    """

    frameReady = pyqtSignal(int, object)  # frame index, H x W x 3 uint8 RGB (the proxy's may be smaller)
    frameNearest = pyqtSignal(int, int, object)  # frame index asked for, index of the frame shown, RGB
    frameFailed = pyqtSignal(int, str)

    def __init__(self, parent: QObject | None = None, read_ahead: bool = True) -> None:
        super().__init__(parent)
        self.read_ahead = read_ahead
        #: decode the exact full-resolution frame after the proxy's (set while zoomed in to label)
        self.exact_wanted = False
        self.video: Video | None = None
        self.decode_count = 0  # frames actually decoded (tests: stale requests are skipped)
        self._gen = 0
        self._pending: tuple[int, int, Any] | None = None
        self._busy = False
        self._stop = False
        self._cond = threading.Condition()
        self._thread = _DecodeThread(self)
        self._thread.decoded.connect(self._on_decoded)
        self._thread.nearest.connect(self._on_nearest)
        self._thread.failed.connect(self._on_failed)
        self._thread.start()

    def set_video(self, video: Video | None) -> None:
        with self._cond:
            self._gen += 1
            self._pending = None
            self.video = video

    def request(self, index: int) -> None:
        """Ask for frame ``index``; replaces any request not yet started."""
        with self._cond:
            if self.video is None:
                return
            self._pending = (int(index), self._gen, self.video)
            self._cond.notify_all()

    def idle(self) -> bool:
        with self._cond:
            return self._pending is None and not self._busy

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is pending or decoding (tests, benchmarks)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._pending = None
            self._cond.notify_all()
        self._thread.wait(5000)

    def _on_decoded(self, gen: int, index: int, img: np.ndarray) -> None:
        if gen == self._gen:
            self.frameReady.emit(index, img)

    def _on_nearest(self, gen: int, index: int, source: int, img: np.ndarray) -> None:
        if gen == self._gen:
            self.frameNearest.emit(index, source, img)

    def _on_failed(self, gen: int, index: int, message: str) -> None:
        if gen == self._gen:
            self.frameFailed.emit(index, message)


class TaskWorker(QThread):
    """Run ``fn(*args, **kwargs)`` on a QThread.

    If ``fn`` accepts ``progress`` and/or ``cancel`` keywords they are passed:
    ``progress(done, total)`` emits :attr:`progress` (and raises :class:`Cancelled`
    once :meth:`cancel` was called, for functions that only report progress), and
    ``cancel()`` returns True once cancel was asked for.
    """

    progress = pyqtSignal(int, int)
    done = pyqtSignal(object)
    failed = pyqtSignal(str)
    cancelled = pyqtSignal()

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "", **kwargs: Any) -> None:
        super().__init__()
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.name = name or getattr(fn, "__name__", "task")
        self._cancel = threading.Event()
        self.result: Any = None
        self.error: str | None = None
        self.status = "idle"  # idle | running | done | failed | cancelled

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def _progress(self, done: float, total: float | None = None, *_: Any) -> None:
        if total is None and isinstance(done, float) and 0.0 <= done <= 1.0:
            done, total = done * 1000.0, 1000  # a fraction
        self.progress.emit(int(done), int(total if total is not None else 0))
        if self._cancel.is_set():
            raise Cancelled()

    def run(self) -> None:
        self.status = "running"
        kwargs = dict(self.kwargs)
        try:
            params = inspect.signature(self.fn).parameters
            accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        except (TypeError, ValueError):
            params, accepts_any = {}, False
        if "progress" in params or accepts_any:
            kwargs.setdefault("progress", self._progress)
        if "cancel" in params or accepts_any:
            kwargs.setdefault("cancel", self._cancel.is_set)
        try:
            result = self.fn(*self.args, **kwargs)
        except Cancelled:
            self.status = "cancelled"
            self.cancelled.emit()
            return
        except RPANError as exc:
            if self._cancel.is_set():
                self.status = "cancelled"
                self.cancelled.emit()
                return
            self.status, self.error = "failed", str(exc)
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # a bug: show it, with the traceback, rather than lose it
            self.status = "failed"
            self.error = f"{self.name} failed unexpectedly: {exc}\n\n{traceback.format_exc()}"
            self.failed.emit(self.error)
            return
        if self._cancel.is_set():
            self.status = "cancelled"
            self.cancelled.emit()
            return
        self.result = result
        self.status = "done"
        self.done.emit(result)


class TaskRunner(QObject):
    """Runs :class:`TaskWorker` s by key and reports what is busy (for a progress bar and a cancel button).

    Workers have no Qt parent and are kept alive until they finish, so closing a
    dialog mid-task never deletes a running thread.
    """

    busy = pyqtSignal(str, bool)  # label, cancellable: a task started
    progress = pyqtSignal(str, int, int)  # label, done, total
    idle = pyqtSignal()  # no task is running any more
    failed = pyqtSignal(str)  # a task's error message
    cancelled = pyqtSignal(str)  # the label of a task that was cancelled

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks: dict[str, TaskWorker] = {}

    def run(self, key: str, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
            label: str = "", cancellable: bool = True, **kwargs: Any) -> TaskWorker:
        """Run ``fn(*args, **kwargs)`` in a worker; a task still running under ``key`` is cancelled first."""
        old = self.tasks.get(key)
        if old is not None and old.isRunning():
            old.cancel()
        name = label or key
        w = TaskWorker(fn, *args, name=name, **kwargs)
        self.tasks[key] = w
        _LIVE.add(w)
        w.progress.connect(lambda done, total, w=w: self.progress.emit(w.name, done, total))
        if on_done is not None:
            w.done.connect(on_done)
        w.failed.connect(self.failed)
        w.cancelled.connect(lambda name=name: self.cancelled.emit(name))
        w.finished.connect(lambda w=w, key=key: self._finished(key, w))
        self.busy.emit(name, cancellable)
        w.start()
        return w

    def _finished(self, key: str, w: TaskWorker) -> None:
        _LIVE.discard(w)
        if self.tasks.get(key) is w:
            del self.tasks[key]
        if not self.running():
            self.idle.emit()

    def running(self) -> bool:
        return any(t.isRunning() for t in self.tasks.values())

    def cancel_all(self) -> None:
        for w in list(self.tasks.values()):
            w.cancel()

    def wait_all(self, timeout_ms: int = 60000) -> None:
        for w in list(self.tasks.values()):
            w.wait(timeout_ms)
