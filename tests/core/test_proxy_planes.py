"""The display proxy built from PyAV's YUV planes: the same frames, the right colours, any matrix.

The clips are real H.264 files with colour metadata (tests/core/test_yuv_frames.py writes
them); every proxy frame is compared with OpenCV's exact frame (what the studio shows at
full zoom) scaled to the proxy size.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("av")
pytest.importorskip("simplejpeg")

import rpan_core.proxy as proxy_mod  # noqa: E402
from rpan_core.proxy import build_proxy  # noqa: E402
from rpan_core.video import open_video  # noqa: E402
from tests.core.test_yuv_frames import _write  # noqa: E402


def _exact_small(path, size_hw):
    with open_video(path) as v:
        return [cv2.resize(f, (size_hw[1], size_hw[0]), interpolation=cv2.INTER_AREA) for f in v.frames()]


def _mean_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.mark.parametrize("colorspace, how", [(1, "PyAV planes mixed to BT.601"), (6, "PyAV planes")])
def test_plane_proxy_frames_are_the_exact_frames_in_their_colours(tmp_path, colorspace, how):
    path = _write(tmp_path / f"cs{colorspace}.mp4", colorspace, n=10, size=(272, 480))
    proxy = build_proxy(path, tmp_path / "proxies", long_side=240)
    exact = _exact_small(path, (136, 240))
    with proxy:
        assert proxy.meta["decoder"] == how and (proxy.height, proxy.width) == (136, 240)
        assert proxy.frame_count == len(exact) == 10
        for i in range(10):
            d = _mean_diff(proxy.frame(i), exact[i])
            assert d < 4.0, (i, d)  # JPEG at quality 80 plus FFmpeg's rounding
            # the same frame, not a neighbour: the content moves by more than that
            assert d < _mean_diff(proxy.frame(i), exact[(i + 1) % 10]) - 2.0


def test_the_wrong_matrix_would_show(tmp_path, monkeypatch):
    """Without the BT.709 -> BT.601 mix the colours of a BT.709 clip drift: the mix is what keeps them."""
    path = _write(tmp_path / "bt709.mp4", 1, n=4, size=(272, 480))
    exact = _exact_small(path, (136, 240))
    with build_proxy(path, tmp_path / "a", long_side=240) as good:
        ok = max(_mean_diff(good.frame(i), exact[i]) for i in range(4))
    monkeypatch.setattr(proxy_mod, "_to_bt601", lambda colorspace, full: None)
    with build_proxy(path, tmp_path / "b", long_side=240) as bad:
        assert bad.meta["decoder"] == "PyAV planes"
        off = max(_mean_diff(bad.frame(i), exact[i]) for i in range(4))
    assert off > ok + 1.0, (ok, off)


def test_other_sizes_and_the_switch_take_the_bgr_path(tmp_path, monkeypatch):
    path = _write(tmp_path / "clip.mp4", 6, n=6, size=(272, 480))
    with build_proxy(path, tmp_path / "a", long_side=200) as p:  # 480 -> 200: not a halving
        assert p.meta["decoder"].startswith("PyAV, BGR") and p.frame_count == 6
        exact = _exact_small(path, (p.height, p.width))
        assert all(_mean_diff(p.frame(i), exact[i]) < 4.0 for i in range(6))
    monkeypatch.setattr(proxy_mod, "PLANES", False)
    with build_proxy(path, tmp_path / "b", long_side=240) as p:
        assert p.meta["decoder"].startswith("OpenCV BGR") and p.frame_count == 6


def test_a_stream_whose_first_frames_differ_from_opencvs_is_built_by_opencv(tmp_path, monkeypatch):
    """PyAV one frame ahead of OpenCV (as a file whose edit list two FFmpeg builds read differently
    would be): the proxy's frame numbers must stay OpenCV's, so OpenCV builds it."""
    import av

    path = _write(tmp_path / "clip.mp4", 6, n=6, size=(272, 480))
    real_open = av.open

    class Shifted:
        def __init__(self, *args, **kw) -> None:
            self._c = real_open(*args, **kw)
            self.streams = self._c.streams

        def decode(self, stream):
            it = self._c.decode(stream)
            next(it)
            return it

        def close(self) -> None:
            self._c.close()

    monkeypatch.setattr(av, "open", Shifted)
    with build_proxy(path, tmp_path / "p", long_side=240) as p:
        assert p.meta["decoder"] == "OpenCV BGR (PyAV's first frames are not OpenCV's)"
        assert p.frame_count == 6
        exact = _exact_small(path, (p.height, p.width))
        assert all(_mean_diff(p.frame(i), exact[i]) < 4.0 for i in range(6))


def _write_bframes(path, n: int = 12, size=(144, 256)):
    """H.264 with non-reference B-frames (no B-pyramid) and strong deblocking (a high crf)."""
    import av

    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"preset": "veryfast", "crf": "38", "bframes": "3", "b-pyramid": "none", "g": "60",
                     "sc_threshold": "0"}
        for t in range(n):
            img = np.stack([127 + 125 * np.sin(xx / 9 + t / 3), 127 + 125 * np.sin(yy / 7 - t / 4),
                            127 + 125 * np.cos((xx + yy) / 11 + t / 5)], -1).astype(np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_the_proxy_decoder_skips_the_loop_filter_of_non_reference_frames_only(tmp_path, monkeypatch):
    """Non-reference B-frames lose their deblocking (a fraction of a grey level), reference frames are
    decoded in full, so nothing drifts; the meta file says what was skipped."""
    import av

    path = _write_bframes(tmp_path / "b.mp4")
    with av.open(str(path)) as c:
        kinds = [str(f.pict_type) for f in c.decode(video=0)]
    frames = {}
    for skip in (None, "noref"):
        monkeypatch.setattr(proxy_mod, "SKIP_LOOP_FILTER", skip)
        with build_proxy(path, tmp_path / f"p{skip}", long_side=256) as p:
            assert p.meta["skip_loop_filter"] == skip and p.meta["decoder"] == "PyAV planes"
            frames[skip] = [p.frame(i) for i in range(p.frame_count)]
    d = [_mean_diff(a, b) for a, b in zip(frames[None], frames["noref"])]
    ref = [i for i, k in enumerate(kinds) if k in ("1", "2")]  # I and P frames: references
    assert ref and all(d[i] == 0.0 for i in ref), (kinds, d)  # no drift
    assert max(d) > 0.05, d  # the option reached the decoder
    assert max(d) < 1.5, d


def test_opencvs_frame_check_runs_beside_pyavs_decode_and_nothing_shows_before_it(tmp_path, monkeypatch):
    """OpenCV reads the first frames for the check on its own thread while PyAV decodes (a short clip's
    main fixed cost used to be the two one after the other); no frame is kept or served before the
    check has passed."""
    import threading

    import av

    path = _write(tmp_path / "clip.mp4", 6, n=40, size=(272, 480))
    pyav_ahead = threading.Event()
    seen: dict[str, int] = {}
    real_open, real_capture = av.open, proxy_mod._check_capture
    holder: dict[str, object] = {}

    class Counting:
        def __init__(self, *args, **kw) -> None:
            self._c = real_open(*args, **kw)
            self.streams = self._c.streams

        def decode(self, stream):
            for k, f in enumerate(self._c.decode(stream)):
                if k == proxy_mod.CHECK_FRAMES + 4:
                    seen["served_before_check"] = holder["b"].done
                    pyav_ahead.set()
                yield f

        def close(self) -> None:
            self._c.close()

    class SlowCapture:
        def __init__(self, p) -> None:
            self._cap = real_capture(p)

        def read(self):
            seen["pyav_ahead"] = int(pyav_ahead.wait(10))  # serial code would wait for itself here
            return self._cap.read()

        def __getattr__(self, name):
            return getattr(self._cap, name)

    monkeypatch.setattr(av, "open", Counting)
    monkeypatch.setattr(proxy_mod, "_check_capture", SlowCapture)
    b = proxy_mod.ProxyBuilder(path, tmp_path / "p", long_side=240)
    holder["b"] = b
    with b.run() as p:
        assert p.meta["decoder"] == "PyAV planes" and p.frame_count == 40
    assert seen == {"pyav_ahead": 1, "served_before_check": 0}
