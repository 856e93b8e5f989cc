"""Undoable edit commands for pose labels and action labels.

Why every edit is a QUndoCommand that writes straight to the project store: the
studio has no save button, so a crash (or a kill) loses nothing that was on the
screen, and undo/redo are the same code path as the edit itself. Each command
remembers the exact rows it replaced (x, y, visible, source, or "no label") the
first time it runs, and undo puts those rows back — deleting labels that did not
exist before — so undo is exact, not an approximation. Batch edits (accept a
range, interpolate, copy a pose) are written in one transaction.

Who writes what ``source`` (rpan_core.project.LabelSource):

* placing a joint (a click in labeling mode, where the person puts it), also where the model
  predicts that joint, or where there was neither a label nor a prediction: ``manual``;
* editing (move, visibility) a predicted joint that had no label yet: ``corrected``;
* editing an existing label: ``manual`` stays ``manual``; anything else
  (accepted, imported, corrected) becomes ``corrected``;
* accepting predictions and interpolating between keyframes: ``accepted``
  (machine-proposed, approved by a person) and they never overwrite a person's
  label (manual, corrected or imported), only empty or accepted joints;
* copying the previous labeled frame's pose: ``manual`` (``accepted`` rows stay
  ``accepted``: a copy does not make a proposal more trusted).

Views learn about edits from :func:`notifier` (one process-wide QObject whose
``labelsChanged(project, video_id, frames)`` fires after every redo/undo); the
PoseEditor re-emits it as its own ``labelsChanged(video_id, frames)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack

from rpan_core.errors import ProjectError
from rpan_core.project import Label, LabelSource, Project
from rpan_studio.actions import shortcut

__all__ = [
    "AcceptPredictionCommand",
    "CopyPreviousCommand",
    "DeleteLabelCommand",
    "InterpolateCommand",
    "LabelEditCommand",
    "LabelNotifier",
    "Row",
    "SetActionCommand",
    "SetJointCommand",
    "SetVisibilityCommand",
    "SwapSidesCommand",
    "accept_prediction",
    "copy_previous",
    "edited_source",
    "interpolate",
    "make_undo_actions",
    "neighbour_keyframes",
    "notifier",
    "set_action",
    "swap_sides",
]

MANUAL, CORRECTED, ACCEPTED, IMPORTED = (LabelSource.MANUAL, LabelSource.CORRECTED, LabelSource.ACCEPTED,
                                         LabelSource.IMPORTED)
HUMAN_SOURCES = frozenset({MANUAL, CORRECTED, IMPORTED})

@dataclass(frozen=True)
class Row:
    """One joint label as written to the store."""

    x: float
    y: float
    visible: bool
    source: LabelSource


Key = tuple[int, int]  # (frame, joint)
Changes = dict[Key, "Row | None"]  # None = no label


class LabelNotifier(QObject):
    """Process-wide broadcast of store edits made through these commands."""

    labelsChanged = pyqtSignal(object, int, object)  # project, video_id, sorted list of frames
    actionChanged = pyqtSignal(object, int, object)  # project, video_id, action (str | None)
    personsChanged = pyqtSignal(object, int)  # project, video_id: persons added, renamed, deleted or swapped
    boxesChanged = pyqtSignal(object, int, int)  # project, video_id, person: its box keyframes changed


_NOTIFIER: LabelNotifier | None = None


def notifier() -> LabelNotifier:
    """The one :class:`LabelNotifier` of this process."""
    global _NOTIFIER
    if _NOTIFIER is None:
        _NOTIFIER = LabelNotifier()
    return _NOTIFIER


def row_of(label: Label) -> Row:
    """A stored label as the row the commands write back."""
    return Row(float(label.x), float(label.y), bool(label.visible), LabelSource.parse(label.source))


def edited_source(previous: LabelSource | str | None, from_prediction: bool) -> LabelSource:
    """The source a person's edit gives a joint (see the module docstring)."""
    if previous is None:
        return CORRECTED if from_prediction else MANUAL
    return MANUAL if LabelSource.parse(previous) is MANUAL else CORRECTED


