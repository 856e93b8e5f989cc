#!/usr/bin/env python
"""Run the labeling-effort benchmark (rpan_core.benchmarks.labeling) and write docs/labeling_effort.md.

    .venv/bin/python scripts/labeling_effort.py [--quick] [--json FILE] [--from-json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rpan_core.benchmarks import labeling  # noqa: E402

NAMES = {"from_nothing": "from nothing", "demo_model": "shipped demo model (8 x 10 grid), threshold 0.5",
         "w0_t0": "round-0 weights + old threshold (0.5)", "w0_t1": "round-0 weights + new threshold",
         "w1_t0": "**fine-tuned weights + old threshold (0.5)**", "w1_t1": "**fine-tuned weights + new threshold**",
         "w0more_t0": "control: round-0 weights trained as many more steps on round 0's keyframes, old threshold",
         "w0more_t1": "control, new threshold",
         "w1fresh_t0": "the fine-tune's labels trained from ImageNet (no --init), round 0 + fine-tune steps, old "
                       "threshold", "w1fresh_t1": "trained from ImageNet, new threshold"}


def table(r: dict) -> list[str]:
    out = ["| round 2 (evaluation videos) with | joints to move per frame | work saved vs. from nothing | "
           "misplaced / wrong flags per frame | PCK@0.05 | PCK@0.1 | visibility threshold |",
           "|---|---|---|---|---|---|---|"]
    for key in r["rows"]:
        if key == "from_nothing":
            out.append(f"| {NAMES[key]} | {r[key + '_joints_per_frame']:.2f} | 0.0 % | - | - | - | - |")
            continue
        out.append(f"| {NAMES.get(key, key)} | {r[key + '_joints_per_frame']:.2f} | {100 * r[key + '_work_saved']:.1f} % "
                   f"| {r[key + '_misplaced_per_frame']:.2f} / {r[key + '_wrong_flags_per_frame']:.2f} "
                   f"| {r[key + '_pck05']:.3f} | {r[key + '_pck10']:.3f} | {r[key + '_threshold']:g} |")
    return out


def reading(r: dict) -> list[str]:
    """The reading of the numbers, worded from the numbers themselves."""
    j = {k: r[k + "_joints_per_frame"] for k in r["rows"]}
    out = []
    w = j["w1_t0"] < j["w0_t0"]
    out.append(f"Weights alone (threshold kept at 0.5): {j['w0_t0']:.2f} -> {j['w1_t0']:.2f} joints per frame "
               f"(PCK@0.05 {r['w0_t0_pck05']:.3f} -> {r['w1_t0_pck05']:.3f}): the fine-tuned weights "
               + ("make the next round's work smaller." if w else "do NOT make the next round's work smaller."))
    t = j["w0_t1"] < j["w0_t0"]
    out.append(f"Threshold alone (round-0 weights): {j['w0_t0']:.2f} -> {j['w0_t1']:.2f}"
               + ("." if t else f" (no gain: picked on {r['round_val_videos']} held-out corrected videos, it trades "
                  "misplaced joints for wrong flags).")
               + f" Both: {j['w1_t1']:.2f} joints per frame, {100 * r['w1_t1_work_saved']:.0f} % of the from-nothing "
               f"work saved (round-0 weights: {100 * r['w0_t0_work_saved']:.0f} %).")
    if "w0more_t0" in j:
        c = j["w0more_t0"]
        out.append(f"The control (as many more training steps, no new labels) gives {c:.2f} "
                   + ("(more than the fine-tuned weights: the gain comes from the corrected frames, not from "
                      "training longer)." if c > j["w1_t0"] else "(no more than the fine-tuned weights: the gain "
                      "may come from training longer rather than from the corrected frames)."))
    if "w1fresh_t0" in j:
        f = j["w1fresh_t0"]
        same = abs(f - j["w1_t0"]) < 0.1
        out.append(f"The same labels trained from ImageNet without --init (as many steps as round 0 and the "
                   f"fine-tune together) give {f:.2f} (" + ("about the same as continuing the round-0 weights: "
                   "--init saves training time, not work)." if same else
                   f"{'more' if f > j['w1_t0'] else 'less'} than continuing the round-0 weights)."))
    return out


FINDINGS = """## What did not help

Until this version the rounds fine-tuned the shipped demo model (8 x 10 attention grid, ImageNet-free
backbone trained on 270 videos of the same synthetic generator) with the engine's `finetune` preset
(`--init`, backbone frozen, cached feature cubes), and kept the fine-tuned weights only when they left fewer
moves on held-out corrected frames. Neither round's weights ever passed that check (held-out corrected frames:
9.85 joints per frame with them vs 8.38 without in round 1, 10.44 vs 8.53 in round 2; on the evaluation videos
10.08 and 10.36 vs 9.63 for the demo model), so the whole gain (9.63 -> 9.06 joints per frame) came from the
visibility threshold picked on the corrected frames. Why: the demo model had already seen hundreds of videos
from the same generator, so a few hundred corrected frames taught it nothing new while its attention head and
LSTM memorized them (joints within tolerance on their own frames 14 % -> 59 %, on other videos 11 % -> 9 %), and
at 8 x 10 cells (32 x 30 px) a decoded joint is rarely within the 5 to 10 px tolerance whatever the weights.
Lower learning rates, fewer steps, pose-only loss, a wider target (16 px), training the attention parameters
only, and 48 corrected videos instead of 6 all showed the same pattern.

