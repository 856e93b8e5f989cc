"""Benchmark: real codecs. A long 1080p H.264 video with a long GOP, as a phone or camera writes it.

Why: the other video benchmarks use small intra-only or mp4v clips, where every seek
is cheap. On H.264 with a key frame every ``GOP`` frames a random seek decodes up to
a GOP of full-HD frames. This measures, side by side in one run:

* the display proxy's build speed as a ratio to plain sequential decoding
  (``cv2.VideoCapture.read`` over the same file), and its size on disk;
* random seeks and small forward steps (1-3 frames): the exact decoder path
  (``Video.frame``, what the studio did before the proxy) vs. one proxy frame;
* analysis frames/s for the ``demo`` preset (and every preset named in ``PRESETS``
  below that exists) as a ratio to min(decode-only, network-only) frames/s, and
  the serial reference (decode, then ``INTER_AREA`` resize, then the network, one
  after another: the loop analysis used before it became a pipeline).

The repaint side (seek -> frame on screen with overlays) is ``rpan_studio.bench_scrub``.
Videos come from :func:`make_h264_video` (PyAV's libx264) in a temp folder; pass
your own files with ``rpan bench codec --video PATH`` (never committed: data).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

#: The presets whose analysis speed is reported (those that exist in rpan_core.model.PRESETS).
PRESETS = ("demo", "labeling")


def make_h264_video(path: str | Path, n_frames: int, size: tuple[int, int] = (1080, 1920), gop: int = 250,
                    fps: float = 30.0, preset: str = "veryfast") -> Path:
    """Write an H.264 .mp4 (yuv420p, key frame every ``gop`` frames, B-frames: a camera-like stream).

    The content moves everywhere (a drifting textured background, a moving figure-like
    block, the frame number), so inter frames carry real residuals, not just skips.
    """
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is a dependency
        from rpan_core.errors import ConfigError

        raise ConfigError("PyAV is needed to write H.264 (pip install av)") from exc
    import cv2

    h, w = size
    out = Path(path)
    rng = np.random.default_rng(0)
    bg = cv2.resize(rng.integers(0, 255, (h // 24 + 2, w // 24 + 2, 3), np.uint8), (w + 64, h + 64),
                    interpolation=cv2.INTER_CUBIC)
    fine = cv2.resize(rng.integers(0, 60, (h // 4, w // 4, 1), np.uint8), (w + 64, h + 64),
                      interpolation=cv2.INTER_LINEAR)[..., None]
    bg = cv2.add(bg, np.repeat(fine, 3, 2))
    with av.open(str(out), "w") as c:
        s = c.add_stream("libx264", rate=int(round(fps)))
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"preset": preset, "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "crf": "23"}
        for t in range(n_frames):
            dx, dy = int(32 + 30 * np.sin(t / 40)), int(32 + 30 * np.cos(t / 55))
            img = bg[dy:dy + h, dx:dx + w].copy()
            cx, cy = int(w / 2 + w / 3 * np.sin(t / 30)), int(h / 2 + h / 4 * np.sin(t / 17))
            cv2.ellipse(img, (cx, cy), (w // 20, h // 5), t % 180, 0, 360, (230, 120, 60), -1)
            cv2.circle(img, (cx, cy - h // 4), h // 14, (240, 200, 170), -1)
            cv2.putText(img, f"{t}", (w // 20, h // 6), cv2.FONT_HERSHEY_SIMPLEX, h / 270, (255, 255, 255),
                        max(2, h // 200))
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return out


def decode_fps(path: str | Path) -> float:
    """Plain sequential decoding (``cv2.VideoCapture.read``) frames/s: the ceiling of any pass."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    n, t0 = 0, time.perf_counter()
    while cap.read()[0]:
        n += 1
    cap.release()
    return n / max(time.perf_counter() - t0, 1e-9)


def pyav_decode_fps(path: str | Path, thread_type: str | None = None) -> float:
    """Plain sequential decoding with PyAV to the decoder's own planes (as numpy arrays, no colour
    conversion) frames/s: the cheapest usable frame, the analysis path's decoder. ``thread_type``
    None: PyAV's default (slice threads), "AUTO": frame threads too."""
    import av

    from rpan_core.yuv_frames import plane_views

    n, t0 = 0, time.perf_counter()
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        if thread_type:
            s.thread_type = thread_type
        for f in c.decode(s):
            if f.format.name in ("yuv420p", "yuvj420p"):
                plane_views(f)
            else:
                f.to_ndarray()
            n += 1
    return n / max(time.perf_counter() - t0, 1e-9)


