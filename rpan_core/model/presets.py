"""Named model sizes: the paper's two (Sec. 4.1) and a CPU-sized demo.

Why presets: the paper's numbers come from fixed sizes per dataset; a name makes a
run reproducible and lets ``rpan train --model-preset`` and the studio agree on them.
"""
from __future__ import annotations

from typing import Any

from rpan_core.errors import ConfigError
from rpan_core.model.rpan import RPANConfig

PRESETS: dict[str, dict[str, Any]] = {
    # PennAction: LSTM 1024, attention width 128, 270 x 480 frames -> 9 x 15 grid at stride 32.
    "pennaction": dict(skeleton="pennaction", num_classes=15, backbone="mobilenet_v2", backbone_weights="imagenet",
                       backbone_stride=32, hidden=1024, attention_dim=128, input_size=(270, 480), pool="concat"),
    # Sub-JHMDB: LSTM 512, width 32, 240 x 320 frames -> 8 x 10 grid; max part pooling was best there (Table 2).
    "subjhmdb": dict(skeleton="jhmdb", num_classes=12, backbone="mobilenet_v2", backbone_weights="imagenet",
                     backbone_stride=32, hidden=512, attention_dim=32, input_size=(240, 320), pool="max"),
    # Demo / tests: trains from scratch on a CPU in minutes; stride 16 gives an 8 x 10 grid on 128 x 160
    # (the paper's Sub-JHMDB grid), fine enough for poses a labeler can start from.
    "demo": dict(skeleton="pennaction", num_classes=9, backbone="small_cnn", backbone_weights=None,
                 backbone_stride=16, hidden=128, attention_dim=32, input_size=(128, 160), pool="concat"),
    # Labeling a project's own real videos from a few keyframes (issue 11): a person crop of 256 x 192 (portrait,
    # aspect kept), ImageNet MobileNetV2 taps at strides 4-32 merged by a feature-pyramid neck into a 64 x 48 grid
    # (4 px cells), the paper's attention unchanged on that cube. The trunk is frozen (its taps are cached by
    # rpan_core.keyframes); the neck and the head train on a CPU in minutes.
    "labeling": dict(skeleton="pennaction", num_classes=1, backbone="mobilenet_v2_fpn", backbone_weights="imagenet",
                     backbone_stride=4, freeze_backbone="trunk", hidden=128, attention_dim=32, input_size=(256, 192),
                     pool="concat", framing="person"),
}


def preset(name: str, **overrides: Any) -> RPANConfig:
    """The named configuration with ``overrides`` applied (unknown names or fields raise ConfigError)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown model preset {name!r}; choose one of {', '.join(PRESETS)}")
    d = dict(PRESETS[name])
    fields = set(RPANConfig.__dataclass_fields__)
    bad = sorted(set(overrides) - fields)
    if bad:
        raise ConfigError(f"unknown model option(s) {', '.join(bad)}; valid: {', '.join(sorted(fields))}")
    d.update(overrides)
    if "input_size" in d:
        d["input_size"] = tuple(d["input_size"])
    return RPANConfig(**d)
