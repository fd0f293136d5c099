"""DRN-D-105 for semantic segmentation, laid out so fyu/drn's Cityscapes ``DRNSeg`` weights load key for key.

The architecture (from the DRN paper and the layout of fyu/drn): a "D" stem of plain 3x3 conv layers
(no max pool; 16 → 32 channels, the second level at stride 2), four levels of bottleneck residual
blocks (3, 4, 23, 3 blocks; the last two keep stride 8 and dilate by 2 and 4 instead), then two
degridding conv levels (dilation 2, then 1, 512 channels). ``DRNSeg`` keeps these nine levels as
``base.0`` … ``base.8`` (the classifier's pool and fc are dropped), adds a 1x1 ``seg`` conv to the 19
Cityscapes train ids and a fixed bilinear 8x transposed conv ``up``. Key listing:
``tests/data/drn_d_105_keys.txt``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

NUM_CLASSES = 19
#: Blocks per level of DRN-D-105: 2 stem conv levels, 4 bottleneck levels, 2 degridding conv levels.
LEVELS = (1, 1, 3, 4, 23, 3, 1, 1)
CHANNELS = (16, 32, 64, 128, 256, 512, 512, 512)
EXPANSION = 4


class Bottleneck(nn.Module):
    """1x1 reduce → 3x3 (strided or dilated) → 1x1 expand (x4), plus the shortcut."""

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1, project: bool = False) -> None:
        super().__init__()
        cout = planes * EXPANSION
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)) if project else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


def _conv_level(cin: int, cout: int, count: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """``count`` x (3x3 conv → BN → ReLU), flat in one Sequential (keys ``0``, ``1``; ``3``, ``4``; …)."""
    modules: list[nn.Module] = []
    for index in range(count):
        modules += [
            nn.Conv2d(cin, cout, 3, stride if index == 0 else 1, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        ]
        cin = cout
    return nn.Sequential(*modules)


def _residual_level(cin: int, planes: int, count: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    # The first block of a dilated level already uses the full dilation (DRN's new_level=False).
    project = stride != 1 or cin != planes * EXPANSION
    blocks = [Bottleneck(cin, planes, stride, dilation, project)]
    blocks += [Bottleneck(planes * EXPANSION, planes, 1, dilation) for _ in range(count - 1)]
    return nn.Sequential(*blocks)


def drn_d_105_levels() -> list[nn.Module]:
    """The nine levels of DRN-D-105 up to its 512-channel, stride-8 output."""
    stem = nn.Sequential(nn.Conv2d(3, CHANNELS[0], 7, 1, 3, bias=False), nn.BatchNorm2d(CHANNELS[0]), nn.ReLU(True))
    return [
        stem,
        _conv_level(CHANNELS[0], CHANNELS[0], LEVELS[0]),
        _conv_level(CHANNELS[0], CHANNELS[1], LEVELS[1], stride=2),
        _residual_level(CHANNELS[1], CHANNELS[2], LEVELS[2], stride=2),
        _residual_level(CHANNELS[2] * EXPANSION, CHANNELS[3], LEVELS[3], stride=2),
        _residual_level(CHANNELS[3] * EXPANSION, CHANNELS[4], LEVELS[4], dilation=2),
        _residual_level(CHANNELS[4] * EXPANSION, CHANNELS[5], LEVELS[5], dilation=4),
        _conv_level(CHANNELS[5] * EXPANSION, CHANNELS[6], LEVELS[6], dilation=2),
        _conv_level(CHANNELS[6], CHANNELS[7], LEVELS[7]),
    ]


def bilinear_kernel(size: int) -> torch.Tensor:
    """(size, size) bilinear interpolation weights for a transposed conv upsampling by size // 2."""
    factor = math.ceil(size / 2)
    centre = (2 * factor - 1 - factor % 2) / (2.0 * factor)
    ramp = 1 - torch.abs(torch.arange(size, dtype=torch.float64) / factor - centre)
    return torch.outer(ramp, ramp).float()


class DRNSegmentation(nn.Module):
    """(N, 3, H, W) normalised RGB -> (N, 19, 8*ceil(H/8), 8*ceil(W/8)) Cityscapes train-id scores."""

    def __init__(self, classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.base = nn.Sequential(*drn_d_105_levels())
        self.seg = nn.Conv2d(CHANNELS[-1], classes, 1, bias=True)
        # A fixed (not trained) bilinear 8x upsampling, one kernel per class; stored in the checkpoint.
        self.up = nn.ConvTranspose2d(classes, classes, 16, stride=8, padding=4, groups=classes, bias=False)
        with torch.no_grad():
            self.up.weight.copy_(bilinear_kernel(16).expand(classes, 1, 16, 16))
        self.up.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.seg(self.base(x)))
