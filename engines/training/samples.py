"""Sample grids written during training: label (in colours) | generated | real, one row per image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from regionpaint.engines.training.checkpoints import atomic_write

MAX_ROWS = 4


def label_colormap(count: int) -> np.ndarray:
    """(count, 3) uint8 colours: the bit-interleaving palette of the official ``labelcolormap``."""
    colours = np.zeros((count, 3), dtype=np.uint8)
    for index in range(count):
        r = g = b = 0
        value = index
        for shift in range(7, -1, -1):
            r |= ((value >> 0) & 1) << shift
            g |= ((value >> 1) & 1) << shift
            b |= ((value >> 2) & 1) << shift
            value >>= 3
            if value == 0:
                break
        colours[index] = (r, g, b)
    return colours


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] -> (B, H, W, 3) uint8, official tensor2im (truncating)."""
    array = (images.detach().float().cpu().permute(0, 2, 3, 1).numpy() + 1) / 2.0 * 255.0
    return np.clip(array, 0, 255).astype(np.uint8)


def sample_grid(label: torch.Tensor, fake: torch.Tensor, real: torch.Tensor, label_channels: int) -> np.ndarray:
    """label: (B, 1, H, W) channel ids; fake, real: (B, 3, H, W) -> (rows*H, 3*W, 3) uint8."""
    rows = min(MAX_ROWS, label.shape[0])
    palette = label_colormap(max(label_channels, 1) + 1)
    ids = label[:rows, 0].cpu().numpy().clip(0, len(palette) - 1)
    fake_rgb, real_rgb = _to_uint8(fake[:rows]), _to_uint8(real[:rows])
    lines = [np.concatenate([palette[ids[i]], fake_rgb[i], real_rgb[i]], axis=1) for i in range(rows)]
    return np.concatenate(lines, axis=0)


def write_sample(path: Path, grid: np.ndarray) -> Path:
    """Save the grid as PNG atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"))
    return path
