"""The exact structural SPADE/SEAN modulation (engines/acceleration/region_patterns.py) equals the plain convolutions.

Table lookups once per distinct 3x3 window and a gathered matmul once per distinct 5x5 window: the same
values as ``mlp_gamma(relu(mlp_shared(seg)))`` and ``conv_gamma(style map)`` up to float summation order.
Checked on blocky label maps with single-pixel regions, a don't-care channel, instance edges that overlap
class pixels, odd sizes, and with the pattern path forced at every size (so the fallback cannot hide a bug).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from regionpaint.engines.acceleration import region_patterns
from regionpaint.engines.layers import spade_norm
from regionpaint.engines.layers.spade_norm import SPADE

# The pattern path and the plain convolutions sum the same float32 products (3x3 taps of the label or style
# channels, then of the hidden layer) in other orders. Rounding scales with the values, so they are compared
# at the scale of the plain result: measured <= 2.1e-6 apart on values up to 4.4 (5e-7 of the scale), 1e-5
# of the scale leaves 20x on any kernels; a wrong tap, table row or window moves values by > 1e-2.
REL = 1e-5


def close(ours: torch.Tensor, plain: torch.Tensor) -> bool:
    return float((ours - plain).abs().max()) <= REL * float(plain.abs().max())


def _segmap(h: int, w: int, classes: int, seed: int, edges: bool) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, classes, size=(h // 5 + 1, w // 3 + 1))
    label = np.kron(coarse, np.ones((5, 3), np.int64))[:h, :w]
    label[rng.integers(0, h, 6), rng.integers(0, w, 6)] = classes - 1  # single-pixel regions
    seg = torch.zeros(1, classes, h, w).scatter_(1, torch.from_numpy(label)[None, None], 1.0)
    if edges:
        edge = torch.zeros(1, 1, h, w)
        edge[..., :, w // 2] = 1.0  # an instance boundary through the middle of regions
        seg = torch.cat([seg, edge], dim=1)
    return seg


def _randomise(module: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    for p in module.parameters():
        p.data.copy_(torch.randn(p.shape, generator=generator) * 0.2)


@pytest.fixture
def band_everywhere(monkeypatch):
    monkeypatch.setattr(region_patterns, "MAX_PATTERN_SHARE", 1.0)


@pytest.mark.parametrize(("h", "w", "classes", "edges"), [(37, 53, 6, True), (64, 32, 4, False), (9, 7, 3, True)])
def test_spade_modulation_equals_the_plain_convolutions(band_everywhere, h, w, classes, edges):
    seg = _segmap(h, w, classes, seed=h, edges=edges)
    norm = SPADE("spadebatch3x3", 24, seg.shape[1], hidden=16).eval()
    _randomise(norm, h)
    for size in [(h, w), (h // 2 + 1, w // 2 + 1), (4, 4)]:
        with torch.inference_mode():
            gamma, beta = norm.modulation(seg, size)
            spade_norm.STRUCTURAL.enabled = False
            try:
                plain_gamma, plain_beta = norm.modulation(seg, size)
            finally:
                spade_norm.STRUCTURAL.enabled = True
        assert gamma.shape == plain_gamma.shape == (1, 24, *size)
        assert close(gamma, plain_gamma) and close(beta, plain_beta)


def _windows(code: np.ndarray, reach: int, pad: int) -> np.ndarray:
    """(h*w, (2*reach+1)^2) every pixel's window of codes, the border padded with ``pad`` (brute force)."""
    h, w = code.shape
    padded = np.pad(code, reach, constant_values=pad)
    size = 2 * reach + 1
    return np.stack([padded[dy : dy + h, dx : dx + w].reshape(-1) for dy in range(size) for dx in range(size)], 1)


