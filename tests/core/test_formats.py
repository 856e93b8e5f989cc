"""Dataset formats: round trips (PennAction, COCO), JHMDB import, CSV, the CLI."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from rpan_core.errors import FormatError
from rpan_core.project import Project
from rpan_core.skeleton import JHMDB, PENNACTION

H, W = 16, 20


def frames_dir(folder: Path, n: int, level: int = 0, ext: str = "png") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.full((H, W, 3), (level + 23 * i) % 250, np.uint8)
        cv2.imwrite(str(folder / f"{i + 1:05d}.{ext}"), img)
    return folder


def labeled_project(root: Path, *, full: bool = True, seed: int = 0) -> Project:
    """Two videos of 4 and 3 frames with made-up labels (every joint when ``full``)."""
    rng = np.random.default_rng(seed)
    p = Project.create(root / "proj", classes=["jump", "squat"])
    for k, (n, action, split) in enumerate([(4, "jump", "train"), (3, "squat", "test")]):
        vid = p.add_video(frames_dir(root / "videos" / f"clip{k}", n, level=40 * k), action=action, split=split)
        rows = []
        for t in range(n):
            for j in range(13):
                if not full and rng.random() < 0.3:
                    continue
                vis = bool(rng.random() > 0.2)
                x, y = float(rng.uniform(0, W - 1)), float(rng.uniform(0, H - 1))
                if not full and not vis and rng.random() < 0.3:
                    x = y = None  # labeled "not visible" without a position
                rows.append((t, j, x, y, vis, "manual"))
        p.set_labels(vid, rows)
    return p


def same_labels(a: Project, va: int, b: Project, vb: int, atol: float = 0.0) -> None:
    la, lb = a.video_labels(va), b.video_labels(vb)
    np.testing.assert_array_equal(la.frames, lb.frames)
    np.testing.assert_array_equal(la.labeled, lb.labeled)
    np.testing.assert_array_equal(la.visible, lb.visible)
    np.testing.assert_allclose(la.xy, lb.xy, atol=atol, rtol=0)  # NaN positions must match too


# ------------------------------------------------------------------ PennAction

def test_pennaction_roundtrip_made_up_project(tmp_path):
    src = labeled_project(tmp_path)
    from rpan_core.formats.pennaction import export_pennaction, import_pennaction
    out = export_pennaction(src, tmp_path / "penn")
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["0001.mat", "0002.mat"]
    assert sorted(p.name for p in (out / "frames" / "0002").iterdir()) == ["000001.jpg", "000002.jpg", "000003.jpg"]
    # the file itself, read independently: 1-based coordinates, fields and shapes of the dataset
    m = scipy.io.loadmat(out / "labels" / "0001.mat")
    lab = src.frame_labels(1, 2)
    assert m["x"].shape == (4, 13) and m["visibility"].shape == (4, 13) and m["bbox"].shape == (4, 4)
    assert m["x"][2, 5] == pytest.approx(lab[5].x + 1) and m["y"][2, 5] == pytest.approx(lab[5].y + 1)
    assert m["visibility"][2, 5] == int(lab[5].visible)
    assert str(m["action"][0]) == "jump" and int(m["train"][0, 0]) == 1 and m["dimensions"].ravel().tolist() == [H, W, 4]
    assert int(scipy.io.loadmat(out / "labels" / "0002.mat")["train"][0, 0]) == -1

    dst = Project.create(tmp_path / "back")
    ids = import_pennaction(dst, out)
    assert ids == [1, 2] and dst.classes == ["jump", "squat"]
    assert [(v.action, v.split, v.frame_count) for v in dst.videos()] == [("jump", "train", 4), ("squat", "test", 3)]
    for a, b in zip((1, 2), ids):
        same_labels(src, a, dst, b, atol=1e-9)
    assert all(lab.source == "imported" for lab in dst.frame_labels(1, 0).values())


def test_pennaction_roundtrip_of_partial_labels(tmp_path):
    """Unlabeled joints come back unlabeled-as-invisible-without-position; labeled ones are identical."""
    src = labeled_project(tmp_path, full=False, seed=5)
    from rpan_core.formats.pennaction import export_pennaction, import_pennaction
    dst = Project.create(tmp_path / "back")
    import_pennaction(dst, export_pennaction(src, tmp_path / "penn"))
    a, b = src.video_labels(1), dst.video_labels(1)
    assert b.labeled.all()  # PennAction has every joint on every frame
    fi = {f: i for i, f in enumerate(b.frames)}
    for i, f in enumerate(a.frames):
        for j in range(13):
            k = fi[f]
            if a.labeled[i, j]:
                assert a.visible[i, j] == b.visible[k, j]
                np.testing.assert_allclose(a.xy[i, j], b.xy[k, j], atol=1e-9)
            else:
                assert not b.visible[k, j] and np.isnan(b.xy[k, j]).all()


def test_pennaction_bbox_missing_last_frame_and_one_based(tmp_path):
    """A hand-written dataset file (bbox lacking the last row, as some sequences do) imports 0-based."""
    root = tmp_path / "Penn_Action"
    frames_dir(root / "frames" / "0007", 3, ext="jpg")
    (root / "labels").mkdir(parents=True)
    x = np.arange(39, dtype=float).reshape(3, 13) % W + 1
    y = np.arange(39, dtype=float).reshape(3, 13) % H + 1
    vis = np.ones((3, 13))
    vis[1, 4] = 0
    scipy.io.savemat(root / "labels" / "0007.mat", {
        "action": "tennis_serve", "pose": "front", "x": x, "y": y, "visibility": vis,
        "train": np.array([[-1]]), "bbox": np.array([[1.0, 1.0, 10.0, 10.0]] * 2),
        "dimensions": np.array([[H, W, 3]]), "nframes": np.array([[3]])})
    p = Project.create(tmp_path / "p")
    from rpan_core.formats.pennaction import import_pennaction
    (vid,) = import_pennaction(p, root)
    v = p.video(vid)
    assert (v.action, v.split) == ("tennis_serve", "test") and p.classes == ["tennis_serve"]
    lab = p.frame_labels(vid, 1)
    assert (lab[4].x, lab[4].y, lab[4].visible) == (x[1, 4] - 1, y[1, 4] - 1, False)
    assert (lab[0].x, lab[0].y, lab[0].visible) == (x[1, 0] - 1, y[1, 0] - 1, True)


def test_pennaction_frame_count_mismatch_is_refused(tmp_path):
    src = labeled_project(tmp_path)
    from rpan_core.formats.pennaction import export_pennaction, import_pennaction
    out = export_pennaction(src, tmp_path / "penn")
    (out / "frames" / "0002" / "000003.jpg").unlink()
    dst = Project.create(tmp_path / "back")
    with pytest.raises(FormatError, match=r"0002\.mat.*'nframes' is 3 but .* holds 2 frames"):
        import_pennaction(dst, out)
    assert dst.videos() == [] and dst.label_count() == 0 and dst.classes == []


def test_pennaction_wrong_skeleton(tmp_path):
    from rpan_core.formats.pennaction import import_pennaction
    p = Project.create(tmp_path / "j", skeleton="jhmdb")
    with pytest.raises(FormatError, match="pennaction skeleton but the project uses jhmdb"):
        import_pennaction(p, tmp_path)


def test_synth_pennaction_roundtrip(tmp_path):
    """synth.write_pennaction (which uses export_pennaction) -> import -> the generator's exact joints."""
    from rpan_core import synth
    from rpan_core.formats.pennaction import import_pennaction
    size = (48, 64)
    out = synth.write_pennaction(tmp_path / "penn", 2, seed=2, n_frames=4, size=size, workers=1, progress=False)
    p = Project.create(tmp_path / "p")
    ids = import_pennaction(p, out)
    plan = synth.plan(2, 2)
    for vid, (seed, action, split) in zip(ids, plan):
        truth = synth.render_video(seed, action, n_frames=4, size=size)
        la = p.video_labels(vid)
        assert p.video(vid).action == action and p.video(vid).split == ("train" if split == "train" else "test")
        np.testing.assert_array_equal(la.visible, truth.visible)
        np.testing.assert_allclose(la.xy, truth.xy, atol=1e-4)


