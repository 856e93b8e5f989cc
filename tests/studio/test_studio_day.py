"""A day of labeling in the studio (issue 14): the model's card and banner, the shipped demo checkpoint
for a project without runs, scrubbing by press-and-drag, Ctrl+G then Enter then arrows, Home/End."""
from __future__ import annotations

from PyQt6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import QApplication

from rpan_core.demo import demo_checkpoint_path
from rpan_core.model_card import mark_synthetic
from rpan_studio.app import make_app
from rpan_studio.main_window import MainWindow

from .coded_clips import make_analysis
from .test_main_window import N, studio, wait_shown  # noqa: F401 (the fixture)


def _window(qtbot, tmp_path, project, checkpoint=None):
    make_app()
    analysis = make_analysis(N)
    calls = []

    def fake_analyze(video_path, checkpoint, project=None, progress=None, cancel=None):
        calls.append(checkpoint)
        return analysis

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(project, checkpoint=checkpoint, analyze_fn=fake_analyze, settings=settings)
    w.quiet = True
    w.test_calls = calls
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitUntil(lambda: w.analysis is not None and w.view.frame_index == 0, timeout=10000)
    return w


def _activate(qtbot, w):
    w.activateWindow()
    qtbot.waitUntil(lambda: w.isActiveWindow(), timeout=3000)
    w.view.setFocus()


def test_a_project_without_runs_uses_the_shipped_demo_model_and_says_so(qtbot, tmp_path, coded_project):
    project, _vid = coded_project(N)
    w = _window(qtbot, tmp_path, project)
    assert w.checkpoint == str(demo_checkpoint_path()) and w.state.checkpoint_origin == "demo"
    assert w.test_calls == [str(demo_checkpoint_path())]
    _activate(qtbot, w)
    qtbot.keyClick(w.view, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # Ctrl+R works
    qtbot.waitUntil(lambda: len(w.test_calls) == 2, timeout=5000)
    assert not [e for e in w.errors if "checkpoint" in e]
    dlg = w.open_training()  # the Train dialog's first choice is the demo checkpoint, enabled and named
    assert dlg.init_current.isEnabled() and dlg.init_current.isChecked()
    assert dlg.init_current.text() == f"Demo checkpoint ({demo_checkpoint_path().name})"
    dlg.close()


def test_the_demo_model_on_a_real_video_gets_a_banner_and_no_caption(qtbot, tmp_path, coded_project):
    project, _vid = coded_project(N)
    w = _window(qtbot, tmp_path, project, checkpoint=demo_checkpoint_path())
    assert w.banner.isVisible()
    assert "Demo model trained on synthetic figures" in w.banner.text() and "not estimates" in w.banner.text()
    assert "not an estimate" in w.view.caption.text and "jump" not in w.view.caption.text
    # the action plot follows the same rule: no class curves, a note instead
    assert w.action_plot.curves == [] and w.action_plot.note.isVisible()
    assert "withheld" in w.action_plot.note.toPlainText()
    _activate(qtbot, w)
    qtbot.keyClick(w.view, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)  # Model > Model card
    qtbot.waitUntil(lambda: getattr(w, "model_card_dialog", None) is not None, timeout=3000)
    text = w.model_card_dialog.text()
    assert "synthetic figures" in text and "Labeled frames: 10800" in text and "320x240" in text
    assert "not estimates" in text
    w.model_card_dialog.close()
    # the same model on a synthetic clip: no banner, the caption names the action
    mark_synthetic(tmp_path / "clip")
    w.open_video(w.video_id)
    qtbot.waitUntil(lambda: w.analysis is not None and w.view.frame_index == 0, timeout=5000)
    assert not w.banner.isVisible() and "not an estimate" not in w.view.caption.text
    assert len(w.action_plot.curves) == 3 and not w.action_plot.note.isVisible()


def _send(widget, kind, p: QPoint, button, buttons) -> None:
    ev = QMouseEvent(kind, QPointF(p), QPointF(widget.mapToGlobal(p)), button, buttons,
                     Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


def _x_of_frame(plot, frame) -> QPoint:
    import pyqtgraph as pg

    vb = plot.getPlotItem().getViewBox()
    y_mid = sum(vb.viewRange()[1]) / 2
    p = plot.mapFromScene(vb.mapViewToScene(pg.Point(frame, y_mid)))
    return QPoint(p.x(), p.y())


def test_press_and_drag_on_the_timeline_scrubs(qtbot, studio):  # noqa: F811
    w = studio
    seen = []
    w.state.frameChanged.connect(seen.append)
    vp, left, none = w.seekbar.viewport(), Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _send(vp, QEvent.Type.MouseButtonPress, _x_of_frame(w.seekbar, 5), left, left)  # not on the cursor line
    for f in (10, 15, 20, 25):
        _send(vp, QEvent.Type.MouseMove, _x_of_frame(w.seekbar, f), none, left)
    _send(vp, QEvent.Type.MouseButtonRelease, _x_of_frame(w.seekbar, 25), left, none)
    wait_shown(qtbot, w, 25)
    assert seen[:5] == [5, 10, 15, 20, 25]
    # the action plot scrubs the same way
    _send(w.action_plot.viewport(), QEvent.Type.MouseButtonPress, _x_of_frame(w.action_plot, 3), left, left)
    _send(w.action_plot.viewport(), QEvent.Type.MouseMove, _x_of_frame(w.action_plot, 12), none, left)
    _send(w.action_plot.viewport(), QEvent.Type.MouseButtonRelease, _x_of_frame(w.action_plot, 12), left, none)
    wait_shown(qtbot, w, 12)


def test_ctrl_g_enter_gives_the_arrows_back_and_home_end(qtbot, studio):  # noqa: F811
    w = studio
    _activate(qtbot, w)
    qtbot.keyClick(w.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert w.spin.hasFocus()
    qtbot.keyClicks(w.spin.lineEdit(), "17")
    qtbot.keyClick(w.spin.lineEdit(), Qt.Key.Key_Return)
    wait_shown(qtbot, w, 17)
    assert not w.spin.hasFocus()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)
    wait_shown(qtbot, w, 18)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_End)
    wait_shown(qtbot, w, N - 1)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Home)
    wait_shown(qtbot, w, 0)


