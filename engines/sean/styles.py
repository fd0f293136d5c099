"""Per-region style codes: what an encoded source is, how sources mix per region and per block.

Torch-free (numpy float32), so front ends can hold, save and inspect codes. Arithmetic follows the
official run_UI: a mix ``((A, 1 - a), (B, a))`` is ``(1 - a) * A + a * B`` in float32, evaluated left
to right.

Reserved source names:

* ``"@mean"``: the per-class mean codes set with ``SeanEngine.set_mean_codes`` (the official
  ``calculate_mean_style_code.py``: the mean over a folder's sources of each class's code, counting only
  sources where the class is present).
* ``"@random"``: ``mean + N(0, 1) * std`` per class and code dimension, with ``std`` the per-class,
  per-dimension standard deviation across the same folder (``ddof=0``); drawn with
  ``numpy.random.default_rng(seed)`` (the request's seed), once per render.

A source that lacks a class (not present in its segmentation) contributes, for that class, the mean code
when mean codes are set and the class has one (what the official UI loads for such classes), otherwise
zeros (what the official test path feeds the ACE for an absent class).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from regionpaint.engines.base import ENGINE_STYLE_SOURCES, MEAN_STYLE_SOURCE, RANDOM_STYLE_SOURCE, InputError, StyleMix

# The engine-provided style names of the contract (engines/base.py), as SEAN's code calls them.
MEAN = MEAN_STYLE_SOURCE
RANDOM = RANDOM_STYLE_SOURCE
RESERVED = ENGINE_STYLE_SOURCES


@dataclass(frozen=True)
class RegionCodes:
    """Zencoder output for one style source.

    codes: (C, style_length) float32, one row per segmap channel (C = label_nc [+ don't-care]
    [+ instance edge]); rows of absent classes are zeros. present: class ids whose region survives the
    nearest resize to the code map (H/2 x W/2).
    """

    codes: np.ndarray
    present: frozenset[int]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.codes if dtype is None else self.codes.astype(dtype)


@dataclass(frozen=True)
class StyleStatistics:
    """Per-class statistics over a folder of sources: mean/std (C, style_length) float32, count (C,) int."""

    mean: np.ndarray
    std: np.ndarray
    count: np.ndarray

    @property
    def present(self) -> frozenset[int]:
        return frozenset(int(c) for c in np.nonzero(self.count)[0])


def style_statistics(encoded: Sequence[RegionCodes], shape: tuple[int, int]) -> StyleStatistics:
    """Mean and std of each class's code over the sources where that class is present."""
    mean = np.zeros(shape, np.float32)
    std = np.zeros(shape, np.float32)
    count = np.zeros(shape[0], np.int64)
    for c in range(shape[0]):
        rows = [e.codes[c] for e in encoded if c in e.present]
        if rows:
            stack = np.stack(rows)  # float32, like np.array(style_list) in the official script
            mean[c], std[c], count[c] = stack.mean(0), stack.std(0), len(rows)
    return StyleStatistics(mean, std, count)


def random_codes(stats: StyleStatistics, seed: int) -> np.ndarray:
    """(C, style_length) float32: mean + N(0, 1) * std with ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    draw = rng.standard_normal(stats.mean.shape).astype(np.float32)
    return (stats.mean + draw * stats.std).astype(np.float32)


@dataclass
class CodeBook:
    """The codes a render may use: encoded sources by name, plus optional mean/random codes."""

    sources: Mapping[str, RegionCodes]
    stats: StyleStatistics | None = None
    random: np.ndarray | None = None
    fallbacks: dict[int, list[str]] = field(default_factory=dict)

    def row(self, name: str, c: int) -> np.ndarray:
        """(style_length,) code of class ``c`` from source ``name`` (fallbacks in the module docstring)."""
        if name == MEAN:
            return self.stats.mean[c]
        if name == RANDOM:
            return self.random[c]
        source = self.sources[name]
        if c in source.present:
            return source.codes[c]
        self.fallbacks.setdefault(c, []).append(name)
        if self.stats is not None and self.stats.count[c] > 0:
            return self.stats.mean[c]
        return source.codes[c]  # zeros: the official value for an absent class

    def mix(self, mix: StyleMix, c: int, length: int) -> np.ndarray:
        """Weighted sum of the sources' codes for class ``c``, left to right in float32 (empty: zeros)."""
        total = np.zeros(length, np.float32) if not mix else None
        for name, weight in mix:
            term = np.float32(weight) * self.row(name, c)
            total = term if total is None else total + term
        return total

    def table(self, mix_of: Mapping[int, StyleMix], default: StyleMix, shape: tuple[int, int]) -> np.ndarray:
        """(C, style_length) float32: every class's mixed code (``default`` for classes not in ``mix_of``)."""
        rows = [self.mix(mix_of.get(c, default), c, shape[1]) for c in range(shape[0])]
        return np.stack(rows).astype(np.float32, copy=False)


def mix_names(mixes: Iterable[StyleMix]) -> list[str]:
    """Source names used by the mixes, in first-use order."""
    names: list[str] = []
    for mix in mixes:
        for name, _ in mix:
            if name not in names:
                names.append(name)
    return names


def check_mix(mix: StyleMix, what: str) -> StyleMix:
    """Normalise a mix to ((name, float weight), ...); InputError on an empty or malformed mix."""
    try:
        out = tuple((str(name), float(weight)) for name, weight in mix)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what}: a style mix is a sequence of (source name, weight) pairs") from exc
    if not out:
        raise InputError(f"{what}: empty style mix")
    if not all(np.isfinite(w) for _, w in out):
        raise InputError(f"{what}: style weights must be finite numbers")
    return out
