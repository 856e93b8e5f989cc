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
    """Five conv stages that train from scratch on a CPU in minutes.

    ``stride`` 32 halves the map at every stage; 16 and 8 keep the last one or two
    stages at full resolution with dilated convolutions (finer attention grids,
    better poses, same parameter names).
    """

    def __init__(self, in_channels: int = 3, width: int = 32, stride: int = 32) -> None:
        super().__init__()
        if stride not in (8, 16, 32):
            raise ConfigError(f"the small_cnn backbone supports stride 8, 16 or 32, not {stride}")
        self.stride = stride
        n_down = {8: 3, 16: 4, 32: 5}[stride]
        chans = [in_channels, width // 2, width, width, width * 2, width * 2]
        layers: list[nn.Module] = []
        dil = 1
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
            if i < n_down:
                layers.append(nn.Conv2d(a, b, 3, 2, 1, bias=False))
            else:
                dil *= 2
                layers.append(nn.Conv2d(a, b, 3, 1, dil, dilation=dil, bias=False))
            layers += [nn.BatchNorm2d(b), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.out_channels = chans[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


BACKBONES = ("small_cnn",)


def build_backbone(cfg) -> nn.Module:  # noqa: ANN001 (RPANConfig; avoids an import cycle)
    """The configured backbone, with ``out_channels`` and ``stride`` attributes."""
    if cfg.backbone == "small_cnn":
        return SmallCNN(cfg.in_channels, stride=cfg.backbone_stride)
    raise ConfigError(f"backbone {cfg.backbone!r} unknown; choose one of {', '.join(BACKBONES)}")
