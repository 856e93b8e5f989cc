"""Pick the torch device for training/analysis from a user option.

One place so that the CLI, the engine and the studio all give the same clear
error when CUDA is asked for on a machine that has none.
"""
from __future__ import annotations

import torch

from rpan_core.errors import ConfigError


def pick_device(name: str | None) -> torch.device:
    """Return a torch.device for None/'auto' (CUDA if present, else CPU), 'cpu', 'cuda' or 'cuda:N'.

    Raises ConfigError when CUDA is requested but unavailable, the index does not
    exist, or the name is not a device this tool understands.
    """
    if name is None or str(name).strip().lower() in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    text = str(name).strip().lower()
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(f"unknown device {name!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'") from exc
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise ConfigError(f"device {name!r} is not supported: use 'auto', 'cpu', 'cuda' or 'cuda:N'")
    if not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for CUDA but no CUDA GPU is available to this torch "
                          f"build ({torch.__version__}); use --device cpu or auto")
    count = torch.cuda.device_count()
    if dev.index is not None and dev.index >= count:
        raise ConfigError(f"device {name!r} does not exist: this machine has {count} CUDA device(s) "
                          f"(cuda:0..cuda:{count - 1})")
    return dev
