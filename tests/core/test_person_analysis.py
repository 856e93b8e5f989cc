"""Per-person analysis on crops: crops and chains against a direct forward pass, box sources and
propagation, the cache per person / checkpoint / boxes, a project's persons, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rpan_core.crops import MARGIN
from rpan_core.errors import ConfigError, ProjectError
from rpan_core.geometry import Window
from rpan_core.person_analysis import (BOX_GIVEN, BOX_HELD, BOX_PROPAGATED, BOX_USER, NoPersonBox, PersonAnalysis,
                                       analyze_person, analyze_persons, analyze_project_person)
from rpan_core.synth import write_mp4
from rpan_core.synth_scene import render_scene
from rpan_core.targets import decode_quadratic, decode_refined
from rpan_core.video import open_video

N = 11
STRIDE = 3
IN = (64, 48)


def _checkpoint(path, framing: str = "squash"):
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.model import RPAN, RPANConfig

    torch.manual_seed(0)
    model = RPAN(RPANConfig(num_classes=3, input_size=IN, hidden=16, framing=framing)).eval()
    save_checkpoint(path, model, classes=["a", "b", "c"], train_config={"stride": STRIDE, "clip_len": 4}, metrics={})
    return model


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("ap")
    scene = render_scene(5, "squat", 2, n_frames=N, size=(96, 128))
    path = write_mp4(root / "scene.mp4", scene.frames)
    model = _checkpoint(root / "ck.pt")
    with open_video(path) as v:
        frames = np.stack(list(v.frames()))
    return scene, path, model, root / "ck.pt", frames


def test_crops_and_chains_match_a_direct_forward_pass(setup, tmp_path):
    scene, path, model, ck, frames = setup
    boxes = scene.bbox[:, 1].astype(np.float64)
    a = analyze_person(path, ck, boxes, person=2, cache_dir=tmp_path, batch=4)  # blocks of steps, not one
    assert isinstance(a, PersonAnalysis) and a.num_frames == N and a.stride == STRIDE and a.person == 2
    assert (np.asarray(a.box_origin) == BOX_GIVEN).all() and tuple(a.input_size) == IN
    wins = [Window.around_box(b, IN, margin=MARGIN) for b in boxes]  # the one crop geometry
    np.testing.assert_allclose(a.window, np.stack([w.matrix for w in wins]), rtol=1e-6, atol=1e-4)
    crops = np.stack([w.warp(f) for w, f in zip(wins, frames)])
    with torch.no_grad():
        for r in range(STRIDE):  # chain r reads frames r, r+s, ... as one clip
            out = model(model.preprocess(crops[r::STRIDE][None]))
            np.testing.assert_allclose(a.attention[r::STRIDE], out.attention[0].numpy(), atol=2e-3)
            np.testing.assert_allclose(a.probs[r::STRIDE], torch.softmax(out.logits[0], -1).numpy(), atol=1e-4)
    xy_in, _ = decode_refined(torch.as_tensor(np.asarray(a.attention, np.float32)), IN)
    back = np.stack([w.to_frame(p) for w, p in zip(wins, xy_in.numpy())])
    np.testing.assert_allclose(a.xy, back, atol=0.05)  # poses in frame pixels
    fb = np.stack([w.frame_box() for w in wins])
    assert ((a.xy >= fb[:, None, :2] - 1e-3) & (a.xy <= fb[:, None, 2:] + 1e-3)).all()  # inside each crop
    one = analyze_person(path, ck, boxes, person=2, cache_dir=tmp_path / "one", batch=1)  # one step at a time
    np.testing.assert_allclose(one.attention, a.attention, atol=2e-3)


def test_a_person_framing_model_runs_one_chain_frame_by_frame(setup, tmp_path):
    scene, path, _, _, frames = setup
    model = _checkpoint(tmp_path / "person.pt", framing="person")
    boxes = scene.bbox[:, 0].astype(np.float64)
    a = analyze_person(path, tmp_path / "person.pt", boxes, cache_dir=tmp_path)
    assert a.stride == 1
    wins = [Window.around_box(b, IN, margin=MARGIN) for b in boxes]
    with torch.no_grad():
        out = model(model.preprocess(np.stack([w.warp(f) for w, f in zip(wins, frames)])[None]))
    np.testing.assert_allclose(a.attention, out.attention[0].numpy(), atol=2e-3)
    xy_in, _ = decode_quadratic(out.attention[0], IN)
    np.testing.assert_allclose(a.xy, np.stack([w.to_frame(p) for w, p in zip(wins, xy_in.numpy())]), atol=0.05)


def test_boxes_propagate_from_the_latest_reading(setup, tmp_path, monkeypatch):
    scene, path, _, ck, _ = setup
    first = np.full((N, 4), np.nan)
    first[0] = scene.bbox[0, 0]
    a = analyze_person(path, ck, first, cache_dir=tmp_path)
    origin = np.asarray(a.box_origin)
    assert origin[0] == BOX_GIVEN and origin[1:STRIDE].tolist() == [BOX_HELD] * (STRIDE - 1)  # nothing read yet
    assert set(origin[STRIDE:].tolist()) <= {BOX_PROPAGATED, BOX_HELD}
    used = np.asarray(a.boxes)
    assert np.isfinite(used).all()
    for t in range(1, -(-N // STRIDE)):  # one box per step, from the step before
        step = used[t * STRIDE:(t + 1) * STRIDE]
        assert (step == step[0]).all()

    # a reading that places its joints gives the next step's box; a lost one holds the last box
    from rpan_core import person_analysis

    calls = []

    def fake_next(old, xy, dummy, conf, hw):
        calls.append(old.copy())
        return None if len(calls) % 2 == 0 else old + 1.0

    monkeypatch.setattr(person_analysis, "next_box", fake_next)
    b = analyze_person(path, ck, first, cache_dir=tmp_path / "fake")
    o, u = np.asarray(b.box_origin), np.asarray(b.boxes)
    assert o[STRIDE] == BOX_PROPAGATED and np.allclose(u[STRIDE], first[0] + 1.0)  # after step 0: moved
    assert o[2 * STRIDE] == BOX_HELD and np.allclose(u[2 * STRIDE], u[STRIDE])  # step 1 lost: held
    assert o[3 * STRIDE] == BOX_PROPAGATED and np.allclose(u[3 * STRIDE], u[2 * STRIDE] + 1.0)


def test_before_the_first_known_box_the_first_box_is_held(setup, tmp_path):
    scene, path, _, ck, _ = setup
    late = np.full((N, 4), np.nan)
    late[7] = scene.bbox[7, 1]
    a = analyze_person(path, ck, late, cache_dir=tmp_path)
    o, u = np.asarray(a.box_origin), np.asarray(a.boxes)
    assert o[0] == BOX_HELD and np.allclose(u[0], late[7]) and o[7] in (BOX_GIVEN,)


def test_cached_per_person_checkpoint_and_boxes(setup, tmp_path):
    scene, path, _, ck, _ = setup
    b0, b1 = scene.bbox[:, 0].astype(float), scene.bbox[:, 1].astype(float)
    a = analyze_person(path, ck, b0, person=1, cache_dir=tmp_path)
    assert not a.from_cache
    again = analyze_person(path, ck, b0, person=1, cache_dir=tmp_path)
    assert again.from_cache and again.path == a.path
    other = analyze_person(path, ck, b1, person=2, cache_dir=tmp_path)
    assert not other.from_cache and other.path != a.path
    moved = b0.copy()
    moved[4] += 3.0  # one box of one frame moved: a different entry
    m = analyze_person(path, ck, moved, person=1, cache_dir=tmp_path)
    assert not m.from_cache and m.path != a.path
    with torch.no_grad():
        from rpan_core.checkpoint import load_checkpoint, save_checkpoint

        model2, info = load_checkpoint(ck)
        for prm in model2.parameters():
            prm.add_(0.01)
        save_checkpoint(tmp_path / "ck2.pt", model2, classes=info.classes, train_config={"stride": STRIDE})
    c2 = analyze_person(path, tmp_path / "ck2.pt", b0, person=1, cache_dir=tmp_path)
    assert not c2.from_cache and c2.path != a.path
    want = np.array(again.boxes)
    w = np.load(a.path / "boxes.npy")
    w[0, 0] += 1.0
    np.save(a.path / "boxes.npy", w)  # same-size damage to a person array
    fresh = analyze_person(path, ck, b0, person=1, cache_dir=tmp_path)
    assert not fresh.from_cache
    np.testing.assert_array_equal(np.asarray(fresh.boxes), want)  # recomputed, not served


def test_bad_or_missing_boxes_are_refused(setup, tmp_path):
    scene, path, _, ck, _ = setup
    with pytest.raises(ConfigError, match="one per frame"):
        analyze_person(path, ck, np.zeros((3, 4)), cache_dir=tmp_path)
    bad = scene.bbox[:, 0].astype(float)
    bad[2, 2] = bad[2, 0] - 1
    with pytest.raises(ConfigError, match="x1 > x0"):
        analyze_person(path, ck, bad, cache_dir=tmp_path)
    with pytest.raises(NoPersonBox, match="no box on any frame"):
        analyze_person(path, ck, np.full((N, 4), np.nan), cache_dir=tmp_path)


@pytest.fixture()
def project(tmp_path):
    from rpan_core import synth

    p = synth.make_project(tmp_path / "p", 1, seed=3, n_frames=7, size=(96, 128), workers=1, progress=False,
                           persons=3)
    ck = tmp_path / "ck.pt"
    _checkpoint(ck)
    yield p, p.videos()[0].id, ck
    p.close()


def test_a_project_person_takes_its_boxes_then_the_users(project):
    p, vid, ck = project
    assert analyze_project_person(p, vid, ck, 2, cached_only=True) is None  # nothing computed
    a2 = analyze_project_person(p, vid, ck, 2)
    assert analyze_project_person(p, vid, ck, 2, cached_only=True).path == a2.path
    np.testing.assert_allclose(a2.boxes, p.person_boxes(vid, 2, margin=0.0))
    assert (np.asarray(a2.box_origin) == BOX_GIVEN).all()
    assert analyze_project_person(p, vid, ck, 2).from_cache  # cached under the project's analyses/
    assert str(a2.path).startswith(str(p.analyses_dir))
    p.set_box(vid, 3, [10, 10, 40, 80], person=2)  # a box keyframe changes its boxes: analyzed again
    moved = analyze_project_person(p, vid, ck, 2)
    assert not moved.from_cache and np.allclose(moved.boxes[3], [10, 10, 40, 80])
    bare = p.add_person(vid, "nobody")
    with pytest.raises(NoPersonBox, match="nobody .* no box on any frame"):
        analyze_project_person(p, vid, ck, bare)
    u = analyze_project_person(p, vid, ck, bare, box=[20, 10, 60, 90], box_frame=2)
    o = np.asarray(u.box_origin)
    assert o[2] == BOX_USER and o[0] == BOX_HELD and set(o[3:].tolist()) <= {BOX_PROPAGATED, BOX_HELD}
    with pytest.raises(ProjectError, match="no person 9"):
        analyze_project_person(p, vid, ck, 9)


def test_every_person_of_a_video(project):
    p, vid, ck = project
    seen = []
    got = analyze_persons(p, vid, ck, progress=lambda d, t: seen.append((d, t)))
    assert sorted(got) == [1, 2, 3] and all(a.person == k for k, a in got.items())
    assert seen[-1] == (21, 21) and all(t == 21 for _, t in seen)
    xs = [float(np.nanmean(np.asarray(a.xy)[:, :, 0])) for a in got.values()]
    assert len({round(x) for x in xs}) == 3  # three different people, read in three places
    p.add_person(vid, "nobody")  # without a box: skipped when analyzing all
    assert sorted(analyze_persons(p, vid, ck)) == [1, 2, 3]


def test_cli_person_all_and_poses_out_with_track_ids(project, tmp_path, capsys):
    import json

    from rpan_core.cli import main
    from rpan_core.formats.coco import import_coco

    p, vid, ck = project
    folder, video = str(p.folder), p.video(vid).path
    assert main(["analyze", "--project", folder, "--video", video, "--checkpoint", str(ck), "--person", "2",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (row,) = out["persons"]
    assert row["person"] == 2 and row["frames"] == 7 and row["boxes"]["given"] == 7
    assert 0.0 <= row["pck@0.2"]["refined"]["mean"] <= 1.0 and "person2" in row["analysis"]
    poses = tmp_path / "poses.json"
    assert main(["analyze", "--project", folder, "--video", str(vid), "--checkpoint", str(ck), "--person", "all",
                 "--poses-out", str(poses)]) == 0
    text = capsys.readouterr().out
    assert "person 2): cached 7 frames" in text and "person 3): analyzed" in text
    doc = json.loads(poses.read_text())
    assert len(doc["images"]) == 7 and len(doc["annotations"]) == 21
    assert sorted({a["track_id"] for a in doc["annotations"]}) == [1, 2, 3]
    assert all(a["person_name"] == f"person {a['track_id']}" for a in doc["annotations"])
    from rpan_core.project import Project

    with Project.create(tmp_path / "back", skeleton=p.skeleton.name) as q:  # the poses read back as 3 persons
        q.add_video(video)
        import_coco(q, poses)
        v2 = q.videos()[0].id
        assert [r.id for r in q.persons(v2)] == [1, 2, 3] and q.label_count(v2, person=3) > 0
        assert len(q.box_keyframes(v2, 2).frames) == 0  # a pose's extent is not a drawn box


def test_cli_person_errors_are_one_line(project, capsys):
    from rpan_core.cli import main

    p, vid, ck = project
    folder, video = str(p.folder), p.video(vid).path
    bare = p.add_person(vid, "nobody")
    cases = [(["--person", "5"], "no person 5"),
             (["--person", str(bare)], "no box on any frame"),
             (["--person", "x"], "person's id"),
             (["--person", "1", "--person", "all"], "give it alone"),
             (["--person", "all", "--box", "1,2,3,4"], "single --person"),
             (["--person", str(bare), "--box", "1,2,3"], "X0,Y0,X1,Y1"),
             (["--box", "1,2,3,4"], "--person N")]
    for extra, msg in cases:
        assert main(["analyze", video, "--project", folder, "--checkpoint", str(ck), *extra]) == 1
        err = capsys.readouterr().err.strip()
        assert msg in err and len(err.splitlines()) == 1, (extra, err)
    assert main(["analyze", video, "--checkpoint", str(ck), "--person", "1"]) == 1
    assert "--project" in capsys.readouterr().err
    assert main(["analyze", video, "--project", folder, "--checkpoint", str(ck), "--person", str(bare),
                 "--box", "20,10,60,90@2", "--json"]) == 0
    assert '"user": 1' in capsys.readouterr().out


def test_analyze_all_reads_a_video_of_several_persons_per_person(project, capsys):
    """`rpan analyze --project P --all`: one row per person of a crowded video, each the same reading (the same
    cache entry) as `--person N`; a person without any box is skipped with what to do, not a failure."""
    import argparse

    from rpan_core.analyze import cli_main, configure_parser
    from rpan_core.analyze_all import analyze_project

    p, vid, ck = project
    bare = p.add_person(vid, "nobody")
    rows = analyze_project(p, ck)
    assert [(r["video_id"], r["person"], r["status"]) for r in rows] == \
        [(vid, 1, "analyzed"), (vid, 2, "analyzed"), (vid, 3, "analyzed"), (vid, bare, "skipped")]
    assert "nobody" in rows[3]["error"] and "draw its box" in rows[3]["error"]
    for r in rows[:3]:
        same = analyze_project_person(p, vid, ck, r["person"], cached_only=True)
        assert same is not None and str(same.path) == r["analysis"]
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args = parser.parse_args(["--project", str(p.folder), "--checkpoint", str(ck), "--all", "--device", "cpu"])
    assert cli_main(args) == 0  # a skipped person is no failure
    table = capsys.readouterr().out
    assert "#2" in table and "1 video (4 person readings): 0 analyzed (0 frames), 3 cached, 1 skipped (no box)" \
        in table
