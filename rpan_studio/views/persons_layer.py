"""The persons of the shown frame: every person's box, and the other persons' skeletons, each in its colour.

Why a layer beside the pose editor: the editor shows and edits the selected
person's joints; the others stay on screen (in their own colours, not editable)
so a person labeling sees who is who when people cross. The selected person's
box is a handle: dragging or resizing it writes a box keyframe on this frame
(:class:`~rpan_studio.person_commands.SetBoxCommand`, one undo step); on other
frames the box is interpolated between keyframes, or taken from the extent of
the person's labeled pose (:meth:`rpan_core.project.Project.person_box`).

What is drawn is always what is stored: a frame's persons are read through
:class:`~rpan_studio.views.persons_frame.PersonsFrames` (one labels query per frame, box
keyframes kept until the store's revision changes). The selected person's box is the one
interactive item (a RectROI); every name and the other persons' boxes, skeletons and
estimated poses are painted by one item
(:class:`~rpan_studio.views.persons_crowd.PersonsCrowdItem`), which keeps scrubbing a
video of three persons as fast as one of one person (docs/persons.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QObject
from PyQt6.QtGui import QUndoStack

from rpan_studio import commands as cmds
from rpan_studio.person_commands import SetBoxCommand, person_colour
from rpan_studio.views.persons_crowd import CrowdPerson, PersonsCrowdItem
from rpan_studio.views.persons_frame import PersonsFrames

if TYPE_CHECKING:  # pragma: no cover
    from rpan_studio.state import StudioState

__all__ = ["PersonsLayer", "default_box"]


def default_box(frame_size: tuple[int, int]) -> np.ndarray:
    """A first box for a person with none yet: a third of the frame, centred (the person then drags it)."""
    h, w = frame_size
    return np.array([w / 3, h / 4, 2 * w / 3, 3 * h / 4], np.float64)



class PersonsLayer(QObject):
    """Every person's name and box, and the non-selected persons' skeletons, over the video view's frame."""

    def __init__(self, view_box: pg.ViewBox, state: StudioState, undo_stack: QUndoStack,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view_box, self.state, self.undo_stack = view_box, state, undo_stack
        self.visible = True
        self.frame: int | None = None
        self.reader = PersonsFrames()
        self._skeleton = None
        self.crowd = PersonsCrowdItem()
        self.crowd.setZValue(22)
        view_box.addItem(self.crowd, ignoreBounds=True)
        self.roi: pg.RectROI | None = None  # the selected person's box: the one handle
        self.roi_person: int | None = None
        self._roi_look: tuple | None = None
        self._updating = False
        self.draw_count = 0  # frames drawn (the scrubbing benchmark reads it)
        cmds.notifier().boxesChanged.connect(self._store_changed)
        cmds.notifier().personsChanged.connect(lambda p, v: self._store_changed(p, v, 0))
        cmds.notifier().labelsChanged.connect(lambda p, v, _f: self._store_changed(p, v, 0))
        state.personChanged.connect(lambda _p: self.redraw())
        state.videoChanged.connect(lambda _v: self.clear())

    # ------------------------------------------------------------------ drawing
    def show(self, frame: int) -> None:
        """Draw the persons of ``frame`` (the frame on screen)."""
        self.frame = int(frame)
        self.redraw()

    def redraw(self) -> None:
        st = self.state
        project, vid, f = st.project, st.video_id, self.frame
        if project is None or vid is None or f is None:
            self.clear(keep_frame=True)
            return
        if project.skeleton is not self._skeleton:
            self._skeleton = project.skeleton
            self.crowd.set_edges(list(project.skeleton.edges))
        annotation = self.visible and st.overlay.annotation  # the "annotated pose" toggle hides them too
        drawn, selected_box = self._layout(f, self.reader.read(project, vid, f), annotation,
                                           self.visible and st.overlay.skeleton)
        self.crowd.set_persons(drawn)
        self._set_roi(st.person, selected_box)
        if annotation:
            self.draw_count += 1

    def _layout(self, f: int, rows: list, annotation: bool, skeleton: bool) -> tuple[list, np.ndarray | None]:
        """What the crowd item paints of frame ``f``'s persons, and the selected person's box."""
        st = self.state
        analyses = st.person_analyses if skeleton else {}
        from rpan_core.analyze import DEFAULT_DUMMY_THRESHOLD

        drawn: list[CrowdPerson] = []
        selected_box = None
        for p in rows:
            selected = p.id == st.person
            c = CrowdPerson(p.id, p.name, person_colour(p.id))
            a = analyses.get(p.id)
            if a is not None and not selected and f < len(a.probs):
                # its own analysis on its crop; the selected person's is the video view's and the editor's
                c.est_xy = np.asarray(a.xy[f], np.float64)
                c.est_visible = np.asarray(a.dummy[f], np.float32) < DEFAULT_DUMMY_THRESHOLD
            if annotation:
                box = p.box  # finite or None (PersonsFrames)
                if box is not None:
                    c.name_at = (float(box[0]), float(box[1]))
                    if selected:
                        selected_box = box
                    else:
                        c.box = box
                if not selected:  # the pose editor draws (and edits) the selected person's joints
                    c.xy, c.visible = p.xy, p.visible
            if c.box is not None or c.name_at is not None or c.xy is not None or c.est_xy is not None:
                drawn.append(c)
        return drawn, selected_box

    def _set_roi(self, pid: int, box: np.ndarray | None) -> None:
        """Place the selected person's box handle (made once, then moved only when the box moves)."""
        if box is None:
            if self.roi is not None:
                self.roi.hide()
            return
        x0, y0, x1, y1 = (float(v) for v in box)
        roi = self.roi
        if roi is None:
            # not antialiased: an axis-aligned 3 px outline looks the same, and costs half as much to paint
            roi = self.roi = pg.RectROI((x0, y0), (x1 - x0, y1 - y0), movable=True, rotatable=False,
                                        removable=False, invertible=False, antialias=False)
            roi.setZValue(23)
            roi.sigRegionChangeFinished.connect(self._roi_dragged)
            self.view_box.addItem(roi, ignoreBounds=True)
        self.roi_person = int(pid)
        colour = person_colour(pid)
        if self._roi_look != colour:
            roi.setPen(pg.mkPen(*colour, width=3))
            self._roi_look = colour
        self._updating = True
        try:
            pos, size = roi.state["pos"], roi.state["size"]
            if (pos[0], pos[1], size[0], size[1]) != (x0, y0, x1 - x0, y1 - y0):
                # what setPos + setSize(update=True) do, less the region-changed bookkeeping and signal that
                # only a drag needs (a drag's own state change still finishes with sigRegionChangeFinished)
                roi.setPos((x0, y0), update=False, finish=False)
                roi.setSize((x1 - x0, y1 - y0), update=False, finish=False)
                for h in roi.handles:
                    h["item"].setPos(h["pos"] * roi.state["size"])
                roi.update()
        finally:
            self._updating = False
        if not roi.isVisible():
            roi.show()

    def drawn(self, pid: int) -> CrowdPerson | None:
        """What the layer paints for a person besides its box handle (None when nothing)."""
        return self.crowd.person(pid)

    def estimate_xy(self, pid: int) -> np.ndarray | None:
        """Where a non-selected person's estimated joints are drawn (None when not drawn)."""
        c = self.crowd.person(pid)
        if c is None or c.est_xy is None:
            return None
        return c.est_xy[np.isfinite(c.est_xy).all(axis=1)]

    def skeleton_xy(self, pid: int) -> np.ndarray | None:
        """Where a non-selected person's labeled joints are drawn (None when not drawn)."""
        c = self.crowd.person(pid)
        if c is None or c.xy is None:
            return None
        return c.xy[np.isfinite(c.xy).all(axis=1)]

    def box_rect(self, pid: int) -> np.ndarray | None:
        """The box drawn for a person ``[x0, y0, x1, y1]`` (None when none is shown)."""
        if pid == self.roi_person and self.roi is not None and self.roi.isVisible():
            (x, y), (w, h) = self.roi.pos(), self.roi.size()
            return np.array([x, y, x + w, y + h], np.float64)
        c = self.crowd.person(pid)
        return None if c is None or c.box is None else np.array(c.box, np.float64)

    def hide_all(self, estimates: bool = True) -> None:
        """Hide the boxes, names and skeletons (and the estimates, unless ``estimates`` is False)."""
        if self.roi is not None:
            self.roi.hide()
        keep = [] if estimates else [CrowdPerson(c.id, c.name, c.colour, est_xy=c.est_xy, est_visible=c.est_visible)
                                     for c in self.crowd.persons if c.est_xy is not None]
        self.crowd.set_persons(keep)

    def clear(self, keep_frame: bool = False) -> None:
        self.hide_all()
        self.roi_person = None
        self.reader.clear()
        if not keep_frame:
            self.frame = None

    def setVisible(self, visible: bool) -> None:  # noqa: N802 (Qt style)
        self.visible = bool(visible)
        self.redraw()

    # ------------------------------------------------------------------ editing
    def set_box(self, pid: int, box: np.ndarray | None) -> None:
        """Write ``box`` as the person's box keyframe on the shown frame (None removes it), one undo step."""
        st = self.state
        if st.project is None or st.video_id is None or self.frame is None:
            return
        self.undo_stack.push(SetBoxCommand(st.project, st.video_id, self.frame, pid, box))

    def _roi_dragged(self, roi: pg.RectROI) -> None:
        pid = self.roi_person
        if self._updating or pid is None or pid != self.state.person:
            return
        (x, y), (w, h) = roi.pos(), roi.size()
        if w <= 1 or h <= 1:
            return
        self.set_box(pid, np.array([x, y, x + w, y + h]))

    def _store_changed(self, project: object, video_id: int, _person: int) -> None:
        if project is self.state.project and video_id == self.state.video_id and self.frame is not None:
            self.redraw()
