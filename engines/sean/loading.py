"""SEAN's steps of the shared load (engines/loading/checkpoint_engine.py): official folders, bare ``.pth``
files and regionpaint ``.safetensors``.

The generator is built on the ``meta`` device from the inferred :class:`SeanConfig`, its own state-dict
shapes are checked against the file (CheckpointError naming the file and first bad key), then the
weights are assigned without a copy, spectral norm is folded and the network moves to the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from regionpaint.engines.base import CheckpointError
from regionpaint.engines.loading.pipeline import CheckpointContents, build_checked
from regionpaint.engines.loading.spectral import fold_spectral_state, official_state_shapes
from regionpaint.engines.sean.config import SeanConfig, infer_config, looks_like_sean
from regionpaint.engines.sean.networks import SeanGenerator


@dataclass
class LoadedSean:
    generator: SeanGenerator
    config: SeanConfig
    files: dict[str, Path]
    opt: dict[str, str]
    source_stamp: tuple[tuple[str, int, int], ...]  # (path, size, mtime_ns) of the weight files


def build_generator(config: SeanConfig, device: torch.device | str = "cpu") -> SeanGenerator:
    """An uninitialised-on-``meta`` or randomly initialised generator with the official key layout."""
    with torch.device(device):
        return SeanGenerator(config)


def sean_config(contents: CheckpointContents) -> SeanConfig:
    """The generator's configuration from its shapes and options; CheckpointError for another engine's."""
    path, state, shapes = contents.source("G"), contents.weights["G"], contents.shapes("G")
    if not looks_like_sean(shapes):
        raise CheckpointError(
            f"{path}: not a SEAN generator (no 'Zencoder.' keys; first key {next(iter(state), None)!r}). "
            "Is this a SPADE or pix2pixHD checkpoint?"
        )
    try:
        return infer_config(shapes, contents.opt, path)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from exc


def build_checked_generator(config: SeanConfig, contents: CheckpointContents, device: torch.device) -> SeanGenerator:
    """The checkpoint's generator, checked and in eval mode on ``device`` (spectral norm folded)."""
    # Built without spectral hooks (their random u on the meta device costs ~1 s of imports); the official
    # keys are checked against official_state_shapes and spectral norm folded on the state dict.
    generator = build_checked(
        lambda: SeanGenerator(config, spectral_hooks=False),
        contents.weights["G"],
        contents.source("G"),
        "the SEAN generator",
        expected=lambda net: official_state_shapes(net, net.spectral_layers()),
        fold_state=lambda net, prepared: fold_spectral_state(prepared, net.spectral_layers()),
    )
    return generator.to(device)
