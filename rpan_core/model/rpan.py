"""RPAN head: pose attention (Table 1 modes, with the dummy location K+1), part pooling, LSTM, classifier.

Vectorized over joints: per-joint parameters are stored once per *group* and
gathered by an index tensor (human-part: group = part, separate-joint: group =
joint, share-all: one group), so there is no Python loop over J or P.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from rpan_core.errors import ConfigError
from rpan_core.model.backbones import build_backbone
from rpan_core.skeleton import get_skeleton

MODES = ("human-part", "separate-joint", "share-all", "none")
FRAMINGS = ("squash", "letterbox", "person")


@dataclass
class RPANConfig:
    skeleton: str = "pennaction"
    num_classes: int = 15
    backbone: str = "small_cnn"
    backbone_stride: int = 32
    backbone_weights: str | None = None
    freeze_backbone: str = "none"
    attention: str = "human-part"
    attention_dim: int = 32
    hidden: int = 128
    pool: str = "concat"
    input_size: tuple[int, int] = (128, 160)
    in_channels: int = 3
    dropout: float = 0.0
    # How a frame becomes the model's input (rpan_core.geometry): "squash" resizes to input_size (the paper's
    # presets and older checkpoints), "letterbox" keeps the aspect ratio, "person" runs on an aspect-preserving
    # crop around the person (the labeling preset).
    framing: str = "squash"
    # Test-time flip averaging: each frame's attention is averaged with that of the mirrored frame (joints
    # swapped, cells mirrored back), at twice the backbone's cost. Why: on a camera view the model never saw,
    # a few keyframes' model places arms better with the two readings averaged (docs/real_video.md).
    flip_test: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RPANConfig":
        d = dict(d)
        d["input_size"] = tuple(d.get("input_size", (128, 160)))
        return cls(**d)


class RPANOutput(NamedTuple):
    logits: torch.Tensor
    attention: torch.Tensor
    dummy: torch.Tensor
    hidden: torch.Tensor


class RPAN(nn.Module):
    def __init__(self, cfg: RPANConfig) -> None:
        super().__init__()
        if cfg.attention not in MODES:
            raise ConfigError(f"attention {cfg.attention!r} unknown; choose one of {MODES}")
        if cfg.pool not in ("concat", "max", "mean"):
            raise ConfigError(f"pool {cfg.pool!r} unknown; choose concat, max or mean")
        if cfg.framing not in FRAMINGS:
            raise ConfigError(f"framing {cfg.framing!r} unknown; choose one of {', '.join(FRAMINGS)}")
        self.cfg = cfg
        sk = get_skeleton(cfg.skeleton)
        self.J, self.P = sk.num_joints, sk.num_parts
        self.backbone = build_backbone(cfg)
        dc, d, h = self.backbone.out_channels, cfg.attention_dim, cfg.hidden
        part = torch.tensor(sk.joint_part, dtype=torch.long)
        self.register_buffer("joint_part", part, persistent=False)
        groups = {"human-part": part, "separate-joint": torch.arange(self.J),
                  "share-all": torch.zeros(self.J, dtype=torch.long), "none": torch.zeros(self.J, dtype=torch.long)}
        g = groups[cfg.attention]
        self.register_buffer("group", g, persistent=False)
        self.register_buffer("flip_index", torch.tensor(sk.flip_index, dtype=torch.long), persistent=False)
        ng = int(g.max()) + 1
        if cfg.attention != "none":  # "none" has no attention parameters at all (Table 1, "Without")
            # Eq. 2: alpha~ = v^J . tanh(A_h h + A_c c_k + b); v per joint, the rest per group.
            self.v = nn.Parameter(torch.randn(self.J if cfg.attention == "human-part" else ng, d) * 0.1)
            self.A_h = nn.Parameter(torch.randn(ng, d, h) * (h ** -0.5))
            self.A_c = nn.Parameter(torch.randn(ng, d, dc) * (dc ** -0.5))
            self.b = nn.Parameter(torch.zeros(ng, d))
        feat = dc * self.P if cfg.pool == "concat" else dc
        if cfg.attention == "none":
            feat = dc
        self.lstm = nn.LSTMCell(feat, h)
        self.drop = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(h, cfg.num_classes)
        # ImageNet statistics for RGB frames; flow stacks arrive already scaled (rpan_core.flow.flow_to_input)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(-1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(-1, 1, 1), persistent=False)

    @property
    def grid(self) -> tuple[int, int]:
        h, w = self.cfg.input_size
        s = self.backbone.stride
        return (-(-h // s), -(-w // s))

    def preprocess(self, frames) -> torch.Tensor:
        """uint8 RGB frames ``B x T x H x W x 3`` -> normalized ``B x T x 3 x h x w`` at ``input_size``."""
        if self.cfg.in_channels != 3:
            raise ConfigError(f"preprocess takes RGB frames; this model has {self.cfg.in_channels} input channels "
                              "(a flow model): feed it rpan_core.flow.flow_to_input stacks")
        x = torch.as_tensor(frames)
        b, t = x.shape[:2]
        x = x.reshape(b * t, *x.shape[2:]).permute(0, 3, 1, 2)
        mean, std = self.mean.cpu(), self.std.cpu()
        if tuple(x.shape[-2:]) == tuple(self.cfg.input_size):
            # already at the input size (analysis, training crops): one fused pass, (x / 255 - mean) / std
            # as x * scale + shift; the bilinear resize to the same size is the identity, and was a third
            # of the network's CPU time at the demo size
            x = torch.addcmul(-mean / std, x.contiguous().float(), 1.0 / (255.0 * std))
        else:
            x = x.float() / 255.0
            x = F.interpolate(x, size=tuple(self.cfg.input_size), mode="bilinear", align_corners=False)
            x = (x - mean) / std
        return x.view(b, t, *x.shape[1:])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        f = self.backbone(x.flatten(0, 1))
        return f.view(b, t, *f.shape[1:])

    def init_state(self, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.classifier.weight.new_zeros(b, self.cfg.hidden)
        return (z, z.clone())

    def step_features(self, cube: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor],
                      flipped: torch.Tensor | None = None) -> tuple[RPANOutput, tuple[torch.Tensor, torch.Tensor]]:
        """One time step on a feature cube ``B x dc x K1 x K2`` with the carried ``(h, c)``.

        ``flipped``: the cube of the horizontally mirrored frames (``cfg.flip_test``); the attention is the
        mean of this cube's and the mirrored cube's (its joints swapped and its cells mirrored back).
        """
        h, c = state
        b, dc, k1, k2 = cube.shape
        ck = cube.flatten(2).transpose(1, 2)  # B x K x dc
        if self.cfg.attention == "none":
            att = cube.new_full((b, self.J, k1 * k2), 1.0 / (k1 * k2))
            dummy = cube.new_zeros(b, self.J)
            x = ck.mean(1)
        else:
            att, dummy = self._attention(ck, h)
            if flipped is not None:
                fa, fd = self._attention(flipped.flatten(2).transpose(1, 2), h)
                fa = fa.view(b, self.J, k1, k2)[:, self.flip_index].flip(-1).reshape(b, self.J, k1 * k2)
                att, dummy = 0.5 * (att + fa), 0.5 * (dummy + fd[:, self.flip_index])
            onehot = F.one_hot(self.joint_part, self.P).to(att)                # J x P
            # Eq. 4: F^P = sum_{J in P} sum_k alpha^J(k) C(k)  (B x P x dc)
            fp = torch.einsum("bjk,jp,bkc->bpc", att, onehot, ck)
            # Eq. 5: part pooling
            if self.cfg.pool == "concat":
                x = fp.flatten(1)
            elif self.cfg.pool == "max":
                x = fp.max(1).values
            else:
                x = fp.mean(1)
        h, c = self.lstm(self.drop(x), (h, c))                                 # Eq. 6-9
        logits = self.classifier(self.drop(h))                                 # Eq. 10 (before softmax)
        return RPANOutput(logits, att.view(b, self.J, k1, k2), dummy, h), (h, c)

    def _attention(self, ck: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. 2-3 on cells ``B x K x dc``: (attention B x J x K, dummy B x J)."""
        g = self.group
        hp = torch.einsum("gdh,bh->bgd", self.A_h, h)                      # B x G x d
        cp = torch.einsum("gdc,bkc->bgkd", self.A_c, ck)                   # B x G x K x d
        z = torch.tanh(hp[:, :, None] + cp + self.b[None, :, None])       # Eq. 2 inside, B x G x K x d
        zd = torch.tanh(hp + self.b[None])                                 # the dummy location: zero feature
        vj = self.v if self.cfg.attention == "human-part" else self.v[g]   # J x d
        if self.cfg.attention == "separate-joint":                         # group j = joint j
            s = torch.einsum("jd,bjkd->bjk", vj, z)
            sd = torch.einsum("jd,bjd->bj", vj, zd)
        else:  # v^J placed in its group's row: no J x K x d copy of z (fine grids have thousands of cells)
            w = vj.new_zeros(z.shape[1], self.J, vj.shape[1])
            w[g, torch.arange(self.J, device=g.device)] = vj
            s = torch.einsum("gjd,bgkd->bjk", w, z)
            sd = torch.einsum("gjd,bgd->bj", w, zd)
        a = torch.softmax(torch.cat([s, sd[..., None]], -1), -1)          # Eq. 3 over K + dummy
        return a[..., :-1], a[..., -1]

    def forward_features(self, cube: torch.Tensor, state=None) -> RPANOutput:
        b, t = cube.shape[:2]
        state = state or self.init_state(b)
        outs = []
        for i in range(t):
            out, state = self.step_features(cube[:, i], state)
            outs.append(out)
        return RPANOutput(*(torch.stack(z, 1) for z in zip(*outs)))

    def forward(self, x: torch.Tensor) -> RPANOutput:
        return self.forward_features(self.features(x))

    def step(self, frame: torch.Tensor, state):
        """Streaming: one preprocessed frame ``B x 3 x h x w`` with the carried state."""
        flipped = self.backbone(frame.flip(-1)) if self.cfg.flip_test else None
        return self.step_features(self.backbone(frame), state, flipped)
