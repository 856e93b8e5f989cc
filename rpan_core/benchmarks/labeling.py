"""Benchmark: how many joints a person must move to label a video, with and without the model.

The studio's promise is that correcting the model's poses is cheaper than
labeling from nothing, and gets cheaper as the model is fine-tuned on the
corrections. This measures it with a simulated annotator on synthetic videos
whose joints are exact. The annotator moves a joint when the label it is shown
is off by more than a tolerance (5 % of the larger side of the person's box) or
has the wrong visibility flag; labeling from nothing, it places every visible
joint. Work is counted as joints moved per frame, at four stages:

(a) from nothing, (b) starting from the demo model's predictions, (c) after one
fine-tune round on a few hundred corrected frames from *other* videos, (d) after
a second round. Fine-tuning uses frozen, cached backbone cubes, so a round takes
seconds to a minute on a CPU; its time is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The annotator's tolerance, as a fraction of the larger side of the person's box.
TOLERANCE = 0.05


def joint_tolerance(bbox_xyxy: np.ndarray, fraction: float = TOLERANCE) -> np.ndarray:
    """Per-frame tolerance in pixels: ``fraction * max(box width, box height)``; ``F x 4 -> F``."""
    b = np.asarray(bbox_xyxy, dtype=np.float64)
    return fraction * np.maximum(b[..., 2] - b[..., 0], b[..., 3] - b[..., 1])


def joints_to_move(pred_xy: np.ndarray, pred_visible: np.ndarray, true_xy: np.ndarray,
                   true_visible: np.ndarray, bbox_xyxy: np.ndarray,
                   fraction: float = TOLERANCE) -> np.ndarray:
    """``F x J`` bool: the joints the annotator has to touch to reach the truth.

    A truly visible joint is touched when the shown label says invisible or lies
    farther than the tolerance from the truth (distance strictly above it). A truly
    invisible joint is touched only when the shown label says visible (one click
    to flip the flag); its position does not matter.
    """
    pred_visible = np.asarray(pred_visible, bool)
    true_visible = np.asarray(true_visible, bool)
    dist = np.linalg.norm(np.asarray(pred_xy, np.float64) - np.asarray(true_xy, np.float64), axis=-1)
    tol = joint_tolerance(bbox_xyxy, fraction)[..., None]
    wrong_place = true_visible & pred_visible & (dist > tol)
    wrong_flag = pred_visible != true_visible
    return wrong_place | wrong_flag


def from_nothing(true_visible: np.ndarray) -> np.ndarray:
    """``F``: joints placed per frame when labeling from nothing (every visible joint)."""
    return np.asarray(true_visible, bool).sum(-1)


@dataclass
class Effort:
    """Totals over a set of frames: joints moved, frames, and what from nothing would cost."""

    moved: int
    frames: int
    baseline: int

    @property
    def per_frame(self) -> float:
        return self.moved / max(1, self.frames)

    @property
    def saved(self) -> float:
        """Fraction of the from-nothing work that is saved (1 = nothing to do)."""
        return 1.0 - self.moved / max(1, self.baseline)


def effort(pred_xy: np.ndarray | None, pred_visible: np.ndarray | None, true_xy: np.ndarray,
           true_visible: np.ndarray, bbox_xyxy: np.ndarray, fraction: float = TOLERANCE) -> Effort:
    """The annotator's work on one video; ``pred_xy=None`` means labeling from nothing."""
    base = int(from_nothing(true_visible).sum())
    if pred_xy is None:
        return Effort(base, len(true_visible), base)
    moved = int(joints_to_move(pred_xy, pred_visible, true_xy, true_visible, bbox_xyxy, fraction).sum())
    return Effort(moved, len(true_visible), base)
