"""Run folders and the append-only events log of a training run.

The studio follows ``events.jsonl`` while the trainer writes it (another process),
so every event is one complete JSON object on one line, written with a single
``write`` and flushed (and fsync'ed for the ``end`` event) before the trainer moves
on. A reader never sees half an object, only whole lines or nothing.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None  # JSON has no NaN/inf; readers skip None
    if hasattr(v, "item") and callable(v.item) and getattr(v, "ndim", 1) == 0:
        return _jsonable(v.item())
    return v


class EventLog:
    """Appends events to ``path`` (JSON lines). ``enabled=False`` (non-zero DDP ranks) drops them."""

    def __init__(self, path: str | os.PathLike, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self._fh = None
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")

    def write(self, type: str, **fields: Any) -> dict:  # noqa: A002 (the key is called type)
        ev = {"type": type, "time": time.time(), **fields}
        if self._fh is not None:
            self._fh.write(json.dumps(_jsonable(ev)) + "\n")
            self._fh.flush()
            if type == "end":
                try:
                    os.fsync(self._fh.fileno())
                except OSError:
                    pass
        return ev

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_events(path: str | os.PathLike) -> list[dict]:
    """All complete events of a log (a trailing partial line is ignored)."""
    out = []
    p = Path(path)
    if not p.exists():
        return out
    with open(p, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    break
    return out


def new_run_dir(runs_dir: str | os.PathLike, name: str | None = None) -> Path:
    """A fresh folder under ``runs_dir`` named by time (``run-20260101-120000``, then ``-2``...)."""
    base = Path(runs_dir)
    base.mkdir(parents=True, exist_ok=True)
    stem = name or time.strftime("run-%Y%m%d-%H%M%S")
    for k in range(1, 10_000):
        p = base / (stem if k == 1 else f"{stem}-{k}")
        try:
            p.mkdir()
            return p
        except FileExistsError:
            continue
    raise FileExistsError(f"no free run folder name under {base}")


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """``data`` as JSON, through :mod:`rpan_core.atomic` (no temp file survives a full disk)."""
    from rpan_core.atomic import write_text

    write_text(path, json.dumps(_jsonable(data), indent=2))
