"""What happens around the training steps: events, TensorBoard, progress, checkpoints, best model, stop.

Why hooks: the loop itself is a few lines (draw a batch, step, tell the hooks); every
side effect a run has lives here, one class each, called in list order at the start,
after each step, after each epoch's validation, and when the run closes. A new side
effect is a new hook, not another branch in the loop.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING, Any, Callable

from rpan_core.engine.state import save_state
from rpan_core.engine.validate import score

if TYPE_CHECKING:
    from rpan_core.engine.loop import Trainer


class Hook:
    """Does nothing; subclasses override what they need."""

    def on_start(self, run: "Trainer") -> None: ...

    def on_step(self, run: "Trainer", ev: dict[str, Any]) -> None: ...

    def on_epoch(self, run: "Trainer", metrics: dict[str, Any]) -> None: ...

    def close(self, run: "Trainer") -> None: ...


class EventLogHook(Hook):
    """``start``, ``step`` and ``epoch`` lines of ``events.jsonl`` (the ``end`` line is the run's own)."""

    def on_start(self, run: "Trainer") -> None:
        if run.log is not None:
            run.log.write("start", **run.start_info)

    def on_step(self, run: "Trainer", ev: dict[str, Any]) -> None:
        if not math.isfinite(ev["loss"]):
            from rpan_core.errors import TrainingError

            raise TrainingError(f"the loss became {ev['loss']} at step {ev['step']}; lower --lr (now {run.tc.lr}) "
                                "or check the labels")
        if run.log is not None:
            run.log.write("step", **ev)

    def on_epoch(self, run: "Trainer", metrics: dict[str, Any]) -> None:
        if run.log is not None:
            run.log.write("epoch", step=run.state.step, **metrics)


class TensorBoardHook(Hook):
    """Scalars under ``RUN/tb`` when TensorBoard is installed (silently nothing otherwise)."""

    KEYS = ("loss", "action_loss", "pose_loss", "lr", "clips_per_s")

    def __init__(self) -> None:
        self.tb: Any = None

    def on_start(self, run: "Trainer") -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(run.run_dir / "tb"))
        except Exception:  # noqa: BLE001 (tensorboard not installed)
            self.tb = None

    def on_step(self, run: "Trainer", ev: dict[str, Any]) -> None:
        if self.tb is not None:
            for k in self.KEYS:
                self.tb.add_scalar(f"train/{k}", ev[k], ev["step"])

    def on_epoch(self, run: "Trainer", metrics: dict[str, Any]) -> None:
        if self.tb is not None:
            for k, v in metrics.items():
                if isinstance(v, (int, float)):
                    self.tb.add_scalar(f"val/{k}", v, run.state.step)

    def close(self, run: "Trainer") -> None:
        if self.tb is not None:
            self.tb.close()


class ProgressHook(Hook):
    """A tqdm bar on stderr (the command line's view of the same events the studio follows)."""

    def __init__(self) -> None:
        self.bar: Any = None

    def on_start(self, run: "Trainer") -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=run.total_steps, initial=run.state.step, desc="train", unit="step",
                        disable=not (run.progress and run.main), file=sys.stderr)

    def on_step(self, run: "Trainer", ev: dict[str, Any]) -> None:
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{ev['loss']:.3f}", lr=f"{ev['lr']:.3g}")

    def close(self, run: "Trainer") -> None:
        if self.bar is not None:
            self.bar.close()


class CallbackHook(Hook):
    """Calls ``fn(trainer, step)`` after every step (tests and embedding programs stop runs with it)."""

    def __init__(self, fn: Callable[["Trainer", int], None]) -> None:
        self.fn = fn

    def on_step(self, run: "Trainer", ev: dict[str, Any]) -> None:
        self.fn(run, ev["step"])


class DistributedStopHook(Hook):
    """All ranks stop (SIGTERM) and end (time budget spent) together, else DDP would hang in the next all-reduce."""

    def on_step(self, run: "Trainer", ev: dict[str, Any]) -> None:
        if run.world == 1:
            return
        import torch
        import torch.distributed as dist

        flags = torch.tensor([1.0 if run.stop_reason else 0.0, 1.0 if run.done else 0.0])
        if dist.get_backend() == "nccl":
            flags = flags.to(run.device)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        if float(flags[0]) > 0 and not run.stop_reason:
            run.stop_reason = "cancelled (another rank got SIGTERM)"
        run.done = float(flags[1]) > 0


class BestModelHook(Hook):
    """``best.pt``: the epoch whose validation score (:func:`score`) is the highest so far.

    Written BEFORE the resume state that records it, so a kill while it is written
    leaves a state that does not claim it: the resumed run redoes the epoch and writes it.
    """

    def on_epoch(self, run: "Trainer", metrics: dict[str, Any]) -> None:
        s = score(metrics, run.best_by)
        if s is not None and s > run.state.best.get("score", -math.inf):
            run.state.best = {"score": s, "epoch": metrics.get("epoch"), "step": run.state.step}
            if run.main:
                run.save_checkpoint("best.pt", metrics)


class CheckpointHook(Hook):
    """``trainer_state.pt`` then ``last.pt``: at every epoch end, or with ``save_every_min`` once that many
    minutes have passed (at an epoch end or mid-epoch); always at the run's end (validated like an epoch end),
    on a stop, and when ``best.pt`` improved (so the state never lags behind it); and every
    ``checkpoint_every`` steps. A mid-epoch save records the next batch, so a resume continues exactly."""

    def __init__(self) -> None:
        self.metrics: dict[str, Any] = {}
        self.saved_at = time.time()

    def _due(self, run: "Trainer") -> bool:
        minutes = run.tc.save_every_min
        return bool(minutes) and time.time() - self.saved_at >= 60.0 * float(minutes)

    def on_step(self, run: "Trainer", ev: dict[str, Any]) -> None:
        every = run.tc.checkpoint_every and run.state.step % run.tc.checkpoint_every == 0
        mid_epoch = run.state.batch_in_epoch != 0
        if run.stop_reason or ((every or self._due(run)) and mid_epoch):  # the end is saved after validation
            self.save(run)

    def on_epoch(self, run: "Trainer", metrics: dict[str, Any]) -> None:
        self.metrics = metrics
        improved = run.state.best.get("step") == run.state.step
        if not run.tc.save_every_min or run.done or improved or self._due(run):
            self.save(run)

    def save(self, run: "Trainer") -> None:
        self.saved_at = time.time()
        if not run.main:
            return
        run.state.elapsed_s = time.time() - run.t_start
        save_state(run.run_dir / "trainer_state.pt", model=run.model, opt=run.opt, sched=run.sched,
                   scaler=run.scaler if run.use_amp else None, state=run.state)
        run.save_checkpoint("last.pt", self.metrics)


def default_hooks(run: "Trainer") -> list[Hook]:
    hooks: list[Hook] = [EventLogHook()]
    if run.main and run.tc.tensorboard:
        hooks.append(TensorBoardHook())
    hooks.append(ProgressHook())
    if run.on_step is not None:
        hooks.append(CallbackHook(run.on_step))
    hooks += [DistributedStopHook(), BestModelHook(), CheckpointHook()]
    return hooks


__all__ = ["Hook", "EventLogHook", "TensorBoardHook", "ProgressHook", "CallbackHook", "DistributedStopHook",
           "BestModelHook", "CheckpointHook", "default_hooks"]
