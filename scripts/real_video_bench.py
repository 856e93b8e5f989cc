"""Real-video benchmark: label every Nth frame, train the ``labeling`` preset, measure the frames between.

    python scripts/real_video_bench.py --reference REF.json --videos a.mp4 b.mp4 c.mp4 \
        [--every 10] [--minutes 8] [--out docs/real_video.md]

What it does (issue 11, item 7), for reference poses in a COCO keypoints file
(``images[].video_name`` = the video's file stem, ``images[].frame_index``; COCO-17
mapped to PennAction-13 with the nose standing for the head):

1. **All views**: keyframes every ``--every``-th frame of every video are imported
   into a temporary project, the labeling preset is trained for ``--minutes``
   (``rpan_core.keyframes``), and the model runs over every frame following the
   person (``rpan_core.crops``). Reported on the frames that are not keyframes,
   beside linear interpolation between the same keyframes and copying the previous
   keyframe: PCK@0.1 / @0.2 (box side = the reference pose's extent), mean error
   over the box side, joints to move per frame at 5 % and 10 % of the box side.
2. **Leave one view out** (``--loo``): keyframes of all views but one, the held-out
   view measured on all its frames, strict and with one whole-skeleton left/right
   swap allowed per frame.
3. **Effort to fully label each video** at 5 %: joints placed on keyframes plus
   joints moved elsewhere, for the model (alone, and with the keyframes' residuals
   interpolated onto it) against interpolation at its best keyframe spacing.

Not in CI: it trains for minutes. Keep the videos and the reference out of the repo.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rpan_core.skeleton import PENNACTION, convert_pose  # noqa: E402
from rpan_core.smoothing import median_smooth  # noqa: E402

J = PENNACTION.num_joints
SPACINGS = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50)
FLIP = np.asarray(PENNACTION.flip_index)


# ----------------------------------------------------------------------------- reference poses

def load_reference(path: Path, videos: list[Path]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """video stem -> (N x 13 x 2 xy, N x 13 visible) on the PennAction skeleton (COCO nose -> head)."""
    d = json.loads(path.read_text())
    names = d["categories"][0]["keypoints"]
    if len(names) != 17:
        raise SystemExit(f"{path}: expected COCO-17 keypoints, found {len(names)}")
    img = {im["id"]: im for im in d["images"]}
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    counts = {}
    from rpan_core.video import open_video

    for v in videos:
        with open_video(v, cache_mb=1) as vid:
            counts[v.stem] = vid.frame_count
        out[v.stem] = (np.full((counts[v.stem], J, 2), np.nan), np.zeros((counts[v.stem], J), bool))
    for a in d["annotations"]:
        im = img[a["image_id"]]
        name = im.get("video_name") or Path(im["file_name"]).parent.name
        if name not in out:
            continue
        k = np.asarray(a["keypoints"], float).reshape(17, 3)
        xy, vis = convert_pose(k[:, :2], k[:, 2] > 0, "coco", "pennaction", aliases=True)
        f = int(im["frame_index"])
        if 0 <= f < counts[name]:
            out[name][0][f], out[name][1][f] = xy, vis
    for name, (_, vis) in out.items():
        if not vis.any(axis=1).all():
            raise SystemExit(f"{path}: {int((~vis.any(axis=1)).sum())} frames of {name} have no reference pose")
    return out


# ----------------------------------------------------------------------------- baselines and metrics

def keyframes(n: int, every: int, last: bool = False) -> np.ndarray:
    k = list(range(0, n, every))
    if last and k[-1] != n - 1:
        k.append(n - 1)
    return np.asarray(k)


def interpolate(xy: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Linear interpolation between keyframes (held constant before the first / after the last)."""
    t = np.arange(len(xy))
    out = np.empty_like(xy)
    for j in range(xy.shape[1]):
        for c in range(2):
            out[:, j, c] = np.interp(t, keys, xy[keys, j, c])
    return out


def copy_previous(xy: np.ndarray, keys: np.ndarray) -> np.ndarray:
    pos = np.clip(np.searchsorted(keys, np.arange(len(xy)), side="right") - 1, 0, len(keys) - 1)
    return xy[keys[pos]]


