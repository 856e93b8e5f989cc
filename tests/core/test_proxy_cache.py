"""Display proxies on disk: keyed by the every-byte hash, a size budget with LRU eviction, `rpan proxy`."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import pytest

from rpan_core import filehash
from rpan_core.cli import main as rpan
from rpan_core.errors import ConfigError
from rpan_core.proxy import build_proxy, find_proxy, in_use, proxy_path
from rpan_core.proxy_cache import budget_bytes, enforce_budget, list_proxies
from rpan_core.video import exact_hash, open_video
from tests.core.test_video import encode

N = 24


@pytest.fixture(autouse=True)
def _own_hash_store(tmp_path, monkeypatch):
    """A private file-hash store, so "not hashed yet" really means that."""
    monkeypatch.setenv("RPAN_CACHE_DIR", str(tmp_path / "cache"))
    filehash.forget()
    yield
    filehash.forget()


def _video(path: Path, shift: int = 0) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (256, 192))
    for i in range(N):
        w.write(cv2.resize(encode(i + shift), (256, 192), interpolation=cv2.INTER_NEAREST))
    w.release()
    return path


def _age(folder: Path, seconds_ago: float) -> None:
    t = time.time() - seconds_ago
    os.utime(folder / "meta.json", (t, t))


def test_the_key_is_the_every_byte_hash_of_the_analysis_cache(tmp_path, monkeypatch):
    import rpan_core.video as video_mod

    src = _video(tmp_path / "a.mp4")
    proxy = build_proxy(src, tmp_path / "px", long_side=128)
    proxy.close()
    assert proxy.content_hash == exact_hash(src) == filehash.file_digest(src)
    # an edit the sampled hash does not read (it sees 3 x 256 bytes here) is a different proxy
    monkeypatch.setattr(video_mod, "HASH_CHUNK", 256)
    edited = tmp_path / "b.mp4"
    data = bytearray(src.read_bytes())
    data[len(data) // 4] ^= 0x01
    edited.write_bytes(bytes(data))
    assert video_mod.content_hash(edited) == video_mod.content_hash(src)
    with open_video(edited) as v:
        assert not v.use_proxy(tmp_path / "px", build=False, long_side=128) and v.proxy is None
    with open_video(src) as v:
        assert v.use_proxy(tmp_path / "px", build=False, long_side=128) and v.proxy is not None


def test_an_unhashed_file_is_hashed_off_the_caller_thread_then_its_proxy_found(tmp_path, monkeypatch):
    src = _video(tmp_path / "a.mp4")
    proxy = build_proxy(src, tmp_path / "px", long_side=128)
    proxy.close()
    chunk = next(proxy.folder.glob("chunk_*"))
    built_at = chunk.stat().st_mtime_ns
    filehash.forget()
    monkeypatch.setenv("RPAN_CACHE_DIR", str(tmp_path / "cache2"))  # the digest is not remembered anywhere now
    assert filehash.known_digest(src) is None
    with open_video(src) as v:
        assert not v.use_proxy(tmp_path / "px", long_side=128)  # nothing hashed on this thread
        b = v.proxy_builder
        assert b is not None and b.wait(60) and b.error is None
        for _ in range(100):
            if v.proxy is not None:
                break
            time.sleep(0.02)
        assert v.proxy is not None and v.proxy.folder == proxy.folder
    assert chunk.stat().st_mtime_ns == built_at  # found, not rebuilt
    assert filehash.known_digest(src) == proxy.content_hash


def test_budget_evicts_least_recently_used_whole_proxies(tmp_path):
    root = tmp_path / "px"
    ps = [build_proxy(_video(tmp_path / f"v{k}.mp4", shift=k), root, long_side=128, budget_bytes=1 << 40)
          for k in range(3)]
    for p in ps:
        p.close()
    for k, p in enumerate(ps):  # v0 used most recently, v2 least
        _age(p.folder, 100 * (k + 1))
    sizes = [p.size_bytes for p in ps]
    assert [e.folder for e in list_proxies(root)] == [ps[2].folder, ps[1].folder, ps[0].folder]
    removed = enforce_budget(root, sizes[0] + sizes[1] + 10)
    assert removed == [ps[2].folder] and not ps[2].folder.exists() and ps[1].folder.exists()
    # a proxy open in this process is never evicted, even when it is the least recently used
    held = find_proxy(root, ps[1].content_hash, 128)
    assert held is not None and held.folder.resolve() in in_use()
    _age(ps[1].folder, 1000)
    assert enforce_budget(root, 0) == [ps[0].folder]
    assert [e.folder for e in list_proxies(root)] == [ps[1].folder]
    held.close()
    assert enforce_budget(root, 0, keep=[ps[1].folder]) == []
    assert enforce_budget(root, 0) == [ps[1].folder] and list_proxies(root) == []


def test_a_build_keeps_its_root_within_the_budget_and_old_layouts_go_first(tmp_path):
    root = tmp_path / "px"
    old = root / "0123456789abcdef01234567-128-v1"  # a proxy of the previous layout
    old.mkdir(parents=True)
    (old / "meta.json").write_text('{"video": "old.mp4", "frame_count": 3}')
    (old / "chunk_000000.jpgs").write_bytes(b"\0" * 5000)
    first = build_proxy(_video(tmp_path / "a.mp4"), root, long_side=128, budget_bytes=1 << 40)
    first.close()
    entries = list_proxies(root)
    assert [e.current for e in entries] == [False, True]  # the old layout counts as least recently used
    second = build_proxy(_video(tmp_path / "b.mp4", shift=5), root, long_side=128,
                         budget_bytes=first.size_bytes + 100)
    second.close()
    # the new proxy stays (it is the one just built), the old layout and then the LRU one went
    assert [e.folder for e in list_proxies(root)] == [second.folder]
    assert not old.exists() and not first.folder.exists()


def test_budget_from_the_environment(monkeypatch):
    monkeypatch.setenv("RPAN_PROXY_BUDGET_MB", "2.5")
    assert budget_bytes() == int(2.5 * 2 ** 20)
    monkeypatch.setenv("RPAN_PROXY_BUDGET_MB", "lots")
    with pytest.raises(ConfigError, match="RPAN_PROXY_BUDGET_MB"):
        budget_bytes()


def test_rpan_proxy_builds_lists_and_cleans(tmp_path, capsys):
    root = tmp_path / "px"
    a, b = _video(tmp_path / "a.mp4"), _video(tmp_path / "b.mp4", shift=3)
    assert rpan(["proxy", str(a), str(b), "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "a.mp4: proxy of 24 frames" in out and "2 proxies" in out
    pa = proxy_path(root, exact_hash(a), 960)
    _age(pa, 500)
    assert rpan(["proxy", "--list", "--root", str(root)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[1].startswith("b.mp4") and listed[2].startswith("a.mp4") and "2 proxies" in listed[-1]
    keep_mb = (list_proxies(root)[-1].size_bytes + 100) / 2 ** 20
    assert rpan(["proxy", "--clean", "--budget-mb", f"{keep_mb:.6f}", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "removed 1 proxies" in out and not pa.exists() and len(list_proxies(root)) == 1
    assert rpan(["proxy", "--clean", "--all", "--root", str(root)]) == 0
    assert list_proxies(root) == [] and "removed 1 proxies" in capsys.readouterr().out
    assert rpan(["proxy", "--all", "--root", str(root)]) == 1
    assert "--all only goes with --clean" in capsys.readouterr().err
    assert rpan(["proxy", str(tmp_path / "missing.mp4"), "--root", str(root)]) == 1
    assert "no such video file" in capsys.readouterr().err
