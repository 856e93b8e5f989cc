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


# ----------------------------------------------------------------------------- Eq. 2-10 vs the loop reference

import pytest  # noqa: E402

from rpan_core.losses import rpan_loss  # noqa: E402
from rpan_core.skeleton import get_skeleton  # noqa: E402
from rpan_core.model.reference import reference_forward_features  # noqa: E402


def _tiny(mode: str, pool: str = "concat", **kw) -> RPAN:
    torch.manual_seed(1)
    cfg = RPANConfig(attention=mode, pool=pool, hidden=12, attention_dim=6, num_classes=5, input_size=(64, 96), **kw)
    return RPAN(cfg).eval()


@pytest.mark.parametrize("mode", ["human-part", "separate-joint", "share-all", "none"])
@pytest.mark.parametrize("pool", ["concat", "max", "mean"])
def test_vectorized_head_equals_per_joint_loop(mode, pool):
    m = _tiny(mode, pool)
    cube = torch.randn(3, 4, m.backbone.out_channels, 3, 5)
    with torch.no_grad():
        fast = m.forward_features(cube)
        ref = reference_forward_features(m, cube)
    for name in ("logits", "attention", "dummy", "hidden"):
        assert torch.allclose(getattr(fast, name), getattr(ref, name), atol=1e-5, rtol=1e-4), name
    # Eq. 3: over the K cells plus the dummy location the attention sums to one
    total = fast.attention.flatten(-2).sum(-1) + fast.dummy
    assert torch.allclose(total, torch.ones_like(total), atol=1e-5)


def test_pool_changes_the_lstm_input_width():
    widths = {p: _tiny("human-part", p).lstm.weight_ih.shape[1] for p in ("concat", "max", "mean")}
    dc = _tiny("human-part").backbone.out_channels
    assert widths == {"concat": 5 * dc, "max": dc, "mean": dc}


def _attention_params(m: RPAN) -> int:
    return sum(p.numel() for n, p in m.named_parameters() if n in ("v", "A_h", "A_c", "b"))


def test_parameter_counts_and_tying_follow_table_1():
    d, H = 6, 12
    counts = {mode: _attention_params(_tiny(mode)) for mode in ("human-part", "separate-joint", "share-all", "none")}
    m = _tiny("human-part")
    dc, J, P = m.backbone.out_channels, m.J, m.P
    shared = d * H + d * dc + d  # A_h, A_c, b
    assert counts["human-part"] == J * d + P * shared
    assert counts["separate-joint"] == J * (d + shared)
    assert counts["share-all"] == d + shared
    assert counts["none"] == 0
    # tying: in human-part, perturbing the Elbow part's A_c moves both elbows' maps and no other joint's
    cube = torch.randn(1, 1, dc, 3, 5)
    with torch.no_grad():
        before = m.forward_features(cube).attention
        elbow = list(get_skeleton(m.cfg.skeleton).parts).index("elbow")
        m.A_c[elbow] += 0.5
        after = m.forward_features(cube).attention
    moved = (after - before).abs().flatten(-2).amax(-1)[0, 0] > 1e-6
    expect = torch.tensor([m.joint_part[j] == elbow for j in range(J)])
    assert torch.equal(moved, expect)


def test_gradients_reach_attention_from_pose_loss_and_backbone_from_action_loss():
    m = _tiny("human-part").train()
    x = torch.randn(2, 3, 3, 64, 96)
    out = m(x)
    K = out.attention.shape[-1] * out.attention.shape[-2]
    att = torch.cat([out.attention.flatten(-2), out.dummy[..., None]], -1)
    tgt = torch.softmax(torch.randn(2, 3, m.J, K + 1), -1)
    ones = torch.ones(2, 3, dtype=torch.bool)
    pose = rpan_loss(out.logits, att, torch.tensor([0, 1]), tgt, ones, torch.zeros(2, dtype=torch.bool),
                     lambda_action=1.0, lambda_pose=1.0)
    pose = pose["total"]
    grads = torch.autograd.grad(pose, [m.v, m.A_h, m.A_c, m.b, m.classifier.weight], allow_unused=True)
    assert all(g is not None and g.abs().sum() > 0 for g in grads[:4])
    assert grads[4] is None or grads[4].abs().sum() == 0  # the pose loss does not train the classifier
    m.zero_grad()
    out = m(x)
    torch.nn.functional.cross_entropy(out.logits.flatten(0, 1), torch.tensor([0, 1]).repeat_interleave(3)).backward()
    bb = [p.grad for p in m.backbone.parameters()]
    assert all(g is not None for g in bb) and sum(float(g.abs().sum()) for g in bb) > 0


