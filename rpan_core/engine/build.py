"""Building the model a run trains: from a model preset, or initialized from a checkpoint.

Why apart from the loop: what the model is (preset, overrides, ``--init``, TSN's
cross-modality start for the flow stream, a classifier re-initialized for a new class
list) is decided once, before any step, and is the part a new model preset plugs
into: :data:`MODEL_BUILDERS` maps a model preset name to a function building it, so a
preset that needs more than an ``RPANConfig`` registers its own builder here instead of
growing the loop.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Callable

from rpan_core.engine.config import DEFAULT_MODEL_PRESET, TrainConfig
from rpan_core.errors import ConfigError, TrainingError

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.project import Project

#: The one class of a model trained on a project without action classes (pose-only training).
POSE_ONLY_CLASS = "(pose only)"



def _training_overrides(tc: Any) -> dict[str, Any]:
    """Model options a run sets on top of a preset or an --init checkpoint alike: dropout, freezing."""
    over: dict[str, Any] = {}
    if tc.dropout is not None:
        over["dropout"] = float(tc.dropout)
    if tc.freeze_backbone:
        over["freeze_backbone"] = "all"
    elif tc.freeze_stages:
        over["freeze_backbone"] = str(tc.freeze_stages)
    return over

def model_overrides(tc: TrainConfig, num_classes: int, skeleton: str) -> dict[str, Any]:
    """The RPANConfig fields the training config sets on top of the model preset."""
    over: dict[str, Any] = dict(num_classes=num_classes, skeleton=skeleton)
    if tc.backbone:
        over["backbone"] = tc.backbone
    if tc.backbone_weights != "default":
        over["backbone_weights"] = tc.backbone_weights
    for name in ("input_size", "attention", "hidden", "backbone_stride", "pool"):
        if getattr(tc, name):
            over[name] = tuple(tc.input_size) if name == "input_size" else getattr(tc, name)
    over.update(_training_overrides(tc))
    if tc.stream == "flow":
        over["in_channels"] = 2 * _stack_length()
    return over


def build_from_preset(tc: TrainConfig, name: str, over: dict[str, Any]) -> Any:
    """``RPAN(rpan_core.model.preset(name, **over))``: the builder of every preset without its own."""
    from rpan_core.model import RPAN, preset

    try:
        return RPAN(preset(name, **over))
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot build the {name!r} model with {over}: {exc}") from exc


#: model preset name -> ``fn(tc, name, overrides) -> model``; presets not listed use :func:`build_from_preset`.
MODEL_BUILDERS: dict[str, Callable[[TrainConfig, str, dict[str, Any]], Any]] = {}


def build_model(tc: TrainConfig, project: Project, log: Callable[[str], None] = print) -> tuple[Any, list[str], dict]:
    """(model, classes, notes): from scratch with ``tc.model_preset`` or from ``tc.init``."""
    classes = list(project.classes) or [POSE_ONLY_CLASS]  # no classes: a pose-only model (its one output unused)
    skel_name = getattr(project.skeleton, "name", project.skeleton)
    if tc.init:
        return init_from_checkpoint(tc, classes, skel_name, log)
    name = tc.model_preset or DEFAULT_MODEL_PRESET
    builder = MODEL_BUILDERS.get(name, build_from_preset)
    return builder(tc, name, model_overrides(tc, len(classes), skel_name)), classes, {}


def init_from_checkpoint(tc: TrainConfig, classes: list[str], skel_name: str,
                         log: Callable[[str], None]) -> tuple[Any, list[str], dict]:
    """The checkpoint's model with what may change on top of it (input size, stride, dropout, freezing).

    Input size and backbone stride change no weight's shape (the head's parameters act per
    cell, whatever the grid), so they are honoured; options that would change shapes are
    refused earlier, by :meth:`TrainConfig.resolved`.
    """
    from rpan_core.checkpoint import checkpoint_stream, load_checkpoint
    from rpan_core.model import RPAN, RPANConfig

    src, info = load_checkpoint(tc.init, device="cpu")
    ck_skel = getattr(info.skeleton, "name", info.skeleton)
    if ck_skel != skel_name:
        raise TrainingError(f"cannot fine-tune {tc.init}: it was trained on the {ck_skel!r} skeleton but the "
                            f"project uses {skel_name!r}; convert the project's labels or start from scratch "
                            "(no --init)")
    notes: dict[str, Any] = {}
    d = info.config.to_dict()
    d.update(num_classes=len(classes), backbone_weights=None)  # the checkpoint carries the weights
    if tc.input_size:
        d["input_size"] = list(tc.input_size)
    if tc.backbone_stride:
        d["backbone_stride"] = int(tc.backbone_stride)
    d.update(_training_overrides(tc))
    src_stream = checkpoint_stream(info)
    cross = tc.stream == "flow" and src_stream == "rgb"
    if cross:
        d["in_channels"] = 2 * _stack_length()  # TSN cross-modality initialization (below)
    elif tc.stream == "rgb" and src_stream == "flow":
        raise TrainingError(f"cannot fine-tune the RGB stream from {tc.init}: it is a flow-stream checkpoint; "
                            "pass --stream flow, or an RGB checkpoint")
    changed = {k: (info.config.to_dict()[k], d[k]) for k in ("input_size", "backbone_stride")
               if list(_as_list(info.config.to_dict()[k])) != list(_as_list(d[k]))}
    if changed:
        msg = "changed on top of the checkpoint: " + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items())
        log(msg)
        notes["init_changed"] = msg
    cfg = RPANConfig.from_dict(d)
    model = RPAN(cfg)
    state = src.state_dict()
    skip: set[str] = set()
    if list(info.classes) != classes:
        skip = classifier_names(cfg)
        msg = (f"class list differs from the checkpoint's ({len(info.classes)} -> {len(classes)} classes): "
               f"re-initializing the classifier ({', '.join(sorted(skip))})")
        log(msg)
        notes["reinit_classifier"] = msg
    if cross:
        from rpan_core.flow import cross_modality_init

        stems = cross_modality_init(model, {k: v for k, v in state.items() if k not in skip})
        msg = (f"flow stream initialized from the RGB checkpoint {tc.init} (TSN cross-modality: "
               f"{', '.join(stems) or 'no stem'} = the RGB kernels' channel mean)")
        log(msg)
        notes["cross_modality"] = msg
    else:
        own = model.state_dict()
        model.load_state_dict({k: v for k, v in state.items() if k in own and k not in skip
                               and own[k].shape == v.shape}, strict=False)
    notes["init"] = str(tc.init)
    notes["init_classes"] = list(info.classes)
    return model, classes, notes


def _as_list(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def classifier_names(cfg: Any) -> set[str]:
    """Names of the parameters whose shape depends on the class count (built on the meta device)."""
    import torch

    from rpan_core.model import RPAN, RPANConfig

    d = dict(cfg.to_dict(), backbone_weights=None)
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
    """Identity of the feature extractor (name, input size, stride, a hash of its weights): the feature cache key."""
    h = hashlib.sha1()
    h.update(json.dumps([cfg.backbone, list(cfg.input_size), getattr(cfg, "backbone_stride", None),
                         getattr(cfg, "in_channels", 3)]).encode())
    sd = model.state_dict()
    keys = [k for k in sd if k.startswith("backbone")] or list(sd)
    for k in sorted(keys):
        h.update(k.encode())
        h.update(sd[k].detach().cpu().contiguous().numpy().tobytes())
    return f"{cfg.backbone}-{h.hexdigest()[:16]}"


def features_forward(model: Any) -> Any:
    """A module whose ``forward(cube)`` runs the head only (DDP must call a module's forward)."""
    import torch.nn as nn

    class FeaturesForward(nn.Module):
        def __init__(self, m: Any) -> None:
            super().__init__()
            self.m = m

        def forward(self, cube: Any) -> Any:
            return self.m.forward_features(cube)

    return FeaturesForward(model)


def _stack_length() -> int:
    from rpan_core.flow import STACK_LENGTH

    return STACK_LENGTH


__all__ = ["MODEL_BUILDERS", "POSE_ONLY_CLASS", "DEFAULT_MODEL_PRESET", "build_model", "build_from_preset", "init_from_checkpoint",
           "model_overrides", "classifier_names", "backbone_key", "features_forward"]
