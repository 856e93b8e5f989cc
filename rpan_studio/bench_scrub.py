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

With ``--persons N`` (2-3) the session also times the path with every person's
overlays as after a per-person analysis (:class:`~rpan_studio.views.persons_layer.PersonsLayer`:
each person's box, interpolated between keyframes, the other persons' labeled
skeletons read from a real project store per frame and their estimated poses; every
person's heat map warped through its own crop window into one image), alternating seek by seek with the single-person
path on one target sequence, so both figures share the machine's load.

Run: ``python -m rpan_studio.bench_scrub [--quick] [--codec h264] [--video PATH] [--persons 3]``
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

#: Proxy builds timed per video (each into its own folder); the faster counts, as the decode references
#: count the faster of their runs: a single build paid alone for a slow moment of a shared machine.
BUILDS = 2


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


def _persons_project(folder: Path, video: Path, n_frames: int, persons: int, size: tuple[int, int],
                     rng: np.random.Generator):
    """A project on the video with ``persons`` persons: a box keyframe every 100 frames and a labeled
    pose every 25th frame each (what a labeled multi-person video holds)."""
    from rpan_core.project import Project

    h, w = size
    p = Project.create(folder)
    vid = p.add_video(video)
    for pid in range(1, persons + 1):
        if pid > 1:
            p.add_person(vid)
        cx = w * pid / (persons + 1)
        keys = np.arange(0, n_frames, 100)
        p.set_boxes(vid, [(int(f), cx - 12 + (f % 7), 8.0, cx + 12 + (f % 7), h - 8.0) for f in keys], person=pid)
        rows = [(int(f), j, float(cx + rng.uniform(-10, 10)), float(rng.uniform(10, h - 10)), True, "manual")
                for f in range(0, n_frames, 25) for j in range(13)]
        p.set_labels(vid, rows, person=pid)
    return p, vid


def _person_analyses(project: Any, vid: int, n_frames: int, rng: np.random.Generator) -> dict[int, Any]:
    """Analysis-shaped per-person arrays as the studio holds them after Ctrl+R on a video of several persons:
    attention over a 16 x 12 grid of a 256 x 192 crop around each person's box (its window per frame), its
    pose and visibility (broadcast where per-frame values do not matter for the timing)."""
    from types import SimpleNamespace

    from rpan_core.geometry import Window
    from rpan_core.skeleton import PENNACTION

    j, grid, in_size = PENNACTION.num_joints, (16, 12), (256, 192)
    out = {}
    for p in project.persons(vid):
        boxes = project.person_boxes(vid, p.id)
        win = np.stack([Window.around_box(b, in_size, margin=0.15).matrix for b in boxes])
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        xy = centre[:, None, :] + rng.uniform(-8, 8, (1, j, 2))
        out[p.id] = SimpleNamespace(
            attention=np.broadcast_to(rng.random((1, j, *grid)).astype(np.float16), (n_frames, j, *grid)),
            window=win, input_size=in_size, xy=xy, dummy=np.zeros((1, j), np.float16).repeat(n_frames, 0),
            probs=np.zeros((n_frames, 1), np.float32))
    return out


def _colours_painted(shot: Any, persons: list) -> list[int]:
    """The ids of the persons whose colour is painted in ``shot`` (a QPixmap of the view): the benchmark
    checks that what it timed drew every person (box, name, skeleton), not an empty layer."""
    from rpan_studio.person_commands import person_colour

    if shot is None:
        return []
    img = shot.toImage().convertToFormat(shot.toImage().Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    rgb = np.frombuffer(img.constBits().asstring(bpl * h), np.uint8).reshape(h, bpl)[:, :3 * w].reshape(h, w, 3)
    return [p.id for p in persons if int((rgb == np.array(person_colour(p.id), np.uint8)).all(axis=2).sum()) >= 20]


def _seek_session(app: Any, path: Path, n_seeks: int, seed: int, proxy: Any = None, persons: int = 1,
                  workdir: Path | None = None) -> dict:
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

    heats: Any = None  # with persons: every person's heat map through its crop (FrameDisplay.person_heat_layers)

    def shown(index: int, image: np.ndarray) -> None:
        if index != state["want"]:
            return
        view.set_frame(index, image, size)
        if heats is not None and layer.visible:
            view.set_heats(heats(index))
        else:
            view.set_heat(np.asarray(attention[index], dtype=np.float32))
        view.set_pose(xy[index], normalized_confidence(conf[index]))
        view.set_caption(f"frame {index}   jump 80%")
        shot = view.grab()  # a real, synchronous paint of the whole view (repaint() is lazy offscreen)
        state["done_at"] = time.perf_counter()
        if layer is not None:  # the last frame painted with and without the persons (checked after the clock)
            state["shot" if layer.visible else "shot_without"] = shot

    layer = project = None
    if persons > 1:  # every person's box and the other persons' skeletons, from a real store
        from PyQt6.QtGui import QUndoStack

        from rpan_studio.state import StudioState
        from rpan_studio.views.persons_layer import PersonsLayer

        project, vid = _persons_project(Path(workdir or tempfile.mkdtemp()) / "persons_project", path, n_frames,
                                        persons, (int(size[0]), int(size[1])), rng)
        st = StudioState()
        st.project, st.video_id, st.person = project, vid, 1
        st.person_analyses = _person_analyses(project, vid, n_frames, rng)
        layer = PersonsLayer(view.view_box, st, QUndoStack())
        layer.visible = False

        def heats(index: int) -> list:
            return [(np.asarray(a.attention[index], np.float32), a.window[index], a.input_size)
                    for a in st.person_analyses.values()]

        def shown_persons(index: int, image: np.ndarray) -> None:
            if index == state["want"] and layer.visible:
                layer.show(index)  # connected before shown(), which paints

        loader.frameReady.connect(shown_persons)
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
        extra: dict[str, Any] = {}
        if layer is not None:  # interleaved with the single-person path, seek by seek: same machine load

            def alternating(targets: list[int]) -> tuple[list[float], list[float]]:
                one, many = [], []
                for i, f in enumerate(targets):
                    layer.visible = i % 2 == 1
                    if not layer.visible:
                        layer.hide_all()
                    (many if layer.visible else one).extend(seek_times([f]))
                return one, many

            one_r, many_r = alternating(rng.integers(0, n_frames, 2 * n_seeks).tolist())
            start = int(rng.integers(0, max(1, n_frames - 6 * n_seeks)))
            one_s, many_s = alternating((start + np.cumsum(rng.integers(1, 4, 2 * n_seeks)))
                                        .clip(0, n_frames - 1).tolist())
            extra = {"persons": persons, "persons_painted": _colours_painted(state.get("shot"), project.persons(vid)),
                     "persons_painted_without_layer": _colours_painted(state.get("shot_without"),
                                                                       project.persons(vid)),
                     "random_seek_1_person_interleaved": _stats(one_r),
                     f"random_seek_{persons}_persons": _stats(many_r), "scrub_1_person_interleaved": _stats(one_s),
                     f"scrub_{persons}_persons": _stats(many_s), "person_layer_draws": layer.draw_count,
                     "ratio_random_persons_vs_one": round(float(np.median(many_r) / max(1e-6, np.median(one_r))), 2),
                     "ratio_scrub_persons_vs_one": round(float(np.median(many_s) / max(1e-6, np.median(one_s))), 2)}
            layer.clear()
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
        if project is not None:
            project.close()
        app.processEvents()
    return {**extra, "frames": n_frames, "frame_size": [int(size[0]), int(size[1])], "open_s": round(open_s, 2),
            "random_seek": _stats(rand_ms), "scrub": _stats(scrub_ms), "decode_only_random": _stats(decode_ms),
            # our whole path vs. the plain reference (one exact decode) in the same run
            "ratio_random_vs_decode": round(float(np.median(rand_ms) / max(1e-6, np.median(decode_ms))), 3)}


def run(quick: bool = False, n_frames: int | None = None, n_seeks: int | None = None, seed: int = 0,
        codec: str = "MJPG", video: str | os.PathLike | None = None, compare: bool = True,
        persons: int = 1) -> dict:
    """Median and 95th-percentile ms from a seek request to the repainted frame with overlays.

    ``video``: measure this file (else one is generated with ``codec``: "MJPG",
    intra-only; "mp4v", inter-coded; "h264", 1080p with a key frame every 250 frames).
    The display proxy is built first (timed and reported on its own, with the
    sequential decode of the same file for the ratio), then the seeks run as the
    studio serves them with the proxy; ``compare`` also runs them without it
    (the exact decoder path, as before the proxy).
    """
    from rpan_core.benchmarks.codec import decode_references, make_h264_video
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
        refs0 = decode_references(path)
        from rpan_core.video import exact_hash

        # hashed before the clock starts: the ratio is the build's own speed. Built twice (two folders),
        # the faster counts: the same treatment as the decode references (the faster of several runs)
        content_hash = exact_hash(path)
        builds = []
        for k in range(BUILDS):
            t0 = time.perf_counter()
            proxy = ProxyBuilder(path, Path(tmp) / f"proxies{k}", content_hash=content_hash).run()
            builds.append(time.perf_counter() - t0)
            if k < BUILDS - 1:
                proxy.close()
        build_s = min(builds)
        refs1 = decode_references(path)
        # sequential decode with either decoder (the faster of two runs each); the headline ratio is to the
        # faster decoder, the other ratios say how it stands against each
        refs = {k: max(refs0[k], refs1[k]) for k in refs0}
        fps = proxy.frame_count / build_s
        out["proxy_build"] = {"seconds": round(build_s, 2), "frames_per_s": round(fps, 1),
                              "builds_s": [round(b, 3) for b in builds],
                              "sequential_decode_frames_per_s": refs["strict"],
                              "sequential_decode_cv2_frames_per_s": refs["cv2"],
                              "sequential_decode_pyav_frames_per_s": refs["pyav"],
                              "ratio_to_sequential_decode": round(fps / refs["strict"], 3),
                              "ratio_to_cv2_decode": round(fps / refs["cv2"], 3),
                              "ratio_to_pyav_decode": round(fps / refs["pyav"], 3) if refs["pyav"] else None,
                              "size_mb": round(proxy.size_bytes / 2 ** 20, 1),
                              "proxy_size": [proxy.height, proxy.width]}
        with_proxy = _seek_session(app, path, n_seeks, seed, proxy, persons=persons, workdir=Path(tmp))
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
    parser.add_argument("--persons", type=int, default=1,
                        help="also time the path with this many persons' boxes and skeletons (2-3)")
    args = parser.parse_args(argv)
    if args.video is not None and not Path(args.video).is_file():
        parser.error(f"--video {args.video}: no such file")
    print(json.dumps(run(quick=args.quick, codec=args.codec, video=args.video, n_seeks=args.seeks,
                         compare=not args.no_compare, persons=args.persons), indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
