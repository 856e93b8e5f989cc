"""File > Remove video as one undoable step.

Why a command and not a plain delete: removing a video drops every label, person,
box keyframe and stored prediction it had, which may be hours of work. As a
QUndoCommand it is one step on the same undo stack as the label edits: Ctrl+Z puts
the video back exactly (same id, so the edits below it on the stack stay valid;
labels with their sources and timestamps; see
:meth:`rpan_core.project.Project.restore_video`), and Ctrl+Shift+Z removes it again.
The window's part (closing the open video, re-listing, opening the restored one)
comes in through two callbacks, so this module holds no widget.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PyQt6.QtGui import QUndoCommand

from rpan_core.project import Project, VideoData

__all__ = ["RemoveVideoCommand", "removal_summary"]


def removal_summary(project: Project, video_id: int) -> str:
    """What goes with a video, in words: labels and frames, persons, box keyframes, stored predictions."""
    data = project.video_data(video_id)
    frames = {int(r[0]) for p in data.persons for r in p.labels}
    boxes = sum(len(p.boxes) for p in data.persons)
    preds = {int(r[0]) for p in data.persons for r in p.predictions}
    parts = [f"{data.label_count} joint labels on {len(frames)} frame{'s' if len(frames) != 1 else ''}"
             if data.label_count else "no labels"]
    if len(data.persons) > 1:
        parts.append(f"{len(data.persons)} persons ({', '.join(p.name for p in data.persons)})")
    if boxes:
        parts.append(f"{boxes} box keyframe{'s' if boxes != 1 else ''}")
    if preds:
        parts.append(f"stored predictions on {len(preds)} frame{'s' if len(preds) != 1 else ''}")
    return ", ".join(parts)


class RemoveVideoCommand(QUndoCommand):
    """Remove a video with everything stored about it; undo restores all of it exactly.

    ``removing(video_id)`` runs before the removal (the window stops playback and closes the video when it
    is the open one); ``changed(video_id, present)`` after each removal or restore (re-list the videos;
    open the restored one).
    """

    def __init__(self, project: Project, video_id: int, removing: Callable[[int], None],
                 changed: Callable[[int, bool], None]) -> None:
        super().__init__(f"Remove video {Path(project.video(video_id).path).name}")
        self.project, self.video_id = project, int(video_id)
        self.removing, self.changed = removing, changed
        self.data: VideoData | None = None

    def redo(self) -> None:
        self.removing(self.video_id)
        self.data = self.project.remove_video(self.video_id)
        self.changed(self.video_id, False)

    def undo(self) -> None:
        assert self.data is not None, "undo before redo"
        self.project.restore_video(self.data)
        self.changed(self.video_id, True)
