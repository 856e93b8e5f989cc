"""Display proxy: downscaled, keyed by content hash, atomic, served while it builds, nearest-frame fallback."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from rpan_core.atomic import remove_orphans
from rpan_core.errors import VideoError
from rpan_core.proxy import (ProxyBuilder, ProxyCancelled, build_proxy, find_proxy, proxy_path, proxy_root,
                             proxy_size)
from rpan_core.video import open_video
from tests.core.test_video import decode, encode

N = 120


@pytest.fixture(scope="module")
def wide_video(tmp_path_factory) -> Path:
    """A 384x512 mp4v video whose frames spell their index (the test_video pattern, scaled 4x)."""
    p = tmp_path_factory.mktemp("proxy") / "wide.mp4"
    w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"mp4v"), 30, (512, 384))
    for i in range(N):
        w.write(cv2.resize(encode(i), (512, 384), interpolation=cv2.INTER_NEAREST))
    w.release()
    return p


def _small(img: np.ndarray) -> np.ndarray:
    return cv2.resize(img, (128, 96), interpolation=cv2.INTER_AREA)


def test_proxy_downscaled_exact_and_reported(wide_video, tmp_path):
    assert proxy_size(1080, 1920) == (540, 960) and proxy_size(1920, 1088, 1280) == (1280, 726)
    assert proxy_size(96, 128) == (96, 128)
    proxy = build_proxy(wide_video, tmp_path, long_side=256)
    with proxy, open_video(wide_video) as v:
        assert (proxy.height, proxy.width) == (192, 256) and proxy.scale == 0.5
        assert proxy.frame_count == v.frame_count == N and proxy.size_bytes > N * 500
        assert proxy.folder == proxy_path(tmp_path, v.exact_hash, 256)
        idx = [int(i) for i in np.random.default_rng(0).integers(0, N, 60)] + [N - 1, 0]
        assert [decode(_small(proxy.frame(i))) for i in idx] == idx
        assert proxy.meta["build_seconds"] > 0 and proxy.meta["decode_seconds"] > 0
    # found again by the content hash (no rebuild), and not for another cap
    assert find_proxy(tmp_path, v.exact_hash, 256) is not None
    assert find_proxy(tmp_path, v.exact_hash, 1280) is None


def test_proxy_keyed_by_content_hash(wide_video, tmp_path):
    build_proxy(wide_video, tmp_path, long_side=256)
    other = tmp_path / "other.mp4"
    data = bytearray(wide_video.read_bytes())
    data[len(data) // 2] ^= 0xFF
    other.write_bytes(bytes(data))
    with open_video(other) as v:
        assert find_proxy(tmp_path, v.exact_hash, 256) is None
        assert not v.use_proxy(tmp_path, build=False, long_side=256) and v.proxy is None


def test_project_root(tmp_path):
    assert proxy_root(tmp_path / "p") == tmp_path / "p" / "proxies"
    assert proxy_root(None).name == "proxies"


def test_cancelled_build_keeps_nothing(wide_video, tmp_path):
    seen = []

    def progress(done, total):
        seen.append(done)
        b.cancel()

    b = ProxyBuilder(wide_video, tmp_path, long_side=256, progress=progress)
    with pytest.raises(ProxyCancelled):
        b.run()
    assert seen and not b.final.exists() and list(tmp_path.iterdir()) == []


def test_killed_build_leaves_no_half_proxy(wide_video, tmp_path):
    """A process killed mid-build leaves a temp folder only; the orphan sweep removes it."""
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from rpan_core.proxy import ProxyBuilder
        def progress(done, total):
            if done > 40:
                os._exit(9)
        ProxyBuilder({str(wide_video)!r}, {str(tmp_path)!r}, long_side=256, progress=progress).run()
    """)
    rc = subprocess.run([sys.executable, "-c", code], timeout=120).returncode
    assert rc == 9
    left = list(tmp_path.iterdir())
    assert len(left) == 1 and ".rpan-tmp" in left[0].name  # the temp folder, never the proxy's name
    with open_video(wide_video) as v:
        assert find_proxy(tmp_path, v.exact_hash, 256) is None
    assert remove_orphans(tmp_path) == left and list(tmp_path.iterdir()) == []


def test_builder_serves_written_frames_while_building(wide_video, tmp_path):
    checks = []

    def progress(done, total):
        if 0 < done < N:
            checks.append((done, b.frame(0) is not None, b.frame(done - 1) is not None, b.frame(N - 1) is None))

    b = ProxyBuilder(wide_video, tmp_path, long_side=256, progress=progress)
    b.start()
    assert b.wait(60) and b.error is None and b.proxy is not None
    assert checks and all(c[1] and c[2] and c[3] for c in checks)
    assert decode(_small(b.frame(N - 1))) == N - 1


def test_nearest_decoded_frame_until_proxy_then_proxy(wide_video, tmp_path):
    with open_video(wide_video, cache_mb=64) as v:
        v.frame(10)
        v.frame(100)
        shown = v.display_frame(93)  # no proxy yet: the nearest decoded frame, marked
        assert shown.kind == "nearest" and shown.source == 100 and not shown.is_exact_frame
        assert decode(_small(shown.image)) == 100
        exact = v.display_frame(10)
        assert exact.kind == "exact" and exact.is_exact_frame
        assert not v.use_proxy(tmp_path, long_side=256)  # starts the background build
        assert v.proxy_builder.wait(60) and v.proxy_builder.error is None
        for _ in range(100):  # attached by the build thread right after it finished
            if v.proxy is not None:
                break
            v.proxy_builder.wait(0.05)
        shown = v.display_frame(93)
        assert shown.kind == "proxy" and shown.is_exact_frame and shown.image.shape == (192, 256, 3)
        assert decode(_small(shown.image)) == 93
    with open_video(wide_video) as v:  # reopened: the finished proxy is attached at once
        assert v.use_proxy(tmp_path, long_side=256) and v.proxy is not None


def test_folder_needs_no_proxy(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), encode(i))
    with open_video(tmp_path) as v:
        assert not v.use_proxy(tmp_path / "proxies") and v.proxy_builder is None
        assert v.display_frame(2).kind == "exact"


def test_damaged_proxy_is_ignored(wide_video, tmp_path):
    proxy = build_proxy(wide_video, tmp_path, long_side=256)
    proxy.close()
    (proxy.folder / "index.npy").write_bytes(b"junk")
    with open_video(wide_video) as v:
        assert find_proxy(tmp_path, v.exact_hash, 256) is None
    with pytest.raises(VideoError, match="proxy"):
        type(proxy)(proxy.folder)
