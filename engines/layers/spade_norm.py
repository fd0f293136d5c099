"""SPADE normalisation, shared by the SPADE and SEAN generators (official key layout).

Keys: ``param_free_norm.{running_mean,running_var,num_batches_tracked}`` (batch norms only),
``mlp_shared.0.{weight,bias}``, ``mlp_gamma.{weight,bias}``, ``mlp_beta.{weight,bias}``.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

from regionpaint.engines.acceleration import region_patterns

LAYOUTS = region_patterns.LayoutCache()


class _Switch:
    """``STRUCTURAL.enabled = False`` runs the plain convolutions (benchmarks compare the two)."""

    enabled = True


STRUCTURAL = _Switch()

SPADE_HIDDEN = 128  # hard-coded in the official code


def param_free_norm(kind: str, channels: int) -> nn.Module:
    """The normalisation before modulation: ``instance``, ``batch`` or ``syncbatch``.

    The official ``syncbatch`` is SynchronizedBatchNorm2d(affine=False); a plain BatchNorm2d has the same
    buffers and, in eval mode, the same arithmetic (running statistics). Training across GPUs converts it
    with ``nn.SyncBatchNorm.convert_sync_batchnorm``.
    """
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind in ("batch", "syncbatch"):
        return nn.BatchNorm2d(channels, affine=False)
    raise ValueError(f"unknown param-free norm {kind!r} (expected instance, batch or syncbatch)")


def parse_spade_config(config: str) -> tuple[str, int]:
    """``'spadesyncbatch3x3'`` -> (``'syncbatch'``, 3); ``spectral`` prefixes must already be removed."""
    match = re.fullmatch(r"spade(\D+)(\d)x\d", config)
    if not match:
        raise ValueError(f"bad SPADE norm config {config!r}")
    return match.group(1), int(match.group(2))


def modulate(normalized: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """``normalized * (1 + gamma) + beta``; at inference in two passes over the map instead of three, reusing
    ``normalized`` (a fresh temporary of the caller) for the result. Same value up to rounding (~1 ulp)."""
    if torch.is_grad_enabled():
        return normalized * (1 + gamma) + beta
    return torch.addcmul(beta, normalized, gamma).add_(normalized)


def resize_segmap(segmap: torch.Tensor, size: torch.Size | tuple[int, int]) -> torch.Tensor:
    """Legacy ``F.interpolate(mode='nearest')``: the official (top-left) nearest, not 'nearest-exact'."""
    if tuple(segmap.shape[-2:]) == tuple(size):
        return segmap
    return F.interpolate(segmap, size=tuple(size), mode="nearest")


class SPADE(nn.Module):
    """``normalized * (1 + gamma(seg)) + beta(seg)`` with a shared hidden layer (128 wide in the official code).

    ``hidden`` other than 128 is this project's extension: the hidden layer runs at every block's resolution
    and dominates the cost of narrow generators (the CPU-trained demo models use 32).
    """

    def __init__(self, config: str, norm_nc: int, label_nc: int, hidden: int = SPADE_HIDDEN) -> None:
        super().__init__()
        kind, kernel = parse_spade_config(config)
        self.param_free_norm = param_free_norm(kind, norm_nc)
        pad = kernel // 2
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, hidden, kernel, padding=pad), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, norm_nc, kernel, padding=pad)
        self.mlp_beta = nn.Conv2d(hidden, norm_nc, kernel, padding=pad)

    def modulation(self, segmap: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(gamma, beta) for a feature map of spatial ``size``; label-only, so callers may cache it.

        At inference the one-hot segmap is piecewise constant, so gamma/beta depend only on each pixel's 5x5 window of
        labels: computed once per distinct window (:mod:`regionpaint.engines.acceleration.region_patterns`), same values
        up to float summation order, a fraction of the arithmetic. Training (autograd) takes the plain convs.
        """
        seg = resize_segmap(segmap, size)
        if self._structural_applies(seg):
            # One layout per sample of a batch (batch renders: each label map has its own patterns).
            layouts = [LAYOUTS.get(segmap, (*size, i), seg[i : i + 1]) for i in range(seg.shape[0])]

            def structural() -> tuple[torch.Tensor, torch.Tensor]:
                maps = [self._structural_modulation(layout, vectors) for layout, vectors in layouts]
                if len(maps) == 1:
                    return maps[0]
                return torch.cat([g for g, _ in maps]), torch.cat([b for _, b in maps])

            share = max(layout.share(2) for layout, _ in layouts)
            shape = f"{seg.shape[1]}>{self.mlp_shared[0].out_channels}>{self.mlp_gamma.out_channels} {tuple(seg.shape)}"
            if region_patterns.patterns_chosen(
                "spade_modulation", shape, share, structural, lambda: self._plain_modulation(seg), seg.device
            ):
                return structural()
        return self._plain_modulation(seg)

    def _plain_modulation(self, seg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        actv = self.mlp_shared(seg)
        return self.mlp_gamma(actv), self.mlp_beta(actv)

    def _structural_applies(self, seg: torch.Tensor) -> bool:
        if not STRUCTURAL.enabled or torch.is_grad_enabled():
            return False
        convs = (self.mlp_shared[0], self.mlp_gamma, self.mlp_beta)
        return all(c.kernel_size == (3, 3) and c.padding == (1, 1) and c.stride == (1, 1) for c in convs)

    def _structural_modulation(
        self, layout: region_patterns.RegionLayout, vectors: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(gamma, beta) from the layout alone: see :mod:`regionpaint.engines.acceleration.region_patterns`."""
        rc = region_patterns
        shared = rc.cached_matrices(self, "shared", [self.mlp_shared[0]])
        gamma_beta = rc.cached_matrices(self, "gamma_beta", [self.mlp_gamma, self.mlp_beta])
        first, second = layout.patterns(1), layout.patterns(2)
        dtype = rc.map_dtype(vectors.device)
        with rc.float32_tables(vectors.device):
            lookups = rc.tap_tables(rc.with_zero_row(vectors.float()), shared)  # (9, K+1, hidden)
            # The hidden layer once per distinct 3x3 window; the last row is the second conv's zero padding.
            hidden = rc.with_zero_row(F.relu(rc.lookup_conv(lookups, layout.padded, first.taps, shared.bias)))
        if dtype == torch.float32:
            # Exact: the second conv is linear in the hidden rows: per-tap tables of the distinct hidden rows
            # (the one real matmul), then nine float32 lookups per distinct 5x5 window.
            tables = rc.tap_tables(hidden, gamma_beta).float()  # (9, U1+1, 2C)
            with rc.float32_tables(vectors.device):
                values = rc.lookup_conv(tables, first.padded_ids, second.taps, gamma_beta.bias)
        else:
            # Fast: one low-precision matmul over the distinct 5x5 windows (what the bf16 convolution computes
            # for them, with a fraction of its rows): nine table reads and nine float32 passes per window cost
            # more than the matmul's arithmetic on bf16 hardware (bench/fast_profile.py).
            values = rc.im2col_conv(hidden, first.padded_ids, second.taps, gamma_beta, dtype)
        maps = rc.spread(values, second, layout.height, layout.width, dtype)
        c = self.mlp_gamma.out_channels
        return maps[:, :c], maps[:, c:]

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        normalized = self.param_free_norm(x)
        gamma, beta = self.modulation(segmap, x.shape[-2:])
        return modulate(normalized, gamma, beta)
