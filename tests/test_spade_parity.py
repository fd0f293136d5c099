"""SPADE reproduces the official `spade_cityscapes` reference output (raw tensor and PNG)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from regionpaint.engines.base import RenderRequest
from regionpaint.engines.spade.engine import SpadeEngine
from tests.test_spade_reference import CITY_STEM, CITYSCAPES, require

# Renders full-size reference networks, trains or starts processes: `./dev test -m "not slow"` skips it.
pytestmark = pytest.mark.slow

# Parity with the official outputs in ../shared/refs, made by the official code on another machine: float32
# both, other kernels, the same sums in another order. Measured on an AMX Xeon: SPADE 5.0e-7, SEAN 6.6e-7,
# pix2pixHD 2.5e-6 from the official tensors; 1e-4 is the project's parity bar (40x above the largest). The
# official PNGs are trunc((x + 1) / 2 * 255) of those tensors, so within 1e-4 means within one level of them.
TOLERANCE = 1e-4


def _engine() -> SpadeEngine:
    engine = SpadeEngine()
    engine.load(require(CITYSCAPES) / "checkpoints/spade_cityscapes", "cpu")
    return engine


def _ids(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def _assert_matches_reference(result) -> None:
    expected = torch.load(CITYSCAPES / "output.pt", weights_only=True)
    assert result.tensor.shape == expected.shape == (1, 3, 128, 256)
    assert result.tensor.dtype == torch.float32
    diff = (result.tensor - expected).abs().max().item()
    assert diff < TOLERANCE, diff
    png = np.asarray(Image.open(CITYSCAPES / "output.png").convert("RGB")).astype(int)
    assert np.abs(result.image.astype(int) - png).max() <= 1
    assert result.info["size"] == (256, 128)


@pytest.mark.parametrize("inputs", ["original", "preprocessed"])
def test_cityscapes_reference(inputs):
    case = require(CITYSCAPES)
    if inputs == "original":  # 2048x1024 labelIds (8-bit) + instanceIds (16-bit), official 'fixed' resize
        label, instance = (
            _ids(case / f"{CITY_STEM}_labelIds.png"),
            _ids(case / f"{CITY_STEM}_instanceIds.png"),
        )
        assert label.shape == (1024, 2048)
    else:
        label, instance = (
            _ids(case / "inputs/label_preprocessed.png"),
            _ids(case / "inputs/instance_preprocessed.png"),
        )
    result = _engine().generate(RenderRequest(label=label, instance=instance))
    _assert_matches_reference(result)
    assert result.info["instance_source"] == "request"


def test_repeated_render_is_served_from_the_label_cache_and_identical():
    case = require(CITYSCAPES)
    engine = _engine()
    request = RenderRequest(
        label=_ids(case / "inputs/label_preprocessed.png"),
        instance=_ids(case / "inputs/instance_preprocessed.png"),
    )
    first, second = engine.generate(request), engine.generate(request)
    assert not first.info["cached"] and second.info["cached"]
    assert torch.equal(first.tensor, second.tensor)
    second.tensor.add_(1.0)  # a caller mutating its result must not corrupt the cache
    _assert_matches_reference(engine.generate(request))
