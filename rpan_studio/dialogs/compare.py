"""Compare two checkpoints on the project's labeled frames: accuracy and PCK side by side.

Why: after a fine-tune the question is "is the new model better on *my* labels
than the one I started from?". This dialog answers it with the same numbers
`rpan eval` prints (rpan_core.evaluate), for two checkpoints, in one table with
the difference. Evaluation runs the network over videos, so it runs in a worker
thread (the studio's one TaskRunner) with its own project connection (SQLite connections belong to
the thread that opened them); the window stays responsive and can be closed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Sequence

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rpan_core.project import Project
from rpan_studio.session import project_checkpoints
from rpan_studio.workers import TaskRunner, TaskWorker

__all__ = ["CompareDialog", "flatten_metrics", "comparison_rows", "project_checkpoints"]

EvaluateFn = Callable[..., dict]

# Metrics shown first, in this order, when present (other numeric entries follow).
# (the names rpan_core.evaluate.evaluate returns)
_PREFERRED = ("accuracy", "pck.refined.mean", "pck.argmax.mean", "videos", "videos_with_action", "pck_frames")
_SKIP = {"pck_alpha"}


def flatten_metrics(result: dict[str, Any], joints: Sequence[str] = (), prefix: str = "") -> dict[str, float]:
    """Numeric scalars of an evaluate() result, nested keys joined by dots.

    A list of numbers as long as ``joints`` becomes one entry per joint
    (``pck_argmax.per_joint.left_wrist``); other lists, strings, matrices are skipped.
    """
    out: dict[str, float] = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool) or name in _SKIP:
            continue
        if isinstance(value, (int, float)):
            out[name] = float(value)
        elif isinstance(value, dict):
            out.update(flatten_metrics(value, joints, name + "."))
        elif isinstance(value, (list, tuple)) and joints and len(value) == len(joints) \
                and all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in value):
            for jn, v in zip(joints, value):  # None: no labeled visible instance of that joint
                if v is not None:
                    out[f"{name}.{jn}"] = float(v)
    return out


def _order(name: str) -> tuple[int, int, str]:
    """Headline metrics first, then per-class accuracy, then per-joint PCK, then anything else."""
    low = name.lower()
    if low in _PREFERRED:
        return (0, _PREFERRED.index(low), name)
    if "accuracy" in low:
        return (1, 0, name)
    if "pck" in low:
        return (2, 0, name)
    return (3, 0, name)


def comparison_rows(a: dict[str, Any], b: dict[str, Any],
                    joints: Sequence[str] = ()) -> list[tuple[str, float | None, float | None, float | None]]:
    """(metric, value A, value B, B - A) for every numeric metric of either result, headline metrics first."""
    fa, fb = flatten_metrics(a, joints), flatten_metrics(b, joints)
    names = sorted(set(fa) | set(fb), key=_order)
    out = []
    for n in names:
        va, vb = fa.get(n), fb.get(n)
        diff = vb - va if va is not None and vb is not None else None
        out.append((n, va, vb, diff))
    return out


def _evaluate_all(project_folder: str, checkpoints: Sequence[str], split: str, evaluate_fn: EvaluateFn,
                  progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Evaluate the checkpoints one after the other (one at a time: the machine is shared), on this thread's own
    project connection (SQLite connections belong to the thread that uses them)."""
    from rpan_core.project import Project

    results = []
    with Project.open(project_folder) as project:
        for i, ckpt in enumerate(checkpoints):
            if progress is not None:
                progress(i, len(checkpoints))
            results.append(evaluate_fn(ckpt, project, split))
    return results


def _default_evaluate(checkpoint: str, project: Project, split: str) -> dict:
    from rpan_core.evaluate import evaluate

    return evaluate(checkpoint, project, split=split)


