"""Analysis frames straight from the decoder's YUV planes: no full-size colour image is ever made.

Why: on a CPU, a 1080p analysis frame used to cost a decode with OpenCV's conversion to
BGR (about 4.5 core-ms; the conversion alone about 1.3) plus an area resize of the three
full-size colour channels (about 2.5), for a 128 x 160 network input. A decoded H.264 /
VP9 frame is YUV 4:2:0: a full-size luma plane (1 byte a pixel) and two quarter-size
chroma planes. Area-resizing the planes (1.5 bytes a pixel instead of 3) and converting
only the small image to RGB does the same work at a fraction of the cost, and PyAV's
decoder alone is cheaper than OpenCV's decode + conversion.

Why it is (almost) the same image as the exact path (OpenCV's BGR frame, then the area
resize of :func:`rpan_core.pipeline.area_resize`): the YUV -> RGB conversion is affine, and
an area resize is a weighted mean, so converting then averaging equals averaging then
converting, up to the rounding and the clipping at 0 / 255 of the full-size frame.
The conversion must be the one OpenCV's FFmpeg backend uses, which follows the stream's
colour metadata (measured on the real clips: BT.709 on the BT.709 VP9 clip, BT.601 where
the matrix is unspecified; limited range unless the stream says full range). FFmpeg's
fixed-point conversion also sits about 1-1.5 grey levels below the exact formula, so the
offset is measured on the video itself:

* :func:`stream_matrix` gives the theoretical matrix for the stream's metadata;
* the first :data:`CHECK_FRAMES` frames are also decoded by the exact path (OpenCV); the
  first one sets the offset, and all of them are compared, small image against small
  image. Within :data:`LIMIT_MEAN` mean / :data:`LIMIT_P99` 99th percentile grey levels
  (the analysis resize's own quality limit, ``tests/core/test_pipeline.py``) the pass
  continues on the planes; otherwise it falls back to the exact path for the whole video
  and says why (:class:`DecodeReport`, stored in the analysis' ``meta.json`` and logged).

Frame-exactness: frame ``i`` is the ``i``-th frame PyAV decodes, checked against OpenCV's
frame ``i`` on the first frames (a shifted stream fails the comparison); if PyAV runs out
before the video's verified frame count the rest comes from the exact path.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator

import cv2
import numpy as np

from rpan_core.pipeline import area_resize

__all__ = ["CHECK_FRAMES", "LIMIT_MEAN", "LIMIT_P99", "DecodeReport", "DeviceResize", "analysis_frames",
           "plane_views", "resize_device", "small_rgb", "small_yuv", "stream_matrix"]

log = logging.getLogger(__name__)

#: Frames decoded by both paths at the start of a video to calibrate and check the fast one.
CHECK_FRAMES = 4
#: Largest mean / 99th-percentile difference (grey levels, small RGB image) the fast path may have
#: to the exact one: the limits the two-stage area resize itself is held to.
LIMIT_MEAN = 0.6
LIMIT_P99 = 6.0
#: PyAV decoder threading in the analysis pass: "AUTO" (frame threads as well as PyAV's default slice
#: threads; most H.264 files have one slice a frame, so slice threads alone leave the decoder on one
#: core). Frame threads cost about 0.4 core-ms a 1080p frame more but let the decoder use whatever
#: the resize threads and the network leave; measured best with 2 resize threads (docs/speed.md).
DECODER_THREADS = "AUTO"
#: Set to 1 to always take the exact path (OpenCV's BGR frames): a check of the fast path's effect.
EXACT_ENV = "RPAN_EXACT_DECODE"

# (Kr, Kb) of the luma equation per FFmpeg AVColorSpace value; anything else is what swscale
# assumes for an unspecified matrix: BT.601.
_KR_KB = {1: ("bt709", 0.2126, 0.0722), 4: ("fcc", 0.30, 0.11), 5: ("bt601", 0.299, 0.114),
          6: ("bt601", 0.299, 0.114), 7: ("smpte240m", 0.212, 0.087), 9: ("bt2020", 0.2627, 0.0593),
          10: ("bt2020", 0.2627, 0.0593)}
_PLANAR_420 = {"yuv420p", "yuvj420p"}
_JPEG_RANGE = 2  # AVCOL_RANGE_JPEG


def stream_matrix(colorspace: int | None, color_range: int | None, pix_fmt: str) -> tuple[str, np.ndarray]:
    """The YUV -> RGB conversion FFmpeg applies for this stream: ``(name, 3 x 4 float32)``.

    ``M @ [Y, U, V, 1]`` is ``[R, G, B]`` in grey levels. The matrix follows the stream's
    colour space (BT.601 when unspecified, as swscale does) and range (full for
    ``yuvj420p`` or a JPEG-range flag, else limited: Y 16-235, chroma 16-240).
    """
    name, kr, kb = _KR_KB.get(int(colorspace or 0), ("bt601", 0.299, 0.114))
    full = pix_fmt.startswith("yuvj") or int(color_range or 0) == _JPEG_RANGE
    kg = 1.0 - kr - kb
    ys, cs, y0 = (1.0, 1.0, 0.0) if full else (255.0 / 219.0, 255.0 / 224.0, 16.0)
    lin = np.array([[ys, 0.0, 2 * (1 - kr) * cs],
                    [ys, -2 * kb * (1 - kb) / kg * cs, -2 * kr * (1 - kr) / kg * cs],
                    [ys, 2 * (1 - kb) * cs, 0.0]])
    off = -lin @ np.array([y0, 128.0, 128.0])
    return f"{name}-{'full' if full else 'limited'}", np.c_[lin, off].astype(np.float32)


def plane_views(frame: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Y, U and V planes of a planar 4:2:0 ``av.VideoFrame`` as numpy views (no copy; keep the frame)."""
    out = []
    for p in frame.planes[:3]:
        a = np.frombuffer(p, np.uint8, count=p.line_size * p.height).reshape(p.height, p.line_size)
        out.append(a[:, :p.width])
    return out[0], out[1], out[2]


