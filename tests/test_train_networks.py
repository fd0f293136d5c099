"""Training networks: official state-dict keys and shapes (G, D, E), losses, init, VGG loading, SEAN's batched
training forward against the engine's per-region code."""

from __future__ import annotations

import json
import math

import pytest
import torch

from regionpaint.engines.pix2pixhd.train_model import build_pix2pixhd_networks
from regionpaint.engines.sean.train_generator import TrainableSeanGenerator, region_codes, style_map
from regionpaint.engines.sean.train_model import build_sean_networks, sean_config
from regionpaint.engines.spade.train_model import build_spade_networks
from regionpaint.engines.training.discriminators import MultiscaleDiscriminator, Pix2PixHDDiscriminator
from regionpaint.engines.training.losses import ImagePool, feature_matching, gan_loss, kld_loss
from regionpaint.engines.training.options import resolve_options
from regionpaint.engines.training.vgg import VGG19Features, VGGWeightsError, find_vgg19_weights, load_vgg19
from tests.conftest import require_shared


def spec_shapes(name: str, role: str = "G") -> dict[str, tuple[int, ...]]:
    spec = json.loads(require_shared("specs", f"{name}.json").read_text())
    return {key: tuple(shape) for key, shape, _ in spec["nets"][role]["keys"]}


def shapes(net: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in net.state_dict().items()}


def on_meta(build, opt):
    with torch.device("meta"):
        return build(opt)


@pytest.mark.parametrize(
    ("spec", "engine", "layout", "given"),
    [
        ("spade_cityscapes_default", "spade", "cityscapes", {}),
        ("spade_ade20k_default", "spade", "ade20k", {}),
        ("spade_coco_vae_default", "spade", "coco-stuff", {"use_vae": True}),
        ("sean_celebahq_default", "sean", "celebamask-hq", {}),
        ("pix2pixhd_global_512p_default", "pix2pixhd", "cityscapes", {}),
        ("pix2pixhd_global_feat_512p_default", "pix2pixhd", "cityscapes", {"instance_feat": True}),
        ("pix2pixhd_local_1024p_default", "pix2pixhd", "cityscapes", {"netG": "local", "ngf": 32}),
    ],
)
def test_trained_networks_have_the_official_keys_and_shapes(spec, engine, layout, given):
    opt = resolve_options(engine, "d", "o", given, layout)
    build = {"spade": build_spade_networks, "sean": build_sean_networks, "pix2pixhd": build_pix2pixhd_networks}[engine]
    nets = on_meta(build, opt)
    # Same keys, same shapes, same order as the official state dict.
    assert list(shapes(nets["G"]).items()) == list(spec_shapes(spec).items())
    if spec == "spade_coco_vae_default":
        assert list(shapes(nets["E"]).items()) == list(spec_shapes(spec, "E").items())
    if spec.endswith("feat_512p_default"):
        assert list(shapes(nets["E"]).items()) == list(spec_shapes("pix2pixhd_encoder_default").items())


def test_spade_generator_keeps_spectral_norm_unfolded_in_official_key_order():
    opt = resolve_options("spade", "d", "o", {"label_nc": 5, "ngf": 4, "crop_size": 64}, "custom")
    keys = list(build_spade_networks(opt)["G"].state_dict())
    block = [k for k in keys if k.startswith("head_0.conv_0.")]
    assert block == [f"head_0.conv_0.{leaf}" for leaf in ("bias", "weight_orig", "weight_u", "weight_v")]


def test_spade_discriminator_keys_follow_the_official_multiscale_layout():
    d = MultiscaleDiscriminator(input_nc=10, ndf=8, n_layers_D=4, num_D=2, norm_D="spectralinstance")
    keys = shapes(d)
    assert keys["discriminator_0.model0.0.weight"] == (8, 10, 4, 4)
    assert "discriminator_0.model0.0.bias" in keys
    assert keys["discriminator_1.model1.0.0.weight_orig"] == (16, 8, 4, 4)
    assert "discriminator_1.model1.0.0.weight_u" in keys and "discriminator_1.model1.0.0.bias" not in keys
    assert keys["discriminator_0.model4.0.weight"] == (1, 64, 4, 4)
    out = d(torch.zeros(2, 10, 64, 64))
    assert len(out) == 2 and len(out[0]) == 5
    # NVlabs/SPADE: the last middle conv has stride 1; SEAN's fork: stride 2.
    assert out[0][3].shape[-1] == out[0][2].shape[-1] + 1
    sean = MultiscaleDiscriminator(10, 8, 3, 2, "spectralinstance", last_stride_one=False)
    sizes = [t.shape[-1] for t in sean(torch.zeros(1, 10, 64, 64))[0]]
    assert sizes == [33, 17, 9, 10]


def test_pix2pixhd_discriminator_keys_and_scale_order():
    d = Pix2PixHDDiscriminator(input_nc=10, ndf=8, n_layers=3, num_D=2)
    keys = shapes(d)
    assert set(k.split(".")[0] for k in keys) == {f"scale{i}_layer{j}" for i in range(2) for j in range(5)}
    assert keys["scale0_layer3.0.weight"] == (64, 32, 4, 4) and keys["scale1_layer4.0.weight"] == (1, 64, 4, 4)
    with torch.no_grad():
        d.scale1_layer4[0].bias.fill_(5.0)  # scale1 sees the full-resolution input (official order)
        out = d(torch.zeros(1, 10, 64, 64))
    assert float(out[0][-1].mean()) != float(out[1][-1].mean())
    assert out[0][-1].shape[-1] > out[1][-1].shape[-1]
    flat = Pix2PixHDDiscriminator(10, 8, 3, 2, intermediate=False)
    assert "layer0.0.weight" in shapes(flat) and len(flat(torch.zeros(1, 10, 32, 32))[0]) == 1