def decode_references(path: str | Path) -> dict[str, float]:
    """Sequential decode-only frames/s of ``path`` with each decoder: ``cv2`` (``VideoCapture.read``,
    FFmpeg + its BGR conversion) and ``pyav`` (the faster of PyAV's default and frame threading, to
    the planes). Measured twice each, keeping the faster (the references are not flattered by a
    slow moment); ``strict`` is the fastest of all, the one the headline ratios use."""
    cv = max(decode_fps(path), decode_fps(path))
    try:
        av_fps = max(pyav_decode_fps(path, t) for t in (None, "AUTO", None, "AUTO"))
    except ImportError:  # pragma: no cover - av is a dependency
        av_fps = 0.0
    return {"cv2": round(cv, 1), "pyav": round(av_fps, 1), "strict": round(max(cv, av_fps), 1)}


def _stats(ms: list[float]) -> dict:
    a = np.asarray(ms, np.float64)
    return {"median_ms": round(float(np.median(a)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2),
            "n": int(a.size)}


def proxy_and_seeks(path: str | Path, n_seeks: int, seed: int = 0) -> dict:
    """Proxy build vs. sequential decode, then random seeks and small steps with and without it."""
    from rpan_core.proxy import ProxyBuilder
    from rpan_core.video import exact_hash, open_video

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rpan-bench-proxy-") as tmp:
        refs0 = decode_references(path)
        b = ProxyBuilder(path, tmp, content_hash=exact_hash(path))  # hashed first: the ratio times the build alone
        t0 = time.perf_counter()
        proxy = b.run()
        build_s = time.perf_counter() - t0
        refs1 = decode_references(path)
        refs = {k: max(refs0[k], refs1[k]) for k in refs0}  # the faster decode: the ratio is not flattered
        dec = refs["strict"]
        n = proxy.frame_count
        out.update(frames=n, source_size=list(proxy.source_size), proxy_size=[proxy.height, proxy.width],
                   decode_fps=round(dec, 1), decode_cv2_fps=refs["cv2"], decode_pyav_fps=refs["pyav"],
                   proxy_build_fps=round(n / build_s, 1), proxy_build_vs_decode=round(n / build_s / dec, 3),
                   proxy_build_vs_cv2_decode=round(n / build_s / refs["cv2"], 3),
                   proxy_mb=round(proxy.size_bytes / 2 ** 20, 1),
                   proxy_kb_per_frame=round(proxy.size_bytes / 1024 / n, 1))
        rng = np.random.default_rng(seed)
        targets = rng.integers(0, n, n_seeks).tolist()
        start = int(rng.integers(0, max(1, n - 3 * n_seeks)))
        steps = (start + np.cumsum(rng.integers(1, 4, n_seeks))).clip(0, n - 1).tolist()
        with open_video(path, cache_mb=64) as v:  # before: the exact decoder path, frames cached as the studio does
            def timed(get, idx):
                ms = []
                for i in idx:
                    t = time.perf_counter()
                    get(int(i))
                    ms.append((time.perf_counter() - t) * 1000)
                return ms

            out["exact_random_seek"] = _stats(timed(v.frame, targets[: max(10, n_seeks // 3)]))
            v.cache.clear()
            out["exact_scrub"] = _stats(timed(v.frame, steps))
            v.cache.clear()
            out["proxy_random_seek"] = _stats(timed(proxy.frame, targets))
            out["proxy_scrub"] = _stats(timed(proxy.frame, steps))
        out["random_seek_speedup"] = round(out["exact_random_seek"]["median_ms"] /
                                           max(1e-6, out["proxy_random_seek"]["median_ms"]), 1)
        proxy.close()
    return out


def _checkpoint_for(preset_name: str, folder: Path) -> Path | None:
    """The demo's shipped checkpoint, or a random-weight one of ``preset_name`` (speed only); None if unknown."""
    from rpan_core.model import PRESETS as MODEL_PRESETS

    if preset_name not in MODEL_PRESETS:
        return None
    if preset_name == "demo":
        ck = Path(__file__).resolve().parents[2] / "assets" / "demo_checkpoint.pt"
        if ck.exists():
            return ck
    import torch

    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.model import RPAN, preset

    torch.manual_seed(0)
    over = {"backbone_weights": None} if MODEL_PRESETS[preset_name].get("backbone_weights") else {}
    model = RPAN(preset(preset_name, **over))
    return save_checkpoint(folder / f"{preset_name}.pt", model,
                           classes=[f"c{i}" for i in range(model.cfg.num_classes)])


def analysis_speed(video: str | Path, checkpoint: Path, device: str = "cpu") -> dict:
    """Analysis frames/s vs. decode-only and network-only frames/s, and the serial reference, one run."""
    import cv2
    import torch

    from rpan_core.analyze import analyze_video
    from rpan_core.checkpoint import load_checkpoint
    from rpan_core.pipeline import auto_batch, frame_blocks
    from rpan_core.video import open_video

    model, info = load_checkpoint(checkpoint, device=device)
    model.eval()
    size = tuple(model.cfg.input_size)
    batch = auto_batch(device)
    with open_video(video, cache_mb=8) as v:
        n = v.frame_count

        def decode_resize() -> None:  # the pipeline's input stage alone
            from rpan_core.yuv_frames import analysis_frames

            frames, transform, _ = analysis_frames(v, size)
            for _ in frame_blocks(frames, [batch] * (-(-n // batch)), transform, (*size, 3)):
                pass

        x_blk = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (1, batch, *size, 3), np.uint8))

        def network() -> None:  # the network alone on ready frames, as analysis batches them (8 chains)
            s = 8
            with torch.no_grad():
                state = model.init_state(s)
                for _ in range(-(-n // batch)):
                    cubes = model.features(model.preprocess(x_blk).to(device))[0]
                    for t in range(batch // s):
                        _, state = model.step_features(cubes[t * s:(t + 1) * s], state)

        def serial() -> None:  # before: decode, INTER_AREA resize, network, one after another
            s = 8
            with torch.no_grad():
                state = model.init_state(s)
                it = v.frames()
                for _ in range(-(-n // batch)):
                    blk = np.stack([cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_AREA)
                                    for f in (next(it, None) for _ in range(batch)) if f is not None])
                    cubes = model.features(model.preprocess(blk[None]).to(device))[0]
                    for t in range(len(blk) // s):
                        _, state = model.step_features(cubes[t * s:(t + 1) * s], state)

        def timed(fn) -> float:
            t = time.perf_counter()
            fn()
            return n / max(time.perf_counter() - t, 1e-9)

        def network_best() -> float:  # the network's own best thread count (a fair ceiling)
            before = torch.get_num_threads()
            try:
                rates = []
                for k in sorted({1, before}):
                    torch.set_num_threads(k)
                    rates.append(timed(network))
                return max(rates)
            finally:
                torch.set_num_threads(before)

        refs0 = decode_references(video)
        dec_rs = timed(decode_resize)
        net = network_best()
        ser = timed(serial)
        with tempfile.TemporaryDirectory(prefix="rpan-bench-an-") as tmp:
            t = time.perf_counter()
            a = analyze_video(video, checkpoint, cache_dir=tmp, device=device, refresh=True)
            an = n / (time.perf_counter() - t)
            decode_path = (a.decode or {}).get("path", "exact")
        refs1 = decode_references(video)
        net = max(net, network_best())
    refs = {k: max(refs0[k], refs1[k]) for k in refs0}
    dec = refs["strict"]
    ceiling = min(dec, net)
    return {"frames": n, "input_size": list(size), "batch": batch, "decode_only_fps": round(dec, 1),
            "decode_only_cv2_fps": refs["cv2"], "decode_only_pyav_fps": refs["pyav"], "decode_path": decode_path,
            "decode_resize_fps": round(dec_rs, 1), "network_only_fps": round(net, 1),
            "serial_before_fps": round(ser, 1), "analysis_fps": round(an, 1),
            "analysis_vs_min_decode_network": round(an / ceiling, 3),
            "analysis_vs_min_cv2_decode_network": round(an / min(refs["cv2"], net), 3),
            "analysis_vs_min_pyav_decode_network": round(an / min(refs["pyav"] or dec, net), 3),
            "serial_before_vs_min_decode_network": round(ser / ceiling, 3),
            "analysis_vs_serial_before": round(an / max(ser, 1e-9), 2)}


def run(quick: bool = False, videos: list[str] | None = None) -> dict:
    import torch

    torch.set_num_threads(min(2, torch.get_num_threads()))
    n_long, n_an, n_seeks = (240, 120, 30) if quick else (900, 300, 100)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rpan-bench-codec-") as tmp:
        t = time.perf_counter()
        long = make_h264_video(Path(tmp) / "long_1080p_h264.mp4", n_long, gop=250)
        clip = make_h264_video(Path(tmp) / "clip_1080p_h264.mp4", n_an, gop=250)
        out["generate_s"] = round(time.perf_counter() - t, 1)
        sources = {"h264_1080p_gop250": long}
        for p in videos or []:
            sources[Path(p).name] = Path(p)
        for name, path in sources.items():
            for k, val in proxy_and_seeks(path, n_seeks).items():
                out[f"{name}.{k}"] = val
        for name in PRESETS:
            ck = _checkpoint_for(name, Path(tmp))
            if ck is None:
                out[f"analysis.{name}"] = "preset not available"
                continue
            for vname, vpath in [("h264_1080p", clip)] + [(Path(p).name, Path(p)) for p in videos or []]:
                for k, val in analysis_speed(vpath, ck).items():
                    out[f"analysis.{name}.{vname}.{k}"] = val
    return out


if __name__ == "__main__":  # pragma: no cover
    import sys

    for key, value in run(quick="--quick" in sys.argv, videos=[a for a in sys.argv[1:] if a != "--quick"]).items():
        print(f"{key:<60} {value}")