def read_rows(project: Project, video_id: int, keys: Iterable[Key], person: int = 1) -> Changes:
    """Current rows (or None) for (frame, joint) keys of one person, one query per frame."""
    by_frame: dict[int, list[int]] = {}
    for f, j in keys:
        by_frame.setdefault(int(f), []).append(int(j))
    out: Changes = {}
    for f, joints in by_frame.items():
        labels = project.frame_labels(video_id, f, person)
        for j in joints:
            lab = labels.get(j)
            out[(f, j)] = None if lab is None else row_of(lab)
    return out


def write_rows(project: Project, video_id: int, changes: Changes, person: int = 1) -> None:
    """Write one person's rows and delete absent labels, in one transaction."""
    sets = [(f, j, r.x, r.y, r.visible, r.source.value) for (f, j), r in sorted(changes.items()) if r is not None]
    dels = [(f, j) for (f, j), r in sorted(changes.items()) if r is None]
    with project.transaction():
        if sets:
            project.set_labels(video_id, sets, person=person)
        for f, j in dels:
            project.delete_label(video_id, f, j, person=person)


class LabelEditCommand(QUndoCommand):
    """Replace a set of (frame, joint) rows; undo restores exactly what was there.

    ``changes`` maps (frame, joint) to the new :class:`Row`, or None to delete;
    the rows are those of ``person`` (1, the only person of a single-person video).
    The previous rows are read from the store the first time the command runs
    (QUndoStack.push runs it), so a command built from stale view state still
    undoes to what the store really held.
    """

    def __init__(self, project: Project, video_id: int, changes: Changes, text: str,
                 parent: QUndoCommand | None = None, person: int = 1) -> None:
        super().__init__(text, parent)
        self.project = project
        self.video_id = int(video_id)
        self.person = int(person)
        self.new: Changes = {(int(f), int(j)): r for (f, j), r in changes.items()}
        self.old: Changes | None = None

    @property
    def frames(self) -> list[int]:
        return sorted({f for f, _ in self.new})

    def redo(self) -> None:
        if self.old is None:
            self.old = read_rows(self.project, self.video_id, self.new.keys(), self.person)
        write_rows(self.project, self.video_id, self.new, self.person)
        notifier().labelsChanged.emit(self.project, self.video_id, self.frames)

    def undo(self) -> None:
        assert self.old is not None, "undo before redo"
        write_rows(self.project, self.video_id, self.old, self.person)
        notifier().labelsChanged.emit(self.project, self.video_id, self.frames)


class SetJointCommand(LabelEditCommand):
    """Set one joint's position (and optionally visibility/source) on one frame.

    ``source=None`` picks it by :func:`edited_source` from the stored label
    (``from_prediction`` says whether the joint was showing a prediction).
    ``merge_id``: consecutive commands with the same non-negative id on the same
    joint merge into one undo step (keyboard nudges); -1 never merges.
    """

    def __init__(self, project: Project, video_id: int, frame: int, joint: int, x: float, y: float, *,
                 visible: bool | None = None, source: LabelSource | str | None = None,
                 from_prediction: bool = False, merge_id: int = -1, joint_name: str | None = None,
                 person: int = 1) -> None:
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ProjectError(f"joint position ({x}, {y}) is not a finite number; place the joint inside the frame")
        prev = project.frame_labels(video_id, frame, person).get(joint)
        prev_row = None if prev is None else row_of(prev)
        source = (edited_source(None if prev_row is None else prev_row.source, from_prediction) if source is None
                  else LabelSource.parse(source))
        if visible is None:
            visible = True if prev_row is None else prev_row.visible
        name = joint_name or f"joint {joint}"
        super().__init__(project, video_id, {(frame, joint): Row(float(x), float(y), bool(visible), source)},
                         f"Move {name} on frame {frame}", person=person)
        self.frame, self.joint, self._merge_id = int(frame), int(joint), int(merge_id)

    def id(self) -> int:  # noqa: A003 (Qt name)
        return self._merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt name)
        if (not isinstance(other, SetJointCommand) or other.id() != self.id() or self.id() < 0
                or other.project is not self.project or other.video_id != self.video_id
                or other.person != self.person
                or (other.frame, other.joint) != (self.frame, self.joint)):
            return False
        self.new = dict(other.new)  # keep our old rows: undo goes back to before the first nudge
        return True


