"""Exports for sharing and papers: the video with overlays (mp4), and PNG figures.

Why the mp4 is rendered with NumPy/OpenCV and not by grabbing the widget: grabbing
would tie the export to the window's size and zoom and to the UI thread; drawing
with :func:`rpan_studio.views.overlays.draw_overlays` (the same maths as the live view)
lets the export run in a worker at the video's own resolution, reading frames
sequentially (``Video.frames``, no seeks) while the person keeps working.

The PNG figures are Qt renders: the current view and the dynamics plot are widget
grabs; the confusion matrix is painted with QPainter from the evaluation's counts
(no plotting library needed), one cell per (true, predicted) pair with its count.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import cv2
import numpy as np

from rpan_core.atomic import is_disk_full, temp_name, write_bytes
from rpan_core.errors import RPANError, VideoError
from rpan_studio.views.overlays import (OtherPerson, OverlayOptions, confidence_scale, draw_overlays,
                                       normalized_confidence)

if TYPE_CHECKING:  # pragma: no cover
    from PyQt6.QtGui import QImage, QPixmap
    from PyQt6.QtWidgets import QWidget

    from rpan_studio.state import AnalysisLike

__all__ = ["export_overlay_video", "exported_caption", "save_widget_png", "save_confusion_png", "confusion_from_result", "caption_for"]


def caption_for(probs_t: np.ndarray, classes: Sequence[str]) -> str:
    """'jump 87%': the most probable action at this step and its probability.

    A model with one class (trained on poses alone) reads no action: its "100 %" would be
    shown like a finding, so the caption says what the model is instead.
    """
    if len(classes) < 2:
        return "poses only (the model has no action classes)"
    p = np.asarray(probs_t, dtype=np.float64)
    c = int(np.argmax(p))
    name = classes[c] if c < len(classes) else f"class {c}"
    return f"{name} {100.0 * p[c]:.0f}%"


def exported_caption(probs_t: np.ndarray, classes: Sequence[str], warnings: Sequence[str] = ()) -> str:
    """The caption burned into an exported frame: the action (:func:`caption_for`), or, when the model's
    output on this video is not an estimate (``warnings``: the studio banner's sentences, from
    ``Session.model_warnings``), those sentences instead and no action name.

    Why: the exported video travels without the studio's banner; an action caption there would present
    the synthetic model's guess on a real video as a finding, which the view itself refuses to do.
    """
    if warnings:  # the video font has ASCII only
        text = "NOT AN ESTIMATE: " + " | ".join(warnings)
        return text.replace("\u2014", "-").encode("ascii", "replace").decode("ascii")
    return caption_for(probs_t, classes)


def export_overlay_video(video_path: str | os.PathLike, analysis: AnalysisLike | None, out_path: str | os.PathLike, *,
                         opts: OverlayOptions | None = None, edges: Sequence[tuple[int, int]] = (),
                         start: int = 0, stop: int | None = None, fps: float | None = None,
                         warnings: Sequence[str] = (), others: Sequence[tuple[AnalysisLike, tuple[int, int, int], str]] = (),
                         progress: Callable[[int, int], None] | None = None,
                         cancel: Callable[[], bool] | None = None) -> Path:
    """Write frames ``start..stop`` of the video with overlays to an H.264 mp4 (yuv420p, fast start: plays in
    browsers and common players; PyAV's libx264); returns the path.

    ``analysis`` provides ``attention``, ``xy``, ``conf``, ``probs``, ``classes``
    (frames past its length are written without overlays). ``warnings``: why the model's output here is
    not an estimate (see :func:`exported_caption`). ``others``: the other persons of a video of several
    persons, ``(their analysis, RGB colour, name)``, drawn in their colours with their boxes and names
    (as the studio shows them). Written to a temporary
    name and renamed at the end, so a cancelled or failed export leaves no half file.
    """
    from rpan_core.video import open_video

    out = Path(out_path)
    if out.suffix.lower() != ".mp4":
        out = out.with_suffix(".mp4")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(out)  # the pid-tagged temp name the orphan sweeps know (a killed export leaves no litter)
    opts = opts or OverlayOptions()
    with open_video(video_path) as video:
        stop = video.frame_count if stop is None else min(int(stop), video.frame_count)
        start = max(0, int(start))
        if stop <= start:
            raise VideoError(f"{video_path}: nothing to export between frames {start} and {stop}; "
                             "choose a non-empty range")
        w, h = video.width, video.height
        writer = H264Writer(tmp, float(fps or video.fps or 25.0), w, h)
        n_an = 0 if analysis is None else int(np.asarray(analysis.probs).shape[0])
        classes = [] if analysis is None else list(analysis.classes)
        scale = 1.0 if analysis is None else confidence_scale(analysis.conf)  # the live view's colour scale
        total = stop - start
        try:
            for k, frame in enumerate(video.frames(start, stop)):
                if cancel is not None and cancel():
                    raise _Cancel()
                t = start + k
                around = [OtherPerson(np.asarray(a.xy[t], np.float64), colour, name,
                                      None if getattr(a, "boxes", None) is None else np.asarray(a.boxes[t], np.float64))
                          for a, colour, name in others if t < int(np.asarray(a.xy).shape[0])]
                if t < n_an:
                    conf = normalized_confidence(np.asarray(analysis.conf[t], np.float32) / scale)
                    win = getattr(analysis, "window", None)
                    img = draw_overlays(frame, attention=np.asarray(analysis.attention[t]), xy=analysis.xy[t],
                                        window=None if win is None else np.asarray(win[t], np.float64),
                                        input_size=getattr(analysis, "input_size", None),
                                        conf=conf, edges=edges,
                                        caption=exported_caption(analysis.probs[t], classes, warnings), opts=opts,
                                        others=around)
                elif around:
                    img = draw_overlays(frame, edges=edges, opts=opts, others=around)
                else:
                    img = frame
                writer.write(img)
                if progress is not None:
                    progress(k + 1, total)
        except _Cancel:
            writer.release()
            tmp.unlink(missing_ok=True)
            raise RPANError(f"{out}: export cancelled; nothing was written") from None
        except BaseException:
            writer.release()
            tmp.unlink(missing_ok=True)
            raise
        writer.release()
    os.replace(tmp, out)
    return out


class _Cancel(Exception):
    pass


class H264Writer:
    """RGB frames -> an H.264 mp4 (yuv420p, ``+faststart``) through PyAV: what browsers and most players play
    (OpenCV's mp4v is MPEG-4 Part 2, which they do not). Odd sizes are padded by one black pixel (4:2:0)."""

    def __init__(self, path: str | os.PathLike, fps: float, width: int, height: int, crf: int = 20) -> None:
        from fractions import Fraction

        import av

        self.path = Path(path)
        codec = next((c for c in ("libx264", "h264", "libopenh264") if c in av.codecs_available), None)
        if codec is None:
            raise RPANError("this PyAV build has no H.264 encoder; reinstall the `av` package from PyPI "
                            "(its wheels include libx264)")
        try:
            self.container = av.open(str(self.path), "w", format="mp4", options={"movflags": "+faststart"})
        except (OSError, av.FFmpegError) as exc:
            raise RPANError(f"{self.path}: cannot write a video here ({exc}); choose another folder") from exc
        self.stream = self.container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        self.width, self.height = width + width % 2, height + height % 2
        self.stream.width, self.stream.height = self.width, self.height
        self.stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            self.stream.options = {"crf": str(crf), "preset": "veryfast"}

    def write(self, rgb: np.ndarray) -> None:
        import av

        h, w = rgb.shape[:2]
        if (w, h) != (self.width, self.height):
            rgb = cv2.copyMakeBorder(rgb, 0, self.height - h, 0, self.width - w, cv2.BORDER_CONSTANT, value=0)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb, dtype=np.uint8), format="rgb24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def release(self) -> None:
        if self.container is None:
            return
        try:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
        finally:
            self.container.close()
            self.container = None


def save_widget_png(widget: QWidget, path: str | os.PathLike) -> Path:
    """Grab a widget (the view, a plot) as it is on screen and save it as PNG."""
    return _save_png(widget.grab(), path)


def _save_png(image: QImage | QPixmap, path: str | os.PathLike) -> Path:
    """Encode to PNG in memory, then write it atomically: a full disk or a kill leaves no half file."""
    from PyQt6.QtCore import QBuffer, QByteArray, QIODevice

    out = Path(path)
    if out.suffix.lower() != ".png":
        out = out.with_suffix(".png")
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buf, "PNG")
    buf.close()
    if not ok:
        raise RPANError(f"{out}: could not encode the PNG ({image.width()}x{image.height()})")
    try:
        return write_bytes(out, bytes(data))
    except OSError as exc:
        what = "the disk is full; free some space" if is_disk_full(exc) else \
            "check the folder exists and is writable"
        raise RPANError(f"{out}: could not write the PNG ({exc.strerror or exc}); {what}") from exc


