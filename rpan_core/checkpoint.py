"""Checkpoints: one file holding an RPAN's configuration, weights, classes and provenance.

Why a format of our own around ``torch.save``: a checkpoint is handed between the
command line, the studio and other people's machines, so it must say which
skeleton and classes it was trained for (a model for another skeleton must be
refused with a clear message, not mis-drawn), it must never be half-written (a
killed training run keeps the previous file), and it must load without executing
pickled code (``weights_only``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from rpan_core.atomic import remove_orphans_of, save_with
from rpan_core.errors import CheckpointError
from rpan_core.skeleton import Skeleton, SkeletonError, get_skeleton

FORMAT = "rpan-checkpoint"
VERSION = 1

#: The two streams of the paper's Table 4: RGB frames (spatial) and stacked optical flow (temporal).
STREAMS = ("rgb", "flow")


@dataclass
class CheckpointInfo:
    """What a checkpoint says about itself, besides the weights."""

    config: Any  # RPANConfig (backbone_weights cleared: the weights are in the file)
    skeleton: Skeleton
    classes: list[str]
    train_config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    path: str = ""
    card: Any = None  # rpan_core.model_card.ModelCard, or None for a checkpoint written without one


def save_checkpoint(path: str | os.PathLike, model: Any, *, classes: list[str] | tuple[str, ...],
                    train_config: dict | None = None, metrics: dict | None = None,
                    card: Any = None) -> Path:
    """Write ``model`` atomically (rpan_core.atomic: temp file, fsync, rename, temp removed on any error): a
    crash or a full disk leaves the old file or the new one, never a temp file.

    ``card`` (a :class:`rpan_core.model_card.ModelCard` or its dict) records what the model was
    trained on; without one it is made from ``train_config``'s project, once per run.
    """
    path = Path(path)
    cfg = model.cfg.to_dict()
    sk = get_skeleton(model.cfg.skeleton)
    if len(classes) != model.cfg.num_classes:
        raise CheckpointError(f"cannot save {path}: {len(classes)} class names for a model with "
                              f"{model.cfg.num_classes} outputs")
    payload = {"format": FORMAT, "version": VERSION, "config": cfg, "skeleton": sk.name, "joints": list(sk.joints),
               "classes": [str(c) for c in classes], "train_config": _plain(train_config or {}),
               "metrics": _plain(metrics or {}), "card": _card_dict(model.cfg, train_config or {}, card),
               "state": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_orphans_of(path)  # the temp file of a save killed earlier
        save_with(path, lambda fh: torch.save(payload, fh))
    except (OSError, RuntimeError) as exc:  # torch.save reports a full disk as a RuntimeError
        raise CheckpointError(f"cannot write the checkpoint {path}: {getattr(exc, 'strerror', None) or exc}; free some disk space or "
                              "choose another folder (the previous checkpoint, if any, is unchanged)") from exc
    return path


def read_checkpoint(path: str | os.PathLike) -> tuple[dict, CheckpointInfo]:
    """(state dict, info) without building the model; every way a file can be wrong is a CheckpointError."""
    from rpan_core.model import RPANConfig

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; pass the .pt file written by `rpan train` "
                              "(runs/<run>/best.pt or last.pt)")
    try:
        d = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (torch raises many types for a bad file)
        raise CheckpointError(f"{path} is not a readable RPAN checkpoint ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); it may be truncated or "
                              "another kind of file") from exc
    if not isinstance(d, dict) or "config" not in d or "state" not in d:
        hint = (" It looks like a bare state dict: to start a backbone from it use --backbone-weights."
                if isinstance(d, dict) and d and all(isinstance(v, torch.Tensor) for v in d.values()) else "")
        raise CheckpointError(f"{path} is not an RPAN checkpoint (no model configuration inside).{hint}")
    if d.get("format", FORMAT) != FORMAT or int(d.get("version", 1)) > VERSION:
        raise CheckpointError(f"{path} has checkpoint format {d.get('format')!r} version {d.get('version')}; this "
                              f"RPAN Studio reads {FORMAT!r} up to version {VERSION}: update RPAN Studio")
    cfg_d = dict(d["config"])
    known = set(RPANConfig.__dataclass_fields__)
    extra = sorted(set(cfg_d) - known)
    if extra:
        raise CheckpointError(f"{path} was written by a newer RPAN Studio (unknown model options {', '.join(extra)}); "
                              "update RPAN Studio to load it")
    try:
        cfg = replace(RPANConfig.from_dict(cfg_d), backbone_weights=None)
        sk = get_skeleton(cfg.skeleton)
    except (SkeletonError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: its model configuration is invalid ({exc})") from exc
    joints = d.get("joints")
    if joints is not None and tuple(joints) != tuple(sk.joints):
        raise CheckpointError(f"{path} was trained on a {cfg.skeleton!r} skeleton with joints {list(joints)}, which "
                              f"differs from this version's {list(sk.joints)}; it cannot be used as is")
    classes = [str(c) for c in d.get("classes", [])]
    if len(classes) != cfg.num_classes:
        raise CheckpointError(f"{path}: {len(classes)} class names for {cfg.num_classes} model outputs")
    from rpan_core.model_card import ModelCard

    info = CheckpointInfo(cfg, sk, classes, dict(d.get("train_config") or {}), dict(d.get("metrics") or {}), str(path),
                          ModelCard.from_dict(d.get("card")))
    return d["state"], info


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[Any, CheckpointInfo]:
    """(model in eval mode on ``device``, info). A file for another architecture is a CheckpointError."""
    state, info = read_checkpoint(path)
    return model_from_state(path, state, info, device), info


def model_from_state(path: str | os.PathLike, state: dict, info: CheckpointInfo,
                     device: str | torch.device = "cpu") -> Any:
    """The model of a :func:`read_checkpoint` result, in eval mode on ``device``. Separate from the
    reading so that a caller can act on ``info`` (start decoding a video at the model's input size)
    while the model is built; a file for another architecture is a CheckpointError."""
    from rpan_core.model import RPAN

    try:
        model = RPAN(info.config)
    except Exception as exc:  # noqa: BLE001 (a config this version cannot build)
        raise CheckpointError(f"{path}: cannot build its model ({exc})") from exc
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        parts = []
        for what, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
            if keys:
                parts.append(f"{len(keys)} {what} ({', '.join(keys[:4])}{', ...' if len(keys) > 4 else ''})")
        raise CheckpointError(f"{path}: its weights do not fit its own model configuration: {'; '.join(parts)}. "
                              "The file is damaged or was written by an incompatible version")
    model.load_state_dict(state)
    return model.to(device).eval()


def checkpoint_stream(info: CheckpointInfo) -> str:
    """Which input a checkpoint needs: its train_config's ``stream``, else from the model's input channels.

    Here (not in the trainer) because analysis and evaluation must pick the input a
    checkpoint was trained on without importing the training engine.
    """
    tc = getattr(info, "train_config", None) or {}
    s = tc.get("stream") if isinstance(tc, dict) else None
    if s in STREAMS:
        return s
    cfg = getattr(info, "config", None)
    return "flow" if int(getattr(cfg, "in_channels", 3) or 3) != 3 else "rgb"


def expect_skeleton(info: CheckpointInfo, skeleton: str | Skeleton, what: str = "this project") -> None:
    """Refuse a checkpoint trained for another joint set, saying how to go on."""
    want = get_skeleton(skeleton)
    if info.skeleton.name != want.name:
        raise CheckpointError(
            f"the checkpoint {info.path or ''} predicts the {info.skeleton.name!r} skeleton "
            f"({info.skeleton.num_joints} joints) but {what} uses {want.name!r} ({want.num_joints} joints); "
            f"choose a checkpoint trained on {want.name!r}, or train one with `rpan train`")


_CARDS: dict[tuple[str, str], dict] = {}


def _card_dict(cfg: Any, train_config: dict, card: Any) -> dict:
    """The card to store: the given one, else one made from the run's project (cached per run)."""
    from rpan_core.model_card import card_from_train_config

    if card is not None:
        return _plain(card.to_dict() if hasattr(card, "to_dict") else dict(card))
    key = (str(train_config.get("project") or ""), str(train_config.get("run_dir") or ""))
    if not key[0]:
        return {}
    if key not in _CARDS:
        made = card_from_train_config(cfg, train_config)
        _CARDS[key] = made.to_dict() if made is not None else {}
    return _plain(_CARDS[key])


def _plain(d: dict) -> dict:
    """JSON-like values only, so ``weights_only`` loading accepts the file."""
    def conv(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, (str, int, float, bool)) or v is None:
            return v
        if isinstance(v, os.PathLike):
            return os.fspath(v)
        if hasattr(v, "item"):
            try:
                return v.item()
            except (ValueError, RuntimeError):
                return v.tolist()
        return str(v)
    return conv(d)
