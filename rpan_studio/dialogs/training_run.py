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
           "clean_console", "whole", "current_checkpoint_label", "MODEL_PRESETS", "TRAINS", "preset_geometry",
           "strides_for", "trains_for", "TrainingData", "training_data", "training_data_summary",
           "training_data_notes", "checkpoint_model"]

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


#: The model presets the Train dialog offers (rpan_core.model.presets), in its order, with what each is for.
MODEL_PRESETS: dict[str, str] = {
    "labeling": "labeling: real videos from a few keyframes (poses only, minutes on a CPU)",
    "demo": "demo: small CNN for synthetic clips (trains from scratch on a CPU)",
    "pennaction": "paper, PennAction: MobileNetV2 (ImageNet), 270x480 frames",
    "subjhmdb": "paper, Sub-JHMDB: MobileNetV2 (ImageNet), 240x320 frames",
}

#: What trains: the dialog's choice -> its meaning (mapped to TrainConfig options by :func:`train_command`).
TRAINS: dict[str, str] = {
    "all": "whole network",
    "neck_head": "neck + head (the ImageNet trunk stays frozen; its features are cached)",
    "neck_head_trunk32": "neck + head + the trunk's last stage (a tenth of the learning rate; better on camera "
                         "views the keyframes do not show)",
    "head": "head only: attention + LSTM (the backbone stays frozen)",
    "stages:stem": "all but the backbone's stem (frozen)",
    "stages:partial": "all but the backbone's first half (frozen)",
}


def preset_geometry(name: str) -> tuple[tuple[int, int], int]:
    """(input size H x W, feature stride) of a model preset."""
    from rpan_core.model.presets import PRESETS

    d = PRESETS[name]
    return tuple(d["input_size"]), int(d["backbone_stride"])  # type: ignore[return-value]


def strides_for(preset: str | None) -> tuple[int, ...]:
    """The feature strides a preset's backbone gives (the labeling pyramid: 4 or 8; the others 8-32)."""
    return (4, 8) if preset == "labeling" else (8, 16, 32)


def trains_for(preset: str | None, scratch: bool, stream: str = "rgb") -> list[str]:
    """The "what trains" choices that make sense (:data:`TRAINS` keys), the default first.

    The labeling recipe caches its frozen ImageNet trunk, so only the neck and head (or the head alone)
    train; a random backbone (the demo preset from scratch) is not worth freezing; the flow stream trains
    its backbone (its cubes are not cached).
    """
    if preset == "labeling":
        return ["neck_head", "neck_head_trunk32", "head"]
    if preset == "demo" and scratch:
        return ["all"]
    out = ["all", "head", "stages:stem", "stages:partial"]
    return [t for t in out if t != "head"] if stream == "flow" else out


@dataclass
class TrainingOptions:
    """What the dialog's form says; turned into `rpan train` arguments by :func:`train_command`."""

    project: Path
    run_dir: Path
    init: str | None = None  # a checkpoint path, or None = from scratch
    epochs: int = 10
    lr: float = 0.01
    freeze_backbone: bool = False  # the same as trains="head"
    device: str = "auto"  # auto | cpu | cuda
    stream: str = "rgb"  # rgb | flow (two-stream: the temporal stream on stacked optical flow)
    extra_args: list[str] = field(default_factory=list)
    model_preset: str | None = None  # None: the starting checkpoint's model (or the engine's default)
    input_size: tuple[int, int] | None = None  # None: the model's own
    backbone_stride: int | None = None  # None: the model's own
    trains: str = "all"  # a TRAINS key
    minutes: float | None = None  # a time budget (the labeling recipe needs one)
    flip_test: bool = False  # the labeling model reads each frame with its mirror image too (--flip-test)
    between: int = 0  # the labeling model also learns from frames between keyframes, poses interpolated (--between)


