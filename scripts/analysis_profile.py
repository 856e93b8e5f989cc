"""Where the analysis pipeline's CPU goes: each stage alone and the stages together, one run.

Why: "analysis at the decode limit" depends on how many core-milliseconds each frame
costs in decoding, resizing and the network, and on whether the stages overlap. For a
video and a checkpoint this prints, per variant, frames/s, core-ms per frame (process
CPU time, all threads) and the cores in use (CPU time / wall time):

* the network alone (1 thread, batches of ``--batch`` ready frames);
* decoding alone: ``cv2.VideoCapture.read`` (the pipeline's decoder, with FFmpeg's
  conversion to BGR) and PyAV without any conversion (the codec's own cost);
* decode + resize through :func:`rpan_core.pipeline.frame_blocks`, RGB at full size
  (the previous path) vs. BGR swapped once small (the current path), 1 or 2 resize threads;
* the same with the network consuming the blocks (what ``rpan analyze`` does).

Run: ``python scripts/analysis_profile.py VIDEO [--checkpoint CK] [--batch 64]``. Load
matters: run it under the bench lock on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rpan_core.checkpoint import load_checkpoint  # noqa: E402
from rpan_core.pipeline import area_resize, frame_blocks  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("--checkpoint", default=str(Path(__file__).resolve().parents[1] / "assets" / "demo_checkpoint.pt"))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--quick", action="store_true", help="only the decoders, the network and analyze_video")
    args = ap.parse_args(argv)
    path, batch = args.video, args.batch
    model, _ = load_checkpoint(args.checkpoint, device="cpu")
    model.eval()
    size = tuple(model.cfg.input_size)
    cap = cv2.VideoCapture(path)
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    print(f"{Path(path).name}: {n} frames -> {size[0]}x{size[1]}, batch {batch}, load {os.getloadavg()[0]:.2f}")

    def timed(name, fn) -> float:
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        print(f"{name:<58} {n / dt:7.1f} fps {1000 * dc / n:6.2f} core-ms/frame {dc / dt:5.2f} cores", flush=True)
        return n / dt

    def cv_frames(rgb: bool):
        c = cv2.VideoCapture(path)
        try:
            while True:
                ok, f = c.read()
                if not ok:
                    return
                yield cv2.cvtColor(f, cv2.COLOR_BGR2RGB) if rgb else f
        finally:
            c.release()

    def av_decode(thread_type: str | None):
        def run() -> None:
            import av

            from rpan_core.yuv_frames import plane_views

            with av.open(path) as c:
                s = c.streams.video[0]
                if thread_type:
                    s.thread_type = thread_type
                for f in c.decode(s):
                    plane_views(f)  # the planes as arrays: a frame the pipeline can use
        return run

    def network(blocks) -> None:
        s = 8
        with torch.no_grad():
            state = model.init_state(s)
            for blk, _ in blocks:
                cubes = model.features(model.preprocess(torch.from_numpy(np.ascontiguousarray(blk[None]))))[0]
                for t in range(len(blk) // s):
                    _, state = model.step_features(cubes[t * s:(t + 1) * s], state)

    def pipeline(kind: str, workers: int, with_net: bool):
        def run() -> None:
            if kind == "yuv":
                from rpan_core.video import open_video
                from rpan_core.yuv_frames import analysis_frames

                v = open_video(path, cache_mb=8)
                frames, transform, _ = analysis_frames(v, size)
            else:
                v = None
                frames = cv_frames(kind == "rgb")
                transform = (lambda f: area_resize(f, size)) if kind == "rgb" else (
                    lambda f: area_resize(f, size)[..., ::-1])
            blocks = frame_blocks(frames, [batch] * (-(-n // batch)), transform, (*size, 3), workers=workers)
            if with_net:
                network(blocks)
            else:
                for _ in blocks:
                    pass
            if v is not None:
                v.close()
        return run

    def analyze(exact: bool):
        def run() -> None:
            import tempfile

            from rpan_core.analyze import analyze_video

            old = os.environ.pop("RPAN_EXACT_DECODE", None)
            if exact:
                os.environ["RPAN_EXACT_DECODE"] = "1"
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    a = analyze_video(path, args.checkpoint, cache_dir=tmp, device="cpu", refresh=True)
                    print("   decode:", json.dumps(a.decode))
            finally:
                os.environ.pop("RPAN_EXACT_DECODE", None)
                if old is not None:
                    os.environ["RPAN_EXACT_DECODE"] = old
        return run

    torch.set_num_threads(1)
    ready = np.random.default_rng(0).integers(0, 255, (batch, *size, 3), np.uint8)
    net = timed("network alone (1 thread)", lambda: network((ready, batch) for _ in range(-(-n // batch))))
    dec = {"cv2 read (BGR)": timed("decode alone: cv2 read (BGR)", lambda: [None for _ in cv_frames(False)])}
    try:
        dec["PyAV planes, threads AUTO"] = timed("decode alone: PyAV planes, threads AUTO", av_decode("AUTO"))
        dec["PyAV planes, default (slice) threads"] = timed("decode alone: PyAV planes, default (slice) threads", av_decode(None))
    except ImportError:
        pass
    if not args.quick:
        for with_net in (False, True):
            tag = "+ network: " if with_net else ""
            timed(tag + "cv2 BGR, resize then swap (exact path)", pipeline("bgr", 1, with_net))
            timed(tag + "PyAV YUV planes, resize, convert small", pipeline("yuv", 1, with_net))
            timed(tag + "PyAV YUV planes, 2 resize threads", pipeline("yuv", 2, with_net))
    an_exact = timed("analyze_video, exact path (RPAN_EXACT_DECODE=1)", analyze(True))
    an = timed("analyze_video (as shipped)", analyze(False))
    for name, d in dec.items():
        print(f"analysis / min(decode-only [{name}], network-only): {an / min(d, net):.3f} "
              f"(exact path {an_exact / min(d, net):.3f})")
    print(f"load at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
