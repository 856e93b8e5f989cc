"""The pose editor: the annotated pose drawn over the frame, editable with the mouse and keys.

Why a QObject that manages items in someone else's ViewBox (and not a widget):
the main window owns the video view (frame image, heat maps, the model's
skeleton); the editor only adds its own items — one draggable handle per joint,
one line per skeleton edge, a name tag for the selected joint — to that ViewBox,
so zoom and pan apply to labels and frame alike and nothing is drawn twice.

Every edit goes through an undoable command from :mod:`rpan_studio.commands`,
which writes to the project store at once: a drag is one undo step (the handle
moves freely while the button is down, and one command is pushed on release), a
visibility toggle, a delete, a placement likewise. The editor redraws from the
store whenever any command changes the shown frame (undo, redo, or an edit made
from a menu), so what is drawn is always what is stored.

Styles (so a person can tell at a glance what is theirs and what is the model's):
fill colour by LabelSource (manual green, corrected orange, accepted blue,
imported violet); the model's prediction for a joint with no label is a small
grey dotted ring; an occluded (invisible) joint is hollow with a dashed outline;
edges are tinted by body side (left cyan, right magenta) so left/right swaps stand
out, and dashed where either end is occluded or only predicted.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QEvent, QLineF, QObject, QPointF, Qt, pyqtSignal
from PyQt6.QtGui import QAction, QColor, QKeySequence, QPen, QUndoStack
from PyQt6.QtWidgets import QGraphicsLineItem, QListWidget, QListWidgetItem, QWidget

from rpan_core.errors import RPANError
from rpan_core.project import LabelSource, Project
from rpan_core.skeleton import Skeleton
from rpan_studio import commands as cmds
from rpan_studio.actions import action, shortcut
from rpan_studio.commands import Row

__all__ = ["JointHandle", "JointListWidget", "PoseEditor", "SOURCE_COLORS"]

#: fill colour of a joint by its state: its LabelSource when labeled, else "predicted" (LabelSource compares and
#: hashes as its value, so SOURCE_COLORS[LabelSource.MANUAL] and SOURCE_COLORS["manual"] are the same entry)
SOURCE_COLORS: dict[str, tuple[int, int, int]] = {
    LabelSource.MANUAL.value: (70, 220, 100),
    LabelSource.CORRECTED.value: (255, 160, 40),
    LabelSource.ACCEPTED.value: (80, 170, 255),
    LabelSource.IMPORTED.value: (190, 120, 255),
    "predicted": (210, 210, 210),
}
SIDE_COLORS = {"left": (80, 220, 230), "right": (240, 90, 200), "center": (235, 235, 235)}
SELECT_COLOR = (255, 255, 80)
HANDLE_PX = 13
PREDICTED_PX = 12
SELECTED_PX = 17


def _side(name: str) -> str:
    return "left" if name.startswith("left_") else "right" if name.startswith("right_") else "center"


_LIMBS = (("shoulder", "elbow", "wrist"), ("hip", "knee", "ankle"))


def limb_of(skel: Skeleton, joint: int) -> list[int]:
    """The joints of ``joint``'s limb (arm: shoulder, elbow, wrist; leg: hip, knee, ankle; same side), in
    skeleton order; a joint outside the limbs (the head) is its own limb."""
    name = skel.joints[joint]
    side = _side(name)
    for words in _LIMBS:
        if side != "center" and any(w in name for w in words):
            return [j for j, n in enumerate(skel.joints) if _side(n) == side and any(w in n for w in words)]
    return [joint]


class JointHandle(pg.TargetItem):
    """A draggable joint marker of constant screen size. Reports to its editor; never writes itself."""

    def __init__(self, editor: "PoseEditor", joint: int) -> None:
        super().__init__(pos=(0, 0), size=HANDLE_PX, symbol="o", movable=True)
        self.editor = editor
        self.joint = joint
        self._drag_start: QPointF | None = None
        self._symbol_name = "o"
        self.setZValue(20)
        self.setHoverPen(pg.mkPen(SELECT_COLOR, width=2))

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph name)
        if not self.movable or ev.button() != Qt.MouseButton.LeftButton:
            return
        ev.accept()
        if ev.isStart():
            self._drag_start = QPointF(self.pos())
            self.symbolOffset = self.pos() - self.mapToView(ev.buttonDownPos())
            self.moving = True
            self.editor.select(self.joint)
        if not self.moving:
            return
        self.setPos(self.symbolOffset + self.mapToView(ev.pos()))
        if ev.isFinish():
            self.moving = False
            start, self._drag_start = self._drag_start, None
            self.editor._drag_finished(self.joint, start, QPointF(self.pos()))

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph name)
        if self.moving and ev.button() == Qt.MouseButton.RightButton:
            ev.accept()  # cancel the drag: back to where it started, nothing written
            self.moving = False
            if self._drag_start is not None:
                self.setPos(self._drag_start)
            self._drag_start = None
            self.editor._refresh_edges()
        elif ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            if self.editor.placing_joint is not None:  # labeling: a click on a drawn marker still places
                p = self.mapToView(ev.pos())
                self.editor._guard(lambda: self.editor.place_at(p.x(), p.y()))
                return
            self.editor.select(self.joint)

    def cancel_drag(self) -> None:
        self.moving = False
        self._drag_start = None


class PoseEditor(QObject):
    """Draws and edits the annotated pose of one frame inside a pyqtgraph ViewBox.

    ``set_context(project, video_id, frame, prediction=None)`` chooses what is
    shown; ``prediction`` is ``(xy J x 2, conf J)`` of the model for this frame.
    ``labelsChanged(video_id, frames)`` fires after every edit to the project's
    labels made through the commands (from this editor, a menu, undo or redo).
    """

    labelsChanged = pyqtSignal(int, object)
    selectionChanged = pyqtSignal(object)  # int | None
    placingChanged = pyqtSignal(object)  # joint being placed, or None
    sequenceFinished = pyqtSignal(int)  # a labeling sequence ended: how many joints it labeled
    errorOccurred = pyqtSignal(str)  # a user-facing message (e.g. nothing to toggle)
    redrawn = pyqtSignal()  # the shown labels were re-read (new frame, edit, undo)

    def __init__(self, view_box: pg.ViewBox, undo_stack: QUndoStack, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view_box = view_box
        self.undo_stack = undo_stack
        self.project: Project | None = None
        self.video_id: int | None = None
        self.frame: int = 0
        self.person: int = 1  # whose joints are shown and edited
        self.prediction: tuple[np.ndarray, np.ndarray] | None = None
        self.skeleton: Skeleton | None = None
        self.labels: dict[int, Row] = {}
        self.handles: list[JointHandle] = []
        self.edges: list[QGraphicsLineItem] = []
        self.edge_shadows: list[QGraphicsLineItem] = []  # dark under-strokes: edges stay visible on any video
        self._selected: int | None = None
        self._placing: int | None = None
        self._visible = True
        self._nudge_id = 0x5E00
        self._nudge_key: tuple | None = None
        self._nudge_index: int | None = None
        self.name_tag = pg.TextItem("", color=SELECT_COLOR, anchor=(0, 1.2))
        self.name_tag.setZValue(30)
        self.name_tag.hide()
        view_box.addItem(self.name_tag, ignoreBounds=True)
        # labeling mode: the joint to place next, written beside the pointer
        self.cursor_tag = pg.TextItem("", color=(255, 255, 255), fill=pg.mkBrush(20, 20, 20, 200),
                                      border=pg.mkPen(SELECT_COLOR, width=1), anchor=(-0.08, -0.25))
        self.cursor_tag.setZValue(40)
        self.cursor_tag.hide()
        view_box.addItem(self.cursor_tag, ignoreBounds=True)
        self._queue: list[int] = []  # joints still to place after the current one
        self._history: list[int] = []  # joints placed or skipped in this sequence (for "back")
        self._sequence_total = 0
        self._sequence_done = 0
        self._scene_connected = None
        self._last_pointer: QPointF | None = None
        self._swallow_release = False
        self.actions = self._make_actions()
        cmds.notifier().labelsChanged.connect(self._store_changed)
        self._connect_scene()

    # ------------------------------------------------------------------ public API
    @property
    def selected_joint(self) -> int | None:
        return self._selected

    @property
    def placing_joint(self) -> int | None:
        return self._placing

    def set_context(self, project: Project | None, video_id: int | None, frame: int,
                    prediction: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Show ``frame`` of ``video_id`` (project None clears the editor)."""
        if project is not self.project or video_id != self.video_id or frame != self.frame:
            self._nudge_key = None
            self.cancel_place()  # a labeling sequence belongs to its frame
            # A drag begun on another frame (playback, a seek) must never land on this one.
            for h in self.handles:
                if h.moving:
                    h.cancel_drag()
        self.project = project
        self.video_id = None if video_id is None else int(video_id)
        self.frame = int(frame)
        if prediction is not None:
            xy, conf = prediction
            xy = np.asarray(xy, dtype=np.float64)
            conf = np.asarray(conf, dtype=np.float64) if conf is not None else np.ones(xy.shape[0])
            prediction = (xy, conf)
        self.prediction = prediction
        skel = None if project is None else project.skeleton
        if skel is not self.skeleton:
            self._build_items(skel)
        if self._placing is not None and (self.skeleton is None or self._placing >= self.skeleton.num_joints):
            self.cancel_place()
        self.reload()

    def set_person(self, person: int) -> None:
        """Show and edit another person's joints (a drag in progress is cancelled)."""
        if int(person) == self.person:
            return
        for h in self.handles:
            if h.moving:
                h.cancel_drag()
        self._nudge_key = None
        self.person = int(person)
        self.reload()

    def set_prediction(self, prediction: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Replace the model's pose for the current frame (e.g. when an analysis finishes)."""
        self.set_context(self.project, self.video_id, self.frame, prediction)

    def setVisible(self, visible: bool) -> None:  # noqa: N802 (Qt style, for the overlay toggle)
        """Show or hide all of the editor's items (the overlay toggle of the main window)."""
        self._visible = bool(visible)
        self._redraw()

    def reload(self) -> None:
        """Re-read the shown frame's labels from the store and redraw."""
        if self.project is None or self.video_id is None:
            self.labels = {}
        else:
            labels = self.project.frame_labels(self.video_id, self.frame, self.person)
            self.labels = {j: cmds.row_of(lab) for j, lab in labels.items()}
        self._redraw()
        self.redrawn.emit()

    def joint_names(self) -> tuple[str, ...]:
        return () if self.skeleton is None else self.skeleton.joints

    def joint_state(self, joint: int) -> LabelSource | str:
        """The joint's LabelSource when labeled, else ``predicted`` (a model pose shown) or ``missing``."""
        row = self.labels.get(joint)
        if row is not None:
            return row.source
        return "predicted" if self._predicted_xy(joint) is not None else "missing"

    def missing_joints(self) -> list[int]:
        """Joints with no label on this frame (predicted or not), in skeleton order."""
        return [j for j in range(len(self.handles)) if j not in self.labels]

    def joint_position(self, joint: int) -> tuple[float, float] | None:
        """Where the joint is drawn: its label, else the prediction, else None."""
        row = self.labels.get(joint)
        if row is not None:
            return (row.x, row.y) if math.isfinite(row.x) and math.isfinite(row.y) else None
        return self._predicted_xy(joint)

    def select(self, joint: int | None) -> None:
        if joint is not None and not (0 <= joint < len(self.handles)):
            joint = None
        if joint == self._selected:
            return
        self._selected = joint
        self._nudge_key = None
        self._redraw()
        self.selectionChanged.emit(joint)

    def select_next(self, step: int = 1) -> None:
        """Select the next (or previous) joint that is drawn (labeled or predicted)."""
        n = len(self.handles)
        shown = [j for j in range(n) if self.joint_position(j) is not None]
        if not shown:
            return
        cur = self._selected if self._selected is not None else (-1 if step > 0 else n)
        order = sorted(shown, key=lambda j: ((j - cur) * step) % n or n)
        self.select(order[0])

    # --- edits (each pushes one undoable command) ---
    def move_joint(self, joint: int, x: float, y: float, merge: bool = False, placed: bool = False) -> None:
        """Put ``joint`` at (x, y) on the current frame as one undo step (``merge``: join with the previous nudge).

        ``placed``: the person put the joint where they clicked (labeling mode), not moved the model's
        joint: that is their own label (``manual``) even where the model predicts the joint; moving a
        prediction (drag, nudge) makes a ``corrected`` one.
        """
        if not self._ready():
            return
        from_pred = not placed and joint not in self.labels and self._predicted_xy(joint) is not None
        merge_id = -1
        if merge:
            key = (id(self.project), self.video_id, self.frame, self.person, joint)
            if key != self._nudge_key or self.undo_stack.index() != self._nudge_index:
                self._nudge_id = self._nudge_id + 1 if self._nudge_id < 0x5EFF else 0x5E00
            self._nudge_key = key
            merge_id = self._nudge_id
        else:
            self._nudge_key = None
        self._push(cmds.SetJointCommand(self.project, self.video_id, self.frame, joint, float(x), float(y),
                                        from_prediction=from_pred, merge_id=merge_id,
                                        joint_name=self.skeleton.joints[joint], person=self.person))
        if merge:
            self._nudge_index = self.undo_stack.index()

    def nudge(self, dx: float, dy: float) -> None:
        """Move the selected joint by (dx, dy) pixels; consecutive nudges are one undo step."""
        j = self._selected
        if j is None or not self._ready():
            return
        pos = self.joint_position(j)
        if pos is None:
            return
        self.move_joint(j, pos[0] + dx, pos[1] + dy, merge=True)

    def toggle_visibility(self, joint: int | None = None) -> None:
        """Flip visible/occluded of ``joint`` (default: the selected one)."""
        j = self._selected if joint is None else joint
        if j is None or not self._ready():
            return
        row = self.labels.get(j)
        visible = not row.visible if row is not None else False  # a predicted joint is shown as visible
        self._push(cmds.SetVisibilityCommand(self.project, self.video_id, self.frame, j, visible,
                                             xy=self._predicted_xy(j), joint_name=self.skeleton.joints[j],
                                             person=self.person))

    def delete_joint(self, joint: int | None = None) -> None:
        """Delete the label of ``joint`` (default: the selected one); a prediction shows again if there is one."""
        j = self._selected if joint is None else joint
        if j is None or not self._ready() or j not in self.labels:
            return
        self._push(cmds.DeleteLabelCommand(self.project, self.video_id, self.frame, [j],
                                           joint_name=self.skeleton.joints[j], person=self.person))

    def begin_place(self, joint: int | str | None = None) -> None:
        """Labeling mode. Without ``joint`` (the P key): place every missing joint of the frame in skeleton order,
        one click each (X marks the current one not visible and skips it, B goes back one joint, Esc stops).
        With ``joint``: the next click places that joint only."""
        if not self._ready():
            return
        if isinstance(joint, str):
            joint = self.skeleton.index(joint)
        if joint is not None:
            self._start_sequence([int(joint)])
            return
        missing = self.missing_joints()
        if not missing:
            self.errorOccurred.emit("every joint of this frame is labeled; select one and drag it, or press "
                                    f"{shortcut('redo_limb')} to place its limb again")
            return
        self._start_sequence(missing)

    def redo_limb(self, joint: int | None = None) -> None:
        """Place the selected joint's limb again (shoulder-elbow-wrist or hip-knee-ankle), one click per joint."""
        if not self._ready():
            return
        j = self._selected if joint is None else joint
        if j is None:
            self.errorOccurred.emit("select a joint of the limb to redo first (click it, or Tab)")
            return
        self._start_sequence(limb_of(self.skeleton, j))

    def skip_hidden(self) -> None:
        """Labeling mode: mark the joint to place as not visible (no position) and go on to the next."""
        j = self._placing
        if j is None or not self._ready():
            self.errorOccurred.emit(f"{shortcut('skip_hidden')} marks the joint being placed as not visible: "
                                    f"start placing with {shortcut('place_joint')} first")
            return
        name = self.skeleton.joints[j]
        self._push(cmds.LabelEditCommand(self.project, self.video_id,
                                         {(self.frame, j): Row(math.nan, math.nan, False, LabelSource.MANUAL)},
                                         f"Mark {name} not visible on frame {self.frame}"))
        self._advance(j)

    def back_joint(self) -> None:
        """Labeling mode: go back to the joint placed (or skipped) before the current one; the next click
        places it again."""
        if self._placing is None or not self._history:
            return
        prev = self._history.pop()
        self._queue.insert(0, self._placing)
        self._sequence_done = max(0, self._sequence_done - 1)
        self._set_placing(prev)

    def cancel_place(self) -> None:
        if self._placing is None:
            return
        self._queue, self._history = [], []
        self._placing = None
        self.cursor_tag.hide()
        self._set_cursor(False)
        self._redraw()
        self.placingChanged.emit(None)

    def place_at(self, x: float, y: float) -> None:
        """Place the armed joint at (x, y) (what a click does while placing), then arm the next one."""
        j = self._placing
        if j is None or not self._ready():
            return
        self.move_joint(j, x, y, placed=True)
        self._advance(j)

    def _start_sequence(self, joints: list[int]) -> None:
        self._queue = list(joints[1:])
        self._history = []
        self._sequence_total, self._sequence_done = len(joints), 0
        self._connect_scene()
        self._set_cursor(True)
        self._set_placing(joints[0])

    def _set_placing(self, joint: int) -> None:
        self._placing = int(joint)
        self.select(self._placing)
        self._update_cursor_tag()
        self._redraw()
        self.placingChanged.emit(self._placing)

    def _advance(self, done: int) -> None:
        self._history.append(done)
        self._sequence_done += 1
        if self._queue:
            self._set_placing(self._queue.pop(0))
            return
        n = self._sequence_done
        self._placing = None
        self._history = []
        self.cursor_tag.hide()
        self._set_cursor(False)
        self.select(done)
        self._redraw()
        self.placingChanged.emit(None)
        self.sequenceFinished.emit(n)

    def cursor_hint(self) -> str:
        """The text beside the pointer while placing ('' when not placing)."""
        j = self._placing
        if j is None or self.skeleton is None:
            return ""
        k = self._sequence_done + 1
        keys = f"{shortcut('skip_hidden')} not visible · {shortcut('back_joint')} back · Esc stop"
        return f"{self.skeleton.joints[j].replace('_', ' ')}  ({k}/{self._sequence_total})\n{keys}"

    def _update_cursor_tag(self, pos: QPointF | None = None) -> None:
        text = self.cursor_hint()
        if not text:
            self.cursor_tag.hide()
            return
        self.cursor_tag.setText(text)
        if pos is None:
            pos = self._last_pointer
        if pos is not None:
            self.cursor_tag.setPos(pos)
        else:
            r = self.view_box.viewRect()
            self.cursor_tag.setPos(r.center())
        self.cursor_tag.setVisible(self._visible)

    def _set_cursor(self, placing: bool) -> None:
        view = self.view_box.getViewWidget()
        if view is not None:
            if placing:
                view.viewport().setCursor(Qt.CursorShape.CrossCursor)
                view.viewport().installEventFilter(self)  # every click places, whatever item lies under it
            else:
                view.viewport().unsetCursor()

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 (Qt name)
        """While labeling, a left click in the frame places the joint before any scene item (a person's box,
        a marker) can take it; its release is swallowed with it."""
        kind = ev.type()
        if kind == QEvent.Type.MouseButtonRelease and self._swallow_release:
            self._swallow_release = False
            return True
        if kind != QEvent.Type.MouseButtonPress or self._placing is None or \
                ev.button() != Qt.MouseButton.LeftButton:
            return False
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:  # Shift+drag draws a box (views.box_drawer)
            return False
        view = self.view_box.getViewWidget()
        if view is None:
            return False
        scene_pos = view.mapToScene(ev.position().toPoint())
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            return False
        p = self.view_box.mapSceneToView(scene_pos)
        self._swallow_release = True
        self._guard(lambda: self.place_at(p.x(), p.y()))
        return True

    def _pointer_moved(self, scene_pos: QPointF) -> None:
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            return
        self._last_pointer = self.view_box.mapSceneToView(scene_pos)
        if self._placing is not None:
            self._update_cursor_tag(self._last_pointer)

    # --- keyboard ---
    def install_shortcuts(self, widget: QWidget) -> None:
        """Make the editor's keys work while ``widget`` (e.g. the main window) has focus."""
        for act in self.actions.values():
            if act not in widget.actions():
                widget.addAction(act)

    # ------------------------------------------------------------------ internals
    def _make_actions(self) -> dict[str, QAction]:
        def make(name: str, slot, keys: str | None = None, text: str | None = None) -> QAction:
            spec = action(name)
            act = QAction(text or spec.text or spec.description, self)
            act.setStatusTip(spec.description)
            act.setShortcut(QKeySequence(keys or shortcut(name)))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(lambda _checked=False: self._guard(slot))
            return act

        acts = {
            "toggle_visibility": make("toggle_visibility", self.toggle_visibility),
            "delete_label": make("delete_label", self.delete_joint),
            "place_joint": make("place_joint", self.begin_place),
            "cancel_place": make("cancel_place", self.cancel_place),
            "skip_hidden": make("skip_hidden", self.skip_hidden),
            "back_joint": make("back_joint", self.back_joint),
            "redo_limb": make("redo_limb", self.redo_limb),
            "next_joint": make("next_joint", lambda: self.select_next(1)),
            "previous_joint": make("previous_joint", lambda: self.select_next(-1)),
        }
        for name, (dx, dy) in {"nudge_left": (-1, 0), "nudge_right": (1, 0),
                               "nudge_up": (0, -1), "nudge_down": (0, 1)}.items():
            one = action(name).description.split(" (")[0]  # "Move the selected joint 1 px left"
            acts[name] = make(name, lambda dx=dx, dy=dy: self.nudge(dx, dy), text=one)
            keys = shortcut(name).replace("Alt+", "Alt+Shift+")
            acts[name + "_10"] = make(name, lambda dx=dx, dy=dy: self.nudge(10 * dx, 10 * dy), keys,
                                      text=one.replace("1 px", "10 px"))
        acts["delete_label"].setShortcuts([QKeySequence("Delete"), QKeySequence("Backspace")])
        return acts

    def _guard(self, fn) -> None:
        try:
            fn()
        except RPANError as exc:
            self.errorOccurred.emit(str(exc))

    def _push(self, cmd) -> None:
        self.undo_stack.push(cmd)

    def _ready(self) -> bool:
        return self.project is not None and self.video_id is not None and self.skeleton is not None

    def _predicted_xy(self, joint: int) -> tuple[float, float] | None:
        if self.prediction is None:
            return None
        xy = self.prediction[0]
        if joint >= xy.shape[0]:
            return None
        x, y = float(xy[joint, 0]), float(xy[joint, 1])
        return (x, y) if math.isfinite(x) and math.isfinite(y) else None

    def _connect_scene(self) -> None:
        scene = self.view_box.scene()
        if scene is not None and scene is not self._scene_connected:
            if self._scene_connected is not None:
                try:
                    self._scene_connected.sigMouseClicked.disconnect(self._scene_clicked)
                    self._scene_connected.sigMouseMoved.disconnect(self._pointer_moved)
                except TypeError:
                    pass
            scene.sigMouseClicked.connect(self._scene_clicked)
            scene.sigMouseMoved.connect(self._pointer_moved)
            self._scene_connected = scene
            view = self.view_box.getViewWidget()
            if view is not None:
                self.install_shortcuts(view)

    def _scene_clicked(self, ev) -> None:
        if self._placing is None or ev.isAccepted() or ev.button() != Qt.MouseButton.LeftButton:
            return
        if not self.view_box.sceneBoundingRect().contains(ev.scenePos()):
            return
        p = self.view_box.mapSceneToView(ev.scenePos())
        ev.accept()
        self._guard(lambda: self.place_at(p.x(), p.y()))

    def _store_changed(self, project: Project, video_id: int, frames: list[int]) -> None:
        if project is not self.project or self.project is None:
            return
        if video_id == self.video_id and self.frame in frames:
            self.reload()
        self.labelsChanged.emit(int(video_id), list(frames))

    def _drag_finished(self, joint: int, start: QPointF | None, end: QPointF) -> None:
        if start is not None and start == end:
            return
        try:
            self.move_joint(joint, end.x(), end.y())
        except RPANError as exc:
            self.errorOccurred.emit(str(exc))
            self.reload()

    def _build_items(self, skel: Skeleton | None) -> None:
        for h in self.handles:
            self.view_box.removeItem(h)
        for e in self.edges + self.edge_shadows:
            self.view_box.removeItem(e)
        self.handles, self.edges, self.edge_shadows = [], [], []
        self._selected = None
        self.skeleton = skel
        if skel is None:
            return
        for j in range(skel.num_joints):
            h = JointHandle(self, j)
            h.sigPositionChanged.connect(self._handle_moved)
            self.view_box.addItem(h, ignoreBounds=True)
            self.handles.append(h)
        for _a, _b in skel.edges:
            shadow = QGraphicsLineItem()
            shadow.setZValue(14)
            self.view_box.addItem(shadow, ignoreBounds=True)
            self.edge_shadows.append(shadow)
            line = QGraphicsLineItem()
            line.setZValue(15)
            self.view_box.addItem(line, ignoreBounds=True)
            self.edges.append(line)

    def _handle_moved(self, handle: JointHandle) -> None:
        if handle.moving:
            self._refresh_edges()
            if handle.joint == self._selected:
                self.name_tag.setPos(handle.pos())

    def _refresh_edges(self) -> None:
        if self.skeleton is None:
            return
        for (a, b), line, shadow in zip(self.skeleton.edges, self.edges, self.edge_shadows):
            ha, hb = self.handles[a], self.handles[b]
            if ha.isVisible() and hb.isVisible():
                line.setLine(QLineF(ha.pos(), hb.pos()))
                shadow.setLine(line.line())

    def _redraw(self) -> None:
        skel = self.skeleton
        if skel is None:
            self.name_tag.hide()
            return
        for j, h in enumerate(self.handles):
            if h.moving:
                continue
            pos = self.joint_position(j)
            if pos is None or not self._visible:
                h.hide()
                continue
            state = self.joint_state(j)
            row = self.labels.get(j)
            color = SOURCE_COLORS.get(state, SOURCE_COLORS[LabelSource.MANUAL])
            selected = j == self._selected
            symbol = "o"
            if state == "predicted":  # the model's guess: a smaller diamond, dotted outline
                pen = pg.mkPen((25, 25, 25), width=1.5, style=Qt.PenStyle.DotLine)
                brush = pg.mkBrush(color + (170,))
                size, symbol = PREDICTED_PX, "d"
            elif row is not None and not row.visible:  # occluded: hollow, dashed
                pen = pg.mkPen(color, width=2.5, style=Qt.PenStyle.DashLine)
                brush = pg.mkBrush(0, 0, 0, 0)
                size = HANDLE_PX
            else:
                pen = pg.mkPen((20, 20, 20), width=1.5)
                brush = pg.mkBrush(color + (235,))
                size = HANDLE_PX
            if selected:
                pen = pg.mkPen(SELECT_COLOR, width=3,
                               style=pen.style() if pen.style() != Qt.PenStyle.SolidLine else Qt.PenStyle.SolidLine)
                size = SELECTED_PX
            if h._symbol_name != symbol:
                h._symbol_name = symbol
                h.setSymbol(symbol)
            h.setPen(pen)
            h.setBrush(brush)
            h.setHoverBrush(brush)
            if h.scale != size:
                h.scale = size
                h._shape = None
                h.prepareGeometryChange()
            h.setPos(pos)
            h.setToolTip(f"{skel.joints[j]} ({state}{'' if row is None or row.visible else ', occluded'})")
            h.show()
        for (a, b), line, shadow in zip(skel.edges, self.edges, self.edge_shadows):
            ha, hb = self.handles[a], self.handles[b]
            if not (ha.isVisible() and hb.isVisible()):
                line.hide()
                shadow.hide()
                continue
            ra, rb = self.labels.get(a), self.labels.get(b)
            solid = ra is not None and rb is not None and ra.visible and rb.visible
            sa, sb = _side(skel.joints[a]), _side(skel.joints[b])
            side = sa if sa == sb else (sa if sb == "center" else sb if sa == "center" else "center")
            color = QColor(*SIDE_COLORS[side], 220 if solid else 150)
            pen = QPen(color)
            pen.setCosmetic(True)
            pen.setWidthF(2.5 if solid else 1.5)
            pen.setStyle(Qt.PenStyle.SolidLine if solid else Qt.PenStyle.DashLine)
            line.setPen(pen)
            line.setLine(QLineF(ha.pos(), hb.pos()))
            line.show()
            dark = QPen(QColor(0, 0, 0, 150 if solid else 110))
            dark.setCosmetic(True)
            dark.setWidthF(pen.widthF() + 2.5)
            dark.setCapStyle(Qt.PenCapStyle.RoundCap)
            shadow.setPen(dark)
            shadow.setLine(line.line())
            shadow.show()
        j = self._selected
        if j is not None and self._visible and self.handles[j].isVisible():
            text = skel.joints[j].replace("_", " ")
            if self._placing == j:
                text = f"placing again: {text}"
            self.name_tag.setText(text)
            self.name_tag.setPos(self.handles[j].pos())
            self.name_tag.show()
        else:
            self.name_tag.hide()


class JointListWidget(QListWidget):
    """The joints of the shown frame with their state; click a labeled joint to select it,
    a missing one to place it (then click in the frame)."""

    def __init__(self, editor: PoseEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.itemClicked.connect(self._clicked)
        editor.redrawn.connect(self.refresh)
        editor.selectionChanged.connect(lambda *_: self.refresh())
        editor.placingChanged.connect(lambda *_: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        names = self.editor.joint_names()
        if self.count() != len(names):
            self.clear()
            for _ in names:
                self.addItem(QListWidgetItem())
        for j, name in enumerate(names):
            state = self.editor.joint_state(j)
            row = self.editor.labels.get(j)
            occl = " (occluded)" if row is not None and not row.visible else ""
            mark = "▶ " if self.editor.placing_joint == j else ""
            item = self.item(j)
            item.setText(f"{mark}{name.replace('_', ' ')} — {state}{occl}")
            item.setForeground(QColor(*SOURCE_COLORS.get(state, (150, 150, 150))))
            item.setSelected(j == self.editor.selected_joint)

    def _clicked(self, item: QListWidgetItem) -> None:
        j = self.row(item)
        if j in self.editor.labels:
            self.editor.cancel_place()
            self.editor.select(j)
        else:
            self.editor.begin_place(j)
