"""The studio's two-stream pieces on a real synthetic video and real (untrained) RGB + flow checkpoints:
fused probabilities on the timeline, the stream selector for attention maps, the optical-flow layer."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PyQt6.QtCore import QSettings

from rpan_studio.app import make_app
from rpan_studio.main_window import MainWindow
from tests.core.engine_support import make_tiny_project


@pytest.fixture
def two_stream(qtbot, tmp_path):
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.model import RPAN, RPANConfig

    make_app()
    torch.manual_seed(0)
    project, truth = make_tiny_project(tmp_path / "project", actions=("jumping_jacks", "squat"), per_class=1,
                                       n_frames=20, size=(120, 160), test_per_class=0)
    cks = {}
    for stream, ch in (("rgb", 3), ("flow", 10)):
        model = RPAN(RPANConfig(num_classes=2, input_size=(64, 96), hidden=24, in_channels=ch)).eval()
        cks[stream] = tmp_path / f"{stream}.pt"
        save_checkpoint(cks[stream], model, classes=list(project.classes),
                        train_config={"stream": stream, "stride": 2, "clip_len": 4}, metrics={})
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(None, checkpoint=str(cks["rgb"]), settings=settings)
    w.quiet = True
    w.state.set_flow_checkpoint(cks["flow"])
    qtbot.addWidget(w)
    w.resize(1300, 820)
    w.show()
    w.open_project(project)
    qtbot.waitUntil(lambda: w.analysis is not None and w.view.frame_index == 0, timeout=60000)
    w.test_truth = truth
    yield w
    w.close()


def test_fused_probabilities_on_the_timeline_and_the_stream_selector(qtbot, two_stream):
    w = two_stream
    a = w.analysis
    assert sorted(a.streams) == ["flow", "rgb"] and a.weights == (1.0, 2.0)
    rgb, flo = a.streams["rgb"], a.streams["flow"]
    assert rgb.stream == "rgb" and flo.stream == "flow"
    fused = (np.asarray(rgb.probs, np.float64) + 2 * np.asarray(flo.probs, np.float64)) / 3
    plotted = np.stack([c.getData()[1] for c in w.action_plot.curves], 1)  # T x C, in drawing order
    assert np.allclose(np.sort(plotted, 1), np.sort(fused, 1), atol=1e-5)
    assert np.allclose(plotted.sum(1), 1.0, atol=1e-5) and len(w.action_plot.curves) == 2
    assert "fused RGB:flow 1:2" in w.action_plot.getPlotItem().titleLabel.text
    assert w.overlays.stream_combo.isEnabled() and w.overlays.stream_combo.currentIndex() == 0
    assert np.array_equal(np.asarray(w.analysis.attention), np.asarray(rgb.attention))
    w.overlays.stream_combo.setCurrentIndex(1)  # show the flow stream's attention and poses
    assert w.analysis.shown == "flow"
    assert np.array_equal(np.asarray(w.analysis.attention), np.asarray(flo.attention))
    assert np.array_equal(np.asarray(w.analysis.probs), np.asarray(a.probs))  # still the fused ones
    w.seek(6)
    qtbot.waitUntil(lambda: w.view.frame_index == 6, timeout=5000)
    xs, ys = w.view.skeleton.points.getData()
    assert np.allclose(np.stack([xs, ys], 1), np.asarray(flo.xy[6]), atol=1e-3)
    w.overlays.stream_combo.setCurrentIndex(0)
    assert w.analysis.shown == "rgb"
    assert w.errors == []


def test_flow_overlay_is_computed_in_a_worker_and_lies_on_the_person(qtbot, two_stream):
    w = two_stream
    w.overlays.flow_check.setChecked(True)
    qtbot.waitUntil(lambda: w.flow_layer.shown_pair == 0, timeout=30000)
    sv = w.test_truth[w.video_id]
    speed = np.linalg.norm(np.diff(sv.xy, axis=0), axis=-1).max(1)  # fastest joint per frame pair
    t = int(np.argmax(speed[1:])) + 1
    assert speed[t] > 2.0
    w.seek(t)
    qtbot.waitUntil(lambda: w.view.frame_index == t and w.flow_layer.shown_pair == t, timeout=5000)
    rgba = w.flow_layer.item.image
    H, W = w.view.frame_size
    assert rgba.shape[:2] == (H, W) and w.flow_layer.item.isVisible()
    alpha = rgba[..., 3].astype(np.float64)
    xy = sv.xy[t][sv.visible[t]]
    x0, y0 = np.floor(xy.min(0) - 12).astype(int)
    x1, y1 = np.ceil(xy.max(0) + 12).astype(int)
    inside = alpha[max(0, y0):y1, max(0, x0):x1].sum()
    assert alpha.sum() > 0 and inside / alpha.sum() > 0.6  # the colour is on the moving person
    # the layer follows the toggle, and the next video's flow is its own
    w.overlays.flow_check.setChecked(False)
    assert not w.flow_layer.item.isVisible()
    w.overlays.flow_check.setChecked(True)
    assert w.flow_layer.item.isVisible()
    if os.environ.get("RPAN_SCREENSHOTS"):
        w.overlays.heat_check.setChecked(False)
        w.grab().save(os.path.join(os.environ["RPAN_SCREENSHOTS"], "two_stream_flow.png"))
    assert w.errors == []
