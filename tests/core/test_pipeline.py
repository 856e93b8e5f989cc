"""Analysis input pipeline: two-stage area resize close to INTER_AREA, blocks decoded on a thread."""

from __future__ import annotations

import functools
import threading

import cv2
import numpy as np
import pytest

from rpan_core.pipeline import area_resize, auto_batch, frame_blocks


@functools.lru_cache(maxsize=4)
def _natural(h: int, w: int) -> np.ndarray:
    """A photo-like test image: blurred noise at several scales plus hard edges."""
    rng = np.random.default_rng(0)
    img = np.zeros((h, w, 3), np.float32)
    for cell in (3, 17, 97):
        small = rng.random((h // cell + 1, w // cell + 1, 3)).astype(np.float32)
        img += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)[:h, :w] * 85
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    cv2.rectangle(img, (w // 5, h // 4), (w // 2, h // 2), (255, 255, 255), 5)
    cv2.line(img, (0, h - 1), (w - 1, 0), (0, 0, 0), 3)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("src", [(1080, 1920), (1920, 1080), (1088, 1920), (994, 1768)])
@pytest.mark.parametrize("dst", [(256, 320), (224, 224), (180, 320), (128, 160)])
def test_area_resize_close_to_inter_area(src, dst):
    img = _natural(*src)
    ref = cv2.resize(img, (dst[1], dst[0]), interpolation=cv2.INTER_AREA).astype(np.int16)
    got = area_resize(img, dst)
    assert got.shape == (*dst, 3) and got.dtype == np.uint8
    diff = np.abs(got.astype(np.int16) - ref)
    assert diff.mean() < 0.6 and np.percentile(diff, 99) <= 6, (diff.mean(), diff.max())


def test_area_resize_identity_and_upscale():
    img = _natural(60, 80)
    assert area_resize(img, (60, 80)) is img
    assert np.array_equal(area_resize(img, (120, 160)), cv2.resize(img, (160, 120), interpolation=cv2.INTER_AREA))
    # an exact integer factor is the direct INTER_AREA result
    big = _natural(1080, 1920)
    assert np.array_equal(area_resize(big, (180, 320)), cv2.resize(big, (320, 180), interpolation=cv2.INTER_AREA))


def test_auto_batch():
    assert auto_batch("cpu") == 64 and auto_batch("mps") == 32


def _frames(n: int):
    for i in range(n):
        yield np.full((4, 6, 3), i, np.uint8)


def test_blocks_in_order_on_a_thread():
    seen_threads = set()

    def transform(fr):
        seen_threads.add(threading.current_thread().name)
        return fr[:2, :3]

    blocks = list(frame_blocks(_frames(10), [4, 4, 2], transform, (2, 3, 3)))
    assert [(len(b), k) for b, k in blocks] == [(4, 4), (4, 4), (2, 2)]
    assert [int(b[j, 0, 0, 0]) for b, k in blocks for j in range(k)] == list(range(10))
    assert seen_threads and all(n.startswith("analysis-resize") for n in seen_threads)


def test_blocks_short_source_and_errors():
    blocks = list(frame_blocks(_frames(5), [4, 4, 4], lambda f: f, (4, 6, 3)))
    assert [k for _, k in blocks] == [4, 1]  # ran out: a short block, then the end

    def broken():
        yield np.zeros((4, 6, 3), np.uint8)
        raise ValueError("frame 1 is corrupt")

    with pytest.raises(ValueError, match="corrupt"):
        list(frame_blocks(broken(), [1, 1, 1], lambda f: f, (4, 6, 3)))

    def bad_resize(f):
        raise ValueError("cannot resize")

    with pytest.raises(ValueError, match="cannot resize"):
        list(frame_blocks(_frames(3), [2, 2], bad_resize, (4, 6, 3)))


def test_blocks_closed_early_stop_the_thread():
    gen = frame_blocks(_frames(10_000), [8] * 1250, lambda f: f, (4, 6, 3), depth=1)
    next(gen)
    gen.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("analysis-")]


def test_cpu_share_leaves_cores_to_the_pipeline_and_restores():
    import os

    import torch

    from rpan_core.pipeline import cpu_share

    before = torch.get_num_threads()
    with cpu_share("cpu", workers=1):
        inside = torch.get_num_threads()
    assert torch.get_num_threads() == before
    assert inside == max(1, min(before, (os.cpu_count() or 2) - 2))
    with cpu_share("cuda:0", workers=1):
        assert torch.get_num_threads() == before


def test_blocks_started_early_and_never_read_stop_their_threads_on_close():
    """frame_blocks(start=True) decodes before the first block is asked for (analysis builds its model
    meanwhile); closing it unread (the model failed to load) stops the decode thread."""
    import threading

    started = threading.Event()

    def frames():
        started.set()
        yield from _frames(10_000)

    blocks = frame_blocks(frames(), [8] * 1250, lambda f: f, (4, 6, 3), depth=1, start=True)
    assert started.wait(5)
    blocks.close()
    assert not any(t.name == "analysis-decode" and t.is_alive() for t in threading.enumerate())
    assert next(blocks, None) is None


def test_prefetch_runs_ahead_keeps_the_order_and_raises_in_the_caller():
    import threading

    from rpan_core.pipeline import prefetch

    made = []

    def items():
        for i in range(6):
            made.append(i)
            yield i

    it = prefetch(items(), depth=3)
    assert next(it) == 0
    for _ in range(100):  # the thread decodes the next ones without being asked
        if len(made) >= 4:
            break
        threading.Event().wait(0.01)
    assert len(made) >= 4
    assert list(it) == [1, 2, 3, 4, 5]

    def broken():
        yield 1
        raise ValueError("frame 2 is damaged")

    with pytest.raises(ValueError, match="damaged"):
        list(prefetch(broken()))
    it = prefetch(iter(range(10_000)), depth=1, name="test-prefetch")
    next(it)
    it.close()
    assert not any(t.name == "test-prefetch" and t.is_alive() for t in threading.enumerate())


def test_a_followed_analysis_decodes_ahead_of_the_network(tmp_path, monkeypatch):
    """The labeling preset's frame-by-frame analysis (each crop made around the previous frame's joints)
    decodes the next frames on a thread while the network runs; the results are those of the plain loop."""
    import threading

    import torch

    import rpan_core.crops as crops
    from rpan_core.analyze import analyze_video
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.model import RPAN, RPANConfig
    from tests.core.engine_support import make_tiny_project

    project, _ = make_tiny_project(tmp_path / "p", per_class=1, n_frames=12, size=(72, 96), test_per_class=0)
    torch.manual_seed(0)
    model = RPAN(RPANConfig(num_classes=3, input_size=(64, 48), hidden=16, framing="person")).eval()
    ck = save_checkpoint(tmp_path / "ck.pt", model, classes=list(project.classes), train_config={}, metrics={})
    seen = []
    real_step = crops.Follower.step

    def step(self, frame):
        seen.append(any(t.name == "analysis-prefetch" and t.is_alive() for t in threading.enumerate()))
        return real_step(self, frame)

    monkeypatch.setattr(crops.Follower, "step", step)
    path = project.videos()[0].path
    a = analyze_video(path, ck, cache_dir=tmp_path / "a")
    assert a.num_frames == 12 and seen[0] is True
    monkeypatch.setattr(crops.Follower, "step", real_step)
    follower = crops.Follower(model, "cpu")
    from rpan_core.video import open_video

    with open_video(path) as v:
        ref = [follower.step(f) for f in v.frames()]
    np.testing.assert_allclose(np.asarray(a.xy), np.stack([r.xy for r in ref]), atol=1e-4)
