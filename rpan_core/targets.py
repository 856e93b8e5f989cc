"""Pose-attention targets and decoding: the one place that converts pixels <-> grid cells.

RPAN supervises each joint's attention map with a Gaussian around the annotated
joint (Eq. 11-13); invisible/out-of-frame joints put their mass on the dummy
location K+1 so they contribute nothing to part features. Decoding maps the
attention back to frame pixels (arg-max cell as in the paper, or a sub-cell
weighted mean around the peak), and PCK uses PennAction's normalization.
"""
from __future__ import annotations

import numpy as np
import torch


def cell_centers(frame_size: tuple[int, int], grid: tuple[int, int]) -> torch.Tensor:
    """Pixel (x, y) centers of the K1 x K2 cells, row-major, shape (K1*K2) x 2."""
    h, w = frame_size
    k1, k2 = grid
    ys = (torch.arange(k1, dtype=torch.float32) + 0.5) * (h / k1)
    xs = (torch.arange(k2, dtype=torch.float32) + 0.5) * (w / k2)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=-1)


def joint_targets(xy: torch.Tensor, visible: torch.Tensor, frame_size: tuple[int, int],
                  grid: tuple[int, int], sigma_px: float = 5.0) -> torch.Tensor:
    """Gaussian targets ... x J x (K+1) summing to 1; invisible/out-of-frame joints -> dummy cell.

    The Gaussian (std sigma_px at frame scale) is integrated over each cell (a
    frame-scale map area-resized to the grid), so a narrow Gaussian still lands
    in the right cell.
    """
    h, w = frame_size
    k1, k2 = grid
    xy = torch.as_tensor(xy, dtype=torch.float32)
    vis = torch.as_tensor(visible).bool()
    x, y = xy[..., 0], xy[..., 1]
    inside = vis & (x >= 0) & (x < w) & (y >= 0) & (y < h)
    sig = float(sigma_px) * 2 ** 0.5

    def mass(edges: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        cdf = 0.5 * (1 + torch.erf((edges - c.unsqueeze(-1)) / sig))
        return cdf[..., 1:] - cdf[..., :-1]

    my = mass(torch.linspace(0, h, k1 + 1), y)            # ... x J x K1
    mx = mass(torch.linspace(0, w, k2 + 1), x)            # ... x J x K2
    m = (my.unsqueeze(-1) * mx.unsqueeze(-2)).flatten(-2)  # ... x J x K
    total = m.sum(-1, keepdim=True)
    m = m / total.clamp_min(1e-12)
    out = torch.cat([m, torch.zeros_like(m[..., :1])], dim=-1)
    dummy = torch.zeros_like(out)
    dummy[..., -1] = 1.0
    ok = inside & (total.squeeze(-1) > 1e-12)
    return torch.where(ok.unsqueeze(-1), out, dummy)


def _cells_to_xy(row: torch.Tensor, col: torch.Tensor, frame_size: tuple[int, int],
                 grid: tuple[int, int]) -> torch.Tensor:
    """Fractional cells -> pixels of the area the grid covers (rpan_core.geometry.cells_to_input, in torch)."""
    h, w = frame_size
    k1, k2 = grid
    return torch.stack([(col + 0.5) * (w / k2), (row + 0.5) * (h / k1)], dim=-1)


def decode_argmax(alpha: torch.Tensor, frame_size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Arg-max cell center per joint (paper); confidence = peak cell mass."""
    k1, k2 = alpha.shape[-2:]
    flat = alpha.flatten(-2)
    conf, idx = flat.max(-1)
    xy = _cells_to_xy((idx // k2).float(), (idx % k2).float(), frame_size, (k1, k2))
    return xy, conf


def decode_refined(alpha: torch.Tensor, frame_size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sub-cell decode: mass-weighted mean of cell positions in the 3x3 window around the peak.

    Confidence is the mass in that window (attention left on the dummy cell lowers it).
    """
    k1, k2 = alpha.shape[-2:]
    flat = alpha.flatten(-2)
    idx = flat.argmax(-1)
    r0, c0 = (idx // k2), (idx % k2)
    rows = torch.arange(k1).view(*([1] * r0.dim()), k1, 1)
    cols = torch.arange(k2).view(*([1] * c0.dim()), 1, k2)
    win = ((rows - r0[..., None, None]).abs() <= 1) & ((cols - c0[..., None, None]).abs() <= 1)
    wmap = alpha * win
    s = wmap.sum((-2, -1)).clamp_min(1e-12)
    r = (wmap * rows).sum((-2, -1)) / s
    c = (wmap * cols).sum((-2, -1)) / s
    return _cells_to_xy(r.float(), c.float(), frame_size, (k1, k2)), wmap.sum((-2, -1))


def decode_quadratic(alpha: torch.Tensor, frame_size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sub-cell decode for fine grids: a parabola through the log-attention at the peak and its two
    neighbours, along rows and columns separately (exact for a Gaussian-shaped peak).

    Why not the 3 x 3 weighted mean: on a fine grid a peak spreads over more than
    three cells, and the weighted mean of a truncated Gaussian is pulled toward the
    peak cell's centre. Confidence is the attention mass in the 5 x 5 window around
    the peak. Peaks on the border keep the cell centre along that axis.
    """
    k1, k2 = alpha.shape[-2:]
    flat = alpha.flatten(-2)
    idx = flat.argmax(-1)
    r0, c0 = idx // k2, idx % k2
    la = alpha.float().clamp_min(1e-30).log()

    def at(r: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        rr, cc = r.clamp(0, k1 - 1), c.clamp(0, k2 - 1)
        return la.flatten(-2).gather(-1, (rr * k2 + cc).unsqueeze(-1)).squeeze(-1)

    def offset(lm: torch.Tensor, l0: torch.Tensor, lp: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
        den = lm - 2 * l0 + lp
        d = torch.where(den < -1e-9, 0.5 * (lm - lp) / den.clamp(max=-1e-9), torch.zeros_like(den))
        return torch.where(ok, d.clamp(-0.5, 0.5), torch.zeros_like(d))

    l0 = at(r0, c0)
    dr = offset(at(r0 - 1, c0), l0, at(r0 + 1, c0), (r0 > 0) & (r0 < k1 - 1))
    dc = offset(at(r0, c0 - 1), l0, at(r0, c0 + 1), (c0 > 0) & (c0 < k2 - 1))
    rows = torch.arange(k1, device=alpha.device).view(*([1] * r0.dim()), k1, 1)
    cols = torch.arange(k2, device=alpha.device).view(*([1] * c0.dim()), 1, k2)
    win = ((rows - r0[..., None, None]).abs() <= 2) & ((cols - c0[..., None, None]).abs() <= 2)
    conf = (alpha * win).sum((-2, -1))
    return _cells_to_xy(r0.float() + dr, c0.float() + dc, frame_size, (k1, k2)), conf


def label_bbox(xy: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """``... x 4`` (x0, y0, x1, y1) box of the visible labeled joints: PennAction's bbox stand-in for PCK."""
    xy = np.asarray(xy, np.float64)
    v = np.asarray(visible, bool)[..., None]
    big = np.where(v, xy, np.inf)
    small = np.where(v, xy, -np.inf)
    lo, hi = big.min(axis=-2), small.max(axis=-2)
    box = np.concatenate([lo, hi], axis=-1)
    return np.where(np.isfinite(box), box, 0.0)


def pck(pred_xy: torch.Tensor, gt_xy: torch.Tensor, visible: torch.Tensor, bbox_xyxy: torch.Tensor,
        alpha: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """PCK@alpha, PennAction style: correct when error <= alpha * max(bbox w, h); visible joints only.

    Returns (per-joint J accuracy, NaN where a joint is never visible; mean over all visible joints).
    """
    pred_xy = torch.as_tensor(pred_xy, dtype=torch.float32)
    gt_xy = torch.as_tensor(gt_xy, dtype=torch.float32)
    vis = torch.as_tensor(visible).bool()
    bb = torch.as_tensor(bbox_xyxy, dtype=torch.float32)
    size = torch.maximum(bb[..., 2] - bb[..., 0], bb[..., 3] - bb[..., 1]).unsqueeze(-1)
    ok = ((pred_xy - gt_xy).norm(dim=-1) <= alpha * size) & vis
    j = ok.shape[-1]
    okf, visf = ok.reshape(-1, j).float(), vis.reshape(-1, j).float()
    per_joint = okf.sum(0) / visf.sum(0)
    mean = okf.sum() / visf.sum().clamp_min(1)
    return per_joint, mean
