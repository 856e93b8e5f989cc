"""The resume state of a run (``trainer_state.pt``): written atomically, read without running code.

Why it is restricted to tensors and plain values: a run folder can come from someone
else (a shared project's ``runs/``), and the studio's Resume button runs
``rpan train --resume`` on it. ``torch.load`` with ``weights_only=False`` would unpickle
(and so run) whatever the file holds; with ``weights_only=True`` only tensors and plain
containers load. So everything saved here is a tensor, a number, a string, a list or a
dict (the RNG states are byte tensors; the scheduler's milestone ``Counter`` is stored
as a plain dict), and anything else in the file is refused with one line.
"""

from __future__ import annotations

import collections
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rpan_core.errors import TrainingError

STATE_FILE = "trainer_state.pt"


@dataclass
class RunState:
    """Where a run stands: the next batch to train (``epoch``, ``batch_in_epoch``) after ``step`` steps."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best: dict[str, Any] = field(default_factory=lambda: {"score": float("-inf")})
    elapsed_s: float = 0.0


def _plain_scheduler(sd: dict) -> dict:
    sd = dict(sd)
    if isinstance(sd.get("milestones"), collections.Counter):
        sd["milestones"] = {int(k): int(v) for k, v in sd["milestones"].items()}
    return sd


def save_state(path: Path, *, model: Any, opt: Any, sched: Any, scaler: Any | None, state: RunState) -> None:
    """Write the resume state atomically (temp file, fsync, rename; the temp removed on any error)."""
    import torch

    from rpan_core.atomic import save_with

    payload = {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
               "optimizer": opt.state_dict(), "scheduler": _plain_scheduler(sched.state_dict()),
               "scaler": scaler.state_dict() if scaler is not None else None,
               "torch_rng": torch.get_rng_state(),
               "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
               **asdict(state)}
    save_with(path, lambda fh: torch.save(payload, fh))


def load_state(path: Path) -> dict[str, Any]:
    """The saved resume state, loaded with ``weights_only=True``; a bad or unsafe file is a TrainingError."""
    import torch

    run = path.parent
    if not path.exists():
        raise TrainingError(f"cannot resume {run}: no {STATE_FILE} (the run stopped before its first checkpoint); "
                            "start a new run instead")
    try:
        st = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (torch raises many types; an unpickling refusal among them)
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise TrainingError(f"cannot resume {run}: {STATE_FILE} is damaged or holds something other than "
                            f"tensors and plain values, so it was not loaded ({first}); start a new run, "
                            f"or fine-tune from its last.pt with --init") from exc
    need = ("model", "optimizer", "scheduler", "torch_rng", "step", "epoch", "batch_in_epoch")
    if not isinstance(st, dict) or any(k not in st for k in need):
        raise TrainingError(f"cannot resume {run}: {STATE_FILE} is not a trainer state of this version; start a new "
                            "run, or fine-tune from its last.pt with --init")
    return st


def restore(st: dict[str, Any], *, model: Any, opt: Any, sched: Any, scaler: Any | None) -> RunState:
    """Put a loaded state back into the model, optimizer, scheduler, scaler and RNGs; return the position."""
    import torch

    model.load_state_dict(st["model"])
    opt.load_state_dict(st["optimizer"])
    sd = dict(st["scheduler"])
    if isinstance(sd.get("milestones"), dict):
        sd["milestones"] = collections.Counter({int(k): int(v) for k, v in sd["milestones"].items()})
    sched.load_state_dict(sd)
    if st.get("scaler") and scaler is not None:
        scaler.load_state_dict(st["scaler"])
    torch.set_rng_state(st["torch_rng"])
    if st.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda_rng"])
    best = st.get("best") if isinstance(st.get("best"), dict) else {"score": float("-inf")}
    return RunState(step=int(st["step"]), epoch=int(st["epoch"]), batch_in_epoch=int(st["batch_in_epoch"]),
                    best=best, elapsed_s=float(st.get("elapsed_s", 0.0)))


def remove_leftovers(run_dir: Path) -> list[Path]:
    """Temp files of saves a killed run left behind (they can hold gigabytes of a full disk)."""
    from rpan_core.atomic import remove_orphans

    return remove_orphans(run_dir) if run_dir is not None and os.path.isdir(run_dir) else []


def remove_own_temps(run_dir: Path | None) -> list[Path]:
    """Temp files THIS process left in the run folder when a save failed (a writer that raised before its
    own clean-up, e.g. torch reporting a full disk as a RuntimeError): once the run has failed they are
    garbage, and on a full disk they keep it full."""
    import re

    from rpan_core.atomic import TMP_TAG

    if run_dir is None or not os.path.isdir(run_dir):
        return []
    pid = os.getpid()
    mine = re.compile(rf"(\.tmp{pid}(-\d+)?(\.\w+)?|{re.escape(TMP_TAG)}{pid}-\d+)$")
    removed = []
    for p in Path(run_dir).iterdir():
        if p.is_file() and mine.search(p.name):
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


__all__ = ["RunState", "STATE_FILE", "save_state", "load_state", "restore", "remove_leftovers", "remove_own_temps"]
