"""Torch side of the SPADE engine: building networks from state dicts, inputs, z, and the caches.

Imported lazily by :mod:`regionpaint.engines.spade.engine` so that listing engines never imports torch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from regionpaint.engines.base import InputError
from regionpaint.engines.caching.digest import array_digest  # noqa: F401  (used as runtime.array_digest)
from regionpaint.engines.device import float32_math  # noqa: F401  (used as runtime.float32_math)
from regionpaint.engines.layers.tensors import ids_to_tensor, image_to_tensor, instance_edges, one_hot
from regionpaint.engines.loading.pipeline import build_checked
from regionpaint.engines.spade.config import EncoderConfig, SpadeConfig
from regionpaint.engines.spade.networks import (
    ConvEncoder,
    Modulations,
    SPADEGenerator,
    fold_spectral_state,
    official_state_shapes,
)

log = logging.getLogger(__name__)


def _build(make, state: Mapping[str, torch.Tensor], path: Path | str, what: str):
    """Built without spectral hooks on meta (no random init, no random u), the official keys checked,
    spectral norm folded on the state dict (engines/loading/pipeline.py)."""
    return build_checked(
        make,
        state,
        path,
        what,
        expected=official_state_shapes,
        fold_state=lambda net, prepared: fold_spectral_state(prepared, net.spectral_layers()),
    )


def build_generator(config: SpadeConfig, state: Mapping[str, torch.Tensor], path: Path | str) -> SPADEGenerator:
    """The generator of ``config`` holding ``state`` (official keys), on CPU, eval, spectral norm folded."""
    return _build(lambda: SPADEGenerator(config, spectral_hooks=False), state, path, "the SPADE generator")


def build_encoder(config: EncoderConfig, state: Mapping[str, torch.Tensor], path: Path | str) -> ConvEncoder:
    return _build(lambda: ConvEncoder(config, spectral_hooks=False), state, path, "the SPADE VAE encoder")


def make_semantics(
    label: np.ndarray, instance: np.ndarray | None, config: SpadeConfig, device: torch.device
) -> torch.Tensor:
    """Official ``preprocess_input``: one-hot of (h, w) int64 ids (+ don't-care channel), then the
    instance edge map as the LAST channel -> (1, semantic_nc, h, w) float32 on ``device``."""
    semantics = one_hot(ids_to_tensor(label).to(device), config.num_label_channels)
    if not config.no_instance:
        edges = instance_edges(ids_to_tensor(instance).to(device))
        semantics = torch.cat((semantics, edges), dim=1)
    return semantics


def encode_photo(encoder: ConvEncoder, photo: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(h, w, 3) uint8 photo at network input size -> (mu, logvar), each (1, 256) float32 on CPU."""
    mu, logvar = encoder(image_to_tensor(photo).to(device))
    return mu.float().cpu(), logvar.float().cpu()


def sample_z(mu: torch.Tensor, logvar: torch.Tensor, seed: int) -> torch.Tensor:
    """Official ``reparameterize``: ``eps * exp(0.5 * logvar) + mu``, eps drawn on CPU with ``seed``
    (the same numbers as ``torch.manual_seed(seed); torch.randn_like(std)`` on CPU)."""
    std = torch.exp(0.5 * logvar)
    eps = torch.randn(std.shape, generator=torch.Generator().manual_seed(seed), dtype=std.dtype)
    return eps.mul(std) + mu


def random_z(z_dim: int, seed: int) -> torch.Tensor:
    """Official no-image case ``torch.randn(B, z_dim)``, seeded: (1, z_dim) float32 on CPU."""
    return torch.randn(1, z_dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


def explicit_z(z: np.ndarray, z_dim: int) -> torch.Tensor:
    """A caller's z, (z_dim,) or (1, z_dim) -> (1, z_dim) float32 on CPU."""
    array = np.asarray(z, dtype=np.float32)
    if array.size != z_dim or array.ndim > 2 or (array.ndim == 2 and array.shape[0] != 1):
        raise InputError(f"z must have shape (1, {z_dim}) for this checkpoint, got {array.shape}")
    if not np.isfinite(array).all():
        raise InputError("z contains NaN or infinite values")
    return torch.from_numpy(array.reshape(1, z_dim).copy())


def modulation_bytes(generator: SPADEGenerator, latent_size: tuple[int, int]) -> int:
    """Memory all (gamma, beta) of one label take (float32)."""
    sizes = generator.block_sizes(latent_size)
    total = 0
    for name, _ in generator.plan:
        h, w = sizes[name]
        for norm in getattr(generator, name).norms().values():
            total += 2 * norm.mlp_gamma.out_channels * h * w * 4
    return total


class LabelCache:
    """What one label map determines: its semantics tensor and either the whole output (no VAE: the
    render is a function of the label) or the SPADE modulations (VAE: only z changes between renders)."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.semantics: torch.Tensor | None = None
        self.output: torch.Tensor | None = None
        self.modulations: Modulations | None = None

    def reset(self, key: str | None = None) -> None:
        self.key, self.semantics, self.output, self.modulations = key, None, None, None
