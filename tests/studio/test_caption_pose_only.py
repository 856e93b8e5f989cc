"""A pose-only model (one class) gets no action caption: its '100 %' is not a finding."""
from __future__ import annotations

import numpy as np

from rpan_studio.export import caption_for


def test_a_one_class_model_names_no_action():
    assert caption_for(np.array([1.0]), ["unlabeled"]) == "poses only (the model has no action classes)"


def test_an_action_model_names_its_most_probable_class():
    assert caption_for(np.array([0.3, 0.7]), ["walk", "jump"]) == "jump 70%"


def test_a_one_class_model_draws_no_action_curve(qtbot):
    from rpan_studio.app import make_app
    from rpan_studio.views.timeline import ActionPlot

    make_app()
    plot = ActionPlot()
    qtbot.addWidget(plot)
    plot.set_probs(np.ones((10, 1), np.float32), ["unlabeled"], 0)
    assert plot.curves == [] and plot.note.isVisible() and "pose-only" in plot.note.toPlainText()
    plot.set_probs(np.full((10, 2), 0.5, np.float32), ["walk", "jump"], 1)
    assert len(plot.curves) == 2 and not plot.note.isVisible()
