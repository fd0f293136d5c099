"""Winograd F(2x2, 3x3) against the direct convolution, per layer shape and dtype; the one-hot input head against its
convolution. ``engine_uses`` is what the engine's autotuner picks on this machine (timed afresh, in a scratch
cache), ``rule_guess`` the first guess it starts from (``worth_winograd``, the rule measured on an AMD EPYC).

    python -m bench --only winograd
"""

from __future__ import annotations

import argparse

NAME = "winograd"
DESCRIPTION = "3x3 convs: Winograd vs direct per shape (float32, bfloat16); one-hot head lookup vs conv"

# (channels, output height, output width): pix2pixHD's residual blocks at 512x256 and 1024x512 inputs,
# and the finer levels where Winograd stops paying.
SHAPES = ((1024, 16, 32), (1024, 32, 64), (512, 32, 64), (512, 64, 128), (256, 64, 128), (128, 128, 256))


def _median_ms(fn, repeats: int) -> float:
    from bench.render_speed import median_seconds

    return median_seconds(fn, repeats, warm_up=True) * 1e3


def _psnr(a, ref) -> float:
    import torch

    return float(10 * torch.log10(ref.pow(2).mean() / (a.float() - ref).pow(2).mean()))


def conv_rows(repeats: int) -> list[dict]:
    import torch
    import torch.nn.functional as F

    from regionpaint.engines.acceleration.winograd import transform_filters, winograd_conv3x3, worth_winograd

    tuned = _tuned_choice()
    rows = []
    torch.manual_seed(0)
    for channels, h, w in SHAPES:
        conv = torch.nn.Conv2d(channels, channels, 3)
        x = torch.randn(1, channels, h + 2, w + 2).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            ref = F.conv2d(x.double(), conv.weight.double(), conv.bias.double()).float()
            for dtype in (torch.float32, torch.bfloat16):
                u = transform_filters(conv.weight, dtype)
                xd = x.to(dtype)  # the direct conv's input as autocast hands it over
                wd, bd = conv.weight.to(dtype).contiguous(memory_format=torch.channels_last), conv.bias.to(dtype)
                direct = _median_ms(lambda xd=xd, wd=wd, bd=bd: F.conv2d(xd, wd, bd), repeats)
                wino = _median_ms(lambda u=u, x=x, b=conv.bias: winograd_conv3x3(x, u, b), repeats)
                rows.append({
                    "layer": f"conv3x3 {channels}ch {w}x{h}", "dtype": str(dtype).removeprefix("torch."),
                    "direct_ms": direct, "winograd_ms": wino, "speedup": direct / wino,
                    "psnr_direct": _psnr(F.conv2d(xd, wd, bd), ref),
                    "psnr_winograd": _psnr(winograd_conv3x3(x, u, conv.bias), ref),
                    "engine_uses": tuned(conv, x, dtype),
                    "rule_guess": "winograd" if worth_winograd(conv, x) else "direct",
                })  # fmt: skip
    return rows


def _tuned_choice():
    """(conv, x, dtype) -> what :class:`WinogradConvs` runs on this machine, measured by a tuner with a scratch
    cache (the user's cache is left alone)."""
    import tempfile
    from pathlib import Path

    import torch

    from regionpaint.engines.acceleration import autotune
    from regionpaint.engines.acceleration.winograd import WinogradConvs

    tuner = autotune.Tuner(Path(tempfile.mkdtemp(prefix="regionpaint-bench-")) / "autotune.json", mode="inline")
    runner = WinogradConvs()

    def choice(conv, x, dtype) -> str:
        previous, autotune._tuner = autotune._tuner, tuner
        try:
            with torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
                return "winograd" if runner._winograd_chosen(conv, x, dtype) else "direct"
        finally:
            autotune._tuner = previous

    return choice


def head_rows(repeats: int) -> list[dict]:
    import torch
    import torch.nn.functional as F

    from regionpaint.engines.acceleration.onehot_conv import OneHotConv, one_hot_codes

    torch.manual_seed(0)
    labels, h, w = 35, 256, 512
    ids = torch.randint(0, labels, (1, h // 16, w // 16)).repeat_interleave(16, 1).repeat_interleave(16, 2)
    edges = torch.zeros(1, h, w)
    edges[:, 15::16] = edges[:, :, 15::16] = 1.0
    conv = torch.nn.Conv2d(labels + 1, 64, 7)
    head = OneHotConv(conv, labels, edge_channel=True)
    codes = one_hot_codes(ids, edges)
    x = torch.cat([F.one_hot(ids, labels).permute(0, 3, 1, 2).float(), edges[:, None]], 1)
    rows = []
    with torch.inference_mode():
        padded = F.pad(x, (3, 3, 3, 3), mode="reflect")
        ref = F.conv2d(padded.double(), conv.weight.double(), conv.bias.double()).float()
        lookup = _median_ms(lambda: head(codes), repeats)
        for dtype in (torch.float32, torch.bfloat16):
            xd = padded.to(dtype).contiguous(memory_format=torch.channels_last)
            wd, bd = conv.weight.to(dtype), conv.bias.to(dtype)
            direct = _median_ms(lambda xd=xd, wd=wd, bd=bd: F.conv2d(xd, wd, bd), repeats)
            rows.append({
                "layer": f"one-hot head {labels}+1 -> 64, 7x7 {w}x{h}", "dtype": str(dtype).removeprefix("torch."),
                "direct_ms": direct, "lookup_ms": lookup, "speedup": direct / lookup,
                "psnr_direct": _psnr(F.conv2d(xd, wd, bd), ref), "psnr_lookup": _psnr(head(codes), ref),
            })  # fmt: skip
    return rows


def run(args: argparse.Namespace) -> list[dict]:
    repeats = max(3, getattr(args, "repeats", 5))
    return conv_rows(repeats) + head_rows(repeats)
