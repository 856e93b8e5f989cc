"""The `rpan` command line: one entry point, one module per subcommand.

Each subcommand lives in the module that does the work; the module exposes
``configure_parser(parser)`` and ``cli_main(args) -> int``. Modules are imported
only when their command runs, so `rpan synth` does not pay for the model and a
headless server never imports Qt.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rpan_core.errors import RPANError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "studio": ("rpan_studio.app", "open the desktop studio (a project folder, or the demo)"),
    "train": ("rpan_core.engine.cli", "train or fine-tune RPAN on a project"),
    "analyze": ("rpan_core.analyze", "run a checkpoint over a video and cache the Analysis"),
    "propagate": ("rpan_core.propagate", "fill the frames between labeled keyframes with model-assisted predictions"),
    "eval": ("rpan_core.evaluate", "accuracy, confusion matrix and PCK of a checkpoint"),
    "add": ("rpan_core.add", "add videos to a project (creating it when the folder holds none)"),
    "import": ("rpan_core.formats.cli", "import PennAction, JHMDB or COCO annotations into a project"),
    "export": ("rpan_core.formats.cli_export", "export a project's labels as COCO JSON, CSV or the PennAction layout"),
    "synth": ("rpan_core.synth", "generate synthetic action videos with exact joints"),
    "flow": ("rpan_core.flow", "compute and cache optical flow for a project's videos"),
    "proxy": ("rpan_core.proxy_cache", "build, list or clean the display proxies (fast seeking) and their disk use"),
    "bench": ("rpan_core.bench", "run the benchmarks (make bench)"),
    "model": ("rpan_core.model.__main__", "print the model's output shapes for each preset"),
    "demo": ("rpan_core.demo", "build the demo project and run the headless demo"),
}


def _load(name: str):
    module, _ = COMMANDS[name]
    return importlib.import_module(module)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rpan", description="RPAN Studio command line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == only:
            _load(name).configure_parser(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    try:
        parser = build_parser(command)
    except ModuleNotFoundError as exc:
        print(f"rpan {command}: not available in this install ({exc})", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(_load(args.command).cli_main(args) or 0)
    except RPANError as exc:
        print(f"rpan {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"rpan {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
