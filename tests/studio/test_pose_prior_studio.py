"""Model > Decode poses with the limb-length prior: the studio shows the poses rpan_core.pose_prior decodes from
the analysis, learned from the project's labels, and remembers the choice."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QSettings

from rpan_core.analyze import Analysis
from rpan_core.demo import demo_checkpoint_path
from rpan_core.pose_prior import prior_from_project, with_pose_prior
from rpan_core.skeleton import PENNACTION
from rpan_studio.app import make_app
from rpan_studio.main_window import MainWindow

J = PENNACTION.num_joints


def pose(f: int) -> np.ndarray:
    """A standing stick person in a 64 x 48 frame, a little taller every frame."""
    out = np.zeros((J, 2))
    for j, name in enumerate(PENNACTION.joints):
        side = 1 if name.startswith("left") else (-1 if name.startswith("right") else 0)
        out[j] = (32 + 6 * side, 4 + (2.5 + 0.05 * f) * j)
    return out


def test_the_model_menu_decodes_the_poses_with_the_limb_length_prior(qtbot, tmp_path, project_with_video):
    make_app()
    project, vid = project_with_video
    for f in (0, 5, 10):
        project.set_labels(vid, [(f, j, *pose(f)[j], True, "manual") for j in range(J)])
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(project, checkpoint=str(demo_checkpoint_path()), settings=settings, auto_analyze=False)
    w.quiet = True
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.video_id == vid, timeout=10000)
    act = w.actions_["pose_prior"]
    model_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Model")
    assert act.isCheckable() and not act.isChecked() and act in model_menu.actions()
    w.analyze()
    w.wait_tasks()
    qtbot.waitUntil(lambda: w.state.analysis is not None, timeout=20000)
    assert w.state.analysis.pose_prior is None
    plain = w.state.analysis

    act.trigger()  # on: the shown video is read again (cached maps), its poses decoded with the prior
    assert w.session.pose_prior
    w.wait_tasks()
    qtbot.waitUntil(lambda: getattr(w.state.analysis, "pose_prior", None) is not None, timeout=20000)
    prior = prior_from_project(project)
    shown = w.state.analysis
    assert shown.pose_prior == prior.digest()
    want = with_pose_prior(Analysis.load(plain.path), prior)
    np.testing.assert_array_equal(shown.xy, want.xy)
    np.testing.assert_array_equal(shown.attention, plain.attention)  # the model's reading itself is unchanged
    assert w.errors == []
    assert str(settings.value("analysis/pose_prior")).lower() == "true"
    again = MainWindow(None, settings=settings, auto_analyze=False)  # the next session remembers it
    qtbot.addWidget(again)
    assert again.actions_["pose_prior"].isChecked() and again.session.pose_prior

    act.trigger()  # off again: the plain decode
    w.wait_tasks()
    qtbot.waitUntil(lambda: getattr(w.state.analysis, "pose_prior", 1) is None, timeout=20000)
    np.testing.assert_array_equal(w.state.analysis.xy, plain.xy)
    w.close()
