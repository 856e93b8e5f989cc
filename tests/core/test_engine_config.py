"""The engine's parts: options declared once (the parser generated from them), --init refusals, layering."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from rpan_core.cli import build_parser
from rpan_core.engine import TrainConfig, config_from_args
from rpan_core.engine.config import cli_fields
from rpan_core.errors import ConfigError
from tests.core.engine_support import make_tiny_project, rpan_cli

#: every flag `rpan train` had before the engine was split (the studio and scripts pass these)
OLD_FLAGS = ("--project", "--run-dir", "--resume", "--preset", "--model-preset", "--stream", "--backbone",
             "--backbone-weights", "--input-size", "--backbone-stride", "--freeze-stages", "--pool", "--attention",
             "--hidden", "--dropout", "--epochs", "--lr", "--lr-step-epoch", "--weight-decay", "--momentum",
             "--batch", "--clip-len", "--lambda-action", "--lambda-pose", "--init", "--freeze-backbone", "--device",
             "--no-amp", "--no-mirror", "--seed", "--val-split", "--checkpoint-every", "--max-steps", "--no-progress")


def _train_parser():
    parser = build_parser("train")
    sub = next(a for a in parser._actions if a.dest == "command")
    return parser, sub.choices["train"]


def test_every_option_has_a_generated_flag_and_old_flags_survive():
    _, train = _train_parser()
    flags = {s for a in train._actions for s in a.option_strings}
    assert set(OLD_FLAGS) <= flags
    for f in cli_fields():  # one flag per declared option, its help taken from the declaration
        act = next(a for a in train._actions if a.dest == f.name)
        assert act.help == f.metadata["help"] and act.help


def test_command_line_maps_onto_the_config():
    parser, _ = _train_parser()
    args = parser.parse_args(["train", "--project", "P", "--input-size", "64x96", "--backbone-weights", "none",
                              "--no-amp", "--no-mirror", "--epochs", "3", "--lr", "0.05", "--backbone-stride", "16",
                              "--freeze-stages", "stem", "--checkpoint-every", "2", "--max-steps", "7",
                              "--stream", "flow", "--no-progress"])
    tc = config_from_args(args)
    assert (tc.project, tc.input_size, tc.backbone_weights, tc.amp, tc.mirror) == ("P", (64, 96), None, False, False)
    assert (tc.epochs, tc.lr, tc.backbone_stride, tc.freeze_stages) == (3, 0.05, 16, "stem")
    assert (tc.checkpoint_every, tc.max_steps, tc.stream) == (2, 7, "flow")
    # an option not given keeps the declared default ("from the preset" for recipe fields)
    plain = config_from_args(parser.parse_args(["train", "--project", "P"]))
    assert plain == TrainConfig(project="P")
    assert plain.resolved().preset == "paper" and plain.resolved().model_preset == "demo"
    assert TrainConfig(project="P", init="x.pt").resolved().preset == "finetune"
    with pytest.raises(ConfigError, match="224x288"):
        config_from_args(parser.parse_args(["train", "--project", "P", "--input-size", "big"]))


@pytest.mark.parametrize("over,flag", [(dict(hidden=64), "--hidden"), (dict(backbone="resnet18"), "--backbone"),
                                       (dict(attention="share-all"), "--attention"), (dict(pool="max"), "--pool"),
                                       (dict(model_preset="pennaction"), "--model-preset"),
                                       (dict(backbone_weights="imagenet"), "--backbone-weights")])
def test_init_refuses_model_options_it_cannot_honour(over, flag):
    with pytest.raises(ConfigError) as e:
        TrainConfig(project="P", init="ck.pt", **over).resolved()
    msg = str(e.value)
    assert flag in msg and "--init" in msg and "\n" not in msg


def test_init_refusal_on_the_command_line_is_one_line(tmp_path):
    r = subprocess.run(rpan_cli("train", "--project", str(tmp_path), "--init", str(tmp_path / "x.pt"), "--hidden",
                                "64", "--no-progress"), capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--hidden" in lines[0] and "Traceback" not in r.stderr


def test_init_honours_input_size_and_backbone_stride(tmp_path):
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.engine import build_model
    from rpan_core.model import RPAN, preset

    project, _ = make_tiny_project(tmp_path / "p", per_class=1, n_frames=4, size=(48, 64), test_per_class=0)
    src = RPAN(preset("demo", num_classes=3, input_size=(64, 96), hidden=16, backbone_stride=32))
    ck = save_checkpoint(tmp_path / "src.pt", src, classes=list(project.classes))
    tc = TrainConfig(project=str(tmp_path / "p"), init=str(ck), input_size=(96, 128), backbone_stride=16).resolved()
    notes_log: list[str] = []
    model, _, notes = build_model(tc, project, log=notes_log.append)
    assert tuple(model.cfg.input_size) == (96, 128) and model.cfg.backbone_stride == 16
    assert model.grid == (6, 8) and "input_size" in notes["init_changed"]
    for k, v in src.state_dict().items():  # every weight came from the checkpoint
        assert torch.equal(model.state_dict()[k], v), k


def test_analysis_and_evaluation_do_not_import_the_trainer():
    code = ("import sys, rpan_core.analyze, rpan_core.evaluate; "
            "print(sorted(m for m in sys.modules if m.startswith('rpan_core.engine')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
    import rpan_core.analyze as A
    import rpan_core.evaluate as E

    for mod in (A, E):  # nor lazily, inside a function
        src = open(mod.__file__, encoding="utf-8").read()
        assert "rpan_core.engine" not in src and "rpan_core.train" not in src, mod.__name__
