"""3x3 convolutions by Winograd's minimal filtering F(2x2, 3x3): 16 matmuls where a direct conv does 36.

Each 2x2 block of outputs needs a 4x4 tile of input. Transforming the tile (``B^T d B``) and the filter
(``G g G^T``) turns the 3x3 correlation into an element-wise product of 4x4 arrays; summed over input
channels that is 16 independent matmuls (tiles x C) @ (C x K), and ``A^T M A`` gives the 2x2 outputs
(Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). 2.25x fewer multiplications,
the same sums in another order: in float32 it agrees with the direct convolution to float32 rounding
(cuDNN picks the same algorithm for the official code on a GPU).

It pays where a convolution is one big matmul over few pixels: pix2pixHD's 1024-channel residual
blocks at 1/16 of the image (measured by ``python -m bench --only winograd``). In bfloat16 (fast mode)
it costs ~4 dB of per-layer SNR against the direct convolution (46 vs 51 dB); pix2pixHD's full-size
fast render stays at 41 dB against exact on random weights. The transformed filters are
16/9 of the weights; :class:`WinogradConv3x3` keeps them per dtype, and forgets them when the weights
change (training, a reload).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

ConvRunner = Callable[[nn.Conv2d, torch.Tensor], torch.Tensor]
"""How a render runs a network's plain convolutions (a :class:`WinogradConvs`); None: ``conv(x)``."""


def call_conv(runner: ConvRunner | None, conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)``, through ``runner`` when there is one."""
    return conv(x) if runner is None else runner(conv, x)


def _filter_rows(g: torch.Tensor, dim: int) -> torch.Tensor:
    """``G`` applied along ``dim`` (size 3 -> 4): g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2."""
    g0, g1, g2 = g.unbind(dim)
    half_sum = (g0 + g2) * 0.5
    return torch.stack((g0, half_sum + g1 * 0.5, half_sum - g1 * 0.5, g2), dim)


def transform_filters(weight: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(K, C, 3, 3) filters -> U, (16, C, K) in ``dtype``: ``G g G^T`` per (k, c), tile position first.

    Computed in float32 on (3, 3, C, K) slabs (G's entries are halves: a few roundings at most).
    """
    if weight.dim() != 4 or weight.shape[2:] != (3, 3):
        raise ValueError(f"Winograd F(2x2, 3x3) needs 3x3 filters, got shape {tuple(weight.shape)}")
    k, c = weight.shape[:2]
    g = weight.detach().float().permute(2, 3, 1, 0).contiguous()  # (3, 3, C, K)
    u = _filter_rows(_filter_rows(g, 0), 1)  # (4, 4, C, K)
    return u.reshape(16, c, k).to(dtype)


def _input_transform(x: torch.Tensor, out: torch.Tensor, th: int, tw: int) -> None:
    """``B^T d B`` of every 4x4 tile (stride 2) of NHWC ``x``, written into ``out`` (16, B, th, tw, C)."""
    rows = [x[:, j : j + 2 * th : 2] for j in range(4)]
    # B^T's rows: d0 - d2, d1 + d2, d2 - d1, d1 - d3 (first along the rows, then along the columns).
    t = (rows[0] - rows[2], rows[1] + rows[2], rows[2] - rows[1], rows[1] - rows[3])
    for i, ti in enumerate(t):
        c = [ti[:, :, l : l + 2 * tw : 2] for l in range(4)]
        torch.sub(c[0], c[2], out=out[4 * i])
        torch.add(c[1], c[2], out=out[4 * i + 1])
        torch.sub(c[2], c[1], out=out[4 * i + 2])
        torch.sub(c[1], c[3], out=out[4 * i + 3])


def _output_transform(m: torch.Tensor, out: torch.Tensor, bias: torch.Tensor | None) -> None:
    """``A^T M A`` of (4, 4, B, th, tw, K) ``m`` into ``out`` (B, th, 2, tw, 2, K), plus ``bias``."""
    m = m.float()  # the sums in float32 (a no-op for float32 matmuls)
    # A^T's rows: m0 + m1 + m2 and m1 - m2 - m3.
    s = (m[0] + m[1] + m[2], m[1] - m[2] - m[3])
    for i, si in enumerate(s):
        torch.add(si[0] + si[1], si[2], out=out[:, :, i, :, 0])
        torch.sub(si[1] - si[2], si[3], out=out[:, :, i, :, 1])
    if bias is not None:
        out.add_(bias)