def small_yuv(frame: Any, size_hw: tuple[int, int]) -> np.ndarray:
    """The ``size_hw`` x 3 YUV image of a 4:2:0 frame, each plane area-resized on its own.

    (One 3-channel resize of the luma plane halved to the chroma size with the chroma
    planes was tried: no faster on 1080p, and 0.1 grey levels further from the exact path.)"""
    y, u, v = plane_views(frame)
    return cv2.merge([area_resize(y, size_hw), area_resize(u, size_hw), area_resize(v, size_hw)])


def small_rgb(frame: Any, size_hw: tuple[int, int], matrix: np.ndarray) -> np.ndarray:
    """RGB uint8 ``size_hw`` image of a 4:2:0 frame: the planes area-resized (:func:`small_yuv`), then
    converted with ``matrix`` (3 x 4, :func:`stream_matrix` plus the measured offset)."""
    return cv2.transform(small_yuv(frame, size_hw), matrix)  # rounds and saturates to uint8


#: Where the fast path resizes and converts the planes: "auto" (on the network's device when it is a CUDA
#: GPU, else on the CPU's resize threads), "cpu", or "device" (on the device analysis runs on, whatever it
#: is: how the tests run the GPU path on a CPU).
RESIZE_ON_ENV = "RPAN_RESIZE_ON"


def _area_matrix(src: int, dst: int) -> np.ndarray:
    """``dst x src`` weights of an exact area (box) downscale along one axis: output pixel ``i`` is the mean
    of the source interval ``[i, i + 1) * src / dst``, pixels cut by its ends counted by their overlap
    (what ``cv2.INTER_AREA`` computes for a downscale)."""
    scale = src / dst
    a = np.zeros((dst, src), np.float64)
    for i in range(dst):
        lo, hi = i * scale, (i + 1) * scale
        for j in range(int(np.floor(lo)), min(src, int(np.ceil(hi)))):
            a[i, j] = min(hi, j + 1) - max(lo, j)
    return (a / scale).astype(np.float32)


