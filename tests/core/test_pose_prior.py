"""The kinematic-tree pose prior (rpan_core.pose_prior): exact on the tree, rejects an arm-like distractor,
learned from a project's labels, and used by `rpan analyze --pose-prior`."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from rpan_core.geometry import Window
from rpan_core.pose_prior import (PosePrior, PriorError, candidates, decode_frames, prior_from_project, solve_tree,
                                  tree_edges, with_pose_prior)
from rpan_core.skeleton import PENNACTION
from rpan_core.targets import decode_quadratic

INPUT = (256, 192)
GRID = (64, 48)
# a standing person in frame pixels (PennAction order): head, shoulders, elbows, wrists, hips, knees, ankles
POSE = np.array([[300, 100], [270, 150], [330, 150], [255, 210], [345, 210], [250, 265], [350, 265],
                 [280, 280], [320, 280], [278, 360], [322, 360], [276, 440], [324, 440]], np.float64)
LW = PENNACTION.index("left_wrist")


def _maps(points: list, win: Window, sigma: float = 1.2, weights: dict | None = None) -> np.ndarray:
    """J x K1 x K2 attention: a Gaussian (in cells) at each joint's frame point(s), weighted per point."""
    K1, K2 = GRID
    rows, cols = np.mgrid[0:K1, 0:K2]
    out = np.zeros((len(points), K1, K2))
    for j, pts in enumerate(points):
        for p, w in zip(np.atleast_2d(pts), (weights or {}).get(j, [1.0] * len(np.atleast_2d(pts)))):
            x, y = win.to_input(p)
            c, r = x * K2 / INPUT[1] - 0.5, y * K1 / INPUT[0] - 0.5
            out[j] += w * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma ** 2))
    return (out / out.sum((1, 2), keepdims=True)).astype(np.float32)


def _prior(**kw) -> PosePrior:
    rng = np.random.default_rng(0)
    poses = [POSE * s + rng.normal(0, 3, POSE.shape) for s in (0.8, 1.0, 1.2, 0.9, 1.1)]  # other sizes, same build
    return PosePrior.fit(np.stack(poses), np.ones((5, 13), bool), "pennaction", **kw)


def test_tree_edges_span_the_skeleton_parents_first():
    edges = tree_edges(PENNACTION.edges, PENNACTION.num_joints)
    assert len(edges) == PENNACTION.num_joints - 1
    assert sorted(q for _, q in edges) == list(range(1, 13))  # every joint but the root has one parent
    seen = {0}
    for p, q in edges:
        assert p in seen
        seen.add(q)
    assert all(tuple(sorted(e)) in {tuple(sorted(x)) for x in PENNACTION.edges} for e in edges)


def test_dynamic_programming_equals_brute_force_on_a_small_tree():
    rng = np.random.default_rng(3)
    edges = ((0, 1), (0, 2), (1, 3), (1, 4))  # breadth-first from joint 0
    prior = PosePrior("test", 5, edges, tuple(rng.normal(0, 0.3, 4)), tuple(rng.uniform(0.1, 0.4, 4)), 10, 1.3, 3)
    T, J, C = 6, 5, 3
    xy = rng.uniform(0, 4, (T, J, C, 2))
    unary = rng.uniform(0, 3, (T, J, C))
    unary[2, 3, 1] = np.inf  # a candidate that is not allowed
    free = np.zeros((T, J), bool)
    free[4, 2] = True
    scales = np.log([0.5, 1.0, 2.0, 3.0])
    choice, cost = solve_tree(unary, xy, prior, scales, free)
    for t in range(T):
        best = (np.inf, None)
        for combo in itertools.product(range(C), repeat=J):
            for s in scales:
                c = sum(unary[t, j, combo[j]] for j in range(J))
                for e, (p, q) in enumerate(edges):
                    if not (free[t, p] or free[t, q]):
                        d = np.linalg.norm(xy[t, p, combo[p]] - xy[t, q, combo[q]])
                        c += prior.weight * prior.edge_cost(np.array(d), s, e)
                best = min(best, (c, combo), key=lambda b: b[0])
        assert cost[t] == pytest.approx(best[0])
        assert tuple(choice[t]) == best[1]
    assert choice[2, 3] != 1


def test_the_prior_rejects_a_distractor_peak_beyond_arms_reach():
    win = Window.around_box([245, 95, 355, 445], INPUT)
    far = POSE[LW] + np.array([-95.0, -40.0])  # an arm-like thing in the crop, well beyond the forearm's reach
    pts = [POSE[j] if j != LW else np.stack([far, POSE[LW]]) for j in range(13)]
    att = _maps(pts, win, weights={LW: [1.0, 0.45]})
    assert (win.to_input(far) > 0).all()
    # the plain decode takes the stronger peak: the distractor
    plain = win.to_frame(decode_quadratic(torch.from_numpy(att), INPUT)[0].numpy())
    assert np.linalg.norm(plain[LW] - far) < 3
    xy, conf = decode_frames(att[None], win.matrix[None], INPUT, _prior(), np.zeros((1, 13)))
    assert np.linalg.norm(xy[0, LW] - POSE[LW]) < 3  # the wrist stays at the elbow's reach
    assert conf[0, LW] < 0.5
    # a joint the model parks on its dummy cell is not held to its limb: it keeps its strongest peak
    xy2, _ = decode_frames(att[None], win.matrix[None], INPUT, _prior(), np.eye(13)[LW][None])
    assert np.linalg.norm(xy2[0, LW] - far) < 3