# ------------------------------------------------------------------ JHMDB

def jhmdb_tree(root: Path, T: int = 3) -> dict[str, np.ndarray]:
    """Two clips of class 'run' (one train, one test in split 1); returns their pos_img (1-based)."""
    rng = np.random.default_rng(1)
    out = {}
    for name, level in (("clipA", 0), ("clipB", 90)):
        frames_dir(root / "Rename_Images" / "run" / name, T, level=level)
        pos = rng.uniform(1, 15, size=(2, 15, T))
        d = root / "joint_positions" / "run" / name
        d.mkdir(parents=True)
        scipy.io.savemat(d / "joint_positions.mat", {"pos_img": pos, "scale": np.ones((1, T)), "viewpoint": "E"})
        out[name] = pos
    (root / "splits").mkdir()
    (root / "splits" / "run_test_split1.txt").write_text("clipA.avi 1\nclipB.avi 2\n")
    return out


def test_jhmdb_import(tmp_path):
    from rpan_core.formats.jhmdb import import_jhmdb
    pos = jhmdb_tree(tmp_path / "JHMDB")
    p = Project.create(tmp_path / "p", skeleton="jhmdb")
    ids = import_jhmdb(p, tmp_path / "JHMDB")
    assert [(p.video(v).action, p.video(v).split) for v in ids] == [("run", "train"), ("run", "test")]
    la = p.video_labels(ids[1])
    assert la.labeled.all() and la.visible.all() and la.xy.shape == (3, 15, 2)
    np.testing.assert_allclose(la.xy, np.transpose(pos["clipB"], (2, 1, 0)) - 1, atol=1e-12)


