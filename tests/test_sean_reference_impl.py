"""SEAN configurations the shared refs do not cover, against an independent re-implementation.

The reference below is written straight from the official forward code (ZPdesu/SEAN
``models/networks/{generator,architecture,normalization}.py``) as plain functions over the state dict:
spectral norm computed from ``weight_orig/u/v``, the ACE's per-class ``masked_scatter`` loop (later
channels overwrite earlier ones), the Zencoder's ``masked_select`` means, noise drawn from the *global*
RNG after ``torch.manual_seed`` (as run_UI does), and ``F.interpolate`` legacy nearest. It shares no code
with ``engines/sean/networks.py``; the engine only provides the random-weight state-dict layout.

Configurations: ``more`` upsampling with aspect ratio 2 and a don't-care label; an instance edge channel
(whose pixels overlap class pixels); no spectral norm with an instance-norm inner SPADE; a custom size.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from regionpaint.engines.base import InputError, RenderRequest, StyleSource
from regionpaint.engines.loading.options import format_opt_text
from regionpaint.engines.sean.config import SeanConfig
from regionpaint.engines.sean.engine import SeanEngine
from regionpaint.engines.sean.loading import build_generator

# Renders full-size reference networks, trains or starts processes: `./dev test -m "not slow"` skips it.
pytestmark = pytest.mark.slow

# ----------------------------------------------------------------------------- reference forward


def sn_weight(sd, prefix):
    if prefix + ".weight" in sd:
        return sd[prefix + ".weight"]
    w, u, v = (sd[f"{prefix}.weight_{s}"] for s in ("orig", "u", "v"))
    return w / torch.dot(u, torch.mv(w.reshape(w.shape[0], -1), v))


def conv(sd, prefix, x, padding=1):
    return F.conv2d(x, sn_weight(sd, prefix), sd.get(prefix + ".bias"), padding=padding)


def ref_ace(sd, p, x, seg, codes, noise):
    if noise:
        x = x + (torch.randn(x.shape[0], x.shape[3], x.shape[2], 1) * sd[p + ".noise_var"]).transpose(1, 3)
    normalized = F.batch_norm(
        x, sd[p + ".param_free_norm.running_mean"], sd[p + ".param_free_norm.running_var"], training=False
    )
    seg = F.interpolate(seg, size=x.shape[2:], mode="nearest")
    actv = F.relu(conv(sd, p + ".Spade.mlp_shared.0", seg))
    gamma_spade, beta_spade = conv(sd, p + ".Spade.mlp_gamma", actv), conv(sd, p + ".Spade.mlp_beta", actv)
    if p + ".conv_gamma.weight" not in sd:
        return normalized * (1 + gamma_spade) + beta_spade
    length = codes.shape[-1]
    middle = torch.zeros(1, length, *x.shape[2:])
    for j in range(seg.shape[1]):
        mask = seg.bool()[0, j]
        area = int(mask.sum())
        if area > 0:
            mu = F.relu(F.linear(codes[j], sd[f"{p}.fc_mu{j}.weight"], sd[f"{p}.fc_mu{j}.bias"]))
            middle[0].masked_scatter_(mask, mu.reshape(length, 1).expand(length, area))
    a_g, a_b = torch.sigmoid(sd[p + ".blending_gamma"]), torch.sigmoid(sd[p + ".blending_beta"])
    gamma = a_g * conv(sd, p + ".conv_gamma", middle) + (1 - a_g) * gamma_spade
    beta = a_b * conv(sd, p + ".conv_beta", middle) + (1 - a_b) * beta_spade
    return normalized * (1 + gamma) + beta


def ref_block(sd, name, x, seg, codes, noise):
    if any(k.startswith(name + ".conv_s.") for k in sd):
        x_s = conv(sd, name + ".conv_s", ref_ace(sd, name + ".ace_s", x, seg, codes, noise), padding=0)
    else:
        x_s = x
    dx = conv(sd, name + ".conv_0", F.leaky_relu(ref_ace(sd, name + ".ace_0", x, seg, codes, noise), 0.2))
    dx = conv(sd, name + ".conv_1", F.leaky_relu(ref_ace(sd, name + ".ace_1", dx, seg, codes, noise), 0.2))
    return x_s + dx


def ref_generator(sd, seg, codes, noise, sw, sh, more):
    up = lambda t: F.interpolate(t, scale_factor=2)  # noqa: E731
    x = F.conv2d(F.interpolate(seg, size=(sh, sw)), sd["fc.weight"], sd["fc.bias"], padding=1)
    x = up(ref_block(sd, "head_0", x, seg, codes, noise))
    x = ref_block(sd, "G_middle_0", x, seg, codes, noise)
    if more:
        x = up(x)
    x = ref_block(sd, "G_middle_1", x, seg, codes, noise)
    for name in ("up_0", "up_1", "up_2", "up_3"):
        x = ref_block(sd, name, up(x), seg, codes, noise)
    return torch.tanh(conv(sd, "conv_img", F.leaky_relu(x, 0.2)))


def ref_zencoder(sd, image, seg):
    z = "Zencoder.model."

    def step(x, i, **kw):
        return F.leaky_relu(F.instance_norm(F.conv2d(x, sd[f"{z}{i}.weight"], sd[f"{z}{i}.bias"], **kw)), 0.2)

    x = step(F.pad(image, (1, 1, 1, 1), mode="reflect"), 1)
    x = step(step(x, 4, stride=2, padding=1), 7, stride=2, padding=1)
    x = F.conv_transpose2d(x, sd[z + "10.weight"], sd[z + "10.bias"], stride=2, padding=1, output_padding=1)
    x = F.leaky_relu(F.instance_norm(x), 0.2)
    x = torch.tanh(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), sd[z + "14.weight"], sd[z + "14.bias"]))
    seg = F.interpolate(seg, size=x.shape[2:], mode="nearest")
    length = x.shape[1]
    codes = torch.zeros(seg.shape[1], length)
    for j in range(seg.shape[1]):
        mask = seg.bool()[0, j]
        area = int(mask.sum())
        if area > 0:
            codes[j] = x[0].masked_select(mask).reshape(length, area).mean(1)
    return codes


def ref_segmap(label, label_nc, dontcare, instance):
    ids = torch.from_numpy(label.astype(np.int64))[None, None]
    ids[ids == 255] = label_nc
    seg = torch.zeros(1, label_nc + int(dontcare), *label.shape).scatter_(1, ids, 1.0)
    if instance is None:
        return seg
    t = torch.from_numpy(instance.astype(np.int64))[None, None]
    edge = torch.zeros_like(t, dtype=torch.bool)
    edge[:, :, :, 1:] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, :, :-1] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, 1:, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    edge[:, :, :-1, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    return torch.cat([seg, edge.float()], dim=1)


# ------------------------------------------------------------------------------ random checkpoints


def random_checkpoint(folder, config: SeanConfig, opt: dict, seed: int) -> dict:
    """A SEAN checkpoint folder with discriminating random weights; returns its state dict."""
    torch.manual_seed(seed)
    net = build_generator(config, "cpu")
    g = torch.Generator().manual_seed(seed)
    state = net.state_dict()
    for key, value in state.items():
        leaf = key.rsplit(".", 1)[-1]
        if not value.is_floating_point():
            continue
        if leaf in ("weight", "weight_orig"):
            fan_in = value[0].numel()
            value.copy_(torch.randn(value.shape, generator=g) * 0.7 / fan_in**0.5)
        elif leaf in ("weight_u", "weight_v"):
            continue  # set below from weight_orig
        elif leaf == "noise_var":
            value.copy_(torch.rand(value.shape, generator=g) * 0.3 + 0.1)
        elif leaf == "running_var":
            value.copy_(torch.rand(value.shape, generator=g) + 0.5)
        elif leaf in ("bias", "running_mean"):
            value.copy_(torch.randn(value.shape, generator=g) * 0.2)
        else:  # blending_gamma / blending_beta
            value.copy_(torch.randn(value.shape, generator=g))
    for key in [k for k in state if k.endswith(".weight_orig")]:
        # A few power iterations, as training leaves them: sigma close to the top singular value.
        prefix = key[: -len("_orig")]
        matrix = state[key].reshape(state[key].shape[0], -1)
        u = F.normalize(torch.randn(matrix.shape[0], generator=g), dim=0)
        for _ in range(10):
            v = F.normalize(matrix.t() @ u, dim=0)
            u = F.normalize(matrix @ v, dim=0)
        state[prefix + "_u"].copy_(u)
        state[prefix + "_v"].copy_(v)
    folder.mkdir()
    torch.save(state, folder / "latest_net_G.pth")
    (folder / "opt.txt").write_text(format_opt_text(opt))
    return {k: v.clone() for k, v in state.items()}


def blocky_label(h, w, classes, seed, dontcare=False):
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, classes, size=(h // 4 + 1, w // 4 + 1))
    label = np.kron(coarse, np.ones((4, 4), np.int64))[:h, :w].astype(np.uint8)
    if dontcare:
        label[: h // 4, : w // 4] = 255
    return label


CASES = {
    "more_aspect2_dontcare": dict(
        config=SeanConfig(
            ngf=2, label_nc=5, contain_dontcare_label=True, style_length=8, num_upsampling_layers="more",
            crop_size=128, load_size=128, aspect_ratio=2.0, preprocess_mode="fixed",
        ),
        opt={"label_nc": 5, "contain_dontcare_label": True, "no_instance": True, "num_upsampling_layers": "more",
             "crop_size": 128, "load_size": 128, "aspect_ratio": 2.0, "preprocess_mode": "fixed"},
        size_hw=(64, 128), latent=(2, 1), size=None, more=True,
    ),
    "instance_edges": dict(
        config=SeanConfig(ngf=2, label_nc=4, use_instance=True, style_length=8, crop_size=64, load_size=64),
        opt={"label_nc": 4, "no_instance": False, "crop_size": 64, "load_size": 64},
        size_hw=(64, 64), latent=(2, 2), size=None, more=False,
    ),
    "no_spectral_custom_size": dict(
        config=SeanConfig(ngf=2, label_nc=6, style_length=8, spectral=False, spade_norm="instance",
                          crop_size=64, load_size=64),
        opt={"label_nc": 6, "no_instance": True, "norm_G": "spadeinstance3x3", "crop_size": 64, "load_size": 64},
        size_hw=(64, 96), latent=(3, 2), size=(96, 64), more=False,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_engine_matches_reference_forward(tmp_path, name):
    case = CASES[name]
    config: SeanConfig = case["config"]
    sd = random_checkpoint(tmp_path / name, config, case["opt"], seed=len(name))
    h, w = case["size_hw"]
    label = blocky_label(h, w, config.label_nc, seed=1, dontcare=config.contain_dontcare_label)
    instance = blocky_label(h, w, 7, seed=2).astype(np.int32) * 1000 + label if config.use_instance else None
    photo = np.random.default_rng(3).integers(0, 256, size=(h, w, 3), dtype=np.uint8)

    engine = SeanEngine()
    engine.load(tmp_path / name, device="cpu")
    assert engine.config == config

    seg = ref_segmap(label, config.label_nc, config.contain_dontcare_label, instance)
    image = (torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255 - 0.5) / 0.5
    ref_codes = ref_zencoder(sd, image, seg)
    source = StyleSource("s", photo, label, instance)
    if case["size"] is None:  # a custom size encodes at that size, checked through the render below
        assert np.abs(engine.encode_style(source).codes - ref_codes.numpy()).max() < 1e-5

    sw, sh = case["latent"]
    outputs = []
    for noise in (False, True):
        torch.manual_seed(11)
        expected = ref_generator(sd, seg, ref_codes, noise, sw, sh, case["more"])
        request = RenderRequest(label=label, instance=instance, styles={"s": source}, noise=noise, seed=11,
                                size=case["size"])  # fmt: skip
        result = engine.generate(request)
        assert result.tensor.shape == expected.shape == (1, 3, h, w)
        assert (result.tensor - expected).abs().max().item() < 1e-5
        outputs.append(result.tensor)
    # The weights are discriminating: a real picture, and the noise visibly changes it.
    assert outputs[0].std() > 0.05 and outputs[0].abs().max() < 0.999
    assert (outputs[0] - outputs[1]).abs().max() > 0.1
    blank = engine.render_codes(label, np.zeros_like(ref_codes.numpy()), instance=instance, noise=False,
                                size=case["size"])  # fmt: skip
    assert (outputs[0] - blank.tensor).abs().max() > 0.05


def test_most_checkpoint_loads_but_cannot_render(tmp_path):
    """'most' builds up_4 (its keys are in the file) but the official forward cannot run it."""
    config = SeanConfig(ngf=2, label_nc=3, style_length=4, num_upsampling_layers="most", crop_size=128)
    random_checkpoint(tmp_path / "most", config, {"label_nc": 3, "crop_size": 128}, seed=0)
    engine = SeanEngine()
    engine.load(tmp_path / "most", device="cpu")
    assert engine.config.num_upsampling_layers == "most" and engine.network_size((128, 128)) == (128, 128)
    label = np.zeros((128, 128), np.uint8)
    with pytest.raises(InputError, match="most"):
        engine.generate(
            RenderRequest(label=label, styles={"s": StyleSource("s", np.zeros((128, 128, 3), np.uint8), label)})
        )
