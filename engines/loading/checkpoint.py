"""Finding and reading checkpoint files: official folders, bare ``.pth`` files, and ``.safetensors``.

Official folders hold ``latest_net_G.pth``, ``opt.txt`` and, depending on the engine,
``latest_net_E.pth`` and ``features_clustered_010.npy``. Weights are always read with
``weights_only=True`` (both the legacy 2019 format and the zip format). A ``.safetensors`` file holds
every network of a checkpoint under role prefixes (``G.``, ``E.``) with a JSON sidecar of the same
stem naming the engine, the label set and the options.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from regionpaint import untrusted
from regionpaint.engines.base import CheckpointError, CheckpointInfo
from regionpaint.engines.loading.options import check_opt_values, read_opt_txt
from regionpaint.engines.loading.readers import require_regular

log = logging.getLogger(__name__)

SIDECAR_SCHEMA = 1
MAX_SIDECAR_BYTES = 1024 * 1024  # a sidecar is a few hundred bytes of options


def _present(path: Path) -> bool:
    """Whether anything is at ``path``: a file, but also a FIFO, device or folder, which
    :func:`require_regular` then refuses by name rather than passing over in silence."""
    return os.path.lexists(path)


def _pick(folder: Path, suffix: str) -> Path | None:
    """``latest<suffix>`` if present, else the newest ``*<suffix>`` (e.g. ``200_net_G.pth``)."""
    latest = folder / f"latest{suffix}"
    if _present(latest):
        return latest
    found = sorted(folder.glob(f"*{suffix}"), key=lambda p: p.lstat().st_mtime)
    return found[-1] if found else None


def locate_files(path: str | Path) -> dict[str, Path]:
    """Map roles (G, E, features, opt, safetensors, sidecar) to files for a folder or a single file."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file or folder")
    files: dict[str, Path] = {}
    if path.is_dir():
        safetensors = sorted(path.glob("*.safetensors"))
        generator = _pick(path, "_net_G.pth")
        if generator is not None:
            files["G"] = generator
            encoder = path / generator.name.replace("_net_G.pth", "_net_E.pth")
            if _present(encoder):
                files["E"] = encoder
        elif safetensors:
            files["safetensors"] = safetensors[0]
        else:
            raise CheckpointError(f"{path}: no *_net_G.pth or *.safetensors file in this folder")
        folder = path
    elif path.suffix == ".safetensors":
        files["safetensors"] = path
        folder = path.parent
    elif path.suffix in (".pth", ".pt"):
        files["G"] = path
        folder = path.parent
        if path.name.endswith("_net_G.pth"):
            encoder = folder / path.name.replace("_net_G.pth", "_net_E.pth")
            if _present(encoder):
                files["E"] = encoder
    else:
        raise CheckpointError(f"{path}: not a checkpoint (expected a folder, .pth or .safetensors)")

    if "safetensors" in files:
        sidecar = files["safetensors"].with_suffix(".json")
        if _present(sidecar):
            files["sidecar"] = sidecar
    # opt.txt belongs to an official folder; next to a lone file it is used only for official names.
    if path.is_dir() or path.name.endswith("_net_G.pth"):
        if _present(folder / "opt.txt"):
            files["opt"] = folder / "opt.txt"
        features = sorted(folder.glob("features_clustered_*.npy"))
        if features:
            files["features"] = features[0]
    # Every file found must be a regular file before anything opens one: a FIFO named latest_net_G.pth,
    # opt.txt or a sidecar would block the reader (the editor's UI thread included) forever.
    for found in files.values():
        require_regular(found)
    return files


#: What to do with a checkpoint that holds more than tensors; never "load it without weights_only".
RESAVE_ADVICE = (
    "regionpaint never runs code from checkpoints. In an environment you trust, re-save the weights alone "
    "with torch.save(model.state_dict(), PATH) or convert them to .safetensors, and open that file"
)


def describe_torch_load_error(path: Path | str, exc: BaseException, what: str = "weights") -> str:
    """One line in regionpaint's words for a failed ``torch.load(..., weights_only=True)``.

    torch's own text advises re-running with ``weights_only=False``, the one unsafe thing to do with a
    stranger's file, so it is never passed on; the message names the file, what it holds, and what to do.
    """
    text = str(exc)
    if "Weights only load failed" in text or type(exc).__name__ == "UnpicklingError":
        objects = sorted(set(re.findall(r"Unsupported global: GLOBAL ([\w.]+)", text)))
        if objects:
            return (
                f"{path}: the file holds Python objects beyond tensors (it refers to {', '.join(objects)}), "
                f"so it is not read. {RESAVE_ADVICE}"
            )
        return f"{path}: not a PyTorch {what} file (its contents are not a saved state dict of tensors)"
    if isinstance(exc, EOFError) or "central directory" in text or "unexpected EOF" in text.lower():
        return f"{path}: the file is truncated or damaged (was it fully downloaded or saved?)"
    if isinstance(exc, MemoryError) or "not enough memory" in text.lower():
        return f"{path}: the file declares more data than fits in memory (a damaged or hostile file)"
    if isinstance(exc, IsADirectoryError):
        return f"{path}: is a folder, not a {what} file"
    if isinstance(exc, FileNotFoundError):
        return f"{path}: no such file"
    if isinstance(exc, PermissionError):
        return f"{path}: permission denied"
    return f"{path}: cannot read the {what}; the file is damaged or not a PyTorch file ({type(exc).__name__})"


