"""Training and fine-tuning RPAN on a project (``rpan train``).

One loop serves every case the studio needs: training from scratch with the paper's
recipe (SGD momentum 0.9, lr 0.1 -> 0.01 at a set epoch, weight decay 5e-4, both
loss weights 1), fine-tuning a checkpoint on a few hundred corrected frames
(``--init``, the ``finetune`` preset, optionally ``--freeze-backbone`` with feature
cubes cached on disk), resuming an interrupted run exactly (``--resume``), and
multi-GPU runs under ``torchrun`` (DDP; only rank 0 writes).

Why the shape of a run folder matters: the studio launches ``rpan train`` as a
separate process and follows its ``events.jsonl``; it cancels with SIGTERM and
expects an ``end`` event and a ``last.pt`` afterwards. So every way a run can stop
(finished, an error, SIGTERM) ends with an ``end`` event, and every user-facing
failure is a :class:`~rpan_core.errors.TrainingError` (or another ``RPANError``)
whose message is also printed on stderr.

Exact resume: the clip sampling and mirror flips of epoch ``e``, sample ``i`` are
drawn from ``seed, e, i`` and the batch order from the sampler's ``seed + epoch``, so
restoring model, optimizer, scheduler, AMP scaler, torch RNG and the step counter
(``trainer_state.pt``, written atomically with ``last.pt``) continues the very
sequence of batches the interrupted run would have trained on.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rpan_core.errors import ConfigError, RPANError, TrainingError
from rpan_core.runlog import EventLog, new_run_dir, read_events, write_json_atomic

#: Training recipes. ``paper`` is Sec. 4.1 of the paper; ``finetune`` suits a few
#: hundred labeled frames on top of a trained checkpoint.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(epochs=100, lr=0.1, lr_step_epoch=40, lr_gamma=0.1, momentum=0.9, weight_decay=5e-4,
                  batch=16, clip_len=8, lambda_action=1.0, lambda_pose=1.0),
    "finetune": dict(epochs=15, lr=0.01, lr_step_epoch=10, lr_gamma=0.1, momentum=0.9, weight_decay=5e-4,
                     batch=8, clip_len=8, lambda_action=1.0, lambda_pose=1.0),
}


@dataclass
class TrainConfig:
    """Everything a run needs; saved as the run's ``config.json``. ``None`` = from the preset."""

    project: str = ""
    run_dir: str | None = None
    preset: str = "paper"
    model_preset: str = "demo"  # rpan_core.model.preset name for a from-scratch model
    stream: str = "rgb"  # "rgb": frames; "flow": 10-channel stacks of TSN flow (5 pairs), see rpan_core.flow
    backbone: str | None = None
    backbone_weights: str | None = "default"  # "default" = the model preset's choice
    backbone_stride: int | None = None  # 32 | 16 | 8 (finer attention grid)
    freeze_stages: str | None = None  # "stem" | "partial" | N: freeze part of the backbone (trained end to end)
    pool: str | None = None  # part pooling: concat | max | mean (Table 2)
    input_size: tuple[int, int] | None = None
    attention: str | None = None
    hidden: int | None = None
    dropout: float | None = None
    epochs: int | None = None
    lr: float | None = None
    lr_step_epoch: int | None = None
    lr_gamma: float | None = None
    momentum: float | None = None
    weight_decay: float | None = None
    batch: int | None = None
    clip_len: int | None = None
    lambda_action: float | None = None
    lambda_pose: float | None = None
    sigma_px: float = 5.0
    clip_grad: float | None = 10.0  # gradient-norm clipping (the per-step sums of Eq. 11-12 spike early)
    mirror: bool = True
    init: str | None = None
    freeze_backbone: bool = False
    device: str | None = None
    amp: bool = True
    seed: int = 0
    val_split: str | None = None  # None: "val" if the project has one, else "test"
    checkpoint_every: int = 0  # also write last.pt every N steps (0: at epoch ends only)
    max_steps: int | None = None  # stop (as finished) after this many steps in total
    preload: bool = True
    tensorboard: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def resolved(self) -> "TrainConfig":
        """A copy with the preset's values filled in for every ``None`` recipe field."""
        if self.preset not in PRESETS:
            raise ConfigError(f"unknown training preset {self.preset!r}; choose one of {', '.join(PRESETS)}")
        out = dataclasses.replace(self)
        for k, v in PRESETS[self.preset].items():
            if getattr(out, k) is None:
                setattr(out, k, v)
        if out.lr_step_epoch is not None and out.epochs is not None and self.lr_step_epoch is None:
            out.lr_step_epoch = min(out.lr_step_epoch, max(1, int(round(out.epochs * 0.4 if self.preset == "paper"
                                                                            else out.epochs * 0.67))))
        if out.stream not in STREAMS:
            raise ConfigError(f"unknown stream {out.stream!r}; choose one of {', '.join(STREAMS)}")
        if out.stream == "flow" and out.freeze_backbone:
            raise ConfigError("--freeze-backbone caches RGB feature cubes and is not available for the flow "
                              "stream; fine-tune the flow model without it")
        for name in ("epochs", "batch", "clip_len"):
            if int(getattr(out, name)) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(out, name)})")
        if not out.lr > 0:
            raise ConfigError(f"--lr must be positive (got {out.lr})")
        return out

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["input_size"] is not None:
            d["input_size"] = list(d["input_size"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if kw.get("input_size") is not None:
            kw["input_size"] = tuple(kw["input_size"])
        return cls(**kw)


#: The two streams of the paper's Table 4: RGB frames (spatial) and stacked optical flow (temporal).
STREAMS = ("rgb", "flow")


def checkpoint_stream(info: Any) -> str:
    """Which input a checkpoint needs: its train_config's ``stream``, else from the model's input channels."""
    tc = getattr(info, "train_config", None) or {}
    s = tc.get("stream") if isinstance(tc, dict) else None
    if s in STREAMS:
        return s
    cfg = getattr(info, "config", None)
    return "flow" if int(getattr(cfg, "in_channels", 3) or 3) != 3 else "rgb"


def flow_params_of(train_config: dict | None) -> Any:
    """The FlowParams a flow checkpoint was trained with (the defaults when it does not say)."""
    from rpan_core.flow import FlowParams

    d = dict((train_config or {}).get("flow") or {})
    names = set(FlowParams.__dataclass_fields__)
    return FlowParams(**{k: v for k, v in d.items() if k in names})


# ----------------------------------------------------------------------------- helpers

def _dist_env() -> tuple[int, int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def _is_oom(exc: BaseException) -> bool:
    import torch

    oom = getattr(torch.cuda, "OutOfMemoryError", ())
    return (oom and isinstance(exc, oom)) or (isinstance(exc, (RuntimeError, MemoryError)) and
                                              ("out of memory" in str(exc).lower() or isinstance(exc, MemoryError)))


def _torch_save_atomic(obj: Any, path: Path) -> None:
    import torch

    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def label_bbox(xy: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """``... x 4`` (x0, y0, x1, y1) bounding box of the visible labeled joints (PennAction's bbox stand-in)."""
    xy = np.asarray(xy, np.float64)
    v = np.asarray(visible, bool)[..., None]
    big = np.where(v, xy, np.inf)
    small = np.where(v, xy, -np.inf)
    lo, hi = big.min(axis=-2), small.max(axis=-2)
    box = np.concatenate([lo, hi], axis=-1)
    return np.where(np.isfinite(box), box, 0.0)


def attention_with_dummy(out: Any) -> Any:
    """``B x T x J x (K+1)`` from an RPANOutput (the K cells then the dummy cell)."""
    import torch

    att = out.attention.flatten(-2)
    return torch.cat([att, out.dummy.unsqueeze(-1).to(att.dtype)], dim=-1)


def _classifier_names(cfg: Any) -> set[str]:
    """Names of the parameters whose shape depends on the class count (built on the meta device)."""
    import torch

    from rpan_core.model import RPAN, RPANConfig

    d = cfg.to_dict()
    d["backbone_weights"] = None
    shapes = []
    for extra in (0, 1):
        d2 = dict(d, num_classes=int(d["num_classes"]) + extra)
        try:
            with torch.device("meta"):
                m = RPAN(RPANConfig.from_dict(d2))
        except Exception:  # noqa: BLE001 (meta construction unsupported: build it for real)
            m = RPAN(RPANConfig.from_dict(d2))
        shapes.append({k: tuple(v.shape) for k, v in m.state_dict().items()})
    return {k for k in shapes[0] if shapes[0][k] != shapes[1].get(k)}


def backbone_key(model: Any, cfg: Any) -> str:
    """Identity of the feature extractor: name, input size and a hash of its weights."""
    h = hashlib.sha1()
    h.update(json.dumps([cfg.backbone, list(cfg.input_size), getattr(cfg, "backbone_stride", None),
                         getattr(cfg, "in_channels", 3)]).encode())
    sd = model.state_dict()
    keys = [k for k in sd if k.startswith("backbone")] or list(sd)
    for k in sorted(keys):
        h.update(k.encode())
        h.update(sd[k].detach().cpu().contiguous().numpy().tobytes())
    return f"{cfg.backbone}-{h.hexdigest()[:16]}"


# ----------------------------------------------------------------------------- model setup

def _model_config(name: str, over: dict[str, Any]) -> Any:
    """``rpan_core.model.preset(name, **over)``; plain ``RPANConfig(**over)`` where presets are absent."""
    import rpan_core.model as M

    fn = getattr(M, "preset", None)
    if fn is not None:
        return fn(name, **over)
    return M.RPANConfig(**over)


class _FeaturesForward:
    """Wraps a model so ``forward(cube)`` runs the head only (DDP must call a module's forward)."""

    def __new__(cls, model: Any) -> Any:
        import torch.nn as nn

        class FF(nn.Module):
            def __init__(self, m: Any) -> None:
                super().__init__()
                self.m = m

            def forward(self, cube: Any) -> Any:
                return self.m.forward_features(cube)

        return FF(model)


def build_model(tc: TrainConfig, project: Any, log: Any = print) -> tuple[Any, list[str], dict]:
    """(model, classes, notes): from scratch with ``tc.model_preset`` or from ``tc.init``."""
    from rpan_core.model import RPAN, RPANConfig

    classes = list(project.classes)
    skel = project.skeleton
    skel_name = getattr(skel, "name", skel)
    notes: dict[str, Any] = {}
    if not classes:
        raise TrainingError(f"the project {project.folder} has no action classes; add the classes first "
                            "(Project.set_classes) and label some videos")
    if tc.init:
        from rpan_core.checkpoint import load_checkpoint

        src, info = load_checkpoint(tc.init, device="cpu")
        ck_skel = getattr(info.skeleton, "name", info.skeleton)
        if ck_skel != skel_name:
            raise TrainingError(f"cannot fine-tune {tc.init}: it was trained on the {ck_skel!r} skeleton but the "
                                f"project uses {skel_name!r}; convert the project's labels or start from scratch "
                                "(no --init)")
        d = info.config.to_dict()
        d["num_classes"] = len(classes)
        d["backbone_weights"] = None  # the checkpoint carries the weights
        if tc.freeze_backbone:
            d["freeze_backbone"] = "all"
        elif tc.freeze_stages:
            d["freeze_backbone"] = str(tc.freeze_stages)
        src_stream = checkpoint_stream(info)
        cross = False
        if tc.stream == "flow" and src_stream == "rgb":
            d["in_channels"] = 2 * _stack_length()  # TSN cross-modality initialization (below)
            cross = True
        elif tc.stream == "rgb" and src_stream == "flow":
            raise TrainingError(f"cannot fine-tune the RGB stream from {tc.init}: it is a flow-stream checkpoint; "
                                "pass --stream flow, or an RGB checkpoint")
        cfg = RPANConfig.from_dict(d)
        model = RPAN(cfg)
        state = src.state_dict()
        skip: set[str] = set()
        if list(info.classes) != classes:
            skip = _classifier_names(cfg)
            msg = (f"class list differs from the checkpoint's ({len(info.classes)} -> {len(classes)} classes): "
                   f"re-initializing the classifier ({', '.join(sorted(skip))})")
            log(msg)
            notes["reinit_classifier"] = msg
        own = model.state_dict()
        if cross:
            from rpan_core.flow import cross_modality_init

            stems = cross_modality_init(model, {k: v for k, v in state.items() if k not in skip})
            msg = (f"flow stream initialized from the RGB checkpoint {tc.init} (TSN cross-modality: "
                   f"{', '.join(stems) or 'no stem'} = the RGB kernels' channel mean)")
            log(msg)
            notes["cross_modality"] = msg
        else:
            load = {k: v for k, v in state.items() if k in own and k not in skip and own[k].shape == v.shape}
            model.load_state_dict(load, strict=False)
        notes["init"] = str(tc.init)
        notes["init_classes"] = list(info.classes)
        return model, classes, notes
    over: dict[str, Any] = dict(num_classes=len(classes), skeleton=skel_name)
    if tc.backbone:
        over["backbone"] = tc.backbone
    if tc.backbone_weights != "default":
        over["backbone_weights"] = tc.backbone_weights
    if tc.input_size:
        over["input_size"] = tuple(tc.input_size)
    if tc.attention:
        over["attention"] = tc.attention
    if tc.hidden:
        over["hidden"] = int(tc.hidden)
    if tc.dropout is not None:
        over["dropout"] = float(tc.dropout)
    if tc.backbone_stride:
        over["backbone_stride"] = int(tc.backbone_stride)
    if tc.pool:
        over["pool"] = tc.pool
    if tc.freeze_backbone:
        over["freeze_backbone"] = "all"
    elif tc.freeze_stages:
        over["freeze_backbone"] = str(tc.freeze_stages)
    if tc.stream == "flow":
        over["in_channels"] = 2 * _stack_length()
    try:
        cfg = _model_config(tc.model_preset, over)
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot build the {tc.model_preset!r} model with {over}: {exc}") from exc
    return RPAN(cfg), classes, notes


def _stack_length() -> int:
    from rpan_core.flow import STACK_LENGTH

    return STACK_LENGTH


# ----------------------------------------------------------------------------- the trainer

class Trainer:
    """One run. ``run()`` returns the run folder; it always ends with an ``end`` event."""

    def __init__(self, tc: TrainConfig, progress: bool = True, resume: str | None = None) -> None:
        self.progress = progress
        self.resume_dir = Path(resume) if resume else None
        if self.resume_dir is not None:
            cfg_p = self.resume_dir / "config.json"
            if not cfg_p.exists():
                raise TrainingError(f"cannot resume {self.resume_dir}: it has no config.json; pass the folder of a "
                                    "run started by `rpan train`")
            saved = TrainConfig.from_dict(json.loads(cfg_p.read_text())["train"])
            if tc.device:
                saved.device = tc.device
            if tc.max_steps:  # the only recipe field a resume may change: where to stop
                saved.max_steps = tc.max_steps
            saved.run_dir = str(self.resume_dir)
            tc = saved
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
        #: called as ``on_step(trainer, step)`` after every optimizer step (tests, embedding)
        self.on_step: Any = None

    # -- signals
    def _on_sigterm(self, signum, frame) -> None:  # noqa: ANN001
        self.stop_reason = "cancelled (SIGTERM)"

    def _say(self, msg: str) -> None:
        if self.main:
            print(f"rpan train: {msg}", file=sys.stderr, flush=True)
            if self.run_dir is not None:
                with open(self.run_dir / "log.txt", "a", encoding="utf-8") as fh:
                    fh.write(msg + "\n")

    def run(self) -> Path:
        import torch

        tc = self.tc
        old = None
        try:
            old = signal.signal(signal.SIGTERM, self._on_sigterm)
        except ValueError:  # not the main thread
            pass
        try:
            try:
                self._setup_dirs()
                self._train()
            except BaseException as exc:  # noqa: BLE001 (every stop ends with an end event)
                status, msg = "failed", str(exc)
                if isinstance(exc, KeyboardInterrupt):
                    status, msg = "cancelled", "interrupted (Ctrl-C)"
                elif _is_oom(exc):
                    msg = (f"out of memory with batch {tc.batch} x {tc.clip_len} frames on "
                           f"{getattr(self, '_device', '?')}; lower --batch or --clip-len, use a smaller "
                           "--input-size, or --freeze-backbone")
                    if self.log is not None:
                        self.log.write("end", status=status, message=msg, step=getattr(self, "step", 0),
                                       best_checkpoint=self._best_path_or_none())
                    raise TrainingError(msg) from exc
                elif not isinstance(exc, RPANError):
                    msg = f"{type(exc).__name__}: {exc}"
                    if self.run_dir is not None and self.main:
                        with open(self.run_dir / "log.txt", "a", encoding="utf-8") as fh:
                            fh.write(traceback.format_exc())
                if self.log is not None:
                    self.log.write("end", status=status, message=msg, best_checkpoint=self._best_path_or_none(),
                                   step=getattr(self, "step", 0))
                raise
            return self.run_dir
        finally:
            if old is not None:
                signal.signal(signal.SIGTERM, old)
            if self.log is not None:
                self.log.close()
            if self.world > 1 and torch.distributed.is_initialized():
                torch.distributed.destroy_process_group()

    def _best_path_or_none(self) -> str | None:
        if self.run_dir is not None and (self.run_dir / "best.pt").exists():
            return str(self.run_dir / "best.pt")
        return None

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
            self.log = EventLog(self.run_dir / "events.jsonl")
        if not tc.project:
            raise ConfigError("--project is required: the project folder to train on")
        try:
            self.project = Project.open(tc.project)
        except RPANError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise TrainingError(f"cannot open the project {tc.project}: {exc}") from exc
        if self.run_dir is None:
            if self.main:  # other ranks learn the folder from rank 0 once the process group is up
                self.run_dir = new_run_dir(self.project.runs_dir)
        tc.run_dir = str(self.run_dir) if self.run_dir else None
        if self.main and self.run_dir is not None and self.log is None:
            self.log = EventLog(self.run_dir / "events.jsonl")

    # ------------------------------------------------------------------ the loop
    def _train(self) -> None:
        import torch

        from rpan_core.data import (ClipDataset, FeatureCache, check_trainable, collate, collect_items, mean_stride,
                                    preload)
        from rpan_core.device import pick_device

        tc = self.tc
        t_start = time.time()
        if self.world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                backend = "nccl" if torch.cuda.is_available() and (tc.device or "cuda").startswith("cuda") else "gloo"
                dist.init_process_group(backend)
            if torch.cuda.is_available() and (tc.device in (None, "cuda", "auto")):
                torch.cuda.set_device(self.local_rank)
                self._device = torch.device("cuda", self.local_rank)
            else:
                self._device = torch.device("cpu")
            obj = [str(self.run_dir) if self.run_dir else None]
            dist.broadcast_object_list(obj, src=0)
            if self.run_dir is None:
                self.run_dir = Path(obj[0])
                tc.run_dir = obj[0]
        else:
            self._device = pick_device(None if tc.device in (None, "auto") else tc.device)
        dev = self._device
        torch.manual_seed(tc.seed)
        np.random.seed(tc.seed)

        snap = self.project.snapshot()
        try:
            model, classes, notes = build_model(tc, self.project, log=self._say)
            from rpan_core.skeleton import get_skeleton

            skeleton = get_skeleton(getattr(self.project.skeleton, "name", self.project.skeleton))
            J = skeleton.num_joints
            train_items = collect_items(snap, classes, "train", J)
            check_trainable(train_items, self.project.folder)
            splits = {getattr(r, "split", None) for r in snap.videos()}
            val_split = tc.val_split or ("val" if "val" in splits else "test")
            val_items = collect_items(snap, classes, val_split, J)
        finally:
            close = getattr(snap, "close", None)
            if close:
                close()
        self.model = model
        cfg = model.cfg
        input_size = tuple(cfg.input_size)
        grid = tuple(model.grid)
        stride = mean_stride(train_items, tc.clip_len)
        model.to(dev)

        cache = flow = None
        if tc.stream == "flow":
            flow = self._flow_adapter(train_items + val_items, input_size)
        elif tc.freeze_backbone:
            for name, p in model.named_parameters():
                if name.startswith("backbone"):
                    p.requires_grad_(False)
            model.eval()
            folder = Path(self.project.folder) / "features" / backbone_key(model, cfg)
            if self.world > 1:  # ranks fill their own files: no two processes create the same memmap
                folder = folder / f"rank{self.rank}"
            cache = FeatureCache(folder, model, dev, input_size)
        elif tc.preload:
            preload(train_items + val_items, input_size)
        kw = dict(T=tc.clip_len, input_size=input_size, grid=grid, skeleton=skeleton, seed=tc.seed,
                  sigma_px=tc.sigma_px, cube_cache=cache, flow=flow)
        train_ds = ClipDataset(train_items, train=True, mirror=tc.mirror, **kw)
        val_ds = ClipDataset(val_items, train=False, **kw)

        from torch.utils.data import DistributedSampler

        sampler = DistributedSampler(train_ds, num_replicas=self.world, rank=self.rank, shuffle=True, seed=tc.seed)
        steps_per_epoch = max(1, math.ceil(len(sampler) / tc.batch))
        total_steps = steps_per_epoch * tc.epochs
        if tc.max_steps:
            total_steps = min(total_steps, int(tc.max_steps))

        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.SGD(params, lr=tc.lr, momentum=tc.momentum, weight_decay=tc.weight_decay)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[tc.lr_step_epoch * steps_per_epoch],
                                                     gamma=tc.lr_gamma)
        use_amp = bool(tc.amp and dev.type == "cuda")
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

        train_cfg = tc.to_dict()
        train_cfg.update(stride=stride, clip_len=tc.clip_len, val_split=val_split, world_size=self.world,
                         stream=tc.stream)
        if flow is not None:
            train_cfg["flow"] = dataclasses.asdict(flow.params)
        self.step = 0
        start_epoch, start_batch = 0, 0
        best = {"score": -math.inf}
        state_path = self.run_dir / "trainer_state.pt"
        if self.resume_dir is not None:
            if not state_path.exists():
                raise TrainingError(f"cannot resume {self.run_dir}: no trainer_state.pt (the run stopped before its "
                                    "first checkpoint); start a new run instead")
            st = torch.load(state_path, map_location="cpu", weights_only=False)
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["optimizer"])
            sched.load_state_dict(st["scheduler"])
            if st.get("scaler"):
                scaler.load_state_dict(st["scaler"])
            torch.set_rng_state(st["torch_rng"])
            if st.get("cuda_rng") is not None and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(st["cuda_rng"])
            self.step, start_epoch, start_batch = int(st["step"]), int(st["epoch"]), int(st["batch_in_epoch"])
            best = st.get("best", best)
            t_start -= float(st.get("elapsed_s", 0.0))
        net = model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            inner = _FeaturesForward(model) if tc.freeze_backbone else model
            net = DDP(inner, device_ids=[dev.index] if dev.type == "cuda" else None,
                      find_unused_parameters=False)

        if self.main:
            write_json_atomic(self.run_dir / "config.json", {"train": tc.to_dict(), "model": cfg.to_dict(),
                                                              "classes": classes, "stride": stride,
                                                              "notes": notes, "val_split": val_split})
            reg = getattr(self.project, "add_run", None)
            if reg is not None and self.resume_dir is None:
                try:
                    reg(str(self.run_dir), train_cfg)
                except Exception as exc:  # noqa: BLE001 (registry is a convenience; the run goes on)
                    self._say(f"could not register the run in the project: {exc}")
        if self.log is not None:
            self.log.write("start", total_steps=total_steps, epochs=tc.epochs, steps_per_epoch=steps_per_epoch,
                           step=self.step, resumed=self.resume_dir is not None, device=str(dev), world_size=self.world,
                           train_videos=len(train_items), val_videos=len(val_items), classes=classes,
                           preset=tc.preset, **{k: v for k, v in notes.items() if isinstance(v, str)})
        tb = None
        if self.main and tc.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                tb = SummaryWriter(str(self.run_dir / "tb"))
            except Exception:  # noqa: BLE001 (tensorboard not installed)
                tb = None
        from tqdm import tqdm

        bar = tqdm(total=total_steps, initial=self.step, desc="train", unit="step",
                   disable=not (self.progress and self.main), file=sys.stderr)

        def save(epoch: int, batch_in_epoch: int, metrics: dict, is_best: bool) -> None:
            if not self.main:
                return
            from rpan_core.checkpoint import save_checkpoint

            m = dict(metrics, step=self.step, epoch=epoch)
            st = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                  "scaler": scaler.state_dict() if use_amp else None, "torch_rng": torch.get_rng_state(),
                  "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                  "step": self.step, "epoch": epoch, "batch_in_epoch": batch_in_epoch, "best": best,
                  "elapsed_s": time.time() - t_start}
            _torch_save_atomic(st, state_path)
            save_checkpoint(self.run_dir / "last.pt", model, classes=classes, train_config=train_cfg, metrics=m)
            if is_best:
                save_checkpoint(self.run_dir / "best.pt", model, classes=classes, train_config=train_cfg, metrics=m)

        done = self.step >= total_steps
        status, message = "finished", ""
        last_metrics: dict = {}
        epoch = start_epoch
        try:
            for epoch in range(start_epoch, tc.epochs):
                if done or self.stop_reason:
                    break
                sampler.set_epoch(epoch)
                train_ds.set_epoch(epoch)
                order = list(iter(sampler))
                batches = [order[i:i + tc.batch] for i in range(0, len(order), tc.batch)]
                first = start_batch if epoch == start_epoch else 0
                net.train()
                if tc.freeze_backbone and hasattr(model, "backbone"):
                    model.backbone.eval()  # frozen: BatchNorm keeps its statistics (cached cubes stay valid)
                correct = seen = 0
                for b in range(first, len(batches)):
                    t0 = time.time()
                    batch = collate([train_ds[i] for i in batches[b]])
                    losses, logits = self._step(net, model, batch, opt, scaler, use_amp, dev)
                    sched.step()
                    self.step += 1
                    am = batch["action_mask"].bool()
                    pred = logits[:, -1].argmax(-1).cpu()
                    correct += int((pred[am] == batch["label"][am]).sum())
                    seen += int(am.sum())
                    dt = max(time.time() - t0, 1e-9)
                    ev = dict(step=self.step, epoch=epoch + (b + 1) / len(batches), loss=losses["total"],
                              action_loss=losses["action"], pose_loss=losses["pose"], lr=opt.param_groups[0]["lr"],
                              clips_per_s=len(batches[b]) * self.world / dt, elapsed_s=time.time() - t_start)
                    if not math.isfinite(losses["total"]):
                        raise TrainingError(f"the loss became {losses['total']} at step {self.step}; lower --lr "
                                            f"(now {tc.lr}) or check the labels")
                    if self.log is not None:
                        self.log.write("step", **ev)
                    if tb is not None:
                        for k in ("loss", "action_loss", "pose_loss", "lr", "clips_per_s"):
                            tb.add_scalar(f"train/{k}", ev[k], self.step)
                    bar.update(1)
                    if self.on_step is not None:
                        self.on_step(self, self.step)
                    bar.set_postfix(loss=f"{losses['total']:.3f}", lr=f"{ev['lr']:.3g}")
                    stop = self._agree_stop()
                    if self.step >= total_steps:
                        done = True
                    if stop or done or (tc.checkpoint_every and self.step % tc.checkpoint_every == 0):
                        if b + 1 < len(batches):
                            save(epoch, b + 1, last_metrics, False)
                        elif stop:  # stopped on an epoch's last batch: resume at the next epoch
                            save(epoch + 1, 0, last_metrics, False)
                        if stop:
                            break
                    if done:
                        break
                if self.stop_reason:
                    break
                metrics = self._validate(model, val_ds, dev, classes)
                metrics["train_accuracy"] = correct / seen if seen else None
                metrics["epoch"] = epoch + 1
                last_metrics = metrics
                score = metrics.get("val_accuracy")
                score = (score if score is not None else metrics.get("train_accuracy") or 0.0)
                score = score + 1e-3 * (metrics.get("val_pck") or 0.0)
                is_best = score > best["score"]
                if is_best:
                    best = {"score": score, "epoch": epoch + 1, "step": self.step}
                if self.log is not None:
                    self.log.write("epoch", step=self.step, **metrics)
                if tb is not None:
                    for k, v in metrics.items():
                        if isinstance(v, (int, float)) and v is not None:
                            tb.add_scalar(f"val/{k}", v, self.step)
                save(epoch + 1, 0, metrics, is_best)
                if done:
                    break
            if self.stop_reason:
                status, message = "cancelled", self.stop_reason
            else:
                message = f"{self.step} steps in {time.time() - t_start:.1f} s"
            agree = self._ranks_agree(model)
            if agree is not None and self.log is not None:
                self.log.write("ddp_check", ranks_agree=agree, world_size=self.world)
        finally:
            bar.close()
            if tb is not None:
                tb.close()
            train_ds.close()
            val_ds.close()
        if self.log is not None:
            self.log.write("end", status=status, message=message, best_checkpoint=self._best_path_or_none(),
                           step=self.step, last_checkpoint=str(self.run_dir / "last.pt"), metrics=last_metrics)
        self._say(f"{status}: {message} ({self.run_dir})")

    def _agree_stop(self) -> bool:
        """All ranks stop together when any got SIGTERM (else DDP would hang in the next all-reduce)."""
        if self.world == 1:
            return bool(self.stop_reason)
        import torch
        import torch.distributed as dist

        flag = torch.tensor([1.0 if self.stop_reason else 0.0])
        if dist.get_backend() == "nccl":
            flag = flag.to(self._device)
        dist.all_reduce(flag)
        if float(flag) > 0 and not self.stop_reason:
            self.stop_reason = "cancelled (another rank got SIGTERM)"
        return float(flag) > 0

    def _ranks_agree(self, model: Any) -> bool | None:
        if self.world == 1:
            return None
        import torch
        import torch.distributed as dist

        # BatchNorm running statistics drift per rank after the last forward (DDP re-broadcasts them from
        # rank 0 only at the next forward): make every rank hold rank 0's, the ones in the checkpoint
        with torch.no_grad():
            for buf in model.buffers():
                dist.broadcast(buf.data, src=0)
        vec = torch.cat([p.detach().float().reshape(-1) for p in model.parameters()]).to(self._device)
        ref = vec.clone()
        dist.broadcast(ref, src=0)
        same = torch.tensor([1.0 if torch.allclose(vec, ref, atol=1e-6) else 0.0], device=self._device)
        dist.all_reduce(same, op=dist.ReduceOp.MIN)
        return bool(float(same) > 0)

    def _flow_adapter(self, items: list, input_size: tuple[int, int]) -> Any:
        """Flow for every video of the run, computed (or found) in the project's flow cache first."""
        from rpan_core.flow import FlowClipAdapter, FlowParams, compute_flow

        params = FlowParams(**dict(self.tc.extra.get("flow") or {}))
        folder = Path(self.project.flow_dir)
        adapter = FlowClipAdapter(folder, input_size, params)
        t0, computed = time.time(), 0
        for k, it in enumerate(items):
            if self.stop_reason:
                raise TrainingError(f"{self.stop_reason} while computing optical flow (finished videos stay cached)")
            vol = compute_flow(it.path, folder, params)
            adapter._volumes[str(it.path)] = vol
            computed += vol.computed_pairs
        if self.main:
            self._say(f"optical flow for {len(items)} videos ({params.effective_method}, {computed} frame pairs "
                      f"computed, the rest cached) in {time.time() - t0:.1f} s")
        return adapter

    def _forward(self, net: Any, model: Any, batch: dict, dev: Any) -> Any:
        if "flow" in batch:
            return net(batch["flow"].to(dev, non_blocking=True).float())
        if "cube" in batch:
            cube = batch["cube"].to(dev, non_blocking=True).float()
            if net is not model:  # DDP over the head-only wrapper: its forward must run for gradient sync
                return net(cube)
            return model.forward_features(cube)
        x = model.preprocess(batch["frames"]).to(dev, non_blocking=True)
        return net(x)

    def _step(self, net: Any, model: Any, batch: dict, opt: Any, scaler: Any, use_amp: bool,
              dev: Any) -> tuple[dict, Any]:
        import torch

        from rpan_core.losses import rpan_loss

        tc = self.tc
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
            out = self._forward(net, model, batch, dev)
        att = attention_with_dummy(out).float()
        L = rpan_loss(out.logits.float(), att, batch["label"].to(dev), batch["targets"].to(dev),
                      batch["pose_mask"].to(dev), batch["action_mask"].to(dev),
                      lambda_action=tc.lambda_action, lambda_pose=tc.lambda_pose)
        scaler.scale(L["total"]).backward()
        if tc.clip_grad:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], tc.clip_grad)
        scaler.step(opt)
        scaler.update()
        return {k: float(L[k].detach()) for k in ("total", "action", "pose")}, out.logits.detach()

    def _validate(self, model: Any, ds: Any, dev: Any, classes: list[str]) -> dict:
        """Accuracy by the paper's protocol (T equally spaced frames, last step) and PCK@0.2 (arg-max)."""
        import torch

        from rpan_core.data import collate
        from rpan_core.targets import decode_argmax, pck

        if len(ds) == 0:
            return {"val_accuracy": None, "val_pck": None, "val_videos": 0}
        model.eval()
        correct = seen = 0
        preds, gts, vis = [], [], []
        with torch.no_grad():
            for s in range(0, len(ds), 8):
                idx = list(range(s, min(s + 8, len(ds))))
                batch = collate([ds[i] for i in idx])
                out = self._forward(model, model, batch, dev)
                am = batch["action_mask"].bool()
                pred = out.logits[:, -1].argmax(-1).cpu()
                correct += int((pred[am] == batch["label"][am]).sum())
                seen += int(am.sum())
                for n, i in enumerate(idx):
                    it = ds.items[i]
                    fidx, _ = ds.indices(i)
                    pos = np.searchsorted(it.label_frames, fidx)
                    for t, (f, p) in enumerate(zip(fidx, pos)):
                        if p < len(it.label_frames) and it.label_frames[p] == f:
                            xy, _ = decode_argmax(out.attention[n, t].float().cpu(), (it.height, it.width))
                            preds.append(np.asarray(xy))
                            gts.append(it.xy[p])
                            vis.append(it.visible[p])
        res: dict[str, Any] = {"val_accuracy": correct / seen if seen else None, "val_videos": len(ds)}
        if preds:
            P, G, V = np.stack(preds), np.stack(gts), np.stack(vis)
            _, mean = pck(P, G, V, label_bbox(G, V), alpha=0.2)
            res["val_pck"] = float(mean)
        else:
            res["val_pck"] = None
        return res


