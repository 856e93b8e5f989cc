"""Per-person analysis on crops vs. the same people alone (issue 12: several persons per frame).

For synthetic scenes of 2-3 people who cross and hide each other
(:func:`rpan_core.synth_scene.render_scene`), each person is scored (PCK against its
exact joints, over the joints visible in that video) when read:

* ``crowd, crops (boxes from labels)``: :func:`rpan_core.person_analysis.analyze_person`
  on the scene with the person's box of every frame (what a labeled or box-keyed
  person gets in a project);
* ``crowd, crops (box on frame 0, propagated)``: the same with only frame 0's box,
  every later box propagated from the poses it reads;
* ``crowd, whole frame``: :func:`rpan_core.analyze.analyze_video` of the scene (one
  skeleton for everyone, scored against this person);
* ``alone, whole frame`` and ``alone, crops (boxes from labels)``: the same scene
  rendered with only this person drawn (same background, camera, size in pixels and
  path), analyzed as a single-person video.

The done-when figure of issue 12: the first row at least the fourth.

Usage (CPU, a few minutes; not part of the test suite)::

    python scripts/persons_bench.py --out /tmp/persons_bench [--scenes 6] [--frames 32]
        [--checkpoint assets/demo_checkpoint.pt]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODES = ("crowd, crops (boxes from labels)", "crowd, crops (box on frame 0, propagated)", "crowd, whole frame",
         "alone, whole frame", "alone, crops (boxes from labels)")


def _pck(xy: np.ndarray, gt: np.ndarray, vis: np.ndarray, bbox: np.ndarray, alpha: float) -> tuple[int, int]:
    """(hits, joints) at PCK@alpha: a visible joint within alpha x the longer side of the person's box."""
    side = np.maximum(bbox[:, 2] - bbox[:, 0], bbox[:, 3] - bbox[:, 1])[:, None]
    d = np.linalg.norm(np.asarray(xy, np.float64) - gt, axis=-1)
    return int(((d <= alpha * side) & vis).sum()), int(vis.sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="work folder (videos, analyses, results.json)")
    ap.add_argument("--checkpoint", default=str(Path(__file__).resolve().parents[1] / "assets" / "demo_checkpoint.pt"))
    ap.add_argument("--scenes", type=int, default=6)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--size", default="240x320", help="HxW of the videos")
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from rpan_core.analyze import analyze_video
    from rpan_core.person_analysis import BOX_PROPAGATED, analyze_person
    from rpan_core.synth import write_mp4
    from rpan_core.synth_scene import UPRIGHT, render_scene

    H, W = (int(v) for v in args.size.lower().split("x"))
    out = Path(args.out)
    cache = out / "analyses"
    out.mkdir(parents=True, exist_ok=True)
    tally = {m: {0.2: [0, 0], 0.1: [0, 0]} for m in MODES}
    propagated = [0, 0]
    people = 0
    t0 = time.time()
    for i in range(args.scenes):
        action, n = UPRIGHT[i % len(UPRIGHT)], 2 + i % 2
        seed = args.seed + i
        crowd = render_scene(seed, action, n, n_frames=args.frames, size=(H, W))
        cpath = write_mp4(out / f"scene{i}.mp4", crowd.frames)
        whole = analyze_video(cpath, args.checkpoint, cache_dir=cache)
        for k in range(n):
            people += 1
            alone = render_scene(seed, action, n, n_frames=args.frames, size=(H, W), only=k)
            apath = write_mp4(out / f"scene{i}_alone{k}.mp4", alone.frames)
            first = np.full((args.frames, 4), np.nan)
            first[0] = crowd.bbox[0, k]
            prop = analyze_person(cpath, args.checkpoint, first, person=k + 1, cache_dir=cache)
            o = np.asarray(prop.box_origin)[1:]
            propagated[0] += int((o == BOX_PROPAGATED).sum())
            propagated[1] += len(o)
            reads = {
                MODES[0]: (analyze_person(cpath, args.checkpoint, crowd.bbox[:, k], person=k + 1, cache_dir=cache),
                           crowd),
                MODES[1]: (prop, crowd),
                MODES[2]: (whole, crowd),
                MODES[3]: (analyze_video(apath, args.checkpoint, cache_dir=cache), alone),
                MODES[4]: (analyze_person(apath, args.checkpoint, alone.bbox[:, k], person=k + 1, cache_dir=cache),
                           alone),
            }
            for mode, (a, sc) in reads.items():
                for alpha in (0.2, 0.1):
                    hit, tot = _pck(a.xy, sc.xy[:, k], sc.visible[:, k], sc.bbox[:, k], alpha)
                    tally[mode][alpha][0] += hit
                    tally[mode][alpha][1] += tot
        print(f"scene {i + 1}/{args.scenes} ({action}, {n} persons) done", flush=True)
    res = {m: {f"pck@{a}": v[a][0] / max(v[a][1], 1) for a in (0.2, 0.1)} | {"joints": v[0.2][1]}
           for m, v in tally.items()}
    share = propagated[0] / max(propagated[1], 1)
    (out / "results.json").write_text(json.dumps({"args": vars(args), "persons": people, "results": res,
                                                  "propagated_share": share, "seconds": time.time() - t0},
                                                 indent=1))
    print(f"\n{args.scenes} scenes, {people} persons, {args.frames} frames each, {H}x{W}, checkpoint "
          f"{Path(args.checkpoint).name}; {time.time() - t0:.0f} s\n")
    print("| person read as | PCK@0.2 | PCK@0.1 | visible joints |")
    print("|---|---|---|---|")
    for m, r in res.items():
        print(f"| {m} | {r['pck@0.2']:.3f} | {r['pck@0.1']:.3f} | {r['joints']} |")
    print(f"\npropagated variant: {share:.0%} of the frames after frame 0 on a propagated box, the rest held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
