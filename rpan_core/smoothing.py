"""Temporal smoothing of a model's per-frame poses: a centred running median per joint.

Why a median: a model that never saw a camera view is right on most frames and grossly
wrong on a few (an arm read on the wrong limb for a frame or two). A mean would drag the
neighbouring frames toward such a miss; a running median over a few frames drops it and
leaves smooth motion where it was (on leave-one-view-out real clips, 9 frames at 60 fps
raised PCK@0.2 by 0.01-0.06, docs/real_video.md). Offline only: it needs the frames after
each frame, so it applies to a whole analysis (``rpan analyze --smooth N``), not to a live
reading.
"""
from __future__ import annotations

import warnings

import numpy as np

from rpan_core.errors import ConfigError


def median_smooth(xy: np.ndarray, frames: int) -> np.ndarray:
    """``xy`` (T x J x 2) with each joint coordinate replaced by its median over ``frames`` frames centred
    on it (odd; at the ends of the video the window shrinks and stays centred; NaN points, joints without
    a position, are left out of the median and stay NaN). ``frames`` 0 or 1: a copy, unchanged."""
    if frames in (0, 1):
        return np.array(xy, dtype=np.float64, copy=True)
    if frames < 0 or frames % 2 == 0:
        raise ConfigError(f"--smooth takes an odd number of frames (e.g. 5 or 9), not {frames}")
    p = np.asarray(xy, dtype=np.float64)
    t, h = len(p), frames // 2
    out = p.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN window gives NaN, as it should
        if t > 2 * h:
            win = np.lib.stride_tricks.sliding_window_view(p, frames, axis=0)  # (T - 2h) x J x 2 x frames
            out[h:t - h] = np.nanmedian(win, axis=-1)
        for i in [*range(min(h, t)), *range(max(t - h, h), t)]:  # the ends: the window shrinks, still centred
            r = min(i, t - 1 - i, h)
            out[i] = np.nanmedian(p[i - r:i + r + 1], axis=0)
    return np.where(np.isnan(p), np.nan, out)
