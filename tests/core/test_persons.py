"""Persons in the store: the v3 -> current migration, several persons per video, boxes, swaps."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from rpan_core.errors import ProjectError
from rpan_core.persons import box_track, interpolate_boxes, pose_box
from rpan_core.project import DB_NAME, SCHEMA_VERSION, FrameState, LabelSource, Project
from tests.core.test_project import frames_dir

FIXTURE = Path(__file__).parent / "data" / "project_v3.sql"


def _v3_labels(sql: str) -> dict[tuple[int, int, int], tuple]:
    """(video, frame, joint) -> (x, y, visible, source) straight from the fixture's INSERT lines."""
    out = {}
    for m in re.finditer(r'INSERT INTO "labels" VALUES\(([^)]*)\);', sql):
        v, f, j, x, y, vis, src, _ts = m.group(1).split(",")
        out[(int(v), int(f), int(j))] = (None if x == "NULL" else float(x), None if y == "NULL" else float(y),
                                         bool(int(vis)), int(src))
    return out


@pytest.fixture
def old_project(tmp_path):
    """The v3 fixture written back to a project folder (as the version before persons left it)."""
    folder = tmp_path / "old"
    folder.mkdir()
    sql = FIXTURE.read_text()
    db = sqlite3.connect(folder / DB_NAME)
    db.executescript(sql)
    db.close()
    return folder, _v3_labels(sql)


def test_v3_project_opens_with_every_label_as_person_1(old_project):
    folder, expected = old_project
    assert len(expected) == 53
    db = sqlite3.connect(folder / DB_NAME)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    db.close()
    p = Project.open(folder)
    assert p.schema_version == SCHEMA_VERSION >= 4  # later migrations (v5: predictions) run too
    assert p.label_count() == len(expected)
    codes = {s.code: s for s in LabelSource}
    for vid in (1, 2):
        assert [(q.id, q.name) for q in p.persons(vid)] == [(1, "person 1")]
    for (v, f, j), (x, y, vis, src) in expected.items():
        lab = p.frame_labels(v, f)[j]  # person defaults to 1
        assert lab == p.frame_labels(v, f, person=1)[j]
        assert lab.visible == vis and lab.source == codes[src]
        assert (np.isnan(lab.x) if x is None else lab.x == x) and (np.isnan(lab.y) if y is None else lab.y == y)
    arr = p.video_labels(1)
    assert arr.frames.tolist() == [0, 2, 3, 5] and int(arr.labeled.sum()) == 40
    assert p.frame_states(1).tolist() == [FrameState.MANUAL, 0, FrameState.MANUAL, FrameState.MANUAL, 0,
                                          FrameState.MANUAL]
    assert p.labeled_frames(2) == [1] and p.videos()[1].split == "val" and p.runs()[0].config["epochs"] == 2
    # the migrated store takes the new writes
    p2 = p.add_person(1, "second")
    p.set_label(1, 0, 0, 5.0, 6.0, person=p2)
    assert p.frame_labels(1, 0, person=p2)[0].x == 5.0 and p.frame_labels(1, 0)[0].x == expected[(1, 0, 0)][0]
    assert p.integrity_check() == "ok"
    assert p._q("PRAGMA foreign_key_check") == []
    p.close()
    again = Project.open(folder)  # opening twice migrates once
    assert again.label_count() == len(expected) + 1 and again.schema_version == SCHEMA_VERSION
    again.close()


@pytest.fixture
def proj(tmp_path):
    p = Project.create(tmp_path / "p", skeleton="pennaction", classes=["jump"])
    vid = p.add_video(frames_dir(tmp_path / "p" / "clip", n=10))
    yield p, vid
    p.close()


