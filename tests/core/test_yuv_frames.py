"""Analysis frames from the decoder's YUV planes (rpan_core.yuv_frames): close to the exact path, or the exact path.

The videos are real H.264 files written by PyAV with colour metadata (BT.709 and BT.601,
limited range), so the check runs against what OpenCV's FFmpeg backend really decodes.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

av = pytest.importorskip("av")

from rpan_core.video import open_video  # noqa: E402
from rpan_core.yuv_frames import (EXACT_ENV, LIMIT_MEAN, LIMIT_P99, _exact_small, analysis_frames,  # noqa: E402
                                  stream_matrix)

SIZE = (64, 80)  # a network input a few times smaller than the frames, as in analysis


def _write(path: Path, colorspace: int, n: int = 8, size: tuple[int, int] = (270, 480), pix_fmt: str = "yuv420p",
           full_range: bool = False) -> Path:
    """A colourful moving H.264 clip whose stream says ``colorspace`` (1 BT.709, 6 BT.601) and range."""
    from av.video.reformatter import ColorRange, Colorspace

    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = ColorRange.JPEG if full_range else ColorRange.MPEG
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        cc = s.codec_context
        cc.colorspace, cc.color_range = colorspace, 2 if full_range else 1
        cc.color_primaries = cc.color_trc = 1 if colorspace == 1 else 6
        s.options = {"preset": "ultrafast", "crf": "16"}
        for t in range(n):
            img = np.stack([127 + 125 * np.sin(xx / 23 + t), 127 + 125 * np.sin(yy / 17 - t),
                            127 + 125 * np.cos((xx + yy) / 31 + t / 2)], -1).astype(np.uint8)
            f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(
                format=pix_fmt, dst_colorspace=Colorspace.ITU709 if colorspace == 1 else Colorspace.ITU601,
                dst_color_range=rng)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _read_all(path: Path, **kw) -> tuple[list[np.ndarray], list[np.ndarray], object]:
    """(the analysis frames, the exact path's frames, the report) of one video."""
    with open_video(path) as v:
        frames, transform, report = analysis_frames(v, SIZE, **kw)
        got = [np.asarray(transform(f)) for f in frames]
        exact = [_exact_small(bgr, SIZE) for bgr in v.frames(bgr=True)]
    return got, exact, report


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


def test_stream_matrix_follows_the_colour_metadata():
    name, m = stream_matrix(2, 0, "yuv420p")  # unspecified: BT.601, limited (what swscale assumes)
    assert name == "bt601-limited"
    white, black = m @ [235, 128, 128, 1], m @ [16, 128, 128, 1]
    assert np.allclose(white, 255, atol=0.01) and np.allclose(black, 0, atol=0.01)
    assert stream_matrix(1, 1, "yuv420p")[0] == "bt709-limited"
    full_name, full = stream_matrix(5, 0, "yuvj420p")
    assert full_name == "bt601-full" and np.allclose(full @ [255, 128, 128, 1], 255, atol=0.01)
    assert stream_matrix(1, 2, "yuv420p")[0] == "bt709-full"
    # a red pixel: BT.709 gives more red for the same V than BT.601
    assert (stream_matrix(1, 1, "yuv420p")[1] @ [81, 90, 240, 1])[0] > (m @ [81, 90, 240, 1])[0]


@pytest.mark.parametrize("colorspace, matrix", [(1, "bt709-limited"), (6, "bt601-limited")])
def test_the_yuv_path_stays_within_the_limit_of_the_exact_path(tmp_path, colorspace, matrix):
    path = _write(tmp_path / f"cs{colorspace}.mp4", colorspace)
    got, exact, report = _read_all(path)
    assert report.path == "yuv" and report.matrix == matrix and report.reason is None
    assert report.check_frames == 4 and report.check_mean <= LIMIT_MEAN
    assert len(got) == len(exact) == 8
    assert all(g.shape == (*SIZE, 3) and g.dtype == np.uint8 for g in got)
    for g, e in zip(got[4:], exact[4:]):  # frames the check did not see
        d = _diff(g, e)
        assert d.mean() <= LIMIT_MEAN and np.percentile(d, 99) <= LIMIT_P99, (d.mean(), np.percentile(d, 99))
    # the frames are the same frames (not one off): a neighbour is far away
    assert _diff(got[6], exact[5]).mean() > 3 * LIMIT_MEAN


def test_the_other_matrix_is_caught_and_the_exact_path_taken(tmp_path):
    """A conversion that does not match what OpenCV decodes (here BT.601 on a BT.709 stream, as a
    decoder ignoring the metadata would do) fails the check: every frame is then the exact one."""
    path = _write(tmp_path / "bt709.mp4", 1)

    def wrong(colorspace, color_range, pix_fmt):
        return stream_matrix(6, color_range, pix_fmt)

    got, exact, report = _read_all(path, matrix_for=wrong)
    assert report.path == "exact" and report.matrix == "bt601-limited"
    assert report.check_mean > LIMIT_MEAN and "differs from the exact one" in report.reason
    assert len(got) == len(exact) and all(np.array_equal(g, e) for g, e in zip(got, exact))


def test_full_range_stream(tmp_path):
    path = _write(tmp_path / "full.mp4", 6, full_range=True, pix_fmt="yuvj420p")
    got, exact, report = _read_all(path)
    assert report.path == "yuv" and report.matrix == "bt601-full"  # OpenCV decodes yuvj420p as full range too
    assert all(_diff(g, e).mean() <= LIMIT_MEAN for g, e in zip(got, exact))


def test_other_pixel_formats_and_the_switch_take_the_exact_path(tmp_path, monkeypatch):
    path = _write(tmp_path / "444.mp4", 6, pix_fmt="yuv444p", n=5)
    got, exact, report = _read_all(path)
    assert report.path == "exact" and "yuv444p" in report.reason
    assert all(np.array_equal(g, e) for g, e in zip(got, exact)) and len(got) == 5
    monkeypatch.setenv(EXACT_ENV, "1")
    got, exact, report = _read_all(_write(tmp_path / "709.mp4", 1, n=5))
    assert report.path == "exact" and EXACT_ENV in report.reason
    assert all(np.array_equal(g, e) for g, e in zip(got, exact))


def test_a_frame_folder_takes_the_exact_path(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((48, 64, 3), 40 * i, np.uint8))
    with open_video(folder) as v:
        frames, transform, report = analysis_frames(v, (24, 32))
        got = [transform(f) for f in frames]
    assert report.path == "exact" and len(got) == 3 and int(got[2][0, 0, 0]) == 80


def test_analysis_records_how_it_decoded(tmp_path):
    from rpan_core.analyze import analyze_video
    from rpan_core.demo import demo_checkpoint_path

    path = _write(tmp_path / "clip.mp4", 1, n=10, size=(360, 480))
    a = analyze_video(path, demo_checkpoint_path(), cache_dir=tmp_path / "cache", device="cpu")
    assert a.decode["path"] == "yuv" and a.decode["matrix"] == "bt709-limited"
    assert a.num_frames == 10


@pytest.mark.parametrize("colorspace", [1, 6])
def test_the_device_resize_run_on_the_cpu_is_the_cpu_path(tmp_path, monkeypatch, colorspace):
    """The GPU path (planes uploaded, area-resized by matrix products, converted in float on the device)
    run on the CPU: within the CPU path's own limits of the CPU path, frame by frame, and of the exact
    path; the report says where the planes were resized."""
    from rpan_core.yuv_frames import RESIZE_ON_ENV

    path = _write(tmp_path / f"cs{colorspace}.mp4", colorspace)
    cpu, exact, r_cpu = _read_all(path, device="cpu")
    assert r_cpu.resize_on == "cpu"  # auto: a CPU analysis resizes with OpenCV
    monkeypatch.setenv(RESIZE_ON_ENV, "device")
    dev, _, r_dev = _read_all(path, device="cpu")
    assert r_dev.path == "yuv" and r_dev.resize_on == "torch cpu" and r_dev.check_mean <= LIMIT_MEAN
    for g, c, e in zip(dev[4:], cpu[4:], exact[4:]):
        for ref in (c, e):
            d = _diff(g, ref)
            assert d.mean() <= LIMIT_MEAN and np.percentile(d, 99) <= LIMIT_P99, (d.mean(), np.percentile(d, 99))
    assert _diff(dev[6], cpu[5]).mean() > 3 * LIMIT_MEAN  # the same frames


def test_where_the_planes_are_resized():
    import torch

    from rpan_core.yuv_frames import _area_matrix, resize_device

    assert resize_device(torch.device("cuda", 0)) == torch.device("cuda", 0)
    assert resize_device(torch.device("cpu")) is None and resize_device(None) is None
    a = _area_matrix(7, 3)  # each output pixel: the mean of 7/3 source pixels, the cut ones in part
    np.testing.assert_allclose(a.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(a[0, :3] * 7 / 3, [1, 1, 1 / 3], atol=1e-6)
    img = np.random.default_rng(0).integers(0, 255, (12, 21)).astype(np.float32)
    ref = cv2.resize(img, (9, 5), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(_area_matrix(12, 5) @ img @ _area_matrix(21, 9).T, ref, atol=1e-3)


def test_an_analysis_with_its_resizes_on_the_device_records_it(tmp_path, monkeypatch):
    from rpan_core.analyze import analyze_video
    from rpan_core.demo import demo_checkpoint_path
    from rpan_core.yuv_frames import RESIZE_ON_ENV

    path = _write(tmp_path / "clip.mp4", 1, n=10, size=(360, 480))
    a = analyze_video(path, demo_checkpoint_path(), cache_dir=tmp_path / "a", device="cpu")
    monkeypatch.setenv(RESIZE_ON_ENV, "device")
    b = analyze_video(path, demo_checkpoint_path(), cache_dir=tmp_path / "b", device="cpu")
    assert a.decode["resize_on"] == "cpu" and b.decode["resize_on"] == "torch cpu"
    # joints in frame pixels (480 px wide): most move by a hundredth of a pixel (median 0.01, 90th
    # percentile 0.15 measured); the demo model has two near-equal peaks on a few joints of this pattern
    d = np.abs(np.asarray(a.xy) - np.asarray(b.xy))
    assert np.median(d) < 0.1 and np.percentile(d, 90) < 1.0
