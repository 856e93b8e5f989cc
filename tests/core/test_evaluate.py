"""rpan eval: confusion matrix against direct predictions, per-class accuracy, PCK, PNG, JSON."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from tests.core.engine_support import make_tiny_project



@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.model import RPAN, RPANConfig

    root = tmp_path_factory.mktemp("ev")
    project, truth = make_tiny_project(root / "p", per_class=2, n_frames=12, size=(64, 80), test_per_class=2,
                                       pose_every=3)
    torch.manual_seed(1)
    model = RPAN(RPANConfig(num_classes=3, input_size=(64, 96), hidden=16)).eval()
    ck = root / "ck.pt"
    save_checkpoint(ck, model, classes=list(project.classes), train_config={"clip_len": 8}, metrics={})
    return project, truth, model, ck


def _direct_pred(model, path):
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(cv2.cvtColor(f, cv2.COLOR_BGR2RGB), (96, 64), interpolation=cv2.INTER_AREA))
    n = len(frames)
    idx = np.floor((np.arange(8) + 0.5) * n / 8).astype(int)
    with torch.no_grad():
        return int(model(model.preprocess(np.stack(frames)[idx][None])).logits[0, -1].argmax())


def test_confusion_and_accuracy_match_direct_predictions(setup, tmp_path):
    from rpan_core.evaluate import evaluate

    project, truth, model, ck = setup
    res = evaluate(ck, project, "test", png=tmp_path / "cm.png")
    ref = np.zeros((3, 3), int)
    for r in project.videos():
        ref[project.classes.index(r.action), _direct_pred(model, r.path)] += 1
    assert np.array_equal(np.array(res["confusion"]), ref)
    assert res["accuracy"] == pytest.approx(np.trace(ref) / ref.sum())
    for i, c in enumerate(project.classes):
        assert res["per_class_accuracy"][c] == pytest.approx(ref[i, i] / ref[i].sum())
    img = cv2.imread(res["confusion_png"])
    assert img is not None and img.shape[0] > 100
    json.dumps(res)  # JSON-able


def test_pck_uses_labeled_frames_only(setup):
    from rpan_core.analyze import analyze_video
    from rpan_core.evaluate import evaluate
    from rpan_core.targets import label_bbox

    project, truth, _, ck = setup
    res = evaluate(ck, project, "test")
    ok = tot = 0
    for r in project.videos():
        a = analyze_video(r.path, ck, project=project)
        sv = truth[r.id]
        for t in range(0, 12, 3):  # labels every 3rd frame
            v = sv.visible[t]
            size = np.max(label_bbox(sv.xy[t], v)[2:] - label_bbox(sv.xy[t], v)[:2])
            err = np.hypot(*(np.asarray(a.xy_argmax[t]) - sv.xy[t]).T)
            ok += int(((err <= 0.2 * size) & v).sum())
            tot += int(v.sum())
    assert res["pck_frames"] == 4 * len(project.videos())
    assert res["pck"]["argmax"]["mean"] == pytest.approx(ok / tot, abs=1e-6)
    assert len(res["pck"]["refined"]["per_joint"]) == 13


def test_cli_json_and_missing_split(setup, capsys):
    from rpan_core.cli import main

    project, _, _, ck = setup
    assert main(["eval", "--checkpoint", str(ck), "--project", str(project.folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["videos"] == 6 and len(out["confusion"]) == 3
    assert main(["eval", "--checkpoint", str(ck), "--project", str(project.folder), "--split", "val"]) == 1
    assert "no videos in the 'val' split" in capsys.readouterr().err
