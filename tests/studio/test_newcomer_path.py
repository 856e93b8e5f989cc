"""A newcomer's path, through the real widgets: the studio on the demo, open a real video, read the model's
card (the demo model says it is synthetic), label a frame (P and 13 clicks), train a tiny run from the Train
dialog (the real `rpan train`), re-analyze with the new model (its card now says real video)."""
from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from PyQt6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import QApplication, QFileDialog

from rpan_core.demo import REPO_ROOT
from rpan_studio.app import make_app
from rpan_studio.main_window import MainWindow

REAL_CLIP = REPO_ROOT / "assets" / "pose2sim_cam01.mp4"


def _short_real_clip(out: Path, n: int = 12) -> Path:
    """The first frames of the shipped real clip, a quarter of its size (a real person, kept fast)."""
    cap = cv2.VideoCapture(str(REAL_CLIP))
    wr = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (216, 384))
    for _ in range(n):
        ok, frame = cap.read()
        assert ok
        wr.write(cv2.resize(frame, (216, 384), interpolation=cv2.INTER_AREA))
    wr.release()
    cap.release()
    return out


def _click_at(qtbot, w, x: float, y: float) -> None:
    view, vb = w.view, w.view.view_box
    p = view.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
    vp, left, none = view.viewport(), Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, b, bs in ((QEvent.Type.MouseMove, none, none), (QEvent.Type.MouseButtonPress, left, left),
                        (QEvent.Type.MouseButtonRelease, left, none)):
        QApplication.sendEvent(vp, QMouseEvent(kind, QPointF(p), QPointF(vp.mapToGlobal(QPoint(p.x(), p.y()))), b,
                                               bs, Qt.KeyboardModifier.NoModifier))
        qtbot.wait(15)


def _menu(w, title, start):
    for m in w.menuBar().actions():
        if m.text().replace("&", "") == title:
            for a in m.menu().actions():
                if a.text().replace("&", "").startswith(start):
                    return a
    raise AssertionError(f"no {title} > {start}")


@pytest.mark.skipif(not REAL_CLIP.exists(), reason="the real demo clip is not shipped in this checkout")
def test_newcomer_demo_real_video_card_label_train_reanalyze(qtbot, tmp_path, monkeypatch):
    import rpan_core.demo as demo

    monkeypatch.setenv("RPAN_DEMO_DIR", str(tmp_path / "demo"))
    monkeypatch.setenv("RPAN_SCRATCH_DIR", str(tmp_path / "scratch"))
    monkeypatch.setattr(demo, "DEMO_VIDEOS", 2)  # a small demo: the path, not the dataset, is under test
    monkeypatch.setattr(demo, "DEMO_FRAMES", 16)
    make_app()
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w.quiet, w.quiet_answer = True, True
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    # 1. the studio on the demo (what `make studio` opens): a synthetic clip analyzed by the demo model
    w.open_demo()
    qtbot.waitUntil(lambda: w.analysis is not None and w.view.frame_index == 0, timeout=120000)
    assert w.state.checkpoint_origin == "demo" and not w.banner.isVisible()
    # 2. open a real video (File > Open video): a scratch project, analyzed by the demo model, with a banner
    clip = _short_real_clip(tmp_path / "walk.mp4")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(clip), "")))
    _menu(w, "File", "Open video").trigger()
    qtbot.waitUntil(lambda: w.project is not None and w.project.folder.parent == tmp_path / "scratch"
                    and w.analysis is not None and w.view.frame_index == 0, timeout=60000)
    assert "Demo model trained on synthetic figures" in w.banner.text() and w.banner.isVisible()
    # 3. the model's card
    w.activateWindow()
    qtbot.waitUntil(lambda: w.isActiveWindow(), timeout=3000)
    w.view.setFocus()
    qtbot.keyClick(w.view, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(w, "model_card_dialog", None) is not None, timeout=3000)
    assert "synthetic figures" in w.model_card_dialog.text()
    w.model_card_dialog.close()
    # 4. label frame 3: Ctrl+G 3 Enter, then P and one click per joint
    w.activateWindow()
    qtbot.waitUntil(lambda: w.isActiveWindow(), timeout=3000)
    w.view.setFocus()
    qtbot.keyClick(w.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(w.spin.lineEdit(), "3")
    qtbot.keyClick(w.spin.lineEdit(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.frame == 3 and w.view.frame_index == 3, timeout=5000)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_P)
    pose = [(108, 60), (90, 100), (126, 100), (80, 150), (136, 150), (76, 195), (140, 195),
            (96, 200), (120, 200), (94, 270), (122, 270), (92, 340), (124, 340)]
    for x, y in pose:
        _click_at(qtbot, w, x, y)
    labels = w.project.frame_labels(w.video_id, 3)
    assert len(labels) == 13 and w.editor.placing_joint is None
    # 5. train a tiny run from the Train dialog (Ctrl+T), starting from the current (demo) checkpoint
    qtbot.keyClick(w.view, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(w, "training_dialog", None) is not None, timeout=3000)
    dlg = w.training_dialog
    assert dlg.init_current.isChecked() and dlg.init_current.text().startswith("Demo checkpoint")
    assert "No video has an action" in dlg.notes_label.text()
    dlg.epochs_spin.setValue(1)
    dlg.device_combo.setCurrentText("cpu")
    first = w.analysis
    with qtbot.waitSignal(dlg.runFinished, timeout=240000) as sig:
        dlg.start_button.click()
    run_dir, checkpoint = sig.args
    assert checkpoint and Path(checkpoint).exists(), dlg.log_view.toPlainText()
    # 6. re-analyze (the studio asks; yes): the new model, whose card says real video and one labeled frame
    qtbot.waitUntil(lambda: w.checkpoint == checkpoint and w.analysis is not None and w.analysis is not first,
                    timeout=120000)
    assert w.banner.text() == ("Model trained on only 1 labeled frame: its poses are rough guesses to correct, "
                               "not estimates")
    w.show_model_card()
    text = w.model_card_dialog.text()
    assert "Trained on: real video" in text and "Labeled frames: 1" in text
    dlg.close()
    w.close()
