"""Frame-exact access: every test frame carries its own index in big binary blocks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rpan_core.errors import VideoError
from rpan_core.video import content_hash, open_video

H, W, N = 96, 128, 300


def encode(i: int) -> np.ndarray:
    """BGR frame whose 16 blocks spell ``i`` in binary (robust to lossy codecs)."""
    img = np.full((H, W, 3), (40, 80, 120), np.uint8)
    for b in range(16):
        r, c = divmod(b, 4)
        img[8 + r * 20:8 + r * 20 + 16, 8 + c * 28:8 + c * 28 + 24] = 255 if (i >> b) & 1 else 0
    return img


def decode(rgb: np.ndarray) -> int:
    v = 0
    for b in range(16):
        r, c = divmod(b, 4)
        v |= int(rgb[8 + r * 20 + 4:8 + r * 20 + 12, 8 + c * 28 + 6:8 + c * 28 + 18].mean() > 128) << b
    return v


CODECS = [("mp4v", ".mp4"), ("MJPG", ".avi"), ("XVID", ".avi")]


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("videos")
    out = {}
    for fourcc, ext in CODECS:
        p = root / f"{fourcc}{ext}"
        w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*fourcc), 30, (W, H))
        if not w.isOpened():
            continue
        for i in range(N):
            w.write(encode(i))
        w.release()
        out[fourcc] = p
    folder = root / "frames"
    folder.mkdir()
    for i in range(40):  # natural order: 1.jpg, 2.jpg, ... 10.jpg
        cv2.imwrite(str(folder / f"{i + 1}.jpg"), encode(i), [cv2.IMWRITE_JPEG_QUALITY, 90])
    out["folder"] = folder
    return out


def test_codecs_written(videos):
    assert {"mp4v", "MJPG", "folder"} <= set(videos)


def _reader(v, source: str, tmp_path: Path):
    """``frame(i)`` of the decoder, or of the display proxy (built here, attached, served by display_frame)."""
    if source == "decoder" or v.is_folder:
        return v.frame
    from rpan_core.proxy import build_proxy

    assert v.attach_proxy(build_proxy(v.path, tmp_path / "proxies"))

    def get(i):
        shown = v.display_frame(i)
        assert shown.index == i and shown.source == i and shown.kind in ("proxy", "exact")
        return shown.image if shown.kind == "proxy" else v.proxy.frame(i)
    return get


@pytest.mark.parametrize("source", ["decoder", "proxy"])
@pytest.mark.parametrize("kind", ["mp4v", "MJPG", "XVID", "folder"])
def test_random_access_exact(videos, kind, source, tmp_path):
    if kind not in videos:
        pytest.skip(f"OpenCV here cannot write {kind}")
    with open_video(videos[kind], cache_mb=0.2) as v:
        n = 40 if kind == "folder" else N
        assert v.frame_count == n and (v.height, v.width) == (H, W) and v.fps > 0
        get = _reader(v, source, tmp_path)
        rng = np.random.default_rng(1)
        idx = [int(i) for i in rng.integers(0, n, 200)] + [n - 1, 0, n - 1, n - 2, 1]
        got = [decode(get(i)) for i in idx]
        assert got == idx
        # +-1 scrubbing backwards through a keyframe interval
        back = list(range(n - 1, max(-1, n - 80), -1))
        assert [decode(get(i)) for i in back] == back
        f = get(3)
        assert f.dtype == np.uint8 and f.shape == (H, W, 3)


@pytest.mark.parametrize("source", ["decoder", "proxy"])
@pytest.mark.parametrize("kind", ["mp4v", "MJPG", "folder"])
def test_sequential_equals_random(videos, kind, source, tmp_path):
    with open_video(videos[kind], cache_mb=1) as v:
        get = _reader(v, source, tmp_path)
        seq = list(v.frames(7, 30) if source == "decoder" or v.proxy is None else v.proxy.frames(7, 30))
        assert [decode(f) for f in seq] == list(range(7, 30))
        for k, f in enumerate(seq):
            assert np.array_equal(f, get(7 + k))
        assert sum(1 for _ in v.frames()) == v.frame_count
        if v.proxy is not None:
            assert sum(1 for _ in v.proxy.frames()) == v.frame_count


def test_cache_bounded(videos):
    frame_bytes = H * W * 3
    with open_video(videos["MJPG"], cache_mb=10 * frame_bytes / (1 << 20)) as v:
        for i in range(0, 100, 3):
            v.frame(i)
            assert v.cache.nbytes <= 10 * frame_bytes
        assert len(v.cache) == 10


def test_prefetch_fills_cache(videos):
    with open_video(videos["mp4v"]) as v:
        v.prefetch(150, radius=10)
        assert v.wait_prefetch(30)
        assert all(j in v.cache for j in range(140, 161))
        assert [decode(v.frame(j)) for j in range(140, 161)] == list(range(140, 161))


def test_content_hash(videos, tmp_path):
    a = content_hash(videos["mp4v"])
    assert a == content_hash(videos["mp4v"]) and a != content_hash(videos["MJPG"])
    data = bytearray(videos["MJPG"].read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "m.avi").write_bytes(bytes(data))
    assert content_hash(tmp_path / "m.avi") != content_hash(videos["MJPG"])
    with open_video(videos["folder"]) as v:
        assert v.content_hash == content_hash(videos["folder"])


def test_corrupt_file(tmp_path):
    p = tmp_path / "junk.mp4"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match="junk.mp4"):
        open_video(p)
    with pytest.raises(VideoError, match="no such"):
        open_video(tmp_path / "missing.mp4")


@pytest.mark.parametrize("source", ["decoder", "proxy"])
@pytest.mark.parametrize("kind", ["mp4v", "MJPG", "XVID"])
def test_truncated_file(videos, tmp_path, kind, source):
    if kind not in videos:
        pytest.skip(f"OpenCV here cannot write {kind}")
    data = videos[kind].read_bytes()
    p = tmp_path / f"cut_{videos[kind].name}"
    p.write_bytes(data[: len(data) // 2])
    try:
        v = open_video(p)
    except VideoError as exc:  # mp4 with its index at the end: refused at open
        assert p.name in str(exc)
        return
    with v:
        assert v.truncated and v.frame_count < N and v.expected_frames == N
        assert decode(v.frame(5)) == 5
        with pytest.raises(VideoError, match=rf"{p.name}.*frame {N - 1}"):
            v.frame(N - 1)
        with pytest.raises(VideoError, match="out of range"):
            v.frame(N + 5)
        with pytest.raises(VideoError, match="truncated"):
            list(v.frames(0, N))
        assert sum(1 for _ in v.frames()) == v.frame_count
        if source == "proxy":  # the proxy holds exactly the readable prefix, frame-exact
            get = _reader(v, source, tmp_path)
            assert v.proxy.frame_count == v.frame_count
            last = v.frame_count - 1  # damaged at the cut (concealed by the codec): compare with the decoder's
            assert [decode(get(i)) for i in (last - 1, 0, 5)] == [last - 1, 0, 5]
            assert np.abs(get(last).astype(int) - v.frame(last).astype(int)).mean() < 4
            with pytest.raises(VideoError, match="truncated"):
                v.display_frame(N - 1)


def test_folder_bad_image(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), encode(i))
    (tmp_path / "003.png").write_bytes(b"not a png")
    with open_video(tmp_path) as v:
        assert v.frame_count == 4 and decode(v.frame(2)) == 2
        with pytest.raises(VideoError, match="frame 3"):
            v.frame(3)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VideoError, match="no images"):
        open_video(empty)


class _InexactCapture:
    """A real capture whose POS_FRAMES seek lands ``offset(s)`` frames away from ``s``, as
    inter-coded files do; it reports the frame it really landed on, like FFmpeg does."""

    def __init__(self, real, offset):
        self._real, self._offset = real, offset
        self._landed: int | None = None

    def set(self, prop, value):
        if prop == cv2.CAP_PROP_POS_FRAMES:
            s = max(0, int(value) + self._offset(int(value)))
            self._real.set(prop, s)
            return True
        return self._real.set(prop, value)

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.mark.parametrize("offset", [lambda s: -(s % 12) - 3, lambda s: 2, lambda s: 7 if s % 2 else -5])
def test_inexact_seeks_still_exact(videos, monkeypatch, offset):
    real_cls = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a: _InexactCapture(real_cls(*a), offset))
    with open_video(videos["MJPG"], cache_mb=0.1) as v:
        assert v.frame_count == N
        idx = [int(i) for i in np.random.default_rng(2).integers(0, N, 60)] + [N - 1, 1, 0, 40, 39, 38]
        assert [decode(v.frame(i)) for i in idx] == idx


def test_threads_share_one_decoder(videos):
    import threading
    errors = []
    with open_video(videos["mp4v"], cache_mb=0.3) as v:
        def worker(seed):
            rng = np.random.default_rng(seed)
            for i in rng.integers(0, N, 60):
                if decode(v.frame(int(i))) != i:
                    errors.append((seed, int(i)))
        threads = [threading.Thread(target=worker, args=(s,)) for s in range(3)]
        v.prefetch(100)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
