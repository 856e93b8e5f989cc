"""RPAN model: config, network, presets (see docs/interfaces.md)."""
from rpan_core.model.rpan import RPAN, RPANConfig, RPANOutput

__all__ = ["RPAN", "RPANConfig", "RPANOutput"]
