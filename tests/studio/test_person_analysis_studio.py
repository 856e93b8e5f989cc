"""Per-person analysis in the studio on a 3-person synthetic project (rpan_core.synth, persons=3): Ctrl+R analyzes
each person on its crop in the task worker, each person's heat map is drawn through its own crop window, each
estimated pose in its person's colour, and the plots, accept and propagate follow the selected person.

The per-person model is a stand-in with known answers (the real one is rpan_core's, tested in tests/core): for
each person it looks through ``Window.around_box`` of the boxes the studio passes, puts each joint's attention on
the grid cell under the person's true joint, and reads the true joints back."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
from PyQt6.QtCore import QSettings

from rpan_core.geometry import Window, input_to_cells
from rpan_studio.app import make_app
from rpan_studio.main_window import MainWindow
from rpan_studio.person_commands import person_colour
from tests.studio.conftest import three_person_project

N_FRAMES, SIZE = 8, (120, 160)
IN_SIZE, GRID = (64, 48), (8, 6)


def fake_person_analysis(truth: np.ndarray, boxes: np.ndarray, person: int, n_classes: int) -> SimpleNamespace:
    """``truth`` T x J x 2: the person's joints; the analysis looks through a crop around each frame's box."""
    T, J = truth.shape[:2]
    att = np.full((T, J, *GRID), 1e-4, np.float32)
    win = np.zeros((T, 2, 3))
    for t in range(T):
        w = Window.around_box(boxes[t], IN_SIZE, margin=0.15)
        win[t] = w.matrix
        cells = input_to_cells(w.to_input(truth[t]), IN_SIZE, GRID)  # (row, col), centres at integers
        for j in range(J):
            r, c = (int(np.clip(np.round(v), 0, g - 1)) for v, g in zip(cells[j], GRID))
            att[t, j, r, c] = 1.0
    att /= att.sum(axis=(2, 3), keepdims=True)
    probs = np.full((T, n_classes), 0.1 / max(1, n_classes - 1), np.float32)
    probs[:, person - 1] = 0.9
    hidden = np.zeros((T, 16), np.float32)
    hidden[:, person] = np.linspace(0.0, float(person), T)
    return SimpleNamespace(attention=att.astype(np.float16), dummy=np.zeros((T, J), np.float16),
                           xy=truth.astype(np.float32), xy_argmax=truth.astype(np.float32),
                           conf=np.full((T, J), 0.8, np.float32), hidden=hidden, probs=probs, video_pred=person - 1,
                           video_probs=probs[-1], classes=[f"c{k}" for k in range(n_classes)], skeleton="pennaction",
                           frame_size=SIZE, grid=GRID, stream="rgb", window=win, input_size=IN_SIZE,
                           person=str(person))


@pytest.fixture
def scene(qtbot, tmp_path):
    make_app()
    project, vid = three_person_project(tmp_path / "three", N_FRAMES, SIZE)
    truth = {p.id: np.asarray(project.video_labels(vid, person=p.id).xy, np.float64) for p in project.persons(vid)}
    calls: list[dict] = []

    def analyze_person(video_path, checkpoint, boxes, *, person, project=None, progress=None, cancel=None):
        calls.append({"person": person, "boxes": np.array(boxes),
                      "main_thread": threading.current_thread() is threading.main_thread()})
        if progress is not None:
            progress(N_FRAMES, N_FRAMES)
        return fake_person_analysis(truth[person], np.asarray(boxes), person, 4)

    whole: list[str] = []

    def analyze_whole(video_path, checkpoint, project=None, progress=None, cancel=None):
        whole.append(video_path)
        return fake_person_analysis(truth[1], np.tile([[0, 0, SIZE[1], SIZE[0]]], (N_FRAMES, 1)), 1, 4)

    checkpoint = tmp_path / "fake.pt"
    checkpoint.write_bytes(b"x")
    w = MainWindow(project, checkpoint=checkpoint, analyze_fn=analyze_whole, analyze_person_fn=analyze_person,
                   settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    w.quiet = True
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitUntil(lambda: len(w.state.person_analyses) == 3 and w.view.frame_index == 0, timeout=20000)
    w.test = SimpleNamespace(project=project, vid=vid, truth=truth, calls=calls, whole=whole)
    yield w
    w.close()


def _seek(qtbot, w, frame):
    w.seek(frame)
    qtbot.waitUntil(lambda: w.view.frame_index == frame, timeout=5000)


def _heat_alpha(w) -> np.ndarray:
    """The heat map's alpha resampled to frame pixels (the image covers the frame rect)."""
    import cv2

    img = w.view.heat_item.image
    H, W = SIZE
    return cv2.resize(np.ascontiguousarray(img[..., 3]), (W, H), interpolation=cv2.INTER_NEAREST)


