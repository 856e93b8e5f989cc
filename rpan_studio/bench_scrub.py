"""Scrubbing benchmark: time from a seek request to the repainted frame with overlays.

Why this number: "lag when scrubbing long videos" is the first complaint about
existing labeling GUIs. We measure the studio's real path — FrameLoader's decode
thread (``Video.frame`` with its verified seeks and cache, plus read-ahead), the
queued signal back to the UI thread, the frame upload, the heat map (bicubic
upsampling and colouring of a K1 x K2 attention map), the confidence-coloured
skeleton and caption, and a synchronous repaint of the view — on a 100,000-frame
MJPG video generated in a temp folder (small frames: the seek cost, not the pixel
count, is what grows with length). Two patterns: *random* (jumps anywhere, the
worst case: a seek every time) and *scrub* (small forward steps, as when dragging
slowly or stepping; served by decode-forward and read-ahead).

Run: ``python -m rpan_studio.bench_scrub [--quick]`` (offscreen works:
``QT_QPA_PLATFORM=offscreen``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["run", "make_long_video"]


def make_long_video(path: str | os.PathLike, n_frames: int, size: tuple[int, int] = (72, 96), fps: float = 30.0,
                    codec: str = "MJPG") -> Path:
    """A cheap long video (MJPG: every frame a key frame; mp4v: inter-coded), a gradient with a moving bar."""
    import cv2

    h, w = size
    out = Path(path)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*codec), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"{out}: OpenCV cannot write {codec} here")
    base = np.zeros((h, w, 3), np.uint8)
    base[..., 0] = np.linspace(30, 200, w, dtype=np.uint8)[None, :]
    base[..., 1] = np.linspace(30, 200, h, dtype=np.uint8)[:, None]
    for t in range(n_frames):
        img = base.copy()
        x = t % w
        img[:, x:x + 4, 2] = 255
        writer.write(img)
    writer.release()
    return out


def run(quick: bool = False, n_frames: int | None = None, n_seeks: int | None = None, seed: int = 0,
        codec: str = "MJPG") -> dict:
    """Median and 95th-percentile ms from a seek request to the repainted frame with overlays.

    ``codec``: "MJPG" (intra-only, as in the brief) or "mp4v" (inter-coded: a random
    seek decodes forward from a key frame).
    """
    from PyQt6.QtWidgets import QApplication

    from rpan_core.skeleton import PENNACTION
    from rpan_core.video import open_video
    from rpan_studio.app import make_app
    from rpan_studio.views.overlays import normalized_confidence
    from rpan_studio.views.video_view import VideoView
    from rpan_studio.workers import FrameLoader

    n_frames = n_frames or (3_000 if quick else 100_000)
    n_seeks = n_seeks or (40 if quick else 300)
    app = make_app()
    rng = np.random.default_rng(seed)
    j, k1, k2 = PENNACTION.num_joints, 9, 15
    with tempfile.TemporaryDirectory(prefix="rpan_bench_scrub_") as tmp:
        t0 = time.perf_counter()
        path = make_long_video(Path(tmp) / ("long.avi" if codec == "MJPG" else "long.mp4"), n_frames, codec=codec)
        gen_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        video = open_video(path)
        open_s = time.perf_counter() - t0
        # An Analysis-shaped set of per-frame arrays (broadcast: no 100k-frame allocation).
        att1 = rng.random((1, j, k1, k2)).astype(np.float16)
        attention = np.broadcast_to(att1, (n_frames, j, k1, k2))
        xy1 = np.stack([rng.uniform(10, video.width - 10, j), rng.uniform(10, video.height - 10, j)], 1)
        xy = np.broadcast_to(xy1[None], (n_frames, j, 2))
        conf = np.broadcast_to(rng.uniform(0.2, 0.9, (1, j)), (n_frames, j))

        view = VideoView()
        view.resize(960, 640)
        view.set_skeleton_edges(PENNACTION.edges)
        view.show()
        loader = FrameLoader()
        loader.set_video(video)
        state = {"want": -1, "done_at": None}

        def shown(index: int, image: np.ndarray) -> None:
            if index != state["want"]:
                return
            view.set_frame(index, image)
            view.set_heat(np.asarray(attention[index], dtype=np.float32))
            view.set_pose(xy[index], normalized_confidence(conf[index]))
            view.set_caption(f"frame {index}   jump 80%")
            view.repaint()
            state["done_at"] = time.perf_counter()

        loader.frameReady.connect(shown)

        def seek_times(targets: list[int]) -> list[float]:
            out = []
            for f in targets:
                state["want"], state["done_at"] = int(f), None
                start = time.perf_counter()
                loader.request(int(f))
                while state["done_at"] is None:
                    app.processEvents()
                    if time.perf_counter() - start > 30:
                        raise RuntimeError(f"frame {f} never arrived")
                out.append((state["done_at"] - start) * 1000.0)
            return out

        seek_times([0])  # warm-up (first paint, colour tables)
        random_targets = rng.integers(0, n_frames, n_seeks).tolist()
        rand_ms = seek_times(random_targets)
        start = int(rng.integers(0, max(1, n_frames - 5 * n_seeks)))
        scrub_targets = (start + np.cumsum(rng.integers(1, 4, n_seeks))).clip(0, n_frames - 1).tolist()
        scrub_ms = seek_times(scrub_targets)
        decode_ms = []
        for f in rng.integers(0, n_frames, min(n_seeks, 50)).tolist():
            video.cache.clear()
            t1 = time.perf_counter()
            video.frame(int(f))
            decode_ms.append((time.perf_counter() - t1) * 1000.0)
        loader.stop()
        view.close()
        video.close()
        QApplication.processEvents()

    def stats(v: list[float]) -> dict:
        a = np.asarray(v)
        return {"median_ms": round(float(np.median(a)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2),
                "max_ms": round(float(a.max()), 2), "n": int(a.size)}

    return {
        "name": "studio scrub: seek request -> repainted frame with overlays",
        "frames": n_frames,
        "codec": codec,
        "frame_size": [int(video.height), int(video.width)],
        "view_px": [640, 960],
        "generate_s": round(gen_s, 2),
        "open_s": round(open_s, 2),
        "random_seek": stats(rand_ms),
        "scrub": stats(scrub_ms),
        "decode_only_random": stats(decode_ms),
        # our whole path vs. the plain reference (one decode) in the same run: robust on a noisy machine
        "ratio_random_vs_decode": round(float(np.median(rand_ms) / max(1e-6, np.median(decode_ms))), 2),
        "median_ms": stats(rand_ms)["median_ms"],
        "p95_ms": stats(rand_ms)["p95_ms"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 frames and 40 seeks instead of 100,000 and 300")
    parser.add_argument("--codec", default="MJPG", choices=["MJPG", "mp4v"], help="codec of the generated video")
    args = parser.parse_args(argv)
    print(json.dumps(run(quick=args.quick, codec=args.codec), indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