@pytest.mark.parametrize("key_limit", [None, 1 << 12])  # 1 << 12: renumbers the packed keys every tap or two
@pytest.mark.parametrize("reach", [1, 2])
def test_patterns_are_the_distinct_windows(reach, key_limit, monkeypatch):
    if key_limit:
        monkeypatch.setattr(region_patterns, "_KEY_LIMIT", key_limit)
    rng = np.random.default_rng(reach)
    code = np.kron(rng.integers(0, 4, size=(5, 6)), np.ones((3, 4), np.int64))[:14, :21]
    code[rng.integers(0, 14, 5), rng.integers(0, 21, 5)] = 4  # single pixels
    patterns = region_patterns.region_layout(torch.from_numpy(code), 5).patterns(reach)
    windows = _windows(code, reach, pad=5)
    _, expected = np.unique(windows, axis=0, return_inverse=True)
    ids = patterns.ids.numpy()
    # The same partition of the pixels: equal ids exactly where the windows are equal.
    assert patterns.count == expected.max() + 1
    assert np.array_equal(np.unique(np.stack([ids, expected.reshape(-1)], 1), axis=0)[:, 0], np.arange(patterns.count))
    # Each pattern's representative window is the window of every pixel with that id.
    rep = (patterns.taps[4] // 23 - 1) * 21 + patterns.taps[4] % 23 - 1
    assert np.array_equal(windows[rep.numpy()][ids], windows)


def test_a_region_interior_is_one_pattern():
    code = torch.zeros(10, 12, dtype=torch.long)
    code[:, 6:] = 1
    patterns = region_patterns.region_layout(code, 2).patterns(2)
    ids = patterns.ids.reshape(10, 12)
    # Two away from the border and from the boundary between columns 5 and 6: one pattern per region.
    assert len(set(ids[2:8, 2:4].reshape(-1).tolist())) == 1 and len(set(ids[2:8, 8:10].reshape(-1).tolist())) == 1
    assert ids[2, 2] != ids[2, 8]
    assert patterns.count < 10 * 12 / 2


def test_training_takes_the_plain_convolutions():
    seg = _segmap(16, 16, 3, seed=0, edges=False)
    norm = SPADE("spadebatch3x3", 8, 3, hidden=8)
    gamma, _ = norm.modulation(seg, (16, 16))
    assert gamma.requires_grad and gamma.grad_fn is not None
    assert "Convolution" in type(gamma.grad_fn).__name__


def test_sean_style_branch_equals_the_convolution_of_the_style_map(band_everywhere):
    from regionpaint.engines.sean.config import SeanConfig
    from regionpaint.engines.sean.networks import ACE, LabelContext

    config = SeanConfig(ngf=2, label_nc=5, style_length=8, crop_size=64, load_size=64)
    ace = ACE(12, config).eval()
    _randomise(ace, 3)
    seg = _segmap(33, 40, 5, seed=7, edges=False)
    context = LabelContext(seg, config.style_classes)
    codes = torch.randn(5, 8, generator=torch.Generator().manual_seed(1))
    for size in [(33, 40), (17, 20)]:
        _, index, present = context.at(size)
        with torch.inference_mode():
            gamma, beta = ace.style_modulation(context, size, codes, present)
            middle = ace.style_map(codes, index, present)
            assert close(gamma, ace.conv_gamma(middle)) and close(beta, ace.conv_beta(middle))


def test_a_batch_of_label_maps_takes_one_layout_per_map(band_everywhere):
    first, second = _segmap(20, 28, 4, seed=1, edges=False), _segmap(20, 28, 4, seed=2, edges=False)
    batch = torch.cat([first, second])
    norm = SPADE("spadebatch3x3", 12, 4, hidden=8).eval()
    _randomise(norm, 5)
    with torch.inference_mode():
        gamma, beta = norm.modulation(batch, (20, 28))
        singles = [norm.modulation(seg, (20, 28)) for seg in (first, second)]
        spade_norm.STRUCTURAL.enabled = False
        try:
            plain_gamma, plain_beta = norm.modulation(batch, (20, 28))
        finally:
            spade_norm.STRUCTURAL.enabled = True
    assert close(gamma, plain_gamma) and close(beta, plain_beta)
    # Bit for bit, by construction: a batch runs each map's own layout through the same ops on the same shapes
    # as that map alone, then concatenates (the plain path would batch the convolution: other kernels).
    assert torch.equal(gamma[1:], singles[1][0]) and not torch.allclose(gamma[0], gamma[1])


def test_sean_style_tables_are_kept_per_codes_tensor_and_rebuilt_when_codes_change():
    from regionpaint.engines.sean.config import SeanConfig
    from regionpaint.engines.sean.networks import ACE

    config = SeanConfig(ngf=2, label_nc=5, style_length=8, crop_size=64, load_size=64)
    ace = ACE(12, config).eval()
    _randomise(ace, 4)
    codes = torch.randn(5, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        first, _ = ace.style_tap_tables(codes)
        assert ace.style_tap_tables(codes)[0] is first  # the same codes: kept
        other = codes.clone()
        assert ace.style_tap_tables(other)[0] is not first and torch.equal(ace.style_tap_tables(other)[0], first)
        codes[1] += 1.0  # changed in place: rebuilt, with the new values
        changed, _ = ace.style_tap_tables(codes)
    assert changed is not first and not torch.equal(changed, first)


def test_a_sean_label_edit_reuses_the_style_tables_and_renders_as_a_fresh_engine():
    from pathlib import Path

    from regionpaint.engines.base import RenderRequest, StyleSource
    from regionpaint.engines.sean.engine import SeanEngine

    model = Path(__file__).resolve().parents[1] / "assets/demo/models/sean_faces.safetensors"
    if not model.is_file():
        pytest.skip("demo SEAN model not built")
    engines = [SeanEngine(), SeanEngine()]
    for engine in engines:
        engine.load(model, "cpu")
    rng = np.random.default_rng(0)
    label = np.kron(rng.integers(0, 19, (8, 8)), np.ones((32, 32), np.int64)).astype(np.uint8)
    photo = rng.integers(0, 256, (256, 256, 3)).astype(np.uint8)
    source = StyleSource("A", photo, label)
    request = RenderRequest(label=label, styles={"A": source}, default_style=(("A", 1.0),), seed=3)
    engines[0].generate(request)
    ace = engines[0]._require().generator.up_2.ace_0  # a fine block: the pattern path
    tables = ace._style_tap_tables[0][3]  # the most recently used entry's tables
    edited = label.copy()
    edited[40:80, 40:80] = 13  # a brush stroke
    again = engines[0].generate(dataclasses.replace(request, label=edited))
    assert ace._style_tap_tables[0][3] is tables  # the styles did not change: the tables were kept
    fresh = engines[1].generate(dataclasses.replace(request, label=edited))
    # Bit for bit, by construction: the kept tables were made by the same ops from the same codes, and both
    # engines run the same kernels on the same shapes in this process.
    assert np.array_equal(again.image, fresh.image)
