"""Backbones behind one registry: each maps ``N x C x H x W`` to a feature cube ``N x dc x K1 x K2``.

Why a registry: the RPAN head only needs ``out_channels`` and ``stride``; which CNN
produces the cube is a configuration choice (a CPU-trainable small CNN for tests and
the demo, ImageNet MobileNetV2 by default for real data, ResNets for a user's own
pretrained weights).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from rpan_core.errors import ConfigError


class SmallCNN(nn.Module):
    """Five stride-2 conv stages: stride 32, trains from scratch on a CPU in minutes."""

    stride = 32

    def __init__(self, in_channels: int = 3, width: int = 32) -> None:
        super().__init__()
        chans = [in_channels, width // 2, width, width, width * 2, width * 2]
        layers: list[nn.Module] = []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(a, b, 3, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.out_channels = chans[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


BACKBONES = ("small_cnn",)


def build_backbone(cfg) -> nn.Module:  # noqa: ANN001 (RPANConfig; avoids an import cycle)
    """The configured backbone, with ``out_channels`` and ``stride`` attributes."""
    if cfg.backbone == "small_cnn":
        if cfg.backbone_stride != 32:
            raise ConfigError("the small_cnn backbone has stride 32 only; drop --backbone-stride")
        return SmallCNN(cfg.in_channels)
    raise ConfigError(f"backbone {cfg.backbone!r} unknown; choose one of {', '.join(BACKBONES)}")
