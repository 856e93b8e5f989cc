"""Frame <-> model input <-> attention cells: the one place where points change coordinates.

Why a module of its own: a portrait 1080 x 1920 frame squashed to a landscape model
input distorts the body the network must recognise, and every place that maps a
joint (training targets, analysis decoding, the studio overlay) must undo exactly the
transformation that produced the input. So a frame enters the model only through a
:class:`Window`: an aspect-preserving similarity (uniform scale and shift, optionally
composed with an augmentation's rotation or flip) from frame pixels to input pixels,
together with the inverse that maps predictions back.

The one convention for points (labels, poses, boxes, every file format, every caller):
**pixel centres at integers**. A point ``(x, y)`` with integer coordinates is the centre
of the pixel in column ``x``, row ``y``; a frame of width ``W`` spans ``[-0.5, W - 0.5]``.
It is what COCO and PennAction keypoints, OpenCV's drawing and warp functions, the
synthetic videos and the studio's view (pixel centres drawn at integer scene
coordinates) use, so a label at pixel ``(x, y)`` means that pixel's centre everywhere.

Inside a :class:`Window` the matrix works on *continuous* coordinates (a pixel covers
``[j, j + 1)``, its centre at ``j + 0.5``), because only there is a pure scale exact:
shrinking a frame by ``s`` maps ``[0, W)`` onto ``[0, s W)``, whereas in centre
coordinates it would also shift by ``(1 - s) / 2``. :meth:`Window.to_input` adds 0.5 on
the way in and :meth:`Window.to_frame` takes it off on the way out, so callers never see
it. Input coordinates (what :meth:`Window.to_input` returns, training targets,
:func:`cells_to_input`, the decoders in :mod:`rpan_core.targets`) are continuous pixels
of the model's input image; they never leave the model's side. Before this rule a frame
point was taken as continuous while labels name pixel centres, which put every target
half a frame pixel (``0.5 x scale`` input pixels, several on an upscaled crop) up-left of
the joint, and a flipped crop down-right of it.

The squashed input of the paper presets (:func:`rpan_core.data.resize_frame` and
:func:`rpan_core.targets.joint_targets` over the frame) does not go through a Window and
still reads a label as continuous: a constant half frame pixel, the same on mirrored clips
(:meth:`rpan_core.skeleton.Skeleton.flip_xy` mirrors pixel centres), so it shifts what the
model learns without blurring it.

Cells: a ``K1 x K2`` attention grid covers the input evenly; cell ``(r, c)`` has its
centre at ``((c + 0.5) * w / K2, (r + 0.5) * h / K1)`` in input pixels
(:func:`cells_to_input`, :func:`input_to_cells`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from rpan_core.errors import ConfigError

Size = tuple[int, int]  # (height, width)
_HALF = 0.5  # frame point (pixel centres at integers) + _HALF = continuous coordinate (pixel edges at integers)


def _as3(m: np.ndarray) -> np.ndarray:
    out = np.eye(3)
    out[:2] = m
    return out


@dataclass(frozen=True)
class Window:
    """An affine map ``frame -> input`` (2 x 3, float64) onto an input of ``input_size`` (h, w)."""

    matrix: np.ndarray
    input_size: Size

    # ---------------------------------------------------------------- constructors
    @classmethod
    def letterbox(cls, frame_size: Size, input_size: Size) -> "Window":
        """The whole frame, scaled to fit the input and centred (bands on the two short sides)."""
        fh, fw = _check_size(frame_size, "frame")
        ih, iw = _check_size(input_size, "input")
        s = min(iw / fw, ih / fh)
        return cls(np.array([[s, 0.0, (iw - fw * s) / 2], [0.0, s, (ih - fh * s) / 2]]), (ih, iw))

    @classmethod
    def around_box(cls, box_xyxy, input_size: Size, margin: float = 0.25) -> "Window":
        """A crop around a person's box with ``margin`` (a fraction of the box side) on every side,
        widened along one axis to the input's aspect ratio, centred on the box."""
        ih, iw = _check_size(input_size, "input")
        x0, y0, x1, y1 = (float(v) for v in box_xyxy)
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            raise ConfigError(f"a person box must have finite corners, not {box_xyxy!r}")
        bw, bh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)  # a box of pixel centres, as labels are
        side_w = bw + 2 * margin * max(bw, bh)
        side_h = bh + 2 * margin * max(bw, bh)
        if side_w / side_h < iw / ih:
            side_w = side_h * iw / ih
        else:
            side_h = side_w * ih / iw
        s = iw / side_w
        cx, cy = (x0 + x1) / 2 + _HALF, (y0 + y1) / 2 + _HALF  # the box's centre, continuous
        return cls(np.array([[s, 0.0, iw / 2 - s * cx], [0.0, s, ih / 2 - s * cy]]), (ih, iw))

    def then(self, input_affine: np.ndarray) -> "Window":
        """This window followed by a 2 x 3 map of input pixels to input pixels (an augmentation)."""
        m = _as3(np.asarray(input_affine, dtype=np.float64)) @ _as3(self.matrix)
        return Window(m[:2], self.input_size)

    def flipped(self) -> "Window":
        """Mirrored left-right inside the input (``x -> w - x``); joints must swap sides too."""
        w = self.input_size[1]
        return self.then(np.array([[-1.0, 0.0, w], [0.0, 1.0, 0.0]]))

    # ---------------------------------------------------------------- points
    @property
    def scale(self) -> float:
        """Input pixels per frame pixel (the map is a similarity: the same along every direction)."""
        return float(math.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))

    def to_input(self, xy) -> np.ndarray:
        """Frame points ``... x 2`` (pixel centres at integers) -> continuous input pixels."""
        p = np.asarray(xy, dtype=np.float64) + _HALF
        return p @ self.matrix[:, :2].T + self.matrix[:, 2]

    def to_frame(self, xy) -> np.ndarray:
        """Continuous input pixels ``... x 2`` -> frame points (the exact inverse of :meth:`to_input`)."""
        inv = np.linalg.inv(_as3(self.matrix))[:2]
        p = np.asarray(xy, dtype=np.float64)
        return p @ inv[:, :2].T + inv[:, 2] - _HALF

    def frame_box(self) -> np.ndarray:
        """(x0, y0, x1, y1) frame points bounding the region the input shows (its outer pixel edges, for
        an unrotated window; it may reach outside the frame, where the input is padding)."""
        ih, iw = self.input_size
        c = self.to_frame(np.array([[0.0, 0.0], [iw, ih]]))
        return np.array([c[:, 0].min(), c[:, 1].min(), c[:, 0].max(), c[:, 1].max()])

    # ---------------------------------------------------------------- images
    def warp(self, frame: np.ndarray, fill: int = 0) -> np.ndarray:
        """The input image: ``frame`` (H x W x C uint8) resampled through the window.

        Strong downscaling is done in two steps (an area-averaging resize, then the
        warp at a moderate scale) so thin limbs do not alias away; the result lines up
        with :meth:`to_input` to a fraction of an input pixel.
        """
        ih, iw = self.input_size
        m = self.matrix.copy()
        src = frame
        s = self.scale
        if s < 0.5:
            fh, fw = frame.shape[:2]
            r = min(1.0, 2.0 * s)
            sw, sh = max(1, int(round(fw * r))), max(1, int(round(fh * r))) 
            src = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA)
            # continuous coordinates scale exactly by (sw / fw, sh / fh) under an area resize
            m[:, 0] *= fw / sw
            m[:, 1] *= fh / sh
        # continuous -> OpenCV's integer-centred pixels: u_cv = u - 0.5 on both sides
        a = m[:, :2]
        t = m[:, 2] + a @ np.array([0.5, 0.5]) - 0.5
        cvm = np.concatenate([a, t[:, None]], 1)
        border = (fill,) * (src.shape[2] if src.ndim == 3 else 1)
        return cv2.warpAffine(src, cvm, (iw, ih), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=border)


