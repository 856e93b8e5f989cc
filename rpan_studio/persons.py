"""Person commands the Persons menu and keys run on the open video: add, rename, delete, cycle, swap, box.

Why apart from the dialogs (like :mod:`rpan_studio.labeling`): these only act,
through the undoable edits of :mod:`rpan_studio.person_commands`; a name or the
other person of a swap is asked by the main window first. A missing
precondition (no video, one person only) is one clear line and writes nothing.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtGui import QUndoStack

from rpan_core.errors import RPANError
from rpan_studio.person_commands import (AddPersonCommand, DeletePersonCommand, RenamePersonCommand,
                                         SwapPersonsCommand)
from rpan_studio.session import Session
from rpan_studio.views.persons_layer import PersonsLayer, default_box

__all__ = ["Persons"]


class Persons:
    """The person commands on the state's open video, current frame and selected person."""

    def __init__(self, session: Session, layer: PersonsLayer, undo_stack: QUndoStack) -> None:
        self.session, self.state, self.layer, self.undo_stack = session, session.state, layer, undo_stack

    def ids(self) -> list[int]:
        project, vid = self.session.require_video()
        return [p.id for p in project.persons(vid)]

    def add(self, name: str | None = None) -> int:
        """Add a person to the video and select it; returns its id."""
        project, vid = self.session.require_video()
        cmd = AddPersonCommand(project, vid, name)
        self.undo_stack.push(cmd)
        assert cmd.person is not None
        self.state.set_person(cmd.person)
        return cmd.person

    def rename(self, name: str) -> None:
        project, vid = self.session.require_video()
        self.undo_stack.push(RenamePersonCommand(project, vid, self.state.person, name))

    def delete(self) -> None:
        """Delete the selected person with its labels and boxes (undo brings all of it back)."""
        project, vid = self.session.require_video()
        ids = self.ids()
        if self.state.person not in ids:
            raise RPANError(f"person {self.state.person} is not in this video; select one in the Persons list")
        rest = [p for p in ids if p != self.state.person]
        self.undo_stack.push(DeletePersonCommand(project, vid, self.state.person))
        if rest:
            self.state.set_person(rest[0])

    def cycle(self, step: int = 1) -> int:
        """Select the next (or previous) person of the video; returns its id."""
        ids = self.ids()
        if not ids:
            raise RPANError("this video has no person; add one (Persons > Add person)")
        cur = ids.index(self.state.person) if self.state.person in ids else -1
        pid = ids[(cur + step) % len(ids)]
        self.state.set_person(pid)
        return pid

    def swap_with(self, other: int, from_frame: int | None = None) -> None:
        """Swap the selected person's identity with ``other``'s from the current frame (or ``from_frame``) on."""
        project, vid = self.session.require_video()
        if int(other) == self.state.person:
            raise RPANError("pick another person than the selected one to swap with")
        f = self.state.frame if from_frame is None else int(from_frame)
        self.undo_stack.push(SwapPersonsCommand(project, vid, self.state.person, int(other), max(0, f)))

    def others(self) -> list[tuple[int, str]]:
        """(id, name) of the video's persons other than the selected one (for the swap question)."""
        project, vid = self.session.require_video()
        return [(p.id, p.name) for p in project.persons(vid) if p.id != self.state.person]

    def set_box(self, box: np.ndarray | None = None) -> np.ndarray:
        """Make a box keyframe of the selected person on this frame: ``box``, else the box shown now
        (interpolated or from the pose), else a third of the frame to drag into place."""
        project, vid = self.session.require_video()
        if box is None:
            box = project.person_box(vid, self.state.frame, self.state.person)
        if box is None:
            v = self.state.video
            box = default_box((int(v.height), int(v.width)))
        box = np.asarray(box, np.float64)
        self.layer.set_box(self.state.person, box)
        return box

    def remove_box(self) -> None:
        """Remove the selected person's box keyframe on this frame (the box then follows the others)."""
        project, vid = self.session.require_video()
        if project.frame_box(vid, self.state.frame, self.state.person) is None:
            raise RPANError(f"person {self.state.person} has no box keyframe on frame {self.state.frame}")
        self.layer.set_box(self.state.person, None)
