"""Formats with several persons per frame: COCO round trip (persons, boxes, joints), CSV, refusals."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from rpan_core import synth
from rpan_core.errors import FormatError
from rpan_core.formats.coco import export_coco, import_coco, keypoint_names
from rpan_core.project import Project
from tests.core.test_project import frames_dir

SIZE = (96, 128)


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """A synthetic project of 2 videos with 3 persons each, labeled from the renderer (joints and boxes)."""
    p = synth.make_project(tmp_path_factory.mktemp("three") / "src", 2, seed=2, n_frames=5, size=SIZE, workers=1,
                           progress=False, persons=3)
    p.rename_person(1, 2, "Ann")
    yield p
    p.close()


def _same_persons(a: Project, va: int, b: Project, vb: int) -> None:
    assert [(q.id, q.name) for q in a.persons(va)] == [(q.id, q.name) for q in b.persons(vb)]
    for q in a.persons(va):
        la, lb = a.video_labels(va, q.id), b.video_labels(vb, q.id)
        assert la.frames.tolist() == lb.frames.tolist()
        np.testing.assert_array_equal(la.xy, lb.xy)
        np.testing.assert_array_equal(la.visible, lb.visible)
        np.testing.assert_array_equal(la.labeled, lb.labeled)
        ka, kb = a.box_keyframes(va, q.id), b.box_keyframes(vb, q.id)
        assert ka.frames.tolist() == kb.frames.tolist()
        np.testing.assert_allclose(ka.boxes, kb.boxes, rtol=0, atol=1e-9)


def test_three_person_coco_round_trip(three, tmp_path):
    path = export_coco(three, tmp_path / "coco.json")
    doc = json.loads(path.read_text())
    assert len(doc["images"]) == 2 * 5 and len(doc["annotations"]) == 2 * 5 * 3
    ann = doc["annotations"][1]
    assert ann["track_id"] == 2 and ann["person_name"] == "Ann" and "box_from_joints" not in ann
    box = three.frame_box(1, 0, person=2)
    assert ann["bbox"] == pytest.approx([box[0], box[1], box[2] - box[0], box[3] - box[1]])
    dst = Project.create(tmp_path / "dst", classes=synth.ACTIONS)
    for v in three.videos():
        dst.add_video(v.path)
    assert import_coco(dst, path) == [1, 2]
    for v in three.videos():
        _same_persons(three, v.id, dst, v.id)
        for f in range(5):  # the person count of every frame is kept
            assert sum(bool(dst.frame_labels(v.id, f, person=q.id)) for q in dst.persons(v.id)) == 3
    assert dst.label_count() == three.label_count() == 2 * 5 * 3 * 13
    assert [v.action for v in dst.videos()] == [v.action for v in three.videos()]
    dst.close()


def test_csv_has_a_person_column(three, tmp_path):
    from rpan_core.formats.csv_export import COLUMNS, export_csv

    path = export_csv(three, tmp_path / "l.csv")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert "person" in COLUMNS and len(rows) == three.label_count()
    assert {r["person"] for r in rows} == {"1", "2", "3"}
    for r in rows[:60]:
        lab = three.frame_labels(int(r["video_id"]), int(r["frame"]), person=int(r["person"]))[int(r["joint"])]
        assert float(r["x"]) == lab.x and int(r["visible"]) == lab.visible
    keys = [(int(r["video_id"]), int(r["frame"]), int(r["person"]), int(r["joint"])) for r in rows]
    assert keys == sorted(keys)


def test_pennaction_export_refuses_several_persons(three, tmp_path):
    from rpan_core.formats.pennaction import export_pennaction

    with pytest.raises(FormatError, match="one person per video.*3 persons"):
        export_pennaction(three, tmp_path / "pa")
    assert not (tmp_path / "pa" / "labels").exists()


# ------------------------------------------------------------------ files from other tools

def _doc(anns_per_image: list[list[dict]]) -> dict:
    names = keypoint_names("pennaction")
    images, anns = [], []
    for i, group in enumerate(anns_per_image):
        images.append({"id": i + 1, "file_name": f"vid/{i:06d}.jpg", "width": 16, "height": 12})
        for a in group:
            kp = []
            for k in range(len(names)):
                kp += [float(a.get("x", 1)), float(a.get("y", 1) + k % 3), 2]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1, "keypoints": kp,
                         "bbox": a.get("bbox", [0.0, 0.0, 5.0, 6.0]), **a.get("extra", {})})
    return {"images": images, "annotations": anns,
            "categories": [{"id": 1, "name": "person", "keypoints": names}]}


@pytest.fixture
def target(tmp_path):
    p = Project.create(tmp_path / "p")
    frames_dir(tmp_path / "vid", n=4, size=(12, 16))
    yield p
    p.close()


def _import(p, tmp_path, doc):
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(doc))
    return import_coco(p, path, images_root=tmp_path)


def test_without_track_ids_each_annotation_is_a_person(target, tmp_path):
    doc = _doc([[{"x": 1}, {"x": 5}], [{"x": 2}], [{"x": 3}, {"x": 6}, {"x": 9, "extra": {"iscrowd": 1}}]])
    (vid,) = _import(target, tmp_path, doc)
    assert [q.id for q in target.persons(vid)] == [1, 2]
    assert [target.frame_labels(vid, 0, person=q)[0].x for q in (1, 2)] == [1.0, 5.0]
    assert target.frame_labels(vid, 1, person=2) == {} and len(target.frame_labels(vid, 2, person=2)) == 13
    assert target.frame_box(vid, 0, person=2).tolist() == [0, 0, 5, 6]


def test_track_ids_are_kept_and_shifted_from_zero(target, tmp_path):
    doc = _doc([[{"x": 1, "extra": {"track_id": 0}}, {"x": 5, "extra": {"attributes": {"track_id": 4}}}],
                [{"x": 7, "extra": {"track_id": 4}}]])
    (vid,) = _import(target, tmp_path, doc)
    assert [(q.id, q.name) for q in target.persons(vid)] == [(1, "track 0"), (5, "track 4")]
    assert target.frame_labels(vid, 1, person=5)[0].x == 7.0 and target.frame_labels(vid, 1, person=1) == {}


@pytest.mark.parametrize("groups, msg", [
    ([[{"extra": {"track_id": 1}}, {}]], "with and without 'track_id'"),
    ([[{"extra": {"track_id": 2}}, {"extra": {"track_id": 2}}]], "2 is given twice on image 1"),
    ([[{"extra": {"track_id": "a"}}]], "track_id' must be a whole number"),
    ([[{"extra": {"person_name": ""}}]], "person_name' must be a one-line name"),
    ([[{"bbox": [0.0, 0.0, -1.0, 2.0]}]], "negative width"),
])
def test_person_refusals_change_nothing(target, tmp_path, groups, msg):
    with pytest.raises(FormatError, match=msg):
        _import(target, tmp_path, _doc(groups))
    assert target.videos() == [] and target.label_count() == 0
