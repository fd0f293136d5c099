"""SPADE normalisation, shared by the SPADE and SEAN generators (official key layout).

Keys: ``param_free_norm.{running_mean,running_var,num_batches_tracked}`` (batch norms only),
``mlp_shared.0.{weight,bias}``, ``mlp_gamma.{weight,bias}``, ``mlp_beta.{weight,bias}``.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

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
        """(gamma, beta) for a feature map of spatial ``size``; label-only, so callers may cache it."""
        actv = self.mlp_shared(resize_segmap(segmap, size))
        return self.mlp_gamma(actv), self.mlp_beta(actv)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        normalized = self.param_free_norm(x)
        gamma, beta = self.modulation(segmap, x.shape[-2:])
        return normalized * (1 + gamma) + beta
