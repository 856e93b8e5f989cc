"""The review queue: the frames the model is least sure about, to label those first.

Why these two signals: labeling effort is best spent where the model is wrong,
and without ground truth the two cheap tells are (1) a low attention-peak
confidence (the mean over joints of the mass at the decoded peak: attention spread
out or parked on the dummy cell) and (2) a large jump of the decoded pose between
consecutive frames (people move smoothly; the estimate should too). The queue
interleaves the two rankings, skips frames a person has already labeled, and keeps
frames at least ``min_gap`` apart so ten neighbouring frames of one bad moment do
not fill the list.

Frames whose left and right are in doubt (:mod:`rpan_core.sides`: crossed since
the previous keyframe, or contradicted by the model on the mirrored video) come
first, one entry per run of consecutive frames: a mirrored pose is the costliest
error to fix joint by joint and one key (X, Shift+X) fixes the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QListWidget, QListWidgetItem

__all__ = ["ReviewItem", "review_queue", "review_items", "side_items", "pose_jumps", "ReviewList"]

SIDES = "sides in doubt"


@dataclass(frozen=True)
class ReviewItem:
    frame: int
    reason: str  # "low confidence" | "pose jump" | "sides in doubt"
    score: float  # the confidence (low first), the jump in pixels or the side doubt (large first)
    last: int | None = None  # "sides in doubt": the run's last frame
    detail: str = ""  # "sides in doubt": crossed | flip


def side_items(runs: Iterable) -> list[ReviewItem]:
    """Review entries for :func:`rpan_core.sides.doubt_runs` (first frame, last frame, reason, score)."""
    return [ReviewItem(r.first, SIDES, r.score, r.last, r.reason) for r in runs]


def pose_jumps(xy: np.ndarray) -> np.ndarray:
    """Per-frame jump (T,): mean joint displacement in pixels from the previous frame (0 for frame 0)."""
    p = np.asarray(xy, dtype=np.float32)
    out = np.zeros(p.shape[0], np.float32)
    if p.shape[0] > 1:
        out[1:] = np.linalg.norm(np.diff(p, axis=0), axis=-1).mean(axis=-1)
    return out


def review_queue(conf: np.ndarray, xy: np.ndarray, n: int = 50, skip: Iterable[int] = (),
                 min_gap: int = 0) -> list[ReviewItem]:
    """Up to ``n`` frames to review, alternating lowest confidence and largest jump.

    ``conf`` T x J, ``xy`` T x J x 2; ``skip``: frames already labeled by a person.
    """
    c = np.asarray(conf, dtype=np.float32).mean(axis=1)
    jumps = pose_jumps(xy)
    skip_set = {int(f) for f in skip}
    by_conf = [(int(f), "low confidence", float(c[f])) for f in np.argsort(c, kind="stable")]
    by_jump = [(int(f), "pose jump", float(jumps[f])) for f in np.argsort(-jumps, kind="stable") if jumps[f] > 0]
    out: list[ReviewItem] = []
    taken: list[int] = []
    iters = [iter(by_conf), iter(by_jump)]
    k = 0
    while len(out) < n and iters:
        it = iters[k % len(iters)]
        for f, reason, score in it:
            if f in skip_set or any(abs(f - g) <= min_gap for g in taken) or f in taken:
                continue
            out.append(ReviewItem(f, reason, score))
            taken.append(f)
            break
        else:
            iters.remove(it)
            continue
        k += 1
    return out


def review_items(project, video_id: int, analysis=None, labeled: Iterable[int] = (), flipped_xy=None,
                 n: int = 50, person: int = 1) -> list[ReviewItem]:
    """The studio's queue for one video: left/right doubts first, then the model's least sure frames.

    Side doubts come from the labels, stored predictions and the analysis (and the
    mirrored video's poses when checked); the rest needs an analysis.
    """
    from rpan_core.sides import doubt_runs, doubts_for_video

    items = side_items(doubt_runs(doubts_for_video(project, video_id, analysis=analysis, flipped_xy=flipped_xy,
                                                          person=person)))
    items = items[:n]
    if analysis is not None and len(items) < n:
        items += review_queue(analysis.conf, analysis.xy, n=n - len(items), skip=[int(f) for f in labeled],
                              min_gap=max(0, len(analysis.conf) // 200))
    return items


class ReviewList(QListWidget):
    """The queue as a list; clicking (or Enter on) a row asks to seek to its frame."""

    seekRequested = pyqtSignal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.items_: list[ReviewItem] = []
        self.itemClicked.connect(self._activated)
        self.itemActivated.connect(self._activated)
        self.setToolTip("Frames the model is least sure about: label these first.")

    def set_items(self, items: list[ReviewItem]) -> None:
        self.clear()
        self.items_ = list(items)
        for it in self.items_:
            if it.reason == SIDES:
                span = f"frames {it.frame}-{it.last}" if it.last not in (None, it.frame) else f"frame {it.frame}"
                text = f"{span}   left/right? ({'flipped image' if it.detail == 'flip' else 'crossed'})"
            elif it.reason == "low confidence":
                text = f"frame {it.frame:>6}   conf {it.score:.3f}"
            else:
                text = f"frame {it.frame:>6}   jump {it.score:.1f} px"
            row = QListWidgetItem(text)
            row.setData(Qt.ItemDataRole.UserRole, it.frame)
            row.setToolTip(it.reason)
            self.addItem(row)

    def _activated(self, row: QListWidgetItem) -> None:
        self.seekRequested.emit(int(row.data(Qt.ItemDataRole.UserRole)))
