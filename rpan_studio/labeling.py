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

    def _no_model_pose(self, where: str) -> RPANError:
        """Why the selected person has no model pose (one line, saying what to do)."""
        st = self.state
        name = st.project.person(st.video_id, st.person).name if st.project is not None else f"person {st.person}"
        if st.analysis is None:
            how = "analyze the video (Ctrl+R) or propagate its keyframes (Shift+I)"
        else:  # an analysis of someone else (the whole frame's is person 1's)
            how = (f"the analysis shown reads person {st.analysis_person}; propagate {name}'s keyframes (Shift+I)"
                   + (" or analyze again (Ctrl+R: each person on its own crop)" if len(st.person_analyses) == 0
                      and st.project is not None and len(st.project.persons(st.video_id)) > 1 else ""))
        return RPANError(f"{name} has no model pose {where}: {how}")

    def analyzed_frames(self) -> int:
        """How many frames the analysis of the selected person covers (an RPANError when there is none)."""
        self.session.require_video()
        a = self.state.analysis
        if not self.state.analysis_reads():
            raise self._no_model_pose("yet")
        return int(np.asarray(a.probs).shape[0])

    def predicted_frames(self) -> int:
        """How many frames may carry the selected person's prediction: the video's when it has stored ones,
        else its analysis'."""
        if self.display.stored is not None:
            return self.state.n_frames
        return self.analyzed_frames()

    def accept_frame(self) -> None:
        """Accept the selected person's model pose on this frame (its stored prediction, else its analysis')."""
        project, vid = self.session.require_video()
        f = self.state.frame
        pred = self.display.prediction(f)
        if pred is None:
            raise self._no_model_pose("on this frame")
        cmds.accept_prediction(self.undo_stack, project, vid, [f], pred[0][None], pred[1][None],
                               visible=self.display.predicted_visible(f, f + 1), person=self.state.person)

    def accept_range(self, start: int, stop: int) -> None:
        """Accept the selected person's predicted poses (stored, else its analysis') of frames start..stop
        (inclusive), one undo step."""
        t = self.predicted_frames()
        project, vid = self.session.require_video()
        start, stop = max(0, min(start, stop)), min(t - 1, max(start, stop))
        xy, conf, vis = self.display.predictions_range(start, stop + 1)
        if not np.isfinite(xy).any():
            raise self._no_model_pose(f"on frames {start}-{stop}")
        cmds.accept_prediction(self.undo_stack, project, vid, list(range(start, stop + 1)), xy, conf, visible=vis,
                               person=self.state.person)

    def swap_sides(self, start: int | None = None, stop: int | None = None) -> None:
        """Swap the whole skeleton's left and right on the current frame (or start..stop), one undo step."""
        project, vid = self.session.require_video()
        f = self.state.frame
        start, stop = (f, f) if start is None or stop is None else (min(start, stop), max(start, stop))

        def model(frame: int) -> tuple[np.ndarray, np.ndarray] | None:
            p = self.display.prediction(frame)
            vis = self.display.predicted_visible(frame, frame + 1)
            return None if p is None else (p[0], np.ones(len(p[0]), bool) if vis is None else vis[0])

        cmds.swap_sides(self.undo_stack, project, vid, range(start, stop + 1), predicted=model,
                        person=self.state.person)

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
