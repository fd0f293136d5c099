"""LocalEnhancer (netG local) against an independent functional re-implementation of the official forward.

No official reference output ships for netG local, so a tiny random checkpoint (non-trivial weights
and biases) is run through both the engine and a reference written here from the official
description (networks.py LocalEnhancer/GlobalGenerator/ResnetBlock), straight from the state dict.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from regionpaint.engines.base import InputError, RenderRequest
from regionpaint.engines.pix2pixhd.architecture import GeneratorArch, InputLayout, infer_generator
from regionpaint.engines.pix2pixhd.engine import Pix2PixHDEngine
from regionpaint.engines.pix2pixhd.networks import build_generator
from tests.factories import randomize, write_checkpoint

# ---------------------------------------------------------------- reference (from the official description)


def _conv(x, sd, key, reflect=0, stride=1, padding=0):
    if reflect:
        x = F.pad(x, (reflect,) * 4, mode="reflect")
    return F.conv2d(x, sd[f"{key}.weight"], sd[f"{key}.bias"], stride=stride, padding=padding)


def _convT(x, sd, key):
    return F.conv_transpose2d(x, sd[f"{key}.weight"], sd[f"{key}.bias"], stride=2, padding=1, output_padding=1)


def _norm_relu(x):
    return F.relu(F.instance_norm(x, eps=1e-5))


def _resblock(x, sd, key):
    y = _norm_relu(_conv(x, sd, f"{key}.conv_block.1", reflect=1))
    y = F.instance_norm(_conv(y, sd, f"{key}.conv_block.5", reflect=1), eps=1e-5)
    return x + y


def _global_trunk(x, sd, n_down, n_blocks):
    """GlobalGenerator minus its last 3 layers: index arithmetic of the official Sequential."""
    x = _norm_relu(_conv(x, sd, "model.1", reflect=3))
    idx = 4
    for _ in range(n_down):
        x = _norm_relu(_conv(x, sd, f"model.{idx}", stride=2, padding=1))
        idx += 3
    for _ in range(n_blocks):
        x = _resblock(x, sd, f"model.{idx}")
        idx += 1
    for _ in range(n_down):
        x = _norm_relu(_convT(x, sd, f"model.{idx}"))
        idx += 3
    return x


def _avg_pool_reference(x):
    """AvgPool2d(3, 2, 1, count_include_pad=False) by explicit window sums / in-image counts."""
    ones = torch.ones_like(x[:, :1])
    kernel = torch.ones(1, 1, 3, 3, dtype=x.dtype)
    sums = F.conv2d(x.reshape(-1, 1, *x.shape[2:]), kernel, stride=2, padding=1).reshape(
        x.shape[0], x.shape[1], *[(s + 1) // 2 for s in x.shape[2:]]
    )
    counts = F.conv2d(ones, kernel, stride=2, padding=1)
    return sums / counts


def reference_local(x, sd, n_down, n_blocks, n_local, n_blocks_local):
    pyramid = [x]
    for _ in range(n_local):
        pyramid.append(_avg_pool_reference(pyramid[-1]))
    out = _global_trunk(pyramid[-1], sd, n_down, n_blocks)
    for n in range(1, n_local + 1):
        level = pyramid[n_local - n]
        down = _norm_relu(_conv(level, sd, f"model{n}_1.1", reflect=3))
        down = _norm_relu(_conv(down, sd, f"model{n}_1.4", stride=2, padding=1))
        y = down + out
        for b in range(n_blocks_local):
            y = _resblock(y, sd, f"model{n}_2.{b}")
        y = _norm_relu(_convT(y, sd, f"model{n}_2.{n_blocks_local}"))
        if n == n_local:
            y = torch.tanh(_conv(y, sd, f"model{n}_2.{n_blocks_local + 4}", reflect=3))
        out = y
    return out


# ---------------------------------------------------------------- tests

ARCHS = [
    GeneratorArch("local", 6, 4, 2, 2, 1, 2, "instance"),
    GeneratorArch("local", 6, 2, 2, 1, 2, 1, "instance"),
]


@pytest.mark.parametrize("arch", ARCHS, ids=["1-enhancer", "2-enhancers"])
def test_local_enhancer_matches_reference(arch):
    net = randomize(build_generator(arch), seed=3).eval()
    sd = net.state_dict()
    assert infer_generator({k: tuple(v.shape) for k, v in sd.items()}, "tiny") == arch
    x = torch.randn(1, arch.input_nc, 32, 48, generator=torch.Generator().manual_seed(1))
    captured = {}
    hook = net.model.register_forward_pre_hook(lambda mod, args: captured.setdefault("x", args[0].clone()))
    with torch.inference_mode():
        ours = net(x)
    hook.remove()
    expected = reference_local(
        x, sd, arch.n_downsample_global, arch.n_blocks_global, arch.n_local_enhancers, arch.n_blocks_local
    )
    assert ours.shape == (1, 3, 32, 48)
    # The same F.conv2d / instance_norm calls on the same shapes (measured 0 apart); 1e-5 is room for a module
    # that sums in another order, far below what a wrong layer changes (> 1e-2).
    assert (ours - expected).abs().max().item() < 1e-5
    assert ours.std().item() > 0.1  # non-trivial output, not saturated to a constant
    # The global branch sees the input average-pooled n_local_enhancers times.
    pooled = x
    for _ in range(arch.n_local_enhancers):
        pooled = _avg_pool_reference(pooled)
    assert captured["x"].shape == pooled.shape
    assert torch.allclose(captured["x"], pooled, atol=1e-6)
    # count_include_pad=False: the corner window averages its 4 in-image pixels, not 4 of 9.
    if arch.n_local_enhancers == 1:
        assert torch.allclose(captured["x"][..., 0, 0], x[..., :2, :2].mean((-2, -1)), atol=1e-6)


def test_final_bias_is_loaded_and_used():
    """Conv biases followed by InstanceNorm cancel out mathematically; the last conv's does not."""
    arch = ARCHS[0]
    net = randomize(build_generator(arch), seed=3).eval()
    x = torch.randn(1, arch.input_nc, 16, 16)
    with torch.inference_mode():
        before = net(x)
        net.model1_2[arch.n_blocks_local + 4].bias.add_(0.5)
        after = net(x)
    assert (before - after).abs().max().item() > 1e-2


