"""Benchmark: frame access speed against raw OpenCV decoding, in one run.

The studio scrubs, steps and plays through videos; training iterates them. This
measures, on one synthetic mp4v clip (real-looking content, 240x320): raw
sequential ``cv2.VideoCapture.read`` (the ceiling), our sequential
``Video.frames()``, our exact random access ``frame(i)`` with a cache too small to
help, +1 / -1 scrubbing, and whether a seek late in the file costs more than one
early in it (it must not: the seek cost may not grow with the frame index), also
on a 100,000-frame video (small frames, so writing it takes seconds), where the
open time (frame count verified, not scanned) is reported too.
Everything is reported as ratios to the raw decode rate; absolute numbers are for
context only (the machine is shared).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def _make_clip(path: Path, n: int) -> None:
    from rpan_core.synth import render_video, write_mp4

    chunks = []
    k = 0
    while sum(len(c) for c in chunks) < n:
        chunks.append(render_video(k, "jumping_jacks", n_frames=min(120, n), size=(240, 320)).frames)
        k += 1
    write_mp4(path, np.concatenate(chunks)[:n])


def _rate(fn, count: int) -> float:
    t = time.perf_counter()
    fn()
    return count / max(1e-9, time.perf_counter() - t)


def _long_video(path: Path, n: int) -> dict:
    """Open time and seek cost at the start vs. the end of an ``n``-frame (small) video."""
    from rpan_core.video import open_video

    base = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (128, 96))
    for i in range(n):
        f = base.copy()
        f[:, i % 128] = 255
        w.write(f)
    w.release()
    t = time.perf_counter()
    rng = np.random.default_rng(1)
    with open_video(path, cache_mb=1) as v:
        open_s = time.perf_counter() - t
        first = rng.integers(0, n // 100, 100)
        last = rng.integers(n - n // 100, n, 100)
        first_ms = 1000 / _rate(lambda: [v.frame(int(i)) for i in first], len(first))
        last_ms = 1000 / _rate(lambda: [v.frame(int(i)) for i in last], len(last))
    return {"long_frames": n, "long_open_s": open_s, "long_seek_ms_first_1pct": first_ms,
            "long_seek_ms_last_1pct": last_ms, "long_last_vs_first_seek_time": last_ms / first_ms}


def run(quick: bool = False) -> dict:
    from rpan_core.video import open_video

    n = 300 if quick else 1500
    n_random = 40 if quick else 200
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        _make_clip(path, n)

        def raw() -> None:
            cap = cv2.VideoCapture(str(path))
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            cap.release()

        raw_fps = _rate(raw, n)
        t = time.perf_counter()
        v = open_video(path, cache_mb=1)  # ~4 frames: the cache cannot hide decode cost
        open_s = time.perf_counter() - t
        with v:
            seq_fps = _rate(lambda: sum(1 for _ in v.frames()), n)
            idx = rng.integers(0, n, n_random)
            rand_fps = _rate(lambda: [v.frame(int(i)) for i in idx], n_random)
            start = n // 2
            fwd = list(range(start, start + n_random))
            back = list(range(start + 2 * n_random, start + n_random, -1))
            fwd_fps = _rate(lambda: [v.frame(i) for i in fwd], len(fwd))
            back_fps = _rate(lambda: [v.frame(i) for i in back], len(back))
            early = rng.integers(0, n // 10, n_random // 2)
            late = rng.integers(n - n // 10, n, n_random // 2)
            early_fps = _rate(lambda: [v.frame(int(i)) for i in early], len(early))
            late_fps = _rate(lambda: [v.frame(int(i)) for i in late], len(late))
        long = _long_video(Path(tmp) / "long.mp4", 10_000 if quick else 100_000)
    return {
        **long,
        "frames": n,
        "frame_size": "320x240",
        "open_s": open_s,
        "raw_decode_fps": raw_fps,
        "sequential_fps": seq_fps,
        "sequential_vs_raw": seq_fps / raw_fps,
        "random_fps": rand_fps,
        "random_vs_raw": rand_fps / raw_fps,
        "random_ms_per_frame": 1000 / rand_fps,
        "scrub_forward_vs_raw": fwd_fps / raw_fps,
        "scrub_backward_vs_raw": back_fps / raw_fps,
        "scrub_backward_ms_per_frame": 1000 / back_fps,
        "late_vs_early_seek_time": early_fps / late_fps,
    }


if __name__ == "__main__":  # pragma: no cover
    for k, val in run(quick=False).items():
        print(f"{k:30s} {val:.4g}" if isinstance(val, float) else f"{k:30s} {val}")
