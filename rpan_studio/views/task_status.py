"""The status bar's task display: what runs in the background, its progress, and a cancel button.

It listens to the one :class:`~rpan_studio.workers.TaskRunner`: a busy bar until
the first progress report, then a percentage; the cancel button only for tasks
that can stop half-way; everything hides when no task is left.
"""

from __future__ import annotations

from PyQt6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from rpan_studio.workers import TaskRunner

__all__ = ["TaskStatus"]


class TaskStatus:
    """Puts a label, a progress bar and a cancel button into ``bar`` and keeps them in step with ``runner``."""

    def __init__(self, bar: QStatusBar, runner: TaskRunner) -> None:
        self.label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(runner.cancel_all)
        bar.addWidget(self.label, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        runner.busy.connect(self._busy)
        runner.progress.connect(self._progress)
        runner.idle.connect(self._idle)
        runner.cancelled.connect(lambda name: bar.showMessage(f"{name}: cancelled", 5000))

    def _busy(self, label: str, cancellable: bool) -> None:
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.progress.setFormat(f"{label} %p%")
        self.progress.show()
        self.cancel_button.setVisible(cancellable)
        self.label.setText(f"{label}...")

    def _progress(self, label: str, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        self.progress.setFormat(f"{label} %p%")

    def _idle(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        self.label.setText("")
