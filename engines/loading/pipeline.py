"""The load pipeline every engine shares: locate → read options → read weights → build on meta → check →
assign (fresh float32 copies) → fold spectral norm → eval. Engines add only what differs (inferring their
architecture from the shapes, which networks to build).

Torch is imported here; engines import this module inside ``load`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from regionpaint.engines.base import CheckpointError
from regionpaint.engines.loading.checkpoint import check_state_dict, load_weights, locate_files, read_sidecar
from regionpaint.engines.loading.options import read_opt_txt


@dataclass
class CheckpointContents:
    """Everything read from a checkpoint before any network is built."""

    path: Path
    files: dict[str, Path]  # roles -> files (see regionpaint.engines.loading.checkpoint.locate_files)
    weights: dict[str, dict[str, torch.Tensor]]  # role ("G", "E", ...) -> state dict, float32
    opt: dict[str, str]  # opt.txt, then the sidecar's options on top
    label_set: str | None = None  # from a sidecar
    stamp: tuple[tuple[str, int, int], ...] = ()  # (path, size, mtime_ns) of the weight files when read

    def source(self, role: str) -> Path:
        """The file a role's weights came from (for error messages)."""
        return self.files.get(role) or self.files.get("safetensors") or self.path

    def shapes(self, role: str) -> dict[str, tuple[int, ...]]:
        return {k: tuple(v.shape) for k, v in self.weights.get(role, {}).items()}


def read_options(files: Mapping[str, Path], engine_id: str) -> tuple[dict[str, str], str | None]:
    """(options, label set): opt.txt of an official folder, then a sidecar's options and label set.

    A sidecar written for another engine is refused here, for every engine alike (one naming no engine is
    anyone's: the engines' ``recognizes`` chose).
    """
    opt: dict[str, str] = read_opt_txt(files["opt"]) if "opt" in files else {}
    label_set = None
    if "sidecar" in files:
        sidecar = read_sidecar(files["sidecar"])
        if sidecar.get("engine") and sidecar["engine"] != engine_id:
            raise CheckpointError(f"{files['sidecar']}: made for the {sidecar['engine']!r} engine, not {engine_id!r}")
        opt.update({k: str(v) for k, v in sidecar.get("options", {}).items()})
        label_set = sidecar.get("label_set")
    return opt, label_set


def read_checkpoint(path: str | Path, engine_id: str) -> CheckpointContents:
    """Locate, read options and weights; a checkpoint without generator weights is refused."""
    path = Path(path)
    files = locate_files(path)
    opt, label_set = read_options(files, engine_id)
    weights = load_weights(files)
    contents = CheckpointContents(path, dict(files), weights, opt, label_set, file_stamp(files))
    if "G" not in weights:
        raise CheckpointError(f"{contents.source('G')}: no generator weights ('G.' keys) in the checkpoint")
    return contents


def fresh_float32(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Freshly allocated float32 copies of the floating tensors (integers kept).

    torch's CPU kernels may round the last bit differently for misaligned buffers (safetensors,
    torch.load place tensors differently), so the same weights would render (and fold spectral norm)
    differently by file format; fresh, aligned copies make results independent of it.
    """
    return {
        k: (v.float() if v.is_floating_point() else v).clone(memory_format=torch.contiguous_format)
        for k, v in state.items()
    }


def build_checked(
    make: Callable[[], nn.Module],
    state: Mapping[str, torch.Tensor],
    source: Path | str,
    what: str,
    *,
    expected: Callable[[nn.Module], Mapping[str, tuple[int, ...]]] | None = None,
    fold_state: Callable[[nn.Module, dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None,
) -> nn.Module:
    """``make()`` on the meta device, ``state`` checked against it key by key (CheckpointError naming
    ``source`` and the first bad key), assigned without another copy, spectral norm folded, eval, no grads.

    ``expected`` gives the official key shapes where they differ from the module's own state dict (a
    network built without spectral hooks); ``fold_state`` folds spectral norm on the state dict for such
    a network. Without it, spectral-norm hooks the network carries are folded after loading.
    """
    from regionpaint.engines.loading.spectral import fold_spectral_norm

    with torch.device("meta"):
        net = make()
    shapes = dict(expected(net)) if expected else {k: tuple(v.shape) for k, v in net.state_dict().items()}
    prepared = fresh_float32(state)
    for key in shapes:  # BatchNorm counters that pre-0.4.1 files lack (unused in eval)
        if key.endswith("num_batches_tracked") and key not in prepared:
            prepared[key] = torch.tensor(0, dtype=torch.long)
    check_state_dict(shapes, prepared, source, what)
    if fold_state is not None:
        with torch.no_grad():
            prepared = fold_state(net, prepared)
    net.load_state_dict(prepared, strict=True, assign=True)
    fold_spectral_norm(net)
    net.eval()
    net.requires_grad_(False)
    return net


_WEIGHT_ROLES = ("G", "E", "safetensors")


def file_stamp(files: Mapping[str, Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime_ns) of a checkpoint's weight files: tells whether they changed since a load."""
    out = []
    for role in _WEIGHT_ROLES:
        if role in files:
            st = Path(files[role]).stat()
            out.append((str(files[role]), st.st_size, st.st_mtime_ns))
    return tuple(out)


def reread_weights(
    files: Mapping[str, Path], stamp: tuple[tuple[str, int, int], ...], target: Path | str
) -> dict[str, dict[str, torch.Tensor]]:
    """The weights of a loaded checkpoint read again (official keys, spectral norm unfolded) for saving;
    CheckpointError when the files changed since they were loaded (the copy would not be what renders)."""
    if file_stamp(files) != stamp:
        raise CheckpointError(f"{target}: the source checkpoint changed since it was loaded; load it again")
    return load_weights(files)
