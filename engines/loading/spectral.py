"""Spectral norm, folded once at load time for every engine (inference never runs a power iteration).

Official checkpoints store ``weight_orig`` plus the power-iteration vectors ``weight_u`` / ``weight_v``;
in eval mode torch's ``SpectralNorm`` computes ``weight_orig / (u . W_mat v)`` on every call. Folding
computes that weight once, with the same operations, so the result is bit-identical.
"""

from __future__ import annotations

import math

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


def official_state_shapes(net: nn.Module, layers: list[str]) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the official state dict of ``net`` whose ``layers`` the official code wraps in
    spectral norm, in the official order.

    For a net built without spectral hooks, each such conv's ``weight`` becomes ``weight_orig`` (after its
    bias, where torch's ``spectral_norm`` re-registers it) plus the ``weight_u`` (out,) and ``weight_v``
    (in*kh*kw,) buffers. Building without hooks matters at load time: torch's ``spectral_norm`` draws a
    random ``u`` even on the meta device, and that first meta ``normal_`` imports torch's decompositions
    (~1.1 s of an editor's first render, measured).
    """
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    pending = {name for name in layers if not is_hooked(net.get_submodule(name))}
    official: dict[str, tuple[int, ...]] = {}
    for key, shape in shapes.items():
        prefix, _, leaf = key.rpartition(".")
        if prefix not in pending or leaf not in ("weight", "bias"):
            official[key] = shape
            continue
        weight = shapes[f"{prefix}.weight"]
        if leaf == "weight" and f"{prefix}.bias" in shapes:
            continue  # emitted after the bias
        if leaf == "bias":
            official[key] = shape
        official[f"{prefix}.weight_orig"] = weight
        official[f"{prefix}.weight_u"] = (weight[0],)
        official[f"{prefix}.weight_v"] = (math.prod(weight[1:]),)
    return official
