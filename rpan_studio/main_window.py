"""The studio's main window: one current frame, every view linked to it, nothing slow on the UI thread.

Why it is put together this way (the complaints about SLEAP's and DeepLabCut's
labeling GUIs are the list of things not to do):

* **No lag when scrubbing.** Frames come from a :class:`~rpan_studio.workers.FrameLoader`
  (latest-request-wins decode thread + ``Video.prefetch`` read-ahead); the spin box,
  seek bar and plot cursors move at once, the frame follows as soon as it is decoded.
  Playback is a QTimer that computes the frame from the wall clock and drops frames
  rather than falling behind.
* **Labels never on the wrong frame.** The overlays (heat map, estimated skeleton,
  caption) and the editor's annotated pose are set in the same call that shows a
  decoded frame, from that frame's own index, so what is drawn always belongs to the
  image under it.
* **Nothing lost on a crash, undo everywhere.** Every edit is a QUndoCommand from
  :mod:`rpan_studio.commands` that writes to the project store immediately.
* **Never frozen.** Analysis, exports, evaluation, building the demo and imports run
  in :class:`~rpan_studio.workers.TaskWorker` threads with a progress bar and a
  cancel button; training is a separate process followed by the TrainingDialog, whose
  failures are shown in the window, not a terminal. Switching videos or frames never
  waits for any of them: a result that arrives for a video no longer shown is cached
  (on disk by rpan_core.analyze) and ignored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QSettings, Qt, QTimer, pyqtSignal, QElapsedTimer
from PyQt6.QtGui import QAction, QKeySequence, QUndoStack
from PyQt6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDockWidget, QFileDialog, QFormLayout, QHBoxLayout, QInputDialog, QLabel,
    QListWidget, QListWidgetItem, QMainWindow, QMessageBox, QProgressBar, QPushButton, QSlider, QSpinBox,
    QSplitter, QTableWidget, QTableWidgetItem, QToolButton, QVBoxLayout, QWidget,
)

from rpan_core.errors import ProjectError, RPANError
from rpan_core.fusion import DEFAULT_WEIGHTS
from rpan_core.skeleton import get_skeleton
from rpan_studio import commands as cmds
from rpan_studio.dynamics import ConfidencePlot, DynamicsPlot
from rpan_studio.export import caption_for, export_overlay_video, save_confusion_png, save_widget_png
from rpan_studio.overlays import HEAT_MODES, normalized_confidence
from rpan_studio.pose_editor import JointListWidget, PoseEditor
from rpan_studio.review import ReviewList, review_queue
from rpan_studio.timeline import ActionPlot, SeekBar
from rpan_studio.video_view import VideoView
from rpan_studio.workers import FrameLoader, TaskWorker

__all__ = ["MainWindow", "STUDIO_SHORTCUTS", "LOW_CONF_QUANTILE"]

LOW_CONF_QUANTILE = 0.1  # "low-confidence" frames: the lowest 10% of mean joint confidence
MAX_RECENT = 8
ORG, APP = "RPAN", "RPAN Studio"

# The main window's own keys (the editor's are in commands.SHORTCUTS); the help dialog lists both.
STUDIO_SHORTCUTS: tuple[tuple[str, str, str], ...] = (
    ("play", "Space", "Play / pause at the video's frame rate"),
    ("step_forward", "Right", "Next frame"),
    ("step_back", "Left", "Previous frame"),
    ("step_forward_10", "Shift+Right", "10 frames forward"),
    ("step_back_10", "Shift+Left", "10 frames back"),
    ("next_labeled", "Ctrl+Right", "Next labeled frame"),
    ("prev_labeled", "Ctrl+Left", "Previous labeled frame"),
    ("next_unlabeled", "U", "Next unlabeled frame"),
    ("next_lowconf", "L", "Next low-confidence frame (the model's least sure 10%)"),
    ("goto_frame", "Ctrl+G", "Type a frame number"),
    ("heat", "H", "Toggle the attention heat map"),
    ("skeleton", "K", "Toggle the estimated skeleton"),
    ("annotation", "N", "Toggle the annotated pose"),
    ("analyze", "Ctrl+R", "Analyze the current video"),
    ("open", "Ctrl+O", "Open a project"),
    ("add_videos", "Ctrl+Shift+O", "Add videos to the project"),
    ("help", "F1", "This list of shortcuts"),
)


def _studio_key(name: str) -> str:
    return next(k for n, k, _ in STUDIO_SHORTCUTS if n == name)


def _default_analyze(video_path, checkpoint, flow_checkpoint=None, fuse=None, **kwargs):
    from rpan_core.analyze import analyze_two_stream, analyze_video

    if flow_checkpoint:  # two streams: RGB + flow, probabilities fused (default 1:2)
        return analyze_two_stream(video_path, checkpoint, flow_checkpoint, fuse, **kwargs)
    return analyze_video(video_path, checkpoint, **kwargs)


def _flow_task(video_path, cache_dir, progress=None, cancel=None):
    from rpan_core.flow import FlowParams, compute_flow

    return compute_flow(video_path, cache_dir, FlowParams(), progress=progress, cancel=cancel)


class MainWindow(QMainWindow):
    """RPAN Studio's main window. ``analyze_fn`` (tests) replaces ``rpan_core.analyze.analyze_video``."""

    frameShown = pyqtSignal(int)  # a decoded frame is on screen with its overlays
    analysisReady = pyqtSignal(object)
    projectOpened = pyqtSignal(object)

    def __init__(self, project: Any = None, checkpoint: str | os.PathLike | None = None, *,
                 analyze_fn: Callable[..., Any] | None = None, auto_analyze: bool = True,
                 settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP)
        self.resize(1400, 900)
        self.settings = settings or QSettings(ORG, APP)
        self.analyze_fn = analyze_fn or _default_analyze
        self.auto_analyze = auto_analyze
        self.project: Any = None
        self.video_id: int | None = None
        self.video: Any = None
        self.analysis: Any = None
        self.checkpoint: str | None = str(checkpoint) if checkpoint else None
        self.frame = 0
        self.n_frames = 0
        self.skeleton = None
        self.states = np.zeros(0, np.uint8)
        self.labeled: np.ndarray = np.zeros(0, np.int64)
        self.low_conf_frames: np.ndarray = np.zeros(0, np.int64)
        self._conf_scale = 1.0
        self.tasks: dict[str, TaskWorker] = {}
        self.errors: list[str] = []  # every message shown to the user (tests read it)
        self.quiet = False  # tests: record errors instead of opening modal boxes
        self.quiet_answer = True
        self.undo_stack = QUndoStack(self)

        self.loader = FrameLoader(self)
        self.loader.frameReady.connect(self._on_frame_ready)
        self.loader.frameFailed.connect(self._frame_failed)

        self._build_central()
        self.editor = PoseEditor(self.view.view_box, self.undo_stack, self)
        self.editor.install_shortcuts(self)
        self.editor.labelsChanged.connect(self._labels_changed)
        self.editor.errorOccurred.connect(self._error)
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_status()
        self.play_timer = QTimer(self)
        self.play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.play_timer.timeout.connect(self._play_tick)
        self._play_clock = QElapsedTimer()
        self._play_start = 0
        if project is not None:
            self.open_project(project)

    # ================================================================== layout
    def _build_central(self) -> None:
        self.view = VideoView()
        self.spin = QSpinBox()
        self.spin.setRange(0, 0)
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip("Current frame: type a number and press Enter")
        self.spin.valueChanged.connect(self.seek)
        self.count_label = QLabel("/ 0")
        self.fps_label = QLabel("")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 0)

        def button(text: str, tip: str, slot) -> QToolButton:
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.clicked.connect(slot)
            bar.addWidget(b)
            return b

        button("\u25c0\u25c0 lab", "Previous labeled frame (Ctrl+Left)", lambda: self.jump("labeled", -1))
        button("\u25c0", "Previous frame (Left)", lambda: self.step(-1))
        self.play_button = button("\u25b6", "Play / pause (Space)", self.toggle_play)
        button("\u25b6|", "Next frame (Right)", lambda: self.step(1))
        button("lab \u25b6\u25b6", "Next labeled frame (Ctrl+Right)", lambda: self.jump("labeled", 1))
        button("unlabeled \u25b8", "Next unlabeled frame (U)", lambda: self.jump("unlabeled", 1))
        button("low conf \u25b8", "Next low-confidence frame (L)", lambda: self.jump("lowconf", 1))
        bar.addSpacing(12)
        bar.addWidget(QLabel("frame"))
        bar.addWidget(self.spin)
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        bar.addWidget(self.fps_label)
        self.seekbar = SeekBar()
        self.seekbar.seekRequested.connect(self.seek)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addWidget(self.view, 1)
        lay.addLayout(bar)
        lay.addWidget(self.seekbar)
        self.setCentralWidget(central)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(name)
        d.setWidget(widget)
        self.addDockWidget(area, d)
        return d

    def _build_docks(self) -> None:
        self.video_list = QListWidget()
        self.video_list.currentItemChanged.connect(self._video_selected)
        self.videos_dock = self._dock("Videos", self.video_list, Qt.DockWidgetArea.LeftDockWidgetArea, "videos")

        ov = QWidget()
        form = QFormLayout(ov)
        self.heat_check = QCheckBox("attention heat map")
        self.heat_check.setChecked(True)
        self.heat_mode = QComboBox()
        self.heat_mode.addItems(["one joint", "body part", "all joints (mean)", "all joints (max)"])
        self.heat_mode.setCurrentIndex(2)
        self.heat_joint = QComboBox()
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.skeleton_check = QCheckBox("estimated pose (colour = confidence)")
        self.skeleton_check.setChecked(True)
        self.annotation_check = QCheckBox("annotated pose (editable)")
        self.annotation_check.setChecked(True)
        self.caption_check = QCheckBox("predicted action caption")
        self.caption_check.setChecked(True)
        form.addRow(self.heat_check)
        form.addRow("map of", self.heat_mode)
        form.addRow("joint / part", self.heat_joint)
        form.addRow("opacity", self.opacity)
        form.addRow(self.skeleton_check)
        form.addRow(self.annotation_check)
        form.addRow(self.caption_check)
        for w in (self.heat_check, self.skeleton_check, self.annotation_check, self.caption_check):
            w.toggled.connect(self._overlay_options_changed)
        # two streams (issue 6): the optical-flow layer and which stream's attention is shown
        from rpan_studio.flow_layer import FlowLayer, flow_wheel_pixmap

        self.flow_layer = FlowLayer(self.view)
        self.flow_check = QCheckBox("optical flow (colour = direction)")
        self.flow_check.setToolTip("Dense optical flow from this frame to the next (the flow stream's input), "
                                   "computed once per video into the project's flow cache")
        self.flow_wheel = QLabel()
        self.flow_wheel.setPixmap(flow_wheel_pixmap(40))
        self.flow_wheel.setToolTip("Colour wheel: the colour of motion toward each direction (right red, "
                                   "left cyan); brighter = faster")
        row = QHBoxLayout()
        row.addWidget(self.flow_check)
        row.addWidget(self.flow_wheel)
        row.addStretch(1)
        form.addRow(row)
        self.stream_combo = QComboBox()
        self.stream_combo.addItems(["RGB stream", "flow stream"])
        self.stream_combo.setEnabled(False)
        self.stream_combo.setToolTip("With two checkpoints (Model > Choose flow checkpoint): whose attention maps "
                                     "and poses are shown; the action probabilities are the fused ones")
        form.addRow("attention of", self.stream_combo)
        self.flow_check.toggled.connect(self._flow_toggled)
        self.stream_combo.currentIndexChanged.connect(self._stream_changed)
        self.heat_mode.currentIndexChanged.connect(self._heat_mode_changed)
        self.heat_joint.currentIndexChanged.connect(self._overlay_options_changed)
        self.opacity.valueChanged.connect(self._overlay_options_changed)
        self.overlay_dock = self._dock("Overlays", ov, Qt.DockWidgetArea.LeftDockWidgetArea, "overlays")

        self.joint_list = JointListWidget(self.editor)
        self.joints_dock = self._dock("Joints", self.joint_list, Qt.DockWidgetArea.LeftDockWidgetArea, "joints")

        self.action_plot = ActionPlot()
        self.conf_plot = ConfidencePlot()
        self.dynamics_plot = DynamicsPlot()
        plots = QSplitter(Qt.Orientation.Vertical)
        for p in (self.action_plot, self.conf_plot, self.dynamics_plot):
            p.seekRequested.connect(self.seek)
            plots.addWidget(p)
        plots.setSizes([220, 180, 300])
        self.plots_dock = self._dock("Plots", plots, Qt.DockWidgetArea.RightDockWidgetArea, "plots")

        self.review_list = ReviewList()
        self.review_list.seekRequested.connect(self.seek)
        self.review_dock = self._dock("Review queue", self.review_list, Qt.DockWidgetArea.RightDockWidgetArea,
                                      "review")
        self.resizeDocks([self.plots_dock], [520], Qt.Orientation.Horizontal)
        self.resizeDocks([self.plots_dock, self.review_dock], [680, 180], Qt.Orientation.Vertical)

    def _act(self, text: str, slot, key: str | None = None, tip: str | None = None) -> QAction:
        a = QAction(text, self)
        if key:
            a.setShortcut(QKeySequence(key))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(a)
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(lambda _checked=False: self._guard(slot))
        return a

    def _build_actions(self) -> None:
        k = _studio_key
        self.actions_: dict[str, QAction] = {
            "play": self._act("Play / pause", self.toggle_play, k("play")),
            "step_forward": self._act("Next frame", lambda: self.step(1), k("step_forward")),
            "step_back": self._act("Previous frame", lambda: self.step(-1), k("step_back")),
            "step_forward_10": self._act("10 frames forward", lambda: self.step(10), k("step_forward_10")),
            "step_back_10": self._act("10 frames back", lambda: self.step(-10), k("step_back_10")),
            "next_labeled": self._act("Next labeled frame", lambda: self.jump("labeled", 1), k("next_labeled")),
            "prev_labeled": self._act("Previous labeled frame", lambda: self.jump("labeled", -1),
                                      k("prev_labeled")),
            "next_unlabeled": self._act("Next unlabeled frame", lambda: self.jump("unlabeled", 1),
                                        k("next_unlabeled")),
            "next_lowconf": self._act("Next low-confidence frame", lambda: self.jump("lowconf", 1),
                                      k("next_lowconf")),
            "goto_frame": self._act("Go to frame...", self._focus_spin, k("goto_frame")),
            "heat": self._act("Heat map", self.heat_check.toggle, k("heat")),
            "skeleton": self._act("Estimated pose", self.skeleton_check.toggle, k("skeleton")),
            "annotation": self._act("Annotated pose", self.annotation_check.toggle, k("annotation")),
            "analyze": self._act("&Analyze current video", self.analyze, k("analyze")),
            "open": self._act("&Open project...", self._open_dialog, k("open")),
            "add_videos": self._act("&Add videos...", self._add_videos_dialog, k("add_videos")),
            "help": self._act("Keyboard &shortcuts", self.show_shortcuts, k("help")),
            # the editor engineer's menu-level commands (keys from commands.SHORTCUTS)
            "accept_frame": self._act("Accept model pose (this frame)", self.accept_frame,
                                      cmds.shortcut("accept_frame")),
            "accept_range": self._act("Accept model poses (frame range)...", self.accept_range,
                                      cmds.shortcut("accept_range")),
            "copy_previous": self._act("Copy previous labeled pose", self.copy_previous,
                                       cmds.shortcut("copy_previous")),
            "interpolate": self._act("Interpolate between keyframes", self.interpolate,
                                     cmds.shortcut("interpolate")),
        }
        self.undo_action, self.redo_action = cmds.make_undo_actions(self.undo_stack, self)
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        f.addAction(self._act("&New project...", self._new_project_dialog, "Ctrl+N"))
        f.addAction(self.actions_["open"])
        self.recent_menu = f.addMenu("Open &recent")
        self._refresh_recent()
        f.addAction(self._act("Open &demo project", self.open_demo))
        f.addSeparator()
        f.addAction(self.actions_["add_videos"])
        imp = f.addMenu("&Import annotations")
        for kind, label in (("pennaction", "PennAction (.mat folder)..."), ("jhmdb", "JHMDB (joint_positions)..."),
                            ("coco", "COCO keypoints (.json)...")):
            imp.addAction(self._act(label, lambda kind=kind: self._import_dialog(kind)))
        exp = f.addMenu("&Export")
        exp.addAction(self._act("Labels as COCO JSON...", lambda: self._export_labels_dialog("coco")))
        exp.addAction(self._act("Labels as CSV...", lambda: self._export_labels_dialog("csv")))
        exp.addSeparator()
        exp.addAction(self._act("Video with overlays (mp4)...", self._export_video_dialog))
        exp.addAction(self._act("Current view (PNG)...", lambda: self._png_dialog("view")))
        exp.addAction(self._act("Dynamics plot (PNG)...", lambda: self._png_dialog("dynamics")))
        exp.addAction(self._act("Confusion matrix (PNG)...", lambda: self._png_dialog("confusion")))
        f.addSeparator()
        f.addAction(self._act("&Quit", self.close, "Ctrl+Q"))

        e = mb.addMenu("&Edit")
        e.addAction(self.undo_action)
        e.addAction(self.redo_action)
        e.addSeparator()
        for name in ("accept_frame", "accept_range", "copy_previous", "interpolate"):
            e.addAction(self.actions_[name])
        e.addSeparator()
        for act in self.editor.actions.values():
            e.addAction(act)
        e.addSeparator()
        e.addAction(self._act("Set video &action...", self._set_action_dialog))

        v = mb.addMenu("&View")
        for name in ("play", "step_forward", "step_back", "next_labeled", "prev_labeled", "next_unlabeled",
                     "next_lowconf", "goto_frame"):
            v.addAction(self.actions_[name])
        v.addSeparator()
        for name in ("heat", "skeleton", "annotation"):
            v.addAction(self.actions_[name])
        v.addSeparator()
        for d in (self.videos_dock, self.overlay_dock, self.joints_dock, self.plots_dock, self.review_dock):
            v.addAction(d.toggleViewAction())

        m = mb.addMenu("&Model")
        m.addAction(self.actions_["analyze"])
        m.addAction(self._act("Choose &checkpoint...", self._choose_checkpoint_dialog))
        m.addAction(self._act("Choose &flow checkpoint (two streams)...", self._choose_flow_checkpoint_dialog))
        m.addAction(self._act("Stream &fusion weights...", self._fusion_weights_dialog))
        m.addSeparator()
        m.addAction(self._act("&Train / fine-tune...", self.open_training))
        m.addAction(self._act("C&ompare checkpoints...", self.open_compare))

        h = mb.addMenu("&Help")
        h.addAction(self.actions_["help"])

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.status_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_tasks)
        sb.addWidget(self.status_label, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)

    # ================================================================== messages
    def _error(self, message: str) -> None:
        self.errors.append(message)
        self.statusBar().showMessage(message.splitlines()[0] if message else "", 10000)
        if not self.quiet:
            QMessageBox.warning(self, APP, message)

    def _frame_failed(self, index: int, message: str) -> None:
        # Not modal: while scrubbing, a damaged stretch would otherwise raise a dialog per frame.
        if index == self.frame:
            self.errors.append(message)
            self.view.set_caption(f"frame {index}: cannot be decoded")
            self.statusBar().showMessage(message, 10000)

    def _ask(self, question: str) -> bool:
        """A yes/no question; in ``quiet`` mode (tests) the answer is ``quiet_answer``."""
        if self.quiet:
            self.errors.append("asked: " + question)
            return self.quiet_answer
        return QMessageBox.question(self, APP, question) == QMessageBox.StandardButton.Yes

    def _guard(self, fn) -> Any:
        try:
            return fn()
        except RPANError as exc:
            self._error(str(exc))
        return None

    # ================================================================== tasks
    def run_task(self, key: str, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
                 label: str = "", cancellable: bool = True, **kwargs: Any) -> TaskWorker:
        """Run ``fn`` in a worker thread with the status-bar progress bar; one task per ``key``."""
        old = self.tasks.get(key)
        if old is not None and old.isRunning():
            old.cancel()
        w = TaskWorker(fn, *args, name=label or key, **kwargs)
        self.tasks[key] = w
        w.progress.connect(lambda done, total, w=w: self._task_progress(w, done, total))
        if on_done is not None:
            w.done.connect(on_done)
        w.failed.connect(self._error)
        w.cancelled.connect(lambda: self.statusBar().showMessage(f"{label or key}: cancelled", 5000))
        w.finished.connect(lambda w=w, key=key: self._task_finished(key, w))
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.progress.setFormat(f"{label or key} %p%")
        self.progress.show()
        self.cancel_button.setVisible(cancellable)
        self.status_label.setText(f"{label or key}...")
        w.start()
        return w

    def _task_progress(self, w: TaskWorker, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        self.progress.setFormat(f"{w.name} %p%")

    def _task_finished(self, key: str, w: TaskWorker) -> None:
        if self.tasks.get(key) is w:
            del self.tasks[key]
        if not any(t.isRunning() for t in self.tasks.values()):
            self.progress.hide()
            self.cancel_button.hide()
            self.status_label.setText("")

    def cancel_tasks(self) -> None:
        for w in list(self.tasks.values()):
            w.cancel()

    def wait_tasks(self, timeout_ms: int = 60000) -> None:
        for w in list(self.tasks.values()):
            w.wait(timeout_ms)

    # ================================================================== project
    def open_project(self, project: Any) -> None:
        """Open a Project object or a project folder."""
        if isinstance(project, (str, os.PathLike)):
            from rpan_core.project import Project

            project = Project.open(project)
        self.project = project
        self.skeleton = get_skeleton(project.skeleton)
        self.view.set_skeleton_edges(self.skeleton.edges)
        self.heat_joint.blockSignals(True)
        self._fill_heat_joint()
        self.heat_joint.blockSignals(False)
        self.undo_stack.clear()
        self.setWindowTitle(f"{APP} - {Path(project.folder).name}")
        self._add_recent(str(project.folder))
        if self.checkpoint is None:
            self.checkpoint = self._latest_checkpoint()
        self.refresh_videos()
        self.projectOpened.emit(project)
        if self.video_list.count():
            self.video_list.setCurrentRow(0)
        else:
            self._close_video()

    def _latest_checkpoint(self) -> str | None:
        try:
            from rpan_studio.compare import project_checkpoints

            cks = project_checkpoints(self.project)
        except Exception:
            cks = []
        return cks[-1] if cks else None

    def refresh_videos(self) -> None:
        cur = self.video_id
        self.video_list.blockSignals(True)
        self.video_list.clear()
        for rec in self.project.videos():
            label = f"{Path(rec.path).name}  ({rec.frame_count} fr{', ' + rec.action if rec.action else ''})"
            it = QListWidgetItem(label)
            it.setData(Qt.ItemDataRole.UserRole, int(rec.id))
            it.setToolTip(str(rec.path))
            if not Path(rec.path).exists():
                it.setForeground(pg.mkColor(220, 80, 80))
                it.setToolTip(f"{rec.path} is missing: relink it (File > Add videos)")
            self.video_list.addItem(it)
            if cur is not None and int(rec.id) == cur:
                self.video_list.setCurrentItem(it)
        self.video_list.blockSignals(False)

    def _video_selected(self, item: QListWidgetItem | None, _prev=None) -> None:
        if item is not None:
            self._guard(lambda: self.open_video(int(item.data(Qt.ItemDataRole.UserRole))))

    def open_video(self, video_id: int) -> None:
        """Show a video of the project (decoding starts in the background; returns at once)."""
        from rpan_core.video import open_video

        self.stop_play()
        rec = self.project.video(video_id)
        video = open_video(rec.path)
        self._close_video()
        self.video_id = int(video_id)
        self.video = video
        self.n_frames = int(video.frame_count)
        self.loader.set_video(video)
        self.spin.blockSignals(True)
        self.spin.setRange(0, max(0, self.n_frames - 1))
        self.spin.setValue(0)
        self.spin.blockSignals(False)
        self.count_label.setText(f"/ {self.n_frames - 1}")
        self.fps_label.setText(f"{video.fps:.2f} fps  {video.width}x{video.height}")
        self.view.frame_size = None
        self._refresh_states()
        self.frame = -1
        self.seek(0)
        if self.flow_check.isChecked():
            self._guard(self.compute_flow)
        if self.auto_analyze and self.checkpoint:
            self.analyze()

    def _close_video(self) -> None:
        self.loader.set_video(None)
        if self.video is not None:
            self.video.close()
        self.video = None
        self.video_id = None
        self.set_analysis(None)
        self.flow_layer.set_volume(None)
        self.view.clear_frame()
        self.editor.set_context(self.project, None, 0, None)

    def _refresh_states(self) -> None:
        if self.project is None or self.video_id is None:
            return
        st = np.asarray(self.project.frame_states(self.video_id), dtype=np.uint8).copy()
        if len(st) < self.n_frames:
            st = np.pad(st, (0, self.n_frames - len(st)))
        if self.analysis is not None:  # a frame with a model pose and no label is "predicted"
            t = min(len(st), int(np.asarray(self.analysis.probs).shape[0]))
            st[:t][st[:t] == 0] = 1
        self.states = st
        self.labeled = np.flatnonzero(st >= 2)
        self.seekbar.set_states(st)
        self.seekbar.set_frame(max(0, self.frame))

    def _labels_changed(self, video_id: int, frames: Any) -> None:
        if video_id == self.video_id:
            self._refresh_states()
            self._refresh_review()

    # ================================================================== seeking
    def seek(self, frame: int) -> None:
        """Make ``frame`` current: cursors move now, the frame and overlays follow when decoded."""
        if self.video is None or self.n_frames == 0:
            return
        frame = int(np.clip(frame, 0, self.n_frames - 1))
        if frame == self.frame:
            return
        self.frame = frame
        if self.spin.value() != frame:
            self.spin.blockSignals(True)
            self.spin.setValue(frame)
            self.spin.blockSignals(False)
        for w in (self.seekbar, self.action_plot, self.conf_plot, self.dynamics_plot):
            w.set_frame(frame)
        self.loader.request(frame)

    def step(self, n: int) -> None:
        self.seek(self.frame + n)

    def jump(self, kind: str, direction: int = 1) -> int | None:
        """Seek to the next (direction 1) or previous (-1) labeled / unlabeled / low-confidence frame."""
        if kind == "labeled":
            cand = self.labeled
        elif kind == "unlabeled":
            cand = np.flatnonzero(self.states < 2)
        elif kind == "lowconf":
            cand = self.low_conf_frames
        else:
            raise ValueError(f"unknown jump kind {kind!r}")
        cand = np.asarray(cand)
        nxt = cand[cand > self.frame] if direction > 0 else cand[cand < self.frame]
        if len(nxt) == 0:
            self.statusBar().showMessage(f"no {kind} frame {'after' if direction > 0 else 'before'} this one", 3000)
            return None
        target = int(nxt[0] if direction > 0 else nxt[-1])
        self.seek(target)
        return target

    def _focus_spin(self) -> None:
        self.spin.setFocus()
        self.spin.selectAll()

    def _on_frame_ready(self, index: int, image: np.ndarray) -> None:
        if index != self.frame:  # overtaken by a newer request: never show a stale frame
            return
        self.view.set_frame(index, image)
        self._render_overlays(index)
        self.frameShown.emit(index)

    def _prediction(self, index: int) -> tuple[np.ndarray, np.ndarray] | None:
        a = self.analysis
        if a is None or index >= int(np.asarray(a.probs).shape[0]):
            return None
        return np.asarray(a.xy[index], dtype=np.float64), np.asarray(a.conf[index], dtype=np.float64)

    def _render_overlays(self, index: int) -> None:
        pred = self._prediction(index)
        a = self.analysis
        if pred is not None:
            win = getattr(a, "window", None)
            self.view.set_heat(np.asarray(a.attention[index], dtype=np.float32),
                               None if win is None else np.asarray(win[index], np.float64), getattr(a, "input_size", None))
            conf = normalized_confidence(pred[1] / self._conf_scale)
            occluded = self._predicted_visible(index, index + 1)
            self.view.set_pose(pred[0], conf, None if occluded is None else ~occluded[0])
            self.view.set_caption(f"frame {index}   {caption_for(a.probs[index], a.classes)}"
                                  f"   (video: {self._video_caption()})")
        else:
            self.view.set_heat(None)
            self.view.set_pose(None, None)
            self.view.set_caption(f"frame {index}" + ("" if a is not None else "   (not analyzed)"))
        self.editor.set_context(self.project, self.video_id, index, pred)
        self.editor.setVisible(self.annotation_check.isChecked())
        self.flow_layer.show(index)

    def _video_caption(self) -> str:
        a = self.analysis
        c = int(a.video_pred)
        name = a.classes[c] if c < len(a.classes) else str(c)
        return f"{name} {100 * float(np.asarray(a.video_probs)[c]):.0f}%"

    # ================================================================== overlays
    def _fill_heat_joint(self) -> None:
        self.heat_joint.clear()
        if self.skeleton is None:
            return
        if self.heat_mode.currentIndex() == 1:
            self.heat_joint.addItems(list(self.skeleton.parts))
        else:
            self.heat_joint.addItems(list(self.skeleton.joints))
        self.heat_joint.setEnabled(self.heat_mode.currentIndex() in (0, 1))

    def _heat_mode_changed(self) -> None:
        self.heat_joint.blockSignals(True)
        self._fill_heat_joint()
        self.heat_joint.blockSignals(False)
        self._overlay_options_changed()

    def _overlay_options_changed(self) -> None:
        o = self.view.opts
        o.heat = self.heat_check.isChecked()
        o.heat_mode = HEAT_MODES[self.heat_mode.currentIndex()]
        sel = max(0, self.heat_joint.currentIndex())
        o.joint = sel
        if o.heat_mode == "part" and self.skeleton is not None:
            part = self.skeleton.parts[min(sel, len(self.skeleton.parts) - 1)]
            o.part_joints = self.skeleton.joints_of_part(part)
        o.opacity = self.opacity.value() / 100.0
        o.skeleton = self.skeleton_check.isChecked()
        o.caption = self.caption_check.isChecked()
        o.annotation = self.annotation_check.isChecked()
        if self.view.frame_index is not None and self.view.frame_index == self.frame:
            self._render_overlays(self.frame)

    # ================================================================== analysis
    def analyze(self, checkpoint: str | os.PathLike | None = None) -> TaskWorker | None:
        """Analyze the current video in a worker (cached results come back fast); the view updates when done."""
        if checkpoint is not None:
            self.checkpoint = str(checkpoint)
        if self.video_id is None:
            raise ProjectError("no video is open: pick one in the Videos list first")
        if not self.checkpoint:
            raise RPANError("no checkpoint chosen: use Model > Choose checkpoint, or train one first")
        rec = self.project.video(self.video_id)
        vid = self.video_id

        def done(analysis: Any, vid=vid) -> None:
            if vid == self.video_id:  # the person may have moved on; the result stays cached on disk
                self.set_analysis(analysis)

        extra = ({"flow_checkpoint": self.flow_checkpoint, "fuse": self.fusion_weights}
                 if getattr(self, "flow_checkpoint", None) else {})
        return self.run_task("analyze", self.analyze_fn, str(rec.path), self.checkpoint, project=self.project, **extra,
                             on_done=done, label=f"analyzing {Path(rec.path).name}")

    def set_analysis(self, analysis: Any) -> None:
        self.analysis = analysis
        if analysis is None:
            self.action_plot.set_probs(None, [])
            self._show_streams(None)
            self.conf_plot.set_conf(None)
            self.dynamics_plot.set_hidden(None)
            self.review_list.set_items([])
            self.low_conf_frames = np.zeros(0, np.int64)
            self._conf_scale = 1.0
            return
        conf = np.asarray(analysis.conf, dtype=np.float32)
        top = float(np.nanmax(conf)) if conf.size else 1.0
        self._conf_scale = top if 0 < top < 1 else 1.0
        self.action_plot.set_probs(analysis.probs, list(analysis.classes), int(analysis.video_pred))
        self._show_streams(analysis)
        self.conf_plot.set_conf(conf, self.skeleton.joints if self.skeleton else ())
        self.dynamics_plot.set_hidden(analysis.hidden)
        mean_conf = conf.mean(axis=1)
        self.low_conf_frames = low_confidence_frames(mean_conf)
        for w in (self.action_plot, self.conf_plot, self.dynamics_plot):
            w.set_frame(max(0, self.frame))
        self._refresh_states()
        self._refresh_review()
        if self.view.frame_index == self.frame:
            self._render_overlays(self.frame)
        self.analysisReady.emit(analysis)

    def _refresh_review(self) -> None:
        a = self.analysis
        if a is None:
            self.review_list.set_items([])
            return
        skip = [int(f) for f in self.labeled]
        self.review_list.set_items(review_queue(a.conf, a.xy, n=50, skip=skip,
                                                min_gap=max(0, len(a.conf) // 200)))

    # ================================================================== two streams (issue 6)
    flow_checkpoint: str | None = None
    fusion_weights: tuple[float, float] = DEFAULT_WEIGHTS

    def compute_flow(self) -> TaskWorker | None:
        """Compute (or load from the project's flow cache) the open video's optical flow in a worker."""
        if self.project is None or self.video_id is None:
            return None
        if self.flow_layer.volume is not None and self.flow_layer.video_id == self.video_id:
            return None
        rec = self.project.video(self.video_id)
        vid = self.video_id

        def done(volume: Any, vid=vid) -> None:
            if vid == self.video_id:
                self.flow_layer.set_volume(volume, vid)
                if self.view.frame_index == self.frame:
                    self.flow_layer.show(self.frame)

        return self.run_task("flow", _flow_task, str(rec.path), str(self.project.flow_dir), on_done=done,
                             label=f"optical flow of {Path(rec.path).name}")

    def _flow_toggled(self, on: bool) -> None:
        self.flow_layer.enabled = bool(on)
        if on:
            self._guard(self.compute_flow)
        if self.view.frame_index is not None and self.view.frame_index == self.frame:
            self.flow_layer.show(self.frame)

    def _stream_changed(self, index: int) -> None:
        a = self.analysis
        if a is None or not hasattr(a, "select"):
            return
        want = ("rgb", "flow")[max(0, index)]
        if getattr(a, "shown", "rgb") != want:
            self.set_analysis(a.select(want))

    def _show_streams(self, analysis: Any) -> None:
        """Stream selector and the probability plot's title for a one- or two-stream analysis."""
        two = analysis is not None and hasattr(analysis, "streams") and hasattr(analysis, "select")
        self.stream_combo.blockSignals(True)
        self.stream_combo.setEnabled(two)
        if two:
            self.stream_combo.setCurrentIndex(0 if getattr(analysis, "shown", "rgb") == "rgb" else 1)
        elif analysis is not None:
            self.stream_combo.setCurrentIndex(1 if getattr(analysis, "stream", "rgb") == "flow" else 0)
        self.stream_combo.blockSignals(False)
        title = "action probability"
        if two:
            w = tuple(analysis.weights)
            title += f" (fused RGB:flow {w[0]:g}:{w[1]:g})"
        elif analysis is not None and getattr(analysis, "stream", "rgb") == "flow":
            title += " (flow stream)"
        self.action_plot.getPlotItem().setTitle(title, size="9pt")

    def _choose_flow_checkpoint_dialog(self) -> None:
        start = str(self.project.runs_dir) if self.project is not None else ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose the flow stream's checkpoint (rpan train --stream "
                                              "flow); Cancel to use one stream", start, "Checkpoints (*.pt)")
        self.set_flow_checkpoint(path or None)

    def set_flow_checkpoint(self, path: str | os.PathLike | None) -> None:
        """Two streams from now on (the main checkpoint is the RGB one), or one with None; re-analyzes."""
        self.flow_checkpoint = str(path) if path else None
        if self.video_id is not None and self.checkpoint:
            self.analyze()

    def _fusion_weights_dialog(self) -> None:
        from rpan_core.fusion import parse_weights

        w = self.fusion_weights
        text, ok = QInputDialog.getText(self, "Stream fusion", "weights spatial:temporal (RGB:flow):",
                                        text=f"{w[0]:g}:{w[1]:g}")
        if ok:
            self.fusion_weights = tuple(parse_weights(text))
            if self.flow_checkpoint and self.video_id is not None and self.checkpoint:
                self.analyze()

    # ================================================================== editing (menus)
    def _require_video(self) -> None:
        if self.project is None or self.video_id is None:
            raise ProjectError("no video is open: pick one in the Videos list first")

    def accept_frame(self) -> None:
        self._require_video()
        pred = self._prediction(self.frame)
        if pred is None:
            raise RPANError("this frame has no model pose yet: analyze the video first (Ctrl+R)")
        cmds.accept_prediction(self.undo_stack, self.project, self.video_id, [self.frame], pred[0][None],
                               pred[1][None], visible=self._predicted_visible(self.frame, self.frame + 1))

    def accept_range(self, start: int | None = None, stop: int | None = None) -> None:
        """Accept the model's poses for frames start..stop (inclusive); asks when not given."""
        self._require_video()
        if self.analysis is None:
            raise RPANError("no model poses yet: analyze the video first (Ctrl+R)")
        t = int(np.asarray(self.analysis.probs).shape[0])
        if start is None or stop is None:
            text, ok = QInputDialog.getText(self, "Accept model poses", "frames (first-last):",
                                            text=f"{self.frame}-{min(t - 1, self.frame + 29)}")
            if not ok:
                return
            try:
                a_, b_ = (int(v) for v in text.replace(" ", "").split("-"))
            except ValueError:
                raise RPANError(f"{text!r} is not a frame range; write it as first-last, e.g. 10-40") from None
            start, stop = a_, b_
        start, stop = max(0, min(start, stop)), min(t - 1, max(start, stop))
        frames = list(range(start, stop + 1))
        cmds.accept_prediction(self.undo_stack, self.project, self.video_id, frames,
                               np.asarray(self.analysis.xy[start:stop + 1]),
                               np.asarray(self.analysis.conf[start:stop + 1]),
                               visible=self._predicted_visible(start, stop + 1))

    def _predicted_visible(self, start: int, stop: int) -> np.ndarray | None:
        """The model's visibility for frames start..stop-1: its dummy-cell mass below the threshold."""
        from rpan_core.analyze import DEFAULT_DUMMY_THRESHOLD

        dummy = getattr(self.analysis, "dummy", None)
        if dummy is None:
            return None
        return np.asarray(dummy[start:stop], dtype=np.float32) < DEFAULT_DUMMY_THRESHOLD

    def copy_previous(self) -> None:
        self._require_video()
        cmds.copy_previous(self.undo_stack, self.project, self.video_id, self.frame)

    def interpolate(self) -> None:
        self._require_video()
        a, b = cmds.neighbour_keyframes(self.project, self.video_id, self.frame)
        if a is None or b is None:
            raise RPANError("interpolation needs a labeled frame before and after this one; label both first")
        cmds.interpolate(self.undo_stack, self.project, self.video_id, a, b)

    def _set_action_dialog(self) -> None:
        self._require_video()
        classes = ["(none)"] + list(self.project.classes)
        cur = self.project.video(self.video_id).action
        name, ok = QInputDialog.getItem(self, "Video action", "action of this video:", classes,
                                        classes.index(cur) if cur in classes else 0, False)
        if ok:
            cmds.set_action(self.undo_stack, self.project, self.video_id, None if name == "(none)" else name)
            self.refresh_videos()

    # ================================================================== playback
    def toggle_play(self) -> None:
        if self.play_timer.isActive():
            self.stop_play()
        else:
            self.start_play()

    def start_play(self) -> None:
        if self.video is None:
            return
        if self.frame >= self.n_frames - 1:
            self.seek(0)
        fps = float(self.video.fps or 25.0)
        self._play_start = self.frame
        self._play_fps = fps
        self._play_clock.start()
        self.play_timer.start(max(5, int(1000 / fps / 2)))  # tick at twice the rate; the clock picks the frame
        self.play_button.setText("||")

    def stop_play(self) -> None:
        self.play_timer.stop()
        self.play_button.setText("\u25b6")

    def _play_tick(self) -> None:
        target = self._play_start + int(self._play_clock.elapsed() * self._play_fps / 1000.0)
        if target >= self.n_frames:
            self.seek(self.n_frames - 1)
            self.stop_play()
            return
        if target != self.frame:
            self.seek(target)  # frames the decoder could not keep up with are skipped, never queued

    # ================================================================== dialogs: files
    def _recent(self) -> list[str]:
        v = self.settings.value("recent_projects", [])
        if isinstance(v, str):
            v = [v]
        return [str(x) for x in (v or [])]

    def _add_recent(self, folder: str) -> None:
        folder = str(Path(folder).resolve())
        rec = [folder] + [r for r in self._recent() if r != folder]
        self.settings.setValue("recent_projects", rec[:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        if not hasattr(self, "recent_menu"):
            return
        self.recent_menu.clear()
        for r in self._recent():
            self.recent_menu.addAction(self._act(r, lambda r=r: self.open_project(r)))
        self.recent_menu.setEnabled(bool(self._recent()))

    def _open_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Open an RPAN project folder")
        if d:
            self.open_project(d)

    def _new_project_dialog(self) -> None:
        from rpan_core.project import Project

        d = QFileDialog.getExistingDirectory(self, "Folder for the new project (an empty folder)")
        if not d:
            return
        classes, ok = QInputDialog.getText(self, "New project", "action classes (comma separated):")
        if not ok:
            return
        skel, ok = QInputDialog.getItem(self, "New project", "skeleton:", ["pennaction", "jhmdb", "coco"], 0, False)
        if not ok:
            return
        names = [c.strip() for c in classes.split(",") if c.strip()]
        self.open_project(Project.create(d, skeleton=skel, classes=names))

    def add_videos(self, paths: list[str]) -> list[int]:
        if self.project is None:
            raise ProjectError("no project is open: create or open one first (File menu)")
        ids = [self.project.add_video(p) for p in paths]
        self.refresh_videos()
        return ids

    def _add_videos_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add videos", "",
                                                "Videos (*.mp4 *.avi *.mov *.mkv *.m4v *.webm *.mpg);;All files (*)")
        if files:
            self.add_videos(files)

    def import_annotations(self, kind: str, path: str) -> TaskWorker:
        if self.project is None:
            raise ProjectError("no project is open: create or open one first (File menu)")
        fn = _format_function("import", kind)
        return self.run_task("import", fn, path, self.project, label=f"importing {kind}",
                             on_done=lambda _r: (self.refresh_videos(), self._refresh_states()))

    def _import_dialog(self, kind: str) -> None:
        if kind == "coco":
            path, _ = QFileDialog.getOpenFileName(self, "COCO keypoints JSON", "", "JSON (*.json)")
        else:
            path = QFileDialog.getExistingDirectory(self, f"{kind} dataset folder")
        if path:
            self.import_annotations(kind, path)

    def export_labels(self, kind: str, path: str) -> TaskWorker:
        if self.project is None:
            raise ProjectError("no project is open: create or open one first (File menu)")
        fn = _format_function("export", kind)
        return self.run_task("export_labels", fn, self.project, path, label=f"exporting {kind}",
                             on_done=lambda r: self.statusBar().showMessage(f"exported to {r or path}", 8000))

    def _export_labels_dialog(self, kind: str) -> None:
        filt = "JSON (*.json)" if kind == "coco" else "CSV (*.csv)"
        path, _ = QFileDialog.getSaveFileName(self, f"Export labels as {kind.upper()}", "", filt)
        if path:
            self.export_labels(kind, path)

    # ================================================================== exports
    def export_video(self, path: str | os.PathLike, start: int = 0, stop: int | None = None) -> TaskWorker:
        """Write the current video with the current overlays to mp4 in a worker."""
        self._require_video()
        import copy

        rec = self.project.video(self.video_id)
        opts = copy.deepcopy(self.view.opts)
        edges = list(self.skeleton.edges) if self.skeleton else []
        return self.run_task("export_video", export_overlay_video, str(rec.path), self.analysis, str(path),
                             opts=opts, edges=edges, start=start, stop=stop, label="exporting video",
                             on_done=lambda p: self.statusBar().showMessage(f"wrote {p}", 8000))

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
            if self.project is None or not self.checkpoint:
                raise RPANError("the confusion matrix needs a project and a checkpoint; open one and train first")
            from rpan_studio.export import confusion_from_result

            def work(checkpoint, project_folder, out):
                from rpan_core.evaluate import evaluate
                from rpan_core.project import Project

                m, classes = confusion_from_result(evaluate(checkpoint, Project.open(project_folder), split="test"))
                return save_confusion_png(m, classes, out)

            return self.run_task("confusion", work, self.checkpoint, str(self.project.folder), str(path),
                                 label="evaluating", cancellable=False,
                                 on_done=lambda p: self.statusBar().showMessage(f"wrote {p}", 8000))
        raise ValueError(f"unknown figure {what!r}")

    def _png_dialog(self, what: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Save {what} as PNG", f"{what}.png", "PNG (*.png)")
        if path:
            self.export_png(what, path)

    # ================================================================== model dialogs
    def _choose_checkpoint_dialog(self) -> None:
        start = str(self.project.runs_dir) if self.project is not None else ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a checkpoint", start, "Checkpoints (*.pt)")
        if path:
            self.checkpoint = path
            if self.video_id is not None:
                self.analyze()

    def open_training(self) -> QDialog:
        if self.project is None:
            raise ProjectError("no project is open: training needs a project with labels")
        from rpan_studio.training import TrainingDialog

        dlg = TrainingDialog(self.project, self, default_init=self.checkpoint)
        dlg.runFinished.connect(self._training_finished)
        dlg.show()
        self.training_dialog = dlg
        return dlg

    def _training_finished(self, run_dir: str, checkpoint: str) -> None:
        if not checkpoint:
            return
        self.checkpoint = checkpoint
        if self.video_id is not None and self._ask(f"Training finished ({Path(run_dir).name}).\n"
                                                   "Re-analyze the open video with the new checkpoint?"):
            self._guard(self.analyze)

    def open_compare(self) -> QDialog:
        if self.project is None:
            raise ProjectError("no project is open: comparing checkpoints needs a project")
        from rpan_studio.compare import CompareDialog

        dlg = CompareDialog(self.project, parent=self)
        dlg.show()
        return dlg

    def open_demo(self) -> TaskWorker:
        """Build (or find) the demo project in a worker, with the busy bar, then open it."""
        from rpan_core.demo import ensure_demo_project

        def opened(result: Any) -> None:
            project, checkpoint = _demo_result(result)
            if checkpoint:
                self.checkpoint = str(checkpoint)
            self._guard(lambda: self.open_project(project))

        return self.run_task("demo", ensure_demo_project, label="preparing the demo project", on_done=opened,
                             cancellable=False)

    def show_shortcuts(self) -> QDialog:
        """A dialog listing every keyboard shortcut (the window's and the pose editor's)."""
        dlg = QDialog(self)
        dlg.setWindowTitle("Keyboard shortcuts")
        rows = [(k, d) for _, k, d in STUDIO_SHORTCUTS] + [(k, d) for _, k, d in cmds.SHORTCUTS]
        table = QTableWidget(len(rows), 2, dlg)
        table.setHorizontalHeaderLabels(["keys", "what it does"])
        for i, (k, d) in enumerate(rows):
            table.setItem(i, 0, QTableWidgetItem(k))
            table.setItem(i, 1, QTableWidgetItem(d))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        table.verticalHeader().hide()
        lay = QVBoxLayout(dlg)
        lay.addWidget(table)
        dlg.resize(620, 560)
        dlg.show()
        self.shortcuts_dialog = dlg
        return dlg

    # ================================================================== closing
    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.stop_play()
        self.cancel_tasks()
        self.wait_tasks(10000)
        self.loader.stop()
        if self.video is not None:
            self.video.close()
        super().closeEvent(event)


def low_confidence_frames(mean_conf: np.ndarray, fraction: float = LOW_CONF_QUANTILE) -> np.ndarray:
    """Sorted frames among the least confident ``fraction`` (by rank), strictly below the median.

    The median cut keeps a video whose frames are nearly all equally sure from
    listing arbitrary frames as "low confidence".
    """
    c = np.asarray(mean_conf, dtype=np.float64)
    if c.size == 0:
        return np.zeros(0, np.int64)
    k = max(1, int(np.ceil(fraction * c.size)))
    lowest = np.argsort(c, kind="stable")[:k]
    return np.sort(lowest[c[lowest] < np.median(c)])


def _demo_result(result: Any) -> tuple[Any, str | None]:
    """ensure_demo_project may return a Project, a folder, or (project, checkpoint)."""
    if isinstance(result, tuple):
        return result[0], (str(result[1]) if len(result) > 1 and result[1] else None)
    ck = getattr(result, "checkpoint", None)
    if ck is not None and not hasattr(result, "videos"):
        return getattr(result, "project", result), str(ck)
    return result, None


def _format_function(direction: str, kind: str) -> Callable[..., Any]:
    """The rpan_core.formats function for an import or export of ``kind``."""
    import importlib

    try:
        formats = importlib.import_module("rpan_core.formats")
    except ImportError as exc:
        raise RPANError(f"this install has no rpan_core.formats ({exc}); update RPAN Studio") from exc
    names = ([f"import_{kind}", f"{kind}_import"] if direction == "import"
             else [f"export_{kind}", f"{kind}_export"])
    for name in names:
        fn = getattr(formats, name, None)
        if fn is not None:
            return fn
    raise RPANError(f"rpan_core.formats has no {direction}er for {kind!r}; update RPAN Studio")
