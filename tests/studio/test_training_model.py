"""The Train dialog chooses the model (issue 11 item 6): preset, input size, resolution and what trains,
set through its widgets, reach `rpan train` as TrainConfig options (parsed here with the real parser);
the dialog says how many labeled frames, videos and persons the run learns from."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest
import torch

from rpan_core.demo import demo_checkpoint_path
from rpan_core.engine.config import config_from_args, configure_parser
from rpan_studio.dialogs.training import TrainingDialog
from rpan_studio.dialogs.training_run import train_command
from tests.conftest import write_frames

NOT_RUN = [sys.executable, "-c", "pass"]


def _config(argv: list[str]):
    """The TrainConfig `rpan train` makes of the dialog's command line (the program's own words dropped)."""
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    return config_from_args(parser.parse_args(argv[len(NOT_RUN):]))


def _pick(combo, data) -> None:
    i = combo.findData(data)
    assert i >= 0, (data, [combo.itemData(k) for k in range(combo.count())])
    combo.setCurrentIndex(i)


def _labeled(project, tmp_path, name, n=12, split="train", every=2, action=None, persons=1):
    vid = project.add_video(write_frames(tmp_path / name, n=n), split=split, action=action)
    for p in range(1, persons + 1):
        if p > 1:
            project.add_person(vid)
        project.set_labels(vid, [(f, j, 10.0 + j, 20.0, True, "manual") for f in range(0, n, every)
                                 for j in range(13)], person=p)
    return vid


def test_a_paper_preset_with_frozen_stages_input_size_and_resolution(qtbot, make_project, tmp_path):
    project = make_project()
    _labeled(project, tmp_path, "a", action="jump")
    dlg = TrainingDialog(project, current_checkpoint=demo_checkpoint_path(), current_origin="demo", trainer=NOT_RUN)
    qtbot.addWidget(dlg)
    box = dlg.model_box
    assert dlg.init_current.isChecked() and box.preset() is None  # the demo checkpoint keeps its own model
    _pick(box.preset_combo, "pennaction")  # a new model: the start becomes scratch (ImageNet backbone)
    assert dlg.init_scratch.isChecked()
    box.input_edit.setText("224x288")
    _pick(box.stride_combo, 16)
    _pick(box.trains_combo, "stages:partial")
    assert "attention grid 14 x 18 cells of 16 px" in box.note_label.text()
    dlg.epochs_spin.setValue(3)
    tc = _config(train_command(dlg.options(), NOT_RUN))
    assert (tc.model_preset, tc.input_size, tc.backbone_stride, tc.freeze_stages) == ("pennaction", (224, 288), 16,
                                                                                       "partial")
    assert tc.epochs == 3 and tc.init is None and not tc.freeze_backbone and tc.minutes is None
    _pick(box.trains_combo, "head")  # head only: cached backbone features
    tc = _config(train_command(dlg.options(), NOT_RUN))
    assert tc.freeze_backbone and tc.freeze_stages is None
    dlg.resize(1300, 700)


def test_from_a_checkpoint_its_own_model_head_only(qtbot, make_project, tmp_path):
    project = make_project()
    _labeled(project, tmp_path, "a", action="jump")
    dlg = TrainingDialog(project, current_checkpoint=demo_checkpoint_path(), current_origin="demo", trainer=NOT_RUN)
    qtbot.addWidget(dlg)
    box = dlg.model_box
    assert "(demo)" in box.preset_combo.itemText(0)
    _pick(box.trains_combo, "head")
    tc = _config(train_command(dlg.options(), NOT_RUN))
    assert tc.init == str(demo_checkpoint_path()) and tc.freeze_backbone and tc.model_preset is None
    # from scratch the demo's random small CNN is not worth freezing: only the whole network is offered
    dlg.init_scratch.setChecked(True)
    _pick(box.preset_combo, "demo")
    assert [box.trains_combo.itemData(i) for i in range(box.trains_combo.count())] == ["all"]
    tc = _config(train_command(dlg.options(), NOT_RUN))
    assert tc.model_preset == "demo" and not tc.freeze_backbone and tc.init is None


def test_the_labeling_preset_runs_the_keyframes_trainer_with_a_time_budget(qtbot, make_project, tmp_path):
    project = make_project()
    _labeled(project, tmp_path, "a")
    dlg = TrainingDialog(project, trainer=NOT_RUN)
    qtbot.addWidget(dlg)
    box = dlg.model_box
    assert dlg.init_scratch.isChecked() and box.preset() == "labeling"  # a pose-only project: the labeling model
    assert not dlg.epochs_spin.isEnabled() and box.minutes_spin.value() == 5.0 and dlg.lr_spin.value() == 0.004
    assert [box.trains_combo.itemData(i) for i in range(box.trains_combo.count())] == [
        "neck_head", "neck_head_trunk32", "head"]
    assert box.flip_check.isEnabled() and not box.flip_check.isChecked()
    box.minutes_spin.setValue(2.0)
    box.input_edit.setText("320x240")
    _pick(box.stride_combo, 8)
    argv = train_command(dlg.options(), NOT_RUN)
    assert "--epochs" not in argv
    tc = _config(argv)
    assert (tc.model_preset, tc.minutes, tc.input_size, tc.backbone_stride, tc.freeze_backbone) == (
        "labeling", 2.0, (320, 240), 8, False)
    assert tc.train_trunk is None and not tc.flip_test
    _pick(box.trains_combo, "neck_head_trunk32")  # the recipe that did best on unseen camera views
    box.flip_check.setChecked(True)
    assert box.between_spin.isEnabled() and tc.between is None  # keyframes only unless asked
    box.between_spin.setValue(1)
    assert box.between_spin.text() == "1 frame between keyframes"
    box.between_spin.setValue(4)
    assert box.between_spin.text() == "4 frames between keyframes"
    tc = _config(train_command(dlg.options(), NOT_RUN))
    assert (tc.train_trunk, tc.flip_test, tc.freeze_backbone, tc.between) == (32, True, False, 4)
    _pick(box.trains_combo, "head")
    assert _config(train_command(dlg.options(), NOT_RUN)).freeze_backbone
    _pick(box.preset_combo, "demo")  # the mirror test is the labeling model's option
    assert not box.flip_check.isEnabled() and not dlg.options().flip_test
    assert not box.between_spin.isEnabled() and dlg.options().between == 0
    from dataclasses import replace

    from rpan_core.errors import TrainingError

    bad = replace(dlg.options(), model_preset="demo", trains="all", flip_test=True)
    try:
        train_command(bad, NOT_RUN)
    except TrainingError as exc:
        assert "mirror image" in str(exc)
    else:
        raise AssertionError("a mirror test for the demo model was not refused")
    with pytest.raises(TrainingError, match="frames between keyframes"):
        train_command(replace(dlg.options(), model_preset="demo", trains="all", between=2), NOT_RUN)
    _pick(box.preset_combo, "labeling")
    box.input_edit.setText("big")
    assert not dlg.start() and "must look like 256x192" in dlg.message


def test_the_dialog_counts_what_the_run_learns_from(qtbot, make_project, tmp_path):
    project = make_project()
    _labeled(project, tmp_path, "a", n=40, every=2, action="jump")  # 20 labeled frames
    _labeled(project, tmp_path, "b", n=12, every=4, persons=2)  # 3 frames, 2 persons
    project.add_video(write_frames(tmp_path / "c"), split="train")  # nothing labeled: not counted
    dlg = TrainingDialog(project, current_checkpoint=demo_checkpoint_path(), current_origin="demo", trainer=NOT_RUN)
    qtbot.addWidget(dlg)
    # no validation labels: the engine holds out 10 % of a video's labeled frames (2 of a's 20, none of b's 3)
    assert dlg.data_label.text().startswith("Learns from 21 labeled frames in 2 videos (3 persons) of the 'train' "
                                            "split; 1 of 2 with an action label.")
    assert "2 labeled frames of the training videos are held out" in dlg.notes_label.text()
    _labeled(project, tmp_path, "v", n=8, every=1, split="test")
    dlg2 = TrainingDialog(project, current_checkpoint=demo_checkpoint_path(), current_origin="demo",
                          trainer=NOT_RUN)
    qtbot.addWidget(dlg2)
    assert ("Learns from 23 labeled frames in 2 videos (3 persons)" in dlg2.data_label.text()
            and "Validates on 8 labeled frames of the 'test' split" in dlg2.data_label.text())
    assert dlg2.notes == []


@pytest.mark.parametrize("trains", ["head"])
def test_a_labeling_run_from_the_dialog_trains_what_was_chosen(qtbot, make_project, tmp_path, trains):
    """A real (tiny) keyframes run launched by the dialog: head only leaves the pyramid neck as initialized."""
    from rpan_core.checkpoint import load_checkpoint
    from rpan_core.model import RPAN, preset

    project = make_project(classes=[])  # pose-only: the labeling model's one class
    _labeled(project, tmp_path, "a", n=4, every=4)
    dlg = TrainingDialog(project)
    qtbot.addWidget(dlg)
    box = dlg.model_box
    box.input_edit.setText("128x96")
    _pick(box.trains_combo, trains)
    dlg.extra_args = ["--copies", "1", "--steps", "2"]
    with qtbot.waitSignal(dlg.runEnded, timeout=180000) as sig:
        assert dlg.start()
    assert sig.args[1] == "finished", dlg.log_view.toPlainText()
    ck = dlg.best_checkpoint()
    assert ck and Path(ck).exists(), dlg.log_view.toPlainText()
    model, info = load_checkpoint(ck)
    assert info.card.preset == "labeling" and tuple(model.cfg.input_size) == (128, 96)
    torch.manual_seed(0)  # the run's seed: its starting weights
    start = RPAN(preset("labeling", num_classes=1, input_size=(128, 96), backbone_stride=4))
    after, before = dict(model.named_parameters()), dict(start.named_parameters())
    neck = [n for n in after if n.startswith("backbone.") and not n.startswith("backbone.trunk")]
    assert neck and all(torch.allclose(after[n], before[n], atol=2e-3) for n in neck)
    assert not torch.allclose(after["v"], before["v"], atol=2e-3)  # the head did train
