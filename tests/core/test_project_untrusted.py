"""A crafted or copied project.db (issue 10, items 4 and 6).

Each test edits a real project's database the way a hostile file would (values
the project never writes, triggers and views it never created, a video path
anywhere on disk) and checks that opening it gives one ProjectError line, or that
the path is flagged and never read; and that closing leaves project.db complete
on its own.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest

from rpan_core.errors import FormatError, ProjectError
from rpan_core.project import Project


@pytest.fixture(autouse=True)
def _private_config(tmp_path, monkeypatch):
    from rpan_core import links

    monkeypatch.setenv("RPAN_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RPAN_CACHE_DIR", str(tmp_path / "cache"))
    links.forget()
    yield
    links.forget()


def _frames(folder: Path, n: int = 4, seed: int = 0) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:05d}.png"), rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    return folder


def _project(tmp_path: Path) -> tuple[Path, int]:
    folder = tmp_path / "p"
    with Project.create(folder, classes=["a"]) as p:
        vid = p.add_video(_frames(folder / "clip"))
        p.set_label(vid, 1, 0, 5.0, 6.0)
    return folder, vid


def _sql(folder: Path, *statements: str) -> None:
    db = sqlite3.connect(folder / "project.db")
    db.execute("PRAGMA ignore_check_constraints=ON")
    for st in statements:
        db.execute(st)
    db.commit()
    db.close()


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_a_source_code_of_9_is_refused_on_open(tmp_path):
    folder, _ = _project(tmp_path)
    _sql(folder, "UPDATE labels SET source=9")
    with pytest.raises(ProjectError, match="source code outside 1..4") as exc:
        Project.open(folder)
    _one_line(exc)


def test_frame_labels_gives_a_project_error_not_a_key_error_for_a_code_written_later(tmp_path):
    folder, vid = _project(tmp_path)
    with Project.open(folder) as p:
        _sql(folder, "DROP TRIGGER labels_upd", "UPDATE labels SET source=9")  # another program, after open
        with pytest.raises(ProjectError, match="unknown source code 9"):
            p.frame_labels(vid, 1)


@pytest.mark.parametrize("statement, name", [
    ("CREATE TRIGGER eat AFTER INSERT ON labels BEGIN DELETE FROM labels WHERE video = NEW.video; END", "eat"),
    ("CREATE VIEW everything AS SELECT * FROM labels", "everything"),
    ("CREATE TABLE extra(x)", "extra"),
])
def test_a_trigger_or_view_the_project_did_not_create_is_refused(tmp_path, statement, name):
    folder, _ = _project(tmp_path)
    _sql(folder, statement)
    with pytest.raises(ProjectError, match=f"refused: the database holds the \\w+ '{name}'") as exc:
        Project.open(folder)
    _one_line(exc)


def test_a_changed_project_trigger_is_refused(tmp_path):
    folder, _ = _project(tmp_path)
    _sql(folder, "DROP TRIGGER labels_ins",
         "CREATE TRIGGER labels_ins AFTER INSERT ON labels BEGIN DELETE FROM labels; END")
    with pytest.raises(ProjectError, match="changed definition of the trigger 'labels_ins'"):
        Project.open(folder)


def test_the_vanishing_edit_trigger_never_gets_to_run(tmp_path):
    """The original failure: set_label reported success while a trigger deleted the row."""
    folder, vid = _project(tmp_path)
    _sql(folder, "CREATE TRIGGER eat AFTER INSERT ON labels BEGIN DELETE FROM labels WHERE video = NEW.video; END")
    with pytest.raises(ProjectError):
        Project.open(folder)
    db = sqlite3.connect(folder / "project.db")  # nothing was written by the refused open
    assert db.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 1
    db.close()


@pytest.mark.parametrize("statement, what", [
    ("UPDATE labels SET x=1e308", "not a finite number"),
    ("UPDATE labels SET joint=40", "outside the skeleton"),
    ("UPDATE videos SET width=-3", "impossible frame size"),
    ("UPDATE runs SET config='{' WHERE 0", None),  # no rows: fine
    ("INSERT INTO runs(path, config, created) VALUES ('r', 'not json', 0)", "not JSON"),
    ("UPDATE frame_summary SET state=9", "frame state outside"),
])
def test_impossible_values_are_refused_with_the_table_named(tmp_path, statement, what):
    folder, _ = _project(tmp_path)
    _sql(folder, statement)
    if what is None:
        Project.open(folder).close()
        return
    with pytest.raises(ProjectError, match=what) as exc:
        Project.open(folder)
    _one_line(exc)


def test_a_video_path_outside_the_project_is_flagged_and_never_read(tmp_path):
    from rpan_core.data import collect_items
    from rpan_core.formats.pennaction import export_pennaction

    folder, vid = _project(tmp_path)
    _sql(folder, "UPDATE videos SET path='/etc/passwd', rel_path=NULL")
    with Project.open(folder) as p:
        rec = p.video(vid)
        assert rec.path == "/etc/passwd" and not rec.trusted and not rec.exists
        assert [v.id for v in p.untrusted_videos()] == [vid]
        assert [v.id for v in p.missing_videos()] == [vid]
        with pytest.raises(FormatError, match="outside the project folder"):
            export_pennaction(p, tmp_path / "out")
        assert not list((tmp_path / "out").rglob("*.jpg")) if (tmp_path / "out").exists() else True
        with pytest.raises(ProjectError, match="outside the project folder"):
            collect_items(p, p.classes, "train", p.skeleton.num_joints)


def test_a_rel_path_climbing_out_of_the_project_is_flagged(tmp_path):
    folder, vid = _project(tmp_path)
    secret = _frames(tmp_path / "private", seed=3)
    _sql(folder, f"UPDATE videos SET path='{folder / 'gone'}', rel_path='../private'")
    with Project.open(folder) as p:
        rec = p.video(vid)
        assert Path(rec.path).resolve() == secret.resolve() and not rec.trusted


def test_videos_the_user_added_or_relinked_outside_the_project_are_trusted(tmp_path, monkeypatch):
    from rpan_core import links

    folder = tmp_path / "p"
    outside = _frames(tmp_path / "videos" / "clip", seed=1)
    with Project.create(folder, classes=["a"]) as p:
        vid = p.add_video(outside)
        assert p.video(vid).trusted and p.video(vid).exists
    # the same project opened by another user (another config folder): the outside path is not theirs
    monkeypatch.setenv("RPAN_CONFIG_DIR", str(tmp_path / "other-user"))
    links.forget()
    with Project.open(folder) as p:
        assert not p.video(vid).trusted
        moved = tmp_path / "mine" / "clip"
        moved.parent.mkdir()
        shutil.copytree(outside, moved)
        assert p.relink(vid, moved).trusted  # relinking is the user's explicit choice
    links.forget()
    with Project.open(folder) as p:  # and it is remembered
        assert p.video(vid).trusted


def test_closing_leaves_project_db_complete_on_its_own(tmp_path):
    """Copying project.db alone (no -wal) after close keeps every label, even with another reader open."""
    folder = tmp_path / "p"
    p = Project.create(folder, classes=["a"])
    vid = p.add_video(_frames(folder / "clip"))
    p.set_labels(vid, [(f, j, 1.0 + f, 2.0 + j, True, "manual") for f in range(4) for j in range(13)])
    other = Project.open(folder)  # e.g. a worker's connection, still open at quit
    p.close()
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(folder / "project.db", copy / "project.db")
    db = sqlite3.connect(copy / "project.db")
    assert db.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 4 * 13
    db.close()
    other.close()


def test_an_old_projects_folder_hash_still_relinks(tmp_path):
    from rpan_core.video import content_hash, legacy_folder_hash

    folder, vid = _project(tmp_path)
    clip = folder / "clip"
    _sql(folder, f"UPDATE videos SET content_hash='{legacy_folder_hash(clip)}'")
    moved = folder / "moved"
    clip.rename(moved)
    with Project.open(folder) as p:
        rec = p.relink(vid, moved)
        assert rec.content_hash == content_hash(moved)


def test_adding_the_same_video_again_relinks_an_untrusted_record(tmp_path, monkeypatch):
    """The studio's 'relink it (File > Add videos)': adding the file is the user's choice, labels kept."""
    from rpan_core import links

    folder = tmp_path / "p"
    outside = _frames(tmp_path / "videos" / "clip", seed=2)
    with Project.create(folder, classes=["a"]) as p:
        vid = p.add_video(outside)
        p.set_label(vid, 0, 0, 1.0, 1.0)
    monkeypatch.setenv("RPAN_CONFIG_DIR", str(tmp_path / "other-user"))
    links.forget()
    with Project.open(folder) as p:
        assert [v.id for v in p.missing_videos()] == [vid]
        assert p.add_video(outside) == vid and p.video(vid).trusted and p.label_count(vid) == 1
        assert len(p.videos()) == 1