class DeviceResize:
    """The fast path's resize and colour conversion on a torch device (a GPU), so the CPU only decodes.

    Why: on a GPU machine the network leaves the CPU, and the plane resizes (about 2.5 core-ms a 1080p
    frame, as much as the decode itself) become what holds the analysis below the decode speed. Here
    each plane is uploaded as the decoder wrote it (padded rows, one contiguous copy) and area-resized
    exactly by two small matrix products (:func:`_area_matrix`), then converted with the same 3 x 4
    matrix as :func:`small_rgb`, in float, rounded once at the end. It is the CPU path's result within
    its own limits (it skips the CPU path's intermediate rounding of the small planes and its two-stage
    resize): ``tests/core/test_yuv_frames.py`` runs it on the CPU against :func:`small_rgb`.
    Only for downscales (every plane at least the input size): :meth:`usable`.
    """

    def __init__(self, device: Any, frame: Any, size_hw: tuple[int, int], matrix: np.ndarray) -> None:
        import torch

        self._torch = torch
        self.device = torch.device(device)
        h, w = int(size_hw[0]), int(size_hw[1])
        y, u, _ = plane_views(frame)
        put = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(self.device)  # noqa: E731
        self._ay, self._axt = put(_area_matrix(y.shape[0], h)), put(_area_matrix(y.shape[1], w).T)
        self._cy, self._cxt = put(_area_matrix(u.shape[0], h)), put(_area_matrix(u.shape[1], w).T)
        self._m, self._off = put(matrix[:, :3].astype(np.float32)), put(matrix[:, 3].astype(np.float32))

    @staticmethod
    def usable(frame: Any, size_hw: tuple[int, int]) -> bool:
        return (frame.format.name in _PLANAR_420 and frame.height // 2 >= size_hw[0]
                and frame.width // 2 >= size_hw[1])

    def __call__(self, frame: Any) -> np.ndarray:
        torch = self._torch
        small = []
        for p, (a, bt) in zip(frame.planes[:3], [(self._ay, self._axt), (self._cy, self._cxt), (self._cy, self._cxt)]):
            rows = np.frombuffer(p, np.uint8, count=p.line_size * p.height).reshape(p.height, p.line_size)
            t = torch.from_numpy(rows).to(self.device, non_blocking=False)[:, :p.width].float()
            small.append(a @ t @ bt)
        yuv = torch.stack(small)  # 3 x h x w
        rgb = torch.einsum("ck,khw->hwc", self._m, yuv) + self._off
        return rgb.round_().clamp_(0, 255).to(torch.uint8).cpu().numpy()


def resize_device(device: Any) -> Any:
    """The device the fast path resizes on for an analysis on ``device`` (None: the CPU), per
    :data:`RESIZE_ON_ENV`."""
    want = os.environ.get(RESIZE_ON_ENV, "auto").strip().lower() or "auto"
    if device is None or want == "cpu":
        return None
    kind = getattr(device, "type", str(device)).split(":")[0]
    if want == "device" or kind == "cuda":
        return device
    return None


@dataclass
class DecodeReport:
    """How an analysis pass got its frames (stored as ``meta["decode"]``).

    ``path``: ``"yuv"`` (PyAV planes, resized then converted), ``"exact"`` (OpenCV's BGR
    frames, resized) or ``"yuv+exact"`` (planes, then the exact path after PyAV ran out).
    ``matrix``: the conversion used; ``check_mean`` / ``check_p99``: the fast path's
    difference to the exact one on the checked frames; ``reason``: why the exact path was
    taken (None when it was not); ``resize_on``: where the planes were resized and converted
    (``"cpu"``: OpenCV on the resize threads; ``"torch cuda:0"`` etc.: :class:`DeviceResize`).
    """

    path: str = "exact"
    matrix: str | None = None
    offset: list[float] | None = None
    check_frames: int = 0
    check_mean: float | None = None
    check_p99: float | None = None
    reason: str | None = None
    resize_on: str = "cpu"
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


class _Ready:
    """A frame already at the network's size (RGB): the checked frames, computed by the exact path."""

    __slots__ = ("rgb",)

    def __init__(self, rgb: np.ndarray) -> None:
        self.rgb = rgb


def _exact_small(bgr: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    return np.ascontiguousarray(area_resize(bgr, size_hw)[..., ::-1])


def _compare(fast: list[np.ndarray], exact: list[np.ndarray]) -> tuple[float, float]:
    d = np.abs(np.stack(fast).astype(np.int16) - np.stack(exact).astype(np.int16))
    return float(d.mean()), float(np.percentile(d, 99))


def analysis_frames(video: Any, size_hw: tuple[int, int], *, check_frames: int = CHECK_FRAMES,
                    matrix_for: Callable[..., tuple[str, np.ndarray]] = stream_matrix, device: Any = None,
                    ) -> tuple[Iterator[Any], Callable[[Any], np.ndarray], DecodeReport]:
    """Every frame of ``video`` (an open :class:`rpan_core.video.Video`) for analysis at ``size_hw``.

    Returns ``(frames, transform, report)`` for :func:`rpan_core.pipeline.frame_blocks`:
    ``frames`` yields ``video.frame_count`` items in order (decoded on the caller's
    thread), ``transform(item)`` makes the RGB uint8 ``size_hw`` input of one (it runs on
    the resize threads), and ``report`` is filled in as the frames are read (complete once
    ``frames`` is exhausted). The fast path (see the module doc) is used when PyAV can
    decode the file as planar 4:2:0 and the check passes; otherwise the exact path.
    ``matrix_for(colorspace, color_range, pix_fmt)`` picks the conversion (a parameter so
    a test can hand it a wrong one and see the check fall back). ``device``: the network's
    device; on a CUDA GPU the planes are resized and converted there (:class:`DeviceResize`,
    :func:`resize_device`), checked like the CPU path on the first frames.
    """
    size_hw = (int(size_hw[0]), int(size_hw[1]))
    report = DecodeReport()
    n = int(video.frame_count)

    def transform(item: Any) -> np.ndarray:
        if isinstance(item, _Ready):
            return item.rgb
        if isinstance(item, np.ndarray):  # the exact path's BGR frame
            return area_resize(item, size_hw)[..., ::-1]
        if on_device[0] is not None:
            return on_device[0](item)
        return small_rgb(item, size_hw, report_matrix[0])

    report_matrix: list[np.ndarray] = [np.zeros((3, 4), np.float32)]
    on_device: list[DeviceResize | None] = [None]

    def exact(start: int = 0) -> Iterator[np.ndarray]:
        return video.frames(start=start, stop=n, bgr=True)

    def why_not() -> str | None:
        if os.environ.get(EXACT_ENV, "").strip() not in ("", "0"):
            return f"{EXACT_ENV} is set"
        if getattr(video, "is_folder", False):
            return "a folder of images (no video stream)"
        try:
            import av  # noqa: F401
        except ImportError:
            return "PyAV is not installed"
        return None

    def gen() -> Iterator[Any]:
        reason = why_not()
        if reason is not None:
            report.path, report.reason = "exact", reason
            yield from exact()
            return
        import av

        try:
            container = av.open(str(video.path))
        except (av.FFmpegError, OSError) as exc:
            report.path, report.reason = "exact", f"PyAV cannot open the file ({exc})"
            yield from exact()
            return
        try:
            stream = container.streams.video[0]
            stream.thread_type = DECODER_THREADS
            decoded = container.decode(stream)
            k = min(int(check_frames), n)
            head = []
            for fr in decoded:
                head.append(fr)
                if len(head) >= k:
                    break
            # the exact frames of the head through the video's own (verified, cached) decoder: no second
            # capture to open; frame 0 is already decoded at open. RGB, so no swap (the resize is per channel)
            exact_head = [np.ascontiguousarray(area_resize(video.frame(i), size_hw)) for i in range(len(head))]
            fmt = head[0].format.name if head else "?"
            if not head:
                report.path, report.reason = "exact", "PyAV decodes no frame"
            elif fmt not in _PLANAR_420:
                report.path, report.reason = "exact", f"pixel format {fmt} (the fast path reads planar 4:2:0)"
            else:
                f0 = head[0]
                name, m = matrix_for(f0.colorspace, f0.color_range, fmt)
                ok_px = ((exact_head[0] > 0) & (exact_head[0] < 255)).all(-1)
                resid = (exact_head[0].astype(np.float32) - _float_transform(f0, size_hw, m))[ok_px]
                offset = resid.mean(0) if resid.size else np.zeros(3, np.float32)
                m = m.copy()
                m[:, 3] += offset
                report_matrix[0] = m
                rdev = resize_device(device)
                if rdev is not None and DeviceResize.usable(f0, size_hw):
                    on_device[0] = DeviceResize(rdev, f0, size_hw, m)
                    report.resize_on = f"torch {on_device[0].device}"
                fast = [transform(f) for f in head]
                mean, p99 = _compare(fast, exact_head)
                report.matrix, report.offset = name, [round(float(o), 3) for o in offset]
                report.check_frames, report.check_mean, report.check_p99 = len(head), round(mean, 3), round(p99, 2)
                if mean > LIMIT_MEAN or p99 > LIMIT_P99:
                    report.path = "exact"
                    report.reason = (f"the YUV path differs from the exact one by {mean:.2f} mean / {p99:.1f} p99 "
                                     f"grey levels on the first {len(head)} frames (limit {LIMIT_MEAN} / "
                                     f"{LIMIT_P99:g}; matrix {name})")
                else:
                    report.path = "yuv"
            if report.path == "exact":
                on_device[0], report.resize_on = None, "cpu"
                log.info("%s: analysis decodes with OpenCV (exact path): %s", video.path, report.reason)
                container.close()
                container = None
                for small in exact_head:
                    yield _Ready(small)
                yield from exact(len(exact_head))
                return
            for small in exact_head:  # the checked frames: the exact ones are at hand
                yield _Ready(small)
            i = len(exact_head)
            for fr in decoded:
                if i >= n:
                    report.notes.append("PyAV decodes more frames than the verified count; the extra ones are "
                                        "not analyzed")
                    break
                yield fr
                i += 1
            container.close()
            container = None
            if i < n:
                report.path = "yuv+exact"
                report.notes.append(f"PyAV stopped after {i} of {n} frames; the rest was decoded by OpenCV")
                log.info("%s: PyAV stopped after %d of %d frames; the rest decodes with OpenCV", video.path, i, n)
                yield from exact(i)
        finally:
            if container is not None:
                container.close()

    return gen(), transform, report


def _float_transform(frame: Any, size_hw: tuple[int, int], m: np.ndarray) -> np.ndarray:
    """The small planes converted with ``m`` in float, unrounded and unclipped (to measure the offset)."""
    return cv2.transform(small_yuv(frame, size_hw).astype(np.float32), m)