def test_new_video_has_person_1_and_persons_are_separate(proj):
    p, vid = proj
    assert [q.id for q in p.persons(vid)] == [1]
    b = p.add_person(vid, "Bob")
    c = p.add_person(vid)
    assert (b, c) == (2, 3) and p.person(vid, 3).name == "person 3"
    p.set_labels(vid, [(f, 0, 1.0, 2.0, True, "manual") for f in (1, 2)])
    p.set_labels(vid, [(2, 0, 7.0, 8.0, True, "accepted"), (4, 1, 3.0, 3.0, False, "accepted")], person=b)
    assert p.frame_labels(vid, 2)[0].x == 1.0 and p.frame_labels(vid, 2, person=b)[0].x == 7.0
    assert p.labeled_frames(vid) == [1, 2] and p.labeled_frames(vid, person=b) == [2, 4]
    assert p.labeled_frames(vid, person=None) == [1, 2, 4]
    assert p.frame_states(vid)[[1, 2, 4]].tolist() == [FrameState.MANUAL, FrameState.MANUAL, 0]
    assert p.frame_states(vid, person=b)[[1, 2, 4]].tolist() == [0, FrameState.ACCEPTED, FrameState.ACCEPTED]
    assert p.frame_states(vid, person=None)[[1, 2, 4]].tolist() == [FrameState.MANUAL] * 2 + [FrameState.ACCEPTED]
    assert p.label_count(vid) == 4 and p.label_count(vid, person=b) == 2
    assert p.video_labels(vid, person=c).frames.size == 0
    p.delete_frame_labels(vid, 2)  # person 1 only
    assert p.frame_labels(vid, 2) == {} and p.frame_labels(vid, 2, person=b)
    assert p.frame_states(vid, person=b)[2] == FrameState.ACCEPTED and p.frame_states(vid)[2] == 0
    p.delete_frame_labels(vid, 4, person=None)
    assert p.labeled_frames(vid, person=None) == [1, 2]
    p.rename_person(vid, b, "Robert")
    assert p.person(vid, b).name == "Robert"
    with pytest.raises(ProjectError, match="already has a person 2"):
        p.add_person(vid, person_id=2)
    with pytest.raises(ProjectError, match="one non-empty line"):
        p.rename_person(vid, b, "  ")
    with pytest.raises(ProjectError, match="no person 9"):
        p.rename_person(vid, 9, "x")
    with pytest.raises(ProjectError, match="start at 1"):
        p.set_label(vid, 0, 0, 1.0, 1.0, person=0)


def test_delete_and_restore_person_is_exact(proj):
    p, vid = proj
    b = p.add_person(vid, "Bob")
    p.set_labels(vid, [(f, j, f + j, 2.0 * j, j % 2 == 0, "corrected") for f in (0, 3) for j in range(13)], person=b)
    p.set_box(vid, 3, [1, 2, 30, 40], person=b)
    p.set_predictions(vid, [1, 2], np.full((2, 13, 2), 4.5), np.ones((2, 13), bool), np.full((2, 13), 0.7),
                      "propagate", person=b)
    before = p.person_data(vid, b)
    assert len(before.predictions) == 26
    states = p.frame_states(vid, person=b).tolist()
    gone = p.delete_person(vid, b)
    assert gone == before and [q.id for q in p.persons(vid)] == [1]
    assert p.label_count(vid) == 0 and p.box_keyframes(vid, b).frames.size == 0
    assert p.frame_states(vid, person=b).tolist() == [0] * 10
    assert p.prediction_count(vid, person=b) == 0
    p.restore_person(gone)
    assert p.person_data(vid, b) == before and p.frame_states(vid, person=b).tolist() == states
    assert p.frame_predictions(vid, 2, person=b)[0].x == 4.5
    with pytest.raises(ProjectError, match="already has a person"):
        p.restore_person(gone)


def test_swap_from_a_frame_onwards(proj):
    p, vid = proj
    b = p.add_person(vid, "Bob")
    for f in range(10):
        p.set_label(vid, f, 0, 10.0 + f, 0.0)
        p.set_label(vid, f, 0, 100.0 + f, 0.0, person=b)
        p.set_box(vid, f, [f, 0, f + 10, 10])
        p.set_box(vid, f, [f + 100, 0, f + 110, 10], person=b)
    before1, before2 = p.person_data(vid, 1), p.person_data(vid, b)
    rec = p.swap_persons(vid, 1, b, from_frame=6)
    assert rec.moved == 16 and rec.pinned == ()  # box keyframes on 5 and 6 already: nothing to pin
    x1 = p.video_labels(vid).xy[:, 0, 0].tolist()
    assert x1 == [10, 11, 12, 13, 14, 15, 106, 107, 108, 109]
    assert p.box_keyframes(vid, b).boxes[:, 0].tolist() == [100, 101, 102, 103, 104, 105, 6, 7, 8, 9]
    p.undo_swap(rec)
    assert p.person_data(vid, 1) == before1 and p.person_data(vid, b) == before2
    with pytest.raises(ProjectError, match="itself"):
        p.swap_persons(vid, b, b)
    with pytest.raises(ProjectError, match="no person 5"):
        p.swap_persons(vid, 1, 5)