def test_tiny_model_overfits_a_tiny_batch():
    torch.manual_seed(0)
    m = RPAN(RPANConfig(hidden=32, attention_dim=8, num_classes=4, input_size=(32, 32))).train()
    x = torch.randn(8, 3, 3, 32, 32)
    y = torch.arange(8) % 4
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)

    def loss_fn():
        out = m(x)
        return torch.nn.functional.cross_entropy(out.logits.flatten(0, 1), y.repeat_interleave(3)), out

    first, _ = loss_fn()
    for _ in range(100):
        opt.zero_grad()
        loss, _ = loss_fn()
        loss.backward()
        opt.step()
    m.eval()
    with torch.no_grad():
        last, out = loss_fn()
    assert (out.logits[:, -1].argmax(-1) == y).all()
    assert last.item() < first.item() / 10


def test_rpan_model_prints_shapes_for_a_preset(capsys):
    from rpan_core.cli import main

    assert main(["model", "demo"]) == 0
    out = capsys.readouterr().out
    assert "grid 8x10" in out and "attention (1, 2, 13, 8, 10)" in out


def test_presets_have_the_papers_sizes():
    from rpan_core.errors import ConfigError
    from rpan_core.model import preset

    p, s = preset("pennaction"), preset("subjhmdb")
    assert (p.hidden, p.attention_dim, p.num_classes, p.skeleton) == (1024, 128, 15, "pennaction")
    assert (s.hidden, s.attention_dim, s.num_classes, s.skeleton) == (512, 32, 12, "jhmdb")
    assert preset("demo", hidden=7).hidden == 7
    with pytest.raises(ConfigError, match="unknown model preset"):
        preset("nope")
    with pytest.raises(ConfigError, match="hiddn"):
        preset("demo", hiddn=3)


# ----------------------------------------------------------------------------- the labeling preset (issue 11)

def _labeling(**kw) -> RPAN:
    from rpan_core.model import preset

    torch.manual_seed(2)
    kw = {"backbone_weights": None, "input_size": (64, 48), **kw}
    return RPAN(preset("labeling", **kw)).eval()


def test_labeling_preset_attends_at_stride_4_with_the_papers_head():
    m = _labeling()
    assert m.grid == (16, 12) and m.backbone.stride == 4 and m.cfg.framing == "person"
    x = torch.randn(1, 2, 3, 64, 48)
    with torch.no_grad():
        out = m(x)
        taps = m.backbone.taps(x[0])
        assert [t.shape[-1] for t in taps] == [12, 6, 3, 2]  # strides 4, 8, 16, 32
        assert torch.allclose(m.backbone.neck(taps), m.backbone(x[0]), atol=1e-6)
        ref = reference_forward_features(m, m.features(x))
    assert out.attention.shape == (1, 2, m.J, 16, 12)
    for name in ("logits", "attention", "dummy", "hidden"):
        assert torch.allclose(getattr(out, name), getattr(ref, name), atol=1e-5, rtol=1e-4), name
    total = out.attention.flatten(-2).sum(-1) + out.dummy
    assert torch.allclose(total, torch.ones_like(total), atol=1e-5)


def test_labeling_preset_freezes_the_trunk_only():
    m = _labeling()
    bb = m.backbone
    assert not any(p.requires_grad for p in bb.trunk.parameters())
    assert all(p.requires_grad for mod in (bb.lateral, bb.smooth, bb.refine) for p in mod.parameters())
    m.train()
    assert not bb.trunk.features[3].conv[0][1].training  # frozen BatchNorm keeps its ImageNet statistics
    assert bb.smooth[0][1].training
    assert _labeling(backbone_stride=8).grid == (8, 6)
