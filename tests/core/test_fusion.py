"""Score fusion of the RGB and flow streams."""

from types import SimpleNamespace

import numpy as np
import pytest

from rpan_core.errors import ConfigError
from rpan_core.fusion import fuse, fuse_analyses, fuse_two, parse_weights


def test_default_is_one_to_two_weighted_mean():
    rgb = np.array([0.7, 0.2, 0.1])
    flow = np.array([0.1, 0.6, 0.3])
    out = fuse_two(rgb, flow)
    # (1*rgb + 2*flow) / 3, by hand
    assert out == pytest.approx([0.9 / 3, 1.4 / 3, 0.7 / 3], abs=1e-6)
    assert out.sum() == pytest.approx(1.0)
    # the flow stream wins where the two disagree by the same margin
    assert np.argmax(fuse_two([0.6, 0.4], [0.4, 0.6])) == 1
    assert np.argmax(fuse_two([0.6, 0.4], [0.4, 0.6], (2, 1))) == 0


def test_per_step_and_weights_applied():
    rng = np.random.default_rng(0)
    a = rng.dirichlet(np.ones(5), size=(3, 8))  # B x T x C
    b = rng.dirichlet(np.ones(5), size=(3, 8))
    out = fuse_two(a, b, (3, 1))
    assert out.shape == (3, 8, 5)
    assert np.allclose(out, 0.75 * a + 0.25 * b, atol=1e-6)
    assert np.allclose(out.sum(-1), 1.0, atol=1e-6)
    assert np.allclose(fuse_two(a, b, (1, 0)), a, atol=1e-6)
    g = fuse([a, b], (1, 1), mode="geometric")
    ref = np.sqrt(a * b)
    assert np.allclose(g, ref / ref.sum(-1, keepdims=True), atol=1e-6)


def test_analyses_and_bad_input():
    s = SimpleNamespace(classes=["a", "b"], probs=np.array([[0.9, 0.1], [0.8, 0.2]]), video_probs=np.array([0.8, 0.2]))
    t = SimpleNamespace(classes=["a", "b"], probs=np.array([[0.2, 0.8], [0.1, 0.9]]), video_probs=np.array([0.1, 0.9]))
    r = fuse_analyses(s, t)
    assert r["video_pred"] == 1 and r["probs"].shape == (2, 2)
    assert r["video_probs"] == pytest.approx([1.0 / 3, 2.0 / 3], abs=1e-6)
    with pytest.raises(ConfigError):
        fuse_analyses(s, SimpleNamespace(classes=["a", "c"], probs=t.probs, video_probs=t.video_probs))
    with pytest.raises(ConfigError):
        fuse_two([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ConfigError):
        fuse_two([2.0, -1.0], [0.5, 0.5])  # logits, not probabilities
    with pytest.raises(ConfigError):
        fuse_two([0.5, 0.5], [0.5, 0.5], (0, 0))
    assert parse_weights("1:2") == (1.0, 2.0) and parse_weights("1:1.5") == (1.0, 1.5)
    for bad in ("a:b", "1:-2", "0:0"):
        with pytest.raises(ConfigError):
            parse_weights(bad)
