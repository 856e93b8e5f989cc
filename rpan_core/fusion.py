"""Score fusion of RPAN's streams (RGB and optical flow), as in the paper's Table 4.

The two streams are trained and run separately; their class probabilities are
combined by a weighted average, spatial:temporal = 1:2 by default (the paper's
choice, after TSN). Dividing by the weights' sum keeps the result a probability
distribution, so the fused scores can be shown and thresholded like either
stream's. Works per step (``T x C``), per video (``C``) or on any batch shape with
classes on the last axis. A geometric mode (weighted mean of log-probabilities,
renormalized) is offered for comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rpan_core.errors import ConfigError

#: The paper's spatial:temporal weights.
DEFAULT_WEIGHTS: tuple[float, float] = (1.0, 2.0)


def parse_weights(text: str) -> tuple[float, ...]:
    """``"1:2"`` -> ``(1.0, 2.0)``; raises :class:`ConfigError` on anything else."""
    try:
        weights = tuple(float(p) for p in str(text).split(":"))
    except ValueError:
        raise ConfigError(f"fusion weights {text!r} are not numbers; write them like 1:2 (spatial:temporal)") from None
    _check_weights(weights, len(weights))
    return weights


def _check_weights(weights: Sequence[float], n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ConfigError(f"{len(w)} fusion weights for {n} streams; give one weight per stream, e.g. 1:2")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ConfigError(f"fusion weights {list(weights)} must be finite, non-negative and not all zero")
    return w


def fuse(probs: Sequence[Any], weights: Sequence[float] = DEFAULT_WEIGHTS, *, mode: str = "mean") -> np.ndarray:
    """Fuse per-stream class probabilities (same shape, classes last) into one.

    ``mode="mean"``: ``sum_s w_s p_s / sum_s w_s``. ``mode="geometric"``:
    ``softmax(sum_s w_s log p_s / sum_s w_s)``. Either way each row sums to 1.
    Accepts NumPy arrays or anything ``np.asarray`` takes (torch CPU tensors).
    """
    arrays = [np.asarray(p, dtype=np.float64) for p in probs]
    if len(arrays) < 1:
        raise ConfigError("fusion needs at least one stream's probabilities")
    w = _check_weights(weights, len(arrays))
    shape = arrays[0].shape
    for a in arrays:
        if a.shape != shape:
            raise ConfigError(f"streams disagree in shape ({a.shape} vs {shape}): fuse analyses of the same "
                              "video sampled at the same frames, with the same classes")
        if a.size and ((a < -1e-6).any() or not np.allclose(a.sum(-1), 1.0, atol=1e-3)):
            raise ConfigError("fusion expects class probabilities (non-negative, summing to 1 over the last "
                              "axis); apply softmax to logits first")
    w = w / w.sum()
    if mode == "mean":
        out = sum(wi * a for wi, a in zip(w, arrays))
    elif mode == "geometric":
        logit = sum(wi * np.log(np.clip(a, 1e-12, None)) for wi, a in zip(w, arrays))
        logit = logit - logit.max(-1, keepdims=True)
        out = np.exp(logit)
    else:
        raise ConfigError(f"fusion mode {mode!r} is unknown; use 'mean' or 'geometric'")
    return (out / out.sum(-1, keepdims=True)).astype(np.float32)


def fuse_two(spatial: Any, temporal: Any, weights: Sequence[float] = DEFAULT_WEIGHTS, *,
             mode: str = "mean") -> np.ndarray:
    """RGB (spatial) and flow (temporal) probabilities, fused with ``weights`` (default 1:2)."""
    return fuse([spatial, temporal], weights, mode=mode)


def fuse_analyses(spatial: Any, temporal: Any, weights: Sequence[float] = DEFAULT_WEIGHTS, *,
                  mode: str = "mean") -> dict[str, Any]:
    """Fuse two ``Analysis`` objects of one video (RGB and flow checkpoints).

    Returns ``probs`` (T x C, per step), ``video_probs`` (C), ``video_pred`` and
    ``classes``. The analyses must share classes and analyzed frames.
    """
    cs, ct = list(getattr(spatial, "classes", [])), list(getattr(temporal, "classes", []))
    if cs != ct:
        raise ConfigError(f"the two streams were trained on different classes ({cs} vs {ct}); "
                          "fuse checkpoints of the same project")
    probs = fuse_two(np.asarray(spatial.probs), np.asarray(temporal.probs), weights, mode=mode)
    video_probs = fuse_two(np.asarray(spatial.video_probs), np.asarray(temporal.video_probs), weights, mode=mode)
    return {"probs": probs, "video_probs": video_probs, "video_pred": int(np.argmax(video_probs)), "classes": cs}
