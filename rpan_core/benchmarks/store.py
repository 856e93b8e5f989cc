"""Benchmark: the project store on a 100,000-frame video with 13 joints per frame.

The timeline asks for the label state of every frame of the video whenever it
redraws, so ``Project.frame_states`` must stay fast on long videos. It reads the
trigger-kept ``frame_summary`` (one row per frame, "cold") or its per-video cache
("cached"); the reference is the plain indexed query over the labels
(``GROUP BY frame`` of 13 rows per frame), checked to give the same answer. Label writes are measured as the studio makes
them (one transaction, with its fsync, per joint) and as a batch (one
transaction for a whole range, e.g. "accept all").
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from rpan_core.benchmarks import best_time


def run(quick: bool = False) -> dict:
    from rpan_core.project import _STATE_OF_CODE, Project

    n_frames = 20_000 if quick else 100_000
    J = 13
    repeat = 3 if quick else 5
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="rpan-bench-store-") as tmp:
        p = Project.create(Path(tmp) / "p", classes=["a"])
        meta = dict(content_hash="bench", frame_count=n_frames, fps=30.0, width=640, height=480)
        vid = p._add_video_record(Path(tmp) / "long.mp4", meta)
        sources = ("manual", "corrected", "accepted", "imported")
        src = rng.integers(0, 4, n_frames)
        t = time.perf_counter()
        p.set_labels(vid, ((f, j, float(j), float(f % 480), True, sources[src[f]])
                           for f in range(n_frames) for j in range(J)))
        batch_s = time.perf_counter() - t

        states = p.frame_states(vid)

        def cold() -> np.ndarray:
            p._state_cache.clear()
            return p.frame_states(vid)

        t_cold = best_time(cold, repeat)
        t_cached = best_time(lambda: p.frame_states(vid), repeat)

        def reference() -> np.ndarray:  # the plain query: GROUP BY over all 13 rows per frame
            rows = p._q("SELECT frame, MAX(source) FROM labels WHERE video=? GROUP BY frame", (vid,))
            out = np.zeros(n_frames, np.uint8)
            a = np.array(rows, dtype=np.int64)
            out[a[:, 0]] = _STATE_OF_CODE[a[:, 1]]
            return out

        ref = reference()
        assert np.array_equal(ref, states), "frame_states disagrees with the reference"
        t_ref = best_time(reference, repeat)

        t_video_labels = best_time(lambda: p.video_labels(vid), 1 if quick else 2)
        t_frame = best_time(lambda: p.frame_labels(vid, n_frames // 2), 50)

        n_single = 50 if quick else 200
        t = time.perf_counter()
        for i in range(n_single):
            p.set_label(vid, i, i % J, 1.0, 2.0, True, "corrected")
        single_s = time.perf_counter() - t
        p.close()
    return {
        "frames": n_frames,
        "labels": n_frames * J,
        "frame_states_cold_ms": round(t_cold * 1e3, 2),
        "frame_states_cached_ms": round(t_cached * 1e3, 3),
        "reference_group_by_labels_ms": round(t_ref * 1e3, 2),
        "cold_speedup_vs_reference": round(t_ref / t_cold, 2),
        "video_labels_ms": round(t_video_labels * 1e3, 1),
        "frame_labels_ms": round(t_frame * 1e3, 3),
        "batch_write_labels_per_s": round(n_frames * J / batch_s),
        "single_edit_commit_ms": round(single_s / n_single * 1e3, 3),
    }


if __name__ == "__main__":  # pragma: no cover
    for k, v in run().items():
        print(f"{k:<32} {v}")
