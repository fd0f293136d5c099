"""SEAN re-renders reuse the work an edit does not touch, in both modes and when the modes alternate.

The editor renders a fast preview of every edit and then the exact render of it, so the label context (the
segmap at every feature size, the region layouts and patterns, the SPADE modulation of every ACE) must serve
both modes: a style slider move does no label work at all, whichever mode rendered last. A brush stroke keeps
the style work (per-class style tables). Counted by wrapping the functions that do that work; the demo SEAN
model (assets/demo) on a blocky label map.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from regionpaint.engines.acceleration import region_patterns
from regionpaint.engines.base import RenderRequest, StyleSource
from regionpaint.engines.layers.spade_norm import SPADE
from regionpaint.engines.sean.engine import SeanEngine
from regionpaint.engines.sean.networks import ACE

MODEL = Path(__file__).resolve().parents[1] / "assets" / "demo" / "models" / "sean_faces.safetensors"


@pytest.fixture(scope="module")
def engine() -> SeanEngine:
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} is not built (python -m tools.demo.build)")
    eng = SeanEngine()
    eng.load(MODEL, device="cpu")
    return eng


def _label(stroke: int = 0) -> np.ndarray:
    label = np.zeros((256, 256), np.uint8)
    label[40:220, 60:200] = 1  # skin
    label[20:90, 50:210] = 13  # hair
    label[120:140, 90:170] = 11  # mouth
    if stroke:
        label[150 + stroke : 170 + stroke, 30:60] = 13  # a hair stroke
    return label


@pytest.fixture(scope="module")
def sources() -> dict[str, StyleSource]:
    rng = np.random.default_rng(0)
    label = _label()
    return {name: StyleSource(name, rng.integers(0, 256, (256, 256, 3), dtype=np.uint8), label) for name in ("A", "B")}


def request(label, sources, weight: float, fast: bool) -> RenderRequest:
    return RenderRequest(
        label=label, styles=sources, default_style=(("A", 1 - weight), ("B", weight)), seed=0, fast=fast
    )


@pytest.fixture
def counts(engine, monkeypatch) -> dict[str, int]:
    """Calls into the label work (segmap, window patterns, SPADE modulation) and the style work (the ACEs'
    per-tap style tables)."""
    calls = {"segmap": 0, "patterns": 0, "modulation": 0, "style_tables": 0}

    def counting(name, original):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(engine, "_segmap", counting("segmap", engine._segmap))
    monkeypatch.setattr(region_patterns, "window_patterns", counting("patterns", region_patterns.window_patterns))
    monkeypatch.setattr(SPADE, "modulation", counting("modulation", SPADE.modulation))
    monkeypatch.setattr(ACE, "build_style_tap_tables", counting("style_tables", ACE.build_style_tap_tables))
    return calls


@pytest.mark.parametrize("order", [(True, True), (False, False), (True, False), (False, True)], ids=str)
def test_style_only_rerender_does_no_label_work_in_either_mode_or_order(engine, sources, counts, order):
    label = _label()
    for fast in (True, False):  # the editor's pair: fast preview, then the exact render
        engine.generate(request(label, sources, 0.0, fast))
    for key in counts:
        counts[key] = 0
    first = 0.1 + 0.2 * (2 * order[0] + order[1])  # slider positions no other case used (no cached tables)
    for weight, fast in zip((first, first + 0.05), order, strict=True):
        engine.generate(request(label, sources, weight, fast))
    assert (counts["segmap"], counts["patterns"], counts["modulation"]) == (0, 0, 0), counts
    assert counts["style_tables"] > 0, "the style did change: its tables must be rebuilt"


def test_label_edit_keeps_the_style_work_and_alternating_modes_share_the_label_work(engine, sources, counts):
    engine.generate(request(_label(), sources, 0.5, True))
    engine.generate(request(_label(), sources, 0.5, False))
    for key in counts:
        counts[key] = 0
    edited = _label(stroke=4)
    engine.generate(request(edited, sources, 0.5, True))  # the preview of a stroke
    assert counts["style_tables"] == 0, "a label edit must reuse the style tables"
    label_work = dict(counts)
    assert label_work["segmap"] == 1 and label_work["patterns"] > 0
    engine.generate(request(edited, sources, 0.5, False))  # its exact render: the same label context
    assert counts["segmap"] == label_work["segmap"], "the exact render recomputed the segmap the preview made"
    assert counts["patterns"] == label_work["patterns"], "the exact render recomputed the window patterns"


def test_exact_after_fast_is_the_exact_render(engine, sources):
    """Codes and modulation are kept per mode: after a fast render of the same edit, exact is bit for bit the
    exact render of a fresh engine state."""
    label = _label(stroke=9)
    engine.generate(request(label, sources, 0.4, True))
    after_fast = engine.generate(request(label, sources, 0.4, False)).tensor
    engine._context = None
    engine._codes.clear()
    fresh = engine.generate(request(label, sources, 0.4, False)).tensor
    assert torch.equal(after_fast, fresh)
