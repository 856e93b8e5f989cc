"""Shapes, step()==forward(), parameter sharing of the attention modes."""
import torch

from rpan_core.model import RPAN, RPANConfig


def test_forward_shapes_and_step_equal():
    torch.manual_seed(0)
    m = RPAN(RPANConfig(input_size=(64, 96), hidden=16, attention_dim=8, num_classes=4)).eval()
    x = torch.randn(2, 3, 3, 64, 96)
    out = m(x)
    assert out.logits.shape == (2, 3, 4) and out.attention.shape == (2, 3, m.J, 2, 3)
    s = torch.ones_like(out.dummy) - out.dummy
    assert torch.allclose(out.attention.flatten(-2).sum(-1), s, atol=1e-5)
    st = m.init_state(2)
    for t in range(3):
        o, st = m.step(x[:, t], st)
        assert torch.allclose(o.logits, out.logits[:, t], atol=1e-5)


def test_modes_share_parameters():
    counts = {}
    for mode in ("human-part", "separate-joint", "share-all"):
        m = RPAN(RPANConfig(attention=mode, hidden=16, attention_dim=8))
        counts[mode] = (m.v.shape[0], m.A_h.shape[0])
    assert counts["human-part"] == (m.J, m.P)
    assert counts["separate-joint"] == (m.J, m.J)
    assert counts["share-all"] == (1, 1)