class SetVisibilityCommand(LabelEditCommand):
    """Mark one joint visible or occluded. A predicted joint with no label gets a corrected label at ``xy``."""

    def __init__(self, project: Project, video_id: int, frame: int, joint: int, visible: bool,
                 xy: tuple[float, float] | None = None, joint_name: str | None = None, person: int = 1) -> None:
        prev = project.frame_labels(video_id, frame, person).get(joint)
        if prev is not None:
            r = row_of(prev)
            row = Row(r.x, r.y, bool(visible), edited_source(r.source, False))
        elif xy is not None and all(math.isfinite(v) for v in xy):
            row = Row(float(xy[0]), float(xy[1]), bool(visible), CORRECTED)
        else:
            raise ProjectError(f"{joint_name or f'joint {joint}'} has no label or prediction on frame {frame}; "
                               "place it first (P, then click)")
        word = "visible" if visible else "occluded"
        super().__init__(project, video_id, {(frame, joint): row},
                         f"Mark {joint_name or f'joint {joint}'} {word} on frame {frame}", person=person)


class DeleteLabelCommand(LabelEditCommand):
    """Delete the labels of some joints (all labeled joints when ``joints`` is None) on one frame."""

    def __init__(self, project: Project, video_id: int, frame: int, joints: int | Sequence[int] | None = None,
                 joint_name: str | None = None, person: int = 1) -> None:
        if joints is None:
            joints = sorted(project.frame_labels(video_id, frame, person))
        elif isinstance(joints, (int, np.integer)):
            joints = [int(joints)]
        what = joint_name or (f"joint {joints[0]}" if len(joints) == 1 else f"{len(joints)} labels")
        super().__init__(project, video_id, {(frame, int(j)): None for j in joints},
                         f"Delete {what} on frame {frame}", person=person)


def _label_sources(project: Project, video_id: int, frames: Iterable[int],
                   person: int = 1) -> dict[int, dict[int, Row]]:
    return {int(f): {j: row_of(lab) for j, lab in project.frame_labels(video_id, int(f), person).items()}
            for f in frames}


class AcceptPredictionCommand(LabelEditCommand):
    """Accept predicted poses for frames, as ``accepted`` labels, without touching a person's labels.

    ``xy``: F x J x 2 for ``frames``; ``conf``: F x J. Joints with a non-finite
    position are skipped. ``visible`` (F x J bool, the model's own visibility: its
    dummy-cell mass below the threshold) decides each joint's flag; without it,
    ``min_conf``: joints below it are accepted as occluded (None = all visible).
    """

    def __init__(self, project: Project, video_id: int, frames: Sequence[int], xy: np.ndarray,
                 conf: np.ndarray | None = None, min_conf: float | None = None,
                 visible: np.ndarray | None = None, person: int = 1) -> None:
        frames = [int(f) for f in frames]
        xy = np.asarray(xy, dtype=np.float64)
        if xy.ndim == 2:
            xy = xy[None]
        if xy.shape[0] != len(frames) or xy.shape[-1] != 2:
            raise ProjectError(f"predictions of shape {xy.shape} do not match {len(frames)} frames "
                               "(expected F x J x 2); analyze the video again")
        conf_arr = None if conf is None else np.asarray(conf, dtype=np.float64).reshape(xy.shape[:2])
        vis_arr = None if visible is None else np.asarray(visible, dtype=bool).reshape(xy.shape[:2])
        existing = _label_sources(project, video_id, frames, person)
        changes: Changes = {}
        for i, f in enumerate(frames):
            for j in range(xy.shape[1]):
                x, y = xy[i, j]
                if not (math.isfinite(x) and math.isfinite(y)):
                    continue
                prev = existing[f].get(j)
                if prev is not None and prev.source in HUMAN_SOURCES:
                    continue
                if vis_arr is not None:
                    vis = bool(vis_arr[i, j])
                else:
                    vis = True if (min_conf is None or conf_arr is None) else bool(conf_arr[i, j] >= min_conf)
                changes[(f, j)] = Row(float(x), float(y), vis, ACCEPTED)
        if len(frames) == 1:
            text = f"Accept prediction on frame {frames[0]}"
        else:
            text = f"Accept predictions on {len(frames)} frames ({min(frames)}-{max(frames)})"
        super().__init__(project, video_id, changes, text, person=person)