def test_gan_feature_and_kl_losses():
    fake = [
        [torch.ones(2, 4, 3, 3), torch.full((2, 1, 3, 3), 0.5)],
        [torch.zeros(2, 4, 2, 2), torch.full((2, 1, 2, 2), -2.0)],
    ]
    real = [
        [torch.zeros(2, 4, 3, 3), torch.full((2, 1, 3, 3), 2.0)],
        [torch.zeros(2, 4, 2, 2), torch.zeros(2, 1, 2, 2)],
    ]
    # hinge D: mean(relu(1 + fake)) per scale, averaged over scales
    assert gan_loss(fake, False, "hinge") == pytest.approx((1.5 + 0.0) / 2)
    assert gan_loss(real, True, "hinge") == pytest.approx((0.0 + 1.0) / 2)
    assert gan_loss(fake, True, "hinge", for_discriminator=False) == pytest.approx(-(0.5 - 2.0) / 2)
    # pix2pixHD LSGAN: sum over scales of MSE to the target
    assert gan_loss(fake, True, "ls", reduction="sum") == pytest.approx(0.25 + 9.0)
    assert feature_matching(fake, real, weight=10.0 / 2) == pytest.approx(1.0 * 5)
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(2.0)]])
    assert kld_loss(mu, logvar) == pytest.approx(-0.5 * ((1 - 1 - 1) + (1 + math.log(2) - 2)))
    pool = ImagePool(2, seed=0)
    first = pool.query(torch.ones(2, 3, 4, 4))
    assert first.shape == (2, 3, 4, 4) and len(pool.images) == 2


def test_spade_family_init_is_the_official_xavier_on_weight_orig():
    opt = resolve_options("spade", "d", "o", {"label_nc": 5, "ngf": 8, "crop_size": 64}, "custom")
    torch.manual_seed(0)
    g = build_spade_networks(opt)["G"]
    assert float(g.head_0.conv_0.weight_orig.detach().std()) < 0.01  # xavier gain 0.02, not PyTorch's default
    assert float(g.head_0.conv_0.bias.detach().abs().max()) == 0.0
    hd = build_pix2pixhd_networks(resolve_options("pix2pixhd", "d", "o", {"label_nc": 5, "ngf": 8}, "flat"))
    assert float(hd["G"].model[1].weight.detach().std()) == pytest.approx(0.02, rel=0.2)


def test_sean_training_forward_matches_the_engine_per_region_path():
    given = {"label_nc": 4, "ngf": 4, "crop_size": 32, "style_length": 8, "batchSize": 2}
    opt = resolve_options("sean", "d", "o", given, "custom")
    torch.manual_seed(0)
    g = TrainableSeanGenerator(sean_config(opt))
    for p in g.parameters():
        torch.nn.init.normal_(p, std=0.3)
    label = torch.randint(0, 4, (2, 1, 32, 32))
    seg = torch.zeros(2, opt.semantic_nc, 32, 32).scatter_(1, label, 1.0)
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    codes = region_codes(g.Zencoder(image), seg)
    for i in range(2):
        reference, present = g.Zencoder.region_codes(image[i : i + 1], seg[i : i + 1])
        assert torch.allclose(codes[i], reference[0], atol=1e-6)
        ace = g.head_0.ace_0
        ours = style_map(ace, codes[i : i + 1], seg[i : i + 1])
        index = (seg[i] * torch.arange(1, opt.semantic_nc + 1).view(-1, 1, 1)).amax(0).long()
        theirs = ace.style_map(codes[i], index, [j for j in range(opt.semantic_nc) if present[0, j]])
        assert torch.allclose(ours, theirs, atol=1e-6)
    out = g(seg, image)
    assert out.shape == (2, 3, 32, 32)
    out.mean().backward()
    assert g.head_0.ace_0.fc_mu1.weight.grad is not None and g.Zencoder.model[1].weight.grad is not None
    assert "head_0.conv_0.weight_orig" in g.state_dict()


def _torchvision_like_vgg19(path):
    """A random state dict in torchvision's vgg19 layout (features + classifier keys)."""
    state = VGG19Features().state_dict()
    state.update({"features.30.weight": torch.zeros(512, 512, 3, 3), "classifier.6.bias": torch.zeros(1000)})
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state


def test_vgg19_loads_from_the_torch_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(VGGWeightsError, match="vgg19-dcbb9e9d.pth"):
        find_vgg19_weights()
    state = _torchvision_like_vgg19(tmp_path / "torch" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth")
    path = find_vgg19_weights()
    vgg = load_vgg19(path)
    assert torch.equal(vgg.features[28].weight, state["features.28.weight"])
    assert not any(p.requires_grad for p in vgg.parameters())
    feats = vgg(torch.zeros(1, 3, 32, 32))
    assert [tuple(f.shape[1:]) for f in feats] == [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4), (512, 2, 2)]
    broken = tmp_path / "broken.pth"
    torch.save({"features.0.weight": torch.zeros(3)}, broken)
    with pytest.raises(VGGWeightsError, match="features.0.weight"):
        load_vgg19(broken)
