"""The training dialog: launch `rpan train` as a separate process and follow it live.

Why a separate process and not a thread: training holds the GIL-heavy PyTorch loop,
may use every core or a GPU, and must survive (or die) independently of the UI. The
studio runs exactly the command a user would type (``python -m rpan_core.cli train``),
so what works in the terminal works here and vice versa, and a training failure can
never take the studio (and its unsaved view state) down with it.

How it is followed: the run folder's ``events.jsonl`` (one JSON object per line,
flushed per line by the trainer) is the single source of truth. An
:class:`EventFollower` reads only the bytes appended since its last read (a
QFileSystemWatcher wakes it up as soon as the file changes, a QTimer poll covers
file systems where change notifications are late or missing) and hands complete
lines to the dialog, which updates pyqtgraph curves, a progress bar, elapsed time
and ETA. stderr is collected too, so a failure shows the trainer's own error text
in the window instead of only in a terminal nobody is looking at.

Cancel sends SIGTERM (``QProcess.terminate``): ``rpan train`` handles it by writing
``last.pt`` and an ``end`` event with status ``cancelled``. If it has not exited
after a grace period, it is killed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Sequence

from PyQt6.QtCore import (
    QElapsedTimer,
    QProcess,
    QProcessEnvironment,
    Qt,
    QTimer,
    pyqtSignal,
)
from PyQt6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rpan_core.errors import TrainingError
from rpan_core.project import Project

__all__ = [
    "EventFollower",
    "TrainingDialog",
    "TrainingOptions",
    "format_duration",
    "train_command",
]

from rpan_studio.dialogs.training_curves import TrainingCurves, step_summary  # noqa: E402
from rpan_studio.dialogs.training_model import ModelBox  # noqa: E402
from rpan_studio.dialogs.training_run import (
    current_checkpoint_label,  # noqa: E402 - re-exported: the dialog's public helpers
    training_data,
    training_data_notes,
    training_data_summary,
    DEFAULT_TRAINER,
    EventFollower,
    IntegerAxis,
    TrainingOptions,
    clean_console,
    format_duration,
    train_command,
    whole,
)


class TrainingDialog(QDialog):
    """Configure a training run, launch it, and follow it live.

    ``current_checkpoint``: the studio's current checkpoint (the "start from the current checkpoint"
    choice, preselected when there is one), ``current_origin`` where it came from (the choice is
    called the demo checkpoint only when it is the demo's). ``trainer``: the command that stands for
    ``rpan train`` (tests pass a small fake trainer script); options are appended.

    Closing the dialog while a run is going only hides it: the run goes on and
    :attr:`runFinished` still fires. When the application quits, a running
    trainer is cancelled (SIGTERM, then kill after :attr:`kill_grace_ms`).
    """

    runFinished = pyqtSignal(str, str)  # run_dir, checkpoint
    runEnded = pyqtSignal(str, str, str)  # run_dir, status (finished|failed|cancelled), message

    def __init__(
        self,
        project: Project,
        parent: QWidget | None = None,
        *,
        current_checkpoint: str | os.PathLike | None = None,
        current_origin: str | None = None,
        trainer: Sequence[str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.project = project
        self.current_checkpoint = str(current_checkpoint) if current_checkpoint else None
        self.current_origin = current_origin
        self.trainer = list(trainer) if trainer else list(DEFAULT_TRAINER)
        self.kill_grace_ms = 10_000
        self.extra_args: list[str] = []  # more `rpan train` options (advanced; tests pick a tiny model)
        self.process: QProcess | None = None
        self.follower: EventFollower | None = None
        self.run_dir: Path | None = None
        self.status: str = "idle"  # idle | running | finished | failed | cancelled
        self.end_event: dict[str, Any] | None = None
        self._clear_run_state()
        self._init: str | None = None
        self.compare_dialog = None
        self._clock = QElapsedTimer()
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill_now)
        self._tick = QTimer(self)
        self._tick.setInterval(500)
        self._tick.timeout.connect(self._update_times)
        self.setWindowTitle("Train RPAN")
        self.resize(1180, 780)
        self._build()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        outer.addLayout(top)

        init_box = QGroupBox("Start from")
        il = QVBoxLayout(init_box)
        self.init_group = QButtonGroup(self)
        self.init_current = QRadioButton(current_checkpoint_label(self.current_checkpoint, self.current_origin))
        self.init_ckpt = QRadioButton("Another checkpoint:")
        self.init_scratch = QRadioButton("Scratch (a new model)")
        for i, b in enumerate((self.init_current, self.init_ckpt, self.init_scratch)):
            self.init_group.addButton(b, i)
        il.addWidget(self.init_current)
        row = QHBoxLayout()
        row.addWidget(self.init_ckpt)
        self.ckpt_edit = QLineEdit()
        self.ckpt_edit.setPlaceholderText("path to a .pt checkpoint")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        row.addWidget(self.ckpt_edit, 1)
        row.addWidget(self.browse_button)
        il.addLayout(row)
        il.addWidget(self.init_scratch)
        self.init_scratch.setToolTip("a new model of the chosen preset; its backbone starts from ImageNet where the "
                                     "preset has one (labeling, the paper's), else from random weights (demo)")
        # the shipped demo model, offered by name whenever it ships and is not already the current one
        from rpan_core.demo import demo_checkpoint_path

        demo = demo_checkpoint_path()
        self.demo_checkpoint = str(demo) if demo.is_file() else None
        self.init_demo = QRadioButton(f"Shipped demo checkpoint ({demo.name}: synthetic figures)")
        self.init_demo.setToolTip(str(demo))
        self.init_group.addButton(self.init_demo, 3)
        il.insertWidget(1, self.init_demo)
        same = self.demo_checkpoint is not None and self.current_checkpoint is not None and \
            Path(self.current_checkpoint).resolve() == demo.resolve()
        self.init_demo.setVisible(self.demo_checkpoint is not None and not same)
        if self.current_checkpoint:  # validated where it was set (StudioState.set_checkpoint)
            self.init_current.setToolTip(self.current_checkpoint)
            self.init_current.setChecked(True)
        else:
            self.init_current.setEnabled(False)
            self.init_current.setToolTip("no checkpoint is chosen in the studio")
            self.init_scratch.setChecked(True)
        self.ckpt_edit.textEdited.connect(lambda _t: self.init_ckpt.setChecked(True))
        top.addWidget(init_box, 2)

        opt_box = QGroupBox("Options")
        form = QFormLayout(opt_box)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 10_000)
        self.epochs_spin.setValue(10)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(6)
        self.lr_spin.setRange(1e-6, 10.0)
        self.lr_spin.setSingleStep(0.001)
        self.lr_spin.setValue(0.01)
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto", "cpu", "cuda"])
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Device", self.device_combo)
        self.stream_combo = QComboBox()
        self.stream_combo.addItem("RGB frames", "rgb")
        self.stream_combo.addItem("optical flow (temporal stream)", "flow")
        self.stream_combo.setToolTip("two-stream RPAN: train the flow stream too, then choose it with "
                                     "Model > Choose flow checkpoint")
        form.addRow("Stream", self.stream_combo)
        self.model_box = ModelBox()
        self.model_box.default_scratch_preset = ("demo" if any(v.action for v in self.project.videos())
                                                 else "labeling")  # pose-only projects: the labeling model
        top.addWidget(self.model_box, 2)
        top.addWidget(opt_box, 1)
        self.data_label = QLabel("")
        self.data_label.setWordWrap(True)
        outer.addWidget(self.data_label)
        # the model's choices follow the start (a checkpoint fixes its model) and the stream
        self.init_group.buttonToggled.connect(lambda *_: self._start_changed())
        self.ckpt_edit.editingFinished.connect(self._start_changed)
        self.stream_combo.currentIndexChanged.connect(lambda _i: self._start_changed())
        self.model_box.preset_combo.currentIndexChanged.connect(lambda _i: self._preset_chosen())
        self.model_box.changed.connect(self._update_data)

        bar = QHBoxLayout()
        self.start_button = QPushButton("Start training")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("continue the cancelled or failed run from its last checkpoint")
        self.resume_button.setEnabled(False)
        self.resume_button.clicked.connect(self.resume)
        self.cancel_button = QPushButton("Cancel run")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p%  (step %v of %m)")
        bar.addWidget(self.start_button)
        bar.addWidget(self.cancel_button)
        bar.addWidget(self.resume_button)
        bar.addWidget(self.progress, 1)
        self.elapsed_label = QLabel("Elapsed --")
        self.eta_label = QLabel("ETA --")
        bar.addWidget(self.elapsed_label)
        bar.addWidget(self.eta_label)
        outer.addLayout(bar)

        info = QHBoxLayout()
        self.status_label = QLabel("Ready.")
        self.step_label = QLabel("")
        self.step_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        info.addWidget(self.status_label, 1)
        info.addWidget(self.step_label, 1)
        outer.addLayout(info)

        self.curves_view = TrainingCurves()
        self.loss_plot, self.metric_plot = self.curves_view.loss_plot, self.curves_view.metric_plot
        self.curves = self.curves_view.curves
        outer.addWidget(self.curves_view, 1)

        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(2000)
        self.log_view.setPlaceholderText("Messages from the trainer appear here.")
        self.log_view.setFixedHeight(110)
        outer.addWidget(self.log_view)
        self.notes_label = QLabel("")
        self.notes_label.setWordWrap(True)
        self.notes_label.setStyleSheet("QLabel { background: #fff3c4; color: #1a1a1a; padding: 4px; }")
        outer.insertWidget(outer.indexOf(self.curves_view), self.notes_label)
        self._start_changed()  # the model box, the data account and the notes for the preselected start
        from rpan_studio.dialogs.training_model import DEFAULT_LR

        self.lr_spin.setValue(DEFAULT_LR.get(self.model_box.effective_preset() or "", 0.01))

        close_row = QHBoxLayout()
        self.compare_button = QPushButton("Compare with starting checkpoint…")
        self.compare_button.setToolTip("accuracy and PCK of the new checkpoint vs the one this run started from")
        self.compare_button.setEnabled(False)
        self.compare_button.clicked.connect(self.open_compare)
        close_row.addWidget(self.compare_button)
        close_row.addStretch(1)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        close_row.addWidget(self.close_button)
        outer.addLayout(close_row)

    def start_checkpoint(self) -> str | None:
        """The checkpoint the run starts from as the form says now (None: scratch or not chosen yet)."""
        choice = self.init_group.checkedId()
        if choice == 0:
            return self.current_checkpoint
        if choice == 3:
            return self.demo_checkpoint
        if choice == 1:
            text = self.ckpt_edit.text().strip()
            return text if text and Path(text).is_file() else None
        return None

    def _start_changed(self) -> None:
        self.model_box.set_start(self.start_checkpoint(), str(self.stream_combo.currentData()))
        self._update_data()

    def _preset_chosen(self) -> None:
        """A preset picked in the Model box: a new model of that kind (the start becomes scratch unless the
        labeling model continues a labeling checkpoint), with that recipe's learning rate and budget."""
        box = self.model_box
        preset = box.preset()
        if preset is not None and self.init_group.checkedId() != 2 and not box._continues(preset):
            self.init_scratch.setChecked(True)  # a checkpoint fixes its own model
        from rpan_studio.dialogs.training_model import DEFAULT_LR

        self.lr_spin.setValue(DEFAULT_LR.get(box.effective_preset() or "", 0.01))
        self._update_data()

    def _update_data(self) -> None:
        """The account of what the run learns from, the notes, and which budget applies (epochs or minutes)."""
        recipe = self.model_box.recipe()
        data = training_data(self.project, recipe)
        self.data_label.setText(training_data_summary(data, recipe))
        self.epochs_spin.setEnabled(recipe == "engine")
        self.epochs_spin.setToolTip("" if recipe == "engine" else "the labeling recipe trains for its time budget")
        self.notes = training_data_notes(self.project, recipe, data)
        if hasattr(self, "notes_label"):
            self.notes_label.setText("\n".join(self.notes))
            self.notes_label.setVisible(bool(self.notes))
            no_val = any(n.startswith("No validation labels:") for n in self.notes)
            self.curves_view.set_empty_note("No validation labels:\nnothing to plot (see the note above)"
                                            if no_val else "")

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Start from checkpoint", str(self._project_folder()),
                                              "Checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.ckpt_edit.setText(path)
            self.init_ckpt.setChecked(True)

    # ------------------------------------------------------------------ options
    def _project_folder(self) -> Path:
        return Path(self.project.folder)

    def _runs_dir(self) -> Path:
        return Path(self.project.runs_dir)

    def new_run_dir(self) -> Path:
        """A fresh, not yet existing run folder under the project's runs/ (timestamped)."""
        base = self._runs_dir()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        cand = base / f"studio-{stamp}"
        n = 1
        while cand.exists():
            n += 1
            cand = base / f"studio-{stamp}-{n}"
        return cand

    def options(self) -> TrainingOptions:
        """The form as :class:`TrainingOptions` (raises TrainingError on an unusable choice)."""
        choice = self.init_group.checkedId()
        init: str | None
        if choice == 0:
            init = self.current_checkpoint
        elif choice == 3:
            init = self.demo_checkpoint
        elif choice == 1:
            init = self.ckpt_edit.text().strip()
            if not init:
                raise TrainingError("no checkpoint chosen; pick a .pt file with Browse… or start from scratch")
            if not Path(init).is_file():
                raise TrainingError(f"checkpoint {init} does not exist; pick an existing .pt file")
        else:
            init = None
        return TrainingOptions(
            project=self._project_folder(),
            run_dir=self.new_run_dir(),
            init=init,
            epochs=self.epochs_spin.value(),
            lr=self.lr_spin.value(),
            device=self.device_combo.currentText(),
            stream=str(self.stream_combo.currentData()),
            extra_args=list(self.extra_args),
            **self.model_box.choices(),
        )

    # ------------------------------------------------------------------ running
    def is_running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self) -> bool:
        """Launch a run with the form's options. Returns False (and says why) when it cannot start."""
        if self.is_running():
            return False
        try:
            opts = self.options()
            argv = train_command(opts, self.trainer)
        except TrainingError as exc:
            self._set_status("failed", str(exc))
            self.log_view.appendPlainText(f"Cannot start: {exc}")
            return False
        self._reset_run(opts.run_dir)
        self._init = opts.init
        self.follower = EventFollower(opts.run_dir / "events.jsonl", parent=self)
        self._launch(argv)
        return True

    def can_resume(self) -> bool:
        """A stopped run (cancelled or failed) whose folder holds a config.json can be continued."""
        return (not self.is_running() and self.status in ("cancelled", "failed") and self.run_dir is not None
                and (self.run_dir / "config.json").is_file())

    def resume(self) -> bool:
        """Continue the last run where it stopped (`rpan train --resume RUN`); its curves continue too."""
        if not self.can_resume():
            return False
        assert self.run_dir is not None
        argv = list(self.trainer) + ["--resume", str(self.run_dir)]
        self.end_event = None
        self.stderr_text = ""
        self.stdout_text = ""
        self._cancel_requested = False  # the step counts go on: the resumed run continues the curves
        if self.follower is None or self.follower.path != self.run_dir / "events.jsonl":
            self.follower = EventFollower(self.run_dir / "events.jsonl", parent=self)
        self._launch(argv)  # the follower keeps its offset: only the resumed run's new lines are read
        return True

    def _launch(self, argv: list[str]) -> None:
        assert self.follower is not None
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        proc.setProcessEnvironment(env)
        proc.setWorkingDirectory(str(self._project_folder()))
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.readyReadStandardOutput.connect(self._read_stdout)
        proc.finished.connect(self._process_finished)
        proc.errorOccurred.connect(self._process_error)
        self.process = proc
        try:
            self.follower.events.disconnect(self._on_events)
        except TypeError:
            pass
        self.follower.events.connect(self._on_events)
        self.follower.start()
        self.log_view.appendPlainText("$ " + " ".join(argv))
        self._set_status("running", "Starting…")
        self._clock.start()
        self._tick.start()
        self.start_button.setEnabled(False)
        self.resume_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        proc.start(argv[0], argv[1:])

    def _clear_run_state(self) -> None:
        """What one run accumulates (its end event, console text, step counts), empty again: for a new
        dialog and for each new run."""
        self.end_event = None
        self.stderr_text = ""
        self.stdout_text = ""
        self.message = ""
        self.total_steps = 0
        self.last_step = 0
        self.last_elapsed_s = 0.0
        self._cancel_requested = False

    def _reset_run(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._clear_run_state()
        self.curves_view.clear()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.eta_label.setText("ETA --")
        self.log_view.clear()
        self.compare_button.setEnabled(False)

    def cancel(self) -> None:
        """Ask the trainer to stop (SIGTERM: it writes last.pt and an end event); kill after a grace period."""
        if not self.is_running():
            return
        self._cancel_requested = True
        self._set_status("running", "Cancelling… (saving last.pt)")
        self.cancel_button.setEnabled(False)
        assert self.process is not None
        self.process.terminate()
        self._kill_timer.start(self.kill_grace_ms)

    def _kill_now(self) -> None:
        if self.is_running():
            assert self.process is not None
            self.log_view.appendPlainText(f"Trainer did not stop within {self.kill_grace_ms / 1000:.0f} s; killed.")
            self.process.kill()

    def shutdown(self, wait_ms: int | None = None) -> None:
        """Stop a running trainer and wait for it (used when the application quits)."""
        if not self.is_running():
            return
        assert self.process is not None
        self._cancel_requested = True
        self.process.terminate()
        if not self.process.waitForFinished(self.kill_grace_ms if wait_ms is None else wait_ms):
            self.process.kill()
            self.process.waitForFinished(2000)

    def _read_stderr(self) -> None:
        if self.process is None:
            return
        chunk = bytes(self.process.readAllStandardError()).decode("utf-8", "replace")
        self.stderr_text = (self.stderr_text + chunk)[-200_000:]

    def _read_stdout(self) -> None:
        if self.process is None:
            return
        chunk = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        self.stdout_text = (self.stdout_text + chunk)[-200_000:]

    def _process_error(self, err: QProcess.ProcessError) -> None:
        if err == QProcess.ProcessError.FailedToStart:
            self._finish("failed", f"could not start the trainer ({' '.join(self.trainer)}): "
                                   f"{self.process.errorString() if self.process else err}")

    def _process_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._read_stderr()
        self._read_stdout()
        if self.follower is not None:
            self.follower.stop()  # one last read: the end event may have just been written
        end = self.end_event
        if end is not None and end.get("status") in ("finished", "failed", "cancelled"):
            status = str(end["status"])
            message = str(end.get("message") or "")
            if status == "finished" and exit_code != 0:
                status, message = "failed", message or f"trainer exited with code {exit_code}"
        elif self._cancel_requested:
            status, message = "cancelled", "cancelled (the trainer stopped without an end event)"
        elif exit_status == QProcess.ExitStatus.CrashExit:
            status, message = "failed", f"the trainer crashed (exit code {exit_code}) before it finished"
        elif exit_code != 0:
            status, message = "failed", f"the trainer exited with code {exit_code}"
        else:
            status, message = "failed", "the trainer exited without writing an end event to events.jsonl"
        self._finish(status, message)

    def _finish(self, status: str, message: str) -> None:
        if self.status != "running":
            return
        if self.follower is not None:
            self.follower.stop()
        self._kill_timer.stop()
        self._tick.stop()
        self._update_times()
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        stderr = clean_console(self.stderr_text)
        if status == "failed":
            text = f"Training failed: {message}" if message else "Training failed."
            if stderr:
                text += "\n--- trainer stderr ---\n" + stderr
            self.log_view.appendPlainText(text)
        elif status == "cancelled":
            self.log_view.appendPlainText(f"Training cancelled. {message}".strip())
        else:
            self.log_view.appendPlainText(f"Training finished. {message}".strip())
            self.progress.setValue(self.progress.maximum())
        self._set_status(status, message)
        self.resume_button.setEnabled(self.can_resume())
        run_dir = str(self.run_dir) if self.run_dir else ""
        self.runEnded.emit(run_dir, status, message)
        if status == "finished":
            best = self.best_checkpoint()
            self.compare_button.setEnabled(bool(best and self._init))
            self.runFinished.emit(run_dir, best or "")

    def best_checkpoint(self) -> str | None:
        """The end event's best checkpoint, else best.pt / last.pt in the run folder, else None."""
        if self.run_dir is None:
            return None
        best = (self.end_event or {}).get("best_checkpoint")
        if best:
            p = Path(best)
            return str(p if p.is_absolute() else self.run_dir / p)
        for name in ("best.pt", "last.pt"):
            if (self.run_dir / name).exists():
                return str(self.run_dir / name)
        return None

    def _set_status(self, status: str, message: str) -> None:
        self.status = status
        self.message = message
        shown = {"running": message or "Running…", "finished": "Finished.",
                 "failed": "Failed: " + (message.splitlines()[0] if message else "see below"),
                 "cancelled": "Cancelled.", "idle": "Ready."}[status]
        self.status_label.setText(shown)
        color = {"failed": "#e05050", "cancelled": "#d0a030", "finished": "#50b050"}.get(status)
        self.status_label.setStyleSheet(f"color: {color}; font-weight: bold;" if color else "")

    # ------------------------------------------------------------------ events
    def _on_events(self, events: list[dict[str, Any]]) -> None:
        self.curves_view.add(events)
        for ev in events:
            kind = ev.get("type")
            if kind == "start":
                self.total_steps = int(ev.get("total_steps") or 0)
                self._set_status("running", f"Training: {ev.get('epochs', '?')} epochs, {self.total_steps} steps")
            elif kind == "step":
                self.last_step = int(float(ev.get("step", self.last_step + 1)))
                self.last_elapsed_s = float(ev.get("elapsed_s") or 0.0)
                self.step_label.setText(step_summary(ev, self.last_step, self.total_steps))
            elif kind == "epoch":
                summary = ", ".join(f"{k} {ev[k]:.3f}" for k in TrainingCurves.METRIC_KEYS
                                    if isinstance(ev.get(k), (int, float)))
                if summary:  # no empty "epoch N:" lines when nothing was validated
                    self.log_view.appendPlainText(f"epoch {whole(ev.get('epoch'))}: {summary}")
            elif kind == "end":
                self.end_event = ev
            elif ev.get("message"):
                self.log_view.appendPlainText(str(ev["message"]))
        self._update_times()

    def eta_seconds(self) -> float | None:
        """Remaining time from the trainer's own clock: elapsed / steps done * steps left."""
        if self.total_steps <= 0 or self.last_step <= 0 or self.last_elapsed_s <= 0:
            return None
        left = max(self.total_steps - self.last_step, 0)
        return self.last_elapsed_s / self.last_step * left

    def _update_times(self) -> None:
        if self.total_steps > 0:
            if self.progress.maximum() != self.total_steps:
                self.progress.setRange(0, self.total_steps)
            self.progress.setValue(min(self.last_step, self.total_steps))
        if self._clock.isValid():
            self.elapsed_label.setText("Elapsed " + format_duration(self._clock.elapsed() / 1000.0))
        if self.status == "running":
            self.eta_label.setText("ETA " + format_duration(self.eta_seconds()))
        else:
            self.eta_label.setText("ETA --")

    def open_compare(self) -> None:
        """Open the checkpoint comparison with the starting checkpoint as A and the new one as B."""
        from rpan_studio.dialogs.compare import CompareDialog

        best = self.best_checkpoint()
        if not (best and self._init):
            return
        self.compare_dialog = CompareDialog(self.project, [self._init, best], parent=self)
        self.compare_dialog.combo_a.setCurrentText(self._init)
        self.compare_dialog.combo_b.setCurrentText(best)
        self.compare_dialog.show()

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        # A running trainer keeps going; the dialog is only hidden and still reports the end.
        event.accept()
        self.hide()

    def reject(self) -> None:  # Escape: same as closing
        self.hide()
