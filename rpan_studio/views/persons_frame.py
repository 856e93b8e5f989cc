"""What the persons layer draws on one frame: every person's name, box and labeled joints, read cheaply.

Why a reader with a cache: a frame of a video of three persons needs each person's box
(interpolated between its box keyframes) and labels. Read person by person (two box
queries, a labels query) that cost about 0.3 ms a frame while scrubbing. The persons
and their box keyframes only change on an edit, so they are kept while
:meth:`rpan_core.project.Project.revision` stays the same (any write, by any code path
or by another connection, changes it: nothing is trusted to send a signal), and the
labels of all persons of a frame come in one query. Recently shown frames are kept too,
for scrubbing back and forth; an edit empties everything.
"""

from __future__ import annotations

import bisect
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FramePerson", "PersonsFrames", "OTHERS_EVERY_S"]

#: How often (s) a reader looks for commits by other connections (another program writing the project);
#: this connection's own writes (every edit in the studio) are seen on the next frame.
OTHERS_EVERY_S = 0.25


@dataclass(frozen=True)
class FramePerson:
    """One person on one frame as stored: its box ``[x0, y0, x1, y1]`` (finite; None where none is known) and
    its labeled joints ``xy`` J x 2 (NaN where a joint is not labeled) with ``visible`` (None: no labels)."""

    id: int
    name: str
    box: np.ndarray | None
    xy: np.ndarray | None
    visible: np.ndarray | None


class PersonsFrames:
    """Reads :class:`FramePerson` rows of a frame with one labels query, box keyframes kept per revision."""

    def __init__(self, max_frames: int = 256) -> None:
        self.max_frames = int(max_frames)
        self._project: Any = None
        self._video: int | None = None
        self._revision: tuple[int, int] | None = None
        self._persons: list[Any] = []
        self._keys: dict[int, Any] = {}
        self._frames: OrderedDict[int, list[FramePerson]] = OrderedDict()
        self._others_at = -1e9  # when another connection's commits were last looked for
        self.queries = 0  # frames read from the store (the tests and the benchmark read it)

    def clear(self) -> None:
        self._project, self._video, self._revision = None, None, None
        self._others_at = -1e9
        self._persons, self._keys = [], {}
        self._frames.clear()

    def read(self, project: Any, video_id: int, frame: int) -> list[FramePerson]:
        """Every person of ``video_id`` on ``frame``, by id, as the store holds them now (a write by
        another program shows within :data:`OTHERS_EVERY_S`)."""
        now = time.monotonic()
        full = now - self._others_at >= OTHERS_EVERY_S or project is not self._project
        rev = project.revision(others=full)
        if not full:  # this connection's writes are counted on every frame; other programs' every 0.25 s
            rev = (rev[0], self._revision[1] if self._revision is not None else 0)
        else:
            self._others_at = now
        if project is not self._project or video_id != self._video or rev != self._revision:
            self._project, self._video, self._revision = project, int(video_id), rev
            self._persons = project.persons(video_id)
            self._keys = {}
            for p in self._persons:
                k = project.box_keyframes(video_id, p.id)
                if len(k.frames):  # sorted by frame: (frames, boxes) as lists for a bisect per frame
                    self._keys[p.id] = ([int(v) for v in k.frames], np.asarray(k.boxes, np.float64))
            self._frames.clear()
        f = int(frame)
        hit = self._frames.get(f)
        if hit is not None:
            self._frames.move_to_end(f)
            return hit
        self.queries += 1
        labels = project.frame_labels_by_person(video_id, f)
        J = project.skeleton.num_joints
        out = []
        for p in self._persons:
            keys = self._keys.get(p.id)
            if keys is not None:  # interpolated between keyframes, held beyond (as Project.person_boxes)
                box = _interpolated(f, *keys)
            else:  # no box keyframe: the extent of its labeled pose (a few indexed reads)
                box = project.person_box(video_id, f, p.id)
                if box is not None and not np.isfinite(box).all():
                    box = None
            xy = vis = None
            own = labels.get(p.id)
            if own:
                xy, vis = np.full((J, 2), np.nan), np.zeros(J, bool)
                for j, lab in own.items():
                    if j < J:
                        xy[j], vis[j] = (lab.x, lab.y), lab.visible
            out.append(FramePerson(p.id, p.name, box, xy, vis))
        self._frames[f] = out
        while len(self._frames) > self.max_frames:
            self._frames.popitem(last=False)
        return out


def _interpolated(frame: int, frames: list[int], boxes: np.ndarray) -> np.ndarray:
    """The box on ``frame``: linear between the keyframes around it, held before the first and after the
    last (what :func:`rpan_core.persons.interpolate_boxes` gives that frame, for one frame: a bisect)."""
    i = bisect.bisect_right(frames, frame)
    if i == 0:
        return boxes[0].copy()
    if i == len(frames) or frames[i - 1] == frame:
        return boxes[i - 1].copy()
    fa, fb = frames[i - 1], frames[i]
    a, b = boxes[i - 1], boxes[i]
    return a + (b - a) * ((frame - fa) / (fb - fa))
