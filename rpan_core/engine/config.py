"""The training configuration, declared once: each field carries its help, choices and flag.

Why declared once: the old trainer wrote every option four times (a dataclass field,
an ``add_argument``, a line in ``config_from_args`` and a line in ``build_model``), and
they drifted. Here a field of :class:`TrainConfig` made with :func:`option` IS the
option: the ``rpan train`` parser is generated from the fields
(:func:`configure_parser`), the namespace turned back into a config by
:func:`config_from_args`, and the run's ``config.json`` written by ``to_dict``.

To add a training option: add one ``option(...)`` field to :class:`TrainConfig`, and
read ``tc.<name>`` where it acts. Nothing else.

Conventions of the generated parser: the flag is ``--name-with-dashes``; a boolean that
defaults to True becomes ``--no-name``, one that defaults to False ``--name``; an option
absent from the command line is absent from the namespace, so the dataclass default
(often ``None`` = "the preset's value") applies.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Union

from rpan_core.checkpoint import STREAMS
from rpan_core.errors import ConfigError

#: Training recipes. ``paper`` is Sec. 4.1 of the paper; ``finetune`` suits a few
#: hundred labeled frames on top of a trained checkpoint.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(epochs=100, lr=0.1, lr_step_epoch=40, lr_gamma=0.1, momentum=0.9, weight_decay=5e-4,
                  batch=16, clip_len=8, lambda_action=1.0, lambda_pose=1.0, optimizer="sgd", lr_schedule="step",
                  pose_loss="squared"),
    "finetune": dict(epochs=15, lr=0.01, lr_step_epoch=10, lr_gamma=0.1, momentum=0.9, weight_decay=5e-4,
                     batch=8, clip_len=8, lambda_action=1.0, lambda_pose=1.0, optimizer="sgd", lr_schedule="step",
                     pose_loss="squared"),
}

#: Where the learning rate drops when no --lr-step-epoch is given: this share of the run (epochs or steps).
LR_STEP_SHARE = {"paper": 0.4, "finetune": 0.67}

#: The model preset of a from-scratch run when none is named.
DEFAULT_MODEL_PRESET = "demo"

#: What a model needs to know that a checkpoint given to ``--init`` fixes already: these cannot be
#: changed on top of a checkpoint (its weights have their shapes), so asking for them is refused.
INIT_FIXED = ("model_preset", "backbone", "backbone_weights", "attention", "hidden", "pool")


def option(default: Any = None, help: str = "", *, choices: tuple | None = None, metavar: str | None = None,  # noqa: A002
           parse: Callable[[str], Any] | None = None, cli: bool = True, flag: str | None = None,
           factory: Callable[[], Any] | None = None) -> Any:
    """A :class:`TrainConfig` field that is also a command-line option (``cli=False``: config only)."""
    meta = dict(help=help, choices=choices, metavar=metavar, parse=parse, cli=cli, flag=flag)
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def parse_size(text: str | tuple | list | None) -> tuple[int, int] | None:
    """``"224x288"`` -> ``(224, 288)`` (height x width)."""
    if text is None or text == "":
        return None
    if isinstance(text, (tuple, list)):
        return int(text[0]), int(text[1])
    try:
        h, w = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ConfigError(f"--input-size must look like 224x288 (height x width), got {text!r}") from None
    if h < 16 or w < 16:
        raise ConfigError(f"--input-size {h}x{w} is too small; use at least 16x16")
    return h, w


def _weights(text: str) -> str | None:
    return None if text in ("none", "None") else text


@dataclass
class TrainConfig:
    """Everything a run needs; saved as the run's ``config.json``. ``None`` = from the preset."""

    project: str = option("", "the project folder to train on")
    run_dir: str | None = option(None, "run folder (default: a new folder under the project's runs/)")
    preset: str | None = option(None, "training recipe: paper (default from scratch) or finetune (default "
                                "with --init)", choices=tuple(sorted(PRESETS)))
    model_preset: str | None = option(None, "model preset for a from-scratch run (default demo; with --init the "
                                      "checkpoint fixes the model)")
    stream: str = option("rgb", "rgb: frames (spatial stream); flow: stacked TSN optical flow, 5 frame pairs = 10 "
                         "channels (temporal stream; flow is computed once into the project's flow cache). With "
                         "--init an RGB checkpoint, the flow model starts from it by TSN's cross-modality "
                         "initialization", choices=STREAMS)
    backbone: str | None = option(None, "mobilenet_v2 | small_cnn | resnet18 | resnet34 | resnet50")
    backbone_weights: str | None = option("default", "a weights file, 'imagenet', 'none', or 'default' (the model "
                                          "preset's choice)", parse=_weights)
    backbone_stride: int | None = option(None, "feature stride: 32 (paper, 9x15 grid at 270x480) or 16/8 (finer "
                                         "maps, better poses)", choices=(8, 16, 32))
    freeze_stages: str | None = option(None, "freeze the stem / the first half / the first N stages of the backbone "
                                       "(the rest trains; unlike --freeze-backbone nothing is cached)",
                                       metavar="stem|partial|N")
    pool: str | None = option(None, "part pooling (Eq. 5; default concat)", choices=("concat", "max", "mean"))
    input_size: tuple[int, int] | None = option(None, "HxW frames fed to the backbone, e.g. 224x288",
                                                parse=parse_size, metavar="HxW")
    attention: str | None = option(None, "pose attention mode (Table 1)",
                                   choices=("human-part", "separate-joint", "share-all", "none"))
    hidden: int | None = option(None, "LSTM hidden size")
    dropout: float | None = option(None, "dropout before the LSTM and the classifier")
    epochs: int | None = option(None, "passes over the training samples")
    steps: int | None = option(None, "train this many optimizer steps, however many videos there are (the epochs "
                               "follow from it; replaces --epochs)")
    minutes: float | None = option(None, "wall-clock budget: the run ends cleanly (validated, best/last written) once "
                                   "this many minutes are spent")
    lr: float | None = option(None, "learning rate")
    lr_step_epoch: int | None = option(None, "epoch at which lr drops by --lr-gamma")
    lr_gamma: float | None = option(None, "factor of the lr drop (default 0.1)")
    momentum: float | None = option(None, "SGD momentum")
    weight_decay: float | None = option(None, "weight decay")
    optimizer: str | None = option(None, "sgd (the paper's, with --momentum) or adamw", choices=("sgd", "adamw"))
    lr_schedule: str | None = option(None, "step: lr drops by --lr-gamma at --lr-step-epoch (the paper); cosine: "
                                     "from --lr down to 0 over the run's steps or its --minutes, whichever ends first",
                                     choices=("step", "cosine"))
    pose_loss: str | None = option(None, "squared: Eq. 12's squared error between attention and target (the paper); "
                                   "cross_entropy: of the attention toward the target, whose gradients do not shrink "
                                   "as 1/K on a fine grid", choices=("squared", "cross_entropy"))
    batch: int | None = option(None, "videos per mini-batch (per GPU under torchrun)")
    copies: int | None = option(None, "--model-preset labeling: augmented person crops per labeled frame whose "
                                "frozen-trunk features are cached (default 16; fewer leave more of --minutes to train)")
    train_trunk: int | None = option(None, "--model-preset labeling: also train MobileNetV2's stages from this stride "
                                     "on (32: the last stage; 16: the last three), at a tenth of --lr, on cached "
                                     "early features; better on camera views the keyframes do not show",
                                     choices=(16, 32))
    between: int | None = option(None, "--model-preset labeling: also learn from N frames between each two "
                                 "keyframes of a video at most 15 frames apart, their poses interpolated from the two "
                                 "(more poses of the person at no labeling cost; better on camera views the "
                                 "keyframes do not show)", metavar="N")
    flip_test: bool = option(False, "--model-preset labeling: the trained model reads each frame and its mirror "
                             "image and averages the two (twice the analysis time)")
    clip_len: int | None = option(None, "frames per clip, T (default 8)")
    lambda_action: float | None = option(None, "weight of the action loss (Eq. 13)")
    lambda_pose: float | None = option(None, "weight of the pose-attention loss (Eq. 13)")
    sigma_px: float = option(5.0, "std of the Gaussian pose target, in frame pixels")
    clip_grad: float | None = option(10.0, "gradient-norm clipping (the per-step sums of Eq. 11-12 spike early)")
    mirror: bool = option(True, "no mirror augmentation (the flag is --no-mirror: it defaults to on)")
    init: str | None = option(None, "fine-tune from this checkpoint")
    freeze_backbone: bool = option(False, "train attention + LSTM only, on backbone features cached in the project")
    device: str | None = option(None, "cuda, cuda:1, cpu (default: CUDA when available)")
    amp: bool = option(True, "no mixed precision on CUDA (--no-amp: it defaults to on)")
    seed: int = option(0, "random seed (clips, flips, initialization)")
    val_split: str | None = option(None, "split used for validation (default: val if present, else test)")
    checkpoint_every: int = option(0, "also write last.pt every N steps (0: at epoch ends only)")
    save_every_min: float | None = option(None, "write last.pt and the resume state at most every this many "
                                          "minutes instead of at every epoch end (always at the run's end, on a "
                                          "stop, and when best.pt improves)")
    holdout: float = option(0.1, "share of the training videos' labeled frames held out to choose best.pt when no "
                            "--val-split is given and the default one has no labels (0: none; the run then keeps "
                            "last.pt)")
    best_by: str = option("auto", "what best.pt maximizes on held-out labels: accuracy (action, PCK breaking ties), "
                          "pck (pose), or auto (accuracy when the held-out videos carry action labels and the "
                          "run trains actions, else pck)", choices=("auto", "accuracy", "pck"))
    max_steps: int | None = option(None, "stop (as finished) after this many steps in total")
    preload: bool = option(True, "do not decode small projects into RAM up front (--no-preload)")
    tensorboard: bool = option(True, "no TensorBoard logs in the run folder (--no-tensorboard; written when tensorboard is installed)")
    extra: dict[str, Any] = option(None, cli=False, factory=dict)

    def resolved(self) -> "TrainConfig":
        """A copy with the preset's values filled in for every ``None`` recipe field, checked."""
        out = dataclasses.replace(self)
        if out.preset is None:
            out.preset = "finetune" if out.init else "paper"
        if out.preset not in PRESETS:
            raise ConfigError(f"unknown training preset {out.preset!r}; choose one of {', '.join(PRESETS)}")
        for k, v in PRESETS[out.preset].items():
            if getattr(out, k) is None:
                setattr(out, k, v)
        if self.lr_step_epoch is None:
            out.lr_step_epoch = (None if out.steps else  # with --steps the drop comes at a share of the steps
                                 min(out.lr_step_epoch, max(1, int(round(out.epochs * LR_STEP_SHARE[out.preset])))))
        if out.input_size is not None:
            out.input_size = parse_size(out.input_size)
        if out.stream not in STREAMS:
            raise ConfigError(f"unknown stream {out.stream!r}; choose one of {', '.join(STREAMS)}")
        if out.stream == "flow" and out.freeze_backbone:
            raise ConfigError("--freeze-backbone caches RGB feature cubes and is not available for the flow "
                              "stream; fine-tune the flow model without it")
        for name in ("epochs", "batch", "clip_len", "steps"):
            if getattr(out, name) is not None and int(getattr(out, name)) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(out, name)})")
        for name in ("minutes", "save_every_min"):
            if getattr(out, name) is not None and not float(getattr(out, name)) > 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be positive (got {getattr(out, name)})")
        if not 0 <= float(out.holdout) < 1:
            raise ConfigError(f"--holdout is a share of the labeled frames, from 0 to below 1 (got {out.holdout})")
        if not out.lr > 0:
            raise ConfigError(f"--lr must be positive (got {out.lr})")
        if out.init:
            fixed = [k for k in INIT_FIXED if getattr(out, k) != _default(k)]
            if fixed:
                flags = ", ".join(_flag(k) for k in fixed)
                raise ConfigError(f"--init {out.init} fixes the model, so {flags} cannot apply; drop "
                                  f"{'it' if len(fixed) == 1 else 'them'} (the input size, backbone stride, "
                                  "dropout and frozen stages can change) or train from scratch without --init")
        if out.model_preset is None and not out.init:
            out.model_preset = DEFAULT_MODEL_PRESET
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


