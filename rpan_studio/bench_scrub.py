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

With a display proxy (``rpan_core.proxy``) a seek is one small JPEG decode; the
proxy is built first (timed on its own, as a ratio to sequential decoding), then
the same seeks run with it and, for comparison, without it (the exact decoder).

Run: ``python -m rpan_studio.bench_scrub [--quick] [--codec h264] [--video PATH]``
(offscreen works: ``QT_QPA_PLATFORM=offscreen``). The paint is forced with ``QWidget.grab()``: offscreen,
``repaint()`` returns without painting, which would leave the upload and paint unmeasured.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

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


def _stats(v: list[float]) -> dict:
    a = np.asarray(v, np.float64)
    return {"median_ms": round(float(np.median(a)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2),
            "max_ms": round(float(a.max()), 2), "n": int(a.size)}


def _seek_session(app: Any, path: Path, n_seeks: int, seed: int, proxy: Any = None) -> dict:
    """Random seeks and small steps through the studio's path (FrameLoader -> view with overlays)."""
    from rpan_core.skeleton import PENNACTION
    from rpan_core.video import open_video
    from rpan_studio.views.overlays import normalized_confidence
    from rpan_studio.views.video_view import VideoView
    from rpan_studio.workers import FrameLoader

    rng = np.random.default_rng(seed)
    j, k1, k2 = PENNACTION.num_joints, 9, 15
    t0 = time.perf_counter()
    video = open_video(path, cache_mb=64)
    open_s = time.perf_counter() - t0
    n_frames = video.frame_count
    if proxy is not None:
        assert video.attach_proxy(proxy), "the proxy does not match the video"
    # An Analysis-shaped set of per-frame arrays (broadcast: no 100k-frame allocation).
    attention = np.broadcast_to(rng.random((1, j, k1, k2)).astype(np.float16), (n_frames, j, k1, k2))
    xy1 = np.stack([rng.uniform(10, video.width - 10, j), rng.uniform(10, video.height - 10, j)], 1)
    xy = np.broadcast_to(xy1[None], (n_frames, j, 2))
    conf = np.broadcast_to(rng.uniform(0.2, 0.9, (1, j)), (n_frames, j))
    view = VideoView()
    view.resize(960, 640)
    view.set_skeleton_edges(PENNACTION.edges)
    view.show()
    loader = FrameLoader()
    loader.set_video(video)
    state: dict[str, Any] = {"want": -1, "done_at": None}
    size = (video.height, video.width)

    def shown(index: int, image: np.ndarray) -> None:
        if index != state["want"]:
            return
        view.set_frame(index, image, size)
        view.set_heat(np.asarray(attention[index], dtype=np.float32))
        view.set_pose(xy[index], normalized_confidence(conf[index]))
        view.set_caption(f"frame {index}   jump 80%")
        view.grab()  # a real, synchronous paint of the whole view (repaint() is lazy offscreen)
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
                if time.perf_counter() - start > 60:
                    raise RuntimeError(f"frame {f} never arrived")
            out.append((state["done_at"] - start) * 1000.0)
            loader.wait_idle(60)  # the read-ahead after it is not part of the next seek's time
            video.wait_prefetch(60)
        return out

    try:
        seek_times([0])  # warm-up (first paint, colour tables)
        rand_ms = seek_times(rng.integers(0, n_frames, n_seeks).tolist())
        start = int(rng.integers(0, max(1, n_frames - 3 * n_seeks)))
        scrub_ms = seek_times((start + np.cumsum(rng.integers(1, 4, n_seeks))).clip(0, n_frames - 1).tolist())
        decode_ms = []
        for f in rng.integers(0, n_frames, min(n_seeks, 30)).tolist():
            video.cache.clear()
            t1 = time.perf_counter()
            video.frame(int(f))
            decode_ms.append((time.perf_counter() - t1) * 1000.0)
    finally:
        loader.stop()
        view.close()
        video.close()
        app.processEvents()
    return {"frames": n_frames, "frame_size": [int(size[0]), int(size[1])], "open_s": round(open_s, 2),
            "random_seek": _stats(rand_ms), "scrub": _stats(scrub_ms), "decode_only_random": _stats(decode_ms),
            # our whole path vs. the plain reference (one exact decode) in the same run
            "ratio_random_vs_decode": round(float(np.median(rand_ms) / max(1e-6, np.median(decode_ms))), 3)}


def run(quick: bool = False, n_frames: int | None = None, n_seeks: int | None = None, seed: int = 0,
        codec: str = "MJPG", video: str | os.PathLike | None = None, compare: bool = True) -> dict:
    """Median and 95th-percentile ms from a seek request to the repainted frame with overlays.

    ``video``: measure this file (else one is generated with ``codec``: "MJPG",
    intra-only; "mp4v", inter-coded; "h264", 1080p with a key frame every 250 frames).
    The display proxy is built first (timed and reported on its own, with the
    sequential decode of the same file for the ratio), then the seeks run as the
    studio serves them with the proxy; ``compare`` also runs them without it
    (the exact decoder path, as before the proxy).
    """
    from rpan_core.benchmarks.codec import decode_fps, make_h264_video
    from rpan_core.proxy import ProxyBuilder
    from rpan_studio.app import make_app

    n_seeks = n_seeks or (30 if quick else 200)
    app = make_app()
    out: dict[str, Any] = {"name": "studio scrub: seek request -> repainted frame with overlays", "view_px": [640, 960]}
    with tempfile.TemporaryDirectory(prefix="rpan_bench_scrub_") as tmp:
        if video is None:
            t0 = time.perf_counter()
            if codec == "h264":
                n_frames = n_frames or (300 if quick else 900)
                path = make_h264_video(Path(tmp) / "long_h264.mp4", n_frames, gop=250)
            else:
                n_frames = n_frames or (3_000 if quick else 100_000)
                path = make_long_video(Path(tmp) / ("long.avi" if codec == "MJPG" else "long.mp4"), n_frames,
                                       codec=codec)
            out.update(codec=codec, generate_s=round(time.perf_counter() - t0, 2))
        else:
            path = Path(video)
            out["video"] = path.name
        dec = decode_fps(path)
        builder = ProxyBuilder(path, Path(tmp) / "proxies")
        t0 = time.perf_counter()
        proxy = builder.run()
        build_s = time.perf_counter() - t0
        dec = max(dec, decode_fps(path))
        out["proxy_build"] = {"seconds": round(build_s, 2), "frames_per_s": round(proxy.frame_count / build_s, 1),
                              "sequential_decode_frames_per_s": round(dec, 1),
                              "ratio_to_sequential_decode": round(proxy.frame_count / build_s / dec, 3),
                              "size_mb": round(proxy.size_bytes / 2 ** 20, 1),
                              "proxy_size": [proxy.height, proxy.width]}
        with_proxy = _seek_session(app, path, n_seeks, seed, proxy)
        out.update(with_proxy)
        out["median_ms"], out["p95_ms"] = with_proxy["random_seek"]["median_ms"], with_proxy["random_seek"]["p95_ms"]
        if compare:
            without = _seek_session(app, path, max(10, n_seeks // 4), seed, None)
            out["without_proxy"] = {k: without[k] for k in ("random_seek", "scrub", "decode_only_random")}
            out["random_seek_speedup_with_proxy"] = round(without["random_seek"]["median_ms"] /
                                                          max(1e-6, with_proxy["random_seek"]["median_ms"]), 1)
        proxy.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames and seeks")
    parser.add_argument("--codec", default="MJPG", choices=["MJPG", "mp4v", "h264"],
                        help="codec of the generated video (h264: 1080p, a key frame every 250 frames)")
    parser.add_argument("--video", help="measure this video file instead of a generated one")
    parser.add_argument("--seeks", type=int, help="seeks per pattern (default 200, --quick 30)")
    parser.add_argument("--no-compare", action="store_true", help="skip the run without the proxy")
    args = parser.parse_args(argv)
    if args.video is not None and not Path(args.video).is_file():
        parser.error(f"--video {args.video}: no such file")
    print(json.dumps(run(quick=args.quick, codec=args.codec, video=args.video, n_seeks=args.seeks,
                         compare=not args.no_compare), indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