def test_each_person_analyzed_on_its_crop_in_the_worker_heat_and_pose_on_its_person(qtbot, scene):
    w, t = scene, scene.test
    p, vid = t.project, t.vid
    assert w.errors == [] and t.whole == []  # several persons: no whole-frame analysis
    assert sorted(c["person"] for c in t.calls) == [1, 2, 3]
    assert not any(c["main_thread"] for c in t.calls)  # in the task worker, never on the UI thread
    for c in t.calls:  # each person's own boxes, from the store
        np.testing.assert_allclose(c["boxes"], p.person_boxes(vid, c["person"]))
    _seek(qtbot, w, 4)
    w.state.set_overlay(heat_mode="max")  # every joint's cell at its person's peak
    assert w.view.heat_item.isVisible()
    alpha = _heat_alpha(w)
    hot = alpha > 0.5 * alpha.max()
    for pid, xy in t.truth.items():  # every person's joints lie under its heat map...
        inside = [hot[int(np.clip(y, 0, SIZE[0] - 1)), int(np.clip(x, 0, SIZE[1] - 1))] for x, y in xy[4]]
        assert np.mean(inside) > 0.5, f"person {pid}: heat at {np.mean(inside):.0%} of its joints"
    # ... and the heat lies on the persons: inside the union of their crops
    crops = np.zeros(SIZE, bool)
    for pa in w.state.person_analyses.values():
        x0, y0, x1, y1 = Window(pa.window[4], IN_SIZE).frame_box() + 0.5  # frame points -> pixel edges
        crops[max(0, int(np.floor(y0))):int(np.ceil(y1)), max(0, int(np.floor(x0))):int(np.ceil(x1))] = True
    assert not ((alpha > 0.05 * alpha.max()) & ~crops).any()
    # the selected person's pose is the view's skeleton; the others' estimates are drawn in their colours
    assert w.state.person == 1
    np.testing.assert_allclose(w.view.skeleton.xy, t.truth[1][4], atol=1e-3)
    for pid in (2, 3):
        np.testing.assert_allclose(w.persons_layer.estimate_xy(pid), t.truth[pid][4], atol=1e-3)
        est = w.persons_layer.drawn(pid)
        assert est.colour == person_colour(pid)
        assert w.persons_layer.crowd.pen("est", est.colour).style().name == "DashLine"
    assert w.persons_layer.estimate_xy(1) is None
    # the plots follow the selected person
    assert w.action_plot.predicted == 0 and w.dynamics_plot.data is not None
    d1 = np.array(w.dynamics_plot.data)
    w.actions_["next_person"].trigger()
    assert w.state.person == 2 and w.state.analysis is w.state.person_analyses[2]
    assert w.action_plot.predicted == 1 and not np.array_equal(np.array(w.dynamics_plot.data), d1)
    np.testing.assert_allclose(w.view.skeleton.xy, t.truth[2][4], atol=1e-3)
    np.testing.assert_allclose(w.persons_layer.estimate_xy(1), t.truth[1][4], atol=1e-3)
    assert w.persons_layer.estimate_xy(2) is None
    np.testing.assert_allclose(w.editor.prediction[0], t.truth[2][4], atol=1e-3)  # offered to edit as person 2's
    # the skeleton toggle hides the others' estimates with the selected one's
    w.overlays.skeleton_check.toggle()
    assert w.persons_layer.estimate_xy(1) is None
    w.overlays.skeleton_check.toggle()
    assert w.persons_layer.estimate_xy(1) is not None
    # deleting a person takes its analysis with it: its heat map and pose are no longer drawn
    w.state.set_person(3)
    w.persons.delete()
    assert sorted(w.state.person_analyses) == [1, 2] and len(w.display.person_heat_layers(4)) == 2
    assert w.persons_layer.estimate_xy(3) is None


def test_accept_and_propagate_use_the_selected_persons_own_analysis(qtbot, scene, monkeypatch):
    import rpan_core.propagate as prop

    w, t = scene, scene.test
    p, vid = t.project, t.vid
    w.state.set_person(3)
    _seek(qtbot, w, 5)
    # person 3's labels on frame 5 removed: A puts its model pose back as accepted labels, person 3's only
    for j in range(p.skeleton.num_joints):
        p.delete_label(vid, 5, j, person=3)
    w.editor.reload()
    before = {q: p.frame_labels(vid, 5, person=q) for q in (1, 2)}
    w.actions_["accept_frame"].trigger()
    got = p.frame_labels(vid, 5, person=3)
    assert w.errors == [] and len(got) == p.skeleton.num_joints
    assert all(str(lab.source) == "accepted" for lab in got.values())
    np.testing.assert_allclose([[got[j].x, got[j].y] for j in sorted(got)], t.truth[3][5], atol=1e-3)
    assert {q: p.frame_labels(vid, 5, person=q) for q in (1, 2)} == before
    # Shift+I propagates person 3 with person 3's own analysis (its crops), not the whole frame's
    seen = {}
    real = prop.propagate_video

    def spy(project, video_id, **kw):
        seen.update(kw)
        return real(project, video_id, **kw)

    monkeypatch.setattr(prop, "propagate_video", spy)
    w.actions_["propagate"].trigger()
    w.wait_tasks()
    assert w.errors == [] and seen["person"] == 3 and seen["analysis"] is w.state.person_analyses[3]


