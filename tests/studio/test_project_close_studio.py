"""The studio closes its project on quit and when another project is opened, so project.db holds every label."""

from __future__ import annotations

from PyQt6.QtCore import QSettings

from rpan_core.project import DB_NAME
from rpan_studio.app import make_app
from rpan_studio.main_window import MainWindow
from tests.conftest import write_frames
from tests.core.test_project_close import db_alone_label_count


def _labeled(make_project, tmp_path, name):
    project = make_project(name)
    vid = project.add_video(write_frames(tmp_path / f"clip_{name}", 3))
    project.set_labels(vid, [(t, j, 5.0, 6.0, True, "manual") for t in range(3) for j in range(13)])
    return project


def test_quit_and_switching_projects_leave_the_labels_in_project_db(qtbot, tmp_path, make_project):
    make_app()
    first, second = _labeled(make_project, tmp_path, "first"), _labeled(make_project, tmp_path, "second")
    w = MainWindow(first, auto_analyze=False, settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w.quiet = True
    qtbot.addWidget(w)
    w.show()
    assert db_alone_label_count(first.folder, tmp_path / "open") == 0  # still in the WAL while open
    w.open_project(second)
    assert db_alone_label_count(first.folder, tmp_path / "switched") == 39  # the first one was closed
    assert not (first.folder / (DB_NAME + "-wal")).exists()
    w.close()  # quit
    assert db_alone_label_count(second.folder, tmp_path / "quit") == 39
    assert not (second.folder / (DB_NAME + "-wal")).exists()
    assert w.project is None and w.errors == []