def _menu_action(w, menu_title, text_start):
    for m in w.menuBar().actions():
        if m.text().replace("&", "") == menu_title:
            for a in m.menu().actions():
                if a.text().replace("&", "").startswith(text_start):
                    return a
    raise AssertionError(f"no {menu_title} > {text_start}")


def test_add_videos_opens_what_it_added_with_the_plots_on_its_frame_range(qtbot, studio, monkeypatch):  # noqa: F811
    from PyQt6.QtWidgets import QFileDialog

    from .coded_clips import write_coded_clip

    w = studio
    w.seek(30)
    wait_shown(qtbot, w, 30)
    clip = write_coded_clip(w.test_tmp / "short", 12)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([str(clip)], "")))
    _menu_action(w, "File", "Add videos").trigger()
    qtbot.waitUntil(lambda: w.video_list.count() == 2 and w.view.frame_index == 0 and w.spin.maximum() == 11,
                    timeout=5000)
    assert w.video_list.currentRow() == 1
    qtbot.waitUntil(lambda: w.analysis is not None, timeout=5000)
    for p in (w.action_plot, w.conf_plot, w.dynamics_plot, w.seekbar):
        assert p.n_frames in (12, N)  # the fake analysis is 40 frames long; the timeline is the clip's
    assert w.seekbar.n_frames == 12


def test_a_new_project_clears_the_old_timeline(qtbot, studio, monkeypatch):  # noqa: F811
    from rpan_studio.dialogs import ask

    w = studio
    wait_shown(qtbot, w, 0)
    assert len(w.seekbar.states) == N
    monkeypatch.setattr(ask, "ask_new_project", lambda parent: ask.NewProjectAnswer(
        str(w.test_tmp / "fresh"), "pennaction", ["a"]))
    _menu_action(w, "File", "New project").trigger()
    assert w.project is not None and w.project.folder.name == "fresh" and w.video_list.count() == 0
    assert len(w.seekbar.states) == 0 and w.spin.maximum() == 0 and w.view.frame_index is None
    assert not w.action_plot.curves


