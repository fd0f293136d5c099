"""Two convolutions oneDNN runs slowly in float32, as one matmul over every kernel tap and shifted sums.

* A **transposed 3x3 convolution of stride 2** (pix2pixHD's up-sampling layers: padding 1, output padding 1).
  Each output pixel of parity (a, b) collects 1, 2, 2 or 4 taps from the input pixels beside it, so with
  ``Y = W_taps @ X`` (all nine taps' (C_out x C_in) matrices stacked, one matmul over the input pixels) each
  of the four output phases is a sum of one to four shifted planes of ``Y``, interleaved.
* A **convolution with few output channels and a large kernel** (pix2pixHD's last layer: 7x7, 64 -> 3, after
  a reflection pad): ``Y = W_taps @ X`` with k*k*C_out rows, then the k*k planes of ``Y`` summed at their
  offsets. oneDNN blocks output channels by 16 and wastes most of each block on three channels.

Both compute the same products as the convolutions and sum them in another order (float32, ~1e-6 relative,
held to the official outputs within 1e-4 by the parity tests). Whether they pay depends on the CPU and the
shape, so each use is a measured choice (:mod:`regionpaint.engines.acceleration.autotune`, ``tap_matmul``:
``matmul`` or ``direct``), the direct convolution being the first guess. Exact (float32, autocast off) only:
under bf16 autocast the matmul would round ``Y`` to bf16 before the sums, where oneDNN's bf16 convolution
accumulates in float32.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from regionpaint.engines.acceleration.fast import memory_format_of

MAX_OUT_CHANNELS = 8  # a plain convolution is taken by taps only with this few output channels
MAX_TAP_BYTES = 1 << 30  # Y (taps x C_out x pixels, float32) above this size: the direct convolution


def applies(conv: nn.Module, x: torch.Tensor) -> bool:
    """Whether ``conv`` on ``x`` is one of the two shapes this module computes (exact mode, CPU, 4-D)."""
    if x.dim() != 4 or x.device.type != "cpu" or x.dtype != torch.float32 or torch.is_autocast_enabled("cpu"):
        return False
    if torch.is_grad_enabled() or conv._forward_pre_hooks or nn.utils.parametrize.is_parametrized(conv):
        return False  # training, or a weight its own forward computes (spectral norm's hooks)
    if conv.groups != 1 or conv.dilation != (1, 1) or conv.weight.dtype != torch.float32:
        return False
    if type(conv) is nn.ConvTranspose2d:
        shape_ok = conv.kernel_size == (3, 3) and conv.stride == (2, 2) and conv.padding == (1, 1)
        taps, c_out = 9, conv.out_channels
        return shape_ok and conv.output_padding == (1, 1) and _fits(taps, c_out, x)
    if type(conv) is nn.Conv2d:
        k = conv.kernel_size
        shape_ok = k[0] == k[1] and k[0] > 1 and conv.stride == (1, 1) and conv.padding == (0, 0)
        return shape_ok and conv.out_channels <= MAX_OUT_CHANNELS and _fits(k[0] * k[1], conv.out_channels, x)
    return False


def _fits(taps: int, c_out: int, x: torch.Tensor) -> bool:
    return taps * c_out * x.shape[2] * x.shape[3] * 4 <= MAX_TAP_BYTES


def run(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)`` by taps (the caller checked :func:`applies`); in ``x``'s memory format."""
    compute = _transposed if type(conv) is nn.ConvTranspose2d else _narrow
    out = torch.cat([compute(conv, sample) for sample in x.split(1)]) if len(x) > 1 else compute(conv, x)
    return out.contiguous(memory_format=memory_format_of(x))


def _tap_products(weight_taps: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(rows, H*W): every tap's matrix times every input pixel, one matmul. x: (1, C_in, H, W)."""
    c_in = x.shape[1]
    return torch.mm(weight_taps, x.reshape(c_in, -1))  # reshape: a copy only for a channels-last x


def _transposed(conv: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    _, c_in, h, w = x.shape
    c_out = conv.out_channels
    # weight (C_in, C_out, 3, 3) -> rows (ky, kx, C_out)
    taps = conv.weight.detach().permute(2, 3, 1, 0).reshape(9 * c_out, c_in)
    y = _tap_products(taps, x).view(3, 3, c_out, h, w)
    out = torch.empty((c_out, h, 2, w, 2), dtype=x.dtype, device=x.device)
    # out[2m + a, 2n + b]: tap ky = 1 for a = 0; ky = 2 at row m and ky = 0 at row m + 1 for a = 1 (same in x)
    out[:, :, 0, :, 0] = y[1, 1]
    odd_col = out[:, :, 0, :, 1]
    odd_col.copy_(y[1, 2])
    odd_col[:, :, :-1] += y[1, 0][:, :, 1:]
    odd_row = out[:, :, 1, :, 0]
    odd_row.copy_(y[2, 1])
    odd_row[:, :-1, :] += y[0, 1][:, 1:, :]
    both = out[:, :, 1, :, 1]
    both.copy_(y[2, 2])
    both[:, :, :-1] += y[2, 0][:, :, 1:]
    both[:, :-1, :] += y[0, 2][:, 1:, :]
    both[:, :-1, :-1] += y[0, 0][:, 1:, 1:]
    out = out.view(c_out, 2 * h, 2 * w)
    if conv.bias is not None:
        out += conv.bias.detach().view(-1, 1, 1)
    return out.unsqueeze(0)


def _narrow(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    _, c_in, h, w = x.shape
    k, c_out = conv.kernel_size[0], conv.out_channels
    oh, ow = h - k + 1, w - k + 1
    # weight (C_out, C_in, k, k) -> rows (ky, kx, C_out)
    taps = conv.weight.detach().permute(2, 3, 0, 1).reshape(k * k * c_out, c_in)
    y = _tap_products(taps, x).view(k * k, c_out, h * w)
    # On the flattened input grid, output (r, c) reads tap (ky, kx) at r*w + c + ky*w + kx: one shifted slice
    # per tap over the rows' full width; the w - ow columns that wrap around are cut off after.
    span = (oh - 1) * w + ow
    out = y[0, :, :span].clone()
    for t in range(1, k * k):
        ky, kx = divmod(t, k)
        offset = ky * w + kx
        out += y[t, :, offset : offset + span]
    out = F.pad(out, (0, oh * w - span)).view(c_out, oh, w)[:, :, :ow]
    if conv.bias is not None:
        out = out + conv.bias.detach().view(-1, 1, 1)
    return out.unsqueeze(0).contiguous()


def chosen(conv: nn.Module, x: torch.Tensor) -> bool:
    """Whether the tap matmul (rather than the direct convolution) runs ``conv`` on ``x``: measured per shape
    on this machine (``tap_matmul``), the direct convolution being the guess."""
    from regionpaint.engines.acceleration import autotune

    kind = "transposed" if type(conv) is nn.ConvTranspose2d else f"k{conv.kernel_size[0]}"
    size, fmt = x.shape, memory_format_of(x)
    layout = "cl" if fmt == torch.channels_last else "nchw"
    key = f"{kind} {conv.in_channels}>{conv.out_channels} {size[0]}x{size[2]}x{size[3]} float32 {layout}"
    math = autotune.TorchMath.current("cpu")

    def candidates() -> dict[str, Callable[[], object]]:
        sample = torch.randn(size).contiguous(memory_format=fmt)
        return autotune.under(math, {"direct": lambda: conv(sample), "matmul": lambda: run(conv, sample)})

    return autotune.choose("tap_matmul", key, candidates, "direct") == "matmul"
