"""RPAN model: config, network, backbones, presets (see docs/interfaces.md)."""
from rpan_core.model.backbones import BACKBONES, build_backbone
from rpan_core.model.presets import PRESETS, preset
from rpan_core.model.rpan import MODES, RPAN, RPANConfig, RPANOutput

__all__ = ["BACKBONES", "MODES", "PRESETS", "RPAN", "RPANConfig", "RPANOutput", "build_backbone", "preset"]
