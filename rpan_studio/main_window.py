"""The studio's main window: layout, menus and wiring; one current frame, every view linked to it.

How the studio is put together (the complaints about SLEAP's and DeepLabCut's
labeling GUIs are the list of things not to do):

* :mod:`rpan_studio.state` holds what is being looked at (project, video, frame,
  analysis, checkpoints, overlay options) and signals its changes;
* :mod:`rpan_studio.session` does things to the project (open, analyze, flow,
  demo, import / export) through the one :class:`~rpan_studio.workers.TaskRunner`,
  so the UI thread never waits (a progress bar and a cancel button show what runs);
* :mod:`rpan_studio.views` draw the state (the frame and its overlays are set in
  the same call, from the decoded frame's own index, so labels are never drawn
  on the wrong frame; scrubbing never lags: the newest request wins);
* :mod:`rpan_studio.dialogs` ask; :mod:`rpan_studio.commands` act (every edit is
  a QUndoCommand that writes to the store at once: nothing is lost on a crash);
* :mod:`rpan_studio.actions` is the one table of menus and keys.

This module only builds the widgets, makes the menus from that table and
connects the signals.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from PyQt6.QtCore import QSettings, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QCloseEvent, QKeySequence, QUndoStack
from PyQt6.QtWidgets import (
    QDialog, QDockWidget, QFileDialog, QListWidgetItem, QMainWindow, QMenu, QMessageBox, QSplitter, QVBoxLayout,
    QWidget,
)

from rpan_core.analyze import TwoStreamAnalysis
from rpan_core.errors import RPANError
from rpan_core.formats.registry import exporters, get_format, importers
from rpan_core.project import Project
from rpan_studio import commands as cmds
from rpan_studio.actions import ACTIONS, MENUS, load_keys, shortcut
from rpan_studio.dialogs import ask
from rpan_studio.dialogs.model_card import ModelBanner, ModelCardDialog, read_card
from rpan_studio.export import save_widget_png
from rpan_studio.labeling import Labeling
from rpan_studio.persons import Persons
from rpan_studio.recent import RecentProjects
from rpan_studio.session import Session
from rpan_studio.state import StudioState
from rpan_studio.views.box_drawer import BoxDrawer
from rpan_studio.views.dynamics import ConfidencePlot, DynamicsPlot
from rpan_studio.views.flow_layer import FlowLayer
from rpan_studio.views.frame_display import FrameDisplay
from rpan_studio.views.overlay_panel import OverlayPanel
from rpan_studio.views.persons_layer import PersonsLayer
from rpan_studio.views.persons_panel import PersonsPanel
from rpan_studio.views.task_status import TaskStatus
from rpan_studio.views.video_list import VideoList
from rpan_studio.views.pose_editor import JointListWidget, PoseEditor
from rpan_studio.views.review import ReviewList, review_items
from rpan_studio.views.timeline import ActionPlot
from rpan_studio.views.transport import PlayClock, TransportBar
from rpan_studio.views.video_view import VideoView
from rpan_studio.workers import TaskRunner, TaskWorker

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.flow import FlowVolume
    from rpan_studio.state import AnalysisLike

__all__ = ["MainWindow"]

ORG, APP = "RPAN", "RPAN Studio"
ALIGN_SIDES_KEY = "propagate/align_sides"  # QSettings key of Edit > Propagation takes the keyframes' left/right
POSE_PRIOR_KEY = "analysis/pose_prior"  # QSettings key of Model > Decode poses with the limb-length prior


class MainWindow(QMainWindow):
    """RPAN Studio's main window. ``analyze_fn`` / ``analyze_person_fn`` (tests) replace rpan_core's whole-frame
    and per-person analyses."""

    frameShown = pyqtSignal(int)  # a decoded frame is on screen with its overlays
    analysisReady = pyqtSignal(object)
    projectOpened = pyqtSignal(object)

    def __init__(self, project: Project | str | os.PathLike | None = None,
                 checkpoint: str | os.PathLike | None = None, *, analyze_fn: Callable[..., Any] | None = None,
                 analyze_person_fn: Callable[..., Any] | None = None,
                 auto_analyze: bool = True, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        keys_problem = load_keys()  # the keys file, read once at start (before any action is made)
        self.setWindowTitle(APP)
        self.resize(1400, 900)
        self.settings = settings or QSettings(ORG, APP)
        self.recent = RecentProjects(self.settings)
        self.auto_analyze = auto_analyze
        self.errors: list[str] = []  # every message shown to the user (tests read it)
        self.quiet = False  # tests: record errors instead of opening modal boxes
        self.quiet_answer = True
        self.first_video: str | None = None  # open this video (id or file name) when the next project opens
        self.undo_stack = QUndoStack(self)
        self.state = StudioState(self)
        self.runner = TaskRunner(self)
        self.session = Session(self.state, self.runner, analyze_fn, self, analyze_person_fn)
        self.session.auto_reanalyze = auto_analyze  # a moved box re-reads its person, as opening a video analyzes it
        if checkpoint:
            self.state.set_checkpoint(checkpoint, "given")

        self.view = VideoView()
        self.editor = PoseEditor(self.view.view_box, self.undo_stack, self)
        self.editor.install_shortcuts(self)
        self.flow_layer = FlowLayer(self.view)
        self.transport = TransportBar()
        self.action_plot = ActionPlot()
        self.conf_plot = ConfidencePlot()
        self.dynamics_plot = DynamicsPlot()
        self.display = FrameDisplay(self.state, self.view, self.editor, self.flow_layer,
                                    (self.transport, self.action_plot, self.conf_plot, self.dynamics_plot), self)
        self.player = PlayClock(self.state, self.seek, self)
        self.labeling = Labeling(self.session, self.display, self.undo_stack)
        self.persons_layer = PersonsLayer(self.view.view_box, self.state, self.undo_stack, self)
        self.display.layers.append(self.persons_layer)
        self.persons = Persons(self.session, self.persons_layer, self.undo_stack)
        self.box_drawer = BoxDrawer(self.view, self.view.view_box, self.state, self.persons_layer, self)
        self._build_central()
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_status()
        self._connect()
        if keys_problem:  # one clear message, never a crash; not modal before the window is up
            self.errors.append(keys_problem)
            self.statusBar().showMessage(keys_problem, 20000)
            QTimer.singleShot(0, lambda: None if self.quiet else QMessageBox.warning(self, APP, keys_problem))
        if project is not None:
            self.open_project(project)

    # ================================================================== layout
    def _build_central(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        self.banner = ModelBanner()
        lay.addWidget(self.banner)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.transport)
        self.setCentralWidget(central)
        self.spin, self.seekbar = self.transport.spin, self.transport.seekbar

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(name)
        d.setWidget(widget)
        self.addDockWidget(area, d)
        return d

    def _build_docks(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.video_list = VideoList()
        self.videos_dock = self._dock("Videos", self.video_list, left, "videos")
        self.overlays = OverlayPanel(self.state)
        self.overlay_dock = self._dock("Overlays", self.overlays, left, "overlays")
        self.persons_panel = PersonsPanel(self.state)
        self.persons_dock = self._dock("Persons", self.persons_panel, left, "persons")
        self.joint_list = JointListWidget(self.editor)
        self.joints_dock = self._dock("Joints", self.joint_list, left, "joints")
        plots = QSplitter(Qt.Orientation.Vertical)
        for p in (self.action_plot, self.conf_plot, self.dynamics_plot):
            plots.addWidget(p)
        plots.setSizes([220, 180, 300])
        self.plots_dock = self._dock("Plots", plots, right, "plots")
        self.review_list = ReviewList()
        self.review_dock = self._dock("Review queue", self.review_list, right, "review")
        self.resizeDocks([self.plots_dock], [520], Qt.Orientation.Horizontal)
        self.resizeDocks([self.plots_dock, self.review_dock], [680, 180], Qt.Orientation.Vertical)

    def _act(self, text: str, slot: Callable[[], Any], key: str | None = None, tip: str | None = None) -> QAction:
        a = QAction(text, self)
        if key:
            a.setShortcut(QKeySequence(key))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(a)
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(lambda _checked=False: self._guard(slot))
        return a

    def _slots(self) -> dict[str, Callable[[], Any]]:
        """The slot of every window action of rpan_studio.actions.ACTIONS."""
        o, lab = self.overlays, self.labeling
        return {
            "new_project": self._new_project_dialog, "open": self._open_dialog,
            "open_video": self._open_video_dialog, "save_as": self._save_as_dialog, "open_demo": self.open_demo,
            "add_videos": self._add_videos_dialog, "export_video": self._export_video_dialog,
            "png_view": lambda: self._png_dialog("view"), "png_dynamics": lambda: self._png_dialog("dynamics"),
            "png_confusion": lambda: self._png_dialog("confusion"), "quit": self.close,
            "play": self.toggle_play, "step_forward": lambda: self.step(1), "step_back": lambda: self.step(-1),
            "step_forward_10": lambda: self.step(10), "step_back_10": lambda: self.step(-10),
            "next_labeled": lambda: self.jump("labeled", 1), "prev_labeled": lambda: self.jump("labeled", -1),
            "next_unlabeled": lambda: self.jump("unlabeled", 1), "next_lowconf": lambda: self.jump("lowconf", 1),
            "goto_frame": self.transport.focus_frame_number, "heat": o.heat_check.toggle,
            "first_frame": lambda: self.seek(0), "last_frame": lambda: self.seek(max(0, self.state.n_frames - 1)),
            "model_card": self.show_model_card, "fit_view": self.view.fit,
            "remove_video": self.remove_video,
            "skeleton": o.skeleton_check.toggle, "annotation": o.annotation_check.toggle,
            "analyze": self.analyze, "choose_checkpoint": self._choose_checkpoint_dialog,
            "choose_flow_checkpoint": self._choose_flow_checkpoint_dialog,
            "fusion_weights": self._fusion_weights_dialog, "train": self.open_training,
            "compare": self.open_compare, "help": self.show_shortcuts, "accept_frame": lab.accept_frame,
            "accept_range": self._accept_range_dialog, "copy_previous": lab.copy_previous,
            "interpolate": lab.interpolate, "set_action": self._set_action_dialog,
            "add_person": self.persons.add, "next_person": lambda: self.persons.cycle(1),
            "previous_person": lambda: self.persons.cycle(-1), "rename_person": self._rename_person_dialog,
            "delete_person": self.persons.delete, "swap_persons": self._swap_persons_dialog,
            "set_box": self.persons.set_box, "remove_box": self.persons.remove_box, "draw_box": self._draw_box_mode,
            "propagate": self.session.propagate, "swap_sides": lab.swap_sides,
            "swap_sides_range": self._swap_range_dialog, "check_sides": self.session.check_sides,
            "propagate_align_sides": self._align_sides_changed, "pose_prior": self._pose_prior_changed,
        }

    def _build_actions(self) -> None:
        slots = self._slots()
        self.actions_: dict[str, QAction] = {
            a.name: self._act(a.text, slots[a.name], shortcut(a.name) or None, a.description)
            for a in ACTIONS if a.scope == "window" and a.name in slots}
        self.actions_["save_as"].setEnabled(False)  # only a scratch project is saved as
        align = self.actions_["propagate_align_sides"]
        align.setCheckable(True)  # a choice remembered between sessions, off until the user turns it on
        align.setChecked(str(self.settings.value(ALIGN_SIDES_KEY, "false")).lower() == "true")
        self.session.align_sides = align.isChecked()
        prior = self.actions_["pose_prior"]
        prior.setCheckable(True)  # remembered like the propagation's choice; off until turned on
        prior.setChecked(str(self.settings.value(POSE_PRIOR_KEY, "false")).lower() == "true")
        self.session.pose_prior = prior.isChecked()
        self.undo_action, self.redo_action = cmds.make_undo_actions(self.undo_stack, self)
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)

    def _add(self, menu: QMenu, names: tuple[str, ...]) -> None:
        for n in names:
            if n == "-":
                menu.addSeparator()
            else:
                menu.addAction(self.actions_[n])

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._add(f, ("new_project", "open", "open_video", "save_as"))
        self.recent_menu = f.addMenu("Open &recent")
        self._refresh_recent()
        self._add(f, ("open_demo", "-", "add_videos", "remove_video"))
        imp = f.addMenu("&Import annotations")
        for fmt in importers():  # the formats registry: the same table as `rpan import`
            imp.addAction(self._act(f"{fmt.title}...", lambda n=fmt.name: self._import_dialog(n)))
        exp = f.addMenu("&Export")
        for fmt in exporters():
            exp.addAction(self._act(f"Labels as {fmt.title}...", lambda n=fmt.name: self._export_labels_dialog(n)))
        self.import_menu, self.export_menu = imp, exp
        exp.addSeparator()
        self._add(exp, ("export_video", "png_view", "png_dynamics", "png_confusion"))
        self._add(f, ("-", "quit"))
        e = mb.addMenu("&Edit")
        e.addAction(self.undo_action)
        e.addAction(self.redo_action)
        self._add(e, ("-", "accept_frame", "accept_range", "copy_previous", "interpolate", "propagate",
                      "propagate_align_sides", "-",
                      "swap_sides", "swap_sides_range", "check_sides", "-"))
        for act in self.editor.actions.values():
            e.addAction(act)
        self._add(e, ("-", "set_action"))
        for title, names in MENUS.items():
            m = mb.addMenu(title)
            self._add(m, names)
            if title == "&View":
                m.addSeparator()
                for d in (self.videos_dock, self.overlay_dock, self.persons_dock, self.joints_dock, self.plots_dock,
                          self.review_dock):
                    m.addAction(d.toggleViewAction())

    def _build_status(self) -> None:
        self.task_status = TaskStatus(self.statusBar(), self.runner)
        self.progress, self.cancel_button = self.task_status.progress, self.task_status.cancel_button

    # ================================================================== wiring
    def _connect(self) -> None:
        st, t, d = self.state, self.transport, self.display
        for w in (t, self.action_plot, self.conf_plot, self.dynamics_plot, self.review_list):
            w.seekRequested.connect(self.seek)
        t.stepRequested.connect(self.step)
        t.jumpRequested.connect(self.jump)
        t.playRequested.connect(self.toggle_play)
        t.typingDone.connect(lambda: self.view.setFocus(Qt.FocusReason.OtherFocusReason))
        self.player.playingChanged.connect(t.set_playing)
        d.frameShown.connect(self.frameShown)
        d.frameFailed.connect(self._frame_failed)
        d.statesChanged.connect(self._states_changed)
        self.video_list.currentItemChanged.connect(self._video_selected)
        self.editor.labelsChanged.connect(self._labels_changed)
        self.editor.errorOccurred.connect(self._error)
        self.overlays.flowToggled.connect(self._flow_toggled)
        self.overlays.streamChosen.connect(lambda s: self._guard(lambda: self.session.select_stream(s)))
        st.projectChanged.connect(self._project_changed)
        st.analysisChanged.connect(self._analysis_changed)
        st.personChanged.connect(lambda _p: self._refresh_review())  # after the display's labeled frames follow
        st.checkpointChanged.connect(lambda *_: self._update_model_trust())
        st.videoChanged.connect(lambda *_: self._update_model_trust())
        self.session.videosChanged.connect(self.refresh_videos)
        self.session.labelsChanged.connect(lambda: (self.display.refresh_states(), self._refresh_review()))
        self.session.flowReady.connect(self._flow_ready)
        self.session.predictionsChanged.connect(lambda v: v == st.video_id and (self.display.reload_predictions(),
                                                                                self._refresh_review()))
        self.session.sidesChecked.connect(lambda v: v == st.video_id and self._refresh_review())
        self.session.message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.box_drawer.message.connect(lambda m: self.statusBar().showMessage(m, 6000))
        cmds.notifier().personsChanged.connect(self._persons_changed)
        self.box_drawer.modeChanged.connect(self._draw_box_mode_changed)
        self.editor.actions["cancel_place"].triggered.connect(lambda _c=False: self.box_drawer.cancel())
        self.display.proxyStatus.connect(lambda m: self.statusBar().showMessage(m, 4000))
        self.runner.failed.connect(self._error)

    # ---- the state, as the tests and the --screenshot mode read it
    project = property(lambda self: self.state.project)
    video_id = property(lambda self: self.state.video_id)
    video = property(lambda self: self.state.video)
    frame = property(lambda self: self.state.frame)
    n_frames = property(lambda self: self.state.n_frames)
    analysis = property(lambda self: self.state.analysis)
    checkpoint = property(lambda self: self.state.checkpoint)
    flow_checkpoint = property(lambda self: self.state.flow_checkpoint)
    states = property(lambda self: self.display.states)
    tasks = property(lambda self: self.runner.tasks)
    play_timer = property(lambda self: self.player.timer)

    # ================================================================== messages
    def _error(self, message: str) -> None:
        self.errors.append(message)
        self.statusBar().showMessage(message.splitlines()[0] if message else "", 10000)
        if not self.quiet:
            QMessageBox.warning(self, APP, message)

    def _frame_failed(self, index: int, message: str) -> None:
        # Not modal: while scrubbing, a damaged stretch would otherwise raise a dialog per frame.
        self.errors.append(message)
        self.statusBar().showMessage(message, 10000)

    def _ask(self, question: str) -> bool:
        """A yes/no question; in ``quiet`` mode (tests) the answer is ``quiet_answer``."""
        if self.quiet:
            self.errors.append("asked: " + question)
            return self.quiet_answer
        return QMessageBox.question(self, APP, question) == QMessageBox.StandardButton.Yes

    def _guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except RPANError as exc:
            self._error(str(exc))
        return None

    def wait_tasks(self, timeout_ms: int = 60000) -> None:
        self.runner.wait_all(timeout_ms)

    # ================================================================== project and videos
    def open_project(self, project: Project | str | os.PathLike) -> None:
        """Open a Project object or a project folder (the one open before is closed)."""
        self.player.stop()
        self.session.open_project(project)

    def _project_changed(self, project: Project | None) -> None:
        self.undo_stack.clear()
        self._clear_video_views()
        self.actions_["save_as"].setEnabled(False)
        if project is None:
            self.setWindowTitle(APP)
            self.video_list.clear()
            return
        self.view.set_skeleton_edges(project.skeleton.edges)
        self.overlays.set_skeleton(project.skeleton)
        from rpan_core.scratch import is_scratch

        scratch = is_scratch(project)
        self.setWindowTitle(f"{APP} - {Path(project.folder).name}" + (
            " (scratch project: File > Save project as keeps it)" if scratch else ""))
        self.actions_["save_as"].setEnabled(scratch)
        self.recent.add(project.folder)
        self._refresh_recent()
        self.refresh_videos()
        self.projectOpened.emit(project)
        if self.video_list.count():
            self.video_list.setCurrentRow(self._first_row(project))

    def _first_row(self, project: Project) -> int:
        """The row of :attr:`first_video` (an id, a file name, or a file name without its extension, as
        ``rpan propagate --video`` takes it; ``rpan-studio --video``), else 0."""
        key, self.first_video = self.first_video, None
        if key is None:
            return 0
        for row in range(self.video_list.count()):
            vid = VideoList.video_id(self.video_list.item(row))
            path = Path(project.video(vid).path)
            if str(key) in (str(vid), path.name, path.stem):
                return row
        self.errors.append(f"no video {key!r} in {Path(project.folder).name}; showing the first one")
        self.statusBar().showMessage(self.errors[-1], 8000)
        return 0

    def remove_video(self) -> bool:
        """File > Remove video: asks (naming what goes with it), then removes the open video as one undo step
        (Ctrl+Z brings back the video, its labels, persons, boxes and predictions exactly)."""
        from rpan_studio.video_commands import RemoveVideoCommand, removal_summary

        import time

        project, vid = self.session.require_video()
        name = Path(project.video(vid).path).name
        labeled = project.label_count(vid, person=None) > 0
        keep = Path(project.folder) / "removed" / f"{Path(name).stem}-{time.strftime('%Y%m%d-%H%M%S')}.coco.json"
        if not self._ask(f"Remove {name} from the project?\n\n"
                         f"Going with it: {removal_summary(project, vid)}.\n"
                         + (f"Its labels are also kept in a file, removed/{keep.name} (File > Import > COCO reads "
                            "it back).\n" if labeled else "")
                         + "The video file stays on disk. Edit > Undo (Ctrl+Z) brings all of it back."):
            return False
        if labeled:  # kept file-side too: the undo stack ends with the session
            from rpan_core.formats.coco import export_coco

            keep.parent.mkdir(exist_ok=True)
            export_coco(project, keep, video_ids=[vid])
        self.undo_stack.push(RemoveVideoCommand(project, vid, self._video_removing, self._video_changed))
        return True

    def _video_removing(self, video_id: int) -> None:
        if self.state.video_id == video_id:
            self.player.stop()
            self.session.close_video()

    def _video_changed(self, video_id: int, present: bool) -> None:
        """After Remove video or its undo: re-list; show the restored video, or another one."""
        project = self.state.project
        if project is None:
            return
        self.refresh_videos()
        if present:
            name = Path(project.video(video_id).path).name
            for row in range(self.video_list.count()):
                if VideoList.video_id(self.video_list.item(row)) == video_id:
                    self.video_list.setCurrentRow(row)
            self.statusBar().showMessage(f"{name} is back with its labels", 8000)
            return
        self.statusBar().showMessage("video removed (Edit > Undo brings it back)", 8000)
        if self.state.video_id is None:
            if self.video_list.count():
                self.video_list.setCurrentRow(0)
            else:
                self._clear_video_views()

    def _clear_video_views(self) -> None:
        """No video shown: the timeline, the plots and the frame number forget the previous one."""
        if self.state.video_id is not None:
            return
        self.seekbar.set_states(np.zeros(0, np.uint8))
        self.transport.set_video(0, "")
        for p in (self.action_plot, self.conf_plot, self.dynamics_plot):
            p.set_n_frames(1)
        self.action_plot.set_probs(None, [])
        self.conf_plot.set_conf(None)
        self.dynamics_plot.set_hidden(None)
        self.view.clear_frame()

    def refresh_videos(self) -> None:
        if self.state.project is not None:
            self.video_list.refresh(self.state.project, self.state.video_id)

    def _video_selected(self, item: QListWidgetItem | None, _prev: QListWidgetItem | None = None) -> None:
        if item is not None:
            self._guard(lambda: self.open_video(VideoList.video_id(item)))

    def open_video(self, video_id: int) -> None:
        """Show a video of the project (decoding starts in the background; returns at once)."""
        self.player.stop()
        self.session.open_video(video_id)
        self.session.follow_demo_checkpoint(video_id)
        v = self.state.video
        self.transport.set_video(self.state.n_frames, f"{v.fps:.2f} fps  {v.width}x{v.height}")
        for p in (self.action_plot, self.conf_plot, self.dynamics_plot):  # the new video's range, not the old one's
            p.set_n_frames(self.state.n_frames)
        self.seek(0)
        if self.overlays.flow_check.isChecked():
            self._guard(self.compute_flow)
        if self.auto_analyze and self.state.checkpoint:
            self.analyze()

    def open_video_file(self, path: str | os.PathLike) -> None:
        """Open a video file: into the open project, or (no project, or a scratch one) in its scratch project."""
        from rpan_core.scratch import is_scratch

        project = self.state.project
        demo = project is not None and (Path(project.folder) / "demo.json").exists()
        if project is not None and not is_scratch(project) and not demo:  # never into the demo project
            self.add_videos([str(path)])
            return
        self.player.stop()
        self.session.open_scratch(path)

    def _open_video_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", "",
                                              "Videos (*.mp4 *.avi *.mov *.mkv *.m4v *.webm *.mpg);;All files (*)")
        if path:
            self.open_video_file(path)

    def save_project_as(self, folder: str | os.PathLike) -> None:
        self.player.stop()
        self.session.save_scratch_as(folder)

    def _save_as_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Save the project in a new (empty) folder")
        if d:
            self.save_project_as(d)

    def add_videos(self, paths: list[str]) -> list[int]:
        """Add videos to the project and open the first one added."""
        ids = self.session.add_videos(paths)
        if ids:
            self.video_list.select_video(ids[0])
        return ids

    def _states_changed(self, states: np.ndarray) -> None:
        self.seekbar.set_states(states)
        self.seekbar.set_frame(max(0, self.state.frame))

    def _labels_changed(self, video_id: int, _frames: object) -> None:
        if video_id == self.state.video_id:
            self.display.refresh_states()
            self._refresh_review()

    # ================================================================== frames
    def seek(self, frame: int) -> None:
        """Make ``frame`` current: cursors move now, the frame and overlays follow when decoded."""
        self.display.seek(frame)

    def step(self, n: int) -> None:
        self.seek(self.state.frame + n)

    def jump(self, kind: str, direction: int = 1) -> int | None:
        """Seek to the next (1) or previous (-1) labeled / unlabeled / low-confidence frame."""
        target = self.display.jump(kind, direction)
        if target is None:
            self.statusBar().showMessage(f"no {kind} frame {'after' if direction > 0 else 'before'} this one", 3000)
        return target

    def toggle_play(self) -> None:
        self.player.toggle()

    # ================================================================== analysis
    def analyze(self, checkpoint: str | os.PathLike | None = None) -> TaskWorker:
        """Analyze the current video in a worker; the views update when it is done."""
        return self.session.analyze(checkpoint)

    def set_analysis(self, analysis: AnalysisLike | None) -> None:
        self.state.set_analysis(analysis)

    def _analysis_changed(self, analysis: AnalysisLike | None) -> None:
        skel = self.state.project.skeleton.joints if self.state.project is not None else ()
        if analysis is None:
            self.action_plot.set_probs(None, [])
            self.conf_plot.set_conf(None)
            self.dynamics_plot.set_hidden(None)
        else:
            self._show_actions()
            self.conf_plot.set_conf(np.asarray(analysis.conf, dtype=np.float32), skel)
            self.dynamics_plot.set_hidden(analysis.hidden)
            for w in (self.action_plot, self.conf_plot, self.dynamics_plot):
                w.set_frame(max(0, self.state.frame))
        self._show_streams(analysis)
        self._refresh_review()
        if analysis is not None:
            self.analysisReady.emit(analysis)

    def _show_streams(self, analysis: AnalysisLike | None) -> None:
        """Stream selector and the probability plot's title for a one- or two-stream analysis."""
        two = isinstance(analysis, TwoStreamAnalysis)
        stream = (analysis.shown if two else analysis.stream) if analysis is not None else "rgb"
        self.overlays.show_streams(two, stream)
        title = "action probability"
        if two:
            w = tuple(analysis.weights)
            title += f" (fused RGB:flow {w[0]:g}:{w[1]:g})"
        elif stream == "flow":
            title += " (flow stream)"
        self.action_plot.getPlotItem().setTitle(title, size="9pt")

    def _refresh_review(self) -> None:
        st = self.state
        if st.project is None or st.video_id is None:
            self.review_list.set_items([])
            return
        reads = st.analysis_reads()  # the model's doubts are the selected person's only when the analysis reads it
        whole = st.person == 1 and not st.person_analyses  # the mirrored video's whole-frame poses: person 1's
        self.review_list.set_items(review_items(st.project, st.video_id, st.analysis if reads else None,
                                                self.display.labeled,
                                                self.session.flipped_xy.get(st.video_id) if whole else None,
                                                person=st.person))

    def compute_flow(self) -> TaskWorker | None:
        """The open video's optical flow (from the project's cache when there), in a worker."""
        return self.session.compute_flow((self.flow_layer.video_id, self.flow_layer.volume))

    def _flow_ready(self, video_id: int, volume: FlowVolume) -> None:
        self.flow_layer.set_volume(volume, video_id)
        if self.display.shown():
            self.flow_layer.show(self.state.frame)

    def _flow_toggled(self, on: bool) -> None:
        self.flow_layer.enabled = bool(on)
        if on:
            self._guard(self.compute_flow)
        if self.display.shown():
            self.flow_layer.show(self.state.frame)

    # ================================================================== editing (dialogs ask, Labeling acts)
    def _accept_range_dialog(self) -> None:
        t, f = self.labeling.predicted_frames(), self.state.frame
        answer = ask.ask_frame_range(self, f, min(t - 1, f + 29))
        if answer is not None:
            self.labeling.accept_range(*answer)

    def _rename_person_dialog(self) -> None:
        project, vid = self.session.require_video()
        name = ask.ask_person_name(self, project.person(vid, self.state.person).name)
        if name is not None:
            self.persons.rename(name)

    def _swap_persons_dialog(self) -> None:
        others = self.persons.others()
        if not others:
            raise RPANError("this video has one person: add another before swapping identities")
        other = ask.ask_swap_partner(self, self.state.person, self.state.frame, others)
        if other is not None:
            self.persons.swap_with(other)

    def _persons_changed(self, project: object, video_id: int) -> None:
        """A deleted person's analysis goes with it (its heat map and pose are no longer drawn)."""
        st = self.state
        if project is not st.project or video_id != st.video_id or not st.person_analyses:
            return
        ids = {p.id for p in st.project.persons(video_id)}
        if any(k not in ids for k in st.person_analyses):
            st.set_person_analyses({k: a for k, a in st.person_analyses.items() if k in ids})

    def _align_sides_changed(self) -> None:
        on = self.actions_["propagate_align_sides"].isChecked()
        self.session.align_sides = on
        self.settings.setValue(ALIGN_SIDES_KEY, on)
        self.statusBar().showMessage("propagation " + ("takes the keyframes' left/right for the model's poses" if on
                                                       else "keeps the model's own left/right"), 5000)

    def _pose_prior_changed(self) -> None:
        """Model > Decode poses with the limb-length prior: remembered, and the shown video read again (its
        attention is cached, so this decodes the poses again, in the worker)."""
        on = self.actions_["pose_prior"].isChecked()
        self.session.pose_prior = on
        self.settings.setValue(POSE_PRIOR_KEY, on)
        self.statusBar().showMessage("poses " + ("decoded with the limb-length prior learned from your labels" if on
                                                 else "decoded from each joint's strongest attention peak"), 5000)
        st = self.state
        if st.video_id is not None and st.checkpoint and (st.analysis is not None or st.person_analyses):
            self._guard(self.analyze)

    def _draw_box_mode(self) -> None:
        """Persons > Draw box: the next left drag draws the selected person's box (again: leave the mode)."""
        self.session.require_video()
        if not self.box_drawer.armed:
            self.editor.cancel_place()  # a left click would otherwise place a joint
        self.box_drawer.toggle()

    def _draw_box_mode_changed(self, armed: bool) -> None:
        self.actions_["draw_box"].setCheckable(True)
        self.actions_["draw_box"].setChecked(armed)
        if armed:
            self.statusBar().showMessage("drag a rectangle over the person on the frame (Esc stops)", 8000)

    def _swap_range_dialog(self) -> None:
        self.session.require_video()
        f = self.state.frame
        answer = ask.ask_frame_range(self, f, min(self.state.n_frames - 1, f + 9), "Swap left and right")
        if answer is not None:
            self.labeling.swap_sides(*answer)

    def _set_action_dialog(self) -> None:
        project, vid = self.session.require_video()
        answer = ask.ask_action(self, list(project.classes), project.video(vid).action)
        if answer is not None:
            self.labeling.set_action(answer[0])

    # ================================================================== files
    def _recent(self) -> list[str]:
        return self.recent.folders()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for r in self.recent.folders():
            self.recent_menu.addAction(self._act(r, lambda r=r: self.open_project(r)))
        self.recent_menu.setEnabled(bool(self.recent.folders()))

    def _open_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Open an RPAN project folder")
        if d:
            self.open_project(d)

    def _new_project_dialog(self) -> None:
        answer = ask.ask_new_project(self)
        if answer is not None:
            self.player.stop()
            self.session.create_project(answer.folder, answer.skeleton, answer.classes)

    def _add_videos_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add videos", "",
                                                "Videos (*.mp4 *.avi *.mov *.mkv *.m4v *.webm *.mpg);;All files (*)")
        if files:
            self.add_videos(files)

    def import_annotations(self, name: str, path: str | os.PathLike) -> TaskWorker:
        return self.session.import_annotations(name, path)

    def _import_dialog(self, name: str) -> None:
        self.session.require_project()
        path = ask.ask_format_path(self, get_format("import", name))
        if path:
            self.import_annotations(name, path)

    def export_labels(self, name: str, path: str | os.PathLike) -> TaskWorker:
        return self.session.export_labels(name, path)

    def _export_labels_dialog(self, name: str) -> None:
        self.session.require_project()
        path = ask.ask_format_path(self, get_format("export", name))
        if path:
            self.export_labels(name, path)

    def export_video(self, path: str | os.PathLike, start: int = 0, stop: int | None = None) -> TaskWorker:
        """Write the current video with the current overlays to mp4 in a worker."""
        return self.session.export_video(path, self.state.overlay, start, stop)

    def _export_video_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export video with overlays", "", "MP4 video (*.mp4)")
        if path:
            self.export_video(path)

    def export_png(self, what: str, path: str | os.PathLike) -> Path | TaskWorker:
        """``view`` or ``dynamics``: saved now; ``confusion``: evaluated in a worker, then saved."""
        if what == "view":
            return save_widget_png(self.view, path)
        if what == "dynamics":
            return save_widget_png(self.dynamics_plot, path)
        if what == "confusion":
            return self.session.export_confusion(path)
        raise ValueError(f"unknown figure {what!r}")

    def _png_dialog(self, what: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Save {what} as PNG", f"{what}.png", "PNG (*.png)")
        if path:
            self.export_png(what, path)

    # ================================================================== model
    def _choose_checkpoint_dialog(self) -> None:
        start = str(self.state.project.runs_dir) if self.state.project is not None else ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a checkpoint", start, "Checkpoints (*.pt)")
        if path:
            self.state.set_checkpoint(path, "chosen")
            if self.state.video_id is not None:
                self.analyze()

    def _choose_flow_checkpoint_dialog(self) -> None:
        start = str(self.state.project.runs_dir) if self.state.project is not None else ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose the flow stream's checkpoint (rpan train --stream "
                                              "flow); Cancel to use one stream", start, "Checkpoints (*.pt)")
        self.set_flow_checkpoint(path or None)

    def set_flow_checkpoint(self, path: str | os.PathLike | None) -> None:
        """Two streams from now on (the main checkpoint is the RGB one), or one with None; re-analyzes."""
        self.state.set_flow_checkpoint(path)
        self.session.reanalyze()

    def _fusion_weights_dialog(self) -> None:
        w = ask.ask_fusion_weights(self, self.state.fusion_weights)
        if w is not None:
            self.state.set_fusion_weights(w)
            if self.state.two_streams:
                self.session.reanalyze()

    def open_training(self) -> QDialog:
        project = self.session.require_project()
        from rpan_studio.dialogs.training import TrainingDialog

        st = self.state
        dlg = TrainingDialog(project, self, current_checkpoint=st.checkpoint, current_origin=st.checkpoint_origin)
        dlg.runFinished.connect(self._training_finished)
        dlg.show()
        self.training_dialog = dlg
        return dlg

    def _training_finished(self, run_dir: str, checkpoint: str) -> None:
        if not checkpoint:
            return
        self._guard(lambda: self.session.training_finished(checkpoint))
        if self.state.video_id is not None and self._ask(f"Training finished ({Path(run_dir).name}).\n"
                                                         "Re-analyze the open video with the new checkpoint?"):
            self._guard(self.analyze)

    def open_compare(self) -> QDialog:
        project = self.session.require_project()
        from rpan_studio.dialogs.compare import CompareDialog

        dlg = CompareDialog(project, parent=self)
        dlg.show()
        return dlg

    def open_demo(self) -> TaskWorker:
        """Build (or find) the demo project in a worker, with the busy bar, then open it."""
        return self.session.open_demo()

    def model_warnings(self) -> list[str]:
        """Why the current model's output on the open video is not an estimate (empty: nothing to say)."""
        return self.session.model_warnings()

    def _show_actions(self) -> None:
        """The action plot: the class curves, or a note where the view withholds action names (the banner)."""
        a = self.state.analysis
        if a is None:
            self.action_plot.set_probs(None, [])
            return
        withheld = "action probabilities withheld: see the banner" if self.model_warnings() else ""
        self.action_plot.set_probs(a.probs, list(a.classes), int(a.video_pred), withheld=withheld)
        self.action_plot.set_frame(max(0, self.state.frame))

    def _update_model_trust(self) -> None:
        warnings = self.model_warnings()
        self.banner.set_warnings(warnings)
        if self.state.analysis is not None:
            self._show_actions()
        if self.display.untrusted != bool(warnings):
            self.display.untrusted = bool(warnings)
            if self.display.shown():
                self.display.render(self.state.frame)

    def show_model_card(self) -> QDialog:
        """Model > Model card: what the current checkpoint was trained on."""
        dlg = ModelCardDialog(self.state.checkpoint, self.state.checkpoint_origin, self.model_warnings(), self)
        dlg.show()
        self.model_card_dialog = dlg
        return dlg

    def show_shortcuts(self) -> QDialog:
        """A dialog listing every keyboard shortcut (from rpan_studio.actions)."""
        from rpan_studio.dialogs.shortcuts import ShortcutsDialog

        dlg = ShortcutsDialog(self)
        dlg.show()
        self.shortcuts_dialog = dlg
        return dlg

    # ================================================================== closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        """Stop playback and the tasks, then close the video and the project (its WAL folded into project.db)."""
        self.player.stop()
        self.display.stop()
        self.session.shutdown(10000)
        super().closeEvent(event)
