"""Exact 3x3 convolutions of piecewise-constant maps: computed once per distinct window, then spread.

SPADE's modulation ``mlp_gamma(relu(mlp_shared(seg)))`` and SEAN's style branch ``conv_gamma(style map)``
read maps that are constant over each label region: the map is ``table[code]`` for an (h, w) code map.

* A 3x3 convolution (zero padding 1) of ``table[code]`` at a pixel depends only on the codes in its 3x3
  window (the padding is a code of its own): pixels with the same window get the same value, bit for bit.
  So it is computed once per *distinct* window (a :class:`Patterns` of the layout), as nine lookups in the
  small tables ``table @ W_t^T`` (``mlp_shared`` on a one-hot map is an embedding lookup), and spread to
  the pixels with one gather.
* Two stacked 3x3 convolutions depend on the 5x5 window; equivalently on the 3x3 window of first-level
  pattern ids. The second convolution's input is no longer a table of the codes, so it is a real matmul,
  but only over the distinct second-level patterns (im2col of one representative pixel each).

Inside a region every window is the same, so a region is one pattern; the distinct patterns are the
regions plus the distinct boundary and border windows. Measured on the Cityscapes fixture at 512x256
(``python -m bench --only band_share``): 23 % of the 5x5 boundary band is distinct windows (the band itself
is 18 % of the pixels), so the gathered matmul is a ~4 % of the plain convolution's rows. Results equal the
plain convolutions up to float summation order (~1e-6 relative); the parity tests hold them to the
official outputs within 1e-4. Where distinct patterns are most of a small map, the plain convolution is
cheaper; which one runs is measured per layer shape, dtype and share on the machine at hand
(:func:`patterns_chosen`, :mod:`regionpaint.engines.acceleration.autotune`), with :data:`MAX_PATTERN_SHARE` as the
first guess.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from regionpaint.engines.acceleration.fast import exact_channels_last

# The first guess (tuning off or pending): above this share of distinct patterns (per pixel of the map) the
# gathered matmul stopped paying off against the plain convolution on a 2-core AMD EPYC (bench/band_share.py
# times both per layer on the real label maps). Measured per machine where tuning is on: patterns_chosen.
MAX_PATTERN_SHARE = 0.7
# Patterns per matmul: bounds the gathered rows (CHUNK x 9 * C_in floats).
CHUNK = 16384
OFFSETS = tuple((dy, dx) for dy in range(3) for dx in range(3))  # tap t = ky * 3 + kx
_KEY_LIMIT = 1 << 62  # packed window keys stay below this (int64)


@dataclass
class Patterns:
    """The distinct 3x3 windows of a padded id map.

    ids: (h*w,) int64, each pixel's pattern (0..count-1; equal ids = equal windows); taps: (9, count) flat
    indices into the padded map of one representative pixel's window per pattern; padded_ids:
    ((h+2)*(w+2),) the ids zero-padded by one pixel with the id ``count`` (the padding's own pattern).
    """

    ids: torch.Tensor
    taps: torch.Tensor
    padded_ids: torch.Tensor

    @property
    def count(self) -> int:
        return self.taps.shape[1]


@dataclass
class RegionLayout:
    """A code map at one feature size and its window patterns.

    code: (h*w,) int64 in 0..n_codes-1; padded: ((h+2)*(w+2),) int64, the code map zero-padded by one
    pixel with the code ``n_codes`` (a table row of zeros for the convolution's zero padding).
    """

    height: int
    width: int
    n_codes: int
    code: torch.Tensor
    padded: torch.Tensor
    _patterns: dict[int, Patterns] = field(default_factory=dict)

    def patterns(self, reach: int) -> Patterns:
        """reach 1: the distinct 3x3 windows of codes; reach 2: the distinct 3x3 windows of reach-1
        pattern ids (the same partition as distinct 5x5 windows of codes)."""
        if reach not in self._patterns:
            if reach == 1:
                source, base = self.padded, self.n_codes + 1
            else:
                below = self.patterns(reach - 1)
                source, base = below.padded_ids, below.count + 1
            self._patterns[reach] = window_patterns(source, self.height, self.width, base)
        return self._patterns[reach]

    def share(self, reach: int) -> float:
        """Distinct patterns per pixel: the share of the map the gathered work covers."""
        return self.patterns(reach).count / max(1, self.height * self.width)


def window_patterns(padded: torch.Tensor, h: int, w: int, base: int) -> Patterns:
    """:class:`Patterns` of a ((h+2)*(w+2),) padded id map whose ids are below ``base``.

    The nine ids of each window are packed into one int64 key, as many taps at a time as fit; when the
    next tap would overflow, the partial keys are renumbered densely (torch.unique) first.
    """
    grid = padded.reshape(h + 2, w + 2)
    key, bound = torch.zeros((h, w), dtype=torch.int64, device=padded.device), 1
    for dy, dx in OFFSETS:
        if bound * base >= _KEY_LIMIT:
            key = torch.unique(key, return_inverse=True)[1]
            bound = int(key.max()) + 1
        key = key * base + grid[dy : dy + h, dx : dx + w]
        bound *= base
    _, ids = torch.unique(key.reshape(-1), return_inverse=True)
    count = int(ids.max()) + 1
    pixels = torch.arange(h * w, device=padded.device)
    representative = torch.empty(count, dtype=torch.int64, device=padded.device).scatter_(0, ids, pixels)
    y, x = representative // w, representative % w
    offsets = torch.tensor([dy * (w + 2) + dx for dy, dx in OFFSETS], device=padded.device)
    taps = (y * (w + 2) + x)[None, :] + offsets[:, None]
    padded_ids = F.pad(ids.reshape(h, w), (1, 1, 1, 1), value=count).reshape(-1)
    return Patterns(ids, taps, padded_ids)


def region_layout(code_map: torch.Tensor, n_codes: int) -> RegionLayout:
    """Layout of an (h, w) integer code map whose codes are below ``n_codes``."""
    h, w = code_map.shape
    code = code_map.reshape(-1).long()
    padded = F.pad(code_map.long(), (1, 1, 1, 1), value=n_codes).reshape(-1)
    return RegionLayout(h, w, n_codes, code, padded)


def segmap_codes(seg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, C, h, w) segmap -> ((h, w) int64 region codes, (K, C) the segmap vector of each code).

    A code per distinct vector, so one-hot maps with extra channels (don't-care, instance edges) work too.
    """
    c, h, w = seg.shape[1:]
    vectors = seg[0].reshape(c, -1).t()
    if c <= 62 and bool(((vectors == 0) | (vectors == 1)).all()):
        powers = 2 ** torch.arange(c, device=seg.device, dtype=torch.int64)
        keys = (vectors.to(torch.int64) * powers).sum(dim=1)
        uniq, inverse = torch.unique(keys, return_inverse=True)
        table = ((uniq[:, None] // powers) % 2).to(seg.dtype)
    else:
        table, inverse = torch.unique(vectors, dim=0, return_inverse=True)
    return inverse.reshape(h, w), table


def float32_tables(device: torch.device) -> torch.autocast:
    """Autocast off: the tables and lookups stay float32 in fast mode (they are cheap, and bf16 sums of
    nine table rows lose ~15 dB of PSNR); only the gathered matmul follows the caller's autocast."""
    return torch.autocast(device_type=device.type, enabled=False)


def with_zero_row(table: torch.Tensor) -> torch.Tensor:
    """(K, C) -> (K+1, C): the last row (the padding code) zeros."""
    return torch.cat([table, table.new_zeros((1, table.shape[1]))])


@dataclass
class ConvMatrices:
    """A 3x3 conv (or several with the same input, outputs concatenated) as the matrices used here.

    per_tap: (C_in, 9 * C_out), column t * C_out + o; im2col: (9 * C_in, C_out), row t * C_in + c;
    bias: (C_out,) or None.
    """

    per_tap: torch.Tensor
    im2col: torch.Tensor
    bias: torch.Tensor | None
    low_precision: dict[torch.dtype, torch.Tensor] = field(default_factory=dict)  # im2col in fast mode's dtypes

    @property
    def out_channels(self) -> int:
        return self.im2col.shape[1]


def conv_matrices(convs: list[torch.nn.Conv2d]) -> ConvMatrices:
    """The matrices of 3x3 convs sharing one input; output channels in the order of ``convs``."""
    weight = torch.cat([c.weight for c in convs]) if len(convs) > 1 else convs[0].weight
    biases = [c.bias for c in convs]
    bias = None if any(b is None for b in biases) else (torch.cat(biases) if len(biases) > 1 else biases[0])
    c_out, c_in = weight.shape[:2]
    return ConvMatrices(
        per_tap=weight.permute(1, 2, 3, 0).reshape(c_in, 9 * c_out).contiguous(),
        im2col=weight.permute(2, 3, 1, 0).reshape(9 * c_in, c_out).contiguous(),
        bias=None if bias is None else bias.detach().clone(),
    )


def cached_matrices(owner: torch.nn.Module, name: str, convs: list[torch.nn.Conv2d]) -> ConvMatrices:
    """:func:`conv_matrices` kept on ``owner`` until a weight changes (eval weights never do)."""
    params = [p for c in convs for p in (c.weight, c.bias) if p is not None]
    stamp = tuple((p.data_ptr(), p._version, p.dtype) for p in params)
    store = owner.__dict__.setdefault("_region_matrices", {})
    cached = store.get(name)
    if cached is None or cached[0] != stamp:
        with torch.no_grad():
            cached = (stamp, conv_matrices(convs))
        store[name] = cached
    return cached[1]


def tap_tables(table: torch.Tensor, conv: ConvMatrices) -> torch.Tensor:
    """(9, K, C_out): ``table @ W_t^T`` per tap, one matmul. table: (K, C_in)."""
    k = table.shape[0]
    return (table @ conv.per_tap).reshape(k, 9, conv.out_channels).transpose(0, 1)


def lookup_conv(
    tables: torch.Tensor, padded: torch.Tensor, taps: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """(N, C_out): the 3x3 conv of ``table[code]`` at the pixels whose taps are ``taps`` (9, N)."""
    out = tables[4].index_select(0, padded[taps[4]])
    for t in (0, 1, 2, 3, 5, 6, 7, 8):
        out += tables[t].index_select(0, padded[taps[t]])
    return out if bias is None else out + bias


def im2col_conv(
    rows: torch.Tensor, padded: torch.Tensor, taps: torch.Tensor, conv: ConvMatrices, dtype: torch.dtype
) -> torch.Tensor:
    """(N, C_out) in ``dtype``: the 3x3 conv of ``rows[id]`` (an id map zero-padded with the id of a zero row)
    at the N pixels whose taps are ``taps`` (9, N), as one matmul over their gathered windows (im2col).

    Fast mode only: operands in ``dtype`` (bf16/fp16) with float32 accumulation, the arithmetic of the
    low-precision convolution it replaces; the exact path keeps :func:`lookup_conv`'s float32 sums.
    """
    weight = low_precision_im2col(conv, dtype)
    window = padded[taps.t()]  # (N, 9): the row of each tap, in im2col order (tap-major columns)
    columns = rows.to(dtype).index_select(0, window.reshape(-1)).view(window.shape[0], -1)
    with torch.autocast(device_type=rows.device.type, enabled=False):
        out = columns @ weight
        return out if conv.bias is None else out.add_(conv.bias.to(dtype))


def low_precision_im2col(conv: ConvMatrices, dtype: torch.dtype) -> torch.Tensor:
    """``conv.im2col`` in ``dtype``, made once per :class:`ConvMatrices` (the casts of every render add up)."""
    cached = conv.low_precision.get(dtype)
    if cached is None:
        cached = conv.low_precision[dtype] = conv.im2col.to(dtype)
    return cached


def map_dtype(device: torch.device) -> torch.dtype:
    """The dtype of the gamma/beta maps: the autocast dtype in fast mode (so the modulation and the next
    convolution stay in it, with no casts of full-size maps), float32 otherwise."""
    if torch.is_autocast_enabled(device.type):
        return torch.get_autocast_dtype(device.type)
    return torch.float32


def spread(values: torch.Tensor, patterns: Patterns, height: int, width: int, dtype: torch.dtype) -> torch.Tensor:
    """(1, C, h, w): each pixel the row of ``values`` (count, C) of its pattern.

    The layout is the render's (:func:`regionpaint.engines.acceleration.fast.exact_channels_last`): one row
    gather into channels-last maps in fast mode (in ``dtype``: half the bytes of the largest maps of a
    render, written once) and in exact mode on CPU; contiguous maps, one gather per channel row, for exact
    renders elsewhere. (The view keeps canonical channels-last strides, batch stride included: with any
    other batch stride the element-wise results inherit it and oneDNN then writes the next convolution's
    output contiguous, and every later element-wise op mixes layouts, ~13x slower.)
    """
    if dtype == torch.float32 and not exact_channels_last(values.device):
        table = values.float().t().contiguous()
        return torch.gather(table, 1, patterns.ids.expand(table.shape[0], -1)).reshape(1, -1, height, width)
    rows = values.to(dtype).index_select(0, patterns.ids)  # (h*w, C)
    return rows.view(1, height, width, -1).permute(0, 3, 1, 2)


class LayoutCache:
    """Region layouts of the segmaps being rendered, per feature size, for the last few segmaps per thread.

    Keyed on the segmap object itself through a weak reference (the engines keep one semantics tensor per
    label map and never modify it in place); an entry dies with its segmap, so nothing large is held here.
    """

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = capacity
        self._local = threading.local()

    def get(self, segmap: torch.Tensor, size: tuple, seg: torch.Tensor) -> tuple[RegionLayout, torch.Tensor]:
        """(layout, (K, C) code vectors) of ``seg`` (1, C, h, w), sample ``i`` of the resize of ``segmap`` to
        ``size`` = (h, w, i)."""
        entries = [e for e in getattr(self._local, "entries", []) if e[0]() is not None]
        entry = next((e for e in entries if e[0]() is segmap), None)
        if entry is None:
            entry = (weakref.ref(segmap), {})
            entries = [*entries, entry][-self.capacity :]
        self._local.entries = entries
        layouts = entry[1]
        if size not in layouts:
            code_map, vectors = segmap_codes(seg)
            layouts[size] = (region_layout(code_map, vectors.shape[0]), vectors)
        return layouts[size]

    def clear(self) -> None:
        self._local.entries = []


def patterns_chosen(
    name: str,
    shape: str,
    share: float,
    pattern: Callable[[], object],
    plain: Callable[[], object],
    device: torch.device,
) -> bool:
    """Whether the pattern path (rather than the plain convolutions) runs a modulation layer.

    ``name``: the choice ("spade_modulation", "sean_style_modulation"); ``shape``: the layer's channels, map
    size and dtype; ``share``: distinct patterns per pixel, in the key rounded up to a tenth (the pattern
    path's cost grows with it, the plain path's does not); ``pattern``/``plain``: the two ways, timed on the
    real label map under the caller's math the first time the key is met. Off the CPU (where timing needs
    device syncs, not measured here) and with tuning off: ``share <= MAX_PATTERN_SHARE``.
    """
    from regionpaint.engines.acceleration import autotune

    guess = "pattern" if share <= MAX_PATTERN_SHARE else "plain"
    if device.type != "cpu":
        return guess == "pattern"
    how = autotune.TorchMath.current(device.type)
    dtype = str(map_dtype(device)).removeprefix("torch.")
    key = f"{shape} {dtype} share<={math.ceil(share * 10) / 10:.1f}"

    def candidates() -> dict[str, Callable[[], object]]:
        return autotune.under(how, {"pattern": pattern, "plain": plain})

    return autotune.choose(name, key, candidates, guess) == "pattern"
