"""The model's card: what a checkpoint was trained on, and how far a video is from it.

Why: a checkpoint's poses and captions look equally confident on any video. A model
trained on synthetic stick figures gives nonsense on a real person, and one trained on
small landscape clips is unreliable on a tall portrait phone video. The card travels
inside the checkpoint (``save_checkpoint(card=...)``), so the studio can show where the
model comes from and say plainly when the open video is far from its training data,
instead of presenting the poses as estimates.

No Qt here: the studio only formats :func:`card_lines` and :func:`mismatch_warnings`.
"""
from __future__ import annotations

import datetime as _dt
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

#: A folder whose videos were rendered by ``rpan_core.synth`` holds this (empty) file.
SYNTH_MARKER = ".rpan-synthetic"

#: Fewer labeled frames than this: the model's poses are rough guesses, and the view says so.
FEW_FRAMES = 10
#: Ratio of sizes / aspects beyond which a video counts as far from the training data.
FAR_SIZE = 2.0
FAR_ASPECT = 1.5


@dataclass
class ModelCard:
    """What a checkpoint was trained on (every field plain JSON, so ``weights_only`` loads it)."""

    project: str = ""
    videos: int = 0
    labeled_frames: int = 0
    skeleton: str = ""
    classes: list[str] = field(default_factory=list)
    input_size: list[int] = field(default_factory=list)  # [H, W] of the network input
    frame_sizes: list[list[int]] = field(default_factory=list)  # [[W, H, number of videos], ...]
    source: str = "unknown"  # synthetic | real | mixed | unknown
    created: str = ""  # ISO date (UTC)
    preset: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "ModelCard | None":
        if not isinstance(d, dict) or not d:
            return None
        known = set(cls.__dataclass_fields__)
        try:
            return cls(**{k: v for k, v in d.items() if k in known})
        except TypeError:
            return None

    @property
    def is_synthetic(self) -> bool:
        return self.source == "synthetic"


def mark_synthetic(folder: str | os.PathLike) -> None:
    """Mark ``folder`` as holding videos rendered by ``rpan_core.synth``."""
    p = Path(folder)
    p.mkdir(parents=True, exist_ok=True)
    (p / SYNTH_MARKER).touch()


def video_origin(path: str | os.PathLike) -> str:
    """``synthetic`` for a video rendered by ``rpan_core.synth`` (its folder is marked), else ``real``."""
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    return "synthetic" if (folder / SYNTH_MARKER).exists() or (folder.parent / SYNTH_MARKER).exists() else "real"


def held_out_count(n_labeled: int, share: float) -> int:
    """How many of a training video's ``n_labeled`` labeled frames a run holds out for validation when the
    validation split has no labels (``--holdout share``): ``int(n * share)``, and none when that is 0 or would
    leave no frame to train on. The one rule for :func:`rpan_core.engine.data.hold_out_frames` and the card."""
    m = int(n_labeled * share)
    return m if m >= 1 and n_labeled - m >= 1 else 0


def card_from_project(project: Any, config: Any, *, preset: str = "", note: str = "",
                      video_ids: Iterable[int] | None = None, held_out_split: str | None = None,
                      splits: Iterable[str] | None = None, holdout: float = 0.0) -> ModelCard:
    """The card of a model with ``config`` (an RPANConfig) trained on ``project``'s labeled videos.

    ``splits``: the splits the trainer learns from (default: every split but ``held_out_split``);
    ``holdout``: the share of each training video's labeled frames the trainer held out for validation
    (:func:`held_out_count`), which the card does not count as learned from.
    """
    ids = None if video_ids is None else set(video_ids)
    wanted = None if splits is None else set(splits)
    recs = [r for r in project.videos() if (ids is None or r.id in ids) and r.split != held_out_split
            and (wanted is None or r.split in wanted)]
    used, frames, sizes, origins = 0, 0, {}, set()
    for r in recs:
        n = len(project.labeled_frames(r.id, person=None))
        if n == 0 and not r.action:
            continue
        used += 1
        frames += n - held_out_count(n, holdout)
        sizes[(int(r.width), int(r.height))] = sizes.get((int(r.width), int(r.height)), 0) + 1
        origins.add(video_origin(r.path))
    source = "unknown" if not origins else origins.pop() if len(origins) == 1 else "mixed"
    return ModelCard(project=Path(project.folder).name, videos=used, labeled_frames=frames,
                     skeleton=str(config.skeleton), classes=[str(c) for c in project.classes],
                     input_size=[int(v) for v in config.input_size],
                     frame_sizes=[[w, h, n] for (w, h), n in sorted(sizes.items(), key=lambda kv: -kv[1])],
                     source=source, created=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                     preset=preset, note=note)


