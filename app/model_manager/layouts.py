"""Official key/shape layouts, and checking a weights file's tensors against one.

A layout lists every ``[key, shape, dtype]`` of each network of an official checkpoint, by role (``G``,
``E``, ``weights`` for a segmenter), in the official save order. The built-in ones live in ``layouts/*.json``
(written by ``python -m tools.models.make_layouts`` from the official code's listings); catalogs may carry
more inline (a plugin's network, a test's tiny one).

The check is the one the engines' loaders make, by name instead of against a built network: every key
present with its exact shape, nothing extra. Two differences that do not change the network are forgiven,
as the loaders forgive them: a ``module.`` prefix on every key (``nn.DataParallel``) and missing
``num_batches_tracked`` counters (files saved before torch 0.4.1, such as the DRN release).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from regionpaint.app.model_manager.errors import ModelError

LAYOUTS_DIR = Path(__file__).resolve().parent / "layouts"
WRAPPER_PREFIX = "module."
OPTIONAL_SUFFIX = "num_batches_tracked"
_ITEM_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int64": 8, "int32": 4, "uint8": 1}

Shapes = Mapping[str, tuple[int, ...]]


@dataclass(frozen=True)
class Layout:
    name: str
    description: str
    nets: Mapping[str, tuple[tuple[str, tuple[int, ...], str], ...]]  # role -> ((key, shape, dtype), ...)

    def shapes(self, role: str) -> dict[str, tuple[int, ...]]:
        return {key: shape for key, shape, _ in self.nets[role]}

    @property
    def tensor_bytes(self) -> int:
        """Bytes of all tensors: about what the weights files hold (a .pth adds a few kB of pickle)."""
        return sum(
            math.prod(shape) * _ITEM_BYTES.get(dtype, 4) for net in self.nets.values() for _, shape, dtype in net
        )


def parse_layout(data: Any, source: str) -> Layout:
    """A :class:`Layout` from its JSON form; ModelError naming ``source`` for anything malformed."""
    if (
        not isinstance(data, Mapping)
        or not isinstance(data.get("name"), str)
        or not isinstance(data.get("nets"), Mapping)
    ):
        raise ModelError(f"{source}: a layout is an object with 'name' and 'nets'")
    nets: dict[str, tuple[tuple[str, tuple[int, ...], str], ...]] = {}
    for role, rows in data["nets"].items():
        if not isinstance(rows, list) or not rows:
            raise ModelError(f"{source}: layout {data['name']!r} net {role!r} must be a non-empty list of keys")
        parsed = []
        for row in rows:
            ok = isinstance(row, list) and len(row) in (2, 3) and isinstance(row[0], str) and isinstance(row[1], list)
            if not ok or not all(isinstance(d, int) and d >= 0 for d in row[1]):
                raise ModelError(f"{source}: layout {data['name']!r} has a malformed key row {row!r}")
            parsed.append((row[0], tuple(row[1]), str(row[2]) if len(row) == 3 else "float32"))
        nets[str(role)] = tuple(parsed)
    return Layout(name=data["name"], description=str(data.get("description", "")), nets=nets)


@cache
def builtin_layout(name: str) -> Layout | None:
    """The layout shipped as ``layouts/<name>.json``, or None."""
    from regionpaint.untrusted import read_json

    path = LAYOUTS_DIR / f"{name}.json"
    if not name.replace("_", "").replace("-", "").isalnum() or not path.is_file():
        return None
    return parse_layout(read_json(path), str(path))


def builtin_layout_names() -> list[str]:
    return sorted(p.stem for p in LAYOUTS_DIR.glob("*.json"))


def normalise_keys(shapes: Shapes) -> dict[str, tuple[int, ...]]:
    """Undo the ``module.`` prefix ``nn.DataParallel`` puts on every key."""
    if shapes and all(key.startswith(WRAPPER_PREFIX) for key in shapes):
        return {key[len(WRAPPER_PREFIX) :]: shape for key, shape in shapes.items()}
    return dict(shapes)


def first_mismatch(shapes: Shapes, expected: Shapes) -> str | None:
    """The first difference between a file's key shapes and a layout's, in words; None when they agree.

    Keys are compared in the layout's (official save) order, so the message names the earliest layer
    that differs, then keys the layout does not have.
    """
    got = normalise_keys(shapes)
    for key, shape in expected.items():
        if key not in got:
            if key.endswith(OPTIONAL_SUFFIX):
                continue
            return f"missing key {key!r}"
        if tuple(got[key]) != tuple(shape):
            return f"key {key!r} has shape {tuple(got[key])}, the official layout has {tuple(shape)}"
    for key in got:
        if key not in expected:
            return f"unexpected key {key!r}"
    return None


def count_mismatches(shapes: Shapes, expected: Shapes) -> int:
    """How many keys differ (missing, unexpected or mis-shaped): ranks layouts when recognising a file."""
    got = normalise_keys(shapes)
    missing = sum(1 for k in expected if k not in got and not k.endswith(OPTIONAL_SUFFIX))
    wrong = sum(1 for k, s in expected.items() if k in got and tuple(got[k]) != tuple(s))
    return missing + wrong + sum(1 for k in got if k not in expected)
