"""Keys from a settings file: read once at start, used by the menus, the editor and F1; a bad entry is
one clear message, never a crash, and keeps its default."""
from __future__ import annotations

import json

import pytest
from PyQt6.QtCore import Qt

from rpan_studio import actions
from rpan_studio.actions import help_rows, load_keys, shortcut

from .test_main_window import N, studio, wait_shown  # noqa: F401 (the fixture)


@pytest.fixture
def keys_json(tmp_path, monkeypatch):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"heat": "F6", "back_joint": "H", "skip_hidden": "Y", "bogus": "X",
                                "step_forward": "Banana", "train": "Ctrl+I"}))
    monkeypatch.setenv("RPAN_STUDIO_KEYS", str(path))
    yield path
    load_keys(tmp_path / "absent.json")  # the defaults again for the other tests


def test_the_keys_file_changes_menus_editor_and_f1_and_reports_bad_entries_once(keys_json, qtbot,
                                                                                studio):  # noqa: F811
    w = studio
    problems = [e for e in w.errors if "keys file" in e]
    assert len(problems) == 1
    msg = problems[0]
    assert "'bogus': no such action" in msg and "'step_forward': 'Banana' is not a key sequence" in msg
    assert "'train': Ctrl+I is already the key of 'model_card'" in msg
    assert shortcut("heat") == "F6" and shortcut("back_joint") == "H" and shortcut("step_forward") == "Right"
    assert shortcut("train") == "Ctrl+T"
    assert w.actions_["heat"].shortcut().toString() == "F6"
    assert w.editor.actions["skip_hidden"].shortcut().toString() == "Y"
    assert ("F6", actions.action("heat").description) in help_rows()
    w.activateWindow()
    qtbot.waitUntil(lambda: w.isActiveWindow(), timeout=3000)
    w.view.setFocus()
    before = w.overlays.heat_check.isChecked()
    qtbot.keyClick(w.view, Qt.Key.Key_F6)
    assert w.overlays.heat_check.isChecked() != before
    qtbot.keyClick(w.view, Qt.Key.Key_Right)  # the bad entry kept its default
    wait_shown(qtbot, w, 1)
    dlg = w.show_shortcuts()
    keys = [dlg.table.item(i, 0).text() for i in range(dlg.table.rowCount())]
    assert "F6" in keys and "Y" in keys and keys.count("H") == 1  # H moved from the heat map to "back"
    assert ("H", actions.action("back_joint").description) in help_rows()
    dlg.close()


def test_an_unreadable_keys_file_is_one_message_and_defaults(tmp_path):
    p = tmp_path / "keys.json"
    p.write_text("{not json")
    msg = load_keys(p)
    assert msg and "not readable JSON" in msg and shortcut("heat") == "H"
    p.write_text("[1, 2]")
    assert "one JSON object" in load_keys(p)
    assert load_keys(tmp_path / "none.json") is None and shortcut("heat") == "H"


def test_f1_names_each_action_as_the_keys_file_spells_it(studio):  # noqa: F811
    dlg = studio.show_shortcuts()
    rows = {dlg.table.item(i, 2).text(): dlg.table.item(i, 0).text() for i in range(dlg.table.rowCount())}
    assert rows["skip_hidden"] == "O" and rows["model_card"] == "Ctrl+I" and rows["first_frame"] == "Home"
    dlg.close()
