"""3x3 convolutions by Winograd's minimal filtering F(2x2, 3x3): 16 matmuls where a direct conv does 36.

Each 2x2 block of outputs needs a 4x4 tile of input. Transforming the tile (``B^T d B``) and the filter
(``G g G^T``) turns the 3x3 correlation into an element-wise product of 4x4 arrays; summed over input
channels that is 16 independent matmuls (K x C) @ (C x tiles), and ``A^T M A`` gives the 2x2 outputs
(Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). 2.25x fewer multiplications,
the same sums in another order: in float32 it agrees with the direct convolution to float32 rounding
(cuDNN picks the same algorithm for the official code on a GPU).

It pays where a convolution is one big matmul over few pixels: pix2pixHD's 1024-channel residual
blocks at 1/16 of the image, SPADE's and SEAN's coarse blocks (measured by ``python -m bench --only
winograd``). In bfloat16 (fast mode) it costs ~5 dB of per-layer SNR against the direct convolution (46
vs 51 dB on random data); fast renders of the demo models stay above 53 dB against exact with it forced on
every block convolution (``tests/test_render_convs.py``). The transformed filters are 16/9 of the
weights; :class:`WinogradConv3x3` keeps them per dtype and rebuilds them when the weights change
(training, a reload); :class:`WinogradConvs` keeps them all within a memory budget.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from regionpaint.engines.acceleration import tap_matmul

log = logging.getLogger(__name__)

ConvRunner = Callable[[nn.Conv2d, torch.Tensor], torch.Tensor]
"""How a render runs a network's plain convolutions (a :class:`WinogradConvs`); None: ``conv(x)``."""


def call_conv(runner: ConvRunner | None, conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)``, through ``runner`` when there is one."""
    return conv(x) if runner is None else runner(conv, x)


# G (4x3), the filter transform: vec(G g G^T) = (G kron G) vec(g) for a row-major 3x3 g. Its entries
# are 0, +-1/4, +-1/2 and 1 (exact in binary).
_G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))


def transform_filters(weight: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(K, C, 3, 3) filters -> U, (16, K, C) in ``dtype``: ``G g G^T`` per (k, c), tile position first.

    One (16, 9) @ (9, K*C) matmul in float32: ~10 ms for 1024x1024 filters, and U comes out in the
    layout the tile matmuls read.
    """
    if weight.dim() != 4 or weight.shape[2:] != (3, 3):
        raise ValueError(f"Winograd F(2x2, 3x3) needs 3x3 filters, got shape {tuple(weight.shape)}")
    k, c = weight.shape[:2]
    g = torch.tensor(_G, dtype=torch.float32, device=weight.device)
    taps = weight.detach().float().reshape(k * c, 9)
    return (torch.kron(g, g) @ taps.t()).view(16, k, c).to(dtype)


def _steps(x: torch.Tensor, dim: int, start: int, count: int) -> torch.Tensor:
    """``x[..., start : start + 2 * count : 2, ...]`` along ``dim`` (every other row or column)."""
    index = [slice(None)] * x.dim()
    index[dim] = slice(start, start + 2 * count, 2)
    return x[tuple(index)]


def _input_transform(x: torch.Tensor, out: torch.Tensor, th: int, tw: int, row_dim: int) -> None:
    """``B^T d B`` of every 4x4 tile (stride 2) of ``x``, whose rows are ``row_dim`` and columns the next
    dim, written into ``out`` (16, *the tiles' shape)."""
    rows = [_steps(x, row_dim, j, th) for j in range(4)]
    # B^T's rows: d0 - d2, d1 + d2, d2 - d1, d1 - d3 (first along the rows, then along the columns).
    t = (rows[0] - rows[2], rows[1] + rows[2], rows[2] - rows[1], rows[1] - rows[3])
    for i, ti in enumerate(t):
        c = [_steps(ti, row_dim + 1, l, tw) for l in range(4)]
        torch.sub(c[0], c[2], out=out[4 * i])
        torch.add(c[1], c[2], out=out[4 * i + 1])
        torch.sub(c[2], c[1], out=out[4 * i + 2])
        torch.sub(c[1], c[3], out=out[4 * i + 3])


