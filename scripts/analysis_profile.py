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

    def timed(name, fn) -> None:
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        print(f"{name:<52} {n / dt:7.1f} fps {1000 * dc / n:6.2f} core-ms/frame {dc / dt:5.2f} cores", flush=True)

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

    def av_decode() -> None:
        import av

        with av.open(path) as c:
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            for _ in c.decode(s):
                pass

    def network(blocks) -> None:
        s = 8
        with torch.no_grad():
            state = model.init_state(s)
            for blk, _ in blocks:
                cubes = model.features(model.preprocess(torch.from_numpy(np.ascontiguousarray(blk[None]))))[0]
                for t in range(len(blk) // s):
                    _, state = model.step_features(cubes[t * s:(t + 1) * s], state)

    def pipeline(rgb: bool, workers: int, with_net: bool):
        def transform(f):
            return area_resize(f, size) if rgb else area_resize(f, size)[..., ::-1]

        def run() -> None:
            blocks = frame_blocks(cv_frames(rgb), [batch] * (-(-n // batch)), transform, (*size, 3), workers=workers)
            if with_net:
                network(blocks)
            else:
                for _ in blocks:
                    pass
        return run

    torch.set_num_threads(1)
    ready = np.random.default_rng(0).integers(0, 255, (batch, *size, 3), np.uint8)
    timed("network alone (1 thread)", lambda: network((ready, batch) for _ in range(-(-n // batch))))
    timed("decode alone: cv2 read (BGR)", lambda: [None for _ in cv_frames(False)])
    try:
        timed("decode alone: PyAV, no conversion", av_decode)
    except ImportError:
        pass
    for with_net in (False, True):
        tag = "+ network: " if with_net else ""
        timed(tag + "decode, RGB full size, resize (1 thread)", pipeline(True, 1, with_net))
        timed(tag + "decode, BGR, resize then swap (1 thread)", pipeline(False, 1, with_net))
        timed(tag + "decode, BGR, resize then swap (2 threads)", pipeline(False, 2, with_net))
    print(f"load at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
