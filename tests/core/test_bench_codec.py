"""The codec benchmark's parts run end to end on a tiny H.264 clip (figures are not asserted: speed is benched)."""

from __future__ import annotations

import cv2
import numpy as np

from rpan_core.benchmarks.codec import analysis_speed, make_h264_video, proxy_and_seeks
from rpan_core.video import open_video


def test_h264_long_gop_clip_and_its_figures(tmp_path):
    p = make_h264_video(tmp_path / "c.mp4", 40, size=(96, 128), gop=20, preset="ultrafast")
    cap = cv2.VideoCapture(str(p))
    assert cap.get(cv2.CAP_PROP_FOURCC) and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 40
    cap.release()
    with open_video(p) as v:
        assert v.frame_count == 40 and (v.height, v.width) == (96, 128)
        assert not np.array_equal(v.frame(0), v.frame(39))
    r = proxy_and_seeks(p, n_seeks=6)
    assert r["frames"] == 40 and r["proxy_size"] == [96, 128] and r["proxy_mb"] > 0
    assert r["proxy_random_seek"]["n"] == 6 and r["exact_random_seek"]["n"] == 6
    assert r["proxy_build_vs_decode"] > 0
    from pathlib import Path

    ck = Path(__file__).resolve().parents[2] / "assets" / "demo_checkpoint.pt"
    a = analysis_speed(p, ck)
    assert a["frames"] == 40 and a["input_size"] == [128, 160] and a["analysis_fps"] > 0
    assert a["analysis_vs_min_decode_network"] > 0