def with_residuals(pred: np.ndarray, xy: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The model's poses shifted by the keyframes' corrections, interpolated between keyframes."""
    return pred + interpolate(xy - pred, keys)


def blend(pred: np.ndarray, xy: np.ndarray, vis: np.ndarray, keys: np.ndarray, sides: bool = True,
          gap_power: float | None = None) -> np.ndarray:
    """``propagate(method="blend")`` with its default parameters (the model's sides aligned to the keyframes'
    unless ``sides`` is False; ``gap_power`` replaces the default's); the keyframes keep their labels."""
    from dataclasses import replace

    from rpan_core.propagate import DEFAULT_PARAMS, propagate

    params = DEFAULT_PARAMS if gap_power is None else replace(DEFAULT_PARAMS, gap_power=gap_power)
    kxy = np.where(vis[keys][..., None], xy[keys], np.nan)
    p = propagate(len(xy), keys, kxy, vis[keys], model_xy=pred, method="blend", flip_index=FLIP if sides else None,
                  params=params)
    out = pred.copy()
    out[keys] = xy[keys]
    filled = p.filled
    out[p.frames] = np.where(filled[..., None], p.xy, pred[p.frames])
    return out


def box_side(xy: np.ndarray, vis: np.ndarray) -> np.ndarray:
    p = np.where(vis[..., None], xy, np.nan)
    return np.maximum(np.nanmax(p[..., 0], 1) - np.nanmin(p[..., 0], 1), np.nanmax(p[..., 1], 1) - np.nanmin(p[..., 1], 1))


def err_over_side(pred: np.ndarray, xy: np.ndarray, vis: np.ndarray, swap: bool = False) -> np.ndarray:
    """N x J errors over the box side; with ``swap`` each frame may take the left/right-swapped skeleton."""
    side = box_side(xy, vis)[:, None]
    e = np.linalg.norm(pred - xy, axis=-1) / side
    if swap:
        es = np.linalg.norm(pred[:, FLIP] - xy, axis=-1) / side
        use = np.nanmean(np.where(vis, es, np.nan), 1) < np.nanmean(np.where(vis, e, np.nan), 1)
        e = np.where(use[:, None], es, e)
    return np.where(vis, e, np.nan)


def metrics(e: np.ndarray) -> dict[str, float]:
    ok = ~np.isnan(e)
    v = e[ok]
    return {"pck10": float((v <= 0.1).mean()), "pck20": float((v <= 0.2).mean()), "err": float(v.mean()),
            "move5": float(((e > 0.05) & ok).sum(1).mean()), "move10": float(((e > 0.10) & ok).sum(1).mean()),
            "frames": int(len(e))}


def effort(pred: np.ndarray, xy: np.ndarray, vis: np.ndarray, keys: np.ndarray, tol: float = 0.05) -> int:
    """Joints placed on keyframes + joints to move (error > tol x box side) on the other frames."""
    other = np.setdiff1d(np.arange(len(xy)), keys)
    e = err_over_side(pred, xy, vis)[other]
    return int(vis[keys].sum() + np.nansum(e > tol))


# ----------------------------------------------------------------------------- project, training, prediction

def make_project(folder: Path, videos: list[Path], ref: dict, keys: dict[str, np.ndarray]) -> Path:
    from rpan_core.project import Project

    with Project.create(folder, "pennaction") as p:
        for v in videos:
            vid = p.add_video(v, split="train" if v.stem in keys else "test")
            if v.stem not in keys:
                continue
            xy, vis = ref[v.stem]
            rows = [(int(f), j, float(xy[f, j, 0]), float(xy[f, j, 1]), True, "imported")
                    for f in keys[v.stem] for j in range(J) if vis[f, j]]
            p.set_labels(vid, rows)
    return folder


def predict(checkpoint: Path, video: Path, maps: Path | None = None) -> tuple[np.ndarray, float]:
    """The model's poses on every frame (following the person) and the seconds per frame; with ``maps``
    the attention, windows and dummy masses are kept there too, for re-decoding (``--prior``)."""
    import torch

    from rpan_core.checkpoint import load_checkpoint
    from rpan_core.crops import follow
    from rpan_core.video import open_video

    model, _ = load_checkpoint(checkpoint)
    t = time.time()
    with open_video(video) as v, torch.no_grad():
        res = list(follow(model, v.frames()))
    secs = (time.time() - t) / len(res)
    xy = np.stack([r.xy for r in res])
    if maps is not None:
        from rpan_core.atomic import save_with

        arrays = {"attention": np.stack([r.attention for r in res]).astype(np.float16),
                  "window": np.stack([r.window for r in res]), "dummy": np.stack([r.dummy for r in res]),
                  "xy": xy, "input_size": np.asarray(model.cfg.input_size)}
        save_with(maps, lambda fh: np.savez(fh, **arrays))
    return xy, secs


def maps_path(work: Path, name: str, stem: str) -> Path:
    return work / f"maps-{name}-{stem}.npz"


def prior_rows(r: dict, video: Path, work: Path, label: str) -> list[tuple[str, np.ndarray]]:
    """``(label, poses)`` rows for ``--prior``: the poses decoded with the pose prior and, when the maps
    had to be made again and their plain decode differs from the saved poses (code changed since the
    run), that plain decode too, so the prior is compared with the same reading."""
    pr, plain = prior_poses(r, video, work)
    rows = []
    if not np.allclose(plain, r["preds"][video.stem], atol=1e-3, equal_nan=True):
        rows.append((f"{label}, read again now (same checkpoint, plain decode)", plain))
    return rows + [(f"{label}, pose prior", pr)]


def prior_poses(r: dict, video: Path, work: Path) -> tuple[np.ndarray, np.ndarray]:
    """The model's poses on ``video`` decoded with the pose prior learned from the model's own project
    (its keyframes' labels, ``rpan_core.pose_prior``), from its saved attention maps, and the plain
    decode of the same maps; a run saved before the maps were kept has them made once from its
    checkpoint (no training)."""
    from rpan_core.pose_prior import decode_frames, prior_from_project
    from rpan_core.project import Project

    mp = maps_path(work, r["name"], video.stem)
    if not mp.is_file():
        predict(Path(r["checkpoint"]), video, mp)
    with np.load(mp) as z:
        att, win, dummy, size = z["attention"], z["window"], z["dummy"], tuple(int(v) for v in z["input_size"])
        plain = np.asarray(z["xy"], np.float64)
    with Project.open(work / r["name"]) as proj:
        prior = prior_from_project(proj)
    return decode_frames(att, win, size, prior, dummy)[0].astype(np.float64), plain


def train(project: Path, args: argparse.Namespace, run: Path) -> tuple[Path, float]:
    from rpan_core.keyframes import KeyframeConfig, train_keyframes

    t = time.time()
    kc = KeyframeConfig(str(project), minutes=args.minutes, steps=args.steps, copies=args.copies, batch=args.batch,
                        lr=args.lr, run_dir=str(run), threads=args.threads, save_every_s=1e9, seed=args.seed,
                        aug_scale=args.aug_scale, aug_rotate=args.aug_rotate, aug_aspect=args.aug_aspect,
                        train_trunk=args.train_trunk, trunk_lr=args.trunk_lr, flip_test=args.flip_test,
                        between=args.between)
    run = train_keyframes(kc)
    return run / "last.pt", time.time() - t


def job(name: str, videos: list[Path], ref: dict, keys: dict, args: argparse.Namespace, work: Path) -> dict:
    """Project with ``keys`` imported, a trained model, its poses on every video (one process)."""
    import torch

    torch.set_num_threads(args.threads)
    proj = work / name
    shutil.rmtree(proj, ignore_errors=True)
    make_project(proj, videos, ref, keys)
    ck, secs = train(proj, args, proj / "runs" / name)
    events = [json.loads(x) for x in (ck.parent / "events.jsonl").read_text().splitlines()]
    end = events[-1]
    preds, spf = {}, []
    for v in [v for v in videos if v.stem not in keys] if name.startswith("loo-") else videos:
        preds[v.stem], s = predict(ck, v, maps_path(work, name, v.stem))
        spf.append(s)
    return {"name": name, "preds": preds, "train_s": secs, "steps": end.get("step"), "message": end.get("message"),
            "spf": float(np.mean(spf)), "checkpoint": str(ck), "mb": ck.stat().st_size / 1e6}


def saved_results(work: Path) -> dict[str, dict]:
    """Every model's poses saved in ``work`` by earlier runs (one file per model; the old single file too)."""
    import pickle

    out: dict[str, dict] = {}
    old = work / "results.pkl"
    if old.exists():
        out.update({r["name"]: r for r in pickle.loads(old.read_bytes())})
    for f in sorted(work.glob("result-*.pkl")):
        r = pickle.loads(f.read_bytes())
        out[r["name"]] = r
    return out


def save_result(work: Path, r: dict) -> None:
    import pickle

    from rpan_core.atomic import write_bytes

    write_bytes(work / f"result-{r['name']}.pkl", pickle.dumps(r))


# ----------------------------------------------------------------------------- report

def all_views_section(r: dict, videos: list[Path], ref: dict, keys: dict, args: argparse.Namespace, say: Callable,
                      side_by_side: int, work: Path | None = None) -> None:
    """Section 1: the all-views model on the frames between its keyframes, beside the baselines."""
    preds = r["preds"]
    keys = r.get("keys", keys)
    say(f"## Keyframes every {args.every}th frame of all {len(videos)} views\n")
    say(f"Training took {r['train_s'] / 60:.1f} min wall-clock (budget {args.minutes:g} min including the feature "
        f"caching; {sum(len(k) for k in keys.values())} keyframes x {args.copies} crops, {r['steps']} steps of "
        f"batch {args.batch}, {args.threads} thread(s), {side_by_side} model(s) trained side by side); "
        f"checkpoint {r['mb']:.1f} MB{load_note(r)}. Other frames of each view:\n")
    say(HEAD)
    agg: dict[str, list] = {"model": [], "model + keyframe residuals": [], "blend": [], "interpolation": [],
                            "copy previous": []}
    for v in videos:
        xy, vis = ref[v.stem]
        k = keys[v.stem]
        pred = preds[v.stem]
        other = np.setdiff1d(np.arange(len(xy)), k)
        cands = {"model": pred, **(dict(prior_rows(r, v, work, "model")) if args.prior else {}),
                 "model + keyframe residuals": with_residuals(pred, xy, k),
                 "blend": blend(pred, xy, vis, k), "interpolation": interpolate(xy, k),
                 "copy previous": copy_previous(xy, k)}
        for name, p in cands.items():
            e = err_over_side(p, xy, vis)[other]
            agg.setdefault(name, []).append(e)
            say(row(f"{v.stem}: {name}", metrics(e)))
    for name, es in agg.items():
        say(row(f"**all views: {name}**", metrics(np.concatenate(es))))
    say(f"\nAnalysis (model on crops following the person): {r['spf'] * 1000:.0f} ms per frame on "
        f"{args.threads} thread(s).\n")


def load_note(r: dict) -> str:
    return "; load average %.2f / %.2f / %.2f at the end" % tuple(r["load"]) if r.get("load") else ""


def usable(model_keys: np.ndarray, keys: np.ndarray) -> bool:
    """A model may assist a labeling with ``keys`` only if it learned from no frame outside them."""
    return bool(np.isin(model_keys, keys).all())


def effort_section(res: dict, videos: list[Path], ref: dict, say: Callable) -> None:
    """Section 3: effort to fully label each video over keyframe spacings, for interpolation and every model.

    A model counts at a spacing only when its own training keyframes of that video are among
    the spacing's keyframes (a model trained on every 30th frame assists labelings every
    30th, 15th, 10th... frame); a model that never saw the video (leave-one-view-out)
    counts at every spacing.
    """
    say("## Effort to fully label each video (joints placed on keyframes + joints moved at 5 %)\n")
    say("Keyframes every S-th frame and the last. `model` = the model's poses on the other frames; `blend` = "
        "`rpan_core.propagate.propagate(method=\"blend\")` with its default parameters (the model shifted by its "
        "keyframe errors, weighted per joint against interpolation by the errors both make on the keyframes; the "
        "model's left/right sides first aligned to the keyframes'); `blend, gap power 2`: the same with "
        "interpolation's error assumed to grow as gap**2 instead of gap**4. Which model: `all` keyframes every 10th frame of all views, "
        "`sparse-S` every S-th frame (and the last) of all views, `loo-V` the other views only. A model is "
        "used at a spacing only when the frames it learned from are keyframes there.\n")
    for v in videos:
        xy, vis = ref[v.stem]
        n = len(xy)
        rows: dict[str, dict[int, int]] = {"interpolation": {}}
        for s in SPACINGS:
            k = keyframes(n, s, True)
            rows["interpolation"][s] = effort(interpolate(xy, k), xy, vis, k)
            for name, r in res.items():
                if v.stem not in r["preds"]:
                    continue
                mk = r.get("keys", {}).get(v.stem, np.zeros(0, int))
                if not usable(np.asarray(mk), k):
                    continue
                pred = r["preds"][v.stem]
                rows.setdefault(f"{name}: model", {})[s] = effort(pred, xy, vis, k)
                rows.setdefault(f"{name}: blend", {})[s] = effort(blend(pred, xy, vis, k), xy, vis, k)
                rows.setdefault(f"{name}: blend, gap power 2", {})[s] = effort(blend(pred, xy, vis, k, gap_power=2),
                                                                              xy, vis, k)
        say(f"**{v.stem}** ({n} frames, {int(vis.sum())} visible reference joints)\n")
        say("| method | " + " | ".join(f"every {s}" for s in SPACINGS) + " | best |")
        say("|---|" + "---|" * (len(SPACINGS) + 1))
        for name, by in rows.items():
            cells = [str(by[s]) if s in by else "" for s in SPACINGS]
            b = min((e, s) for s, e in by.items())
            say(f"| {name} | " + " | ".join(cells) + f" | **{b[0]}** (every {b[1]}) |")
        say("")


def loo_section(res: dict, videos: list[Path], ref: dict, say: Callable, smooth: int = 0,
                prior_work: Path | None = None) -> None:
    """Section 2; with ``prior_work`` (``--prior``) each view's poses also decoded with the pose prior."""
    say("\n## Leave one view out (keyframes of the other views; all frames of the held-out view)\n")
    say("| held-out view | PCK@0.1 strict | PCK@0.2 strict | PCK@0.2, one L/R swap allowed | "
        "PCK@0.1, swap allowed | error / side, swap allowed | joints to move @5 %, swap allowed | steps | "
        "load at the end |")
    say("|---|---|---|---|---|---|---|---|---|")
    for held in videos:
        r = res.get(f"loo-{held.stem}")
        if r is None:
            continue
        xy, vis = ref[held.stem]
        load = "%.2f" % r["load"][0] if r.get("load") else ""
        rows = [(held.stem, r["preds"][held.stem])]
        if prior_work is not None:
            rows += prior_rows(r, held, prior_work, held.stem)
        if smooth > 1:
            rows += [(f"{label}, `--smooth {smooth}`", median_smooth(p, smooth)) for label, p in rows]
        for label, pred in rows:
            ms, mw = metrics(err_over_side(pred, xy, vis)), metrics(err_over_side(pred, xy, vis, swap=True))
            say(f"| {label} | {ms['pck10']:.3f} | {ms['pck20']:.3f} | {mw['pck20']:.3f} | {mw['pck10']:.3f} | "
                f"{mw['err']:.3f} | {mw['move5']:.2f} | {r['steps']} | {load} |")


def row(name: str, m: dict, extra: str = "") -> str:
    return (f"| {name} | {m['pck10']:.3f} | {m['pck20']:.3f} | {m['err']:.3f} | {m['move5']:.2f} | "
            f"{m['move10']:.2f} |{extra}")


HEAD = ("| method | PCK@0.1 | PCK@0.2 | error / box side | joints to move @5 % | joints to move @10 % |\n"
        "|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", nargs="+", type=Path, required=True)
    ap.add_argument("--reference", type=Path, required=True, help="COCO keypoints file of reference poses")
    ap.add_argument("--every", type=int, default=10, help="label every Nth frame (default 10)")
    ap.add_argument("--minutes", type=float, default=8.0, help="training budget per model (default 8)")
    ap.add_argument("--steps", type=int, default=None, help="stop at this many steps if --minutes has not run out")
    ap.add_argument("--copies", type=int, default=12, help="augmented crops per keyframe (default 12)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--aug-scale", type=float, default=0.25, help="crops zoomed by 2**U(-s, s) (default 0.25)")
    ap.add_argument("--aug-rotate", type=float, default=30.0, help="crops rotated by up to this many degrees")
    ap.add_argument("--aug-aspect", type=float, default=0.0, help="crop widths squeezed/stretched by 2**U(-a, a)")
    ap.add_argument("--train-trunk", type=int, choices=(16, 32), default=None,
                    help="also train MobileNetV2's stages from this stride on (rpan train --train-trunk)")
    ap.add_argument("--trunk-lr", type=float, default=0.1, help="the trunk's learning rate, a fraction of --lr")
    ap.add_argument("--flip-test", action="store_true", help="the models average each frame with its mirror image")
    ap.add_argument("--between", type=int, default=0, metavar="N",
                    help="also train on N frames between each two keyframes, poses interpolated (rpan train --between)")
    ap.add_argument("--smooth", type=int, default=0, metavar="N",
                    help="also score the held-out views' poses through a running median of N frames "
                         "(rpan analyze --smooth N)")
    ap.add_argument("--prior", action="store_true",
                    help="also score the poses decoded with the pose prior learned from each model's keyframes "
                         "(rpan analyze --pose-prior); with --report from the saved runs, no training (a run saved "
                         "without its attention maps has them made once from its checkpoint)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per model (default 1: on a loaded "
                    "machine two threads per process were six times slower than one)")
    ap.add_argument("--parallel", type=int, default=1, help="train this many models side by side (processes)")
    ap.add_argument("--loo", action="store_true", help="also leave each view out in turn")
    ap.add_argument("--reuse", action="store_true", help="tables from the poses saved in --work by earlier runs")
    ap.add_argument("--report", action="store_true", help="train nothing: tables from the poses saved in --work")
    ap.add_argument("--only", nargs="+", default=None, metavar="MODEL",
                    help="train only these models (all, loo-STEM, sparse-S); the others come from --work when "
                         "saved there (one model per run keeps each run short)")
    ap.add_argument("--sparse", type=int, nargs="*", default=[], metavar="S",
                    help="also train a model on keyframes every S-th frame (and the last) of every video, "
                         "for the effort table")
    ap.add_argument("--work", type=Path, default=None, help="keep the projects and runs here (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=None, help="write the tables to this Markdown file")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    videos = [v.resolve() for v in args.videos]
    ref = load_reference(args.reference, videos)
    work = args.work or Path(tempfile.mkdtemp(prefix="real-video-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    say = lambda s: (print(s, flush=True), lines.append(s))  # noqa: E731
    cmd = "python scripts/real_video_bench.py " + " ".join(
        a if not os.path.isabs(a) else Path(a).name for a in (argv if argv is not None else sys.argv[1:]))
    t_all = time.time()

    # --- the models: all views, and each view left out (in parallel processes, --threads each)
    keys = {v.stem: keyframes(len(ref[v.stem][0]), args.every) for v in videos}
    specs = [("all", keys)]
    if args.loo and len(videos) > 1:
        specs += [(f"loo-{h.stem}", {s: k for s, k in keys.items() if s != h.stem}) for h in videos]
    specs += [(f"sparse-{s}", {v.stem: keyframes(len(ref[v.stem][0]), s, True) for v in videos}) for s in args.sparse]
    if args.only:
        specs = [(n, k) for n, k in specs if n in args.only]
        missing = set(args.only) - {n for n, _ in specs}
        if missing:
            raise SystemExit(f"--only {' '.join(sorted(missing))}: not a model of this run (all, loo-STEM with "
                             "--loo, sparse-S with --sparse S)")
    res = saved_results(work)
    for name, k in specs:  # poses saved before the keyframes were recorded with them
        if name in res and "keys" not in res[name]:
            res[name]["keys"] = k
    todo = [] if args.report else [(n, k) for n, k in specs if not (args.reuse and n in res)]
    if args.parallel > 1 and len(todo) > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(min(args.parallel, len(todo))) as pool:
            results = pool.starmap(job, [(n, videos, ref, k, args, work) for n, k in todo])
    else:
        results = [job(n, videos, ref, k, args, work) for n, k in todo]
    for r in results:
        r["keys"] = dict(specs)[r["name"]]
        r["load"] = os.getloadavg()
        save_result(work, r)
        res[r["name"]] = r
    for r in res.values():
        print(f"{r['name']}: {r['message']}", flush=True)

    if "all" in res:
        all_views_section(res["all"], videos, ref, keys, args, say, len(todo) if args.parallel > 1 else 1, work)
    effort_section({n: r for n, r in res.items() if n in dict(specs)}, videos, ref, say)
    if any(f"loo-{h.stem}" in res for h in videos):
        loo_section(res, videos, ref, say, args.smooth, work if args.prior else None)
    say(f"\nTotal benchmark time {(time.time() - t_all) / 60:.1f} min.")
    if args.out:
        from rpan_core.atomic import write_text

        body = ("# Real-video benchmark: the labeling preset from a few keyframes\n\n"
                f"Made by\n\n    {cmd}\n\n" + "\n".join(lines) + "\n")
        write_text(args.out, body)
    print(f"work folder: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
