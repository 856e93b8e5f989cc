"""The analysis cache never serves a stale or damaged result (issue 10, item 2).

Each test reproduces one way the old cache served the wrong thing: ``--refresh``
over an existing entry, a frame folder whose middle frame changed, same-size
damage to a cached array, a ``video_pred`` out of range, inputs that do not match,
and the temp folders a killed analysis left behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from rpan_core.analyze import Analysis, StaleAnalysis, analyze_video


@pytest.fixture(scope="module")
def ck(tmp_path_factory):
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.model import RPAN, RPANConfig

    root = tmp_path_factory.mktemp("cache")
    torch.manual_seed(0)
    model = RPAN(RPANConfig(num_classes=3, input_size=(64, 96), hidden=16)).eval()
    return save_checkpoint(root / "ck.pt", model, classes=["a", "b", "c"], train_config={"stride": 2, "clip_len": 8})


@pytest.fixture(autouse=True)
def _private_hash_store(tmp_path, monkeypatch):
    monkeypatch.setenv("RPAN_CACHE_DIR", str(tmp_path / "user-cache"))


def _folder(path: Path, n: int = 12, seed: int = 0) -> Path:
    """Frames as BMP: every frame has the same byte size, so only content can tell them apart."""
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(path / f"{i:05d}.bmp"), rng.integers(0, 255, (72, 96, 3), dtype=np.uint8))
    return path


def test_refresh_over_an_existing_entry_serves_the_new_result(ck, tmp_path):
    video = _folder(tmp_path / "v")
    a = analyze_video(video, ck, cache_dir=tmp_path / "an")
    truth = np.asarray(a.video_probs).copy()
    truth_xy = np.asarray(a.xy).copy()
    # An entry holding another result under the same key (an older run): poses and probabilities shifted.
    meta_p = Path(a.path) / "meta.json"
    meta = json.loads(meta_p.read_text())
    meta["video_probs"] = [0.0, 0.0, 1.0]
    meta["video_pred"] = 2
    meta_p.write_text(json.dumps(meta))
    del a
    fresh = analyze_video(video, ck, cache_dir=tmp_path / "an", refresh=True)
    assert not fresh.from_cache
    np.testing.assert_allclose(fresh.video_probs, truth, atol=1e-6)
    np.testing.assert_allclose(np.asarray(fresh.xy), truth_xy, atol=1e-4)
    again = analyze_video(video, ck, cache_dir=tmp_path / "an")  # the new result is what is stored now
    assert again.from_cache
    np.testing.assert_allclose(again.video_probs, truth, atol=1e-6)
    assert not [p for p in (tmp_path / "an").iterdir() if p.name.startswith(".")]


def test_the_folder_hash_covers_every_frame(tmp_path):
    from rpan_core.video import content_hash, exact_hash

    video = _folder(tmp_path / "v")
    before = content_hash(video)
    mid = video / "00006.bmp"
    st = mid.stat()
    img = cv2.imread(str(mid))
    img[10:20, 10:20] = 255 - img[10:20, 10:20]
    cv2.imwrite(str(mid), img)
    os.utime(mid, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime: only the bytes differ
    assert mid.stat().st_size == st.st_size
    assert content_hash(video) != before
    assert exact_hash(video) == content_hash(video)


def test_a_changed_middle_frame_is_analyzed_again(ck, tmp_path):
    video = _folder(tmp_path / "v", n=12)
    a = analyze_video(video, ck, cache_dir=tmp_path / "an")
    old_att = np.asarray(a.attention[6]).copy()
    mid = video / "00006.bmp"
    cv2.imwrite(str(mid), np.full((72, 96, 3), 255, np.uint8))
    b = analyze_video(video, ck, cache_dir=tmp_path / "an")
    assert not b.from_cache and b.path != a.path
    assert not np.allclose(np.asarray(b.attention[6]), old_att)


def test_a_file_hash_covers_every_byte(tmp_path):
    from rpan_core.video import HASH_CHUNK, content_hash, exact_hash

    f = tmp_path / "big.bin"
    data = bytearray(np.random.default_rng(0).integers(0, 255, 5 * HASH_CHUNK, dtype=np.uint8).tobytes())
    f.write_bytes(bytes(data))
    sampled, exact = content_hash(f), exact_hash(f)
    data[HASH_CHUNK + 7] ^= 0xFF  # outside the sampled first / middle / last MB
    f.write_bytes(bytes(data))
    assert content_hash(f) == sampled  # the fast identity does not see it...
    assert exact_hash(f) != exact      # ...the cache key does


def test_same_size_damage_to_an_array_is_recomputed_not_served(ck, tmp_path):
    video = _folder(tmp_path / "v")
    a = analyze_video(video, ck, cache_dir=tmp_path / "an")
    truth = np.asarray(a.xy).copy()
    path = Path(a.path)
    del a
    raw = bytearray((path / "xy.npy").read_bytes())
    raw[-40:] = bytes(40)  # zero a few poses: same size, a valid .npy
    (path / "xy.npy").write_bytes(bytes(raw))
    with pytest.raises(StaleAnalysis, match="checksum"):
        Analysis.load(path)
    b = analyze_video(video, ck, cache_dir=tmp_path / "an")
    assert not b.from_cache
    np.testing.assert_allclose(np.asarray(b.xy), truth, atol=1e-4)


@pytest.mark.parametrize("edit", ["video_pred", "frames", "checkpoint", "version"])
def test_a_mismatched_or_impossible_entry_is_recomputed(ck, tmp_path, edit):
    video = _folder(tmp_path / "v")
    a = analyze_video(video, ck, cache_dir=tmp_path / "an")
    truth = np.asarray(a.video_probs).copy()
    meta_p = Path(a.path) / "meta.json"
    del a
    meta = json.loads(meta_p.read_text())
    if edit == "video_pred":
        meta["video_pred"] = 7  # was an IndexError in video_class
    elif edit == "frames":
        meta["inputs"]["frames"] = 11
    elif edit == "checkpoint":
        meta["inputs"]["checkpoint_sha256"] = "0" * 64
    else:
        meta["version"] = 1
    meta_p.write_text(json.dumps(meta))
    b = analyze_video(video, ck, cache_dir=tmp_path / "an")
    assert not b.from_cache
    np.testing.assert_allclose(b.video_probs, truth, atol=1e-6)
    assert b.video_class in ("a", "b", "c")


def test_orphans_of_a_killed_analysis_are_removed_on_the_next_run(ck, tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    root = tmp_path / "an"
    old_style = root / f".abc-def-v1.tmp{dead}-1234"
    new_style = root / f".abc-def-v2.rpan-tmp{dead}-99"
    for d in (old_style, new_style):
        d.mkdir(parents=True)
        (d / "xy.npy").write_bytes(b"x" * 100)
    analyze_video(_folder(tmp_path / "v"), ck, cache_dir=root)
    assert not old_style.exists() and not new_style.exists()