def test_jhmdb_into_pennaction_needs_convert(tmp_path):
    from rpan_core.formats.jhmdb import import_jhmdb
    pos = jhmdb_tree(tmp_path / "JHMDB")
    p = Project.create(tmp_path / "p", skeleton="pennaction")
    with pytest.raises(FormatError, match="convert=True"):
        import_jhmdb(p, tmp_path / "JHMDB")
    ids = import_jhmdb(p, tmp_path / "JHMDB", convert=True)
    la = p.video_labels(ids[0])
    assert la.labeled.all()
    for name in ("head", "left_wrist", "right_ankle"):  # by name, independent of the mapping code
        j, k = PENNACTION.joints.index(name), JHMDB.joints.index(name)
        np.testing.assert_allclose(la.xy[:, j], pos["clipA"][:, k, :].T - 1, atol=1e-12)


def test_jhmdb_bad_split_line(tmp_path):
    from rpan_core.formats.jhmdb import import_jhmdb
    jhmdb_tree(tmp_path / "JHMDB")
    (tmp_path / "JHMDB" / "splits" / "run_test_split1.txt").write_text("clipA.avi 3\n")
    p = Project.create(tmp_path / "p", skeleton="jhmdb")
    with pytest.raises(FormatError, match=r"run_test_split1\.txt: line 1"):
        import_jhmdb(p, tmp_path / "JHMDB")
    assert p.videos() == []


# ------------------------------------------------------------------ COCO