class CompareDialog(QDialog):
    """Pick two checkpoints and a split; see accuracy and PCK side by side with the difference."""

    compared = pyqtSignal(list)  # list of comparison_rows tuples

    def __init__(self, project: Project, checkpoints: Sequence[str] | None = None, parent: QWidget | None = None,
                 *, evaluate_fn: EvaluateFn | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.evaluate_fn = evaluate_fn
        self.tasks = TaskRunner(self)
        self.worker: TaskWorker | None = None
        self.rows: list[tuple[str, float | None, float | None, float | None]] = []
        self.setWindowTitle("Compare checkpoints")
        self.resize(640, 520)
        known = list(checkpoints or []) + [c for c in project_checkpoints(project) if c not in (checkpoints or [])]

        outer = QVBoxLayout(self)
        form = QFormLayout()
        self.combo_a, row_a = self._picker(known, 1 if len(known) > 1 else 0)
        self.combo_b, row_b = self._picker(known, 0)
        form.addRow("Checkpoint A", row_a)
        form.addRow("Checkpoint B", row_b)
        self.split_combo = QComboBox()
        self.split_combo.addItems(["test", "val", "train"])
        form.addRow("Labeled frames of split", self.split_combo)
        outer.addLayout(form)

        bar = QHBoxLayout()
        self.compare_button = QPushButton("Compare")
        self.compare_button.clicked.connect(self._start_from_form)
        self.status_label = QLabel("Choose two checkpoints.")
        self.status_label.setWordWrap(True)
        bar.addWidget(self.compare_button)
        bar.addWidget(self.status_label, 1)
        outer.addLayout(bar)

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["metric", "A", "B", "B − A"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        outer.addWidget(self.table, 1)

    def _picker(self, known: list[str], index: int) -> tuple[QComboBox, QWidget]:
        combo = QComboBox()
        combo.setEditable(True)
        combo.addItems(known)
        if known:
            combo.setCurrentIndex(min(index, len(known) - 1))
        button = QPushButton("Browse…")

        def browse() -> None:
            path, _ = QFileDialog.getOpenFileName(self, "Checkpoint", str(self.project.folder),
                                                  "Checkpoints (*.pt *.pth);;All files (*)")
            if path:
                combo.setEditText(path)

        button.clicked.connect(browse)
        w = QWidget()
        lay = QHBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(combo, 1)
        lay.addWidget(button)
        return combo, w

    def _start_from_form(self) -> None:
        self.compare(self.combo_a.currentText().strip(), self.combo_b.currentText().strip(),
                     self.split_combo.currentText())

    def compare(self, checkpoint_a: str, checkpoint_b: str, split: str = "test") -> bool:
        """Start evaluating both checkpoints in the worker; False (with a message) if it cannot start."""
        if self.worker is not None and self.worker.isRunning():
            return False
        for label, c in (("A", checkpoint_a), ("B", checkpoint_b)):
            if not c or not Path(c).is_file():
                self._show_error(f"checkpoint {label} ({c or 'none chosen'}) is not a file; pick an existing .pt")
                return False
        self.table.setRowCount(0)
        self.compare_button.setEnabled(False)
        self.status_label.setStyleSheet("")
        self.status_label.setText("Evaluating A…")
        # The runner keeps the worker alive even if this dialog is closed and deleted mid-evaluation.
        self.worker = self.tasks.run("compare", _evaluate_all, str(self.project.folder), [checkpoint_a, checkpoint_b],
                                     split, self.evaluate_fn or _default_evaluate, label="comparing checkpoints",
                                     on_done=self._done)
        self.worker.progress.connect(lambda i, _n: self.status_label.setText(f"Evaluating {'AB'[min(i, 1)]}…"))
        self.worker.failed.connect(self._show_error)
        self.worker.finished.connect(lambda: self.compare_button.setEnabled(True))
        return True

    def _show_error(self, message: str) -> None:
        self.status_label.setText(f"Cannot compare: {message}")
        self.status_label.setStyleSheet("color: #e05050;")

    def _joint_names(self) -> tuple[str, ...]:
        return tuple(self.project.skeleton.joints)

    def _done(self, results: list[dict]) -> None:
        a, b = results
        self.rows = comparison_rows(a, b, self._joint_names())
        self.table.setRowCount(len(self.rows))
        for r, (name, va, vb, diff) in enumerate(self.rows):
            self.table.setItem(r, 0, QTableWidgetItem(name))
            for c, v in ((1, va), (2, vb)):
                self.table.setItem(r, c, QTableWidgetItem(_fmt(v)))
            item = QTableWidgetItem("" if diff is None else f"{diff:+.4f}".rstrip("0").rstrip("."))
            lower_better = "loss" in name.lower() or "error" in name.lower()
            if diff is not None and diff != 0 and not name.startswith("n_"):
                better = (diff < 0) if lower_better else (diff > 0)
                item.setForeground(QColor(60, 170, 80) if better else QColor(210, 70, 70))
            self.table.setItem(r, 3, item)
        self.status_label.setText("Done: B − A in green where B is better.")
        self.compared.emit(self.rows)


def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if float(v).is_integer() and abs(v) >= 1:
        return str(int(v))
    return f"{v:.4f}"