def run_training(cfg: TrainConfig, progress: bool = True, resume: str | os.PathLike | None = None) -> Path:
    """Train (or resume, with ``resume=RUN_DIR``) and return the run folder."""
    return Trainer(cfg, progress=progress, resume=str(resume) if resume else None).run()


# ----------------------------------------------------------------------------- command line

def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", help="the project folder to train on")
    parser.add_argument("--run-dir", help="run folder (default: a new folder under the project's runs/)")
    parser.add_argument("--resume", metavar="RUN", help="continue an interrupted run folder where it stopped")
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None,
                        help="training recipe: paper (default from scratch) or finetune (default with --init)")
    parser.add_argument("--model-preset", default="demo", help="model preset for a from-scratch run (default demo)")
    parser.add_argument("--stream", choices=STREAMS, default="rgb",
                        help="rgb: frames (spatial stream); flow: stacked TSN optical flow, 5 frame pairs = 10 "
                             "channels (temporal stream; flow is computed once into the project's flow cache). "
                             "With --init an RGB checkpoint, the flow model starts from it by TSN's "
                             "cross-modality initialization")
    parser.add_argument("--backbone", help="mobilenet_v2 | small_cnn | resnet18 | resnet34 | resnet50")
    parser.add_argument("--backbone-weights", default="default",
                        help="a weights file, 'imagenet', 'none', or 'default' (the model preset's choice)")
    parser.add_argument("--input-size", help="HxW frames fed to the backbone, e.g. 224x288")
    parser.add_argument("--backbone-stride", type=int, choices=(8, 16, 32),
                        help="feature stride: 32 (paper, 9x15 grid at 270x480) or 16/8 (finer maps, better poses)")
    parser.add_argument("--freeze-stages", metavar="stem|partial|N",
                        help="freeze the stem / the first half / the first N stages of the backbone (the rest "
                             "trains; unlike --freeze-backbone nothing is cached)")
    parser.add_argument("--pool", choices=("concat", "max", "mean"), help="part pooling (Eq. 5; default concat)")
    parser.add_argument("--attention", choices=("human-part", "separate-joint", "share-all", "none"))
    parser.add_argument("--hidden", type=int, help="LSTM hidden size")
    parser.add_argument("--dropout", type=float, help="dropout before the LSTM and the classifier")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--lr-step-epoch", type=int, help="epoch at which lr drops by 10x")
    parser.add_argument("--weight-decay", type=float)
    parser.add_argument("--momentum", type=float)
    parser.add_argument("--batch", type=int, help="videos per mini-batch (per GPU under torchrun)")
    parser.add_argument("--clip-len", type=int, help="frames per clip, T (default 8)")
    parser.add_argument("--lambda-action", type=float)
    parser.add_argument("--lambda-pose", type=float)
    parser.add_argument("--init", help="fine-tune from this checkpoint")
    parser.add_argument("--freeze-backbone", action="store_true",
                        help="train attention + LSTM only, on backbone features cached in the project")
    parser.add_argument("--device", help="cuda, cuda:1, cpu (default: CUDA when available)")
    parser.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    parser.add_argument("--no-mirror", action="store_true", help="no mirror augmentation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val-split", help="split used for validation (default: val if present, else test)")
    parser.add_argument("--checkpoint-every", type=int, default=0, help="also write last.pt every N steps")
    parser.add_argument("--max-steps", type=int, help="stop after this many steps in total")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    # --model-preset labeling: the few-keyframe recipe (rpan_core.keyframes, imported only when it runs)
    have = {o for a in parser._actions for o in a.option_strings}
    if "--minutes" not in have:
        parser.add_argument("--minutes", type=float, help="time budget of the run in minutes")
    parser.add_argument("--copies", type=int, default=16,
                        help="labeling preset: augmented person crops per labeled frame (default 16)")


