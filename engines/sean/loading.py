"""Loading SEAN checkpoints: official folders, bare ``.pth`` files and regionpaint ``.safetensors``.

The generator is built on the ``meta`` device from the inferred :class:`SeanConfig`, its own state-dict
shapes are checked against the file (CheckpointError naming the file and first bad key), then the
weights are assigned without a copy, spectral norm is folded and the network moves to the device.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from engines.base import CheckpointError
from engines.common.checkpoint import check_state_dict, load_weights, locate_files, read_sidecar
from engines.common.options import read_opt_txt
from engines.sean.config import SeanConfig, infer_config, looks_like_sean
from engines.sean.networks import SeanGenerator

log = logging.getLogger(__name__)


@dataclass
class LoadedSean:
    generator: SeanGenerator
    config: SeanConfig
    files: dict[str, Path]
    opt: dict[str, str]
    source_stamp: tuple[tuple[str, int, int], ...]  # (path, size, mtime_ns) of the weight files


def read_options(files: dict[str, Path]) -> dict[str, str]:
    """opt.txt of an official folder, else the options of a safetensors sidecar, else {}."""
    if "opt" in files:
        return read_opt_txt(files["opt"])
    if "sidecar" in files:
        return {k: str(v) for k, v in read_sidecar(files["sidecar"]).get("options", {}).items()}
    return {}


def weight_file(files: dict[str, Path]) -> Path:
    return files.get("G") or files["safetensors"]


def build_generator(config: SeanConfig, device: torch.device | str = "cpu") -> SeanGenerator:
    """An uninitialised-on-``meta`` or randomly initialised generator with the official key layout."""
    with torch.device(device):
        return SeanGenerator(config)


def read_generator_state(files: dict[str, Path]) -> dict[str, torch.Tensor]:
    """The raw generator state dict (official keys) of a checkpoint; CheckpointError if absent."""
    weights = load_weights(files)
    if "G" not in weights:
        raise CheckpointError(f"{weight_file(files)}: no generator weights ('G.' keys) in the checkpoint")
    return weights["G"]


def load_sean(checkpoint: str | Path, device: torch.device) -> LoadedSean:
    """Read, check and build a SEAN generator in eval mode on ``device`` (spectral norm folded)."""
    files = locate_files(checkpoint)
    path = weight_file(files)
    state = read_generator_state(files)
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    if not looks_like_sean(shapes):
        raise CheckpointError(
            f"{path}: not a SEAN generator (no 'Zencoder.' keys; first key {next(iter(state), None)!r}). "
            "Is this a SPADE or pix2pixHD checkpoint?"
        )
    opt = read_options(files)
    try:
        config = infer_config(shapes, opt, path)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from exc
    generator = build_generator(config, "meta")
    expected = {k: tuple(v.shape) for k, v in generator.state_dict().items()}
    check_state_dict(expected, state, path, "the SEAN generator")
    # float32 like the official networks; assign=True adopts the tensors instead of copying them.
    # Fresh allocations: BLAS results (the spectral sigma) can depend on where a tensor sits in memory,
    # and torch.load / safetensors place tensors differently; cloning makes the folding reproducible.
    for key in list(state):
        value = state[key]
        state[key] = (value.float() if value.is_floating_point() else value).clone()
    generator.load_state_dict(state, strict=True, assign=True)
    generator.fold_spectral_norm()
    generator.eval().requires_grad_(False).to(device)
    log.info("loaded SEAN %s: %s", path, config)
    return LoadedSean(generator, config, files, opt, stamp(files))


def stamp(files: dict[str, Path]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for role in ("G", "safetensors"):
        if role in files:
            st = files[role].stat()
            out.append((str(files[role]), st.st_size, st.st_mtime_ns))
    return tuple(out)