def torch_load_tensors(path: Path | str, what: str = "weights", **kwargs: Any) -> Any:
    """``torch.load`` on the CPU with ``weights_only=True``; any failure is a :class:`CheckpointError`.

    Regular files only: a FIFO or device is refused by name instead of blocking or reading forever.
    """
    require_regular(path, f"{what} file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True, **kwargs)
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError, ...
        raise CheckpointError(describe_torch_load_error(path, exc, what)) from exc
    except MemoryError as exc:
        raise CheckpointError(describe_torch_load_error(path, exc, what)) from exc


def describe_safetensors_error(path: Path | str, exc: BaseException) -> str:
    """One line in regionpaint's words for a failed safetensors read."""
    text = str(exc).lower()
    if "incomplete metadata" in text or "not fully covered" in text:
        problem = "the file is truncated or damaged (its header lists more data than it holds)"
    elif "header too" in text or "invalid json" in text or "header" in text:
        problem = "not a valid .safetensors file (its header is damaged)"
    elif isinstance(exc, FileNotFoundError):
        problem = "no such file"
    elif isinstance(exc, PermissionError):
        problem = "permission denied"
    elif isinstance(exc, MemoryError):
        problem = "the file declares more data than fits in memory"
    else:
        problem = f"cannot read the .safetensors file ({type(exc).__name__})"
    return f"{path}: {problem}"


def load_torch_file(path: Path) -> dict[str, torch.Tensor]:
    """Read a state dict saved with ``torch.save`` (legacy or zip format), never unpickling code."""
    state = torch_load_tensors(path)
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: not a state dict of tensors")
    return dict(state)


def load_safetensors(path: Path) -> dict[str, dict[str, torch.Tensor]]:
    """Read a regionpaint ``.safetensors`` file into {role: state dict}."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    require_regular(path)
    try:
        flat = load_file(str(path))
    except (SafetensorError, OSError, ValueError, MemoryError) as exc:
        raise CheckpointError(describe_safetensors_error(path, exc)) from exc
    roles: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in flat.items():
        role, sep, name = key.partition(".")
        if not sep:
            raise CheckpointError(f"{path}: key {key!r} has no role prefix (expected 'G.' or 'E.')")
        roles.setdefault(role, {})[name] = tensor
    return roles


def read_sidecar(path: Path) -> dict[str, Any]:
    """The JSON sidecar of a ``.safetensors`` file, checked field by field (bounded: regionpaint.untrusted)."""
    require_regular(path, "sidecar")
    try:
        too_large = path.stat().st_size > MAX_SIDECAR_BYTES
    except OSError as exc:
        raise CheckpointError(f"{path}: sidecar cannot be read ({exc.strerror or type(exc).__name__})") from exc
    if too_large:
        raise CheckpointError(f"{path}: sidecar is larger than {MAX_SIDECAR_BYTES // 1024} kB; not a sidecar")
    try:
        data = untrusted.read_json(path, f"{path}: sidecar")
    except untrusted.UntrustedFileError as exc:
        raise CheckpointError(str(exc)) from None
    except OSError as exc:
        raise CheckpointError(f"{path}: sidecar cannot be read ({exc.strerror or type(exc).__name__})") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: sidecar must be a JSON object, got {type(data).__name__}")
    # 'engine' is optional: without it the engines' `recognizes` decide, as for an official folder.
    if data.get("engine") is not None and not isinstance(data["engine"], str):
        raise CheckpointError(f"{path}: sidecar field 'engine' must be a string, got {type(data['engine']).__name__}")
    if not isinstance(data.get("options", {}), dict):
        raise CheckpointError(f"{path}: sidecar field 'options' must be an object")
    if data.get("label_set") is not None and not isinstance(data["label_set"], str):
        raise CheckpointError(f"{path}: sidecar field 'label_set' must be a label set id (a string)")
    return data


def load_weights(files: Mapping[str, Path]) -> dict[str, dict[str, torch.Tensor]]:
    """All state dicts of a checkpoint by role ("G", and "E" where present), floating tensors as float32.

    Compact checkpoints (the demo models) store float16; the networks always compute in float32, as
    the official code does.
    """
    if "safetensors" in files:
        weights = load_safetensors(files["safetensors"])
    else:
        weights = {"G": load_torch_file(files["G"])}
        if "E" in files:
            weights["E"] = load_torch_file(files["E"])
    return {role: {k: _as_float32(v) for k, v in state.items()} for role, state in weights.items()}


def _as_float32(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.float() if tensor.is_floating_point() and tensor.dtype != torch.float32 else tensor


def convert_safetensors_dtype(path: str | Path, dtype: torch.dtype = torch.float16) -> Path:
    """Rewrite a regionpaint ``.safetensors`` file with its floating tensors in ``dtype`` (sidecar unchanged)."""
    from safetensors.torch import save_file

    path = Path(path)
    roles = load_safetensors(path)
    flat = {
        f"{role}.{k}": (v.to(dtype) if v.is_floating_point() else v).contiguous()
        for role, state in roles.items()
        for k, v in state.items()
    }
    _atomic_write(path, lambda tmp: save_file(flat, tmp))
    return path


def _torch_file_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Key shapes of a ``torch.save`` file; zip-format files are memory-mapped, so no weights are read."""
    require_regular(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # legacy (2019) format cannot be mapped; a damaged file gets its message below
        state = load_torch_file(path)
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: not a state dict of tensors")
    return {k: tuple(v.shape) for k, v in state.items()}


def _safetensors_shapes(path: Path) -> dict[str, dict[str, tuple[int, ...]]]:
    """Key shapes by role of a regionpaint ``.safetensors`` file, read from its header only."""
    from safetensors import SafetensorError, safe_open

    roles: dict[str, dict[str, tuple[int, ...]]] = {}
    require_regular(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            for key in handle.keys():
                role, sep, name = key.partition(".")
                if not sep:
                    raise CheckpointError(f"{path}: key {key!r} has no role prefix (expected 'G.' or 'E.')")
                roles.setdefault(role, {})[name] = tuple(handle.get_slice(key).get_shape())
    except (SafetensorError, OSError, ValueError, MemoryError) as exc:
        raise CheckpointError(describe_safetensors_error(path, exc)) from exc
    return roles


def read_shapes(files: Mapping[str, Path]) -> dict[str, dict[str, tuple[int, ...]]]:
    """Key shapes of every network of a checkpoint by role, without loading the weights where possible."""
    if "safetensors" in files:
        return _safetensors_shapes(files["safetensors"])
    return {role: _torch_file_shapes(files[role]) for role in ("G", "E") if role in files}


def inspect_checkpoint(path: str | Path) -> CheckpointInfo:
    """Read the files, options and key shapes of a checkpoint.

    Engines are chosen from this before one loads the weights, so the shapes come from file headers and
    memory maps rather than a second full read of a (possibly GB-sized) checkpoint.
    """
    files = locate_files(path)
    shapes = read_shapes(files)
    if "G" not in shapes:
        raise CheckpointError(f"{path}: no generator weights ('G.' keys) in the checkpoint")
    opt: dict[str, str] = {}
    declared = None
    if "opt" in files:
        opt = read_opt_txt(files["opt"])
    if "sidecar" in files:
        sidecar = read_sidecar(files["sidecar"])
        declared = sidecar.get("engine") or None
        opt.update({k: str(v) for k, v in sidecar.get("options", {}).items()})
        check_opt_values(opt, files["sidecar"])
    return CheckpointInfo(
        path=Path(path),
        files=files,
        opt=opt,
        shapes=shapes["G"],
        encoder_shapes=shapes.get("E", {}),
        declared_engine=declared,
    )


def check_state_dict(
    expected: Mapping[str, tuple[int, ...]], state: Mapping[str, torch.Tensor], path: Path | str, what: str
) -> None:
    """Raise CheckpointError naming ``path`` and the first missing, unexpected or mis-shaped key."""
    for key, shape in expected.items():
        if key not in state:
            raise CheckpointError(f"{path}: missing key {key!r} for {what}")
        if tuple(state[key].shape) != tuple(shape):
            raise CheckpointError(
                f"{path}: key {key!r} has shape {tuple(state[key].shape)}, {what} expects {tuple(shape)}"
            )
    for key in state:
        if key not in expected:
            raise CheckpointError(f"{path}: unexpected key {key!r} for {what}")


def save_safetensors(
    path: str | Path,
    networks: Mapping[str, Mapping[str, torch.Tensor]],
    engine: str,
    label_set: str | None,
    options: Mapping[str, Any],
) -> Path:
    """Write {role: state dict} as one ``.safetensors`` file plus ``<stem>.json``; both atomically."""
    from safetensors.torch import save_file

    path = Path(path).with_suffix(".safetensors")
    flat = {f"{role}.{k}": v.detach().cpu().contiguous() for role, sd in networks.items() for k, v in sd.items()}
    sidecar = {
        "schema": SIDECAR_SCHEMA,
        "engine": engine,
        "label_set": label_set,
        "options": {k: str(v) for k, v in options.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, lambda tmp: save_file(flat, tmp))
    _atomic_write(path.with_suffix(".json"), lambda tmp: Path(tmp).write_text(json.dumps(sidecar, indent=1), "utf-8"))
    return path


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        # mkstemp makes 0600 files; a checkpoint gets the permissions of any new file (umask applies).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_torch_atomic(state: Mapping[str, torch.Tensor], path: str | Path) -> None:
    """``torch.save`` through a temp file and rename, so a kill never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, lambda tmp: torch.save(dict(state), tmp))
