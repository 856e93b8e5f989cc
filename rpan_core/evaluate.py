"""Accuracy, confusion matrix and PCK@0.2 of a checkpoint on a project split (``rpan eval``).

Why through :func:`rpan_core.analyze.analyze_video`: evaluation needs exactly what the
studio shows, the paper's video-level prediction (8 equally spaced frames, the
last step) and per-frame poses decoded from attention, and analyses are cached by
video and checkpoint, so evaluating after the studio looked at the videos (or
twice) costs nothing. PCK follows PennAction: a joint is right when it lies within
0.2 x max(bbox width, height) of the label; the bbox is the labels' own bounding
box since the project stores none. Both the paper's arg-max decode and the
sub-cell refined decode are reported.

The confusion-matrix figure (like the paper's Fig. 4) is drawn with OpenCV so the
engine needs no plotting library.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from rpan_core.errors import ProjectError


def _open_project(project: Any) -> Any:
    if isinstance(project, (str, os.PathLike)):
        from rpan_core.project import Project

        return Project.open(project)
    return project


def evaluate(checkpoint: str | os.PathLike, project: Any, split: str = "test", *, device: str | None = None,
             png: str | os.PathLike | None = None, progress: Callable[..., Any] | None = None,
             cancel: Any = None, alpha: float = 0.2, flow_checkpoint: str | os.PathLike | None = None,
             fuse: Any = None) -> dict[str, Any]:
    """Evaluate ``checkpoint`` on the ``split`` videos of ``project``; a JSON-able dict.

    Keys: ``accuracy``, ``per_class_accuracy`` (class -> accuracy or None),
    ``confusion`` (C x C counts, rows true, columns predicted), ``classes``,
    ``videos``, ``pck`` ({"argmax"|"refined": {"mean", "per_joint"}}), ``joints``,
    ``predictions`` (per video), and ``confusion_png`` when ``png`` is given.

    Two streams: with ``flow_checkpoint`` (a flow-stream checkpoint; ``checkpoint`` is
    then the RGB one) each video is analyzed under both and the streams' video
    probabilities are fused with ``fuse`` (spatial:temporal, ``"1:2"`` or a pair;
    default 1:2). ``accuracy``, the confusion matrix and ``predictions`` are then the
    fused ones; ``stream_accuracy`` gives ``rgb``, ``flow`` and ``fused``, each
    prediction carries both streams' ``video_probs``, and PCK is the RGB stream's.
    """
    from rpan_core.analyze import analyze_two_stream, analyze_video
    from rpan_core.fusion import DEFAULT_WEIGHTS, parse_weights
    from rpan_core.checkpoint import read_checkpoint
    from rpan_core.skeleton import get_skeleton
    from rpan_core.targets import pck
    from rpan_core.targets import label_bbox

    project = _open_project(project)
    _, info = read_checkpoint(checkpoint)  # what it is, without building the model
    ck_classes = list(info.classes)
    ck_skel = getattr(info.skeleton, "name", info.skeleton)
    p_skel = getattr(project.skeleton, "name", project.skeleton)
    skeleton = get_skeleton(p_skel)
    recs = [r for r in project.videos() if r.split == split]
    if not recs:
        splits = sorted({r.split for r in project.videos()})
        raise ProjectError(f"the project {project.folder} has no videos in the {split!r} split "
                           f"(splits present: {', '.join(splits) or 'none'}); pass --split or assign videos")
    weights = None
    if flow_checkpoint is not None:
        weights = parse_weights(fuse) if isinstance(fuse, str) else tuple(fuse or DEFAULT_WEIGHTS)
        _, finfo = read_checkpoint(flow_checkpoint)
        if list(finfo.classes) != ck_classes:
            raise ProjectError(f"the RGB and flow checkpoints were trained on different classes ({ck_classes} vs "
                               f"{list(finfo.classes)}); fuse checkpoints trained on the same project")
    C = len(ck_classes)
    conf = np.zeros((C, C), np.int64)
    stream_correct = {"rgb": 0, "flow": 0, "fused": 0} if weights else {}
    preds, P_a, P_r, G, V, B = [], [], [], [], [], []
    for k, r in enumerate(recs):
        if weights:
            a = analyze_two_stream(r.path, checkpoint, flow_checkpoint, weights, project=project, device=device,
                                   cancel=cancel)
        else:
            a = analyze_video(r.path, checkpoint, project=project, device=device, cancel=cancel)
        true = ck_classes.index(r.action) if r.action in ck_classes else None
        if true is not None:
            conf[true, a.video_pred] += 1
        pred = {"video": r.rel_path if getattr(r, "rel_path", None) else r.path, "true": r.action,
                "pred": ck_classes[a.video_pred], "prob": float(a.video_probs[a.video_pred])}
        if weights:
            pred["streams"] = {}
            for name, st in list(a.streams.items()) + [("fused", a)]:
                pred["streams"][name] = {"pred": ck_classes[st.video_pred],
                                         "video_probs": [float(v) for v in np.asarray(st.video_probs)]}
                if true is not None and st.video_pred == true:
                    stream_correct[name] += 1
        preds.append(pred)
        if ck_skel == p_skel:
            la = project.video_labels(r.id)
            fr = np.asarray(la.frames, np.int64)
            if len(fr):
                lab = np.asarray(la.labeled, bool)
                vis = np.asarray(la.visible, bool) & lab
                keep = lab.any(1) & (fr < a.num_frames)
                if keep.any():
                    g = np.asarray(la.xy, np.float32)[keep]
                    P_a.append(np.asarray(a.xy_argmax[fr[keep]]))
                    P_r.append(np.asarray(a.xy[fr[keep]]))
                    G.append(g)
                    V.append(vis[keep])
                    B.append(label_bbox(g, vis[keep]))
        if progress is not None:
            progress(k + 1, len(recs))
    n = int(conf.sum())
    rows = conf.sum(1)
    res: dict[str, Any] = {
        "checkpoint": str(checkpoint), "split": split, "videos": len(recs), "videos_with_action": n,
        "classes": ck_classes, "accuracy": float(np.trace(conf) / n) if n else None,
        "per_class_accuracy": {c: (float(conf[i, i] / rows[i]) if rows[i] else None) for i, c in enumerate(ck_classes)},
        "confusion": conf.tolist(), "joints": list(skeleton.joints), "predictions": preds,
    }
    if weights:
        res["flow_checkpoint"] = str(flow_checkpoint)
        res["fusion_weights"] = list(weights)
        res["stream_accuracy"] = {k: (v / n if n else None) for k, v in stream_correct.items()}
    if G:
        G_, V_, B_ = np.concatenate(G), np.concatenate(V), np.concatenate(B)
        res["pck"] = {}
        for name, P in (("argmax", P_a), ("refined", P_r)):
            per, mean = pck(np.concatenate(P), G_, V_, B_, alpha=alpha)
            res["pck"][name] = {"mean": float(mean), "per_joint": [None if not np.isfinite(v) else float(v)
                                                                   for v in np.asarray(per)]}
        res["pck_frames"] = int(len(G_))
        res["pck_alpha"] = alpha
    else:
        res["pck"] = None
    if png is not None:
        res["confusion_png"] = str(confusion_png(conf, ck_classes, png))
    return res


def confusion_png(matrix: np.ndarray, classes: Sequence[str], path: str | os.PathLike, cell: int = 40,
                  title: str = "rows: true class, columns: predicted") -> Path:
    """Draw a row-normalized confusion matrix with counts (paper Fig. 4 style) to a PNG with OpenCV."""
    m = np.asarray(matrix, np.float64)
    C = m.shape[0]
    rows = m.sum(1, keepdims=True)
    frac = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    font, fs = cv2.FONT_HERSHEY_SIMPLEX, 0.42
    label_w = max([cv2.getTextSize(str(c), font, fs, 1)[0][0] for c in classes] + [40]) + 12
    top, right, bottom = 30, 20, label_w
    H, W = top + C * cell + bottom, label_w + C * cell + right
    img = np.full((H, W, 3), 255, np.uint8)
    cv2.putText(img, title, (8, 20), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cmap = cv2.applyColorMap((frac * 255).astype(np.uint8).reshape(C, C, 1), cv2.COLORMAP_VIRIDIS)
    for i in range(C):
        for j in range(C):
            x0, y0 = label_w + j * cell, top + i * cell
            col = tuple(int(v) for v in cmap[i, j])
            cv2.rectangle(img, (x0, y0), (x0 + cell - 1, y0 + cell - 1), col, -1)
            if m[i, j]:
                txt = str(int(m[i, j]))
                (tw, th), _ = cv2.getTextSize(txt, font, fs, 1)
                ink = (0, 0, 0) if frac[i, j] > 0.6 else (255, 255, 255)
                cv2.putText(img, txt, (x0 + (cell - tw) // 2, y0 + (cell + th) // 2), font, fs, ink, 1, cv2.LINE_AA)
        name = str(classes[i])
        (tw, th), _ = cv2.getTextSize(name, font, fs, 1)
        cv2.putText(img, name, (label_w - tw - 6, top + i * cell + (cell + th) // 2), font, fs, (0, 0, 0), 1,
                    cv2.LINE_AA)
    # column labels, rotated: draw on a transposed strip
    strip = np.full((C * cell, bottom, 3), 255, np.uint8)
    for j in range(C):
        name = str(classes[j])
        (tw, th), _ = cv2.getTextSize(name, font, fs, 1)
        # a clockwise turn puts the strip's top row in the rightmost column: draw class j at row C-1-j
        cv2.putText(strip, name, (6, (C - 1 - j) * cell + (cell + th) // 2), font, fs, (0, 0, 0), 1, cv2.LINE_AA)
    img[top + C * cell:top + C * cell + bottom, label_w:label_w + C * cell] = cv2.rotate(strip, cv2.ROTATE_90_CLOCKWISE)
    out = Path(path)
    if out.suffix.lower() != ".png":
        out = out.with_suffix(".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
        raise ProjectError(f"could not write {out}; check that the folder is writable")
    return out


def format_report(res: dict[str, Any]) -> str:
    lines = [f"{res['split']} split: {res['videos']} videos"]
    acc = res["accuracy"]
    if res.get("stream_accuracy"):
        w = res["fusion_weights"]
        sa = res["stream_accuracy"]
        lines.append("two streams: " + ", ".join(f"{k} {'-' if v is None else f'{v:.3f}'}" for k, v in sa.items())
                     + f" (fused {w[0]:g}:{w[1]:g} spatial:temporal; below: fused)")
    lines.append(f"accuracy (8 frames, last step): {acc:.3f}" if acc is not None else "accuracy: no action labels")
    for c, a in res["per_class_accuracy"].items():
        lines.append(f"  {c:<20s} {'-' if a is None else f'{a:.3f}'}")
    if res.get("pck"):
        lines.append(f"PCK@{res['pck_alpha']} on {res['pck_frames']} labeled frames: arg-max "
                     f"{res['pck']['argmax']['mean']:.3f}, refined {res['pck']['refined']['mean']:.3f}")
        for j, name in enumerate(res["joints"]):
            a, r = res["pck"]["argmax"]["per_joint"][j], res["pck"]["refined"]["per_joint"][j]
            lines.append(f"  {name:<16s} {'-' if a is None else f'{a:.3f}'}  {'-' if r is None else f'{r:.3f}'}")
    if res.get("confusion_png"):
        lines.append(f"confusion matrix: {res['confusion_png']}")
    return "\n".join(lines)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True,
                        help="the checkpoint (the RGB stream's with --flow-checkpoint)")
    parser.add_argument("--flow-checkpoint", help="a flow-stream checkpoint: evaluate both streams and their fusion")
    parser.add_argument("--fuse", default=None, metavar="S:T",
                        help="fusion weights spatial:temporal (default 1:2, the paper's); needs --flow-checkpoint")
    parser.add_argument("--project", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--device")
    parser.add_argument("--png", help="write the confusion matrix figure here (default: next to the checkpoint)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")


def cli_main(args: argparse.Namespace) -> int:
    png = args.png or str(Path(args.checkpoint).with_name(Path(args.checkpoint).stem + f"_confusion_{args.split}.png"))
    if args.fuse and not args.flow_checkpoint:
        from rpan_core.errors import ConfigError

        raise ConfigError("--fuse needs two checkpoints: pass the flow stream's with --flow-checkpoint")
    res = evaluate(args.checkpoint, args.project, args.split, device=args.device, png=png,
                   flow_checkpoint=args.flow_checkpoint, fuse=args.fuse)
    print(json.dumps(res, indent=1) if args.json else format_report(res))
    return 0


__all__ = ["evaluate", "confusion_png", "format_report", "configure_parser", "cli_main"]
