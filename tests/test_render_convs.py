"""The render's faster convolutions: Winograd F(2x2, 3x3) and the one-hot input head's lookup.

Both compute the same sums as the direct convolution in another order, so in float32 they are held to
a float64 reference as tightly as the direct convolution is; in bfloat16 (fast mode) to the PSNR bar.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from regionpaint.engines.acceleration.onehot_conv import OneHotConv, one_hot_codes, reflect_indices
from regionpaint.engines.acceleration.winograd import (
    WinogradConv3x3,
    WinogradConvs,
    supports,
    transform_filters,
    winograd_conv3x3,
    worth_winograd,
)


def _snr_db(a: torch.Tensor, ref: torch.Tensor) -> float:
    return float(10 * torch.log10(ref.pow(2).mean() / (a.float() - ref).pow(2).mean()))


@pytest.mark.parametrize(
    "c_in, c_out, h, w, padding, batch, channels_last",
    [
        (8, 8, 10, 14, 0, 1, False),  # even output
        (6, 5, 9, 12, 0, 2, True),  # odd output height, batch, channels-last input
        (4, 7, 7, 7, 1, 1, False),  # the conv's own zero padding, odd output both ways
        (3, 4, 3, 3, 0, 1, False),  # one output pixel
    ],
)
def test_winograd_equals_the_direct_convolution_in_float32(c_in, c_out, h, w, padding, batch, channels_last):
    gen = torch.Generator().manual_seed(c_in * 100 + h)
    weight = torch.randn(c_out, c_in, 3, 3, generator=gen)
    bias = torch.randn(c_out, generator=gen)
    x = torch.randn(batch, c_in, h, w, generator=gen)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    ref = F.conv2d(x.double(), weight.double(), bias.double(), padding=padding)
    out = winograd_conv3x3(x, transform_filters(weight, torch.float32), bias, padding)
    assert out.shape == ref.shape and out.dtype == torch.float32
    # The input's memory format, as oneDNN's convolution keeps it.
    assert out.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    assert (out.double() - ref).abs().max().item() < 1e-5 * ref.abs().max().item()


def test_winograd_in_bfloat16_stays_above_40_db_and_is_not_float32():
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(64, 64, 3, 3, generator=gen) / 24
    x = torch.randn(1, 64, 18, 34, generator=gen)
    ref = F.conv2d(x.double(), weight.double()).float()
    fast = winograd_conv3x3(x, transform_filters(weight, torch.bfloat16))
    exact = winograd_conv3x3(x, transform_filters(weight, torch.float32))
    assert 40.0 <= _snr_db(fast, ref) < _snr_db(exact, ref)


def test_transformed_filters_follow_the_weights():
    conv = torch.nn.Conv2d(4, 4, 3, padding=1)
    runner = WinogradConv3x3(conv)
    x = torch.randn(1, 4, 6, 6)
    first = runner(x)
    assert runner.filters(torch.float32) is runner.filters(torch.float32)  # kept between calls
    with torch.no_grad():
        conv.weight.mul_(-2.0)  # an optimiser step or a reload writes in place
    with torch.inference_mode():
        # Winograd and oneDNN's direct conv sum 36 products of order 1 in other orders: measured 4.8e-7 apart
        # (each within 6e-7 of float64) on outputs up to 2.9; 1e-5 (+ allclose's rtol 1e-5) leaves 20x.
        assert torch.allclose(runner(x), conv(x), atol=1e-5)
        assert not torch.allclose(runner(x), first, atol=1e-3)


def test_only_plain_3x3_stride_1_convolutions_are_taken():
    assert supports(torch.nn.Conv2d(4, 4, 3)) and supports(torch.nn.Conv2d(4, 4, 3, padding=1))
    for conv in (
        torch.nn.Conv2d(4, 4, 3, stride=2),
        torch.nn.Conv2d(4, 4, 3, dilation=2),
        torch.nn.Conv2d(4, 4, 3, groups=2),
        torch.nn.Conv2d(4, 4, 5),
        torch.nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"),
        torch.nn.ConvTranspose2d(4, 4, 3),
    ):
        assert not supports(conv)
    with pytest.raises(ValueError, match="3x3 stride-1"):
        WinogradConv3x3(torch.nn.Conv2d(4, 4, 3, stride=2))


def test_the_measured_rule_picks_big_convolutions_of_small_maps():
    big = torch.nn.Conv2d(1024, 1024, 3)
    assert worth_winograd(big, torch.empty(1, 1024, 18, 34))  # pix2pixHD's residual blocks at 512x256
    assert not worth_winograd(big, torch.empty(1, 1024, 130, 258))  # many pixels: direct
    assert not worth_winograd(torch.nn.Conv2d(256, 256, 3), torch.empty(1, 256, 18, 34))  # few channels
    assert not worth_winograd(torch.nn.Conv2d(1024, 1024, 3, stride=2), torch.empty(1, 1024, 18, 34))


def test_the_runner_follows_autocast_and_counts_what_it_took():
    gen = torch.Generator().manual_seed(1)
    conv = torch.nn.Conv2d(16, 16, 3, padding=1)
    strided = torch.nn.Conv2d(16, 16, 3, stride=2)
    x = torch.randn(1, 16, 12, 12, generator=gen)
    runner = WinogradConvs(min_channels=1, max_pixels=10**6)
    with torch.inference_mode():
        ref = F.conv2d(x.double(), conv.weight.double(), conv.bias.double(), padding=1).float()
        exact = runner(conv, x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = runner(conv, x)
            assert runner(strided, x).dtype == torch.bfloat16  # not taken: the plain autocast conv
    assert runner.calls == 2
    assert (exact - ref).abs().max().item() < 1e-5  # float32 vs float64: measured 4.5e-7 (outputs up to 2.3)
    assert 35.0 < _snr_db(fast, ref) < _snr_db(exact, ref)


def test_transformed_filters_stay_within_the_budget_and_fast_mode_comes_first():
    convs = [torch.nn.Conv2d(16, 16, 3, padding=1) for _ in range(2)]
    fp32, bf16 = 16 * 16 * 16 * 4, 16 * 16 * 16 * 2  # U bytes per conv
    runner = WinogradConvs(min_channels=1, max_pixels=10**6, budget_bytes=fp32 + bf16)
    x = torch.randn(1, 16, 8, 8)
    with torch.inference_mode():
        for conv in convs:
            # As above, 144 products: measured 7.2e-7 apart on outputs up to 2.0 (14x below 1e-5).
            assert torch.allclose(runner(conv, x), conv(x), atol=1e-5)
        assert runner.calls == 1 and runner.filter_bytes == fp32  # the second conv did not fit: direct
        with torch.autocast("cpu", dtype=torch.bfloat16):
            for conv in convs:
                runner(conv, x)
        assert runner.calls == 3  # both bf16 filters fit once the float32 ones made room
        assert runner.filter_bytes == 2 * bf16
        runner(convs[0], x)  # float32 again: no room left, so direct
        assert runner.calls == 3
    nothing = WinogradConvs(min_channels=1, max_pixels=10**6, budget_bytes=0)
    with torch.inference_mode():
        nothing(convs[0], x)
    assert nothing.calls == 0 and nothing.filter_bytes == 0


def test_the_budget_comes_from_the_environment(monkeypatch):
    from regionpaint.engines.acceleration.winograd import BUDGET_ENV, default_budget_bytes

    monkeypatch.setenv(BUDGET_ENV, "0")
    assert WinogradConvs().budget_bytes == 0
    monkeypatch.setenv(BUDGET_ENV, "1.5")
    assert default_budget_bytes() == int(1.5 * 2**20)
    monkeypatch.delenv(BUDGET_ENV)
    default = default_budget_bytes()
    assert 0 < default <= 2 * 2**30
    monkeypatch.setenv(BUDGET_ENV, "lots")  # not a number: the default, with a warning
    assert default_budget_bytes() == default


# ---------------------------------------------------------------- the one-hot head


def _one_hot_input(labels: torch.Tensor, n: int, edges: torch.Tensor | None) -> torch.Tensor:
    x = F.one_hot(labels, n).permute(0, 3, 1, 2).float()
    return x if edges is None else torch.cat([x, edges[:, None]], 1)


@pytest.mark.parametrize("with_edges", [True, False])
@pytest.mark.parametrize("kernel", [7, 3])
def test_one_hot_head_equals_the_padded_convolution(with_edges, kernel):
    gen = torch.Generator().manual_seed(kernel)
    n = 6
    labels = torch.randint(0, n, (2, 13, 17), generator=gen)
    edges = (torch.rand(2, 13, 17, generator=gen) > 0.7).float() if with_edges else None
    conv = torch.nn.Conv2d(n + int(with_edges), 5, kernel)
    head = OneHotConv(conv, n, with_edges)
    pad = kernel // 2
    x = F.pad(_one_hot_input(labels, n, edges), (pad,) * 4, mode="reflect")
    with torch.inference_mode():
        ref = F.conv2d(x.double(), conv.weight.double(), conv.bias.double())
        out = head(one_hot_codes(labels, edges))
    assert out.shape == ref.shape and out.dtype == torch.float32
    assert (out.double() - ref).abs().max().item() < 1e-5  # float32 vs float64: measured <= 1.8e-7 (outputs < 1)


def test_one_hot_head_follows_the_weights_and_rejects_other_convolutions():
    conv = torch.nn.Conv2d(4, 3, 7, bias=False)
    head = OneHotConv(conv, 3, edge_channel=True)
    codes = one_hot_codes(torch.zeros(1, 8, 8, dtype=torch.long), torch.zeros(1, 8, 8))
    before = head(codes)
    with torch.no_grad():
        conv.weight.add_(1.0)
    assert not torch.allclose(head(codes), before)
    with pytest.raises(ValueError, match="one-hot"):
        OneHotConv(conv, 4, edge_channel=True)  # 4 labels + an edge is 5 channels, not 4
    with pytest.raises(ValueError, match="one-hot"):
        OneHotConv(torch.nn.Conv2d(4, 3, 7, padding=3), 3, edge_channel=True)
    with pytest.raises(ValueError, match="reflection padding 3"):
        head(one_hot_codes(torch.zeros(1, 3, 8, dtype=torch.long), torch.zeros(1, 3, 8)))


def test_reflect_indices_are_reflection_padding():
    values = torch.arange(9.0)[None, None]
    padded = F.pad(values, (3, 3), mode="reflect")[0, 0]
    assert torch.equal(values[0, 0][reflect_indices(9, 3, torch.device("cpu"))], padded)


# ---------------------------------------------------------------- in the pix2pixHD engine


def _tiny_global(tmp_path):
    from regionpaint.engines.pix2pixhd.architecture import GeneratorArch, InputLayout
    from regionpaint.engines.pix2pixhd.engine import Pix2PixHDEngine
    from tests.factories import write_checkpoint

    arch = GeneratorArch("global", 6, 8, 2, 2, 0, 0, "instance")
    write_checkpoint(tmp_path / "tiny", arch, InputLayout(label_nc=5, instance_edge=True, feat_num=0), seed=4)
    engine = Pix2PixHDEngine()
    engine.load(tmp_path / "tiny", "cpu")
    return engine


def test_pix2pixhd_render_with_winograd_and_head_equals_the_plain_forward(tmp_path):
    from regionpaint.engines.base import RenderRequest

    engine = _tiny_global(tmp_path)
    engine._convs = WinogradConvs(min_channels=1, max_pixels=10**9)  # every residual conv, whatever its size
    rng = np.random.RandomState(0)
    label = np.repeat(np.repeat(rng.randint(0, 5, size=(4, 6)), 8, 0), 8, 1).astype(np.uint8)
    request = RenderRequest(label=label, instance=label.astype(np.int32))
    result = engine.generate(request)
    assert engine._convs.calls == 4  # two residual blocks, two convs each
    with torch.inference_mode():
        x, _info, codes = engine._network_input(request)
        plain = engine._require().generator(x)  # one-hot tensor, direct convolutions
        exact = copy.deepcopy(engine._require().generator).double()(x.double())  # float64, direct
    assert codes is not None
    # Winograd + lookup head vs direct convolutions: float32 both, the same sums in other orders. This tiny
    # network amplifies rounding (instance norm of near-constant channels of a blocky map): measured, the renders
    # are 3.0e-6 to 3.7e-6 from float64 and up to 4.4e-6 apart, too close to a fixed 1e-5 to hold on every CPU.
    # What holds by construction: Winograd is as accurate as the direct convolution, so every render is within
    # 4x the direct forward's own float32 error of float64 (measured ratio: <= 1.0).
    # A wrong transform or head moves the output by > 1e-2.
    bound = 4 * max((plain.double() - exact).abs().max().item(), 1e-6)
    assert (result.tensor.double() - exact).abs().max().item() <= bound
    batch = engine.generate_batch([request, request])
    assert all((r.tensor.double() - exact).abs().max().item() <= bound for r in batch)


@pytest.mark.parametrize("name", ["faces.rpaint", "streets.rpaint", "streets_pix2pixhd.rpaint"])
def test_winograd_everywhere_on_the_demo_models_keeps_exact_exact_and_fast_above_40_db(name):
    """The demo models are small (no conv reaches the measured rule): Winograd is forced on every 3x3
    block convolution, so the trained weights go through it in both modes."""
    from bench.engine_speed import psnr
    from bench.fast_quality import DEMO
    from regionpaint.app.model.project import open_project
    from regionpaint.app.render.from_document import job_from_document
    from regionpaint.app.render.service import RenderService, mean_style_sources
    from regionpaint.engines.base import MEAN_STYLE

    project = DEMO / name
    if not project.is_file():
        pytest.skip(f"{project} is not built (python -m tools.demo.build)")
    job = job_from_document(open_project(project))
    service = RenderService()
    engine_class = service.engine_class(job.engine_id, job.checkpoint)
    capabilities = service.capabilities(engine_class.id, job.checkpoint)
    request = service.fit(job, engine_class, capabilities)
    engine, _ = service.load(engine_class, job.checkpoint, "cpu")
    if MEAN_STYLE in capabilities:
        engine.set_mean_styles(mean_style_sources(job, request))
    try:
        renders = {}
        for forced in (False, True):
            engine._convs = WinogradConvs(min_channels=1, max_pixels=10**9) if forced else None
            for fast in (False, True):
                if hasattr(engine, "_label_cache"):
                    engine._label_cache.reset()  # SPADE keeps the last output per label
                renders[forced, fast] = engine.generate(dataclasses.replace(request, fast=fast))
        assert engine._convs.calls > 0
        exact, direct = renders[True, False].tensor, renders[False, False].tensor
        # float32 both, sums in other orders: measured 4.1e-6 (SEAN faces), 1.8e-6, 1.0e-6; 25x below 1e-4.
        assert (exact - direct).abs().max().item() < 1e-4
        assert 40.0 <= psnr(renders[True, True].image, renders[False, False].image) < float("inf")
    finally:
        service.release()
