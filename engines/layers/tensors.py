"""Tensor helpers shared by the engines: one-hot inputs, instance edges, and the official tensor2im."""

from __future__ import annotations

import numpy as np
import torch


def one_hot(label: torch.Tensor, num_channels: int) -> torch.Tensor:
    """(B, 1, H, W) long ids -> (B, num_channels, H, W) float one-hot, as the official ``scatter_``."""
    b, _, h, w = label.shape
    out = torch.zeros(b, num_channels, h, w, dtype=torch.float32, device=label.device)
    return out.scatter_(1, label.long(), 1.0)


def instance_edges(instance: torch.Tensor) -> torch.Tensor:
    """Official ``get_edges``: 1 where a pixel's id differs from a 4-neighbour (both pixels of a pair).

    instance: (B, 1, H, W) integer ids -> (B, 1, H, W) float32 in {0, 1}.
    """
    edge = torch.zeros_like(instance, dtype=torch.bool)
    horizontal = instance[:, :, :, 1:] != instance[:, :, :, :-1]
    vertical = instance[:, :, 1:, :] != instance[:, :, :-1, :]
    edge[:, :, :, 1:] |= horizontal
    edge[:, :, :, :-1] |= horizontal
    edge[:, :, 1:, :] |= vertical
    edge[:, :, :-1, :] |= vertical
    return edge.float()


def tensor_to_image(output: torch.Tensor) -> np.ndarray:
    """Official ``tensor2im`` of a (1, 3, H, W) tanh output: (x+1)/2*255, clipped, truncated to uint8."""
    array = output[0].detach().float().cpu().numpy()
    array = (np.transpose(array, (1, 2, 0)) + 1) / 2.0 * 255.0
    # NaN casts to 0 with a RuntimeWarning on stderr; the render service reports it instead, naming the
    # checkpoint (regionpaint.app.render.service.check_finite). The pixels are unchanged.
    with np.errstate(invalid="ignore"):
        return np.clip(array, 0, 255).astype(np.uint8)


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (1, 3, H, W) float32 in [-1, 1], as ToTensor + Normalize(0.5, 0.5)."""
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div(255.0)
    return ((tensor - 0.5) / 0.5).unsqueeze(0)


def ids_to_tensor(ids: np.ndarray) -> torch.Tensor:
    """(H, W) integer id map -> (1, 1, H, W) int64."""
    return torch.from_numpy(np.ascontiguousarray(ids).astype(np.int64))[None, None]