class CopyPreviousCommand(LabelEditCommand):
    """Copy the pose of the nearest labeled frame before ``frame`` onto ``frame``.

    Joints labeled on the source frame overwrite ``frame``'s; other joints of
    ``frame`` stay as they are.
    """

    def __init__(self, project: Project, video_id: int, frame: int, person: int = 1) -> None:
        earlier = [f for f in project.labeled_frames(video_id, person) if f < frame]
        if not earlier:
            raise ProjectError(f"no labeled frame before frame {frame}; label an earlier frame first")
        src = int(earlier[-1])
        labels = _label_sources(project, video_id, [src], person)[src]
        changes: Changes = {
            (int(frame), j): Row(r.x, r.y, r.visible, ACCEPTED if r.source is ACCEPTED else MANUAL)
            for j, r in labels.items()
        }
        super().__init__(project, video_id, changes, f"Copy pose of frame {src} to frame {frame}", person=person)
        self.source_frame = src


class InterpolateCommand(LabelEditCommand):
    """Linear interpolation between two labeled keyframes, for joints visible in both.

    Frames strictly between the keyframes get ``accepted`` labels at
    ``p_a + (p_b - p_a) * (f - a) / (b - a)``; a person's labels in between are kept.
    """

    def __init__(self, project: Project, video_id: int, frame_a: int, frame_b: int, person: int = 1) -> None:
        a, b = sorted((int(frame_a), int(frame_b)))
        la = _label_sources(project, video_id, [a], person)[a]
        lb = _label_sources(project, video_id, [b], person)[b]
        if not la or not lb:
            missing = a if not la else b
            raise ProjectError(f"frame {missing} has no labels; interpolation needs two labeled keyframes")
        joints = sorted(j for j in set(la) & set(lb) if la[j].visible and lb[j].visible)
        if not joints:
            raise ProjectError(f"no joint is visible on both frame {a} and frame {b}; "
                               "label the same visible joints on both keyframes")
        between = list(range(a + 1, b))
        existing = _label_sources(project, video_id, between, person)
        changes: Changes = {}
        for f in between:
            t = (f - a) / (b - a)
            for j in joints:
                prev = existing[f].get(j)
                if prev is not None and prev.source in HUMAN_SOURCES:
                    continue
                pa, pb = la[j], lb[j]
                changes[(f, j)] = Row(pa.x + (pb.x - pa.x) * t, pa.y + (pb.y - pa.y) * t, True, ACCEPTED)
        super().__init__(project, video_id, changes, f"Interpolate frames {a}-{b}", person=person)
        self.frame_a, self.frame_b, self.joints = a, b, joints


class SwapSidesCommand(LabelEditCommand):
    """Swap the whole skeleton's left and right on one frame or a range, as one undo step.

    What is swapped on each frame is the pose a person sees there (its labels, else
    the stored prediction, else ``predicted(frame) -> (xy, visible)``, the model's
    pose); see :func:`rpan_core.sides.swap_changes` for the sources written.
    """

    def __init__(self, project: Project, video_id: int, frames: Sequence[int], predicted: Any = None,
                 person: int = 1) -> None:
        from rpan_core.sides import swap_changes

        frames = sorted({int(f) for f in frames})
        raw = swap_changes(project, video_id, frames, predicted, person=person)
        if not raw:
            where = f"frame {frames[0]}" if len(frames) == 1 else f"frames {frames[0]}-{frames[-1]}"
            raise ProjectError(f"no pose to swap on {where}: label it, propagate, or analyze the video first")
        changes: Changes = {k: None if v is None else Row(v[0], v[1], v[2], LabelSource.parse(v[3]))
                            for k, v in raw.items()}
        done = sorted({f for f, _ in changes})
        text = (f"Swap left/right on frame {done[0]}" if len(done) == 1
                else f"Swap left/right on {len(done)} frames ({done[0]}-{done[-1]})")
        super().__init__(project, video_id, changes, text, person=person)