def _label_and_instance():
    rng = np.random.RandomState(0)
    label = np.repeat(np.repeat(rng.randint(0, 5, size=(4, 6)), 8, 0), 8, 1).astype(np.uint8)  # 32 x 48
    instance = label.astype(np.int32) * 1000 + (np.arange(48)[None, :] // 24)
    return label, instance


def test_engine_renders_local_checkpoint_like_reference(tmp_path):
    arch = ARCHS[0]
    layout = InputLayout(label_nc=5, instance_edge=True, feat_num=0)
    states = write_checkpoint(tmp_path / "tiny_local", arch, layout, seed=5)
    engine = Pix2PixHDEngine()
    engine.load(tmp_path / "tiny_local", "cpu")
    assert engine._loaded.generator_arch == arch and engine._loaded.layout == layout
    label, instance = _label_and_instance()
    # resize_or_crop none: 48x32 is already a multiple of 2**2 * 2**1.
    assert engine.network_size(label.shape) == (48, 32)
    result = engine.generate(RenderRequest(label=label, instance=instance))

    onehot = F.one_hot(torch.from_numpy(label).long(), 5).permute(2, 0, 1)[None].float()
    inst = torch.from_numpy(instance)
    edge = torch.zeros_like(inst, dtype=torch.bool)
    edge[:, 1:] |= inst[:, 1:] != inst[:, :-1]
    edge[:, :-1] |= inst[:, 1:] != inst[:, :-1]
    edge[1:, :] |= inst[1:, :] != inst[:-1, :]
    edge[:-1, :] |= inst[1:, :] != inst[:-1, :]
    x = torch.cat([onehot, edge[None, None].float()], 1)
    expected = reference_local(x, states["G"], 2, 2, 1, 2)
    as_double = {k: v.double() if v.is_floating_point() else v for k, v in states["G"].items()}
    exact = reference_local(x.double(), as_double, 2, 2, 1, 2)
    # The engine (the input head as lookups, oneDNN's kernels) and the reference's plain F.conv2d are both float32,
    # the same sums in other orders; this tiny network amplifies rounding (instance norm of near-constant
    # channels of a blocky map): measured 1.6e-6 apart, 6x from a fixed 1e-5. What holds by construction: the
    # engine is as accurate as the plain float32 forward, i.e. within 4x its error of the float64 forward
    # (measured: both 4.9e-6 from it). A wrong layer moves the output by > 1e-2.
    bound = 4 * max((expected.double() - exact).abs().max().item(), 1e-6)
    assert (result.tensor.double() - exact).abs().max().item() <= bound


def test_local_needs_multiples_of_its_base(tmp_path):
    write_checkpoint(tmp_path / "tiny_local", ARCHS[0], InputLayout(5, True, 0), seed=5)
    engine = Pix2PixHDEngine()
    engine.load(tmp_path / "tiny_local", "cpu")
    label, instance = _label_and_instance()
    with pytest.raises(InputError, match="multiples of 8"):
        engine.generate(RenderRequest(label=label, instance=instance, size=(44, 32)))


def test_bare_local_pth_defaults_to_full_resolution(tmp_path):
    """Without opt.txt a LocalEnhancer renders like the official test_1024p.sh (--resize_or_crop none)."""
    write_checkpoint(tmp_path / "tiny_local", ARCHS[0], InputLayout(5, True, 0), seed=5)
    bare = tmp_path / "local.pth"
    bare.write_bytes((tmp_path / "tiny_local" / "latest_net_G.pth").read_bytes())
    engine = Pix2PixHDEngine()
    engine.load(bare, "cpu")
    assert engine._loaded.preprocessing.resize_or_crop == "none"
    assert engine.network_size((1024, 2048)) == (2048, 1024)
    assert engine.network_size((500, 1000)) == (1000, 496)  # round(62.5) == 62 (half to even) * 8
    layout = engine._loaded.layout
    assert (layout.label_nc, layout.instance_edge, layout.guessed) == (5, True, True)


def test_norm_batch_uses_batch_statistics_like_the_official_test():
    """--norm batch: official test.py never calls eval(), so BatchNorm normalises with batch statistics."""
    from torch import nn

    from regionpaint.engines.pix2pixhd.networks import BatchStatNorm2d

    arch = GeneratorArch("global", 6, 4, 2, 1, 0, 0, "batch")
    net = randomize(build_generator(arch), seed=2).eval()
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert "model.2.running_mean" in shapes and infer_generator(shapes, "bn") == arch
    x = torch.randn(1, 6, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        before = net(x)
        for module in net.modules():
            if isinstance(module, BatchStatNorm2d):
                module.running_mean.fill_(3.0)
                module.running_var.fill_(7.0)
        assert torch.equal(net(x), before)
        # Batch of one: batch statistics are the per-channel statistics of the image = affine InstanceNorm.
        for name, module in list(net.named_modules()):
            if isinstance(module, BatchStatNorm2d):
                inorm = nn.InstanceNorm2d(module.num_features, affine=True)
                inorm.weight.copy_(module.weight)
                inorm.bias.copy_(module.bias)
                parent, _, child = name.rpartition(".")
                setattr(net.get_submodule(parent), child, inorm)
        # Batch statistics of one image vs instance norm: the same means and variances (measured 0 apart).
        assert (net(x) - before).abs().max().item() < 1e-5