_PAD = 3  # zero cells around a grid before warping it (grid_map_to_frame): a bicubic support reaches 2 cells


def grid_map_to_frame(grid_map: np.ndarray, window, input_size: Size, frame_size: Size,
                      out_size: Size | None = None, region: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """A ``K1 x K2`` map over a window's input, resampled onto the frame (``out_size`` pixels covering
    the whole frame, default the frame size); zero where the window did not look.

    ``region = (r0, r1, c0, c1)`` computes only those rows and columns of that output
    (the same values): a person crop covers a small part of the frame, and warping the
    whole frame per person per repaint was most of the cost of several persons' maps.

    Why: attention of a person crop covers only the crop; drawn stretched over the
    whole frame it would sit beside the person. The result covers the frame edge to edge:
    shown over a frame whose pixel centres sit at integers, place it at ``(-0.5, -0.5)``
    with the frame's size, like the frame itself.
    """
    ih, iw = input_size
    fh, fw = frame_size
    oh, ow = out_size or frame_size
    m = np.asarray(window, dtype=np.float64)
    # out pixels -> frame pixels -> input pixels -> grid cells, continuous coordinates:
    # diag(k2/iw, k1/ih, 1) @ window @ diag(fw/ow, fh/oh, 1), written out in scalars (the same products;
    # the matrix form's small-array overhead was most of the cost of a person's heat map on every frame)
    k1, k2 = grid_map.shape[:2]
    fx, fy, cx, cy = fw / ow, fh / oh, k2 / iw, k1 / ih
    (m00, m01, m02), (m10, m11, m12) = m[0].tolist(), m[1].tolist()
    a00, a01, a02 = cx * m00 * fx, cx * m01 * fy, cx * m02
    a10, a11, a12 = cy * m10 * fx, cy * m11 * fy, cy * m12
    t0 = a02 + (a00 * 0.5 + a01 * 0.5) - 0.5  # to OpenCV's integer-centred pixels
    t1 = a12 + (a10 * 0.5 + a11 * 0.5) - 0.5
    dsize = (int(ow), int(oh))
    if region is not None:
        r0, r1, c0, c1 = (int(v) for v in region)
        t0 += a00 * c0 + a01 * r0  # output pixel (u, v) of the region is (u + c0, v + r0)
        t1 += a10 * c0 + a11 * r0
        dsize = (max(0, c1 - c0), max(0, r1 - r0))
        if dsize[0] == 0 or dsize[1] == 0:
            return np.zeros((dsize[1], dsize[0]), np.float32)
    # The grid is padded with _PAD cells of zeros (what BORDER_CONSTANT reads there anyway, so the values are
    # the same): output pixels whose bicubic support crosses the grid's edge (all around a crop) then take
    # OpenCV's fast path instead of its per-pixel border path, which cost 2-3x the whole warp.
    cvm = np.array([[a00, a01, t0 + _PAD], [a10, a11, t1 + _PAD]], np.float64)
    grid = cv2.copyMakeBorder(np.ascontiguousarray(grid_map, dtype=np.float32), _PAD, _PAD, _PAD, _PAD,
                              cv2.BORDER_CONSTANT, value=0)
    out = cv2.warpAffine(grid, cvm, dsize, flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    np.maximum(out, 0.0, out=out)  # bicubic overshoot would paint negative attention
    return out


def _check_size(size, what: str) -> Size:
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"the {what} size must be (height, width), not {size!r}") from exc
    if h < 1 or w < 1:
        raise ConfigError(f"the {what} size must be positive, not {h} x {w}")
    return h, w


def pose_box(xy, visible, min_joints: int = 2) -> np.ndarray | None:
    """(x0, y0, x1, y1) extent of the visible joints, or None when fewer than ``min_joints`` are visible."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    v = np.asarray(visible, dtype=bool).reshape(-1) & np.isfinite(p).all(1)
    if v.sum() < min_joints:
        return None
    q = p[v]
    return np.array([q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()])


def cells_to_input(row, col, input_size: Size, grid: Size) -> np.ndarray:
    """Fractional cell coordinates (row, col) -> input pixels (x, y); cell centres at integer + 0.5."""
    h, w = input_size
    k1, k2 = grid
    return np.stack([(np.asarray(col, dtype=np.float64) + 0.5) * (w / k2),
                     (np.asarray(row, dtype=np.float64) + 0.5) * (h / k1)], -1)


def input_to_cells(xy, input_size: Size, grid: Size) -> np.ndarray:
    """Input pixels (x, y) -> fractional (row, col): the inverse of :func:`cells_to_input`."""
    h, w = input_size
    k1, k2 = grid
    p = np.asarray(xy, dtype=np.float64)
    return np.stack([p[..., 1] * (k1 / h) - 0.5, p[..., 0] * (k2 / w) - 0.5], -1)


def augmentation(input_size: Size, rng: np.random.Generator, *, scale: float = 0.25, rotate_deg: float = 30.0,
                 shift: float = 0.08) -> np.ndarray:
    """A random 2 x 3 input -> input map: zoom by 2**U(-scale, scale), rotate by U(+-rotate_deg),
    shift by U(+-shift) of the input size, all about the input's centre."""
    h, w = input_size
    z = 2.0 ** rng.uniform(-scale, scale)
    a = math.radians(rng.uniform(-rotate_deg, rotate_deg))
    c, s = math.cos(a) * z, math.sin(a) * z
    cx, cy = w / 2, h / 2
    tx = cx - (c * cx - s * cy) + rng.uniform(-shift, shift) * w
    ty = cy - (s * cx + c * cy) + rng.uniform(-shift, shift) * h
    return np.array([[c, -s, tx], [s, c, ty]])
