#!/usr/bin/env python
"""Measure the propagation methods (rpan_core.propagate) side by side, on synthetic videos and real clips.

    python scripts/propagation_eval.py --synthetic 8 [--checkpoint CK] [--every 5 10 20]
    python scripts/propagation_eval.py --real CLIP.mp4 ... --reference REF.json --checkpoint CK

For every video and keyframe spacing N: the frames 0, N, 2N, ... are the keyframes
(labels from the truth: the generator's joints, or the reference COCO file), the
model's poses come from ``rpan analyze`` with the checkpoint, and each method
fills the frames in between. Scored on those frames against the truth (visible
joints): mean error over the body's box side, PCK@0.1 / @0.2, and the joints a
person would still have to move per frame at 5 % and 10 % of the box side.
Prints a Markdown table per source (synthetic / real); ``--json`` writes the raw
figures. Nothing here is in CI: it is the measurement behind DEFAULT_PARAMS.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rpan_core.propagate import BlendParams, propagate  # noqa: E402

VARIANTS: dict[str, tuple[str, BlendParams]] = {
    "interp": ("interp", BlendParams()),
    "model": ("model", BlendParams()),
    "offset": ("offset", BlendParams()),
    "blend d1": ("blend", BlendParams(1.0, 0.0, 0.0)),
    "blend d0.5": ("blend", BlendParams(0.5, 0.0, 0.0)),
    "blend d2": ("blend", BlendParams(2.0, 0.0, 0.0)),
    "blend d1 c1": ("blend", BlendParams(1.0, 1.0, 0.0)),
    "blend d0 snap2": ("blend", BlendParams(0.0, 0.0, 2.0)),
    "blend d1 snap1": ("blend", BlendParams(1.0, 0.0, 1.0)),
    "blend d1 snap2": ("blend", BlendParams(1.0, 0.0, 2.0)),
    "blend d1 snap4": ("blend", BlendParams(1.0, 0.0, 4.0)),
    "blend d0.5 snap2": ("blend", BlendParams(0.5, 0.0, 2.0)),
    "blend d1 c1 snap2": ("blend", BlendParams(1.0, 1.0, 2.0)),
    "adaptive": ("blend", BlendParams(snap=0.0, adaptive=True)),
    "adaptive snap1": ("blend", BlendParams(snap=1.0, adaptive=True)),
    "adaptive snap2": ("blend", BlendParams(snap=2.0, adaptive=True)),
    "adaptive c1 snap2": ("blend", BlendParams(conf_power=1.0, snap=2.0, adaptive=True)),
}


def score(pred: np.ndarray, truth: np.ndarray, vis: np.ndarray, filled: np.ndarray) -> dict[str, float]:
    """Errors on the visible truth joints the method filled (per frame box side = larger side of the joints' box)."""
    pts = np.where(vis[..., None], truth, np.nan)
    with np.errstate(all="ignore"):
        side = np.nanmax(np.nanmax(pts, 1) - np.nanmin(pts, 1), axis=1)  # F
    ok = vis & filled & np.isfinite(side)[:, None] & (side[:, None] > 0)
    err = np.linalg.norm(pred - truth, axis=-1) / np.where(side > 0, side, np.nan)[:, None]
    e = err[ok]
    frames = ok.any(axis=1)
    return {"n": int(ok.sum()), "err": float(e.mean()), "pck10": float((e <= 0.1).mean()),
            "pck20": float((e <= 0.2).mean()),
            "move5": float(((err > 0.05) & ok).sum() / max(1, frames.sum())),
            "move10": float(((err > 0.10) & ok).sum() / max(1, frames.sum()))}


def run_video(truth: np.ndarray, vis: np.ndarray, model_xy: np.ndarray | None, model_conf: np.ndarray | None,
              every: int) -> dict[str, dict]:
    n = len(truth)
    kf = np.arange(0, n, every)
    kxy = truth[kf]  # keyframes carry every joint's position (visible or not)
    out = {}
    for name, (method, params) in VARIANTS.items():
        if method != "interp" and model_xy is None:
            continue
        p = propagate(n, kf, kxy, vis[kf], model_xy=model_xy, model_conf=model_conf, method=method, params=params)
        out[name] = (p, score(p.xy, truth[p.frames], vis[p.frames], p.filled))
    return out


def pooled(results: list[dict[str, tuple]]) -> dict[str, dict[str, float]]:
    """Pool per-video scores weighted by joints scored (err, pck) and frames (moves)."""
    names = results[0].keys()
    out = {}
    for name in names:
        rs = [r[name][1] for r in results]
        n = sum(r["n"] for r in rs)
        frames = [int(r[name][0].filled.any(axis=1).sum()) for r in results]
        out[name] = {k: float(sum(r[k] * r["n"] for r in rs) / max(1, n)) for k in ("err", "pck10", "pck20")}
        out[name].update({k: float(sum(r[k] * f for r, f in zip(rs, frames)) / max(1, sum(frames)))
                          for k in ("move5", "move10")})
        out[name]["snapped"] = float(np.mean([r[name][0].snapped[r[name][0].filled].mean() for r in results]))
    return out


def table(title: str, by_every: dict[int, dict[str, dict]]) -> str:
    lines = [f"### {title}", "", "| method | " + " | ".join(
        f"N={e}: err / PCK@0.1 / move@5% / move@10%" for e in by_every) + " |",
        "|---|" + "---|" * len(by_every)]
    for name in next(iter(by_every.values())):
        cells = [f"{r[name]['err']:.3f} / {r[name]['pck10']:.3f} / {r[name]['move5']:.2f} / {r[name]['move10']:.2f}"
                 for r in by_every.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def synthetic(n_videos: int, checkpoint: str, everys: list[int], frames: int, work: Path) -> tuple[list, dict]:
    from rpan_core.analyze import analyze_video
    from rpan_core.synth import ACTIONS, render_video, write_mp4

    videos = []
    for k in range(n_videos):
        sv = render_video(1000 + k, ACTIONS[k % len(ACTIONS)], n_frames=frames)
        path = work / f"synth{k}.mp4"
        if not path.exists():
            write_mp4(path, sv.frames)
        a = analyze_video(path, checkpoint, cache_dir=work / "analyses")
        videos.append((sv.xy.astype(np.float64), sv.visible, np.asarray(a.xy, np.float64),
                       np.asarray(a.conf, np.float64)))
    return videos, {e: pooled([run_video(t, v, m, c, e) for t, v, m, c in videos]) for e in everys}


def simulated(videos: list, noise: float, jumps: float, everys: list[int], seed: int = 0) -> dict:
    """The same videos with a made-up model: truth + Gaussian noise (``noise`` x box side) and a share of
    ``jumps`` joints thrown 0.3 box sides away -- how the blends behave as the model gets better."""
    rng = np.random.default_rng(seed)
    out = []
    for t, v, _, _ in videos:
        side = (t.max(1) - t.min(1)).max(-1)[:, None, None]
        m = t + rng.normal(0, noise, t.shape) * side
        jump = rng.random(t.shape[:2]) < jumps
        ang = rng.uniform(0, 2 * np.pi, t.shape[:2])
        m[jump] += 0.3 * side[:, :, 0].repeat(t.shape[1], 1)[jump][:, None] * np.stack([np.cos(ang), np.sin(ang)], -1)[jump]
        out.append((t, v, m, np.ones(t.shape[:2])))
    return {e: pooled([run_video(t, v, m, c, e) for t, v, m, c in out]) for e in everys}


def real(clips: list[str], reference: str, checkpoint: str | None, everys: list[int], work: Path) -> dict:
    from rpan_core.add import add_videos
    from rpan_core.analyze import analyze_video
    from rpan_core.formats.coco import import_coco_report
    from rpan_core.project import Project

    import shutil

    shutil.rmtree(work / "real", ignore_errors=True)
    add_videos(work / "real", clips)
    videos = []
    with Project.open(work / "real") as p:
        import_coco_report(p, reference)
        for rec in p.videos():
            la = p.video_labels(rec.id)
            if len(la.frames) != rec.frame_count:
                print(f"skip {rec.path}: reference covers {len(la.frames)} of {rec.frame_count} frames")
                continue
            m = c = None
            if checkpoint:
                a = analyze_video(rec.path, checkpoint, project=p)
                m, c = np.asarray(a.xy, np.float64), np.asarray(a.conf, np.float64)
            videos.append((la.xy, la.visible & la.labeled, m, c))
    return {e: pooled([run_video(t, v, m, c, e) for t, v, m, c in videos]) for e in everys}


def main() -> int:
    import torch

    torch.set_num_threads(2)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synthetic", type=int, default=0, help="number of synthetic videos (0: none)")
    ap.add_argument("--frames", type=int, default=60, help="frames per synthetic video")
    ap.add_argument("--real", nargs="*", default=[], help="real clips (their names match the reference file)")
    ap.add_argument("--reference", help="COCO keypoints file with the real clips' reference poses")
    ap.add_argument("--checkpoint", help="checkpoint for the model's poses (default: the demo model)")
    ap.add_argument("--real-checkpoint", help="checkpoint for the real clips (default: --checkpoint)")
    ap.add_argument("--every", type=int, nargs="+", default=[5, 10, 20])
    ap.add_argument("--simulate", type=float, nargs="*", default=[],
                    help="also score made-up models: truth + this much noise (x box side) and 3 %% jumps")
    ap.add_argument("--json", help="write the pooled figures here")
    ap.add_argument("--work", help="keep the rendered videos and analyses here (reused by the next run)")
    args = ap.parse_args()
    from rpan_core.demo import demo_checkpoint_path

    ck = args.checkpoint or str(demo_checkpoint_path())
    t0 = time.time()
    report: dict = {"every": args.every, "checkpoint": ck, "variants": {k: [m, v.as_dict()] for k, (m, v) in
                                                                          VARIANTS.items()}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.synthetic:
            _, res = synthetic(args.synthetic, ck, args.every, args.frames, work)
            report["synthetic"] = res
            print(table(f"Synthetic: {args.synthetic} videos x {args.frames} frames, model {Path(ck).name}", res))
            print()
            for noise in args.simulate:
                res = simulated(_, noise, 0.03, args.every)
                report[f"simulated {noise}"] = res
                print(table(f"Synthetic, a simulated model: truth + {noise:g} x box side noise, 3 % jumps", res))
                print()
        if args.real:
            if not args.reference:
                ap.error("--real needs --reference")
            rck = args.real_checkpoint or args.checkpoint
            res = real(args.real, args.reference, rck, args.every, work)
            report["real"] = res
            print(table(f"Real clips ({len(args.real)}), model {Path(rck).name if rck else 'none'}", res))
    print(f"\n({time.time() - t0:.0f} s; err = mean error / box side, move@x = joints per frame off by more "
          "than x of the box side)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