def train_command(opts: TrainingOptions, trainer: Sequence[str] = DEFAULT_TRAINER) -> list[str]:
    """The full argv for one run (program first). Pure, so it is tested on its own.

    The dialog's model choices map to `rpan train` options (rpan_core.engine.config.TrainConfig): the
    preset to ``--model-preset`` (``labeling`` runs the few-keyframe trainer, rpan_core.keyframes, with a
    ``--minutes`` budget), input size and resolution to ``--input-size`` / ``--backbone-stride``, and what
    trains to ``--freeze-backbone`` (head only) or ``--freeze-stages stem|partial``.
    """
    head_only = opts.freeze_backbone or opts.trains == "head"
    if opts.trains not in TRAINS:
        raise TrainingError(f"unknown choice of what trains {opts.trains!r}; choose one of {', '.join(TRAINS)}")
    if opts.model_preset is not None and opts.model_preset not in MODEL_PRESETS:
        raise TrainingError(f"unknown model preset {opts.model_preset!r}; choose one of {', '.join(MODEL_PRESETS)}")
    if not opts.lr > 0:
        raise TrainingError(f"learning rate must be positive (got {opts.lr}); enter e.g. 0.01")
    if opts.device not in ("auto", "cpu", "cuda"):
        raise TrainingError(f"unknown device {opts.device!r}; choose auto, cpu or cuda")
    if opts.stream not in ("rgb", "flow"):
        raise TrainingError(f"unknown stream {opts.stream!r}; choose rgb or flow")
    if opts.minutes is not None and not opts.minutes > 0:
        raise TrainingError(f"the time budget must be positive (got {opts.minutes} min)")
    if opts.backbone_stride is not None and opts.backbone_stride not in strides_for(opts.model_preset):
        raise TrainingError(f"a stride of {opts.backbone_stride} px is not offered by this model; choose "
                            f"{' or '.join(map(str, strides_for(opts.model_preset)))}")
    base = list(trainer) + ["--project", str(opts.project), "--run-dir", str(opts.run_dir)]
    geometry: list[str] = []
    if opts.input_size is not None:
        h, w = (int(v) for v in opts.input_size)
        if h < 32 or w < 32:
            raise TrainingError(f"input size {h}x{w} is too small; give at least 32x32 (height x width)")
        geometry += ["--input-size", f"{h}x{w}"]
    if opts.backbone_stride is not None:
        geometry += ["--backbone-stride", str(int(opts.backbone_stride))]
    if opts.model_preset == "labeling":
        if opts.stream != "rgb":
            raise TrainingError("the labeling recipe trains on RGB frames; choose the RGB stream")
        if opts.trains not in ("neck_head", "neck_head_trunk32", "head"):
            raise TrainingError("the labeling recipe keeps its ImageNet trunk frozen (its features are cached), "
                                "but for its last stage; choose neck + head, with the trunk's last stage, or head "
                                "only")
        if opts.minutes is None:
            raise TrainingError("the labeling recipe trains for a time budget; give the minutes")
        argv = base + ["--model-preset", "labeling", "--minutes", f"{float(opts.minutes):g}",
                       "--lr", repr(float(opts.lr))] + geometry
        if opts.init:
            argv += ["--init", str(opts.init)]
        if head_only:
            argv.append("--freeze-backbone")
        if opts.trains == "neck_head_trunk32":
            argv += ["--train-trunk", "32"]
        if opts.flip_test:
            argv.append("--flip-test")
        if opts.between:
            argv += ["--between", str(int(opts.between))]
        return argv + list(opts.extra_args)
    if opts.trains in ("neck_head", "neck_head_trunk32"):
        raise TrainingError("only the labeling model has a neck between a frozen trunk and the head; choose "
                            "whole network, head only or frozen stages")
    if opts.flip_test:
        raise TrainingError("reading each frame with its mirror image is an option of the labeling model; "
                            "choose the labeling preset or untick it")
    if opts.between:
        raise TrainingError("learning from frames between keyframes is an option of the labeling model; "
                            "choose the labeling preset or set it to keyframes only")
    if opts.epochs < 1:
        raise TrainingError(f"epochs must be at least 1 (got {opts.epochs}); set a positive number of epochs")
    if opts.stream == "flow" and head_only:
        raise TrainingError("the flow stream trains its backbone (its cubes are not cached); untick freeze backbone")
    if opts.init and opts.model_preset:
        raise TrainingError(f"a checkpoint fixes its own model: start a new {opts.model_preset} model from scratch, "
                            "or keep the starting checkpoint's model")
    argv = base + ["--epochs", str(int(opts.epochs)), "--lr", repr(float(opts.lr))]
    if opts.init:
        argv += ["--init", str(opts.init)]
    if opts.model_preset:
        argv += ["--model-preset", opts.model_preset]
    argv += geometry
    if head_only:
        argv.append("--freeze-backbone")
    elif opts.trains.startswith("stages:"):
        argv += ["--freeze-stages", opts.trains.split(":", 1)[1]]
    if opts.minutes is not None:
        argv += ["--minutes", f"{float(opts.minutes):g}"]
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




@dataclass
class TrainingData:
    """What a run will learn from and validate on, counted the way the trainers count it."""

    frames: int = 0  # labeled frames of the training split (any person)
    videos: int = 0  # training videos with labeled frames or an action
    persons: int = 0  # persons with labeled frames in those videos
    actions: int = 0  # training videos with an action label
    val_split: str = "test"
    val_frames: int = 0
    held_out: int = 0  # frames the engine holds out when the validation split has no labels


