"""Labeling commands the menus and keys run on the current frame: accept the model's pose, copy, interpolate.

Why apart from the dialogs: these only act, on numbers (frames, a range), through
the undoable edits of :mod:`rpan_studio.commands`; whatever has to be asked first
(a typed frame range, an action name) is asked by :mod:`rpan_studio.dialogs.ask`.
A missing precondition (no video, no analysis, no keyframe on one side) is one
clear line and writes nothing.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtGui import QUndoStack

from rpan_core.errors import RPANError
from rpan_studio import commands as cmds
from rpan_studio.session import Session
from rpan_studio.views.frame_display import FrameDisplay

__all__ = ["Labeling"]


class Labeling:
    """The menu-level labeling commands on the state's current video and frame."""

    def __init__(self, session: Session, display: FrameDisplay, undo_stack: QUndoStack) -> None:
        self.session = session
        self.state = session.state
        self.display = display
        self.undo_stack = undo_stack

    def analyzed_frames(self) -> int:
        """How many frames the analysis covers (an RPANError when there is none)."""
        self.session.require_video()
        a = self.state.analysis
        if a is None:
            raise RPANError("no model poses yet: analyze the video first (Ctrl+R)")
        return int(np.asarray(a.probs).shape[0])

    def _whole_frame_person(self) -> None:
        """The model's poses are the whole-frame analysis: they are person 1's to accept."""
        if self.state.person != 1:
            raise RPANError(f"the model's poses read the whole frame (person 1); select person 1 to accept them, "
                            f"or label person {self.state.person} by hand, copy or interpolate")

    def predicted_frames(self) -> int:
        """How many frames may carry a prediction: the video's when it has stored ones, else the analysis'."""
        if self.display.stored is not None:
            return self.state.n_frames
        return self.analyzed_frames()

    def accept_frame(self) -> None:
        project, vid = self.session.require_video()
        self._whole_frame_person()
        f = self.state.frame
        pred = self.display.prediction(f)
        if pred is None:
            raise RPANError("this frame has no model pose yet: analyze the video first (Ctrl+R)")
        cmds.accept_prediction(self.undo_stack, project, vid, [f], pred[0][None], pred[1][None],
                               visible=self.display.predicted_visible(f, f + 1))

    def accept_range(self, start: int, stop: int) -> None:
        """Accept the predicted poses (stored, else the analysis') of frames start..stop (inclusive), one undo step."""
        t = self.predicted_frames()
        project, vid = self.session.require_video()
        self._whole_frame_person()
        start, stop = max(0, min(start, stop)), min(t - 1, max(start, stop))
        xy, conf, vis = self.display.predictions_range(start, stop + 1)
        cmds.accept_prediction(self.undo_stack, project, vid, list(range(start, stop + 1)), xy, conf, visible=vis)

    def swap_sides(self, start: int | None = None, stop: int | None = None) -> None:
        """Swap the whole skeleton's left and right on the current frame (or start..stop), one undo step."""
        project, vid = self.session.require_video()
        f = self.state.frame
        start, stop = (f, f) if start is None or stop is None else (min(start, stop), max(start, stop))

        def model(frame: int) -> tuple[np.ndarray, np.ndarray] | None:
            p = self.display.prediction(frame)
            vis = self.display.predicted_visible(frame, frame + 1)
            return None if p is None else (p[0], np.ones(len(p[0]), bool) if vis is None else vis[0])

        cmds.swap_sides(self.undo_stack, project, vid, range(start, stop + 1), predicted=model)

    def copy_previous(self) -> None:
        project, vid = self.session.require_video()
        cmds.copy_previous(self.undo_stack, project, vid, self.state.frame, person=self.state.person)

    def interpolate(self) -> None:
        project, vid = self.session.require_video()
        a, b = cmds.neighbour_keyframes(project, vid, self.state.frame, person=self.state.person)
        if a is None or b is None:
            raise RPANError("interpolation needs a labeled frame before and after this one; label both first")
        cmds.interpolate(self.undo_stack, project, vid, a, b, person=self.state.person)

    def set_action(self, action: str | None) -> None:
        project, vid = self.session.require_video()
        cmds.set_action(self.undo_stack, project, vid, action)
        self.session.videosChanged.emit()
