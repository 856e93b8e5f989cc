"""Optical flow: TSN encoding, colour wheel, computation and the cache."""

import threading

import cv2
import numpy as np
import pytest

from rpan_core import flow as F
from rpan_core.errors import ConfigError


def _texture(h=48, w=64, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h // 4, w // 4), dtype=np.uint8)
    img = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.repeat(img[..., None], 3, axis=2)


def _moving(n=7, dx=2, dy=-1, h=48, w=64):
    """Frames of a texture translating by (dx, dy) px per frame (wrap-around)."""
    img = _texture(h, w)
    return np.stack([np.roll(img, (k * dy, k * dx), axis=(0, 1)) for k in range(n)], 0)


def test_tsn_encoding_is_exact():
    x = np.array([-25.0, -20.0, -10.0, 0.0, 10.0, 20.0, 25.0, 19.9, -0.1])
    # round((clip(x, -20, 20) + 20) * 255 / 40), computed by hand
    expected = [0, 0, 64, 128, 191, 255, 255, 254, 127]
    assert F.flow_to_uint8(x).tolist() == expected
    # x and y are encoded independently, with the same map
    xy = np.array([[[-20.0, 20.0], [10.0, -10.0]]])
    assert F.flow_to_uint8(xy).tolist() == [[[0, 255], [191, 64]]]
    # decoding inverts up to half a quantization step
    v = np.linspace(-20, 20, 101)
    assert np.abs(F.uint8_to_flow(F.flow_to_uint8(v)) - v).max() <= 20 / 255 + 1e-4
    # a custom bound maps its own ends to 0 and 255
    assert F.flow_to_uint8(np.array([-5.0, 5.0]), bound=5).tolist() == [0, 255]


def test_flow_to_rgb_hue_follows_direction():
    def colour(fx, fy):
        f = np.zeros((2, 2, 2), np.float32)
        f[..., 0], f[..., 1] = fx, fy
        return F.flow_to_rgb(f)[0, 0].astype(int)

    assert colour(3, 0).tolist() == [255, 0, 0]          # right: red
    assert colour(-3, 0).tolist() == [0, 255, 255]       # left: cyan
    r, g, b = colour(0, 3)                               # down (+y): 90 deg, yellow-green
    assert g == 255 and b == 0 and 100 < r < 160
    r, g, b = colour(0, -3)                              # up: 270 deg, violet
    assert b == 255 and g == 0 and 100 < r < 160
    assert F.flow_to_rgb(np.zeros((3, 4, 2), np.float32)).tolist() == np.zeros((3, 4, 3), int).tolist()
    # value scales with magnitude
    f = np.zeros((1, 2, 2), np.float32)
    f[0, 0, 0], f[0, 1, 0] = 1.0, 2.0
    rgb = F.flow_to_rgb(f)
    assert rgb[0, 1, 0] == 255 and rgb[0, 0, 0] == 128
    with pytest.raises(ValueError):
        F.flow_to_rgb(np.zeros((3, 4, 3)))


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_recovers_a_known_translation(tmp_path, method):
    frames = _moving(n=3, dx=2, dy=-1)
    vol = F.compute_flow(frames, tmp_path, F.FlowParams(method=method, chunk=4))
    assert vol.num_pairs == 2 and vol.size == (64, 48)
    inner = vol.flow_float(1)[12:-12, 12:-12]
    assert np.median(inner[..., 0]) == pytest.approx(2.0, abs=0.35)
    assert np.median(inner[..., 1]) == pytest.approx(-1.0, abs=0.35)


def test_second_request_is_served_from_the_cache(tmp_path, monkeypatch):
    calls = []
    real = F.compute_pair
    monkeypatch.setattr(F, "compute_pair", lambda a, b, e: calls.append(1) or real(a, b, e))
    frames = _moving(n=9)
    params = F.FlowParams(preset="fast", chunk=3)
    seen = []
    v1 = F.compute_flow(frames, tmp_path, params, progress=lambda d, t: seen.append((d, t)))
    assert len(calls) == 8 and v1.computed_pairs == 8
    assert seen[-1] == (8, 8)
    assert sorted(p.name for p in v1.folder.iterdir()) == [
        "chunk_00000.npz", "chunk_00001.npz", "chunk_00002.npz", "meta.json"]
    v2 = F.compute_flow(frames, tmp_path, params)
    assert len(calls) == 8 and v2.computed_pairs == 0
    for i in range(8):
        assert np.array_equal(v1.flow(i), v2.flow(i))
    # other parameters are another cache entry
    F.compute_flow(frames, tmp_path, F.FlowParams(preset="fast", chunk=3, bound=10))
    assert len(calls) == 16
    # another video too
    F.compute_flow(frames[::-1].copy(), tmp_path, params)
    assert len(calls) == 24


def test_cancel_keeps_finished_chunks_and_resumes(tmp_path, monkeypatch):
    frames = _moving(n=9)
    params = F.FlowParams(preset="fast", chunk=3)
    cancel = threading.Event()
    calls = []
    real = F.compute_pair

    def counting(a, b, e):
        calls.append(1)
        if len(calls) == 4:  # inside the second chunk
            cancel.set()
        return real(a, b, e)

    monkeypatch.setattr(F, "compute_pair", counting)
    with pytest.raises(F.FlowCancelled):
        F.compute_flow(frames, tmp_path, params, cancel=cancel)
    folder = F.flow_cache_folder(tmp_path, F._Source(frames).content_hash, params)
    assert sorted(p.name for p in folder.iterdir()) == ["chunk_00000.npz"]
    calls.clear()
    vol = F.compute_flow(frames, tmp_path, params)
    assert vol.computed_pairs == 5 and len(calls) == 5
    ref = F.compute_flow(frames, tmp_path / "ref", params)
    for i in range(8):
        assert np.array_equal(vol.flow(i), ref.flow(i))


def test_stacks_interleave_x_and_y_and_fit_the_window(tmp_path):
    frames = _moving(n=8)
    vol = F.compute_flow(frames, tmp_path, F.FlowParams(preset="fast", chunk=4))
    s = vol.stack(1)
    assert s.shape == (10, 48, 64) and s.dtype == np.uint8
    for k in range(5):
        assert np.array_equal(s[2 * k], vol.flow(1 + k)[..., 0])
        assert np.array_equal(s[2 * k + 1], vol.flow(1 + k)[..., 1])
    # the last frames shift the window left so it stays inside the video (7 pairs)
    assert np.array_equal(vol.stack(6), vol.stack(2))
    clip = F.flow_clip(frames, [0, 3, 6], cache_dir=tmp_path, params=F.FlowParams(preset="fast", chunk=4),
                       size=(24, 32))
    assert clip.shape == (3, 10, 24, 32) and clip.dtype == np.uint8
    x = F.flow_to_input(np.array([0, 255], np.uint8))
    assert x[0] == pytest.approx(-0.5 / 0.226) and x[1] == pytest.approx(0.5 / 0.226)


def test_short_videos_and_bad_parameters(tmp_path):
    frames = _moving(n=3)
    vol = F.compute_flow(frames, tmp_path, F.FlowParams(preset="fast"))
    s = vol.stack(0)  # 2 pairs for a 5-pair stack: the last pair repeats
    assert np.array_equal(s[4], s[2]) and np.array_equal(s[8], s[2])
    one = F.compute_flow(frames[:1], tmp_path, F.FlowParams(preset="fast"))
    assert one.num_pairs == 0 and (one.stack(0) == 128).all()
    with pytest.raises(ConfigError):
        F.FlowParams(method="tvl1")
    with pytest.raises(ConfigError):
        F.flow_clip(frames, [0])


def test_working_resolution_never_upscales():
    assert F.working_size(640, 480, 320) == (320, 240)
    assert F.working_size(100, 60, 320) == (100, 60)


def test_a_video_file_by_path_is_cached_by_content(tmp_path):
    frames = _moving(n=6)
    path = tmp_path / "clip.avi"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    for f in frames:
        out.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    out.release()
    params = F.FlowParams(preset="fast", chunk=2)
    v1 = F.compute_flow(path, tmp_path / "cache", params)
    assert v1.num_pairs == 5 and v1.computed_pairs == 5
    copy = tmp_path / "renamed.avi"
    copy.write_bytes(path.read_bytes())
    v2 = F.compute_flow(copy, tmp_path / "cache", params)  # same content, another name
    assert v2.computed_pairs == 0 and v2.folder == v1.folder


def test_prefetch_loads_the_neighbouring_chunks_in_the_background(tmp_path):
    frames = _moving(n=10)
    vol = F.compute_flow(frames, tmp_path, F.FlowParams(preset="fast", chunk=3))  # pairs 0-8: chunks 0, 1, 2
    fresh = F.FlowVolume(vol.folder)
    first = fresh.flow(4)  # chunk 1 only
    assert list(fresh._chunks) == [1]
    t = fresh.prefetch_around(4)
    t.join(10)
    assert sorted(fresh._chunks) == [0, 1, 2]
    assert fresh.prefetch_around(4) is None  # nothing left to load
    assert np.array_equal(first, vol.flow(4)) and np.array_equal(fresh.flow(7), vol.flow(7))