def confusion_from_result(result: dict) -> tuple[np.ndarray, list[str]]:
    """(C x C counts, class names) from ``rpan_core.evaluate.evaluate``'s result dict."""
    for key in ("confusion", "confusion_matrix", "confusion_counts"):
        if key in result:
            m = np.asarray(result[key], dtype=np.float64)
            break
    else:
        raise RPANError("the evaluation result has no confusion matrix; re-run the evaluation "
                        "with a current rpan_core.evaluate")
    classes = list(result.get("classes") or [str(i) for i in range(m.shape[0])])
    return m, classes


def save_confusion_png(matrix: np.ndarray, classes: Sequence[str], path: str | os.PathLike,
                       title: str = "confusion matrix (rows: true, columns: predicted)", cell: int = 44) -> Path:
    """Paint a confusion matrix (row-normalized colours, counts written in) to PNG with QPainter."""
    from PyQt6.QtCore import QRectF, Qt
    from PyQt6.QtGui import QColor, QFont, QImage, QPainter

    m = np.asarray(matrix, dtype=np.float64)
    n = m.shape[0]
    if m.ndim != 2 or m.shape[1] != n:
        raise RPANError(f"a confusion matrix must be square, got shape {m.shape}")
    rows = m.sum(axis=1, keepdims=True)
    frac = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    left, top = 130, 40
    bottom = 110
    w, h = left + n * cell + 20, top + n * cell + bottom
    img = QImage(w, h, QImage.Format.Format_RGB32)
    img.fill(QColor(255, 255, 255))
    p = QPainter(img)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont()
        font.setPointSize(9)
        p.setFont(font)
        p.drawText(QRectF(0, 4, w, 24), Qt.AlignmentFlag.AlignCenter, title)
        for i in range(n):
            for j in range(n):
                v = frac[i, j]
                col = QColor(int(255 - 200 * v), int(255 - 150 * v), int(255 - 40 * v))
                r = QRectF(left + j * cell, top + i * cell, cell, cell)
                p.fillRect(r, col)
                p.setPen(QColor(255, 255, 255) if v > 0.6 else QColor(0, 0, 0))
                p.drawText(r, Qt.AlignmentFlag.AlignCenter, f"{int(round(m[i, j]))}")
            p.setPen(QColor(0, 0, 0))
            name = classes[i] if i < len(classes) else str(i)
            p.drawText(QRectF(4, top + i * cell, left - 10, cell),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
            p.save()
            p.translate(left + i * cell + cell / 2, top + n * cell + 6)
            p.rotate(60)
            p.drawText(QRectF(0, -8, bottom, 16), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
            p.restore()
        p.setPen(QColor(80, 80, 80))
        p.drawRect(QRectF(left, top, n * cell, n * cell))
    finally:
        p.end()
    return _save_png(img, path)