def _output_transform(m: torch.Tensor, out: torch.Tensor, bias: torch.Tensor | None) -> None:
    """``A^T M A`` of (4, 4, K, B, th, tw) ``m`` into ``out`` (K, B, th, 2, tw, 2), plus ``bias`` (K,)."""
    m = m.float()  # the sums in float32 (a no-op for float32 matmuls)
    # A^T's rows: m0 + m1 + m2 and m1 - m2 - m3.
    s = (m[0] + m[1] + m[2], m[1] - m[2] - m[3])
    for i, si in enumerate(s):
        torch.add(si[0] + si[1], si[2], out=out[:, :, :, i, :, 0])
        torch.sub(si[1] - si[2], si[3], out=out[:, :, :, i, :, 1])
    if bias is not None:
        out.add_(bias.view(-1, 1, 1, 1, 1, 1))


def winograd_conv3x3(
    x: torch.Tensor, u: torch.Tensor, bias: torch.Tensor | None = None, padding: int = 0
) -> torch.Tensor:
    """``conv2d(x, weight, bias, padding=padding)`` for a 3x3 stride-1 filter, from U of :func:`transform_filters`.

    ``x`` is (B, C, H, W) in any dtype; the matmuls run in ``u.dtype`` and the result is in it, as
    autocast's direct convolution. Both transforms sum in float32 (a bfloat16 ``u`` rounds the matmuls'
    operands and results, never the sums around them). The result keeps ``x``'s memory format
    (channels-last or contiguous), as oneDNN's convolution does.
    """
    if padding:
        x = F.pad(x, (padding,) * 4)
    b, c, h, w = x.shape
    oh, ow = h - 2, w - 2
    if oh < 1 or ow < 1:
        raise ValueError(f"input {h}x{w} is smaller than the 3x3 filter")
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    if oh % 2 or ow % 2:  # odd output: one zero row/column more, cropped below
        x = F.pad(x, (0, 2 * tw + 2 - w, 0, 2 * th + 2 - h))
    channels_last = x.dim() == 4 and c > 1 and x.is_contiguous(memory_format=torch.channels_last)
    dtype, k = u.dtype, u.shape[1]
    if channels_last:  # tiles from NHWC: (16, B*th*tw, C), read transposed by the matmul
        v = torch.empty((16, b, th, tw, c), dtype=dtype, device=x.device)
        _input_transform(x.permute(0, 2, 3, 1).float(), v, th, tw, row_dim=1)
        columns = v.view(16, b * th * tw, c).transpose(1, 2)
    else:  # tiles from (C, B, H, W): (16, C, B*th*tw)
        v = torch.empty((16, c, b, th, tw), dtype=dtype, device=x.device)
        _input_transform(x.transpose(0, 1).float(), v, th, tw, row_dim=2)
        columns = v.view(16, c, b * th * tw)
    m = torch.bmm(u, columns).view(4, 4, k, b, th, tw)
    out = torch.empty((k, b, th, 2, tw, 2), dtype=torch.float32, device=x.device)
    _output_transform(m, out, bias)
    y = out.view(k, b, 2 * th, 2 * tw).transpose(0, 1)[:, :, :oh, :ow]
    if channels_last:
        return y.to(dtype, memory_format=torch.channels_last)
    return y.to(dtype).contiguous()


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

    def has_filters(self, dtype: torch.dtype) -> bool:
        return dtype in self._u

    def filter_bytes(self, dtype: torch.dtype) -> int:
        """Bytes of U in ``dtype``: 16/9 of the weights' element count."""
        return 16 * self.conv.in_channels * self.conv.out_channels * (torch.finfo(dtype).bits // 8)

    def kept_bytes(self) -> int:
        """Bytes of the U kept now, all dtypes."""
        return sum(u.numel() * u.element_size() for _, u in self._u.values())

    def drop(self, dtype: torch.dtype) -> None:
        self._u.pop(dtype, None)

    def __call__(self, x: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return winograd_conv3x3(x, self.filters(dtype), self.conv.bias, self.conv.padding[0])


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


# The first guess before a measurement exists (tuning off, or the editor tuning in the background): the rule
# measured on a 2-core AMD EPYC (AVX-512-BF16, no AMX), where Winograd was 1.6-2.2x faster for 1024 channels at
# 32x16 and 1.3-1.8x for 512 channels at 64x32. On an Intel Xeon with AMX the same 512-channel shape is 4-16x
# *slower* by Winograd (docs/performance.md), so the choice is measured per machine (:mod:`.autotune`).
MIN_CHANNELS = 512
MAX_PIXELS = 2048


def worth_winograd(
    conv: nn.Conv2d, x: torch.Tensor, min_channels: int = MIN_CHANNELS, max_pixels: int = MAX_PIXELS
) -> bool:
    """The first guess of whether Winograd beats the direct convolution for ``conv`` on ``x`` (see
    :data:`MIN_CHANNELS`); :class:`WinogradConvs` measures it where tuning is on.

    Only on a CPU: cuDNN already picks Winograd on a GPU.
    """
    if x.device.type != "cpu" or not supports(conv):
        return False
    pad = conv.padding[0]
    pixels = (x.shape[-2] + 2 * pad - 2) * (x.shape[-1] + 2 * pad - 2)
    return min(conv.in_channels, conv.out_channels) >= min_channels and pixels <= max_pixels


BUDGET_ENV = "REGIONPAINT_WINOGRAD_MB"


def default_budget_bytes() -> int:
    """The transformed filters' memory budget: an eighth of physical memory, at most 2 GiB.

    Full-size pix2pixHD keeps 1.2 GB of float32 U and 0.6 GB of bfloat16 U with both modes used;
    SPADE and SEAN about 0.45 GB. ``REGIONPAINT_WINOGRAD_MB`` sets it (0: no Winograd).
    """
    override = os.environ.get(BUDGET_ENV, "").strip()
    if override:
        try:
            return max(0, int(float(override) * 2**20))
        except ValueError:
            log.warning("%s=%r is not a number of megabytes: using the default", BUDGET_ENV, override)
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): assume a small machine
        physical = 8 * 2**30
    return min(2 * 2**30, physical // 8)


class WinogradConvs:
    """A ``ConvRunner``: each convolution by Winograd where it measured faster on this machine, else directly.
    (Exact renders also take pix2pixHD's transposed and narrow 7x7 convolutions by tap matmuls where those
    measured faster: :mod:`regionpaint.engines.acceleration.tap_matmul`.)

    The choice is per (channels in and out, map size, padding, batch, dtype, memory format), timed on first
    sight by :func:`regionpaint.engines.acceleration.autotune.choose` ("winograd": "winograd" or "direct");
    :func:`worth_winograd` with ``min_channels``/``max_pixels`` is the guess where tuning is off or pending.

    The matmuls run in autocast's dtype when autocast is on (fast mode), else in the input's dtype,
    as the direct convolution would. One per loaded network: it keeps the transformed filters, within
    ``budget_bytes`` (default :func:`default_budget_bytes`). A convolution whose U does not fit runs
    directly. Fast mode's (half-size) filters come first: they may push out float32 ones, because fast
    mode is where the editor's interactive renders are; the exact follow-up renders are not interactive.
    """

    def __init__(
        self, min_channels: int = MIN_CHANNELS, max_pixels: int = MAX_PIXELS, budget_bytes: int | None = None
    ) -> None:
        self.min_channels, self.max_pixels = min_channels, max_pixels
        self.budget_bytes = default_budget_bytes() if budget_bytes is None else budget_bytes
        self._convs: dict[int, WinogradConv3x3] = {}
        self.calls = 0  # convolutions run by Winograd so far

    @property
    def filter_bytes(self) -> int:
        """Bytes of transformed filters kept now."""
        return sum(runner.kept_bytes() for runner in self._convs.values())

    def __call__(self, conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
        if tap_matmul.applies(conv, x):  # transposed stride-2 and narrow large-kernel convolutions, exact
            return tap_matmul.run(conv, x) if tap_matmul.chosen(conv, x) else conv(x)
        if x.device.type != "cpu" or not supports(conv) or self.budget_bytes <= 0:
            return conv(x)
        device = x.device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
        if not self._winograd_chosen(conv, x, dtype):
            return conv(x)
        runner = self._convs.get(id(conv))
        if runner is None or runner.conv is not conv:
            runner = self._convs[id(conv)] = WinogradConv3x3(conv)
        if not runner.has_filters(dtype) and not self._make_room(runner.filter_bytes(dtype), dtype):
            return conv(x)
        self.calls += 1
        return runner(x, dtype)

    def _winograd_chosen(self, conv: nn.Conv2d, x: torch.Tensor, dtype: torch.dtype) -> bool:
        from regionpaint.engines.acceleration import autotune

        guess = "winograd" if worth_winograd(conv, x, self.min_channels, self.max_pixels) else "direct"
        # What the timing needs of this call, captured now (a background timing runs on another thread,
        # without this one's autocast; the activation itself is not kept).
        math, size, x_dtype, layout = autotune.TorchMath.current("cpu"), x.shape, x.dtype, memory_format(x)

        def candidates() -> dict[str, Callable[[], object]]:
            return timing_candidates(conv, size, x_dtype, layout, dtype, math)

        return autotune.choose("winograd", conv_shape(conv, x, dtype), candidates, guess) == "winograd"

    def _make_room(self, needed: int, dtype: torch.dtype) -> bool:
        """Whether ``needed`` more bytes fit the budget; for a non-float32 dtype, float32 U is dropped
        (those convolutions run directly again) until they do."""
        free = self.budget_bytes - self.filter_bytes
        if needed <= free:
            return True
        if dtype == torch.float32:
            return False
        for runner in reversed(list(self._convs.values())):  # the last-built float32 filters go first
            if free >= needed:
                break
            if runner.has_filters(torch.float32):
                free += runner.filter_bytes(torch.float32)
                runner.drop(torch.float32)
        return needed <= free


def memory_format(x: torch.Tensor) -> torch.memory_format:
    """channels-last (fast mode's activations) or contiguous."""
    channels_last = x.dim() == 4 and x.shape[1] > 1 and x.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if channels_last else torch.contiguous_format


def conv_shape(conv: nn.Conv2d, x: torch.Tensor, dtype: torch.dtype) -> str:
    """The autotune key of a convolution call: what its speed depends on, never its weights' values."""
    layout = "cl" if memory_format(x) == torch.channels_last else "nchw"
    b, _, h, w = x.shape
    dtype_name = str(dtype).removeprefix("torch.")
    return f"{conv.in_channels}>{conv.out_channels} {b}x{h}x{w} pad{conv.padding[0]} {dtype_name} {layout}"


def timing_candidates(
    conv: nn.Conv2d,
    size: torch.Size,
    x_dtype: torch.dtype,
    layout: torch.memory_format,
    dtype: torch.dtype,
    math: object,
) -> dict[str, Callable[[], object]]:
    """The "direct" and "winograd" runs on a random input of the call's shape, dtype and memory format, under its math
    (an :class:`regionpaint.engines.acceleration.autotune.TorchMath`); the filters are transformed in the
    warm-up call, as a render keeps them."""
    from regionpaint.engines.acceleration.autotune import under

    sample = torch.randn(size, dtype=x_dtype).contiguous(memory_format=layout)
    runner = WinogradConv3x3(conv)
    return under(math, {"direct": lambda: conv(sample), "winograd": lambda: runner(sample, dtype)})
