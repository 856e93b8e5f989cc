"""Benchmark: optical flow cost against decoding the same video, and cached reads.

Flow is the temporal stream's price: this says how many times slower than plain
decoding it is to compute (DIS fast / medium, Farneback), and how much a cached
read (what every training epoch after the first pays) costs relative to decode.
All figures come from the same run on the same clip, so the ratios survive a
noisy shared machine; the absolute rates are printed for context.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from rpan_core import flow as F


def _clip(n: int, size: tuple[int, int]) -> np.ndarray:
    """A synthetic action clip (``rpan_core.synth`` when present), RGB ``n x H x W x 3``."""
    h, w = size
    try:
        from rpan_core import synth

        return np.asarray(synth.render_video(0, synth.ACTIONS[0], n, (h, w)).frames)
    except Exception:  # synth not there yet or another signature: a moving texture
        rng = np.random.default_rng(0)
        base = cv2.resize(rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8), (w, h))
        frames = []
        for k in range(n):
            f = np.roll(base, 2 * k, axis=1).copy()
            cx, cy = int(w * 0.3 + 3 * k) % w, int(h * 0.5 + 8 * np.sin(k / 5))
            cv2.circle(f, (cx, cy), h // 8, (240, 200, 40), -1)
            frames.append(f)
        return np.stack(frames, 0)


def _write_avi(frames: np.ndarray, path: Path) -> None:
    h, w = frames.shape[1:3]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (w, h))
    for f in frames:
        out.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    out.release()


def _decode_fps(path: Path) -> tuple[float, np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    t0 = time.perf_counter()
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
    dt = time.perf_counter() - t0
    cap.release()
    return len(frames) / dt, np.stack(frames, 0)


def run(quick: bool = False) -> dict:
    n, size = (24, (240, 320)) if quick else (96, (240, 320))
    result: dict = {"frames": n, "frame_size": f"{size[1]}x{size[0]}", "dis_available": F.has_dis()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = tmp / "clip.avi"
        _write_avi(_clip(n, size), video)
        decode_fps, frames = _decode_fps(video)
        result["decode_fps"] = decode_fps
        for name, params in (("dis_fast", F.FlowParams(preset="fast")),
                             ("dis_medium", F.FlowParams(preset="medium")),
                             ("farneback", F.FlowParams(method="farneback"))):
            t0 = time.perf_counter()
            vol = F.compute_flow(frames, tmp / name, params)  # compute + compress + write
            dt = time.perf_counter() - t0
            rate = vol.computed_pairs / dt
            result[f"{name}_pairs_per_s"] = rate
            result[f"{name}_vs_decode_x_slower"] = decode_fps / rate
            if name == "dis_medium":
                t0 = time.perf_counter()
                vol2 = F.compute_flow(frames, tmp / name, params)  # served from the cache
                stacks = [vol2.stack(t) for t in range(vol2.num_pairs)]
                dt = time.perf_counter() - t0
                result["cached_stacks_per_s"] = len(stacks) / dt
                result["cached_stack_vs_decode_x_faster"] = (len(stacks) / dt) / decode_fps
                nbytes = sum(p.stat().st_size for p in vol2.folder.glob("*.npz"))
                raw = vol2.num_pairs * vol2.size[0] * vol2.size[1] * 2
                result["cache_bytes_per_pair"] = nbytes / max(1, vol2.num_pairs)
                result["cache_compression_x"] = raw / max(1, nbytes)
    return result


if __name__ == "__main__":  # pragma: no cover
    for k, v in run(quick=True).items():
        print(f"{k:<36} {v}")
