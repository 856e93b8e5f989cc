"""What is drawn over a frame: attention heat maps, the estimated skeleton, the caption.

Why a module of plain NumPy/OpenCV functions next to the pyqtgraph items: the same
heat map and skeleton must appear in the live view and in an exported mp4, so the
maths (which joints a "part" or "all joints" map combines, how a K1 x K2 grid is
upsampled to the frame, how confidence becomes a colour) is written once here and
both the view (:mod:`rpan_studio.views.video_view`) and the exporter
(:mod:`rpan_studio.export`) call it.

Grid geometry: attention cell (r, c) of a K1 x K2 grid covers frame pixels
``[c*W/K2, (c+1)*W/K2) x [r*H/K1, (r+1)*H/K1)`` (the convention of
``rpan_core.targets.cell_centers``). ``cv2.resize`` maps pixel centres the same
way (half-pixel aligned), so a bicubic resize of the grid to ``H x W`` puts each
cell's value on the centre of its block of pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

__all__ = [
    "HEAT_MODES",
    "confidence_scale",
    "OverlayOptions",
    "OtherPerson",
    "attention_map",
    "colorize_heat",
    "confidence_rgb",
    "draw_overlays",
    "flow_rgba",
    "flow_wheel",
    "heat_rgba",
    "heat_rgba_persons",
    "upsample_map",
]

# joint: one joint's map; part: the mean over a body part's joints; mean / max: over all joints.
HEAT_MODES = ("joint", "part", "mean", "max")
HEAT_CMAP = "inferno"


@dataclass
class OverlayOptions:
    """Which overlay layers are on and how they look (shared by the view and the exporter)."""

    heat: bool = True
    heat_mode: str = "mean"  # one of HEAT_MODES
    joint: int = 0  # for heat_mode == "joint"
    part_joints: Sequence[int] = ()  # for heat_mode == "part"
    opacity: float = 0.6
    skeleton: bool = True
    caption: bool = True
    annotation: bool = True


def attention_map(attention: np.ndarray, mode: str = "mean", joint: int = 0,
                  part_joints: Sequence[int] = ()) -> np.ndarray:
    """One K1 x K2 float32 map from a frame's attention ``J x K1 x K2``.

    ``joint``: that joint's map; ``part``: the mean of ``part_joints``' maps;
    ``mean`` / ``max``: over all joints.
    """
    a = np.asarray(attention, dtype=np.float32)
    if a.ndim != 3:
        raise ValueError(f"attention must be J x K1 x K2, got shape {a.shape}")
    if mode == "joint":
        if not 0 <= joint < a.shape[0]:
            raise ValueError(f"joint {joint} out of range 0..{a.shape[0] - 1}")
        return a[joint]
    if mode == "part":
        idx = [int(j) for j in part_joints if 0 <= int(j) < a.shape[0]]
        if not idx:
            raise ValueError("part heat map needs the joints of a body part")
        return a[idx].mean(axis=0)
    if mode == "mean":
        return a.mean(axis=0)
    if mode == "max":
        return a.max(axis=0)
    raise ValueError(f"unknown heat-map mode {mode!r}; use one of {', '.join(HEAT_MODES)}")


def upsample_map(grid_map: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic upsampling of a K1 x K2 map to ``size = (H, W)``, clipped to be non-negative."""
    h, w = int(size[0]), int(size[1])
    out = cv2.resize(np.ascontiguousarray(grid_map, dtype=np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    np.maximum(out, 0.0, out=out)  # bicubic overshoot would paint negative attention
    return out


_LUTS: dict[str, np.ndarray] = {}


def _lut(name: str = HEAT_CMAP) -> np.ndarray:
    """A 256 x 3 uint8 colour table (pyqtgraph's maps; numpy only at call time)."""
    if name not in _LUTS:
        import pyqtgraph as pg  # the colour tables only; no widget is made

        _LUTS[name] = np.asarray(pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=False), np.uint8)
    return _LUTS[name]


def colorize_heat(values: np.ndarray, opacity: float = 0.6, cmap: str = HEAT_CMAP) -> np.ndarray:
    """An H x W x 4 uint8 RGBA image of a non-negative map, scaled by its own maximum.

    Alpha grows with the value (``opacity`` at the peak, transparent at zero), so the
    frame stays visible where the network does not look.
    """
    v = np.asarray(values, dtype=np.float32)
    peak = float(v.max()) if v.size else 0.0
    norm = v / peak if peak > 0 else np.zeros_like(v)
    idx = np.clip(norm * 255.0 + 0.5, 0, 255).astype(np.uint8)
    rgba = np.empty(v.shape + (4,), np.uint8)
    rgba[..., :3] = _lut(cmap)[idx]
    rgba[..., 3] = np.clip(np.sqrt(norm) * (255.0 * float(np.clip(opacity, 0.0, 1.0))), 0, 255).astype(np.uint8)
    return rgba


def heat_rgba(attention: np.ndarray, frame_size: tuple[int, int], opts: OverlayOptions,
              max_side: int = 640, window: np.ndarray | None = None,
              input_size: tuple[int, int] | None = None) -> np.ndarray:
    """The coloured heat map of one frame's attention, upsampled toward ``frame_size = (H, W)``.

    The resize target is capped at ``max_side`` pixels on the longer side (the view
    stretches the image over the frame rect), which keeps a 4K frame cheap. With the
    analysis' ``window`` (frame -> model input) and ``input_size`` the map is placed
    where the model looked (a letterboxed frame, a person crop).
    """
    m = attention_map(attention, opts.heat_mode, opts.joint, opts.part_joints)
    h, w = int(frame_size[0]), int(frame_size[1])
    s = min(1.0, max_side / max(h, w))
    out = (max(1, round(h * s)), max(1, round(w * s)))
    return colorize_heat(frame_map(m, (h, w), out, window, input_size), opts.opacity)


def heat_rgba_persons(layers: Sequence[tuple[np.ndarray, np.ndarray | None, tuple[int, int] | None]],
                      frame_size: tuple[int, int], opts: OverlayOptions, max_side: int = 640) -> np.ndarray:
    """One coloured heat map of several persons' attention, each through its own window (its crop).

    Why each map is scaled by its own peak before they are combined (by maximum):
    a small or far person's attention is as much the model's reading of that person
    as a near one's, and one colour scale over all would hide it.
    ``layers``: ``(attention J x K1 x K2, window 2 x 3 | None, input_size | None)`` per person.
    """
    h, w = int(frame_size[0]), int(frame_size[1])
    s = min(1.0, max_side / max(h, w))
    out = (max(1, round(h * s)), max(1, round(w * s)))
    combined = np.zeros(out, np.float32)
    for attention, window, input_size in layers:
        grid = attention_map(attention, opts.heat_mode, opts.joint, opts.part_joints)
        if window is None or input_size is None:
            r0, r1, c0, c1 = 0, out[0], 0, out[1]
            m = upsample_map(grid, out)
        else:  # only the crop's rectangle: the map is cut there anyway (see crop_rect)
            r0, r1, c0, c1 = crop_rect(window, input_size, (h, w), out)
            from rpan_core.geometry import grid_map_to_frame

            m = grid_map_to_frame(grid, window, input_size, (h, w), out, region=(r0, r1, c0, c1))
        peak = cv2.minMaxLoc(m)[1] if m.size else 0.0  # (one pass in OpenCV: this runs per person per frame)
        if peak > 0:
            m *= 1.0 / peak
            dst = combined[r0:r1, c0:c1]
            np.maximum(dst, m, out=dst)
    return colorize_heat(combined, opts.opacity)


def crop_rect(window: np.ndarray, input_size: tuple[int, int], frame_size: tuple[int, int],
              out_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(r0, r1, c0, c1)``: the rows and columns of an ``out_size`` map over the frame that the
    window's input shows (its crop), clipped to the map.

    Why a person's heat is cut there: the bicubic resampling of a grid reaches up to a
    cell and a half past the grid's edge; on a person crop that paints heat beside the
    crop, over whoever stands next to the person.
    """
    oh, ow = int(out_size[0]), int(out_size[1])
    (a, b, tx), (c, d, ty) = np.asarray(window, np.float64)[:2].tolist()
    ih, iw = float(input_size[0]), float(input_size[1])
    # input -> frame (the window's corners, as Window.frame_box), in scalars: it runs per person per frame
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    xs, ys = [], []
    for u, v in ((0.0, 0.0), (iw, 0.0), (0.0, ih), (iw, ih)):
        u, v = u - tx, v - ty
        xs.append(ia * u + ib * v)
        ys.append(ic * u + id_ * v)
    sx, sy = ow / frame_size[1], oh / frame_size[0]
    c0, c1 = min(max(math.floor(min(xs) * sx), 0), ow), min(max(math.ceil(max(xs) * sx), 0), ow)
    r0, r1 = min(max(math.floor(min(ys) * sy), 0), oh), min(max(math.ceil(max(ys) * sy), 0), oh)
    return r0, max(r0, r1), c0, max(c0, c1)


def frame_map(grid_map: np.ndarray, frame_size: tuple[int, int], out_size: tuple[int, int],
              window: np.ndarray | None = None, input_size: tuple[int, int] | None = None) -> np.ndarray:
    """A grid map over the frame: stretched (squashed input) or through the window the model read."""
    if window is None or input_size is None:
        return upsample_map(grid_map, out_size)
    from rpan_core.geometry import grid_map_to_frame

    return grid_map_to_frame(grid_map, window, input_size, frame_size, out_size)


def confidence_rgb(conf: np.ndarray | float) -> np.ndarray:
    """Confidence in [0, 1] -> RGB uint8: red (unsure) through yellow to green (sure)."""
    c = np.clip(np.asarray(conf, dtype=np.float32), 0.0, 1.0)
    r = np.where(c < 0.5, 1.0, 2.0 * (1.0 - c))
    g = np.where(c < 0.5, 2.0 * c, 1.0)
    b = np.full_like(c, 0.15)
    return (np.stack([r, g, b], axis=-1) * 255.0 + 0.5).astype(np.uint8)


def confidence_scale(conf: np.ndarray) -> float:
    """The largest confidence of a whole analysis (T x J) when below 1, else 1: one colour scale per video.

    The live view and the video exporter both divide by it, so a joint has the same
    colour on screen and in the exported mp4.
    """
    c = np.asarray(conf, dtype=np.float32)
    top = float(np.nanmax(c)) if c.size else 1.0
    return top if 0 < top < 1 else 1.0


def normalized_confidence(conf: np.ndarray) -> np.ndarray:
    """Map attention-peak confidences to [0, 1] for colouring.

    A peak's mass is at most 1 but typically far below it on a large grid, so the
    colour scale is the confidence relative to 1 when values reach it, else to the
    largest confidence in the array (keeps the colours informative per video).
    """
    c = np.asarray(conf, dtype=np.float32)
    top = float(np.nanmax(c)) if c.size else 1.0
    return np.clip(c / top, 0.0, 1.0) if 0 < top < 1 else np.clip(c, 0.0, 1.0)


@dataclass
class OtherPerson:
    """One more person burned into an exported frame: its pose in its own colour, its box and its name (the
    studio draws the persons who are not selected the same way)."""

    xy: np.ndarray  # J x 2 frame pixels
    colour: tuple[int, int, int]  # RGB
    name: str = ""
    box: np.ndarray | None = None  # [x0, y0, x1, y1] frame pixels


def _draw_other(out: np.ndarray, person: OtherPerson, edges: Sequence[tuple[int, int]], thick: int) -> None:
    col = tuple(int(v) for v in person.colour)
    pts = np.asarray(person.xy, dtype=np.float64)
    ok = np.isfinite(pts).all(axis=1)
    ip = np.round(np.where(ok[:, None], pts, 0)).astype(np.int32)
    for a_, b_ in edges:
        if ok[a_] and ok[b_]:
            cv2.line(out, tuple(ip[a_]), tuple(ip[b_]), col, thick, cv2.LINE_AA)
    for j in np.flatnonzero(ok):
        cv2.circle(out, tuple(ip[j]), thick + 1, col, -1, cv2.LINE_AA)
    anchor = None
    if person.box is not None and np.isfinite(person.box).all():
        x0, y0, x1, y1 = (int(round(v)) for v in person.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), col, max(1, thick // 2), cv2.LINE_AA)
        anchor = (x0, y0)
    elif ok.any():
        anchor = (int(ip[ok, 0].min()), int(ip[ok, 1].min()))
    if person.name and anchor is not None:
        scale = max(0.35, min(out.shape[:2]) / 900)
        org = (anchor[0] + 2, max(int(14 * scale) + 2, anchor[1] - 4))
        cv2.putText(out, person.name, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(out, person.name, org, cv2.FONT_HERSHEY_SIMPLEX, scale, col, thick, cv2.LINE_AA)


def draw_overlays(frame: np.ndarray, *, attention: np.ndarray | None = None, xy: np.ndarray | None = None,
                  conf: np.ndarray | None = None, edges: Sequence[tuple[int, int]] = (),
                  caption: str | None = None, opts: OverlayOptions | None = None,
                  window: np.ndarray | None = None, input_size: tuple[int, int] | None = None,
                  others: Sequence[OtherPerson] = ()) -> np.ndarray:
    """Burn the overlays into a copy of an RGB frame (for the mp4 export); numpy/cv2 only.

    ``others``: the persons who are not the selected one, drawn under it in their own colours (with the
    skeleton overlay on), so an export of a crowded video shows everyone the studio shows."""
    opts = opts or OverlayOptions()
    out = np.array(frame, dtype=np.uint8, copy=True)
    h, w = out.shape[:2]
    if opts.heat and attention is not None:
        m = frame_map(attention_map(attention, opts.heat_mode, opts.joint, opts.part_joints), (h, w), (h, w),
                      window, input_size)
        rgba = colorize_heat(m, opts.opacity)
        a = rgba[..., 3:4].astype(np.float32) / 255.0
        out = (out.astype(np.float32) * (1 - a) + rgba[..., :3].astype(np.float32) * a + 0.5).astype(np.uint8)
    if opts.skeleton:
        for person in others:
            _draw_other(out, person, edges, max(1, round(min(h, w) / 240)))
    if opts.skeleton and xy is not None:
        cols = confidence_rgb(conf if conf is not None else np.ones(len(xy)))
        thick = max(1, round(min(h, w) / 160))
        pts = np.round(np.asarray(xy, dtype=np.float64)).astype(np.int32)
        for a_, b_ in edges:
            c = tuple(int(v) for v in np.minimum(cols[a_], cols[b_]))
            cv2.line(out, tuple(pts[a_]), tuple(pts[b_]), c, thick, cv2.LINE_AA)
        for j, p in enumerate(pts):
            cv2.circle(out, tuple(p), thick + 2, tuple(int(v) for v in cols[j]), -1, cv2.LINE_AA)
    if opts.caption and caption:
        scale = max(0.35, min(h, w) / 500)
        step = int(24 * scale) + 4
        thick = max(1, round(scale))  # one stroke width for outline and text: a thicker outline would advance
        halo = thick + 1              # each glyph further and drift off the white text on a long line
        for i, line in enumerate(wrap_caption(caption, scale, w - 12, thick)):
            y = int(20 * scale) + 4 + i * step
            for dx, dy in ((-halo, 0), (halo, 0), (0, -halo), (0, halo)):
                cv2.putText(out, line, (6 + dx, y + dy), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick, cv2.LINE_AA)
            cv2.putText(out, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out


def wrap_caption(text: str, scale: float, width: int, thickness: int = 1) -> list[str]:
    """Words of ``text`` in lines no wider than ``width`` pixels at this cv2 font ``scale`` (a long
    caption, such as the reasons a model's output is not an estimate, stays inside the frame)."""
    lines: list[str] = []
    for para in text.split("\n"):
        cur = ""
        for word in para.split():
            cand = f"{cur} {word}" if cur else word
            if cur and cv2.getTextSize(cand, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][0] > width:
                lines.append(cur)
                cur = word
            else:
                cur = cand
        if cur:
            lines.append(cur)
    return lines


# ----------------------------------------------------------------------------- optical flow


def _flow_float(flow: np.ndarray) -> np.ndarray:
    f = np.asarray(flow)
    if f.dtype == np.uint8:  # TSN-encoded (the flow cache)
        from rpan_core.flow import uint8_to_flow

        f = uint8_to_flow(f)
    return np.asarray(f, dtype=np.float32)


def flow_rgba(flow: np.ndarray, frame_size: tuple[int, int], opacity: float = 0.85,
              max_magnitude: float | None = None, max_side: int = 640, floor_px: float = 0.3) -> np.ndarray:
    """The colour-wheel rendering of one ``h x w x 2`` flow field as an RGBA overlay toward ``frame_size``.

    Colour is ``rpan_core.flow.flow_to_rgb``'s wheel (hue = direction: right red, down
    yellow-green, left cyan, up violet; brightness = speed) and alpha grows with the
    speed, so still background stays clear and the moving person is painted.
    ``max_magnitude`` (pixels of the flow's own resolution) sets full brightness;
    default: the field's 99th percentile of speed, at least 1 px, so one fast pixel
    does not darken the rest. Alpha counts the speed above the frame's median
    speed plus ``floor_px``: a shaking or zooming camera moves the whole background
    a little (the median), DIS adds noise (the floor), and neither should hide the
    person under colour.
    Flow is in the working resolution of the cache; it is resized (not rescaled:
    the colours encode direction and relative speed) to the frame.
    """
    from rpan_core.flow import flow_to_rgb

    f = _flow_float(flow)
    mag = np.sqrt(f[..., 0] ** 2 + f[..., 1] ** 2)
    top = float(max_magnitude) if max_magnitude else max(1.0, float(np.percentile(mag, 99)) if mag.size else 1.0)
    rgb = flow_to_rgb(f, max_magnitude=top)
    # brighten: the wheel's value channel is the speed; half-speed pixels should still read as colour
    rgb = np.clip(rgb.astype(np.float32) * 1.6, 0, 255).astype(np.uint8)
    base = (float(np.median(mag)) if mag.size else 0.0) + floor_px
    a = np.clip((mag - base) / max(top - base, 0.25), 0.0, 1.0)
    rgba = np.empty(f.shape[:2] + (4,), np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = np.clip(np.sqrt(a) * 255.0 * float(np.clip(opacity, 0.0, 1.0)), 0, 255).astype(np.uint8)
    h, w = int(frame_size[0]), int(frame_size[1])
    s = min(1.0, max_side / max(h, w))
    th, tw = max(1, round(h * s)), max(1, round(w * s))
    if rgba.shape[:2] != (th, tw):
        rgba = cv2.resize(rgba, (tw, th), interpolation=cv2.INTER_LINEAR)
    return rgba


def flow_wheel(size: int = 72) -> np.ndarray:
    """``size x size x 4`` RGBA key of the colour wheel: the colour of motion toward each direction."""
    from rpan_core.flow import flow_to_rgb

    c = (size - 1) / 2.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    f = np.stack([xx - c, yy - c], -1)
    rgb = flow_to_rgb(f, max_magnitude=c)
    r = np.sqrt(f[..., 0] ** 2 + f[..., 1] ** 2)
    out = np.zeros((size, size, 4), np.uint8)
    out[..., :3] = rgb
    out[..., 3] = np.where(r <= c, 255, 0).astype(np.uint8)
    return out
