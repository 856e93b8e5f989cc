"""``python -m rpan_core.model`` / ``rpan model``: build each preset and print its output shapes.

Why: a one-line smoke check that a preset (or a checkpoint) builds on this machine
and what it produces: grid, parameter count, logits / attention / hidden shapes.
"""
from __future__ import annotations

import argparse
import sys

import torch


def describe(cfg, clips: int = 1, frames: int = 2, device: str | None = None) -> dict:  # noqa: ANN001
    """Shapes and sizes of one forward pass of ``cfg`` on random frames."""
    from rpan_core.device import pick_device
    from rpan_core.model import RPAN

    dev = pick_device(device)
    model = RPAN(cfg).to(dev).eval()
    h, w = cfg.input_size
    x = torch.randn(clips, frames, cfg.in_channels, h, w, device=dev)
    with torch.no_grad():
        out = model(x)
    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"backbone": cfg.backbone, "stride": cfg.backbone_stride, "input": f"{h}x{w}", "grid": model.grid,
            "params": n_params, "trainable": n_train, "logits": tuple(out.logits.shape),
            "attention": tuple(out.attention.shape), "hidden": tuple(out.hidden.shape)}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("presets", nargs="*", help="preset names (default: all)")
    parser.add_argument("--weights", choices=("imagenet", "none"), default="none",
                        help="load the presets' ImageNet backbone weights (default: random, faster)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: auto)")


def cli_main(args: argparse.Namespace) -> int:
    from rpan_core.model import PRESETS, preset

    names = args.presets or list(PRESETS)
    for name in names:
        over = {} if args.weights == "imagenet" else {"backbone_weights": None}
        cfg = preset(name, **over)
        d = describe(cfg, device=args.device)
        print(f"{name:<11} {d['backbone']}/{d['stride']} in {d['input']} grid {d['grid'][0]}x{d['grid'][1]} "
              f"params {d['params'] / 1e6:.2f}M  logits {d['logits']}  attention {d['attention']}  "
              f"hidden {d['hidden']}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    from rpan_core.errors import RPANError

    parser = argparse.ArgumentParser(prog="python -m rpan_core.model", description=__doc__.splitlines()[0])
    configure_parser(parser)
    try:
        return cli_main(parser.parse_args(argv))
    except RPANError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
