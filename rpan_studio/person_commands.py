"""Undoable edits of a video's persons: add, rename, delete, swap identities, set a box keyframe.

Why commands like the label edits (:mod:`rpan_studio.commands`): each is one
store transaction and one undo step, and undo puts back exactly what was there:
a deleted person comes back with its id, name, labels and boxes (timestamps
included, :meth:`rpan_core.project.Project.restore_person`), a swap is undone by
swapping again, a box keyframe is restored or removed. Views learn about them
from the process-wide notifier (``personsChanged``, ``boxesChanged``,
``labelsChanged``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PyQt6.QtGui import QUndoCommand

from rpan_core.errors import ProjectError
from rpan_core.project import LabelSource, PersonData, Project, SwapRecord
from rpan_studio.commands import notifier

__all__ = ["AddPersonCommand", "RenamePersonCommand", "DeletePersonCommand", "SwapPersonsCommand",
           "SetBoxCommand", "PERSON_COLOURS", "person_colour"]

#: one colour per person (RGB), by id: person 1 keeps the studio's usual annotation colour family
PERSON_COLOURS: tuple[tuple[int, int, int], ...] = (
    (80, 220, 120), (255, 170, 40), (70, 160, 255), (240, 80, 200), (240, 230, 70), (150, 110, 255),
    (60, 220, 220), (255, 100, 90),
)


def person_colour(person: int) -> tuple[int, int, int]:
    """The colour of a person id (cycling through :data:`PERSON_COLOURS`)."""
    return PERSON_COLOURS[(int(person) - 1) % len(PERSON_COLOURS)]


def _frames_of(data: PersonData) -> list[int]:
    return sorted({int(r[0]) for r in data.labels})


class AddPersonCommand(QUndoCommand):
    """Add a person to a video (the next free id); undo removes it again, redo brings back the same id."""

    def __init__(self, project: Project, video_id: int, name: str | None = None) -> None:
        super().__init__(f"Add person {name}" if name else "Add person")
        self.project, self.video_id, self.name = project, int(video_id), name
        self.person: int | None = None
        self._data: PersonData | None = None

    def redo(self) -> None:
        if self._data is None:
            self.person = self.project.add_person(self.video_id, self.name)
        else:  # redo after undo: the same id, and whatever it held when undone
            self.project.restore_person(self._data)
        notifier().personsChanged.emit(self.project, self.video_id)

    def undo(self) -> None:
        assert self.person is not None, "undo before redo"
        self._data = self.project.delete_person(self.video_id, self.person)
        notifier().personsChanged.emit(self.project, self.video_id)
        notifier().labelsChanged.emit(self.project, self.video_id, _frames_of(self._data))


class RenamePersonCommand(QUndoCommand):
    def __init__(self, project: Project, video_id: int, person: int, name: str) -> None:
        old = project.person(video_id, person).name
        super().__init__(f"Rename {old} to {name}")
        self.project, self.video_id, self.person = project, int(video_id), int(person)
        self.old, self.new = old, name

    def _set(self, name: str) -> None:
        self.project.rename_person(self.video_id, self.person, name)
        notifier().personsChanged.emit(self.project, self.video_id)

    def redo(self) -> None:
        self._set(self.new)

    def undo(self) -> None:
        self._set(self.old)


class DeletePersonCommand(QUndoCommand):
    """Delete a person with its labels and boxes; undo restores all of it exactly."""

    def __init__(self, project: Project, video_id: int, person: int) -> None:
        rec = project.person(video_id, person)
        super().__init__(f"Delete {rec.name}")
        self.project, self.video_id, self.person = project, int(video_id), rec.id
        self.data: PersonData | None = None

    def redo(self) -> None:
        self.data = self.project.delete_person(self.video_id, self.person)
        notifier().personsChanged.emit(self.project, self.video_id)
        notifier().labelsChanged.emit(self.project, self.video_id, _frames_of(self.data))

    def undo(self) -> None:
        assert self.data is not None, "undo before redo"
        self.project.restore_person(self.data)
        notifier().personsChanged.emit(self.project, self.video_id)
        notifier().labelsChanged.emit(self.project, self.video_id, _frames_of(self.data))


class SwapPersonsCommand(QUndoCommand):
    """Swap two persons' identities (labels and box keyframes) from a frame onwards; undo takes it back exactly
    (the boxes the store pinned at the swap frame included)."""

    def __init__(self, project: Project, video_id: int, a: int, b: int, from_frame: int) -> None:
        na, nb = project.person(video_id, a).name, project.person(video_id, b).name
        if int(a) == int(b):
            raise ProjectError("pick two different persons to swap")
        super().__init__(f"Swap {na} and {nb} from frame {from_frame}")
        self.project, self.video_id = project, int(video_id)
        self.a, self.b, self.from_frame = int(a), int(b), int(from_frame)
        self.record: SwapRecord | None = None

    def _swap(self, undo: bool = False) -> None:
        if undo:
            assert self.record is not None, "undo before redo"
            self.project.undo_swap(self.record)
        else:
            self.record = self.project.swap_persons(self.video_id, self.a, self.b, self.from_frame)
        frames = [f for f in self.project.labeled_frames(self.video_id, None) if f >= self.from_frame]
        notifier().personsChanged.emit(self.project, self.video_id)
        notifier().labelsChanged.emit(self.project, self.video_id, frames)
        for p in (self.a, self.b):
            notifier().boxesChanged.emit(self.project, self.video_id, p)

    def redo(self) -> None:
        self._swap()

    def undo(self) -> None:
        self._swap(undo=True)


class SetBoxCommand(QUndoCommand):
    """Set (or with ``box=None`` remove) one person's box keyframe on one frame; undo restores the old one."""

    def __init__(self, project: Project, video_id: int, frame: int, person: int,
                 box: Sequence[float] | None, merge_id: int = -1) -> None:
        name = project.person(video_id, person).name
        super().__init__(f"{'Move' if box is not None else 'Remove'} the box of {name} on frame {frame}")
        self.project, self.video_id, self.frame, self.person = project, int(video_id), int(frame), int(person)
        self.new = None if box is None else np.asarray(box, np.float64).copy()
        self.old: np.ndarray | None = None
        self._captured = False
        self._merge_id = int(merge_id)

    def _write(self, box: np.ndarray | None) -> None:
        if box is None:
            self.project.delete_box(self.video_id, self.frame, self.person)
        else:
            self.project.set_box(self.video_id, self.frame, [float(v) for v in box], self.person,
                                 LabelSource.MANUAL)
        notifier().boxesChanged.emit(self.project, self.video_id, self.person)

    def redo(self) -> None:
        if not self._captured:
            self.old = self.project.frame_box(self.video_id, self.frame, self.person)
            self._captured = True
        self._write(self.new)

    def undo(self) -> None:
        self._write(self.old)

    def id(self) -> int:  # noqa: A003 (Qt name)
        return self._merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt name)
        """Consecutive drags of the same box on the same frame are one undo step."""
        if (not isinstance(other, SetBoxCommand) or self._merge_id < 0 or other.id() != self._merge_id
                or (other.project, other.video_id, other.frame, other.person)
                != (self.project, self.video_id, self.frame, self.person)):
            return False
        self.new = other.new
        return True
