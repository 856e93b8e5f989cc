"""Removing a video returns everything that went with it, and restore_video puts it all back exactly
(the studio's File > Remove video is undone that way)."""
from __future__ import annotations

import numpy as np
import pytest

from rpan_core.errors import ProjectError
from rpan_core.project import LabelSource

from tests.conftest import write_frames


def _fill(project, vid):
    project.set_labels(vid, [(0, 0, 10.0, 12.0, True, LabelSource.MANUAL), (0, 1, 11.5, 20.0, False, "imported"),
                             (3, 2, 30.0, 31.0, True, LabelSource.CORRECTED)])
    p2 = project.add_person(vid, "runner")
    project.set_labels(vid, [(5, 4, 40.0, 41.0, True, LabelSource.ACCEPTED)], person=p2)
    project.set_box(vid, 2, [1, 2, 30, 40], person=p2)
    J = project.skeleton.num_joints
    project.set_predictions(vid, [6, 7], np.full((2, J, 2), 9.0), np.ones((2, J), bool), np.full((2, J), 0.5), "test")
    return p2


def test_remove_then_restore_gives_back_the_same_video_exactly(project_with_video, tmp_path):
    project, vid = project_with_video
    other = project.add_video(write_frames(tmp_path / "other", n=6, width=32, height=24))
    project.set_labels(other, [(1, 0, 3.0, 4.0, True, LabelSource.MANUAL)])
    project.set_split(vid, "val")
    _fill(project, vid)
    before = project.video_data(vid)
    states = project.frame_states(vid).copy()
    data = project.remove_video(vid)
    assert data == before and data.label_count == 4 and len(data.persons) == 2
    assert [v.id for v in project.videos()] == [other]
    with pytest.raises(ProjectError):
        project.video(vid)
    assert project.label_count(other) == 1  # the other video is untouched
    project.restore_video(data)
    assert project.video_data(vid) == before
    assert project.video(vid).split == "val" and [p.name for p in project.persons(vid)][1] == "runner"
    assert np.array_equal(project.frame_states(vid), states)  # the timeline's states come back too


def test_restoring_refuses_an_id_that_was_taken_since(project_with_video, tmp_path):
    project, vid = project_with_video
    data = project.remove_video(vid)
    again = project.add_video(write_frames(tmp_path / "new", n=4, width=20, height=20))
    assert again == vid  # SQLite hands the freed id out again
    with pytest.raises(ProjectError, match="used again by new"):
        project.restore_video(data)
    assert [v.id for v in project.videos()] == [again]
