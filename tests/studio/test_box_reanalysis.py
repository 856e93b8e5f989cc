"""A person whose box is moved is read again on its new crops, in the worker, once the edits pause; the others keep
their readings, undo brings the old box back and reads it again, and a window opened without automatic analysis
leaves it to Ctrl+R."""

from __future__ import annotations

import numpy as np

from tests.studio.test_person_analysis_studio import scene  # noqa: F401  (the 3-person studio fixture)


def test_a_moved_box_reads_its_person_again_and_only_it(qtbot, scene):  # noqa: F811
    w, t = scene, scene.test
    w.session._box_timer.setInterval(50)
    before = dict(w.state.person_analyses)
    n_calls = len(t.calls)
    w.state.set_person(2)
    w.seek(3)
    qtbot.waitUntil(lambda: w.view.frame_index == 3, timeout=5000)
    new_box = np.array([10.0, 20.0, 70.0, 110.0])
    w.persons.set_box(new_box)  # the box keyframe, one undo step (as a drag or B does)
    w.persons.set_box(new_box + 2)  # a drag is many edits: read once, after they pause
    qtbot.waitUntil(lambda: len(t.calls) > n_calls and not w.runner.running(), timeout=10000)
    qtbot.wait(150)
    again = t.calls[n_calls:]
    assert [c["person"] for c in again] == [2] and not again[0]["main_thread"]
    np.testing.assert_allclose(again[0]["boxes"][3], new_box + 2)
    now = w.state.person_analyses
    assert now[1] is before[1] and now[3] is before[3] and now[2] is not before[2]
    assert w.state.analysis is now[2]  # the selected person's new reading is the one shown
    w.undo_stack.undo()
    w.undo_stack.undo()
    qtbot.waitUntil(lambda: len(t.calls) > n_calls + 1 and not w.runner.running(), timeout=10000)
    np.testing.assert_allclose(t.calls[-1]["boxes"], t.project.person_boxes(t.vid, 2))
    assert [c["person"] for c in t.calls[n_calls + 1:]] == [2]
    assert w.errors == []


def test_without_automatic_analysis_a_moved_box_waits_for_ctrl_r(qtbot, scene):  # noqa: F811
    w, t = scene, scene.test
    w.session._box_timer.setInterval(50)
    w.session.auto_reanalyze = False
    n_calls = len(t.calls)
    w.persons.set_box(np.array([10.0, 20.0, 70.0, 110.0]))
    qtbot.wait(300)
    assert len(t.calls) == n_calls and not w.runner.running()
