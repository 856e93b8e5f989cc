"""Few-keyframe pose training on a CPU: the ``labeling`` preset learned from a project's labeled frames.

Why a recipe of its own: a person labels every 10th frame of their own videos and
wants the frames between filled in, on a laptop, in minutes. Training the paper's
way (clips of 8 frames, the whole backbone, one optimizer step per batch of
videos) cannot adapt on a CPU. Here:

* every labeled frame becomes ``copies`` augmented person crops (scale, rotation,
  shift, left/right flip WITH the skeleton's joint swap, colour), each an
  aspect-preserving :class:`rpan_core.geometry.Window` around the labels' box;
* with ``between=N`` (``--between``) also N frames between each two keyframes a few
  frames apart, their poses interpolated (:func:`interpolated_keyframes`): more poses
  of the person at no labeling cost, which placed arms far better on a camera view
  the keyframes never showed (docs/real_video.md);
* the frozen ImageNet trunk's stride-4..32 taps of all crops are computed ONCE and
  kept (float16) in memory;
* only the neck and the RPAN head train (with ``train_trunk=32`` also the trunk's
  stride-32 stage, at a tenth of the learning rate, run each step on the cached
  stride-16 features: it costs little at 8 x 6 cells, and on a camera view the
  keyframes never showed it placed arms far better, docs/real_video.md), for a time
  budget (``minutes``) or a step count, pose-only: one time step per crop from a zero LSTM state, the attention
  (softmax over the 64 x 48 cells plus the dummy) pulled toward the Gaussian target
  by cross-entropy (the paper's squared error has gradients about 1/K as large on a
  grid this fine). ``A_h`` starts at zero so the attention does not depend on an
  LSTM state it was never trained with;
* ``best.pt`` is chosen by PCK@0.1 on labeled frames of videos outside the training
  split; without such frames the run says so and keeps ``last.pt`` only;
  ``last.pt`` is written per time interval and at the end, as float16 weights
  (a few MB);
* the same recipe runs on a GPU when there is one (``--device``, as ``rpan train``
  everywhere): the cached features stay on the device, checkpoints are written from
  a CPU copy, so they load anywhere.
"""
from __future__ import annotations

import copy
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from rpan_core.crops import MARGIN
from rpan_core.errors import ConfigError, TrainingError
from rpan_core.geometry import Window, augmentation, pose_box


@dataclass
class KeyframeConfig:
    """What a few-keyframe run needs; the rest comes from the ``labeling`` preset."""

    project: str
    minutes: float | None = 8.0
    steps: int | None = None
    copies: int = 16
    batch: int = 8
    lr: float = 4e-3
    sigma_px: float = 6.0  # target Gaussian std in input pixels (1.5 cells at stride 4)
    seed: int = 0
    input_size: tuple[int, int] = (256, 192)
    stride: int = 4
    init: str | None = None  # a labeling checkpoint to continue from
    run_dir: str | None = None
    save_every_s: float = 60.0
    threads: int | None = None
    device: str | None = None  # None/'auto': CUDA when there is one (rpan_core.device.pick_device)
    splits: tuple[str, ...] = ("train",)
    eval_every_s: float = 60.0
    min_steps: int = 10  # even when caching used up the time budget: an untrained head is no use
    train_neck: bool = True  # False (--freeze-backbone): only the RPAN head (attention + LSTM) trains
    aug_scale: float = 0.25  # zoom by 2 ** U(-aug_scale, aug_scale)
    aug_rotate: float = 30.0  # rotate by U(-aug_rotate, aug_rotate) degrees
    aug_aspect: float = 0.0  # also squeeze or stretch the width by 2 ** U(-aug_aspect, aug_aspect)
    aug_flip: float = 0.5  # share of the augmented crops mirrored (with the skeleton's left/right joint swap)
    train_trunk: int | None = None  # 16 or 32: the trunk's stages from that stride on train too (lr x trunk_lr)
    trunk_lr: float = 0.1
    flip_test: bool = False  # the saved model averages each frame's reading with the mirrored frame's
    between: int = 0  # frames taken between two keyframes of a video, their poses interpolated from the two
    between_gap: int = 15  # ... only where the two keyframes are at most this many frames apart
    extra: dict = field(default_factory=dict)


@dataclass
class Keyframe:
    path: str
    frame: int
    xy: np.ndarray  # J x 2 frame pixels
    visible: np.ndarray  # J bool
    labeled: np.ndarray  # J bool


