"""Project store: schema, labels, snapshot isolation, relink, migrations, refusals, threads."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from rpan_core.errors import ProjectError
from rpan_core.project import (DB_NAME, MIGRATIONS, SCHEMA_VERSION, FrameState, LabelSource, Project)


def frames_dir(folder: Path, n: int = 6, level: int = 0, size=(8, 10)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:05d}.png"), np.full(size + (3,), (level + 17 * i) % 250, np.uint8))
    return folder


@pytest.fixture
def proj(tmp_path):
    p = Project.create(tmp_path / "p", skeleton="pennaction", classes=["jump", "squat"])
    vid = p.add_video(frames_dir(tmp_path / "p" / "clip"), action="jump")
    yield p, vid
    p.close()


def test_create_layout_and_pragmas(tmp_path):
    p = Project.create(tmp_path / "new", classes=["a"])
    for sub in ("analyses", "runs", "flow"):
        assert (tmp_path / "new" / sub).is_dir()
    assert p.analyses_dir == tmp_path / "new" / "analyses" and p.flow_dir.name == "flow"
    db = sqlite3.connect(tmp_path / "new" / DB_NAME)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
    assert p._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert p._db.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert p.skeleton.name == "pennaction" and p.classes == ["a"]
    with pytest.raises(ProjectError, match="already holds a project"):
        Project.create(tmp_path / "new")
    p.close()


def test_video_record_metadata(proj, tmp_path):
    p, vid = proj
    (r,) = p.videos()
    assert r.id == vid and r.frame_count == 6 and (r.width, r.height) == (10, 8) and r.action == "jump"
    assert r.split == "train" and r.rel_path == "clip" and Path(r.path) == tmp_path / "p" / "clip"
    from rpan_core.video import content_hash
    assert r.content_hash == content_hash(tmp_path / "p" / "clip")
    assert p.add_video(tmp_path / "p" / "clip") == vid + 1  # the same file again is a new record
    p.remove_video(vid + 1)
    p.set_split(vid, "test")
    p.set_action(vid, None)
    assert p.video(vid).split == "test" and p.video(vid).action is None
    with pytest.raises(ProjectError, match="not one of the project's classes"):
        p.set_action(vid, "dance")
    with pytest.raises(ProjectError, match="no video with id 99"):
        p.video(99)


def test_labels_roundtrip_and_states(proj):
    p, vid = proj
    p.set_label(vid, 1, 0, 3.5, 4.5)
    p.set_labels(vid, [(1, 5, 1.0, 2.0, False, "accepted"), (3, 2, 7.0, 8.0, True, LabelSource.CORRECTED),
                       (4, 0, 1.0, 1.0, True, "accepted"), (5, 12, 0.0, 0.0, True, "imported"),
                       (2, 7, None, None, False, "manual")])
    lab = p.frame_labels(vid, 1)
    assert set(lab) == {0, 5}
    assert (lab[0].x, lab[0].y, lab[0].visible, lab[0].source) == (3.5, 4.5, True, LabelSource.MANUAL)
    assert lab[5].source == "accepted" and lab[5].visible is False
    assert np.isnan(p.frame_labels(vid, 2)[7].x)
    assert p.labeled_frames(vid) == [1, 2, 3, 4, 5]
    # manual beats accepted on frame 1; imported counts as manual
    expect = [FrameState.NONE, FrameState.MANUAL, FrameState.MANUAL, FrameState.CORRECTED, FrameState.ACCEPTED,
              FrameState.MANUAL]
    st = p.frame_states(vid)
    assert st.dtype == np.uint8 and st.tolist() == [int(s) for s in expect]
    la = p.video_labels(vid)
    assert la.frames.tolist() == [1, 2, 3, 4, 5] and la.xy.shape == (5, 13, 2)
    assert la.labeled.sum() == 6 and la.labeled[0, [0, 5]].all() and la.visible[0].tolist().count(True) == 1
    np.testing.assert_array_equal(la.xy[2, 2], [7.0, 8.0])
    assert la.source[0, 0] == LabelSource.MANUAL.code and la.source[4, 12] == LabelSource.IMPORTED.code
    assert np.isnan(la.xy[0, 1]).all()
    # overwrite, delete
    p.set_label(vid, 1, 0, 9.0, 9.0, source="corrected")
    assert p.frame_labels(vid, 1)[0].x == 9.0
    assert p.delete_label(vid, 1, 0) and not p.delete_label(vid, 1, 0)
    assert p.delete_frame_labels(vid, 3) == 1
    assert p.labeled_frames(vid) == [1, 2, 4, 5]


@pytest.mark.parametrize("row, msg", [
    ((0, 13, 1.0, 1.0, True, "manual"), "joint 13 does not exist"),
    ((6, 0, 1.0, 1.0, True, "manual"), "frame 6 is outside"),
    ((-1, 0, 1.0, 1.0, True, "manual"), "frame -1"),
    ((0, 0, float("nan"), 1.0, True, "manual"), "finite position"),
    ((0, 0, 1.0, 1.0, True, "guessed"), "unknown label source"),
    ((0, 0, 1.0), r"\(frame, joint, x, y, visible, source\)"),
])
def test_bad_batch_is_refused_whole(proj, row, msg):
    p, vid = proj
    p.set_label(vid, 0, 1, 5.0, 5.0)
    with pytest.raises(ProjectError, match=msg):
        p.set_labels(vid, [(1, 0, 2.0, 2.0, True, "manual"), (0, 1, 6.0, 6.0, True, "manual"), row])
    assert p.labeled_frames(vid) == [0] and p.frame_labels(vid, 0)[1].x == 5.0


def test_snapshot_does_not_see_later_writes(proj, tmp_path):
    p, vid = proj
    p.set_label(vid, 0, 0, 1.0, 1.0)
    snap = p.snapshot()
    p.set_label(vid, 1, 0, 2.0, 2.0)
    p.set_label(vid, 0, 0, 5.0, 5.0)
    v2 = p.add_video(frames_dir(tmp_path / "other", level=3), action="squat")
    p.set_classes(["jump", "squat", "wave"])
    assert snap.labeled_frames(vid) == [0] and snap.frame_labels(vid, 0)[0].x == 1.0
    assert [v.id for v in snap.videos()] == [vid] and snap.classes == ["jump", "squat"]
    assert snap.video_labels(vid).frames.tolist() == [0]
    assert p.labeled_frames(vid) == [0, 1] and len(p.videos()) == 2 and v2 != vid
    snap.close()
    with p.snapshot() as s2:  # a new snapshot sees everything
        assert s2.labeled_frames(vid) == [0, 1] and s2.classes[-1] == "wave"


def test_snapshot_from_other_process_style_connection(proj):
    """The snapshot is its own connection: an open write transaction elsewhere does not block it."""
    p, vid = proj
    other = Project.open(p.folder)
    with other.transaction():
        other.set_label(vid, 2, 2, 1.0, 1.0)
        with p.snapshot() as s:
            assert s.labeled_frames(vid) == []  # uncommitted
    assert p.labeled_frames(vid) == [2]
    other.close()


def test_relink(proj, tmp_path):
    p, vid = proj
    src = tmp_path / "p" / "clip"
    moved = tmp_path / "moved"
    src.rename(moved)
    assert [v.id for v in p.missing_videos()] == [vid]
    frames_dir(tmp_path / "impostor", level=100)
    with pytest.raises(ProjectError, match="different video"):
        p.relink(vid, tmp_path / "impostor")
    rec = p.relink(vid, moved)
    assert Path(rec.path) == moved and p.missing_videos() == []


def test_add_of_a_missing_video_relinks_it(proj, tmp_path):
    p, vid = proj
    (tmp_path / "p" / "clip").rename(tmp_path / "elsewhere")
    assert p.add_video(tmp_path / "elsewhere") == vid
    assert Path(p.video(vid).path) == tmp_path / "elsewhere"


def test_project_folder_moved_with_its_videos(proj, tmp_path):
    p, vid = proj
    p.set_label(vid, 0, 0, 1.0, 1.0)
    p.close()
    (tmp_path / "p").rename(tmp_path / "q")
    q = Project.open(tmp_path / "q")
    assert Path(q.video(vid).path) == tmp_path / "q" / "clip" and q.missing_videos() == []
    q.close()


def test_runs_registry(proj, tmp_path):
    p, _ = proj
    rid = p.add_run(p.runs_dir / "r1", {"epochs": 3, "lr": 0.01})
    (r,) = p.runs()
    assert r.id == rid and Path(r.path) == p.runs_dir / "r1" and r.config == {"epochs": 3, "lr": 0.01}


def test_set_classes_refuses_dropping_used(proj):
    p, _ = proj
    with pytest.raises(ProjectError, match="jump"):
        p.set_classes(["squat"])
    with pytest.raises(ProjectError, match="unique"):
        p.set_classes(["a", "a"])
    p.add_classes(["wave", "jump"])
    assert p.classes == ["jump", "squat", "wave"]


def test_open_refusals(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        Project.open(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProjectError, match="not an RPAN project"):
        Project.open(tmp_path / "empty")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / DB_NAME).write_bytes(b"hello, not a database at all" * 10)
    with pytest.raises(ProjectError, match="not an SQLite database"):
        Project.open(tmp_path / "junk")
    (tmp_path / "foreign").mkdir()
    db = sqlite3.connect(tmp_path / "foreign" / DB_NAME)
    db.execute("CREATE TABLE t(x)")
    db.commit()
    db.close()
    with pytest.raises(ProjectError, match="not an RPAN project"):
        Project.open(tmp_path / "foreign")
    p = Project.create(tmp_path / "future")
    p.close()
    db = sqlite3.connect(tmp_path / "future" / DB_NAME)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ProjectError, match="newer RPAN Studio.*update"):
        Project.open(tmp_path / "future")


def test_migrate_v1_project(tmp_path):
    """A v1 database (no split column, no runs table) opens as current with its data intact."""
    folder = tmp_path / "old"
    folder.mkdir()
    db = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version=1")
    db.executemany("INSERT INTO meta VALUES (?, ?)", [("skeleton", "jhmdb")])
    db.execute("INSERT INTO classes VALUES (0, 'run')")
    db.execute("INSERT INTO videos(path, rel_path, content_hash, frame_count, fps, width, height, action, added) "
               "VALUES ('/x/v.mp4', NULL, 'abc', 10, 25.0, 32, 24, 'run', 0)")
    db.execute("INSERT INTO labels VALUES (1, 3, 14, 1.5, 2.5, 1, 3, 0)")
    db.close()
    p = Project.open(folder)
    assert p.schema_version == SCHEMA_VERSION and p.skeleton.name == "jhmdb"
    (v,) = p.videos()
    assert v.split == "train" and v.action == "run" and v.frame_count == 10
    assert p.frame_labels(1, 3)[14].source == LabelSource.MANUAL and p.runs() == []
    assert p.frame_states(1).tolist() == [0, 0, 0, FrameState.MANUAL] + [0] * 6  # summary built from old labels
    p.add_run(tmp_path / "r", {"a": 1})
    assert p.integrity_check() == "ok"
    p.close()


def test_migration_list_builds_the_current_schema(tmp_path):
    """Creating runs every migration from v0; the result equals applying them by hand."""
    p = Project.create(tmp_path / "a")
    p.close()
    db = sqlite3.connect(":memory:", isolation_level=None)
    for m in MIGRATIONS:
        m(db)
    q = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    made = sqlite3.connect(tmp_path / "a" / DB_NAME)
    assert made.execute(q).fetchall() == db.execute(q).fetchall()
    made.close()


def test_threads_share_one_project(proj):
    """UI thread and workers may call the same Project; every write lands."""
    p, vid = proj
    errors = []

    def work(joint):
        try:
            for f in range(6):
                p.set_label(vid, f, joint, float(f), float(joint))
                p.frame_states(vid)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    ts = [threading.Thread(target=work, args=(j,)) for j in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == [] and p.label_count(vid) == 24


def test_transaction_rolls_back_everything(proj, tmp_path):
    p, vid = proj
    with pytest.raises(RuntimeError):
        with p.transaction():
            p.set_label(vid, 0, 0, 1.0, 1.0)
            p.add_video(frames_dir(tmp_path / "v2", level=9))
            raise RuntimeError("boom")
    assert p.label_count() == 0 and len(p.videos()) == 1


def test_closed_project_says_so(proj):
    p, vid = proj
    p.close()
    with pytest.raises(ProjectError, match="closed"):
        p.labeled_frames(vid)


def test_frame_states_cache_follows_own_and_foreign_writes(proj):
    """frame_states equals a direct recomputation from the labels after every kind of write."""
    p, vid = proj
    other = Project.open(p.folder)
    rng = np.random.default_rng(3)

    def direct():
        out = np.zeros(6, np.uint8)
        order = {"accepted": 2, "corrected": 3, "manual": 4, "imported": 4}
        for f in range(6):
            for lab in p.frame_labels(vid, f).values():
                out[f] = max(out[f], order[lab.source.value])
        return out.tolist()

    sources = ["manual", "corrected", "accepted", "imported"]
    for step in range(60):
        who = p if step % 3 else other
        f, j = int(rng.integers(6)), int(rng.integers(13))
        kind = rng.integers(4)
        if kind == 0:
            who.delete_label(vid, f, j)
        elif kind == 1 and step % 7 == 0:
            who.delete_frame_labels(vid, f)
        else:
            who.set_label(vid, f, j, 1.0, 1.0, True, sources[int(rng.integers(4))])
        assert p.frame_states(vid).tolist() == direct(), step
    with p.transaction():
        p.set_label(vid, 5, 0, 1.0, 1.0, True, "manual")
        assert p.frame_states(vid)[5] == FrameState.MANUAL  # own uncommitted write is seen
        p.delete_frame_labels(vid, 5)
    assert p.frame_states(vid).tolist() == direct()
    other.close()
