"""Checking a weights file against a catalog entry: size, sha256, and every key and shape of the official layout.

Shapes come from the file's header (``.safetensors``) or a weights-only, memory-mapped ``torch.load`` (zip
format; the 2017-2019 legacy files are read in full, once). Nothing in a file is ever executed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from threading import Event

from regionpaint.app.model_manager.catalog import Catalog, Entry, ModelFile
from regionpaint.app.model_manager.errors import Cancelled, ModelError
from regionpaint.app.model_manager.layouts import Layout, count_mismatches, first_mismatch

CHUNK = 1 << 20
MAX_TEXT_BYTES = 1 << 20  # opt.txt and sidecars are a few kB


@dataclass(frozen=True)
class Checked:
    """A file that passed: its hash (for the manifest) and whether the catalog's own hash confirmed it."""

    path: Path
    size: int
    sha256: str
    hash_from_catalog: bool


def sha256_of(path: Path, cancel: Event | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{path}: checking stopped")
            digest.update(chunk)
    return digest.hexdigest()


def read_shapes(path: Path) -> dict[str, dict[str, tuple[int, ...]]]:
    """Key shapes by role prefix for a ``.safetensors`` file (``{"G": ..., "E": ...}`` or ``{"": ...}`` when
    the keys carry no role prefix), ``{"": shapes}`` for a ``torch.save`` file. ModelError naming the file."""
    if _is_safetensors(path):
        return _safetensors_shapes(path)
    return {"": _torch_shapes(path)}


def _is_safetensors(path: Path) -> bool:
    if path.suffix == ".safetensors":
        return True
    try:  # an 8-byte little-endian header length, then '{'
        with open(path, "rb") as handle:
            head = handle.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < (100 << 20)


def _safetensors_shapes(path: Path) -> dict[str, dict[str, tuple[int, ...]]]:
    from safetensors import SafetensorError, safe_open

    flat: dict[str, tuple[int, ...]] = {}
    try:
        with safe_open(str(path), framework="pt") as handle:
            for key in handle.keys():
                flat[key] = tuple(handle.get_slice(key).get_shape())
    except (SafetensorError, OSError, ValueError, MemoryError) as exc:
        from regionpaint.engines.loading.checkpoint import describe_safetensors_error

        raise ModelError(describe_safetensors_error(path, exc)) from None
    roles: dict[str, dict[str, tuple[int, ...]]] = {}
    if flat and all("." in k and k.split(".", 1)[0] in ("G", "E", "D", "F") for k in flat):
        for key, shape in flat.items():
            role, name = key.split(".", 1)
            roles.setdefault(role, {})[name] = shape
        return roles
    return {"": flat}


def _torch_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    import torch

    from regionpaint.engines.loading.checkpoint import describe_torch_load_error

    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc).lower() and "zip" not in str(exc).lower():
                raise
            state = torch.load(path, map_location="cpu", weights_only=True)  # legacy format: no memory map
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError, ...
        raise ModelError(describe_torch_load_error(path, exc)) from None
    if isinstance(state, Mapping):
        for key in ("state_dict", "model"):  # the wrappers training scripts save around a state dict
            if isinstance(state.get(key), Mapping):
                state = state[key]
                break
    if not isinstance(state, Mapping) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path}: not a state dict of tensors")
    return {str(k): tuple(v.shape) for k, v in state.items()}


def file_roles(file: ModelFile, layout: Layout, shapes: Mapping[str, Mapping[str, tuple[int, ...]]]) -> dict:
    """Layout role -> the file's shapes for that role."""
    if file.role == "checkpoint":  # a regionpaint .safetensors holds every network under role prefixes
        return {role: shapes.get(role, {}) for role in layout.nets}
    if set(shapes) == {""}:
        return {file.role: shapes[""]}
    return {file.role: shapes.get(file.role, {})}


def layout_problem(file: ModelFile, layout: Layout, shapes) -> str | None:
    for role, got in file_roles(file, layout, shapes).items():
        problem = first_mismatch(got, layout.shapes(role))
        if problem is not None:
            prefix = "" if role in ("G", "weights") or file.role != "checkpoint" else f"network {role}: "
            return prefix + problem
    return None


def check_file(
    path: Path, entry: Entry, file: ModelFile, catalog: Catalog, cancel: Event | None = None, sha256: str | None = None
) -> Checked:
    """Size, then sha256 (where the catalog knows it), then every key and shape of the entry's layout.

    ``sha256`` is a hash recorded at install time, checked like the catalog's (``verify`` finds a changed file).
    ModelError: "<file>: not <entry> (<title>): <first problem>".
    """

    def refuse(problem: str) -> ModelError:
        return ModelError(f"{path}: not {entry.name} ({entry.title}): {problem}")

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if file.size is not None and size != file.size:
        hint = "truncated (was the download complete?)" if size < file.size else "a different file"
        raise refuse(f"it is {size} bytes, the catalog's file is {file.size}: {hint}")
    if file.role not in ("G", "E", "weights", "checkpoint"):
        if size > MAX_TEXT_BYTES:
            raise refuse(f"a {file.role} file of {size} bytes (at most {MAX_TEXT_BYTES})")
        return Checked(path, size, sha256_of(path, cancel), False)
    digest = sha256_of(path, cancel)
    expected = file.sha256 or sha256
    if expected is not None and digest != expected:
        what = "the catalog's" if file.sha256 else "the one recorded when it was installed"
        raise refuse(
            f"its sha256 {digest[:12]}… differs from {what} ({expected[:12]}…): the file is damaged or changed"
        )
    layout = catalog.layout(entry.layout)
    try:
        shapes = read_shapes(path)
    except ModelError as exc:  # truncated, damaged, not a weights file: say which entry it was meant to be
        raise refuse(str(exc).removeprefix(f"{path}: ")) from None
    problem = layout_problem(file, layout, shapes)
    if problem is not None:
        other = recognise_shapes(shapes, catalog, exclude=entry.name)
        hint = f" (it matches {other.name} instead)" if other is not None else ""
        raise refuse(f"{problem} (official layout {layout.name}){hint}")
    return Checked(path, size, digest, file.sha256 is not None)


def recognise_shapes(shapes, catalog: Catalog, exclude: str = "") -> Entry | None:
    """The catalog entry whose layout a file's tensors match exactly, if any."""
    for candidate in catalog.entries.values():
        if candidate.name == exclude:
            continue
        layout = catalog.layout(candidate.layout)
        for file in candidate.weight_files():
            if layout_problem(file, layout, shapes) is None:
                return candidate
    return None


def closest_entry(shapes, catalog: Catalog) -> tuple[Entry, str] | None:
    """The entry whose layout differs least from a file's tensors, and the first difference (for messages)."""
    best: tuple[int, Entry, str] | None = None
    for candidate in catalog.entries.values():
        layout = catalog.layout(candidate.layout)
        for file in candidate.weight_files():
            roles = file_roles(file, layout, shapes)
            score = sum(count_mismatches(got, layout.shapes(role)) for role, got in roles.items())
            problem = layout_problem(file, layout, shapes) or ""
            if best is None or score < best[0]:
                best = (score, candidate, problem)
    return None if best is None else (best[1], best[2])