def test_the_analysis_progress_bar_is_readable_with_time_left(qtbot, studio):  # noqa: F811
    import threading

    from .coded_clips import make_analysis

    w = studio
    gate, reported = threading.Event(), threading.Event()

    def slow(video_path, checkpoint, project=None, progress=None, cancel=None):
        import time
        progress(0, 40)
        time.sleep(0.3)
        progress(10, 40)
        reported.set()
        gate.wait(10)
        return make_analysis(N)

    w.session.analyze_fn = slow
    w.analyze()
    qtbot.waitUntil(reported.is_set, timeout=5000)
    qtbot.waitUntil(lambda: "10 / 40" in w.progress.text(), timeout=5000)
    text = w.progress.text()
    assert "analyzing" in text and "25%" in text and "left" in text
    assert w.progress.width() >= 420
    gate.set()
    w.wait_tasks()


def test_f_fits_the_frame_to_the_window_after_zooming_out(qtbot, studio):  # noqa: F811
    from .coded_clips import H, W

    w = studio
    vb = w.view.view_box
    vb.scaleBy((8, 8))  # zoomed far out: a tiny frame under big handles
    (x0, x1), (y0, y1) = vb.viewRange()
    assert x1 - x0 > 4 * W
    _activate(qtbot, w)
    qtbot.keyClick(w.view, Qt.Key.Key_F)
    (x0, x1), (y0, y1) = vb.viewRange()
    assert x0 <= 0.5 and x1 >= W - 0.5 and y0 <= 0.5 and y1 >= H - 0.5  # all of it
    assert min(x1 - x0 - W, y1 - y0 - H) < 0.2 * max(W, H)  # and it fills the view in one direction


def test_remove_a_video_asks_then_removes_it_and_ctrl_z_brings_it_back(qtbot, studio):  # noqa: F811
    import numpy as np

    from .coded_clips import write_coded_clip

    w = studio
    other = w.add_videos([str(write_coded_clip(w.test_tmp / "other", 8))])[0]
    qtbot.waitUntil(lambda: w.video_id == other, timeout=5000)
    w.project.set_labels(other, [(2, j, 5.0 + j, 9.0, True, "manual") for j in range(13)])
    runner = w.project.add_person(other, "runner")
    w.project.set_labels(other, [(4, 0, 7.0, 8.0, True, "corrected")], person=runner)
    w.project.set_box(other, 3, [1, 2, 20, 30], person=runner)
    J = w.project.skeleton.num_joints
    w.project.set_predictions(other, [5], np.full((1, J, 2), 4.0), np.ones((1, J), bool), np.full((1, J), 0.7), "t")
    before = w.project.video_data(other)
    steps = w.undo_stack.count()
    w.quiet_answer = False  # "No": nothing happens
    _menu_action(w, "File", "Remove video").trigger()
    assert w.video_list.count() == 2 and w.project.label_count(other, person=None) == 14
    question = w.errors[-1]
    assert ("14 joint labels on 2 frames, 2 persons (person 1, runner), 1 box keyframe, "
            "stored predictions on 1 frame") in question and "Ctrl+Z" in question
    w.quiet_answer = True
    _menu_action(w, "File", "Remove video").trigger()
    assert w.video_list.count() == 1 and all(v.id != other for v in w.project.videos())
    assert w.project.label_count(other, person=None) == 0
    kept = list((w.project.folder / "removed").glob("other-*.coco.json"))  # the labels kept file-side too
    assert len(kept) == 1 and f"removed/{kept[0].name}" in w.errors[-1]
    import json

    doc = json.loads(kept[0].read_text())
    assert [im["frame_index"] for im in doc["images"]] == [2, 3, 4]  # labels on 2 and 4, the runner's box on 3
    qtbot.waitUntil(lambda: w.video_id is not None and w.video_id != other and w.view.frame_index == 0,
                    timeout=5000)
    assert w.undo_stack.count() == steps + 1 and w.undo_stack.undoText().startswith("Remove video other")
    # Ctrl+Z: one step brings back the video with its labels, persons, boxes and predictions, and shows it
    _activate(qtbot, w)
    qtbot.keyClick(w.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.project.video_data(other) == before and w.video_list.count() == 2
    qtbot.waitUntil(lambda: w.video_id == other and w.view.frame_index == 0, timeout=5000)
    # redo removes it again; undo again restores it again
    qtbot.keyClick(w.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert w.video_list.count() == 1 and w.project.label_count(other, person=None) == 0
    w.undo_stack.undo()
    assert w.project.video_data(other) == before


def test_open_video_without_a_project_then_save_as_makes_it_real(qtbot, tmp_path, monkeypatch):
    from PyQt6.QtWidgets import QFileDialog

    from rpan_core.scratch import is_scratch

    from .coded_clips import write_coded_clip

    monkeypatch.setenv("RPAN_SCRATCH_DIR", str(tmp_path / "scratch"))
    clip = write_coded_clip(tmp_path / "mine", 10)
    make_app()
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), auto_analyze=False)
    w.quiet = True
    qtbot.addWidget(w)
    w.show()
    assert not w.actions_["save_as"].isEnabled()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(clip), "")))
    _menu_action(w, "File", "Open video").trigger()
    qtbot.waitUntil(lambda: w.view.frame_index == 0, timeout=5000)
    assert is_scratch(w.project) and "scratch" in w.windowTitle() and w.actions_["save_as"].isEnabled()
    scratch_folder = w.project.folder
    w.project.set_labels(w.video_id, [(4, j, 5.0 + j, 9.0, True, "manual") for j in range(13)])
    dest = tmp_path / "kept"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(dest)))
    _menu_action(w, "File", "Save project as").trigger()
    qtbot.waitUntil(lambda: w.view.frame_index == 0, timeout=5000)
    assert w.project.folder == dest and not is_scratch(w.project) and "scratch" not in w.windowTitle()
    assert w.project.label_count() == 13 and not scratch_folder.exists()
    assert not w.actions_["save_as"].isEnabled()
    w.close()