def test_a_swap_pins_the_boxes_at_the_swap_frame_and_undoes_exactly(proj):
    """Box keyframes on both sides of the swap frame: after the swap each person's box jumps at the swap
    frame instead of sliding from one person to the other over the frames between."""
    p, vid = proj
    b = p.add_person(vid, "Bob")
    p.set_boxes(vid, [(1, 0, 0, 10, 20), (9, 80, 0, 90, 20)])  # person 1 walks right
    p.set_boxes(vid, [(1, 200, 0, 210, 20), (9, 120, 0, 130, 20)], person=b)  # Bob walks left
    before1, before2 = p.person_data(vid, 1), p.person_data(vid, b)
    t1, t2 = p.person_boxes(vid, 1), p.person_boxes(vid, b)
    rec = p.swap_persons(vid, 1, b, from_frame=5)
    assert sorted(rec.pinned) == [(1, 4), (1, 5), (b, 4), (b, 5)]
    n1, n2 = p.person_boxes(vid, 1), p.person_boxes(vid, b)
    np.testing.assert_allclose(n1[:5], t1[:5])  # before the swap frame: unchanged
    np.testing.assert_allclose(n1[5:], t2[5:])  # from it on: exactly the other person's box
    np.testing.assert_allclose(n2[:5], t2[:5])
    np.testing.assert_allclose(n2[5:], t1[5:])
    p.undo_swap(rec)
    assert p.person_data(vid, 1) == before1 and p.person_data(vid, b) == before2
    np.testing.assert_array_equal(p.person_boxes(vid, 1), t1)
    # boxes made from poses alone are not pinned (they follow the labels as they swap)
    c = p.add_person(vid, "Cy")
    for f in (0, 9):
        p.set_label(vid, f, 0, 5.0 + f, 5.0, person=c)
        p.set_label(vid, f, 1, 15.0 + f, 25.0, person=c)
    d = p.add_person(vid, "Di")
    p.set_label(vid, 3, 0, 50.0, 5.0, person=d)
    p.set_label(vid, 3, 1, 60.0, 25.0, person=d)
    assert p.swap_persons(vid, c, d, from_frame=5).pinned == ()
    # the swap and its pins are one transaction: a failure after the pins leaves nothing pinned
    def boom(*args):
        raise ProjectError("disk gone")

    p._swap_rows = boom
    with pytest.raises(ProjectError, match="disk gone"):
        p.swap_persons(vid, 1, b, from_frame=5)
    del p._swap_rows
    assert p.person_data(vid, 1) == before1 and p.person_data(vid, b) == before2


def test_boxes_keyframes_interpolation_and_refusals(proj):
    p, vid = proj
    p.set_boxes(vid, [(2, 0, 0, 10, 20), (6, 40, 0, 50, 20, "imported")])
    keys = p.box_keyframes(vid)
    assert keys.frames.tolist() == [2, 6] and keys.source.tolist() == [3, 4]
    track = p.person_boxes(vid)
    assert track.shape == (10, 4)
    assert track[4].tolist() == [20, 0, 30, 20] and track[0].tolist() == [0, 0, 10, 20]
    assert track[9].tolist() == [40, 0, 50, 20]
    assert p.frame_box(vid, 6).tolist() == [40, 0, 50, 20] and p.frame_box(vid, 5) is None
    assert p.delete_box(vid, 6) and not p.delete_box(vid, 6)
    for bad, msg in [((0, 5, 0, 5, 10), "x1 > x0"), ((0, 0, 0, float("nan"), 1), "finite"),
                     ((99, 0, 0, 1, 1), "outside video"), ((0, 0, 0), "a box row"),
                     ((0.5, 0, 0, 1, 1), "integer frame")]:
        with pytest.raises(ProjectError, match=msg):
            p.set_boxes(vid, [(1, 0, 0, 1, 1), bad])
    assert p.box_keyframes(vid).frames.tolist() == [2]  # a bad batch writes nothing
    # no box keyframes: the pose's extent
    b = p.add_person(vid)
    p.set_labels(vid, [(0, 0, 10.0, 10.0, True, "manual"), (0, 1, 20.0, 30.0, True, "manual"),
                       (4, 0, 30.0, 10.0, True, "manual"), (4, 1, 40.0, 30.0, True, "manual")], person=b)
    track = p.person_boxes(vid, b, margin=0.0)
    assert track[0].tolist() == [10, 10, 20, 30] and track[2].tolist() == [20, 10, 30, 30]
    assert np.isnan(p.person_boxes(vid, p.add_person(vid))).all()