def winograd_conv3x3(
    x: torch.Tensor, u: torch.Tensor, bias: torch.Tensor | None = None, padding: int = 0
) -> torch.Tensor:
    """``conv2d(x, weight, bias, padding=padding)`` for a 3x3 stride-1 filter, from U of :func:`transform_filters`.

    ``x`` is (B, C, H, W) in any memory format and dtype; the matmuls run in ``u.dtype`` and the result
    is in it, as autocast's direct convolution. Both transforms sum in float32 (a bfloat16 ``u`` rounds
    the matmuls' operands and results, never the sums around them). The result is channels-last (for an
    odd output size, a cropped view of such a tensor).
    """
    if padding:
        x = F.pad(x, (padding,) * 4)
    b, c, h, w = x.shape
    oh, ow = h - 2, w - 2
    if oh < 1 or ow < 1:
        raise ValueError(f"input {h}x{w} is smaller than the 3x3 filter")
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    nhwc = x.permute(0, 2, 3, 1).float()
    if oh % 2 or ow % 2:  # odd output: one zero row/column more, cropped below
        nhwc = F.pad(nhwc, (0, 0, 0, 2 * tw + 2 - w, 0, 2 * th + 2 - h))
    dtype = u.dtype
    v = torch.empty((16, b, th, tw, c), dtype=dtype, device=x.device)
    _input_transform(nhwc, v, th, tw)
    k = u.shape[2]
    m = torch.bmm(v.view(16, b * th * tw, c), u).view(4, 4, b, th, tw, k)
    out = torch.empty((b, th, 2, tw, 2, k), dtype=torch.float32, device=x.device)
    _output_transform(m, out, None if bias is None else bias.float())
    y = out.view(b, 2 * th, 2 * tw, k)
    if dtype != torch.float32:
        y = y.to(dtype)
    if oh % 2 or ow % 2:
        y = y[:, :oh, :ow]
    return y.permute(0, 3, 1, 2)


class WinogradConv3x3:
    """Runs an ``nn.Conv2d`` (3x3, stride 1, no dilation or groups) by :func:`winograd_conv3x3`.

    Not a module: it borrows the convolution's parameters (whose state-dict keys stay the official ones)
    and keeps U per dtype, rebuilt when the weight changes in place (its version counter moves).
    """

    def __init__(self, conv: nn.Conv2d) -> None:
        if not supports(conv):
            raise ValueError(f"not a 3x3 stride-1 convolution: {conv}")
        self.conv = conv
        self._u: dict[torch.dtype, tuple[int, torch.Tensor]] = {}

    def filters(self, dtype: torch.dtype) -> torch.Tensor:
        weight = self.conv.weight
        cached = self._u.get(dtype)
        key = weight._version
        if cached is None or cached[0] != key or cached[1].device != weight.device:
            cached = (key, transform_filters(weight, dtype))
            self._u[dtype] = cached
        return cached[1]

    def __call__(self, x: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        padding = self.conv.padding[0] if isinstance(self.conv.padding, tuple) else 0
        return winograd_conv3x3(x, self.filters(dtype), self.conv.bias, padding)


def supports(conv: nn.Module) -> bool:
    """Whether ``conv`` is a convolution :class:`WinogradConv3x3` computes (a weight computed in the
    conv's own forward, as spectral norm's hooks do, stays with the direct convolution)."""
    return (
        type(conv) is nn.Conv2d
        and conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
        and isinstance(conv.padding, tuple)
        and conv.padding[0] == conv.padding[1]
        and not conv._forward_pre_hooks
        and not nn.utils.parametrize.is_parametrized(conv)
    )


# The measured rule (python -m bench --only winograd, 2-core AVX-512-BF16 CPU): Winograd is 1.7x faster in
# float32 and bfloat16 for 1024 channels at 32x16 and 1.45-1.7x for 512 channels at 64x32; at 8192 pixels
# or 256 channels and fewer the bfloat16 direct convolution is as fast or faster (oneDNN is
# compute-efficient there and the transforms' memory traffic is not).
MIN_CHANNELS = 512
MAX_PIXELS = 2048


def worth_winograd(
    conv: nn.Conv2d, x: torch.Tensor, min_channels: int = MIN_CHANNELS, max_pixels: int = MAX_PIXELS
) -> bool:
    """Whether Winograd beats the direct convolution for ``conv`` on ``x`` (see :data:`MIN_CHANNELS`).

    Only on a CPU: cuDNN already picks Winograd on a GPU.
    """
    if x.device.type != "cpu" or not supports(conv):
        return False
    pad = conv.padding[0]
    pixels = (x.shape[-2] + 2 * pad - 2) * (x.shape[-1] + 2 * pad - 2)
    return min(conv.in_channels, conv.out_channels) >= min_channels and pixels <= max_pixels


class WinogradConvs:
    """A ``ConvRunner``: each convolution by Winograd where :func:`worth_winograd`, else directly.

    The matmuls run in autocast's dtype when autocast is on (fast mode), else in the input's dtype,
    as the direct convolution would. One per loaded network: it keeps the transformed filters.
    """

    def __init__(self, min_channels: int = MIN_CHANNELS, max_pixels: int = MAX_PIXELS) -> None:
        self.min_channels, self.max_pixels = min_channels, max_pixels
        self._convs: dict[int, WinogradConv3x3] = {}
        self.calls = 0  # convolutions run by Winograd so far

    def __call__(self, conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
        if not worth_winograd(conv, x, self.min_channels, self.max_pixels):
            return conv(x)
        runner = self._convs.get(id(conv))
        if runner is None or runner.conv is not conv:
            runner = self._convs[id(conv)] = WinogradConv3x3(conv)
        device = x.device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
        self.calls += 1
        return runner(x, dtype)
