"""`rpan analyze --poses-out`: the model's poses as COCO keypoints, read back by the COCO importer."""

from __future__ import annotations

import json

import numpy as np

from rpan_core.analyze import DEFAULT_DUMMY_THRESHOLD, Analysis
from rpan_core.cli import main
from rpan_core.demo import demo_checkpoint_path
from rpan_core.formats.coco import keypoint_names
from rpan_core.project import Project
from rpan_core.skeleton import PENNACTION
from rpan_core.synth import render_video, write_mp4


def test_poses_out_round_trips_through_the_coco_importer(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RPAN_CACHE_DIR", str(tmp_path / "cache"))
    sv = render_video(3, "jumping_jacks", n_frames=12, size=(120, 160))
    video = write_mp4(tmp_path / "clip.mp4", sv.frames)
    out = tmp_path / "poses" / "clip_poses.json"
    assert main(["analyze", str(video), "--checkpoint", str(demo_checkpoint_path()), "--poses-out", str(out),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["poses_out"] == str(out)
    a = Analysis.load(summary["analysis"])
    doc = json.loads(out.read_text())
    names = keypoint_names("pennaction")
    assert doc["categories"][0]["keypoints"] == names
    assert [(im["video_name"], im["frame_index"], im["width"], im["height"]) for im in doc["images"]] == [
        ("clip", f, 160, 120) for f in range(12)]
    assert len(doc["annotations"]) == 12
    ann = doc["annotations"][5]
    head = names.index("head")
    assert ann["keypoints"][3 * head: 3 * head + 2] == [float(v) for v in a.xy[5, 0]]
    assert ann["scores"][head] == float(a.conf[5, 0]) and len(ann["scores"]) == len(names)
    assert ann["keypoints"][0:3] == [0.0, 0.0, 0]  # COCO's nose: PennAction has no joint for it

    # into a fresh project: the same joints come back, frame by frame, with the model's visibility
    assert main(["add", "--project", str(tmp_path / "proj"), str(video)]) == 0
    assert main(["import", "--format", "coco", str(out), "--project", str(tmp_path / "proj")]) == 0
    with Project.open(tmp_path / "proj") as p:
        la = p.video_labels(1)
        assert la.frames.tolist() == list(range(12)) and la.labeled.all()
        np.testing.assert_array_equal(la.xy, np.asarray(a.xy, np.float64))
        np.testing.assert_array_equal(la.visible, np.asarray(a.dummy) < DEFAULT_DUMMY_THRESHOLD)
        assert la.xy.shape[1] == PENNACTION.num_joints

    # --smooth 5: each joint's track through the running median of 5 frames (the cached analysis, no new run)
    smooth = tmp_path / "poses" / "smooth.json"
    assert main(["analyze", str(video), "--checkpoint", str(demo_checkpoint_path()), "--poses-out", str(smooth),
                 "--smooth", "5"]) == 0
    from rpan_core.smoothing import median_smooth

    want = median_smooth(np.asarray(a.xy, np.float64), 5)
    assert np.abs(want - np.asarray(a.xy, np.float64)).max() > 0.5  # the demo model's poses do jitter
    pos = [names.index(n) for n in PENNACTION.joints]
    anns = json.loads(smooth.read_text())["annotations"]
    got = np.array([np.reshape(ann["keypoints"], (-1, 3))[pos, :2] for ann in anns])
    np.testing.assert_allclose(got, want)
    capsys.readouterr()
    assert main(["analyze", str(video), "--checkpoint", str(demo_checkpoint_path()), "--smooth", "4",
                 "--poses-out", str(smooth)]) != 0
    assert "odd number of frames" in capsys.readouterr().err
    assert main(["analyze", str(video), "--checkpoint", str(demo_checkpoint_path()), "--smooth", "5"]) != 0
    assert "--smooth applies to the poses written by --poses-out" in capsys.readouterr().err