def training_data(project: Any, recipe: str = "engine", holdout: float = 0.1) -> TrainingData:
    """Count the labels a run uses: the ``train`` split learns; ``val`` (else ``test``) validates; without
    validation labels the engine (``recipe="engine"``) holds out ``holdout`` of each training video's labeled
    frames (:func:`rpan_core.model_card.held_out_count`), the few-keyframe recipe holds out none."""
    from rpan_core.model_card import held_out_count

    videos = project.videos()
    splits = {v.split for v in videos}
    d = TrainingData(val_split="val" if "val" in splits else "test")
    counts = []
    for v in videos:
        n = len(project.labeled_frames(v.id, person=None))
        if v.split == d.val_split or (recipe == "keyframes" and v.split in ("val", "test")):
            d.val_frames += n
        if v.split != "train" or (n == 0 and not v.action):
            continue
        d.frames += n
        d.videos += 1
        d.actions += bool(v.action)
        d.persons += sum(1 for p in project.persons(v.id) if project.labeled_frames(v.id, person=p.id))
        counts.append(n)
    if recipe == "engine" and d.val_frames == 0:
        d.held_out = sum(held_out_count(n, holdout) for n in counts)
    return d


def _n(k: int, word: str) -> str:
    return f"{k} {word}{'' if k == 1 else 's'}"


def training_data_summary(d: TrainingData, recipe: str = "engine") -> str:
    """The Train dialog's plain account of what the run learns from and how it is validated."""
    learn = d.frames - d.held_out
    text = (f"Learns from {_n(learn, 'labeled frame')} in {_n(d.videos, 'video')} ({_n(d.persons, 'person')}) of "
            f"the 'train' split")
    if recipe == "keyframes":
        text += "; poses only (the labeling model has no action classes)."
    elif d.actions:
        text += f"; {d.actions} of {d.videos} with an action label."
    else:
        text += "; poses only (no video has an action)."
    if d.val_frames:
        where = "'val' or 'test' splits" if recipe == "keyframes" else f"'{d.val_split}' split"
        text += f" Validates on {_n(d.val_frames, 'labeled frame')} of the {where} and keeps the best as best.pt."
    elif d.held_out:
        text += f" ({_n(d.held_out, 'more labeled frame')} held out to validate: see the note below.)"
    return text


def training_data_notes(project: Any, recipe: str = "engine", data: TrainingData | None = None) -> list[str]:
    """What the Train dialog must say before a run about the project's labels: no validation labels (the
    validation plot will stay empty unless the engine holds frames out), no action on any video (the action
    loss is 0: pose-only training)."""
    d = data if data is not None else training_data(project, recipe)
    notes = []
    if not d.val_frames and not d.held_out:
        notes.append(f"No validation labels: no video in the '{d.val_split}' split has labeled frames, so the "
                     f"validation plot stays empty and last.pt is the result. Put a labeled video in the "
                     f"'{d.val_split}' split to see validation curves.")
    elif not d.val_frames:
        notes.append(f"No validation labels in the '{d.val_split}' split: {_n(d.held_out, 'labeled frame')} of "
                     f"the training videos {'is' if d.held_out == 1 else 'are'} held out instead, to validate and "
                     "choose best.pt; the validation curves show them.")
    if recipe == "keyframes":
        pass  # the labeling model is pose-only by design: nothing to warn about
    elif not any(v.action for v in project.videos()):
        notes.append("No video has an action: the action loss is 0 and this run trains poses only "
                     "(Edit > Set video action to train actions too).")
    return notes


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


_MODELS: dict[tuple[str, int, int], tuple[str | None, tuple[int, int] | None, int | None]] = {}


def checkpoint_model(path: str | os.PathLike | None) -> tuple[str | None, tuple[int, int] | None, int | None]:
    """(preset, input size, stride) of a checkpoint's model, from its card and config (None where unknown);
    cached by path, size and mtime."""
    if not path:
        return None, None, None
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return None, None, None
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _MODELS:
        from rpan_core.checkpoint import read_checkpoint
        from rpan_core.errors import RPANError

        try:
            info = read_checkpoint(p)[1]
        except RPANError:
            _MODELS[key] = (None, None, None)
        else:
            cfg, card = info.config, info.card
            name = (card.preset if card is not None and card.preset else None)
            if name is None and getattr(cfg, "backbone", "") == "mobilenet_v2_fpn":
                name = "labeling"
            _MODELS[key] = (name if name in MODEL_PRESETS else None, tuple(cfg.input_size),
                            int(cfg.backbone_stride) if getattr(cfg, "backbone_stride", None) else None)
    return _MODELS[key]
