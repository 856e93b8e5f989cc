"""Exact truths for targets/decoding/PCK (no model needed)."""
import torch

from rpan_core.targets import cell_centers, decode_argmax, decode_refined, joint_targets, pck


def test_targets_sum_and_dummy():
    xy = torch.tensor([[100.0, 50.0], [-5.0, 10.0], [30.0, 30.0]])
    vis = torch.tensor([True, True, False])
    t = joint_targets(xy, vis, (270, 480), (9, 15), sigma_px=8.0)
    assert t.shape == (3, 136)
    assert torch.allclose(t.sum(-1), torch.ones(3))
    assert t[1, -1] == 1 and t[2, -1] == 1 and t[0, -1] == 0
    peak = t[0, :-1].argmax().item()
    assert (peak // 15, peak % 15) == (50 // 30, 100 // 32)


def test_decode_delta_exact_and_subcell():
    a = torch.zeros(2, 9, 15)
    a[0, 4, 7] = 1.0
    a[1, 2, 3] = 1.0
    xy, conf = decode_argmax(a, (270, 480))
    centers = cell_centers((270, 480), (9, 15))
    assert torch.allclose(xy[0], centers[4 * 15 + 7]) and torch.allclose(xy[1], centers[2 * 15 + 3])
    assert torch.allclose(conf, torch.ones(2))
    gt = torch.tensor([[241.0, 148.0]])  # off the cell center
    t = joint_targets(gt, torch.tensor([True]), (270, 480), (9, 15), sigma_px=20.0)[:, :-1].view(1, 9, 15)
    r, _ = decode_refined(t, (270, 480))
    c, _ = decode_argmax(t, (270, 480))
    assert (r - gt).norm() < (c - gt).norm()
    assert (r - gt).norm() < 8.0


def test_pck_counts_visible_only():
    gt = torch.zeros(1, 2, 2)
    pred = torch.tensor([[[5.0, 0.0], [50.0, 0.0]]])
    bb = torch.tensor([[0.0, 0.0, 100.0, 40.0]])
    per, mean = pck(pred, gt, torch.tensor([[True, True]]), bb, alpha=0.2)
    assert per.tolist() == [1.0, 0.0] and mean.item() == 0.5
    per, mean = pck(pred, gt, torch.tensor([[True, False]]), bb)
    assert mean.item() == 1.0 and torch.isnan(per[1])
