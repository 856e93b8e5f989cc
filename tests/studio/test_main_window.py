"""The main window through its real widgets (pytest-qt, offscreen), on index-coded clips.

Every frame of the test clip carries its index in its first pixels, so "the frame
on screen is the frame asked for" is checked exactly, and the fake analysis puts
the attention peak and the pose on a moving square whose position is known.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QSettings, Qt
from PyQt6.QtGui import QImage

from rpan_studio.app import make_app
from rpan_studio.actions import help_rows
from rpan_studio.main_window import MainWindow

from .coded_clips import GRID, H, LOW_CONF_FRAMES, OFF_FRAME_JOINT, W, frame_index_of, make_analysis, person_center

N = 40


@pytest.fixture
def studio(qtbot, tmp_path, coded_project):
    make_app()
    project, vid = coded_project(N)
    analysis = make_analysis(N)
    calls = []

    def fake_analyze(video_path, checkpoint, project=None, progress=None, cancel=None):
        calls.append((video_path, checkpoint))
        if progress:
            progress(N, N)
        return analysis

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    checkpoint = tmp_path / "fake.pt"
    checkpoint.write_bytes(b"x")  # a file: the state validates a checkpoint where it is set
    w = MainWindow(project, checkpoint=checkpoint, analyze_fn=fake_analyze, settings=settings)
    w.quiet = True
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitUntil(lambda: w.analysis is not None and w.view.frame_index == 0, timeout=10000)
    w.test_calls = calls
    w.test_analysis = analysis
    w.test_tmp = tmp_path
    yield w
    w.close()


def wait_shown(qtbot, w, frame):
    qtbot.waitUntil(lambda: w.frame == frame and w.view.frame_index == frame, timeout=5000)
    assert frame_index_of(w.view.image_item.image) == frame  # the pixels are frame `frame`'s


def test_opens_project_analyzes_in_background(studio):
    w = studio
    assert w.test_calls and w.test_calls[0][1].endswith("fake.pt")
    assert w.video_list.count() == 1
    assert w.spin.maximum() == N - 1
    assert w.action_plot.curves and len(w.action_plot.curves) == 3
    assert w.dynamics_plot.data.shape == (32, N)
    assert w.errors == []


def test_seek_by_typing_in_spinbox(qtbot, studio):
    w = studio
    w.spin.setFocus()
    w.spin.lineEdit().selectAll()
    qtbot.keyClicks(w.spin.lineEdit(), "17")
    qtbot.keyClick(w.spin.lineEdit(), Qt.Key.Key_Return)
    wait_shown(qtbot, w, 17)
    # the overlays belong to frame 17, not to the frame shown before
    xs, ys = w.view.skeleton.points.getData()
    pts = np.stack([xs, ys], axis=1)
    np.testing.assert_allclose(pts, w.test_analysis.xy[17], atol=1e-4)
    assert w.editor.frame == 17
    # the joint the model parks on its dummy cell is drawn hollow, with dashed edges
    assert list(np.flatnonzero(w.view.skeleton.occluded)) == [OFF_FRAME_JOINT]
    brushes = [b.color().alpha() for b in w.view.skeleton.points.data["brush"]]
    assert brushes[OFF_FRAME_JOINT] == 0 and all(a > 0 for j, a in enumerate(brushes) if j != OFF_FRAME_JOINT)
    dashed = [ln.pen().style() == Qt.PenStyle.DashLine for ln in w.view.skeleton.lines]
    touching = [OFF_FRAME_JOINT in e for e in w.view.skeleton.edges]
    assert dashed == touching and any(dashed)
    assert "frame 17" in w.view.caption.text
    assert w.seekbar.cursor.value() == 17 and w.action_plot.cursor.value() == 17


def _click_plot_at_frame(qtbot, plot, frame):
    vb = plot.getPlotItem().getViewBox()
    y_mid = sum(vb.viewRange()[1]) / 2
    scene_pt = vb.mapViewToScene(__import__("pyqtgraph").Point(frame, y_mid))
    view_pt = plot.mapFromScene(scene_pt)
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(view_pt.x(), view_pt.y()))


def test_click_on_seek_bar_and_plots_seeks(qtbot, studio):
    w = studio
    _click_plot_at_frame(qtbot, w.seekbar, 25)
    wait_shown(qtbot, w, 25)
    _click_plot_at_frame(qtbot, w.action_plot, 8)
    wait_shown(qtbot, w, 8)
    _click_plot_at_frame(qtbot, w.dynamics_plot, 31)
    wait_shown(qtbot, w, 31)


def test_heat_map_is_on_the_person_and_toggles(qtbot, studio):
    w = studio
    w.seek(21)
    wait_shown(qtbot, w, 21)
    for mode in range(4):  # one joint, body part, mean, max: the fake puts every joint on the person
        w.overlays.heat_mode.setCurrentIndex(mode)
        heat = w.view.heat_item
        assert heat.isVisible()
        alpha = heat.image[..., 3].astype(float)
        r, c = np.unravel_index(np.argmax(alpha), alpha.shape)
        rect = heat.mapRectToParent(heat.boundingRect())
        x = rect.left() + (c + 0.5) * rect.width() / alpha.shape[1]
        y = rect.top() + (r + 0.5) * rect.height() / alpha.shape[0]
        px, py = person_center(21)
        cell_w, cell_h = W / GRID[1], H / GRID[0]
        assert abs(x - px) <= cell_w / 2 and abs(y - py) <= cell_h / 2, (mode, x, y, px, py)
    w.overlays.heat_check.setChecked(False)
    assert not w.view.heat_item.isVisible()
    w.overlays.heat_check.setChecked(True)
    assert w.view.heat_item.isVisible()
    assert w.view.skeleton.points.isVisible()
    w.overlays.skeleton_check.setChecked(False)
    assert not w.view.skeleton.points.isVisible()
    assert all(not ln.isVisible() for ln in w.view.skeleton.lines)
    w.overlays.annotation_check.setChecked(False)
    assert all(not h.isVisible() for h in w.editor.handles)


def test_review_queue_click_seeks(qtbot, studio):
    w = studio
    assert w.review_list.count() > 0
    first = w.review_list.item(0)
    assert first.data(Qt.ItemDataRole.UserRole) == LOW_CONF_FRAMES[0]
    rect = w.review_list.visualItemRect(first)
    qtbot.mouseClick(w.review_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    wait_shown(qtbot, w, LOW_CONF_FRAMES[0])


def test_jumps_and_accept_shortcut_label_state(qtbot, studio):
    w = studio
    assert w.jump("lowconf", 1) == LOW_CONF_FRAMES[0]
    assert w.jump("lowconf", 1) == LOW_CONF_FRAMES[1]
    w.seek(30)
    wait_shown(qtbot, w, 30)
    w.setFocus()
    w.actions_["accept_frame"].trigger()
    assert w.project.frame_states(w.video_id)[30] == 2
    assert w.states[30] == 2 and w.states[29] == 1  # accepted vs only predicted
    w.seek(0)
    assert w.jump("labeled", 1) == 30
    assert w.jump("unlabeled", 1) == 31
    w.undo_action.trigger()
    assert w.project.frame_states(w.video_id)[30] == 0
    assert w.states[30] == 1
    w.step(-1)
    assert w.frame == 30


def test_latest_request_wins_in_the_view(qtbot, studio):
    w = studio
    for f in range(1, N):
        w.seek(f)
    wait_shown(qtbot, w, N - 1)
    assert w.display.loader.wait_idle(5)
    assert w.view.frame_index == N - 1


def test_export_png_and_mp4(qtbot, studio):
    w = studio
    out = w.export_png("view", w.test_tmp / "view.png")
    img = QImage(str(out))
    assert not img.isNull() and img.width() == w.view.width()
    dyn = w.export_png("dynamics", w.test_tmp / "dyn.png")
    assert not QImage(str(dyn)).isNull()
    worker = w.export_video(w.test_tmp / "clip_overlay.mp4", start=0, stop=6)
    qtbot.waitUntil(lambda: worker.status in ("done", "failed"), timeout=20000)
    assert worker.status == "done", worker.error
    from rpan_core.video import open_video

    with open_video(worker.result) as v:
        assert v.frame_count == 6 and (v.width, v.height) == (W, H)
        frame = v.frame(3)
    x, y = np.round(w.test_analysis.xy[3, 6]).astype(int)
    r, g, b = frame[y, x].astype(int)
    assert g > 150 and g > r + 60, (r, g, b)  # a confident (green) joint dot is burnt in


def test_analysis_can_be_cancelled_and_never_blocks_seeking(qtbot, studio):
    w = studio
    started = threading.Event()

    def slow(video_path, checkpoint, project=None, progress=None, cancel=None):
        started.set()
        for i in range(400):
            if cancel():
                return None
            progress(i, 400)
            time.sleep(0.01)
        return w.test_analysis

    w.set_analysis(None)
    w.session.analyze_fn = slow
    worker = w.analyze()
    assert started.wait(5)
    assert w.progress.isVisible() and w.cancel_button.isVisible()
    w.seek(12)  # the UI thread is free while the analysis runs
    wait_shown(qtbot, w, 12)
    qtbot.mouseClick(w.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: worker.isFinished(), timeout=5000)
    assert worker.status == "cancelled"
    qtbot.waitUntil(lambda: not w.progress.isVisible(), timeout=2000)
    assert w.analysis is None


def test_play_advances_and_pauses(qtbot, studio):
    w = studio
    w.seek(0)
    w.toggle_play()
    qtbot.waitUntil(lambda: w.frame >= 5, timeout=5000)
    w.toggle_play()
    f = w.frame
    qtbot.wait(200)
    assert w.frame == f and not w.play_timer.isActive()


def test_shortcut_help_lists_every_key(studio):
    dlg = studio.show_shortcuts()
    table = dlg.findChild(__import__("PyQt6.QtWidgets", fromlist=["QTableWidget"]).QTableWidget)
    assert table.rowCount() == len(help_rows())
    keys = {table.item(i, 0).text() for i in range(table.rowCount())}
    assert {"Space", "Ctrl+Z", "A", "I"} <= keys


def test_recent_projects_are_remembered(studio):
    assert studio._recent()[0].endswith("proj")
    assert studio.recent_menu.actions()


def test_cli_parser_accepts_project_and_checkpoint():
    from rpan_core.cli import build_parser

    args = build_parser("studio").parse_args(["studio", "some/folder", "--checkpoint", "ck.pt", "--no-analyze"])
    assert args.project == "some/folder" and args.checkpoint == "ck.pt" and args.no_analyze


def test_accept_range_is_one_undo_step(studio):
    w = studio
    w.labeling.accept_range(10, 14)
    st = w.project.frame_states(w.video_id)
    assert list(np.flatnonzero(st)) == [10, 11, 12, 13, 14] and set(st[10:15]) == {2}
    lab = w.project.frame_labels(w.video_id, 12)
    np.testing.assert_allclose([lab[4].x, lab[4].y], w.test_analysis.xy[12, 4], atol=1e-4)
    # the model's own visibility: the joint whose mass sits on the dummy cell is accepted as occluded
    assert not lab[OFF_FRAME_JOINT].visible and all(lab[j].visible for j in lab if j != OFF_FRAME_JOINT)
    w.undo_stack.undo()
    assert not w.project.frame_states(w.video_id).any()


def test_training_finished_offers_reanalysis_with_new_checkpoint(qtbot, studio):
    w = studio
    dlg = w.open_training()
    n = len(w.test_calls)
    best = w.test_tmp / "runs" / "r1" / "best.pt"
    best.parent.mkdir(parents=True)
    best.write_bytes(b"x")
    dlg.runFinished.emit(str(best.parent), str(best))
    assert w.checkpoint.endswith("best.pt")
    assert any(e.startswith("asked: Training finished") for e in w.errors)
    qtbot.waitUntil(lambda: len(w.test_calls) == n + 1, timeout=5000)
    assert w.test_calls[-1][1].endswith("best.pt")
    w.wait_tasks()
    dlg.close()


def test_demo_opens_in_a_worker(qtbot, tmp_path, monkeypatch, coded_project):
    """With no argument the studio opens the demo: built in a worker (busy bar), then shown."""
    import sys
    import types

    from rpan_core.demo import DemoPath

    make_app()
    project, _ = coded_project(12)
    folder = project.folder
    project.close()
    gate = threading.Event()
    demo_ck = tmp_path / "demo.pt"
    demo_ck.write_bytes(b"x")

    def ensure_demo_project():
        gate.wait(5)  # still "building" while the window must stay responsive
        found = DemoPath(folder)
        found.checkpoint = demo_ck
        return found

    monkeypatch.setitem(sys.modules, "rpan_core.demo", types.SimpleNamespace(ensure_demo_project=ensure_demo_project))
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    analysis = make_analysis(12)
    w = MainWindow(analyze_fn=lambda *a, **k: analysis, settings=settings)
    w.quiet = True
    qtbot.addWidget(w)
    w.show()
    worker = w.open_demo()
    qtbot.waitUntil(lambda: worker.isRunning(), timeout=2000)
    assert w.progress.isVisible() and w.progress.maximum() == 0  # busy indicator
    gate.set()
    qtbot.waitUntil(lambda: w.project is not None and w.analysis is not None and w.view.frame_index == 0,
                    timeout=10000)
    assert w.project.folder == folder
    assert w.checkpoint.endswith("demo.pt") and w.state.checkpoint_origin == "demo"
    w.close()


def test_keyboard_steps_and_jumps(qtbot, studio):
    w = studio
    w.activateWindow()
    qtbot.waitUntil(lambda: w.isActiveWindow(), timeout=3000)
    w.view.setFocus()
    qtbot.keyClick(w.view, Qt.Key.Key_Right)
    wait_shown(qtbot, w, 1)
    qtbot.keyClick(w.view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    wait_shown(qtbot, w, 11)
    qtbot.keyClick(w.view, Qt.Key.Key_L)  # next low-confidence frame
    wait_shown(qtbot, w, LOW_CONF_FRAMES[1])
    qtbot.keyClick(w.view, Qt.Key.Key_Left)
    wait_shown(qtbot, w, LOW_CONF_FRAMES[1] - 1)


def test_undecodable_frame_is_reported_without_a_dialog(qtbot, studio):
    w = studio
    bad = w.video.path / "00007.png"
    bad.write_bytes(b"not a png")
    w.video.cache.clear()
    w.seek(7)
    qtbot.waitUntil(lambda: any("7" in e for e in w.errors), timeout=5000)
    assert w.view.frame_index != 7
    w.seek(8)
    wait_shown(qtbot, w, 8)


def test_add_videos_many_at_once_and_switch(qtbot, studio):
    from .coded_clips import write_coded_clip

    w = studio
    a = write_coded_clip(w.test_tmp / "more_a", 6)
    b = write_coded_clip(w.test_tmp / "more_b", 9)
    ids = w.add_videos([str(a), str(b)])
    assert len(ids) == 2 and w.video_list.count() == 3
    w.seek(20)
    wait_shown(qtbot, w, 20)
    w.video_list.setCurrentRow(2)
    qtbot.waitUntil(lambda: w.video_id == ids[1] and w.view.frame_index == 0, timeout=5000)
    assert w.spin.maximum() == 8 and w.frame == 0
    assert frame_index_of(w.view.image_item.image) == 0


def test_accept_range_menu_asks_in_a_dialog_then_the_command_acts(studio, monkeypatch):
    """Dialogs ask, commands act: the typed range is parsed on the dialog side; a typo is one line, nothing written."""
    from PyQt6.QtWidgets import QInputDialog

    w = studio
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("10-14", True)))
    w.actions_["accept_range"].trigger()
    assert list(np.flatnonzero(w.project.frame_states(w.video_id))) == [10, 11, 12, 13, 14]
    w.undo_stack.undo()
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("10 to 14", True)))
    w.actions_["accept_range"].trigger()
    assert w.errors == ["'10 to 14' is not a frame range; write it as first-last, e.g. 10-40"]
    assert not w.project.frame_states(w.video_id).any()


def test_a_checkpoint_is_validated_where_it_is_set(studio, monkeypatch):
    from PyQt6.QtWidgets import QFileDialog

    from rpan_core.errors import CheckpointError

    w = studio
    before = w.checkpoint
    with pytest.raises(CheckpointError, match="missing.pt is not a file"):
        w.state.set_checkpoint(w.test_tmp / "missing.pt")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(w.test_tmp / "gone.pt"), "")))
    w.actions_["choose_checkpoint"].trigger()
    assert len(w.errors) == 1 and "gone.pt is not a file" in w.errors[0]
    assert w.checkpoint == before


def test_training_dialog_names_the_current_checkpoint_and_where_it_came_from(studio):
    w = studio
    dlg = w.open_training()
    assert dlg.init_current.text() == f"Current checkpoint: {w.test_tmp.name}/fake.pt (given)"
    assert "Demo" not in dlg.init_current.text()
    dlg.close()