def project_keyframes(project: Any, splits: Sequence[str], num_joints: int) -> list[Keyframe]:
    """Labeled frames (with at least two visible joints) of every person in the project's videos in ``splits``."""
    out = []
    for r in project.videos():
        if r.split not in splits:
            continue
        persons = [p.id for p in project.persons(r.id)] if hasattr(project, "persons") else [1]
        for pid in persons or [1]:
            out += _person_keyframes(project, r, pid, num_joints)
    return out


def _person_keyframes(project: Any, r: Any, person: int, num_joints: int) -> list[Keyframe]:
    la = project.video_labels(r.id, person) if hasattr(project, "persons") else project.video_labels(r.id)
    frames = np.asarray(la.frames, dtype=np.int64).reshape(-1)
    xy = np.asarray(la.xy, dtype=np.float64).reshape(-1, num_joints, 2)
    vis = np.asarray(la.visible, dtype=bool).reshape(-1, num_joints)
    lab = getattr(la, "labeled", None)
    lab = np.ones_like(vis) if lab is None else np.asarray(lab, dtype=bool).reshape(-1, num_joints)
    return [Keyframe(str(r.path), int(f), xy[i], vis[i] & lab[i], lab[i]) for i, f in enumerate(frames)
            if (vis[i] & lab[i]).sum() >= 2 and 0 <= f < max(int(r.frame_count or 0), 1)]


def interpolated_keyframes(keys: Sequence[Keyframe], between: int, max_gap: int = 15) -> list[Keyframe]:
    """``between`` frames evenly spaced between each two consecutive keyframes of a video (at most ``max_gap``
    frames apart), their poses linearly interpolated (the joints labeled and visible on both).

    Why: keyframes every 10th frame of two camera views are 20 poses; a view the model never saw was read
    with arms on things beside the person. The frames between keyframes show the same person in poses the
    keyframes do not (the motion between them), at no labeling cost: interpolating keyframes a few frames
    apart is within a few percent of the body's size (docs/real_video.md), far inside what an unseen view
    gets wrong.
    """
    out: list[Keyframe] = []
    by_video: dict[str, list[Keyframe]] = {}
    for k in keys:
        by_video.setdefault(k.path, []).append(k)
    for ks in by_video.values():
        ks = sorted(ks, key=lambda k: k.frame)
        for a, b in zip(ks, ks[1:]):
            gap = b.frame - a.frame
            if gap < 2 or gap > max_gap:
                continue
            frames = sorted({int(round(a.frame + gap * (i + 1) / (between + 1))) for i in range(between)}
                            - {a.frame, b.frame})
            for f in frames:
                t = (f - a.frame) / gap
                vis = a.visible & b.visible
                if vis.sum() >= 2:
                    out.append(Keyframe(a.path, f, (1 - t) * a.xy + t * b.xy, vis, a.labeled & b.labeled))
    return out


def _read_frames(keys: Sequence[Keyframe]) -> list[np.ndarray]:
    from rpan_core.video import open_video

    frames: list[np.ndarray | None] = [None] * len(keys)
    by_path: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        by_path.setdefault(k.path, []).append(i)
    for path, idx in by_path.items():
        with open_video(path, cache_mb=64) as v:
            for i in sorted(idx, key=lambda i: keys[i].frame):
                frames[i] = np.array(v.frame(keys[i].frame))
    return frames  # type: ignore[return-value]


