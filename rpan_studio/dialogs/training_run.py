"""What the training dialog runs and reads: the `rpan train` command line and the events log follower.

Why apart from the dialog: these have no widgets of their own (the events
follower is a QObject with a file watcher), and the dialog is easier to read as
layout and run control only. See :mod:`rpan_studio.dialogs.training` for why
training is a separate process followed through ``events.jsonl``.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pyqtgraph as pg
from PyQt6.QtCore import QFileSystemWatcher, QObject, QTimer, pyqtSignal

from rpan_core.errors import TrainingError

__all__ = ["DEFAULT_TRAINER", "EventFollower", "IntegerAxis", "TrainingOptions", "format_duration", "train_command",
           "clean_console", "whole",
           "current_checkpoint_label"]

# The command a user would type, minus its options.
DEFAULT_TRAINER: tuple[str, ...] = (sys.executable, "-m", "rpan_core.cli", "train")

INIT_DEMO = "demo"
INIT_CHECKPOINT = "checkpoint"
INIT_SCRATCH = "scratch"


def format_duration(seconds: float | None) -> str:
    """``75`` -> ``'1:15'``, ``3725`` -> ``'1:02:05'``; None or negative -> ``'--'``."""
    if seconds is None or seconds != seconds or seconds < 0 or seconds == float("inf"):
        return "--"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


@dataclass
class TrainingOptions:
    """What the dialog's form says; turned into `rpan train` arguments by :func:`train_command`."""

    project: Path
    run_dir: Path
    init: str | None = None  # a checkpoint path, or None = from scratch
    epochs: int = 10
    lr: float = 0.01
    freeze_backbone: bool = False
    device: str = "auto"  # auto | cpu | cuda
    stream: str = "rgb"  # rgb | flow (two-stream: the temporal stream on stacked optical flow)
    extra_args: list[str] = field(default_factory=list)


def train_command(opts: TrainingOptions, trainer: Sequence[str] = DEFAULT_TRAINER) -> list[str]:
    """The full argv for one run (program first). Pure, so it is tested on its own."""
    if opts.epochs < 1:
        raise TrainingError(f"epochs must be at least 1 (got {opts.epochs}); set a positive number of epochs")
    if not opts.lr > 0:
        raise TrainingError(f"learning rate must be positive (got {opts.lr}); enter e.g. 0.01")
    if opts.device not in ("auto", "cpu", "cuda"):
        raise TrainingError(f"unknown device {opts.device!r}; choose auto, cpu or cuda")
    if opts.stream not in ("rgb", "flow"):
        raise TrainingError(f"unknown stream {opts.stream!r}; choose rgb or flow")
    if opts.stream == "flow" and opts.freeze_backbone:
        raise TrainingError("the flow stream trains its backbone (its cubes are not cached); untick freeze backbone")
    argv = list(trainer) + [
        "--project", str(opts.project),
        "--run-dir", str(opts.run_dir),
        "--epochs", str(int(opts.epochs)),
        "--lr", repr(float(opts.lr)),
    ]
    if opts.init:
        argv += ["--init", str(opts.init)]
    if opts.freeze_backbone:
        argv.append("--freeze-backbone")
    if opts.device != "auto":
        argv += ["--device", opts.device]
    if opts.stream != "rgb":
        argv += ["--stream", opts.stream]
    argv += list(opts.extra_args)
    return argv


class EventFollower(QObject):
    """Follows an append-only JSON-lines file and emits each new complete line as a dict.

    Reads incrementally from the last offset (never re-reads the file), keeps a
    trailing partial line until its newline arrives, and skips lines that are not
    JSON objects (counted in :attr:`bad_lines`). The file may not exist yet: the
    follower watches its folder (or the nearest existing parent) until it does.
    """

    events = pyqtSignal(list)  # list[dict], in file order, one emission per read

    def __init__(self, path: str | os.PathLike, poll_ms: int = 250, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.offset = 0
        self.bad_lines = 0
        self._partial = b""
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._changed)
        self._watcher.directoryChanged.connect(self._changed)
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)

    def start(self) -> None:
        self._watch()
        self._timer.start()
        self.poll()

    def stop(self) -> None:
        """Stop watching after one last read (so nothing written before the stop is lost)."""
        self._timer.stop()
        self.poll()
        files, dirs = self._watcher.files(), self._watcher.directories()
        if files:
            self._watcher.removePaths(files)
        if dirs:
            self._watcher.removePaths(dirs)

    def _watch(self) -> None:
        if self.path.exists():
            if str(self.path) not in self._watcher.files():
                self._watcher.addPath(str(self.path))
            return
        d = self.path.parent
        while not d.exists() and d != d.parent:
            d = d.parent
        if str(d) not in self._watcher.directories():
            self._watcher.addPath(str(d))

    def _changed(self, _path: str) -> None:
        self._watch()
        self.poll()

    def read_new(self) -> list[dict[str, Any]]:
        """Read what was appended since the last call; return the complete events."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        if not data:
            return []
        self.offset += len(data)
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        out: list[dict[str, Any]] = []
        for raw in lines:
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                self.bad_lines += 1
                continue
            if isinstance(obj, dict):
                out.append(obj)
            else:
                self.bad_lines += 1
        return out

    def poll(self) -> None:
        if not self._watcher.files():
            self._watch()
        evs = self.read_new()
        if evs:
            self.events.emit(evs)


def whole(v: Any) -> Any:
    """12.0 -> 12 for display; anything else unchanged."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def clean_console(text: str, max_lines: int = 40) -> str:
    """Terminal output -> readable text: keep what a carriage return left visible, drop blank lines."""
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.split("\r")[-1].rstrip()
        if line:
            lines.append(line)
    return "\n".join(lines[-max_lines:])


class IntegerAxis(pg.AxisItem):
    """An axis that labels whole numbers only (epochs and steps have no 2.5)."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802,N803 (pyqtgraph API)
        out = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            whole = [v for v in values if abs(v - round(v)) < 1e-6]
            if whole:
                out.append((max(spacing, 1.0), whole))
        return out




def current_checkpoint_label(path: str | None, origin: str | None) -> str:
    """The "start from" choice for the studio's current checkpoint, saying which one it is and where it came from.

    Only a checkpoint that came from the demo is called the demo checkpoint.
    """
    if not path:
        return "Current checkpoint (none chosen)"
    p = Path(path)
    if origin == "demo":
        return f"Demo checkpoint ({p.name})"
    name = f"{p.parent.name}/{p.name}" if p.parent.name else p.name
    return f"Current checkpoint: {name}" + (f" ({origin})" if origin else "")
