"""RPAN training loss (Eq. 11-13): per-step action cross-entropy + squared pose-attention error.

Masks let partially labelled data train what it can: frames without pose labels
train the action loss only, clips without an action label train the pose loss
only. Weight decay lives in the optimizer, not here.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


POSE_LOSSES = ("squared", "cross_entropy")


def rpan_loss(logits: torch.Tensor, attention_with_dummy: torch.Tensor, labels: torch.Tensor,
              targets: torch.Tensor, pose_mask: torch.Tensor, action_mask: torch.Tensor,
              lambda_action: float = 1.0, lambda_pose: float = 1.0, pose_loss: str = "squared"
              ) -> dict[str, torch.Tensor]:
    """Return dict(total, action, pose).

    ``pose_loss="cross_entropy"`` replaces Eq. 12's squared error by the cross-entropy of
    the attention toward the target, averaged over the labeled frames' joints: on a fine
    grid (thousands of cells) the squared error's gradients are about 1/K as large and the
    attention barely moves.

    logits B x T x C; attention_with_dummy and targets B x T x J x (K+1);
    labels B (long, any value where action_mask is False); pose_mask B x T (bool,
    frame has pose labels); action_mask B (bool, clip has an action label).
    action = sum_t CE over labelled clips, averaged over those clips (Eq. 11);
    pose = sum_{J,t,k} (M - alpha)^2 over labelled frames, averaged over clips (Eq. 12).
    """
    b, t, c = logits.shape
    amask = torch.as_tensor(action_mask, device=logits.device).bool()
    pmask = torch.as_tensor(pose_mask, device=logits.device).bool()
    safe_labels = torch.where(amask, labels.to(logits.device).long(), torch.zeros_like(amask, dtype=torch.long))
    ce = F.cross_entropy(logits.reshape(b * t, c), safe_labels.repeat_interleave(t), reduction="none").view(b, t)
    action = (ce.sum(1) * amask).sum() / amask.sum().clamp_min(1)
    tg = targets.to(attention_with_dummy)
    if pose_loss == "cross_entropy":
        ce = -(tg * attention_with_dummy.clamp_min(1e-12).log()).sum(-1).mean(-1)  # B x T, mean over joints
        pose = (ce * pmask).sum() / pmask.sum().clamp_min(1)
    elif pose_loss == "squared":
        sq = (tg - attention_with_dummy).pow(2).sum((-1, -2))  # B x T
        pose = (sq * pmask).sum() / b
    else:
        raise ValueError(f"pose_loss {pose_loss!r}: choose one of {', '.join(POSE_LOSSES)}")
    total = lambda_action * action + lambda_pose * pose
    return {"total": total, "action": action, "pose": pose}


def attention_with_dummy(out: Any) -> torch.Tensor:
    """``B x T x J x (K+1)`` from an RPANOutput: the K cells then the dummy cell, as Eq. 12 compares them."""
    att = out.attention.flatten(-2)
    return torch.cat([att, out.dummy.unsqueeze(-1).to(att.dtype)], dim=-1)
