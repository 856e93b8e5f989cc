"""File > Import annotations and File > Export > Labels, through the menus, for every format of the registry.

Each test triggers the menu's own QAction (the file dialog answered by a
monkeypatch), waits for the task worker and checks the project or the written
file. These menus failed every time before the registry ("rpan_core.formats has
no exporter for 'coco'"): no test went through them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QFileDialog

from rpan_core.formats.registry import exporters, importers
from rpan_core.project import Project
from rpan_studio.app import make_app
from rpan_studio.main_window import MainWindow
from tests.core.test_formats import jhmdb_tree, labeled_project


def _window(qtbot, tmp_path: Path, project: Project) -> MainWindow:
    make_app()
    w = MainWindow(project, auto_analyze=False,
                   settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w.quiet = True
    qtbot.addWidget(w)
    return w


def _answer_dialogs(monkeypatch, path: Path) -> None:
    """Every file dialog answers ``path`` (folder pickers and file pickers alike)."""
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(path)))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), "")))


def _trigger(qtbot, w: MainWindow, menu_text: str, key: str) -> None:
    """Trigger the menu entry named ``menu_text`` and wait until its task is done (and its result delivered)."""
    menu = w.import_menu if key == "import" else w.export_menu
    (act,) = [a for a in menu.actions() if a.text() == menu_text]
    act.trigger()
    assert w.errors == [], w.errors
    worker = w.runner.tasks[key]
    with qtbot.waitSignal(w.runner.idle, timeout=20000):
        pass
    assert worker.status == "done", worker.error


def test_every_registry_format_has_a_menu_entry(qtbot, tmp_path, make_project):
    w = _window(qtbot, tmp_path, make_project())
    assert [a.text() for a in w.import_menu.actions()] == [f"{f.title}..." for f in importers()]
    labels = [a.text() for a in w.export_menu.actions() if a.text().startswith("Labels as")]
    assert labels == [f"Labels as {f.title}..." for f in exporters()]
    w.close()


def test_import_pennaction_from_the_menu(qtbot, tmp_path, monkeypatch, make_project):
    from rpan_core.formats.pennaction import export_pennaction

    src = labeled_project(tmp_path / "src")
    export_pennaction(src, tmp_path / "penn")
    w = _window(qtbot, tmp_path, make_project("target"))
    _answer_dialogs(monkeypatch, tmp_path / "penn")
    _trigger(qtbot, w, "PennAction (.mat folder)...", "import")
    assert w.project.label_count() == src.label_count() > 0
    assert w.video_list.count() == 2  # the list follows the import
    assert w.errors == []
    w.close()
    src.close()


def test_import_jhmdb_from_the_menu_into_a_pennaction_project(qtbot, tmp_path, monkeypatch, make_project):
    jhmdb_tree(tmp_path / "JHMDB")
    w = _window(qtbot, tmp_path, make_project())
    _answer_dialogs(monkeypatch, tmp_path / "JHMDB")
    _trigger(qtbot, w, "JHMDB (joint_positions)...", "import")
    assert [v.action for v in w.project.videos()] == ["run", "run"]
    assert w.project.label_count() == 2 * 3 * 13  # converted to the project's 13 pennaction joints
    w.close()


def test_import_coco_from_the_menu(qtbot, tmp_path, monkeypatch, make_project):
    from rpan_core.formats.coco import export_coco

    src = labeled_project(tmp_path / "src")
    path = export_coco(src, tmp_path / "src" / "videos" / "coco.json")  # beside the clips' frame folders
    w = _window(qtbot, tmp_path, make_project("target", classes=[]))
    _answer_dialogs(monkeypatch, path)
    _trigger(qtbot, w, "COCO keypoints (.json)...", "import")
    assert w.project.label_count() == src.label_count()
    assert sorted(w.project.classes) == ["jump", "squat"]
    w.close()
    src.close()


@pytest.fixture
def labeled_window(qtbot, tmp_path):
    w = _window(qtbot, tmp_path, labeled_project(tmp_path))
    yield w
    w.close()


def test_export_coco_from_the_menu(qtbot, tmp_path, monkeypatch, labeled_window):
    w = labeled_window
    out = tmp_path / "out" / "labels.json"
    _answer_dialogs(monkeypatch, out)
    _trigger(qtbot, w, "Labels as COCO JSON...", "export_labels")
    doc = json.loads(out.read_text())
    assert len(doc["images"]) == 7 and len(doc["annotations"]) == 7
    assert any("exported to" in m for m in [w.statusBar().currentMessage()])


def test_export_csv_from_the_menu(qtbot, tmp_path, monkeypatch, labeled_window):
    w = labeled_window
    out = tmp_path / "labels.csv"
    _answer_dialogs(monkeypatch, out)
    _trigger(qtbot, w, "Labels as CSV...", "export_labels")
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == w.project.label_count() == 7 * 13
    first = w.project.frame_labels(1, 0)[0]
    np.testing.assert_allclose([float(rows[0]["x"]), float(rows[0]["y"])], [first.x, first.y])


def test_export_pennaction_from_the_menu(qtbot, tmp_path, monkeypatch, labeled_window):
    from rpan_core.formats.pennaction import read_label_file

    w = labeled_window
    out = tmp_path / "penn_out"
    _answer_dialogs(monkeypatch, out)
    _trigger(qtbot, w, "Labels as PennAction layout (folder)...", "export_labels")
    mats = sorted((out / "labels").glob("*.mat"))
    assert len(mats) == 2
    seq = read_label_file(mats[1])
    assert seq.nframes == 3