def _default(name: str) -> Any:
    f = TrainConfig.__dataclass_fields__[name]
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _flag(name: str) -> str:
    f = TrainConfig.__dataclass_fields__[name]
    if f.metadata.get("flag"):
        return f.metadata["flag"]
    stem = name.replace("_", "-")
    return f"--no-{stem}" if _default(name) is True else f"--{stem}"


def _scalar_type(annotation: Any) -> type:
    """``int | None`` -> int; ``tuple[int, int] | None`` -> tuple."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _scalar_type(args[0])
    return origin or annotation


def cli_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(TrainConfig) if f.metadata.get("cli", False)]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add one flag per :class:`TrainConfig` option (generated), then the command's own two flags."""
    hints = typing.get_type_hints(TrainConfig)
    for f in cli_fields():
        meta, kind = f.metadata, _scalar_type(hints[f.name])
        kw: dict[str, Any] = dict(help=meta["help"], dest=f.name, default=argparse.SUPPRESS)
        if kind is bool:
            kw["action"] = "store_false" if _default(f.name) is True else "store_true"
        else:
            kw["type"] = kind if kind in (int, float) and meta["parse"] is None else str
            if meta["choices"]:
                kw["choices"] = meta["choices"]
            if meta["metavar"]:
                kw["metavar"] = meta["metavar"]
        parser.add_argument(_flag(f.name), **kw)
    parser.add_argument("--resume", metavar="RUN", help="continue an interrupted run folder where it stopped")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The config the command line asked for: given flags (parsed), dataclass defaults for the rest."""
    kw: dict[str, Any] = {}
    for f in cli_fields():
        if hasattr(args, f.name):
            value = getattr(args, f.name)
            parse = f.metadata["parse"]
            kw[f.name] = parse(value) if parse is not None and isinstance(value, str) else value
    return TrainConfig(**kw)


__all__ = ["TrainConfig", "PRESETS", "STREAMS", "INIT_FIXED", "option", "parse_size", "configure_parser",
           "config_from_args"]