def test_a_single_person_video_keeps_the_whole_frame_analysis(qtbot, scene):
    w, t = scene, scene.test
    for pid in (3, 2):
        w.state.set_person(pid)
        w.persons.delete()
    assert [q.id for q in t.project.persons(t.vid)] == [1]
    n = len(t.calls)
    w.analyze()
    w.wait_tasks()
    qtbot.waitUntil(lambda: w.state.analysis is not None and not w.state.person_analyses, timeout=5000)
    assert len(t.whole) == 1 and len(t.calls) == n  # the whole frame, not crops
    assert w.state.analysis_reads(1)


def test_a_person_without_any_box_is_left_out_with_a_message(qtbot, scene):
    w, t = scene, scene.test
    pid = w.persons.add("Dee")  # no box, no label: nothing to crop around
    del t.calls[:]
    w.analyze()
    w.wait_tasks()
    qtbot.waitUntil(lambda: len(t.calls) == 3 and len(w.state.person_analyses) == 3, timeout=5000)
    assert sorted(c["person"] for c in t.calls) == [1, 2, 3] and pid not in w.state.person_analyses
    assert "Dee" in w.statusBar().currentMessage() and "Shift+drag" in w.statusBar().currentMessage()
    assert w.state.person == pid and w.state.analysis is None  # Dee selected: no analysis reads Dee
    w.actions_["accept_frame"].trigger()
    assert w.errors and "Dee has no model pose" in w.errors[-1]


def test_ctrl_r_with_the_core_per_person_analysis_and_the_demo_model(qtbot, tmp_path):
    """The real path: rpan_core's per-person analysis of the shipped demo model, run by Ctrl+R in the worker."""
    pytest.importorskip("rpan_core.person_analysis")
    from rpan_core.demo import demo_checkpoint_path

    make_app()
    ck = demo_checkpoint_path()
    if not ck.is_file():
        pytest.skip("the shipped demo checkpoint is not in this checkout")
    project, vid = three_person_project(tmp_path / "three", N_FRAMES, SIZE)
    w = MainWindow(project, checkpoint=ck, auto_analyze=False,
                   settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    w.quiet = True
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    qtbot.waitUntil(lambda: w.view.frame_index == 0, timeout=10000)
    w.actions_["analyze"].trigger()
    qtbot.waitUntil(lambda: len(w.state.person_analyses) == 3, timeout=120000)
    assert w.errors == []
    _seek(qtbot, w, 3)
    H, W = SIZE
    for pid, a in w.state.person_analyses.items():
        assert np.asarray(a.window).shape == (N_FRAMES, 2, 3) and np.asarray(a.xy).shape[0] == N_FRAMES
        win = Window(np.asarray(a.window[3]), tuple(a.input_size))
        x0, y0, x1, y1 = win.frame_box()
        xy = np.asarray(a.xy[3])
        assert ((xy[:, 0] >= x0 - 1) & (xy[:, 0] <= x1 + 1) & (xy[:, 1] >= y0 - 1) & (xy[:, 1] <= y1 + 1)).all()
        box = project.person_box(vid, 3, pid)  # the crop is around the person's own box
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        assert box[0] <= cx <= box[2] and box[1] <= cy <= box[3]
    np.testing.assert_allclose(w.view.skeleton.xy, w.state.person_analyses[1].xy[3], atol=1e-3)
    for pid in (2, 3):
        np.testing.assert_allclose(w.persons_layer.estimate_xy(pid)[:, 0],
                                   np.asarray(w.state.person_analyses[pid].xy[3], np.float64)[:, 0], atol=1e-3)
    assert w.view.heat_item.isVisible()
    alpha = _heat_alpha(w)
    crops = np.zeros(SIZE, bool)
    for a in w.state.person_analyses.values():
        x0, y0, x1, y1 = Window(np.asarray(a.window[3]), tuple(a.input_size)).frame_box() + 0.5
        crops[max(0, int(np.floor(y0))):int(np.ceil(y1)), max(0, int(np.floor(x0))):int(np.ceil(x1))] = True
    assert alpha.max() > 0 and not ((alpha > 0) & ~crops).any()  # heat only where some person's crop looked