def test_box_helpers():
    xy = np.array([[0.0, 0.0], [10.0, 20.0], [np.nan, np.nan], [100.0, 100.0]])
    assert pose_box(xy, np.array([True, True, True, False]), margin=0.5).tolist() == [-5, -10, 15, 30]
    assert pose_box(xy, np.array([True, False, False, False]), margin=0.0).tolist() == [0, 0, 100, 100]
    assert np.isnan(pose_box(xy[:1])).all()
    line = pose_box(np.array([[0.0, 5.0], [10.0, 5.0]]), margin=0.0)
    assert line[3] - line[1] == 10  # degenerate height takes the width
    assert interpolate_boxes(3, np.array([1]), np.array([[1, 2, 3, 4]])).tolist() == [[1, 2, 3, 4]] * 3
    assert np.isnan(interpolate_boxes(3, np.zeros(0), np.zeros((0, 4)))).all()


def test_snapshot_reads_persons(proj):
    p, vid = proj
    b = p.add_person(vid, "Bob")
    p.set_label(vid, 1, 2, 3.0, 4.0, person=b)
    p.set_box(vid, 1, [0, 0, 5, 5], person=b)
    with p.snapshot() as snap:
        p.add_person(vid, "later")
        assert [q.name for q in snap.persons(vid)] == ["person 1", "Bob"]
        assert snap.frame_labels(vid, 1, person=b)[2].x == 3.0 and snap.frame_box(vid, 1, b).tolist() == [0, 0, 5, 5]


def test_remove_video_takes_its_persons(proj, tmp_path):
    p, vid = proj
    b = p.add_person(vid)
    p.set_label(vid, 0, 0, 1.0, 1.0, person=b)
    p.set_box(vid, 0, [0, 0, 1, 1], person=b)
    p.remove_video(vid)
    assert p._q("SELECT COUNT(*) FROM persons")[0][0] == 0 and p._q("SELECT COUNT(*) FROM boxes")[0][0] == 0
    assert p._q("SELECT COUNT(*) FROM frame_summary")[0][0] == 0


def test_writing_a_person_that_was_deleted_brings_it_back(proj):
    """Callers that know nothing of persons (person 1 by default) keep working after person 1 is deleted."""
    p, vid = proj
    p.delete_person(vid, 1)
    assert p.persons(vid) == []
    p.set_label(vid, 0, 0, 1.0, 1.0)
    assert [q.id for q in p.persons(vid)] == [1] and p.frame_labels(vid, 0)[0].x == 1.0


def test_person_box_of_one_frame_equals_the_track(proj):
    """The studio's per-frame read gives what person_boxes gives for every frame, keyframes or poses."""
    p, vid = proj
    rng = np.random.default_rng(0)
    b = p.add_person(vid)
    for f in (1, 4, 8):
        xy = rng.uniform(0, 50, (13, 2))
        p.set_labels(vid, [(f, j, xy[j, 0], xy[j, 1], j % 3 != 0, "manual") for j in range(13)], person=b)
    p.set_label(vid, 6, 0, 3.0, 3.0, person=b)  # one joint: no box from that pose
    for person in (b,):
        track = p.person_boxes(vid, person)
        for f in range(10):
            np.testing.assert_allclose(p.person_box(vid, f, person), track[f])
    p.set_boxes(vid, [(2, 0, 0, 10, 10), (7, 20, 10, 40, 30)], person=b)
    track = p.person_boxes(vid, b)
    for f in range(10):
        np.testing.assert_allclose(p.person_box(vid, f, b), track[f])
    assert p.person_box(vid, 3, p.add_person(vid)) is None