def _colour(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and saturation jitter (a pose must not depend on the lighting)."""
    x = img.astype(np.float32)
    grey = x.mean(-1, keepdims=True)
    x = grey + (x - grey) * rng.uniform(0.6, 1.4)
    x = (x - x.mean()) * rng.uniform(0.7, 1.3) + x.mean() * rng.uniform(0.7, 1.3)
    return np.clip(x, 0, 255).astype(np.uint8)


def _squeeze(input_size: tuple[int, int], factor: float) -> np.ndarray:
    """Scale the width by ``factor`` about the input's centre: a body seen from another angle is narrower or
    wider (shoulders foreshortened in a three-quarter view), which no zoom or rotation shows."""
    w = input_size[1]
    return np.array([[factor, 0.0, (1 - factor) * w / 2], [0.0, 1.0, 0.0]])


def crops_of(keys: Sequence[Keyframe], frames: Sequence[np.ndarray], copies: int, input_size: tuple[int, int],
             flip_index: Sequence[int], rng: np.random.Generator, colour: bool = True, scale: float = 0.25,
             rotate_deg: float = 30.0, aspect: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images N x h x w x 3 uint8, joints N x J x 2 input pixels, visible N x J) for ``copies`` crops of each
    keyframe; the first copy of each is the plain crop, the others augmented (half of them flipped)."""
    return labeled_crops(keys, frames, copies, input_size, flip_index, rng, colour=colour, scale=scale,
                         rotate_deg=rotate_deg, aspect=aspect)[:3]


def labeled_crops(keys: Sequence[Keyframe], frames: Sequence[np.ndarray], copies: int, input_size: tuple[int, int],
                  flip_index: Sequence[int], rng: np.random.Generator, colour: bool = True, scale: float = 0.25,
                  rotate_deg: float = 30.0, aspect: float = 0.0, flip_prob: float = 0.5
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`crops_of` plus ``labeled`` N x J: which joints the person actually labeled (swapped with the
    joints on flipped crops).

    Why: a joint with no label is unknown, not absent. Trained as "not visible" it would
    pull the joint's attention to the dummy cell on every partly labeled frame; the loss
    leaves it out instead. Joints marked not visible are labels and still train the dummy.
    """
    imgs, xys, viss, labs = [], [], [], []
    fi = np.asarray(flip_index)
    for k, fr in zip(keys, frames):
        box = pose_box(k.xy, k.visible)
        if box is None:
            continue
        base = Window.around_box(box, input_size, MARGIN)
        for c in range(copies):
            win, vis, lab, flip = base, k.visible.copy(), k.labeled.copy(), False
            if c > 0:
                win = base.then(augmentation(input_size, rng, scale=scale, rotate_deg=rotate_deg))
                if aspect > 0:
                    win = win.then(_squeeze(input_size, 2.0 ** rng.uniform(-aspect, aspect)))
                flip = rng.random() < flip_prob
                if flip:
                    win = win.flipped()
            img = win.warp(fr)
            if c > 0 and colour:
                img = _colour(img, rng)
            p = win.to_input(k.xy)
            if flip:
                p, vis, lab = p[fi], vis[fi], lab[fi]
            imgs.append(img)
            xys.append(p.astype(np.float32))
            viss.append(vis)
            labs.append(lab)
    if not imgs:
        raise TrainingError("no labeled frame has two or more visible joints to place a person crop; label some "
                            "keyframes first")
    return np.stack(imgs), np.stack(xys), np.stack(viss), np.stack(labs)


@torch.no_grad()
def trunk_taps(model: Any, images: np.ndarray, batch: int = 32, split: int | None = None) -> list[torch.Tensor]:
    """The frozen trunk's taps for every image, float16, kept in memory (computed once per run).

    With ``split`` (a trunk block index, :meth:`MobileNetV2FPN.split_at`) only the blocks before it are
    frozen: the taps before it and the input of block ``split`` are kept, and :func:`batch_taps` runs the
    rest of the trunk each step.
    """
    bb = model.backbone
    dev = next(model.parameters()).device
    out: list[list[torch.Tensor]] = []
    was = bb.training
    bb.eval()
    for s in range(0, len(images), batch):
        x = model.preprocess(images[s:s + batch][None])[0].to(dev)
        out.append([t.half() for t in (bb.taps(x) if split is None else bb.taps_before(x, split))])
    bb.train(was)
    return [torch.cat([o[i] for o in out]) for i in range(len(out[0]))]


def batch_taps(model: Any, cached: list[torch.Tensor], idx: torch.Tensor, split: int | None) -> list[torch.Tensor]:
    """The taps of crops ``idx``: cached ones, plus the trainable deep stages run on their cached input."""
    t = [c[idx] for c in cached]
    if split is None:
        return t
    return t[:-1] + model.backbone.taps_after(t[-1].float(), split)


def pose_loss(att: torch.Tensor, dummy: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the attention (K cells + dummy) toward the Gaussian targets, mean over labeled joints."""
    a = torch.cat([att.flatten(-2), dummy[..., None]], -1).clamp_min(1e-12)
    ce = -(targets * a.log()).sum(-1)
    m = mask.float()
    return (ce * m).sum() / m.sum().clamp_min(1)


def new_model(kc: KeyframeConfig, skeleton: str, classes: Sequence[str]) -> Any:
    from rpan_core.checkpoint import expect_skeleton, load_checkpoint
    from rpan_core.model import RPAN, preset

    if kc.init:
        model, info = load_checkpoint(kc.init)
        expect_skeleton(info, skeleton, "the project")
        if model.cfg.backbone != "mobilenet_v2_fpn":
            raise ConfigError(f"--init {kc.init} is a {model.cfg.backbone} model; few-keyframe training continues "
                              "only a labeling-preset checkpoint (or starts from ImageNet without --init)")
        model.cfg.flip_test = bool(kc.flip_test)
        return model
    cfg = preset("labeling", skeleton=skeleton, num_classes=max(1, len(classes)), input_size=tuple(kc.input_size),
                 backbone_stride=kc.stride, flip_test=bool(kc.flip_test))
    model = RPAN(cfg)
    with torch.no_grad():
        model.A_h.zero_()  # pose-only: attention independent of an LSTM state never trained (stays 0: h_0 = 0)
    return model


def save_small(path: Path, model: Any, classes: Sequence[str], train_config: dict, metrics: dict) -> Path:
    """A checkpoint with float16 weights (a few MB); loading converts back to the model's float32."""
    from rpan_core.checkpoint import save_checkpoint

    half = copy.deepcopy(model).cpu().half()
    return save_checkpoint(path, half, classes=list(classes), train_config=train_config, metrics=metrics)


def held_out_pck(model: Any, keys: Sequence[Keyframe], frames: Sequence[np.ndarray], alpha: float = 0.1) -> float:
    """PCK@alpha of single-frame predictions on crops around the labels' boxes (box side = labels' extent)."""
    from rpan_core.targets import decode_quadratic

    size = tuple(model.cfg.input_size)
    dev = next(model.parameters()).device
    ok = tot = 0
    model.eval()
    with torch.no_grad():
        for k, fr in zip(keys, frames):
            box = pose_box(k.xy, k.visible)
            if box is None:
                continue
            win = Window.around_box(box, size, MARGIN)
            x = model.preprocess(win.warp(fr)[None, None]).to(dev)
            out, _ = model.step(x[:, 0], model.init_state(1))
            xy = win.to_frame(decode_quadratic(out.attention[0].cpu(), size)[0].numpy())
            side = max(box[2] - box[0], box[3] - box[1])
            d = np.linalg.norm(xy - k.xy, axis=-1)
            ok += int(((d <= alpha * side) & k.visible).sum())
            tot += int(k.visible.sum())
    return ok / max(tot, 1)


def train_keyframes(kc: KeyframeConfig, say: Callable[[str], None] | None = None) -> Path:
    """Train the labeling preset on the project's keyframes; returns the run folder (``last.pt``, maybe ``best.pt``)."""
    from rpan_core.device import pick_device
    from rpan_core.project import Project
    from rpan_core.runlog import EventLog, new_run_dir
    from rpan_core.skeleton import get_skeleton
    from rpan_core.targets import joint_targets

    if kc.threads:
        torch.set_num_threads(int(kc.threads))
    if kc.minutes is None and kc.steps is None:
        raise ConfigError("give a time budget (--minutes) or a step count (--steps)")
    if kc.minutes is not None and kc.minutes <= 0 or kc.steps is not None and kc.steps <= 0:
        raise ConfigError("--minutes and --steps must be positive")
    device = pick_device(kc.device)  # before anything is written: a wrong --device is one clear line
    t_start = time.time()
    project = Project.open(kc.project)
    sk = get_skeleton(project.skeleton)
    classes = list(project.classes) or ["unlabeled"]
    run = Path(kc.run_dir) if kc.run_dir else new_run_dir(project.runs_dir)
    run.mkdir(parents=True, exist_ok=True)
    log = EventLog(run / "events.jsonl")

    def note(msg: str) -> None:
        (say or (lambda m: print(f"rpan train: {m}", file=sys.stderr, flush=True)))(msg)
        with open(run / "log.txt", "a", encoding="utf-8") as fh:
            fh.write(msg + "\n")

    try:
        keys = project_keyframes(project, kc.splits, sk.num_joints)
        val_keys = project_keyframes(project, [s for s in ("val", "test") if s not in kc.splits], sk.num_joints)
        if not keys:
            raise TrainingError(f"the project {kc.project} has no labeled frames in the {'/'.join(kc.splits)} split; "
                                "label some keyframes (or import them) first")
        if kc.between > 0:
            extra = interpolated_keyframes(keys, kc.between, kc.between_gap)
            note(f"{len(extra)} frames between keyframes at most {kc.between_gap} frames apart, poses interpolated")
            keys = keys + extra
        rng = np.random.default_rng(kc.seed)
        torch.manual_seed(kc.seed)
        model = new_model(kc, sk.name, classes).to(device)
        if len(classes) != model.cfg.num_classes:
            classes = (list(classes) + [f"class{i}" for i in range(model.cfg.num_classes)])[:model.cfg.num_classes]
        size, grid = tuple(model.cfg.input_size), model.grid
        tcfg = {"recipe": "keyframes", **{k: v for k, v in asdict(kc).items() if k != "extra"}, "clip_len": 1}
        (run / "config.json").write_text(json.dumps({"model": model.cfg.to_dict(), "train": tcfg}, indent=1))
        log.write("start", config=tcfg, keyframes=len(keys), held_out=len(val_keys))
        note(f"{len(keys)} frames x {kc.copies} crops on {device}; caching the frozen trunk's features")
        frames = _read_frames(keys)
        imgs, xys, viss, labs = labeled_crops(keys, frames, kc.copies, size, sk.flip_index, rng, scale=kc.aug_scale,
                                              rotate_deg=kc.aug_rotate, aspect=kc.aug_aspect, flip_prob=kc.aug_flip)
        del frames
        split = model.backbone.split_at(int(kc.train_trunk)) if kc.train_trunk else None
        taps = trunk_taps(model, imgs, split=split)
        del imgs
        n = len(xys)
        xy_t, vis_t, lab_t = torch.from_numpy(xys), torch.from_numpy(viss), torch.from_numpy(labs)
        left = kc.minutes - (time.time() - t_start) / 60 if kc.minutes else None
        what = ("head (neck frozen)" if not kc.train_neck else
                f"neck, head and the trunk from stride {kc.train_trunk}" if split is not None else "neck and head")
        note(f"{n} crops cached in {time.time() - t_start:.0f} s; training the {what} "
             f"({'%.1f min left of the %g min budget' % (max(left, 0), kc.minutes) if kc.minutes else ''}"
             f"{' / ' if kc.minutes and kc.steps else ''}{'%d steps' % kc.steps if kc.steps else ''})")
        val_frames = _read_frames(val_keys) if val_keys else []
        if not val_keys:
            note("no labeled frames outside the training split: no best.pt is chosen, last.pt is the result")
        if not kc.train_neck:  # head only: the pyramid neck stays as it is (from --init, or as initialized)
            for p in model.backbone.parameters():
                p.requires_grad_(False)
        trunk_params: list[torch.nn.Parameter] = []
        if split is not None and kc.train_neck:  # the deep stages train (their BatchNorm statistics stay ImageNet's)
            for layer in model.backbone.trunk.features[split:]:
                for p in layer.parameters():
                    p.requires_grad_(True)
                    trunk_params.append(p)
        ids = {id(p) for p in trunk_params}
        params = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
        groups = [{"params": params, "scale": 1.0}] + ([{"params": trunk_params, "scale": kc.trunk_lr}]
                                                       if trunk_params else [])
        opt = torch.optim.AdamW(groups, lr=kc.lr, weight_decay=1e-4)
        t0 = time.time()  # the budget covers the whole run, feature caching included (what a user waits for)
        budget = max(kc.minutes * 60 - (t0 - t_start), 1e-3) if kc.minutes else None
        if budget is not None and budget < 0.2 * kc.minutes * 60:
            note(f"caching took {t0 - t_start:.0f} s of the {kc.minutes:g} min budget; fewer --copies leave more "
                 "time to train")
        step, last_save, last_eval, best = 0, t0, t0, -1.0
        ema = None

        def progress() -> float:
            f = []
            if budget:
                f.append((time.time() - t0) / budget)
            if kc.steps:
                f.append(step / kc.steps)
            return max(f)

        def checkpoint(final: bool = False) -> None:
            nonlocal best, last_eval
            metrics = {"step": step, "loss": ema, "crops": n}
            if val_keys and (final or time.time() - last_eval >= kc.eval_every_s):
                last_eval = time.time()
                p = held_out_pck(model, val_keys, val_frames)
                metrics["val_pck@0.1"] = p
                log.write("val", step=step, pck=p)
                if p > best:
                    best = p
                    save_small(run / "best.pt", model, classes, tcfg, metrics)
                model.train()
            save_small(run / "last.pt", model, classes, tcfg, metrics)

        model.train()
        while progress() < 1.0 or step < min(kc.min_steps, kc.steps or kc.min_steps):
            idx = torch.from_numpy(rng.integers(0, n, kc.batch))
            cube = model.backbone.neck(batch_taps(model, taps, idx.to(device), split))
            out, _ = model.step_features(cube, model.init_state(len(idx)))
            tg = joint_targets(xy_t[idx], vis_t[idx], size, grid, sigma_px=kc.sigma_px).to(device)
            loss = pose_loss(out.attention, out.dummy, tg, lab_t[idx].to(device))  # unlabeled joints are unknown: no loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            lr = kc.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress())))
            for g in opt.param_groups:
                g["lr"] = lr * g["scale"]
            opt.step()
            step += 1
            lv = float(loss.detach())
            ema = lv if ema is None else 0.95 * ema + 0.05 * lv
            if step % 20 == 0:
                log.write("step", step=step, loss=ema, lr=lr, seconds=time.time() - t0)
            if time.time() - last_save >= kc.save_every_s:
                checkpoint()
                last_save = time.time()
        checkpoint(final=True)
        msg = (f"{step} steps in {time.time() - t0:.0f} s (loss {ema or float('nan'):.3f}); " +
               (f"best held-out PCK@0.1 {best:.3f}: {run / 'best.pt'}" if val_keys else f"weights: {run / 'last.pt'}"))
        note(msg)
        log.write("end", status="finished", message=msg, step=step,
                  best_checkpoint=str(run / "best.pt") if (run / "best.pt").exists() else None)
        return run
    except BaseException as exc:
        log.write("end", status="cancelled" if isinstance(exc, KeyboardInterrupt) else "failed", message=str(exc))
        raise
    finally:
        log.close()
        project.close()


def cli_main(args: Any) -> int:
    """``rpan train --model-preset labeling``: the few-keyframe recipe on the project's labeled frames."""
    if not args.project:
        raise ConfigError("rpan train --model-preset labeling needs --project DIR")
    if getattr(args, "resume", None):
        raise ConfigError("a labeling run is not resumed; start it again (continue its weights with --init RUN/last.pt)")
    minutes = getattr(args, "minutes", None)
    steps = getattr(args, "steps", None) or getattr(args, "max_steps", None)
    if minutes is None and steps is None:
        minutes = 8.0
    kc = KeyframeConfig(project=args.project, minutes=minutes, steps=steps, copies=getattr(args, "copies", None) or 16,
                        batch=getattr(args, "batch", None) or 8, lr=getattr(args, "lr", None) or 4e-3,
                        seed=getattr(args, "seed", 0) or 0, init=getattr(args, "init", None),
                        run_dir=getattr(args, "run_dir", None), input_size=tuple(_input(args) or (256, 192)),
                        stride=getattr(args, "backbone_stride", None) or 4,
                        train_neck=not getattr(args, "freeze_backbone", False),
                        train_trunk=getattr(args, "train_trunk", None),
                        flip_test=bool(getattr(args, "flip_test", False)), device=getattr(args, "device", None),
                        between=_between(getattr(args, "between", None)))
    run = train_keyframes(kc)
    print(f"run folder: {run}")
    best = run / "best.pt"
    print(f"{'best' if best.exists() else 'last'} checkpoint: {best if best.exists() else run / 'last.pt'}")
    return 0


def _between(n: Any) -> int:
    if n is None:
        return 0
    if int(n) < 0 or int(n) > 30:
        raise ConfigError(f"--between {n}: give 0 (keyframes only) to 30 frames between two keyframes")
    return int(n)


def _input(args: Any) -> tuple[int, int] | None:
    text = getattr(args, "input_size", None)
    if not text:
        return None
    try:
        h, w = (int(v) for v in text) if isinstance(text, (tuple, list)) else (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ConfigError(f"--input-size must look like 256x192 (height x width), got {text!r}") from None
    if h % 32 or w % 32:
        raise ConfigError(f"--input-size {h}x{w}: the labeling preset needs multiples of 32 (e.g. 256x192)")
    return h, w
