"""The persons layer draws every person of a 3-person scene: the selected one's box as the handle, the others
batched in one item (rpan_studio.views.persons_crowd), each in its colour with its name, box and skeleton; what it
reads per frame follows every edit (rpan_studio.views.persons_frame); the scrubbing benchmark paints them all.

Pixels are checked in a grab of the view over a black frame: a person's colour must be painted along its box's
edges."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QPointF
from PyQt6.QtGui import QUndoStack

from rpan_studio import commands as cmds
from rpan_studio.app import make_app
from rpan_studio.person_commands import DeletePersonCommand, person_colour
from rpan_studio.state import StudioState
from rpan_studio.views.persons_frame import PersonsFrames
from rpan_studio.views.persons_layer import PersonsLayer
from rpan_studio.views.video_view import VideoView
from tests.studio.conftest import three_person_project

N_FRAMES, SIZE, FRAME = 8, (120, 160), 3


@pytest.fixture
def three(qtbot, tmp_path):
    make_app()
    project, vid = three_person_project(tmp_path / "three", N_FRAMES, SIZE)
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(640, 520)
    view.show()
    view.set_frame(FRAME, np.zeros((*SIZE, 3), np.uint8))  # black: no person colour but what the layer paints
    st = StudioState()
    st.project, st.video_id, st.person = project, vid, 1
    stack = QUndoStack()
    layer = PersonsLayer(view.view_box, st, stack)
    layer.show(FRAME)
    yield view, layer, st, stack, project, vid
    view.close()
    project.close()


def _rgb(view) -> np.ndarray:
    img = view.grab().toImage().convertToFormat(view.grab().toImage().Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    return np.frombuffer(img.constBits().asstring(bpl * h), np.uint8).reshape(h, bpl)[:, :3 * w].reshape(h, w, 3)


def _edge_cover(view, box, colour) -> float:
    """The fraction of the box's top and bottom edges on screen painted in exactly ``colour`` (a dashed
    line covers about two thirds, a solid one all; a skeleton or name near the box far less)."""
    rgb = _rgb(view)
    vb = view.view_box
    p0 = view.mapFromScene(vb.mapViewToScene(QPointF(float(box[0]), float(box[1]))))
    p1 = view.mapFromScene(vb.mapViewToScene(QPointF(float(box[2]), float(box[3]))))
    x0, x1 = sorted((p0.x(), p1.x()))
    hit = (rgb == np.array(colour, np.uint8)).all(axis=2)
    cover = []
    for y in (p0.y(), p1.y()):
        rows = hit[max(0, y - 2):y + 3, x0 + 2:x1 - 1]  # the line, give or take a pixel of rounding
        cover.append(rows.any(axis=0).mean())
    return float(np.mean(cover))


def _inside_hits(view, box, colour) -> int:
    """Pixels of exactly ``colour`` inside the box on screen, 4 px off its edges (the skeleton's)."""
    rgb = _rgb(view)
    vb = view.view_box
    p0 = view.mapFromScene(vb.mapViewToScene(QPointF(float(box[0]), float(box[1]))))
    p1 = view.mapFromScene(vb.mapViewToScene(QPointF(float(box[2]), float(box[3]))))
    x0, x1 = sorted((p0.x(), p1.x()))
    y0, y1 = sorted((p0.y(), p1.y()))
    return int((rgb[y0 + 4:y1 - 3, x0 + 4:x1 - 3] == np.array(colour, np.uint8)).all(axis=2).sum())


def _labels_xy(project, vid, frame, pid) -> np.ndarray:
    labs = project.frame_labels(vid, frame, pid)
    return np.array([[labs[j].x, labs[j].y] for j in sorted(labs)])


def test_every_person_is_drawn_in_its_colour_with_its_name_and_box(three):
    view, layer, st, _stack, p, vid = three
    persons = p.persons(vid)
    assert [q.id for q in persons] == [1, 2, 3]
    colours = {q.id: person_colour(q.id) for q in persons}
    assert len(set(colours.values())) == 3
    for q in persons:
        box = p.person_box(vid, FRAME, q.id)
        d = layer.drawn(q.id)
        assert d is not None and d.colour == colours[q.id] and d.name == q.name
        assert d.name_at == pytest.approx((box[0], box[1]))  # the name sits on its box's corner
        np.testing.assert_allclose(layer.box_rect(q.id), box)
        assert _edge_cover(view, box, colours[q.id]) > 0.4, f"person {q.id}'s box is not painted"
        if q.id == st.person:  # the selected person: its box is the handle, its joints the editor's
            assert layer.roi_person == q.id and layer.roi.isVisible() and d.box is None
            assert layer.roi.pen.color().getRgb()[:3] == colours[q.id]
            assert layer.skeleton_xy(q.id) is None
        else:
            np.testing.assert_allclose(d.box, box)
            np.testing.assert_allclose(layer.skeleton_xy(q.id), _labels_xy(p, vid, FRAME, q.id))
            assert _inside_hits(view, box, colours[q.id]) >= 30, f"person {q.id}'s skeleton is not painted"
    # hidden, nothing of theirs is painted (the check above is not the frame's own pixels)
    layer.setVisible(False)
    assert layer.drawn(2) is None and not layer.roi.isVisible()
    assert all(_edge_cover(view, p.person_box(vid, FRAME, q.id), colours[q.id]) < 0.1 for q in persons)
    assert all(_inside_hits(view, p.person_box(vid, FRAME, q.id), colours[q.id]) < 5 for q in persons)


def test_selecting_another_person_moves_the_handle_and_draws_the_first_one(three):
    view, layer, st, _stack, p, vid = three
    st.set_person(2)
    assert layer.roi_person == 2 and layer.roi.pen.color().getRgb()[:3] == person_colour(2)
    np.testing.assert_allclose(layer.box_rect(2), p.person_box(vid, FRAME, 2))
    d1 = layer.drawn(1)
    np.testing.assert_allclose(d1.box, p.person_box(vid, FRAME, 1))
    np.testing.assert_allclose(layer.skeleton_xy(1), _labels_xy(p, vid, FRAME, 1))
    assert layer.skeleton_xy(2) is None and layer.drawn(2).box is None
    assert _edge_cover(view, p.person_box(vid, FRAME, 1), person_colour(1)) > 0.4


def test_deleting_a_person_removes_its_drawing_and_undo_brings_it_back(three):
    view, layer, _st, stack, p, vid = three
    box, name = p.person_box(vid, FRAME, 3), p.person(vid, 3).name
    stack.push(DeletePersonCommand(p, vid, 3))
    assert layer.drawn(3) is None and layer.box_rect(3) is None
    assert _edge_cover(view, box, person_colour(3)) < 0.1
    assert layer.drawn(2) is not None  # the others stay
    stack.undo()
    d = layer.drawn(3)
    assert d is not None and d.name == name and d.colour == person_colour(3)
    np.testing.assert_allclose(d.box, box)
    assert _edge_cover(view, box, person_colour(3)) > 0.4


def test_an_edit_of_a_non_selected_person_is_drawn_at_once_and_undone(three):
    _view, layer, _st, stack, p, vid = three
    before = layer.skeleton_xy(2).copy()
    reads = layer.reader.queries
    layer.show(FRAME)  # the same frame again: from the reader's cache, nothing read
    assert layer.reader.queries == reads
    stack.push(cmds.SetJointCommand(p, vid, FRAME, 0, 7.0, 9.0, person=2))  # through the undo stack
    assert [7.0, 9.0] in layer.skeleton_xy(2).tolist() and layer.reader.queries > reads
    stack.undo()
    np.testing.assert_allclose(layer.skeleton_xy(2), before)
    # a write that sends no signal (another code path): the next frame drawn shows it all the same
    p.set_labels(vid, [(FRAME, 1, 11.0, 13.0, True, "manual")], person=3)
    p.set_boxes(vid, [(FRAME, 5.0, 6.0, 40.0, 90.0)], person=2)
    layer.show(FRAME)
    assert [11.0, 13.0] in layer.skeleton_xy(3).tolist()
    np.testing.assert_allclose(layer.drawn(2).box, [5, 6, 40, 90])


def test_a_frame_nobody_labeled_is_read_without_labels_and_a_first_label_there_is_drawn(three):
    _view, layer, _st, stack, p, vid = three
    empty = FRAME + 2
    p.delete_frame_labels(vid, empty, person=None)
    layer.show(empty)
    assert layer.skeleton_xy(2) is None and layer.drawn(2).box is not None  # its box still, interpolated
    stack.push(cmds.SetJointCommand(p, vid, empty, 4, 30.0, 40.0, person=2))
    np.testing.assert_array_equal(layer.skeleton_xy(2), [[30.0, 40.0]])
    stack.undo()
    assert layer.skeleton_xy(2) is None


def test_the_reader_gives_the_boxes_of_person_boxes_on_every_frame(three):
    _view, _layer, _st, _stack, p, vid = three
    # a fourth person without box keyframes: its box is the extent of its labeled poses, interpolated
    pid = p.add_person(vid)
    p.set_labels(vid, [(f, j, 20.0 + f + j, 30.0 + 2 * j, True, "manual") for f in (1, 6) for j in range(13)],
                 person=pid)
    p.set_boxes(vid, [(5, 1.0, 2.0, 50.0, 60.0)], person=2)  # one more keyframe between the scene's own
    reader = PersonsFrames()
    for f in range(N_FRAMES):
        rows = {r.id: r for r in reader.read(p, vid, f)}
        assert sorted(rows) == [1, 2, 3, pid]
        for q, row in rows.items():
            want = p.person_boxes(vid, q)[f]
            if np.isfinite(want).all():
                np.testing.assert_allclose(row.box, want, atol=1e-9)
            else:
                assert row.box is None


def test_the_scrubbing_benchmark_paints_every_person(tmp_path):
    from rpan_studio import bench_scrub

    app = make_app()
    path = bench_scrub.make_long_video(tmp_path / "long.avi", 300)
    out = bench_scrub._seek_session(app, path, 4, 0, None, persons=3, workdir=tmp_path)
    assert out["persons_painted"] == [1, 2, 3] and out["persons_painted_without_layer"] == []
    assert out["person_layer_draws"] >= 8 and out["random_seek_3_persons"]["n"] == 4


def test_zoomed_in_the_persons_are_still_drawn_where_they_are(three):
    view, layer, _st, _stack, p, vid = three
    box = p.person_box(vid, FRAME, 2)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    w, h = (box[2] - box[0]) * 0.8, (box[3] - box[1]) * 0.8
    view.view_box.setRange(xRange=(box[0] - w, box[2] + w), yRange=(box[1] - h, box[3] + h), padding=0)
    assert _edge_cover(view, box, person_colour(2)) > 0.4
    assert _inside_hits(view, box, person_colour(2)) >= 30
    view.view_box.setRange(xRange=(cx - 4 * w, cx + 4 * w), yRange=(cy - 4 * h, cy + 4 * h), padding=0)  # out
    assert _edge_cover(view, box, person_colour(2)) > 0.4