def _size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--input-size must look like 224x288 (height x width), got {text!r}") from None
    return h, w


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    bw = args.backbone_weights
    return TrainConfig(
        project=args.project or "", run_dir=args.run_dir,
        preset=args.preset or ("finetune" if args.init else "paper"), model_preset=args.model_preset,
        stream=getattr(args, "stream", "rgb") or "rgb",
        backbone=args.backbone, backbone_weights=None if bw in ("none", "None") else bw,
        backbone_stride=args.backbone_stride, freeze_stages=args.freeze_stages, pool=args.pool,
        input_size=_size(args.input_size), attention=args.attention, hidden=args.hidden, dropout=args.dropout,
        epochs=args.epochs,
        lr=args.lr, lr_step_epoch=args.lr_step_epoch, weight_decay=args.weight_decay, momentum=args.momentum,
        batch=args.batch, clip_len=args.clip_len, lambda_action=args.lambda_action, lambda_pose=args.lambda_pose,
        init=args.init, freeze_backbone=args.freeze_backbone, device=args.device, amp=not args.no_amp,
        mirror=not args.no_mirror, seed=args.seed, val_split=args.val_split, checkpoint_every=args.checkpoint_every,
        max_steps=args.max_steps)


def cli_main(args: argparse.Namespace) -> int:
    if args.model_preset == "labeling":  # pose-only, from a few labeled frames, on cached trunk features
        from rpan_core.keyframes import cli_main as keyframes_main

        return keyframes_main(args)
    if not args.project and not args.resume:
        raise ConfigError("rpan train needs --project DIR (or --resume RUN)")
    tc = config_from_args(args)
    if args.resume and not args.project:
        tc.project = ""
    trainer = Trainer(tc, progress=not args.no_progress, resume=args.resume)
    run_dir = trainer.run()
    events = read_events(Path(run_dir) / "events.jsonl") if trainer.main else []
    end = next((e for e in reversed(events) if e.get("type") == "end"), {})
    if trainer.main:
        print(f"run folder: {run_dir}")
        if end.get("best_checkpoint"):
            print(f"best checkpoint: {end['best_checkpoint']}")
    return 0


__all__ = ["TrainConfig", "PRESETS", "STREAMS", "checkpoint_stream", "flow_params_of", "Trainer", "run_training", "build_model", "label_bbox", "attention_with_dummy",
           "configure_parser", "cli_main"]