def test_without_a_doubt_the_prior_decodes_as_the_plain_decode():
    win = Window.around_box([245, 95, 355, 445], INPUT)
    att = _maps(POSE, win)
    plain = win.to_frame(decode_quadratic(torch.from_numpy(att), INPUT)[0].numpy())
    xy, conf = decode_frames(att[None], win.matrix[None], INPUT, _prior(), None)
    np.testing.assert_allclose(xy[0], plain, atol=1e-3)
    cxy, mass = candidates(att, INPUT, 5)
    np.testing.assert_allclose(conf[0], mass[:, 0], rtol=1e-5)


def test_the_prior_learns_proportions_not_sizes_and_round_trips():
    pr = _prior()
    small = PosePrior.fit(np.stack([POSE * 0.5, POSE * 0.52, POSE * 0.49]), np.ones((3, 13), bool), "pennaction")
    big = PosePrior.fit(np.stack([POSE * 2.0, POSE * 2.1, POSE * 1.9]), np.ones((3, 13), bool), "pennaction")
    np.testing.assert_allclose(small.log_mean, big.log_mean, atol=0.02)  # relative to each pose's own scale
    assert PosePrior.from_dict(json.loads(json.dumps(pr.to_dict()))) == pr
    assert pr.with_options(weight=2.0).digest() != pr.digest()
    with pytest.raises(PriorError, match="too few labeled poses"):
        PosePrior.fit(POSE[None], np.ones((1, 13), bool), "pennaction")
    with pytest.raises(PriorError, match="garbled"):
        PosePrior.from_dict({"skeleton": "pennaction"})
    with pytest.raises(PriorError, match="learned for pennaction"):
        pr.check_skeleton("jhmdb", 15)


def test_rpan_analyze_pose_prior_learns_from_the_project_and_keeps_its_poses(tmp_path, monkeypatch, capsys):
    from rpan_core.analyze import Analysis
    from rpan_core.cli import main
    from rpan_core.demo import demo_checkpoint_path
    from rpan_core.project import Project
    from rpan_core.synth import render_video, write_mp4

    monkeypatch.setenv("RPAN_CACHE_DIR", str(tmp_path / "cache"))
    sv = render_video(3, "jumping_jacks", n_frames=10, size=(120, 160))
    video = write_mp4(tmp_path / "clip.mp4", sv.frames)
    ck = str(demo_checkpoint_path())
    proj = tmp_path / "proj"
    assert main(["add", "--project", str(proj), str(video)]) == 0
    capsys.readouterr()
    # no labels yet: one line saying what to do, nothing analyzed
    assert main(["analyze", "--project", str(proj), "--checkpoint", ck, str(video), "--pose-prior"]) != 0
    assert "no labeled poses to learn a pose prior from" in capsys.readouterr().err
    with Project.open(proj) as p:
        rows = [(f, j, float(sv.xy[f, j, 0]), float(sv.xy[f, j, 1]), True, "manual")
                for f in (0, 3, 6, 9) for j in range(13)]
        p.set_labels(1, rows)
        prior = prior_from_project(p)
    assert prior.poses == 4
    out = tmp_path / "poses.json"
    assert main(["analyze", "--project", str(proj), "--checkpoint", ck, str(video), "--pose-prior",
                 "--poses-out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["pose_prior"]["digest"] == prior.digest() and summary["pose_prior"]["labeled_poses"] == 4
    assert summary["pck@0.2"]["decode"] == "pose prior"
    a = Analysis.load(summary["analysis"])
    want = with_pose_prior(a, prior)
    assert want.pose_prior == prior.digest() and (a.path / f"prior-{prior.digest()}.npz").is_file()
    xy, _ = decode_frames(a.attention, a.window, a.input_size, prior, a.dummy)
    np.testing.assert_array_equal(want.xy, xy)  # the kept poses are the decoded ones
    ann = json.loads(out.read_text())["annotations"][4]
    from rpan_core.formats.coco import keypoint_names

    head = keypoint_names("pennaction").index("head")
    assert ann["keypoints"][3 * head: 3 * head + 2] == [float(v) for v in want.xy[4, 0]]
    # the option needs the project's labels, and one stream
    assert main(["analyze", "--checkpoint", ck, str(video), "--pose-prior"]) != 0
    assert "--pose-prior learns the limb lengths from a project's labeled poses" in capsys.readouterr().err
    assert main(["analyze", "--project", str(proj), "--checkpoint", ck, "--all", "--pose-prior"]) != 0
    assert "without --all" in capsys.readouterr().err
