"""The training loop: one run of ``rpan train``, from the project to ``last.pt``.

Why a run folder has the shape it has: the studio launches ``rpan train`` as a separate
process and follows its ``events.jsonl``; it cancels with SIGTERM and expects an ``end``
event and a ``last.pt`` afterwards. So every way a run can stop (finished, an error, a
full disk, SIGTERM) ends with an ``end`` event, and every user-facing failure is a
:class:`~rpan_core.errors.TrainingError` (or another ``RPANError``) whose message is
also printed on stderr.

Exact resume: the clip sampling and mirror flips of epoch ``e``, sample ``i`` are drawn
from ``seed, e, i`` and the batch order from the sampler's ``seed + epoch``, so restoring
model, optimizer, scheduler, AMP scaler, torch RNG and the position
(``trainer_state.pt``, :mod:`rpan_core.engine.state`) continues the very sequence of
batches the interrupted run would have trained on.

The parts: :mod:`~rpan_core.engine.config` (options), :mod:`~rpan_core.engine.build`
(the model), :mod:`~rpan_core.engine.data` (datasets and sampler),
:mod:`~rpan_core.engine.hooks` (everything around a step), and here the step itself
(:meth:`Trainer.train_step`) and the loop that calls it.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

from rpan_core.atomic import is_disk_full
from rpan_core.engine.config import LR_STEP_SHARE, TrainConfig
from rpan_core.engine.state import (STATE_FILE, RunState, load_state, remove_leftovers, remove_own_temps,
                                   restore)
from rpan_core.errors import ConfigError, RPANError, TrainingError
from rpan_core.runlog import EventLog, new_run_dir, write_json_atomic


def _dist_env() -> tuple[int, int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def _is_oom(exc: BaseException) -> bool:
    import torch

    oom = getattr(torch.cuda, "OutOfMemoryError", ())
    return bool((oom and isinstance(exc, oom)) or isinstance(exc, MemoryError) or
                (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()))


def _disk_full(exc: BaseException) -> bool:
    """A full disk, also when a writer wrapped the OSError in its own error."""
    while exc is not None:
        if is_disk_full(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class Trainer:
    """One run. ``run()`` returns the run folder; it always ends with an ``end`` event."""

    def __init__(self, tc: TrainConfig, progress: bool = True, resume: str | os.PathLike | None = None) -> None:
        self.progress = progress
        self.resume_dir = Path(resume) if resume else None
        if self.resume_dir is not None:
            tc = self._resumed_config(tc)
        self.tc = tc.resolved()
        if self.tc.project:  # absolute, so `--resume` works from any working directory
            self.tc.project = os.path.abspath(self.tc.project)
        if self.tc.init:
            self.tc.init = os.path.abspath(self.tc.init)
        self.rank, self.world, self.local_rank = _dist_env()
        self.main = self.rank == 0
        self.stop_reason: str | None = None
        self.log: EventLog | None = None
        self.run_dir: Path | None = None
        self.state = RunState()
        self.done = False
        self.device: Any = None
        #: called as ``on_step(trainer, step)`` after every optimizer step (tests, embedding)
        self.on_step: Callable[["Trainer", int], None] | None = None

    def _resumed_config(self, given: TrainConfig) -> TrainConfig:
        cfg_p = self.resume_dir / "config.json"
        if not cfg_p.exists():
            raise TrainingError(f"cannot resume {self.resume_dir}: it has no config.json; pass the folder of a "
                                "run started by `rpan train`")
        try:
            d = json.loads(cfg_p.read_text())["train"]
            saved = TrainConfig.from_dict(d)
            if "holdout" not in d:  # a run from before held-out frames: resume it on the same training labels
                saved.holdout = 0.0
        except (ValueError, KeyError, TypeError) as exc:
            raise TrainingError(f"cannot resume {self.resume_dir}: its config.json is damaged ({exc}); start a "
                                "new run") from exc
        if given.device:
            saved.device = given.device
        for name in ("max_steps", "minutes"):  # the only recipe fields a resume may change: where to stop
            if getattr(given, name):
                setattr(saved, name, getattr(given, name))
        saved.run_dir = str(self.resume_dir)
        return saved

    # ------------------------------------------------------------------ plumbing
    def _on_sigterm(self, signum: int, frame: Any) -> None:
        self.stop_reason = "cancelled (SIGTERM)"

    def say(self, msg: str) -> None:
        """A line on stderr and in the run's ``log.txt`` (rank 0 only)."""
        if self.main:
            print(f"rpan train: {msg}", file=sys.stderr, flush=True)
            if self.run_dir is not None:
                with open(self.run_dir / "log.txt", "a", encoding="utf-8") as fh:
                    fh.write(msg + "\n")

    def best_path_or_none(self) -> str | None:
        if self.run_dir is not None and (self.run_dir / "best.pt").exists():
            return str(self.run_dir / "best.pt")
        return None

    def save_checkpoint(self, name: str, metrics: dict[str, Any]) -> None:
        from rpan_core.checkpoint import save_checkpoint

        m = dict(metrics, step=self.state.step, epoch=self.state.epoch)
        save_checkpoint(self.run_dir / name, self.model, classes=self.classes, train_config=self.train_cfg, metrics=m)

    def run(self) -> Path:
        """Train to the end (or a stop); every outcome writes the ``end`` event."""
        import torch

        old = None
        try:
            old = signal.signal(signal.SIGTERM, self._on_sigterm)
        except ValueError:  # not the main thread
            pass
        try:
            try:
                self._setup_dirs()
                status, message = self._train()
            except BaseException as exc:  # noqa: BLE001 (every stop ends with an end event)
                if self.main:
                    remove_own_temps(self.run_dir)
                status, message, err = self._failure(exc)
                self._end(status, message)
                if err is not None:
                    raise err from exc
                raise
            self._end(status, message)
            self.say(f"{status}: {message} ({self.run_dir})")
            return self.run_dir
        finally:
            if old is not None:
                signal.signal(signal.SIGTERM, old)
            if self.log is not None:
                self.log.close()
            if self.world > 1 and torch.distributed.is_initialized():
                torch.distributed.destroy_process_group()

    def _failure(self, exc: BaseException) -> tuple[str, str, RPANError | None]:
        """(status, message, error to raise instead of ``exc`` or None) for an exception that ended the run."""
        tc = self.tc
        if isinstance(exc, KeyboardInterrupt):
            return "cancelled", "interrupted (Ctrl-C)", None
        if _disk_full(exc):
            msg = (f"the disk is full (writing in {self.run_dir or tc.project}); free some space, then continue "
                   f"with: rpan train --resume {self.run_dir}" if self.run_dir else
                   f"the disk is full (opening {tc.project}); free some space and start again")
            return "failed", msg, TrainingError(msg)
        if _is_oom(exc):
            msg = (f"out of memory with batch {tc.batch} x {tc.clip_len} frames on {self.device or '?'}; lower "
                   "--batch or --clip-len, use a smaller --input-size, or --freeze-backbone")
            return "failed", msg, TrainingError(msg)
        if isinstance(exc, RPANError):
            return "failed", str(exc), None
        if self.run_dir is not None and self.main:
            try:
                with open(self.run_dir / "log.txt", "a", encoding="utf-8") as fh:
                    fh.write(traceback.format_exc())
            except OSError:
                pass
        return "failed", f"{type(exc).__name__}: {exc}", None

    def _end(self, status: str, message: str) -> None:
        if self.log is None:
            return
        fields: dict[str, Any] = dict(status=status, message=message, step=self.state.step,
                                      best_checkpoint=self.best_path_or_none())
        if status != "failed" or (self.run_dir / "last.pt").exists():
            fields["last_checkpoint"] = str(self.run_dir / "last.pt")
        if status != "failed":
            fields["metrics"] = getattr(self, "last_metrics", {})
        fields["result"] = fields["best_checkpoint"] or fields.get("last_checkpoint")
        try:
            self.log.write("end", **fields)
        except OSError:  # a full disk may refuse even this line; the error itself still reaches the user
            pass

    def _setup_dirs(self) -> None:
        from rpan_core.project import Project

        tc = self.tc
        # a known run folder gets its events log first, so even a project that fails to open ends the log
        if self.resume_dir is not None:
            self.run_dir = self.resume_dir
        elif tc.run_dir:
            self.run_dir = Path(tc.run_dir)
            if self.main:
                self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.main and self.run_dir is not None:
            remove_leftovers(self.run_dir)
            self.log = EventLog(self.run_dir / "events.jsonl")
        if not tc.project:
            raise ConfigError("--project is required: the project folder to train on")
        try:
            self.project = Project.open(tc.project)
        except RPANError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise TrainingError(f"cannot open the project {tc.project}: {exc}") from exc
        if self.run_dir is None and self.main:  # other ranks learn the folder from rank 0 (_setup_distributed)
            self.run_dir = new_run_dir(self.project.runs_dir)
        tc.run_dir = str(self.run_dir) if self.run_dir else None
        if self.main and self.run_dir is not None and self.log is None:
            self.log = EventLog(self.run_dir / "events.jsonl")

    def _setup_device(self) -> None:
        import torch

        from rpan_core.device import pick_device

        tc = self.tc
        if self.world == 1:
            self.device = pick_device(None if tc.device in (None, "auto") else tc.device)
            return
        import torch.distributed as dist

        if not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() and (tc.device or "cuda").startswith("cuda") else "gloo"
            dist.init_process_group(backend)
        if torch.cuda.is_available() and (tc.device in (None, "cuda", "auto")):
            torch.cuda.set_device(self.local_rank)
            self.device = torch.device("cuda", self.local_rank)
        else:
            self.device = torch.device("cpu")
        obj = [str(self.run_dir) if self.run_dir else None]
        dist.broadcast_object_list(obj, src=0)
        if self.run_dir is None:
            self.run_dir = Path(obj[0])
            tc.run_dir = obj[0]

    # ------------------------------------------------------------------ setting up a run
    def _prepare(self) -> None:
        """Model, data, optimizer, resume state, config.json: everything before the first step."""
        import torch

        from rpan_core.engine.build import build_model, features_forward
        from rpan_core.engine.data import make_data

        tc = self.tc
        self.t_start = time.time()  # the --minutes budget covers what a user waits for: setup and caching too
        self._setup_device()
        torch.manual_seed(tc.seed)
        np.random.seed(tc.seed)
        self.model, self.classes, notes = build_model(tc, self.project, log=self.say)
        self.data = make_data(self, self.model)
        self.model.to(self.device)
        spe = self.data.steps_per_epoch
        self.epochs = math.ceil(tc.steps / spe) if tc.steps else tc.epochs
        self.total_steps = min(tc.steps or spe * tc.epochs, int(tc.max_steps or 1 << 62))
        self.opt, self.sched = self._optimizer(spe)
        notes.update(self._recipe_notes())
        self.use_amp = bool(tc.amp and self.device.type == "cuda")
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.train_cfg = dict(tc.to_dict(), stride=self.data.stride, val_split=self.data.val_split,
                              world_size=self.world, **self.data.info)
        if self.resume_dir is not None:
            self.state = restore(load_state(self.run_dir / STATE_FILE), model=self.model, opt=self.opt,
                                 sched=self.sched, scaler=self.scaler)
            if self.state.best.get("epoch") is not None and self.best_path_or_none() is None:
                self.state.best = {"score": float("-inf")}  # its best.pt never landed: the next epoch writes one
            self.t_start -= self.state.elapsed_s
        self.net = self.model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            inner = features_forward(self.model) if tc.freeze_backbone else self.model
            self.net = DDP(inner, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                           find_unused_parameters=False)
        if self.main:
            write_json_atomic(self.run_dir / "config.json",
                              {"train": tc.to_dict(), "model": self.model.cfg.to_dict(), "classes": self.classes,
                               "stride": self.data.stride, "notes": notes, "val_split": self.data.val_split})
            reg = getattr(self.project, "add_run", None)
            if reg is not None and self.resume_dir is None:
                try:
                    reg(str(self.run_dir), self.train_cfg)
                except Exception as exc:  # noqa: BLE001 (registry is a convenience; the run goes on)
                    self.say(f"could not register the run in the project: {exc}")
        self.start_info = dict(total_steps=self.total_steps, epochs=self.epochs, steps_per_epoch=spe,
                               step=self.state.step, resumed=self.resume_dir is not None, device=str(self.device),
                               world_size=self.world, train_videos=len(self.data.train_items),
                               val_videos=len(self.data.val_items), classes=self.classes, preset=tc.preset,
                               pose_only=self.data.pose_only, best_by=self.best_by, minutes=tc.minutes,
                               **{k: v for k, v in notes.items() if isinstance(v, str)})

    def _optimizer(self, steps_per_epoch: int) -> tuple[Any, Any]:
        """(optimizer, lr scheduler) of the recipe: SGD or AdamW; a step drop or a cosine over the run."""
        import torch

        tc = self.tc
        params = [p for p in self.model.parameters() if p.requires_grad]
        if tc.optimizer == "adamw":
            opt = torch.optim.AdamW(params, lr=tc.lr, weight_decay=tc.weight_decay)
        else:
            opt = torch.optim.SGD(params, lr=tc.lr, momentum=tc.momentum, weight_decay=tc.weight_decay)
        if tc.lr_schedule == "cosine":  # by progress, so a time budget gets the whole curve too
            cosine = lambda _: 0.5 * (1 + math.cos(math.pi * self.fraction_done()))  # noqa: E731
            return opt, torch.optim.lr_scheduler.LambdaLR(opt, cosine)
        milestone = (tc.lr_step_epoch * steps_per_epoch if tc.lr_step_epoch else
                     round(LR_STEP_SHARE[tc.preset] * self.total_steps))
        return opt, torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[max(1, milestone)], gamma=tc.lr_gamma)

    def fraction_done(self) -> float:
        """How much of the run is done, 0..1: of its steps, or of its time budget if that ends first."""
        done = self.state.step / max(self.total_steps, 1)
        if self.tc.minutes:
            done = max(done, (time.time() - self.t_start) / (60.0 * float(self.tc.minutes)))
        return min(1.0, done)

    def _recipe_notes(self) -> dict[str, str]:
        """What this run does that a user might not expect, said once (stderr, log.txt, the start event)."""
        from rpan_core.engine.validate import best_metric

        data, notes = self.data, {}
        self.best_by = best_metric(self.tc.best_by, data.held_out, data.pose_only)
        if data.pose_only:
            notes["pose_only_note"] = ("no training video carries an action label: pose-only training (the action "
                                  "loss is masked; only the pose attention learns)")
        if self.best_by is None:
            notes["no_best"] = (f"no held-out labels to choose best.pt by {self.tc.best_by} (the {data.val_split!r} "
                                "split has none and no labeled frames could be held out): no best.pt is written; "
                                "the result is last.pt")
        else:
            what = "action accuracy" if self.best_by == "accuracy" else "PCK@0.2"
            notes["best"] = f"best.pt: the epoch with the highest {what} on {data.val_split}"
        for k in ("pose_only_note", "no_best", "best"):
            if k in notes and self.resume_dir is None:
                self.say(notes[k])
        return notes

    # ------------------------------------------------------------------ the loop
    def forward(self, batch: dict, net: Any = None) -> Any:
        """The model's output on a batch of frames, cached feature cubes or flow stacks."""
        net, dev = net or self.net, self.device
        if "flow" in batch:
            return net(batch["flow"].to(dev, non_blocking=True).float())
        if "cube" in batch:
            cube = batch["cube"].to(dev, non_blocking=True).float()
            # DDP wraps a head-only module whose forward must run (gradient sync); alone, call the head directly
            return net(cube) if net is not self.model else self.model.forward_features(cube)
        return net(self.model.preprocess(batch["frames"]).to(dev, non_blocking=True))

    def train_step(self, batch: dict) -> tuple[dict[str, float], Any]:
        """One optimizer step on ``batch`` (Eq. 11-13): (losses, logits)."""
        import torch

        from rpan_core.losses import attention_with_dummy, rpan_loss

        tc, dev = self.tc, self.device
        self.opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.use_amp):
            out = self.forward(batch)
        L = rpan_loss(out.logits.float(), attention_with_dummy(out).float(), batch["label"].to(dev),
                      batch["targets"].to(dev), batch["pose_mask"].to(dev), batch["action_mask"].to(dev),
                      lambda_action=tc.lambda_action, lambda_pose=tc.lambda_pose, pose_loss=tc.pose_loss)
        self.scaler.scale(L["total"]).backward()
        if tc.clip_grad:
            self.scaler.unscale_(self.opt)
            torch.nn.utils.clip_grad_norm_([p for g in self.opt.param_groups for p in g["params"]], tc.clip_grad)
        self.scaler.step(self.opt)
        self.scaler.update()
        self.sched.step()
        return {k: float(L[k].detach()) for k in ("total", "action", "pose")}, out.logits.detach()

    def _train(self) -> tuple[str, str]:
        from rpan_core.engine.hooks import default_hooks
        from rpan_core.engine.validate import validate

        self._prepare()
        self.hooks = default_hooks(self)
        self.last_metrics: dict[str, Any] = {}
        self.done = self.state.step >= self.total_steps
        try:
            self._emit("on_start")
            while not (self.done or self.stop_reason) and self.state.epoch < self.epochs:
                epoch = self.state.epoch
                correct, seen = self._epoch(epoch)
                if self.stop_reason:
                    break
                metrics = (self.data.validate_fn(self.model) if self.data.validate_fn else
                           validate(self.model, self.data.val_ds, lambda b: self.forward(b, self.model)))
                self.last_metrics = dict(metrics, train_accuracy=correct / seen if seen else None, epoch=epoch + 1)
                self._emit("on_epoch", self.last_metrics)
            agree = self._ranks_agree()
            if agree is not None and self.log is not None:
                self.log.write("ddp_check", ranks_agree=agree, world_size=self.world)
        finally:
            for h in self.hooks:
                h.close(self)
            self.data.close()
        if self.stop_reason:
            return "cancelled", self.stop_reason
        budget = f" (the {self.tc.minutes:g} min budget is spent)" if getattr(self, "budget_spent", False) else ""
        return "finished", f"{self.state.step} steps in {time.time() - self.t_start:.1f} s{budget}"

    def _epoch(self, epoch: int) -> tuple[int, int]:
        """The rest of ``epoch`` from the saved position; (correct, seen) action predictions on its batches."""
        batches = self.data.epoch_batches(epoch)
        self.net.train()
        if self.tc.freeze_backbone and hasattr(self.model, "backbone"):
            self.model.backbone.eval()  # frozen: BatchNorm keeps its statistics (cached cubes stay valid)
        correct = seen = 0
        for b in range(self.state.batch_in_epoch, len(batches)):
            t0 = time.time()
            batch = self.data.collate(batches[b])
            losses, logits = self.train_step(batch)
            am = batch["action_mask"].bool()
            correct += int((logits[:, -1].argmax(-1).cpu()[am] == batch["label"][am]).sum())
            seen += int(am.sum())
            st = self.state
            st.step += 1
            st.epoch, st.batch_in_epoch = (epoch, b + 1) if b + 1 < len(batches) else (epoch + 1, 0)
            self.done = st.step >= self.total_steps or self._out_of_time()
            self._emit("on_step", dict(
                step=st.step, epoch=epoch + (b + 1) / len(batches), loss=losses["total"],
                action_loss=losses["action"], pose_loss=losses["pose"], lr=self.opt.param_groups[0]["lr"],
                clips_per_s=len(batches[b]) * self.world / max(time.time() - t0, 1e-9),
                elapsed_s=time.time() - self.t_start))
            if self.stop_reason or self.done:
                break
        return correct, seen

    def _out_of_time(self) -> bool:
        """The ``--minutes`` budget is spent (time before a resume counts)."""
        if not self.tc.minutes or time.time() - self.t_start < 60.0 * float(self.tc.minutes):
            return False
        self.budget_spent = True
        return True

    def _emit(self, event: str, *args: Any) -> None:
        for h in self.hooks:
            getattr(h, event)(self, *args)

    def _ranks_agree(self) -> bool | None:
        """After DDP: do all ranks hold the same parameters (BatchNorm buffers made rank 0's first)?"""
        if self.world == 1:
            return None
        import torch
        import torch.distributed as dist

        with torch.no_grad():
            for buf in self.model.buffers():
                dist.broadcast(buf.data, src=0)
        vec = torch.cat([p.detach().float().reshape(-1) for p in self.model.parameters()]).to(self.device)
        ref = vec.clone()
        dist.broadcast(ref, src=0)
        same = torch.tensor([1.0 if torch.allclose(vec, ref, atol=1e-6) else 0.0], device=self.device)
        dist.all_reduce(same, op=dist.ReduceOp.MIN)
        return bool(float(same) > 0)


def run_training(cfg: TrainConfig, progress: bool = True, resume: str | os.PathLike | None = None) -> Path:
    """Train (or resume, with ``resume=RUN_DIR``) and return the run folder."""
    return Trainer(cfg, progress=progress, resume=str(resume) if resume else None).run()


__all__ = ["Trainer", "run_training"]