def card_from_train_config(config: Any, train_config: dict) -> ModelCard | None:
    """The card of a training run from its config's project (None when the project cannot be read).

    It counts what the run learned from: the training split's labeled frames (the few-keyframe recipe:
    its ``splits``), less the frames the engine holds out when the validation split has no labels.
    """
    folder = train_config.get("project") if isinstance(train_config, dict) else None
    if not folder:
        return None
    from rpan_core.errors import RPANError
    from rpan_core.project import Project

    keyframes = train_config.get("recipe") == "keyframes"
    splits = list(train_config.get("splits") or ["train"]) if keyframes else ["train"]
    try:
        with Project.open(folder) as project:
            holdout = 0.0
            if not keyframes and not train_config.get("val_split"):
                names = {r.split for r in project.videos()}
                val = "val" if "val" in names else "test"
                if not any(project.labeled_frames(r.id, person=None) for r in project.videos() if r.split == val):
                    holdout = float(train_config.get("holdout") or 0.0)
            preset = str(train_config.get("model_preset") or ("labeling" if keyframes else ""))
            return card_from_project(project, config, preset=preset, splits=splits, holdout=holdout)
    except (RPANError, OSError):
        return None


def card_lines(card: ModelCard | None) -> list[tuple[str, str]]:
    """(field, value) rows for display; a checkpoint without a card says so."""
    if card is None:
        return [("Provenance", "unknown: this checkpoint carries no model card (written by an older version)")]
    sizes = ", ".join(f"{w}x{h} ({n})" for w, h, n in card.frame_sizes[:4]) or "unknown"
    src = {"synthetic": "synthetic figures (rpan synth)", "real": "real video", "mixed": "synthetic and real video"}
    return [("Trained on", src.get(card.source, "unknown source")),
            ("Project", card.project or "unknown"),
            ("Videos", str(card.videos)),
            ("Labeled frames", str(card.labeled_frames)),
            ("Skeleton", card.skeleton),
            ("Classes", ", ".join(card.classes) if card.classes else "none (pose only)"),
            ("Input (H x W)", " x ".join(str(v) for v in card.input_size) or "unknown"),
            ("Video sizes (W x H)", sizes),
            ("Preset", card.preset or "unknown"),
            ("Date", card.created or "unknown")] + ([("Note", card.note)] if card.note else [])


def mismatch_warnings(card: ModelCard | None, width: int, height: int, origin: str) -> list[str]:
    """Plain sentences saying why this model's poses on this video are not estimates (empty: none)."""
    if card is None:
        return []
    if card.is_synthetic and origin == "real":
        return ["Demo model trained on synthetic figures — its poses on this real video are not estimates"
                if card.preset == "demo" else
                "Model trained on synthetic figures only — its poses on this real video are not estimates"]
    out = []
    if card.frame_sizes and width > 0 and height > 0:
        w0, h0, _ = card.frame_sizes[0]
        a, a0 = width / height, w0 / max(h0, 1)
        if max(a / a0, a0 / a) > FAR_ASPECT:
            out.append(f"This video's shape ({width}x{height}) is far from the training videos' ({w0}x{h0}): "
                       "treat its poses with care")
        elif max(width / w0, w0 / width, height / h0, h0 / height) > FAR_SIZE * 2:
            out.append(f"This video's size ({width}x{height}) is far from the training videos' ({w0}x{h0})")
    if card.source == "real" and origin == "synthetic":
        out.append("Model trained on real video, shown on a synthetic clip")
    if 0 < card.labeled_frames < FEW_FRAMES:
        n = card.labeled_frames
        out.append(f"Model trained on only {n} labeled frame{'s' if n > 1 else ''}: its poses are rough guesses "
                   "to correct, not estimates")
    return out


__all__ = ["ModelCard", "SYNTH_MARKER", "mark_synthetic", "video_origin", "card_from_project",
           "card_from_train_config", "card_lines", "mismatch_warnings", "held_out_count"]
