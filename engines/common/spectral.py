"""Spectral norm, folded once at load time for every engine (inference never runs a power iteration).

Official checkpoints store ``weight_orig`` plus the power-iteration vectors ``weight_u`` / ``weight_v``;
in eval mode torch's ``SpectralNorm`` computes ``weight_orig / (u . W_mat v)`` on every call. Folding
computes that weight once, with the same operations, so the result is bit-identical.
"""

from __future__ import annotations

import torch
from torch import nn


def fold_spectral_norm(module: nn.Module) -> int:
    """Replace each spectral-norm hook under ``module`` by a plain ``weight``; returns how many.

    ``remove_spectral_norm`` computes the weight without a power iteration, exactly what the official
    eval-mode forward computes from the stored ``weight_u`` / ``weight_v`` on every call.
    """
    from torch.nn.utils.spectral_norm import SpectralNorm

    folded = 0
    for sub in module.modules():
        for hook in list(sub._forward_pre_hooks.values()):
            if isinstance(hook, SpectralNorm):
                nn.utils.remove_spectral_norm(sub, hook.name)
                folded += 1
    return folded


def is_hooked(module: nn.Module) -> bool:
    """True when ``module`` carries a spectral-norm hook."""
    from torch.nn.utils.spectral_norm import SpectralNorm

    return any(isinstance(hook, SpectralNorm) for hook in module._forward_pre_hooks.values())


def fold_spectral_state(state: dict[str, torch.Tensor], layers: list[str]) -> dict[str, torch.Tensor]:
    """Replace ``<layer>.weight_orig/_u/_v`` by ``<layer>.weight = weight_orig / (u . W_mat v)`` in a state
    dict (for networks built without hooks). The same ops as torch's ``SpectralNorm.compute_weight``
    without power iteration (its eval mode), so the folded weight is bit-identical."""
    folded = dict(state)
    for layer in layers:
        weight = folded.pop(f"{layer}.weight_orig")
        u, v = folded.pop(f"{layer}.weight_u"), folded.pop(f"{layer}.weight_v")
        sigma = torch.dot(u, torch.mv(weight.reshape(weight.shape[0], -1), v))
        folded[f"{layer}.weight"] = weight / sigma
    return folded
