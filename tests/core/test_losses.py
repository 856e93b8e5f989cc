"""rpan_loss against a plainly written loop reference (Eq. 11-13) with masks."""
import math

import torch

from rpan_core.losses import rpan_loss


def test_loss_matches_loop_reference():
    g = torch.Generator().manual_seed(0)
    B, T, C, J, K = 3, 4, 5, 2, 7
    logits = torch.randn(B, T, C, generator=g)
    att = torch.softmax(torch.randn(B, T, J, K + 1, generator=g), -1)
    tgt = torch.softmax(torch.randn(B, T, J, K + 1, generator=g), -1)
    labels = torch.tensor([1, 4, 0])
    pmask = torch.tensor([[1, 0, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0]]).bool()
    amask = torch.tensor([True, False, True])
    out = rpan_loss(logits, att, labels, tgt, pmask, amask, lambda_action=0.7, lambda_pose=2.0)
    act, n = 0.0, 0
    for b in range(B):
        if amask[b]:
            n += 1
            for t in range(T):
                act += -math.log(torch.softmax(logits[b, t], 0)[labels[b]].item())
    act /= n
    pose = 0.0
    for b in range(B):
        for t in range(T):
            if pmask[b, t]:
                for j in range(J):
                    for k in range(K + 1):
                        pose += (tgt[b, t, j, k] - att[b, t, j, k]).item() ** 2
    pose /= B
    assert math.isclose(out["action"].item(), act, rel_tol=1e-5)
    assert math.isclose(out["pose"].item(), pose, rel_tol=1e-5)
    assert math.isclose(out["total"].item(), 0.7 * act + 2.0 * pose, rel_tol=1e-5)