class SetActionCommand(QUndoCommand):
    """Set (or clear, with None) a video's action label; undo restores the previous one."""

    def __init__(self, project: Project, video_id: int, action: str | None) -> None:
        if action is not None:
            classes = project.classes
            if classes and action not in classes:
                raise ProjectError(f"unknown action {action!r}; choose one of: {', '.join(classes)}")
        super().__init__(f"Set action to {action}" if action else "Clear action")
        self.project = project
        self.video_id = int(video_id)
        self.action = action
        self.old: str | None = None
        self._captured = False

    def _write(self, action: str | None) -> None:
        self.project.set_action(self.video_id, action)
        notifier().actionChanged.emit(self.project, self.video_id, action)

    def redo(self) -> None:
        if not self._captured:
            self.old = self.project.video(self.video_id).action
            self._captured = True
        self._write(self.action)

    def undo(self) -> None:
        self._write(self.old)


# ---------------------------------------------------------------------- helpers for menus
def _push(stack: QUndoStack, cmd: LabelEditCommand) -> LabelEditCommand | None:
    if not cmd.new:
        return None
    stack.push(cmd)
    return cmd


def accept_prediction(stack: QUndoStack, project: Project, video_id: int, frames: Sequence[int] | int,
                      xy: np.ndarray, conf: np.ndarray | None = None, *,
                      min_conf: float | None = None,
                      visible: np.ndarray | None = None, person: int = 1) -> AcceptPredictionCommand | None:
    """Accept the predicted poses of ``frames`` (xy F x J x 2, conf F x J, visible F x J) as one undo step.

    Returns the pushed command, or None when nothing was left to accept.
    """
    if isinstance(frames, (int, np.integer)):
        frames = [int(frames)]
    return _push(stack, AcceptPredictionCommand(project, video_id, frames, xy, conf, min_conf, visible, person))


def copy_previous(stack: QUndoStack, project: Project, video_id: int, frame: int,
                  person: int = 1) -> CopyPreviousCommand | None:
    """Copy the previous labeled frame's pose onto ``frame`` (ProjectError when there is none)."""
    return _push(stack, CopyPreviousCommand(project, video_id, frame, person))


def interpolate(stack: QUndoStack, project: Project, video_id: int, frame_a: int,
                frame_b: int, person: int = 1) -> InterpolateCommand | None:
    """Interpolate between two labeled keyframes; None when they are adjacent (nothing between)."""
    return _push(stack, InterpolateCommand(project, video_id, frame_a, frame_b, person))


def swap_sides(stack: QUndoStack, project: Project, video_id: int, frames: Sequence[int] | int,
               predicted: Any = None, person: int = 1) -> SwapSidesCommand | None:
    """Swap left and right of ``person`` on ``frames`` as one undo step (ProjectError when no frame has a pose)."""
    if isinstance(frames, (int, np.integer)):
        frames = [int(frames)]
    return _push(stack, SwapSidesCommand(project, video_id, frames, predicted, person))


def set_action(stack: QUndoStack, project: Project, video_id: int, action: str | None) -> SetActionCommand:
    """Set the video's action label as one undo step."""
    cmd = SetActionCommand(project, video_id, action)
    stack.push(cmd)
    return cmd


def make_undo_actions(stack: QUndoStack, parent: QObject) -> tuple[QAction, QAction]:
    """Undo / redo QActions for a menu, with the rpan_studio.actions keys (Ctrl+Z, Ctrl+Shift+Z; Ctrl+Y too)."""
    undo = stack.createUndoAction(parent, "&Undo")
    undo.setShortcut(QKeySequence(shortcut("undo")))
    redo = stack.createRedoAction(parent, "&Redo")
    redo.setShortcuts([QKeySequence(shortcut("redo")), QKeySequence("Ctrl+Y")])
    return undo, redo


def neighbour_keyframes(project: Project, video_id: int, frame: int,
                        person: int = 1) -> tuple[int | None, int | None]:
    """The nearest labeled frames of ``person`` strictly before and after ``frame`` (for the I shortcut)."""
    labeled = list(project.labeled_frames(video_id, person))
    before = [f for f in labeled if f < frame]
    after = [f for f in labeled if f > frame]
    return (before[-1] if before else None, after[0] if after else None)