def test_coco_roundtrip(tmp_path):
    from rpan_core.formats.coco import export_coco, import_coco
    src = labeled_project(tmp_path, full=False, seed=9)
    path = export_coco(src, tmp_path / "out" / "coco.json")
    doc = json.loads(path.read_text())
    (cat,) = doc["categories"]
    assert len(cat["keypoints"]) == 18 and cat["keypoints"][-1] == "head" and cat["keypoints"][5] == "left_shoulder"
    assert min(min(e) for e in cat["skeleton"]) == 1 and max(max(e) for e in cat["skeleton"]) <= 18
    assert len(doc["images"]) == 7 and doc["images"][0]["file_name"] == "clip0/000000.jpg"
    # one joint checked by hand: PennAction left_wrist (5) is COCO keypoint 9 (index 9)
    lab = src.frame_labels(1, 0)
    kp = doc["annotations"][0]["keypoints"]
    if 5 in lab and not math.isnan(lab[5].x):
        assert kp[27:30] == [lab[5].x, lab[5].y, 2 if lab[5].visible else 1]
    assert kp[0:3] == [0.0, 0.0, 0]  # COCO nose: PennAction has none
    dst = Project.create(tmp_path / "back")
    ids = import_coco(dst, path, images_root=tmp_path / "videos")
    assert ids == [1, 2]
    assert [(v.action, v.split) for v in dst.videos()] == [("jump", "train"), ("squat", "test")]
    for a in (1, 2):
        same_labels(src, a, dst, a)  # exact: JSON keeps float64


def test_coco_import_into_project_that_has_the_video(tmp_path):
    from rpan_core.formats.coco import export_coco, import_coco
    src = labeled_project(tmp_path)
    path = export_coco(src, tmp_path / "c.json", video_ids=[2])
    for f in src.labeled_frames(2):
        src.delete_frame_labels(2, f)
    assert import_coco(src, path) == [2]
    assert src.labeled_frames(2) == [0, 1, 2] and src.labeled_frames(1) == [0, 1, 2, 3]


def test_coco_wrong_joint_count(tmp_path):
    from rpan_core.formats.coco import export_coco, import_coco
    src = labeled_project(tmp_path)
    path = export_coco(src, tmp_path / "c.json")
    doc = json.loads(path.read_text())
    doc["annotations"][3]["keypoints"] = doc["annotations"][3]["keypoints"][:-3]
    path.write_text(json.dumps(doc))
    before = src.label_count()
    with pytest.raises(FormatError, match=r"c\.json: annotations\[3\] field 'keypoints' has 51 numbers"):
        import_coco(src, path)
    assert src.label_count() == before


# ------------------------------------------------------------------ CSV and CLI

def test_csv_export(tmp_path):
    from rpan_core.formats.csv_export import COLUMNS, export_csv
    src = labeled_project(tmp_path, full=False, seed=3)
    path = export_csv(src, tmp_path / "labels.csv")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == COLUMNS and len(rows) == src.label_count()
    for r in rows:
        lab = src.frame_labels(int(r["video_id"]), int(r["frame"]))[int(r["joint"])]
        assert r["joint_name"] == PENNACTION.joints[int(r["joint"])] and r["source"] == "manual"
        assert int(r["visible"]) == lab.visible
        assert (float(r["x"]) == lab.x) if r["x"] else math.isnan(lab.x)
    assert rows[0]["video"] == "clip0"


def test_cli_import_export(tmp_path, capsys):
    from rpan_core.cli import main
    src = labeled_project(tmp_path)
    src.close()
    assert main(["export", "--format", "pennaction", "--project", str(tmp_path / "proj"),
                 "--out", str(tmp_path / "penn")]) == 0
    assert main(["import", "--format", "pennaction", str(tmp_path / "penn"), "--project", str(tmp_path / "new")]) == 0
    assert "imported 2 videos (91 joint labels)" in capsys.readouterr().out
    assert main(["export", "--format", "coco", "--project", str(tmp_path / "new"), "--out", str(tmp_path / "c.json")]) == 0
    assert main(["export", "--format", "csv", "--project", str(tmp_path / "new"), "--out", str(tmp_path / "l.csv")]) == 0
    assert len((tmp_path / "l.csv").read_text().splitlines()) == 92
    assert main(["import", "--format", "jhmdb", str(tmp_path / "penn"), "--project", str(tmp_path / "new")]) == 1
    assert "jhmdb skeleton" in capsys.readouterr().err
    # a failed import into a project the command created leaves no project behind
    assert main(["import", "--format", "jhmdb", str(tmp_path / "penn"), "--project", str(tmp_path / "fresh")]) == 1
    assert not (tmp_path / "fresh").exists()
