"""Two-stream RPAN end to end: `rpan train --stream flow`, flow analysis, fused analysis and eval.

Tiny synthetic project, a couple of training steps: these check the plumbing (the
right input reaches the right model, fusion weights are applied, caches are used),
not accuracy.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.core.engine_support import make_tiny_project, rpan_cli


from rpan_core import flow as F  # noqa: E402
from rpan_core.errors import ConfigError, TrainingError  # noqa: E402
from rpan_core.engine import TrainConfig, run_training  # noqa: E402

SMALL = dict(backbone="small_cnn", backbone_weights=None, input_size=(64, 96), hidden=24, batch=3, lr=0.005,
             clip_len=4, seed=0, tensorboard=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("two")
    folder = root / "project"
    project, truth = make_tiny_project(folder, per_class=2, n_frames=14, size=(64, 96))
    rgb = run_training(TrainConfig(project=str(folder), run_dir=str(root / "rgb"), epochs=1, stream="rgb", **SMALL),
                       progress=False)
    flow = run_training(TrainConfig(project=str(folder), run_dir=str(root / "flow"), epochs=1, stream="flow",
                                    **SMALL), progress=False)
    return folder, project, truth, Path(rgb) / "last.pt", Path(flow) / "last.pt", root


def test_flow_run_records_its_stream_and_uses_the_flow_cache(runs, tmp_path):
    from rpan_core.checkpoint import load_checkpoint

    folder, project, _, rgb_ck, flow_ck, root = runs
    model, info = load_checkpoint(flow_ck)
    assert info.train_config["stream"] == "flow" and model.cfg.in_channels == 2 * F.STACK_LENGTH
    assert info.train_config["flow"]["bound"] == F.FLOW_BOUND
    _, rinfo = load_checkpoint(rgb_ck)
    assert rinfo.train_config["stream"] == "rgb"
    log = (root / "flow" / "log.txt").read_text()
    assert "optical flow for" in log and " 0 frame pairs computed" not in log
    # every training video's flow is in the project's flow cache: a second run computes nothing
    run2 = run_training(TrainConfig(project=str(folder), run_dir=str(tmp_path / "again"), epochs=1, stream="flow",
                                    max_steps=1, **SMALL), progress=False)
    assert " 0 frame pairs computed" in (Path(run2) / "log.txt").read_text()


def test_cross_modality_init_from_an_rgb_checkpoint(runs, tmp_path):
    from rpan_core.checkpoint import load_checkpoint
    from rpan_core.model import RPAN

    folder, _, _, rgb_ck, _, _ = runs
    rgb, rinfo = load_checkpoint(rgb_ck)
    d = rinfo.config.to_dict()
    d["in_channels"] = 10
    from rpan_core.model import RPANConfig

    flow_model = RPAN(RPANConfig.from_dict(d))
    stems = F.cross_modality_init(flow_model, rgb.state_dict())
    assert stems == ["backbone.features.0.weight"]
    w_rgb = rgb.state_dict()["backbone.features.0.weight"]
    w_flow = flow_model.state_dict()["backbone.features.0.weight"]
    assert w_flow.shape[1] == 10
    for c in range(10):  # every flow channel holds the RGB kernel's channel mean
        assert torch.allclose(w_flow[:, c], w_rgb.mean(dim=1), atol=1e-7)
    for k, v in rgb.state_dict().items():  # everything else is copied as is
        if k != "backbone.features.0.weight":
            assert torch.equal(flow_model.state_dict()[k], v), k
    # the trainer does the same for `--stream flow --init RGB.pt`, before any step
    tc = TrainConfig(project=str(folder), run_dir=str(tmp_path / "x"), stream="flow", init=str(rgb_ck),
                     preset="finetune", epochs=1, max_steps=1, **{k: v for k, v in SMALL.items()
                                                                  if k not in ("backbone", "backbone_weights",
                                                                               "input_size", "hidden")})
    from rpan_core.project import Project
    from rpan_core.engine import build_model

    notes_log = []
    m, _, notes = build_model(tc.resolved(), Project.open(folder), log=notes_log.append)
    assert "cross_modality" in notes and m.cfg.in_channels == 10
    assert torch.allclose(m.state_dict()["backbone.features.0.weight"], w_flow)
    # and the other way round is refused
    flow_ck = runs[4]
    tc2 = TrainConfig(project=str(folder), stream="rgb", init=str(flow_ck), preset="finetune")
    with pytest.raises(TrainingError, match="flow-stream checkpoint"):
        build_model(tc2.resolved(), Project.open(folder))
    with pytest.raises(ConfigError, match="freeze"):
        TrainConfig(project=str(folder), stream="flow", freeze_backbone=True).resolved()


def test_mirrored_flow_input_is_the_flow_of_the_mirrored_video(tmp_path):
    rng = np.random.default_rng(0)
    base = (rng.random((60, 90)) * 255).astype(np.uint8)
    import cv2

    base = cv2.GaussianBlur(cv2.resize(base, (180, 120)), (0, 0), 2.0)
    frames = np.stack([np.repeat(np.roll(base, 2 * t, axis=1)[10:58, 20:100, None], 3, 2) for t in range(7)])
    a = F.flow_to_input(F.flow_clip(frames, [0], cache_dir=tmp_path))[0]
    b = F.flow_to_input(F.flow_clip(np.ascontiguousarray(frames[:, :, ::-1]), [0], cache_dir=tmp_path))[0]
    m = F.mirror_input(a)
    inner = (slice(None), slice(8, -8), slice(8, -8))
    assert np.mean(a[0::2][inner]) > 0.15  # moving right 2 px a frame: +0.22 after normalization
    assert np.mean(m[0::2][inner]) < -0.15
    assert np.abs(m[inner] - b[inner]).mean() < 0.05


def test_flow_analysis_matches_a_direct_forward_pass(runs, tmp_path):
    from rpan_core.analyze import analyze_video
    from rpan_core.checkpoint import load_checkpoint

    folder, project, _, _, flow_ck, _ = runs
    rec = project.videos()[0]
    a = analyze_video(rec.path, flow_ck, project=project, cache_dir=tmp_path, stride=3)
    assert a.stream == "flow" and a.num_frames == rec.frame_count
    assert np.allclose(np.asarray(a.probs).sum(1), 1.0, atol=1e-4)
    model, _ = load_checkpoint(flow_ck)
    model.eval()
    vol = F.compute_flow(rec.path, project.flow_dir, F.FlowParams())
    assert vol.computed_pairs == 0  # the analysis found the flow the training run had cached
    for r in (0, 2):  # chain r runs over frames r, r+3, ...
        idx = list(range(r, rec.frame_count, 3))
        x = F.flow_to_input(F.flow_clip(None, idx, volume=vol, size=tuple(model.cfg.input_size)))
        with torch.no_grad():
            out = model(torch.from_numpy(x)[None])
        p = torch.softmax(out.logits[0].float(), -1).numpy()
        assert np.allclose(np.asarray(a.probs)[idx], p, atol=1e-4)
        assert np.allclose(np.asarray(a.attention, np.float32)[idx], out.attention[0].numpy(), atol=2e-3)
    again = analyze_video(rec.path, flow_ck, project=project, cache_dir=tmp_path, stride=3)
    assert again.from_cache and again.stream == "flow"


def test_two_stream_analysis_fuses_with_the_given_weights(runs, tmp_path):
    from rpan_core.analyze import TwoStreamAnalysis, analyze_two_stream, analyze_video

    folder, project, _, rgb_ck, flow_ck, _ = runs
    rec = project.videos()[1]
    two = analyze_two_stream(rec.path, rgb_ck, flow_ck, project=project, cache_dir=tmp_path)
    rgb = analyze_video(rec.path, rgb_ck, project=project, cache_dir=tmp_path)
    flo = analyze_video(rec.path, flow_ck, project=project, cache_dir=tmp_path)
    assert rgb.from_cache and flo.from_cache
    assert two.weights == (1.0, 2.0)
    P_r, P_f = np.asarray(rgb.probs, np.float64), np.asarray(flo.probs, np.float64)
    assert np.allclose(two.probs, (P_r + 2 * P_f) / 3, atol=1e-5)
    assert np.allclose(np.asarray(two.probs).sum(1), 1.0, atol=1e-5)
    assert np.allclose(two.video_probs, (rgb.video_probs + 2 * flo.video_probs) / 3, atol=1e-5)
    assert two.video_pred == int(np.argmax(two.video_probs))
    # the attention (and poses) shown are the RGB stream's; select() switches to the flow stream's
    assert np.array_equal(np.asarray(two.attention), np.asarray(rgb.attention))
    fl = two.select("flow")
    assert np.array_equal(np.asarray(fl.attention), np.asarray(flo.attention))
    assert np.array_equal(np.asarray(fl.xy), np.asarray(flo.xy)) and np.array_equal(fl.probs, two.probs)
    w31 = analyze_two_stream(rec.path, rgb_ck, flow_ck, "3:1", project=project, cache_dir=tmp_path)
    assert np.allclose(w31.probs, 0.75 * P_r + 0.25 * P_f, atol=1e-5)
    assert isinstance(w31, TwoStreamAnalysis)
    with pytest.raises(ConfigError, match="flow-stream checkpoint"):
        analyze_two_stream(rec.path, flow_ck, flow_ck, project=project, cache_dir=tmp_path)


def test_eval_fuse_reports_each_stream_and_the_fusion(runs, tmp_path):
    from rpan_core.evaluate import evaluate

    folder, project, _, rgb_ck, flow_ck, _ = runs
    res = evaluate(rgb_ck, project, "test", flow_checkpoint=flow_ck, fuse="1:2")
    n = res["videos_with_action"]
    assert n == 3 and res["fusion_weights"] == [1.0, 2.0]
    classes = res["classes"]
    correct = {"rgb": 0, "flow": 0, "fused": 0}
    for p in res["predictions"]:
        pr = np.array(p["streams"]["rgb"]["video_probs"])
        pf = np.array(p["streams"]["flow"]["video_probs"])
        fused = (pr + 2 * pf) / 3
        assert np.allclose(p["streams"]["fused"]["video_probs"], fused, atol=1e-5)
        assert p["pred"] == classes[int(np.argmax(fused))]
        for k, v in (("rgb", pr), ("flow", pf), ("fused", fused)):
            correct[k] += classes[int(np.argmax(v))] == p["true"]
    assert res["stream_accuracy"] == pytest.approx({k: v / n for k, v in correct.items()})
    assert res["accuracy"] == pytest.approx(correct["fused"] / n)
    out = subprocess.run(rpan_cli("eval", "--checkpoint", str(rgb_ck), "--flow-checkpoint", str(flow_ck),
                                  "--project", str(folder), "--fuse", "1:2", "--json",
                                  "--png", str(tmp_path / "c.png")), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["stream_accuracy"] == res["stream_accuracy"]
    bad = subprocess.run(rpan_cli("eval", "--checkpoint", str(rgb_ck), "--project", str(folder), "--fuse", "1:2"),
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "--flow-checkpoint" in bad.stderr


def test_cli_analyze_two_streams(runs):
    folder, project, _, rgb_ck, flow_ck, _ = runs
    rec = project.videos()[2]
    out = subprocess.run(rpan_cli("analyze", str(rec.path), "--checkpoint", str(rgb_ck), "--flow-checkpoint",
                                  str(flow_ck), "--fuse", "1:3", "--project", str(folder), "--json"),
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["stream"] == "fused" and s["fusion_weights"] == [1.0, 3.0]
    assert sorted(s["streams"]) == ["flow", "rgb"] and "pck@0.2" in s
    from rpan_core.analyze import Analysis

    r = Analysis.load(s["streams"]["rgb"]["analysis"])
    f = Analysis.load(s["streams"]["flow"]["analysis"])
    assert r.stream == "rgb" and f.stream == "flow"
    fused = (r.video_probs + 3 * f.video_probs) / 4
    assert s["video_pred"] == r.classes[int(np.argmax(fused))]
    assert s["video_prob"] == pytest.approx(float(fused.max()), abs=1e-5)
