"""``rpan train``: the parser is generated from :class:`~rpan_core.engine.config.TrainConfig`."""

from __future__ import annotations

import argparse
from pathlib import Path

from rpan_core.engine.config import config_from_args, configure_parser
from rpan_core.engine.loop import Trainer
from rpan_core.errors import ConfigError
from rpan_core.runlog import read_events


def cli_main(args: argparse.Namespace) -> int:
    if getattr(args, "model_preset", None) == "labeling":  # pose-only, few keyframes, cached trunk features
        from rpan_core.keyframes import cli_main as keyframes_main

        return keyframes_main(args)
    if not getattr(args, "project", None) and not args.resume:
        raise ConfigError("rpan train needs --project DIR (or --resume RUN)")
    for opt in ("train_trunk", "flip_test", "between"):
        if getattr(args, opt, None):
            raise ConfigError(f"--{opt.replace('_', '-')} belongs to the few-keyframe recipe: add --model-preset "
                              "labeling, or leave it out")
    trainer = Trainer(config_from_args(args), progress=not args.no_progress, resume=args.resume)
    run_dir = trainer.run()
    if trainer.main:
        events = read_events(Path(run_dir) / "events.jsonl")
        end = next((e for e in reversed(events) if e.get("type") == "end"), {})
        print(f"run folder: {run_dir}")
        if end.get("best_checkpoint"):
            print(f"best checkpoint: {end['best_checkpoint']}")
        elif end.get("result"):
            print(f"result: {end['result']} (no held-out labels chose a best checkpoint)")
    return 0


__all__ = ["configure_parser", "cli_main"]
