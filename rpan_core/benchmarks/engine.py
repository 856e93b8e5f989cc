"""Benchmark: training clips/s and analysis frames/s against raw decode frames/s, in one run.

Why relative numbers: the machine is shared and its speed varies, so the engine is
measured against the cheapest thing it must do anyway, decoding the same video
with ``cv2.VideoCapture.read`` in the same run. Analysis should get close to that
ceiling on a GPU (it decodes sequentially and batches ``stride`` chains x several
steps through the backbone); on a CPU the network dominates. Training throughput
is reported for a from-scratch run (frames decoded once into RAM) and for a
``--freeze-backbone`` fine-tune on cached feature cubes (the studio's fast path).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import cv2


def _raw_decode_fps(path: str) -> float:
    cap = cv2.VideoCapture(path)
    n, t0 = 0, time.perf_counter()
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    cap.release()
    return n / max(time.perf_counter() - t0, 1e-9)


def run(quick: bool = False) -> dict:
    from rpan_core.analyze import analyze_video
    from rpan_core.runlog import read_events
    from rpan_core.synth import make_project
    from rpan_core.engine import TrainConfig, run_training

    n_videos, n_frames = (9, 32) if quick else (18, 120)
    with tempfile.TemporaryDirectory(prefix="rpan-bench-") as tmp:
        proj = Path(tmp) / "project"
        project = make_project(proj, n_videos, seed=5, n_frames=n_frames, workers=1, progress=False)
        common = dict(project=str(proj), backbone="small_cnn", backbone_weights=None, input_size=(128, 160),
                      hidden=128, batch=4, lr=0.01, tensorboard=False)
        t0 = time.perf_counter()
        run = run_training(TrainConfig(run_dir=str(Path(tmp) / "run"), epochs=2 if quick else 3, **common),
                           progress=False)
        train_wall = time.perf_counter() - t0
        steps = [e for e in read_events(Path(run) / "events.jsonl") if e["type"] == "step"]
        train_cps = statistics.median(e["clips_per_s"] for e in steps[1:] or steps)
        ck = Path(run) / "last.pt"
        ft_run = run_training(TrainConfig(run_dir=str(Path(tmp) / "ft"), init=str(ck), freeze_backbone=True,
                                          preset="finetune", epochs=3, **{k: v for k, v in common.items()
                                                                         if k in ("project", "batch", "lr",
                                                                                  "tensorboard")}),
                              progress=False)
        ft_steps = [e for e in read_events(Path(ft_run) / "events.jsonl") if e["type"] == "step"]
        per_epoch = max(1, len(ft_steps) // 3)
        cached = ft_steps[per_epoch:]  # epochs 2-3 read cubes from the disk cache
        ft_cps = statistics.median(e["clips_per_s"] for e in cached or ft_steps)
        video = project.videos()[0].path
        raw = _raw_decode_fps(video)
        a = analyze_video(video, ck, cache_dir=Path(tmp) / "an", refresh=True)
        an_fps = a.num_frames / max(a.seconds, 1e-9)
        t1 = time.perf_counter()
        analyze_video(video, ck, cache_dir=Path(tmp) / "an")
        cached_s = time.perf_counter() - t1
        raw2 = _raw_decode_fps(video)
    raw_fps = max(raw, raw2)
    return {
        "videos": n_videos, "frames_per_video": n_frames, "input_size": "128x160", "backbone": "small_cnn",
        "train_clips_per_s": round(train_cps, 2), "train_frames_per_s": round(train_cps * 8, 1),
        "train_wall_s": round(train_wall, 1),
        "finetune_frozen_cached_clips_per_s": round(ft_cps, 2),
        "analysis_frames_per_s": round(an_fps, 1), "raw_decode_frames_per_s": round(raw_fps, 1),
        "analysis_vs_raw_decode": round(an_fps / raw_fps, 3),
        "train_frames_vs_raw_decode": round(train_cps * 8 / raw_fps, 3),
        "cached_analysis_s": round(cached_s, 4), "analysis_stride": a.stride,
    }
