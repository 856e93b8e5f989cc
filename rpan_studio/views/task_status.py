"""The status bar's task display: what runs in the background, its progress, and a cancel button.

It listens to the one :class:`~rpan_studio.workers.TaskRunner`: a busy bar until
the first progress report, then a percentage; the cancel button only for tasks
that can stop half-way; everything hides when no task is left.
"""

from __future__ import annotations

import time

from PyQt6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from rpan_studio.workers import TaskRunner

__all__ = ["TaskStatus", "progress_text"]


def progress_text(label: str, done: int, total: int, elapsed_s: float) -> str:
    """One line: what runs, how far, and the time left at the pace so far (after the first report)."""
    if total <= 0:
        return label
    text = f"{label}: {done} / {total} · {100 * min(done, total) // total}%"
    if 0 < done < total and elapsed_s > 0:
        left = int(round(elapsed_s / done * (total - done)))
        text += f" · {left // 60}:{left % 60:02d} left"
    return text


class TaskStatus:
    """Puts a label, a progress bar and a cancel button into ``bar`` and keeps them in step with ``runner``."""

    def __init__(self, bar: QStatusBar, runner: TaskRunner) -> None:
        self.label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(420)  # "analyzing clip.mp4: 40 / 100 · 40% · 0:12 left" on one line
        self.progress.setTextVisible(True)
        self._started = 0.0
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
        self._started = time.monotonic()
        self._label = label
        self.progress.setFormat(label)
        self.progress.show()
        self.cancel_button.setVisible(cancellable)
        self.label.setText(f"{label}...")

    def _progress(self, label: str, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        self.progress.setFormat(progress_text(getattr(self, "_label", label), done, total,
                                              time.monotonic() - self._started))

    def _idle(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        self.label.setText("")
