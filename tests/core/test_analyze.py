"""rpan analyze: interleaved chains against a direct forward pass, the cache, cancel, PCK vs the generator."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.core.engine_support import make_tiny_project


from rpan_core.analyze import AnalysisCancelled, analyze_video  # noqa: E402


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.model import RPAN, RPANConfig

    root = tmp_path_factory.mktemp("an")
    project, truth = make_tiny_project(root / "project", per_class=1, n_frames=23, size=(72, 96), test_per_class=0)
    torch.manual_seed(0)
    model = RPAN(RPANConfig(num_classes=3, input_size=(64, 96), hidden=24)).eval()
    ck = root / "ck.pt"
    save_checkpoint(ck, model, classes=list(project.classes), train_config={"stride": 3, "clip_len": 8}, metrics={})
    return project, truth, model, ck


def _frames(path: str, size=(64, 96)) -> np.ndarray:
    cap = cv2.VideoCapture(path)
    out = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        out.append(cv2.resize(cv2.cvtColor(f, cv2.COLOR_BGR2RGB), (size[1], size[0]), interpolation=cv2.INTER_AREA))
    return np.stack(out)


def test_chains_match_a_direct_forward_pass_per_chain(setup, tmp_path):
    project, _, model, ck = setup
    rec = project.videos()[0]
    a = analyze_video(rec.path, ck, cache_dir=tmp_path, batch=7)  # blocks of 2 steps x 3 chains: odd edges
    frames = _frames(rec.path)
    n = len(frames)
    assert a.num_frames == n == 23 and a.stride == 3
    assert a.attention.shape == (n, 13, 2, 3) and a.probs.shape == (n, 3) and a.hidden.shape == (n, 24)
    with torch.no_grad():
        for r in range(3):
            out = model(model.preprocess(frames[r::3][None]))
            np.testing.assert_allclose(a.attention[r::3], out.attention[0].numpy(), atol=2e-3)
            np.testing.assert_allclose(a.probs[r::3], torch.softmax(out.logits[0], -1).numpy(), atol=1e-4)
        # video level: 8 equally spaced frames (segment middles), the last step
        idx = np.floor((np.arange(8) + 0.5) * n / 8).astype(int)
        ref = torch.softmax(model(model.preprocess(frames[idx][None])).logits[0, -1], -1).numpy()
    np.testing.assert_allclose(a.video_probs, ref, atol=1e-4)
    assert a.video_pred == int(ref.argmax())


def test_second_call_is_served_from_the_cache(setup, tmp_path):
    project, _, _, ck = setup
    rec = project.videos()[1]
    seen = []
    a = analyze_video(rec.path, ck, cache_dir=tmp_path, progress=lambda d, t: seen.append((d, t)))
    assert not a.from_cache and seen[-1] == (a.num_frames, a.num_frames)
    b = analyze_video(rec.path, ck, cache_dir=tmp_path)
    assert b.from_cache and b.path == a.path
    np.testing.assert_array_equal(np.asarray(a.attention), np.asarray(b.attention))
    assert isinstance(b.attention, np.memmap)


def test_cancel_leaves_no_cache_entry(setup, tmp_path):
    project, _, _, ck = setup
    ev = threading.Event()
    ev.set()
    with pytest.raises(AnalysisCancelled):
        analyze_video(project.videos()[2].path, ck, cache_dir=tmp_path, cancel=ev)
    assert not any(tmp_path.iterdir())


def _pck_reference(pred, gt, vis, alpha=0.2):
    ok = tot = 0
    for p, g, v in zip(pred, gt, vis):
        pts = g[v]
        size = max(pts[:, 0].max() - pts[:, 0].min(), pts[:, 1].max() - pts[:, 1].min())
        for j in range(len(g)):
            if v[j]:
                tot += 1
                ok += np.hypot(*(p[j] - g[j])) <= alpha * size
    return ok / tot


def test_cli_reports_pck_against_the_generator_joints(setup, capsys):
    from rpan_core.cli import main

    project, truth, _, ck = setup
    rec = project.videos()[0]
    assert main(["analyze", rec.path, "--checkpoint", str(ck), "--project", str(project.folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    sv = truth[rec.id]
    a = analyze_video(rec.path, ck, project=project)
    assert a.from_cache and out["cached"] is False
    ref = _pck_reference(np.asarray(a.xy_argmax), sv.xy, sv.visible)
    assert out["pck@0.2"]["argmax"]["mean"] == pytest.approx(ref, abs=1e-6)
    assert out["pck@0.2"]["frames"] == 23
    assert main(["analyze", rec.path, "--checkpoint", str(ck), "--project", str(project.folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cached"] is True
    assert Path(a.path).parent == Path(project.analyses_dir)


def test_a_checkpoint_for_another_skeleton_is_refused(tmp_path):
    import torch

    from rpan_core.analyze import analyze_video
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.errors import CheckpointError
    from rpan_core.model import RPAN, preset

    project, _ = make_tiny_project(tmp_path / "p", per_class=1, n_frames=8, size=(48, 64), test_per_class=0)
    torch.manual_seed(0)
    model = RPAN(preset("demo", skeleton="jhmdb", num_classes=3, hidden=8, input_size=(48, 64)))
    ck = save_checkpoint(tmp_path / "jhmdb.pt", model, classes=["a", "b", "c"])
    video = project.videos()[0].path
    with pytest.raises(CheckpointError, match="'jhmdb' skeleton.*'pennaction'"):
        analyze_video(video, ck, project=project)
    with pytest.raises(CheckpointError, match="'jhmdb' skeleton"):
        analyze_video(video, ck, project=str(project.folder))
    assert not any(project.analyses_dir.iterdir()) if project.analyses_dir.exists() else True


def test_the_entry_is_not_fsynced_and_a_torn_one_is_recomputed(setup, tmp_path, monkeypatch):
    """The analysis cache checks every array against its checksum when read, so its entries skip the
    fsyncs (11 files: a measurable share of a short clip's pass); an entry a power cut would tear
    (an array zeroed) is recomputed, not served."""
    import os

    project, _, _, ck = setup
    rec = project.videos()[1]
    calls = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd))[1])
    a = analyze_video(rec.path, ck, cache_dir=tmp_path)
    assert calls == [] and not a.from_cache
    att = Path(a.path) / "attention.npy"
    att.write_bytes(b"\0" * att.stat().st_size)  # what a lost write-back leaves
    b = analyze_video(rec.path, ck, cache_dir=tmp_path)
    assert not b.from_cache
    np.testing.assert_array_equal(np.asarray(b.attention), np.asarray(analyze_video(rec.path, ck, cache_dir=tmp_path,
                                                                                     refresh=True).attention))
    assert np.abs(np.asarray(b.attention)).sum() > 0


def test_the_decode_thread_runs_while_the_model_is_built(setup, tmp_path, monkeypatch):
    """A short clip's fixed costs overlap: the decoder opens the video and checks its first frames on
    its thread while the checkpoint's model is built on the caller's."""
    import rpan_core.checkpoint as ckmod

    project, _, _, ck = setup
    seen = []
    real = ckmod.model_from_state

    def spy(*args, **kw):
        seen.append(any(t.name == "analysis-decode" and t.is_alive() for t in threading.enumerate()))
        return real(*args, **kw)

    monkeypatch.setattr(ckmod, "model_from_state", spy)
    a = analyze_video(project.videos()[0].path, ck, cache_dir=tmp_path)
    assert seen == [True] and a.num_frames == 23