What did not help in this version: the visibility threshold re-picked on the round's 2 held-out corrected
videos (no gain for the round-0 weights, 7.48 -> 7.53; for the model trained from ImageNet it picked 0.01 and
made the work larger, 5.38 -> 7.29: on so few frames it trades misplaced joints for wrong flags), training the
round-0 weights longer on their own keyframes (the control: 7.46), and, for the work left, continuing from the
round-0 weights rather than training again from ImageNet on the same labels (`python scripts/labeling_effort.py
--no-control --fresh`, same seeds, every shared row identical to the table above: 5.38 joints per frame either
way, PCK@0.1 0.748 vs 0.727; `--init` saves half the training steps).

What changed: the rounds now train the `labeling` preset (frozen ImageNet MobileNetV2 trunk, trainable
pyramid neck and head, 64 x 48 attention grid on a 256 x 192 crop following the person) with the few-keyframe
trainer, the model a user trains on their own video. Round 0 starts from a couple of dozen keyframes, so a
round's corrected frames (new videos, new actions) are new information for it."""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer and shorter videos, 40 training steps per stage "
                    "(checks the plumbing; the figures mean little)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "labeling_effort.md")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--from-json", type=Path, help="rewrite the page from results saved with --json (no run)")
    ap.add_argument("--no-control", action="store_true", help="skip the control (round-0 weights trained longer on "
                    "round 0's keyframes only): about a third less time")
    ap.add_argument("--fresh", action="store_true", help="add the fine-tune's labels trained from ImageNet without "
                    "--init (as many steps as round 0 and the fine-tune together)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    if args.from_json:
        r = json.loads(args.from_json.read_text())
    else:
        r = labeling.run(quick=args.quick, threads=args.threads, control=not args.no_control, fresh=args.fresh)
        r.update(seconds=time.perf_counter() - t0, finished=time.strftime('%Y-%m-%d %H:%M'),
                 threads=args.threads, machine=platform.machine(), quick=args.quick,
                 load=[round(load0, 2), round(os.getloadavg()[0], 2)])
        if args.json:
            args.json.write_text(json.dumps(r, indent=1, default=str))
    rec = r["recipe"]
    cmd = "python scripts/labeling_effort.py" + (" --quick" if r.get("quick") else "") + (
        "" if "w0more_t0" in r["rows"] else " --no-control") + (" --fresh" if "w1fresh_t0" in r["rows"] else "")
    load = r.get("load")
    lines = [
        "# Labeling effort: does a round of corrections make the next round's work smaller?",
        "",
        f"Regenerate with `{cmd}` (also `rpan bench labeling`; last run {r.get('finished', '?')}, "
        f"{r.get('seconds', 0):.0f} s in all on {r.get('threads', '?')} CPU threads, {r.get('machine', '?')}"
        + (f"; load average {load[0]:g} at the start, {load[1]:g} at the end" if load else "") + ").",
        "",
        "A simulated annotator labels synthetic videos (240 x 320, exact joints). It moves a joint when the label "
        f"shown is more than {100 * labeling.TOLERANCE:g} % of the larger side of the person's box from the truth "
        "(5 to 10 px here) or has the wrong visibility flag; from nothing it places every visible joint. The "
        "model's labels are what the studio shows: `rpan analyze` of the mp4 file, a joint shown visible when its "
        "dummy-cell probability is below the visibility threshold.",
        "",
        f"* **Round 0**: the user places keyframes from nothing (every {labeling.SEED_EVERY}th frame of "
        f"{r['seed_videos']} videos, {r['seed_keyframes']} frames) and trains the `labeling` preset on them "
        f"(`rpan train --model-preset labeling --steps {rec['seed_steps']} --copies {rec['seed_copies']} --lr "
        f"{rec['seed_lr']:g}`): the round-0 weights.",
        f"* **Round 1**: the round-0 model predicts every frame of {r['round_videos']} new videos "
        f"({r['frames_per_video']} frames each), the annotator corrects them ({r['round1_joints_per_frame']:.2f} "
        "joints per frame; accepted joints keep the model's small error, moved ones get the truth), and the "
        f"model is fine-tuned from the round-0 weights on everything labeled so far (`--init round0/last.pt "
        f"--steps {rec['round_steps']} --copies {rec['round_copies']} --lr {rec['round_lr']:g}`; "
        f"{r['round_train_videos']} of the new videos, {r['w1_train_frames']} frames with the keyframes). The "
        f"other {r['round_val_videos']} corrected videos (split `val`, not trained on) pick each model's visibility "
        "threshold (the \"new threshold\"; the old one is the studio's 0.5).",
        f"* **Round 2**: {r['eval_videos']} more videos ({r['eval_frames']} frames, one per action), never in the "
        "project, nothing trained, tuned or chosen on them: the work left with each combination.",
        "",
    ] + table(r) + [
        "",
        f"Training times: round 0 {r['w0_train_s']:.0f} s, the fine-tune {r['w1_train_s']:.0f} s"
        + (f", the control {r['w0more_train_s']:.0f} s" if "w0more_train_s" in r else "")
        + (f", from ImageNet {r['w1fresh_train_s']:.0f} s" if "w1fresh_train_s" in r else "") +
        " (trunk features of the crops included). PCK counts the truly visible joints within 0.05 / 0.1 of the "
        "larger box side, whatever flag is shown; the work also counts the flags.",
        "",
        "## Reading it",
        "",
        " ".join(reading(r)),
        "",
        FINDINGS,
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
