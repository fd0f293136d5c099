"""Compositing: the photo's pixels outside the mask plus band, the upsampled render inside it minus the band."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regionpaint.app.model.document import CompositeSettings, DocumentError
from regionpaint.app.render.composite import (
    band_of,
    composite,
    feather_alpha,
    harmonize_colours,
    upsample_render,
)


def textured(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return cv2.GaussianBlur(image, (0, 0), 2)


def disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def outside_and_inside(mask: np.ndarray, band: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixels farther than band/2 (+1 for pixel centres) from the mask boundary, outside and inside."""
    reach = band // 2 + 1
    outside = ~cv2.dilate(mask.astype(np.uint8), disk(reach)).astype(bool)
    inside = cv2.erode(mask.astype(np.uint8), disk(reach), borderValue=1).astype(bool)
    return outside, inside


def blob_mask(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.zeros((height, width), np.uint8)
    for _ in range(3):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(mask, centre, int(rng.integers(3, max(4, min(height, width) // 3))), 1, -1)
    return mask.astype(bool)


@pytest.mark.parametrize("mode", ["feather", "seamless", "pyramid"])
@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), band=st.integers(0, 16), scale=st.sampled_from([1, 2, 4]))
def test_photo_outside_render_inside_exactly(mode, seed, band, scale):
    height, width = 48, 64
    photo = textured(height, width, seed)
    render = textured(height // scale, width // scale, seed + 1)
    mask = blob_mask(height, width, seed)
    result = composite(photo, render, mask, CompositeSettings(mode, band))
    outside, inside = outside_and_inside(mask, band)
    assert result.image.shape == photo.shape
    np.testing.assert_array_equal(result.image[outside], photo[outside])
    np.testing.assert_array_equal(result.image[inside], upsample_render(render, (width, height))[inside])
    np.testing.assert_array_equal(result.render, upsample_render(render, (width, height)))


def test_feather_alpha_is_a_ramp_across_the_band():
    mask = np.zeros((1, 40), bool)
    mask[0, 20:] = True
    alpha = feather_alpha(mask, 8)[0]
    assert (alpha[:16] == 0).all() and (alpha[24:] == 1).all()
    assert np.all(np.diff(alpha[15:25]) > 0)  # strictly increasing through the band
    assert band_of(alpha[None]).sum() == 8


def test_off_is_the_render_and_an_empty_mask_is_the_photo():
    photo, render = textured(32, 32, 0), textured(16, 16, 1)
    off = composite(photo, render, np.zeros((32, 32), bool), CompositeSettings("off"))
    np.testing.assert_array_equal(off.image, upsample_render(render, (32, 32)))
    for mode in ("feather", "seamless", "pyramid"):
        empty = composite(photo, render, np.zeros((32, 32), bool), CompositeSettings(mode, 10))
        np.testing.assert_array_equal(empty.image, photo)
        whole = composite(photo, render, np.ones((32, 32), bool), CompositeSettings(mode, 10))
        np.testing.assert_array_equal(whole.image, upsample_render(render, (32, 32)))


def test_seamless_spreads_a_colour_offset_smoothly_over_the_band():
    """A render that is the photo plus a constant: the Poisson band has no step at either band edge."""
    photo = textured(64, 64, 3)
    render = np.clip(photo.astype(int) + 40, 0, 255).astype(np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[16:48, 16:48] = True
    for mode in ("feather", "seamless"):
        image = composite(photo, render, mask, CompositeSettings(mode, 12)).image.astype(int)
        offset = (image - photo.astype(int)).mean(-1)[32]  # along one row through the square
        assert abs(offset[0]) == 0 and abs(offset[32] - 40) < 1
        assert np.abs(np.diff(offset)).max() < 8, (mode, np.abs(np.diff(offset)).max())


def test_harmonisation_removes_a_colour_cast_measured_around_the_mask():
    photo = textured(64, 64, 5)
    cast = np.clip(photo.astype(int) + np.array([30, -20, 10]), 0, 255).astype(np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[20:44, 20:44] = True
    fixed = harmonize_colours(cast, photo, mask, ring=10)
    ring = cv2.dilate(mask.astype(np.uint8), disk(10)).astype(bool) & ~mask
    before = np.abs(cast[ring].astype(float).mean(0) - photo[ring].mean(0)).max()
    after = np.abs(fixed[ring].astype(float).mean(0) - photo[ring].mean(0)).max()
    assert before > 9 and after < 2.5, (before, after)


def test_bad_settings_are_refused_in_words():
    with pytest.raises(DocumentError, match="composite mode"):
        CompositeSettings("smudge")
    with pytest.raises(DocumentError, match="composite band"):
        CompositeSettings("feather", -1)
    with pytest.raises(ValueError, match="edit mask is 3x3"):
        composite(textured(8, 8, 0), textured(8, 8, 1), np.zeros((3, 3), bool))
