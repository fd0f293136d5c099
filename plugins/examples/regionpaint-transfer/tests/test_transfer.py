"""The transfer engine keeps the regionpaint engine contract and honours every capability it declares."""

import dataclasses

import numpy as np
from regionpaint_transfer.engine import TransferEngine

from regionpaint import REGION_STYLES, STYLE_INTERPOLATION, RenderRequest, StyleSource
from regionpaint.testing import check_engine, sample_requests


def test_contract():
    check_engine(TransferEngine, label_sets=["celebamask-hq", "cityscapes"])


def _two_sources(size=(48, 40)):
    width, height = size
    label = np.zeros((height, width), np.uint8)
    label[:, width // 2 :] = 1
    rng = np.random.default_rng(0)
    red = np.clip(rng.normal((200, 40, 40), 10, (height, width, 3)), 0, 255).astype(np.uint8)
    blue = np.clip(rng.normal((30, 60, 210), 10, (height, width, 3)), 0, 255).astype(np.uint8)
    return label, {"red": StyleSource("red", red, label), "blue": StyleSource("blue", blue, label)}


def _engine():
    engine = TransferEngine()
    engine.load(None)
    return engine


def test_region_styles_paint_each_region_from_its_source():
    label, styles = _two_sources()
    request = RenderRequest(
        label=label, styles=styles, default_style=(("red", 1.0),), region_styles={1: (("blue", 1.0),)}
    )
    image = _engine().generate(request).image.astype(float)
    left, right = image[:, :20].reshape(-1, 3).mean(0), image[:, 28:].reshape(-1, 3).mean(0)
    assert left[0] > 150 and left[2] < 90  # red where the default style applies
    assert right[2] > 150 and right[0] < 90  # blue where region 1 asks for it


def test_interpolation_mixes_the_colours():
    label, styles = _two_sources()
    mix = (("red", 0.5), ("blue", 0.5))
    request = RenderRequest(label=label, styles=styles, default_style=mix, options={"colour_space": "rgb"})
    mean = _engine().generate(request).image.reshape(-1, 3).astype(float).mean(0)
    assert np.abs(mean - (115, 50, 125)).max() < 12, mean  # halfway between (200, 40, 40) and (30, 60, 210)


def test_texture_comes_from_the_source_and_flat_mode_has_none():
    label, styles = _two_sources()
    request = RenderRequest(label=label, styles=styles, default_style=(("red", 1.0),))
    textured = _engine().generate(request).image[:, :20].astype(float)
    flat = _engine().generate(dataclasses.replace(request, options={"texture": False})).image[:, :20].astype(float)
    assert 5 < textured.std(axis=(0, 1)).max() < 25  # the source's noise (std 10) survives
    assert flat[2:-2, 2:-2].std(axis=(0, 1)).max() < 1.0


def test_noise_off_ignores_the_seed_and_noise_on_follows_it():
    request = sample_requests(TransferEngine, "cityscapes")[REGION_STYLES]
    engine = _engine()
    a = engine.generate(dataclasses.replace(request, seed=1)).image
    b = engine.generate(dataclasses.replace(request, seed=2)).image
    assert not np.array_equal(a, b)
    off = [engine.generate(dataclasses.replace(request, seed=s, noise=False)).image for s in (1, 2)]
    assert np.array_equal(*off)


def test_declares_only_what_it_honours():
    assert {REGION_STYLES, STYLE_INTERPOLATION} <= TransferEngine.capabilities
    assert not TransferEngine.needs_checkpoint


def test_follow_layout_takes_patches_from_the_same_relative_place():
    height, width = 64, 48
    label = np.zeros((height, width), np.uint8)
    ramp = np.linspace(20, 235, height)[:, None, None] * np.ones((1, width, 3))  # dark top, bright bottom
    noise = np.random.default_rng(1).normal(0, 6, ramp.shape)
    source = StyleSource("ramp", np.clip(ramp + noise, 0, 255).astype(np.uint8), label)
    request = RenderRequest(label=label, styles={"ramp": source}, options={"patch_size": 8})
    image = _engine().generate(request).image.astype(float)
    top, bottom = image[:16].mean(), image[-16:].mean()
    assert bottom - top > 100, (top, bottom)  # the ramp survives: structure, not only texture