def test_rpan_studio_video_opens_it_in_a_scratch_project(qtbot, tmp_path, monkeypatch):
    import argparse

    from PyQt6.QtWidgets import QApplication

    from rpan_studio import app as app_mod

    monkeypatch.setenv("RPAN_SCRATCH_DIR", str(tmp_path / "scratch"))
    import cv2
    import numpy as np
    mp4 = tmp_path / "clip.mp4"
    wr = cv2.VideoWriter(str(mp4), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    for i in range(6):
        wr.write(np.full((48, 64, 3), 30 * i, np.uint8))
    wr.release()
    opened = []
    monkeypatch.setattr(MainWindow, "open_video_file", lambda self, p: opened.append((self, p)))
    monkeypatch.setattr(QApplication, "exec", lambda self: 0)  # no event loop: the dispatch is under test
    parser = argparse.ArgumentParser()
    app_mod.configure_parser(parser)
    assert app_mod.cli_main(parser.parse_args([str(mp4), "--no-analyze"])) == 0
    assert opened and opened[0][1] == str(mp4)
    opened[0][0].close()


def test_the_edit_menu_names_1_px_and_10_px_nudges_apart(studio):  # noqa: F811
    edit = next(m.menu() for m in studio.menuBar().actions() if m.text().replace("&", "") == "Edit")
    texts = {a.text(): a.shortcut().toString() for a in edit.actions() if "px" in a.text()}
    assert texts["Move the selected joint 1 px left"] == "Alt+Left"
    assert texts["Move the selected joint 10 px left"] == "Alt+Shift+Left"
    assert len(texts) == 8  # four directions, two step sizes, all named apart


def test_rpan_studio_video_option_opens_that_video_of_the_project(qtbot, tmp_path, coded_project):
    """`rpan-studio PROJECT --video NAME` (e.g. the demo's real clip) shows that video, not the first."""
    import argparse

    from rpan_studio import app as app_mod

    from .coded_clips import write_coded_clip

    project, first = coded_project(N)
    second = project.add_video(write_coded_clip(tmp_path / "second", 8))
    folder = project.folder
    project.close()
    parser = argparse.ArgumentParser()
    app_mod.configure_parser(parser)
    args = parser.parse_args([str(folder), "--no-analyze", "--video", "second"])
    make_app()
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), auto_analyze=False)
    w.quiet = True
    qtbot.addWidget(w)
    w.first_video = args.video
    w.open_project(args.project)
    assert w.video_id == second != first
    from rpan_core.project import Project
    from tests.core.test_add import write_video

    reopened = Project.open(folder)
    third = reopened.add_video(write_video(tmp_path / "third.avi", n=8))
    reopened.close()
    w.first_video = "third"  # a file's name without its extension, as `rpan propagate --video` takes it
    w.open_project(folder)
    assert w.video_id == third
    w.first_video = "nope"  # an unknown name: the first video, and a message saying so
    w.open_project(folder)
    assert w.video_id == first and "no video 'nope'" in w.errors[-1]
