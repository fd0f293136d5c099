"""Exact 3x3 convolutions of piecewise-constant maps: per-region constants inside, real arithmetic on a band.

SPADE's modulation ``mlp_gamma(relu(mlp_shared(seg)))`` and SEAN's style branch ``conv_gamma(style map)``
read maps that are constant over each label region: the map is ``table[code]`` for an (h, w) code map.

* A 3x3 convolution (zero padding 1) of ``table[code]`` is, per tap t, a lookup in the small table
  ``table @ W_t^T``: nine gathers and adds, no convolution (``mlp_shared`` on a one-hot map is an embedding
  lookup).
* At a pixel whose window lies inside the image and inside one region k it is the constant
  ``bias + table[k] @ (sum_t W_t)^T``; two stacked 3x3 convolutions need a uniform 5x5 window. Only a band
  along region boundaries and the image border needs per-pixel work; there the second convolution (whose
  input is no longer piecewise constant) is a gathered matmul over the band pixels only.

Results equal the plain convolutions up to float summation order (~1e-6 relative); the parity tests hold
them to the official outputs within 1e-4. Where the band is most of the map (coarse feature maps) the
plain convolution is cheaper: :data:`MAX_BAND_SHARE` is the measured crossover (``python -m bench --only
band_share``).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

# Above this share of band pixels the gathered matmul stops paying off against the plain convolution
# (bench/band_share.py times both per layer on the real label maps).
MAX_BAND_SHARE = 0.7
# Band pixels per matmul: bounds the gathered rows (CHUNK x C_in floats per tap).
CHUNK = 16384
OFFSETS = tuple((dy, dx) for dy in range(3) for dx in range(3))  # tap t = ky * 3 + kx


@dataclass
class RegionLayout:
    """A code map at one feature size and its boundary bands.

    code: (h*w,) int64 in 0..n_codes-1; padded: ((h+2)*(w+2),) int64, the code map zero-padded by one
    pixel with the code ``n_codes`` (a table row of zeros for the convolution's zero padding).
    """

    height: int
    width: int
    n_codes: int
    code: torch.Tensor
    padded: torch.Tensor
    _bands: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)

    def band(self, reach: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(pixels (N,) flat indices into h*w, taps (9, N) flat indices into the padded map) of the pixels
        whose (2*reach+1)^2 window is not inside the image and one region."""
        if reach not in self._bands:
            h, w = self.height, self.width
            grid = self.padded.reshape(h + 2, w + 2)
            centre = grid[1:-1, 1:-1]
            mixed = torch.zeros((h, w), dtype=torch.bool, device=grid.device)
            for dy, dx in OFFSETS:
                mixed |= grid[dy : dy + h, dx : dx + w] != centre
            if reach > 1:
                mixed = F.max_pool2d(mixed[None, None].float(), 2 * reach - 1, 1, reach - 1)[0, 0] > 0
                mixed[:reach, :] = True
                mixed[h - reach :, :] = True
                mixed[:, :reach] = True
                mixed[:, w - reach :] = True
            pixels = torch.nonzero(mixed.reshape(-1)).reshape(-1)
            y, x = pixels // w, pixels % w
            offsets = torch.tensor([dy * (w + 2) + dx for dy, dx in OFFSETS], device=pixels.device)
            self._bands[reach] = (pixels, (y * (w + 2) + x)[None, :] + offsets[:, None])
        return self._bands[reach]

    def share(self, reach: int) -> float:
        return self.band(reach)[0].numel() / max(1, self.height * self.width)


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
    """Autocast off: the tables, lookups and constants stay float32 in fast mode (they are cheap, and bf16
    sums of nine table rows lose ~15 dB of PSNR); only the band matmul follows the caller's autocast."""
    return torch.autocast(device_type=device.type, enabled=False)


def with_zero_row(table: torch.Tensor) -> torch.Tensor:
    """(K, C) -> (K+1, C): the last row (the padding code) zeros."""
    return torch.cat([table, table.new_zeros((1, table.shape[1]))])


@dataclass
class ConvMatrices:
    """A 3x3 conv (or several with the same input, outputs concatenated) as the matrices used here.

    per_tap: (C_in, 9 * C_out), column t * C_out + o; im2col: (9 * C_in, C_out), row t * C_in + c;
    summed: (C_in, C_out), the taps' sum; bias: (C_out,) or None.
    """

    per_tap: torch.Tensor
    im2col: torch.Tensor
    summed: torch.Tensor
    bias: torch.Tensor | None

    @property
    def out_channels(self) -> int:
        return self.summed.shape[1]


def conv_matrices(convs: list[torch.nn.Conv2d]) -> ConvMatrices:
    """The matrices of 3x3 convs sharing one input; output channels in the order of ``convs``."""
    weight = torch.cat([c.weight for c in convs]) if len(convs) > 1 else convs[0].weight
    biases = [c.bias for c in convs]
    bias = None if any(b is None for b in biases) else (torch.cat(biases) if len(biases) > 1 else biases[0])
    c_out, c_in = weight.shape[:2]
    return ConvMatrices(
        per_tap=weight.permute(1, 2, 3, 0).reshape(c_in, 9 * c_out).contiguous(),
        im2col=weight.permute(2, 3, 1, 0).reshape(9 * c_in, c_out).contiguous(),
        summed=weight.sum(dim=(2, 3)).t().contiguous(),
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


def constants(table: torch.Tensor, conv: ConvMatrices) -> torch.Tensor:
    """(K, C_out): the 3x3 conv of a map equal to ``table[k]`` (K, C_in) on the whole window."""
    out = table @ conv.summed
    return out if conv.bias is None else out + conv.bias


def gathered_conv(rows: torch.Tensor, taps: torch.Tensor, conv: ConvMatrices) -> torch.Tensor:
    """(N, C_out): the 3x3 conv at N pixels of a map given as padded rows (P, C_in): im2col of those pixels
    only (one row gather), then one matmul."""
    c_in = conv.summed.shape[0]
    parts = []
    for start in range(0, taps.shape[1], CHUNK):
        chunk = taps[:, start : start + CHUNK]
        columns = rows.index_select(0, chunk.t().reshape(-1)).reshape(chunk.shape[1], 9 * c_in)
        parts.append(columns @ conv.im2col if conv.bias is None else torch.addmm(conv.bias, columns, conv.im2col))
    if not parts:
        return rows.new_empty((0, conv.out_channels))
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def assemble(
    region_values: torch.Tensor, layout: RegionLayout, pixels: torch.Tensor, band_values: torch.Tensor
) -> torch.Tensor:
    """(C, h, w): each pixel its region's row of ``region_values`` (K, C), band ``pixels`` their
    ``band_values`` (N, C)."""
    full = region_values.t().contiguous().index_select(1, layout.code)  # (C, h*w), written row by row
    full[:, pixels] = band_values.t().to(full.dtype)
    return full.reshape(-1, layout.height, layout.width)


class LayoutCache:
    """Region layouts of the segmaps being rendered, per feature size, for the last few segmaps per thread.

    Keyed on the segmap object itself through a weak reference (the engines keep one semantics tensor per
    label map and never modify it in place); an entry dies with its segmap, so nothing large is held here.
    """

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = capacity
        self._local = threading.local()

    def get(self, segmap: torch.Tensor, size: tuple[int, int], seg: torch.Tensor) -> tuple[RegionLayout, torch.Tensor]:
        """(layout, (K, C) code vectors) of ``seg``, the ``size`` resize of ``segmap``."""
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
