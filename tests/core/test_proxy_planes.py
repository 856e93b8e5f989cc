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
