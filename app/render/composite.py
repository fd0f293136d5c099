"""Compositing a render onto the photo it edits, at the photo's resolution (numpy + OpenCV, Qt-free).

Outside the grown edit mask plus the band the result is the photo's own pixels, bit for bit; inside the
mask minus the band it is the render upsampled to the photo's size (optionally colour-harmonised); in
the band, a blend:

* ``off``: the raw render, as the engine made it (no photo);
* ``feather``: a linear alpha ramp over the signed distance to the mask boundary;
* ``seamless``: gradient domain: the render Poisson-cloned into the photo (a harmonic membrane solved
  coarse to fine), faded into the exact render across the band (see :func:`poisson_band`); ``pyramid`` is the
  Laplacian-pyramid alternative, kept for the measurements in ``bench/composite_speed.py``.

The band straddles the boundary of the grown mask: ``width / 2`` pixels on either side.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from regionpaint.app.model.document import ALL_COMPOSITE_MODES, COMPOSITE_MODES, CompositeSettings

log = logging.getLogger(__name__)

__all__ = ["ALL_COMPOSITE_MODES", "COMPOSITE_MODES", "Composite", "CompositeSettings", "composite"]


# -- geometry --------------------------------------------------------------------------------
def upsample_render(render: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w, 3) uint8 render resized to ``size`` = (W, H): bicubic when enlarging, area when shrinking."""
    if (render.shape[1], render.shape[0]) == tuple(size):
        return render
    enlarging = size[0] >= render.shape[1] and size[1] >= render.shape[0]
    return cv2.resize(render, tuple(size), interpolation=cv2.INTER_CUBIC if enlarging else cv2.INTER_AREA)


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """(H, W) float32: distance to the mask boundary, positive inside ``mask``, negative outside.

    Pixel centres: a mask pixel next to a non-mask pixel is at +0.5, its neighbour at -0.5.
    """
    mask_u8 = mask.astype(np.uint8)
    inside = cv2.distanceTransform(mask_u8, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    outside = cv2.distanceTransform(1 - mask_u8, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.where(mask, inside - 0.5, 0.5 - outside).astype(np.float32)


def feather_alpha(mask: np.ndarray, width: float) -> np.ndarray:
    """(H, W) float32 alpha in 0..1: 1 deeper than ``width/2`` inside the mask, 0 beyond it outside."""
    if width <= 0 or mask.all() or not mask.any():
        return mask.astype(np.float32)
    ramp = 0.5 + signed_distance(mask) / float(width)
    return np.clip(ramp, 0.0, 1.0).astype(np.float32)


def band_of(alpha: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels where the composite blends (0 < alpha < 1)."""
    return (alpha > 0.0) & (alpha < 1.0)


# -- colour harmonisation ---------------------------------------------------------------------
def harmonize_colours(render: np.ndarray, photo: np.ndarray, mask: np.ndarray, ring: int) -> np.ndarray:
    """The render with its per-channel Lab mean and spread matched to the photo's in a ring around ``mask``.

    In the ring (``ring`` pixels outside the mask) the render is a reconstruction of the photo, so the
    difference there is the network's colour cast, which is then removed everywhere.
    Returns ``render`` unchanged when the ring is empty (a whole-image edit).
    """
    if ring <= 0 or not mask.any() or mask.all():
        return render
    outside = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring + 1,) * 2))
    ring_mask = outside.astype(bool) & ~mask
    if ring_mask.sum() < 16:
        return render
    render_lab = cv2.cvtColor(render, cv2.COLOR_RGB2LAB).astype(np.float32)
    photo_lab = cv2.cvtColor(photo, cv2.COLOR_RGB2LAB).astype(np.float32)
    r, p = render_lab[ring_mask], photo_lab[ring_mask]
    r_mean, r_std = r.mean(0), r.std(0) + 1e-3
    p_mean, p_std = p.mean(0), p.std(0)
    # Spread ratio bounded: a flat ring must not blow up the render's contrast.
    gain = np.clip(p_std / r_std, 0.5, 2.0)
    matched = (render_lab - r_mean) * gain + p_mean
    return cv2.cvtColor(np.clip(matched, 0, 255).round().astype(np.uint8), cv2.COLOR_LAB2RGB)


# -- blends ----------------------------------------------------------------------------------
def _alpha_blend(photo: np.ndarray, render: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None]
    out = photo.astype(np.float32) * (1.0 - a) + render.astype(np.float32) * a
    out = np.clip(out.round(), 0, 255).astype(np.uint8)
    # Exactness where alpha is 0 or 1 (no float round trip there).
    out[alpha <= 0.0] = photo[alpha <= 0.0]
    out[alpha >= 1.0] = render[alpha >= 1.0]
    return out


_CROSS = np.array([[0.0, 0.25, 0.0], [0.25, 0.0, 0.25], [0.0, 0.25, 0.0]], np.float32)


def harmonic_fill(values: np.ndarray, known: np.ndarray, sweeps: int = 20) -> np.ndarray:
    """(H, W, C) float32: ``values`` where ``known``, a harmonic (Laplace) interpolation of them elsewhere.

    Coarse to fine: the known values are pulled down a Gaussian pyramid (push-pull), the coarsest level is
    filled and each finer level starts from the upsampled coarser solution, then relaxes with Jacobi sweeps.
    """
    height, width = known.shape
    if known.all():
        return values
    if not known.any():
        return np.zeros_like(values)
    if min(height, width) <= 16:
        start = np.broadcast_to(values[known].mean(0), values.shape).astype(np.float32)
        return _relax(np.where(known[..., None], values, start), values, known, sweeps * 4)
    weight = known.astype(np.float32)
    coarse_weight = cv2.pyrDown(weight)
    coarse_values = cv2.pyrDown(values * weight[..., None]) / np.maximum(coarse_weight, 1e-6)[..., None]
    coarse = harmonic_fill(coarse_values.astype(np.float32), coarse_weight > 0.5, sweeps)
    guess = cv2.pyrUp(coarse, dstsize=(width, height))
    return _relax(np.where(known[..., None], values, guess), values, known, sweeps)


def _relax(current: np.ndarray, values: np.ndarray, known: np.ndarray, sweeps: int) -> np.ndarray:
    # current = free * average(current) + known * values, with OpenCV's vectorised arithmetic.
    free = np.repeat((~known)[..., None], values.shape[2], axis=2).astype(np.float32)
    fixed_part = (values * (1.0 - free)).astype(np.float32)
    current = np.ascontiguousarray(current, dtype=np.float32)
    for _ in range(sweeps):
        averaged = cv2.filter2D(current, -1, _CROSS, borderType=cv2.BORDER_REPLICATE)
        current = cv2.add(cv2.multiply(averaged, free), fixed_part)
    return current


def poisson_band(photo: np.ndarray, render: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Gradient-domain blend: the render cloned into the photo (Poisson equation with the render's gradients
    as guidance, Dirichlet boundary = the photo just outside the band), faded into the exact render across it.

    With the render as guidance the Poisson solution is ``render + m``, ``m`` the harmonic membrane that
    takes the photo-minus-render difference on the boundary (Pérez et al. 2003); ``m`` is solved by
    :func:`harmonic_fill`. The band shows ``render + (1 - alpha) * m``: the render's own texture (no ghost
    of two textures, as a feather has) whose colours bend smoothly to meet the photo at the outer edge.
    OpenCV's ``seamlessClone`` solves on the mask's bounding rectangle and smears the seam outside the mask
    as well, which breaks the photo-exact outside, so it is not used.
    """
    band = band_of(alpha)
    if not band.any():
        return _alpha_blend(photo, render, alpha)
    outside = alpha <= 0.0
    difference = photo.astype(np.float32) - render.astype(np.float32)
    membrane = harmonic_fill(np.where(outside[..., None], difference, 0.0).astype(np.float32), outside)
    cloned = render.astype(np.float32) + (1.0 - alpha)[..., None] * membrane
    out = _alpha_blend(photo, render, alpha)
    out[band] = np.clip(cloned[band].round(), 0, 255).astype(np.uint8)
    return out


def pyramid_band(photo: np.ndarray, render: np.ndarray, alpha: np.ndarray, levels: int | None = None) -> np.ndarray:
    """Fill the band by a Laplacian-pyramid blend of photo and render weighted by a Gaussian pyramid of alpha.

    Coarse levels spread beyond the band; outside it the photo and inside it the render are put back
    exactly, so ``levels`` defaults to what the band's width holds (each level doubles the reach).
    """
    band = band_of(alpha)
    if not band.any():
        return _alpha_blend(photo, render, alpha)
    width = max(float(2 * np.abs(signed_distance(alpha >= 0.5)[band]).max()), 2.0)
    levels = levels if levels is not None else int(np.clip(np.log2(width / 2.0), 1, 6))
    hard = (alpha >= 0.5).astype(np.float32)
    gp_a = [hard]
    lp_photo, lp_render = _laplacian(photo.astype(np.float32), levels), _laplacian(render.astype(np.float32), levels)
    for _ in range(levels):
        gp_a.append(cv2.pyrDown(gp_a[-1]))
    blended = [
        lp_r * a[..., None] + lp_p * (1.0 - a[..., None])
        for lp_p, lp_r, a in zip(lp_photo, lp_render, gp_a, strict=False)
    ]
    image = blended[-1]
    for level in reversed(blended[:-1]):
        image = cv2.pyrUp(image, dstsize=(level.shape[1], level.shape[0])) + level
    out = _alpha_blend(photo, render, alpha)
    out[band] = np.clip(image[band].round(), 0, 255).astype(np.uint8)
    return out


def _laplacian(image: np.ndarray, levels: int) -> list[np.ndarray]:
    pyramid, current = [], image
    for _ in range(levels):
        down = cv2.pyrDown(current)
        pyramid.append(current - cv2.pyrUp(down, dstsize=(current.shape[1], current.shape[0])))
        current = down
    pyramid.append(current)
    return pyramid


# -- the composite ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Composite:
    """A composite and what made it: ``image`` (H, W, 3) uint8 at the photo's size, the ``alpha`` used,
    the ``render`` upsampled (and harmonised) that was put in, and the grown ``mask``."""

    image: np.ndarray
    alpha: np.ndarray
    render: np.ndarray
    mask: np.ndarray


def composite(
    photo: np.ndarray, render: np.ndarray, mask: np.ndarray, settings: CompositeSettings | None = None
) -> Composite:
    """Put ``render`` (any size) onto ``photo`` (H, W, 3) uint8 where the grown edit ``mask`` (H, W) bool says.

    ``off`` returns the render upsampled to the photo's size everywhere (alpha 1).
    """
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise ValueError(f"photo must be (H, W, 3) uint8, got {photo.shape} {photo.dtype}")
    if mask.shape != photo.shape[:2]:
        raise ValueError(
            f"edit mask is {mask.shape[1]}x{mask.shape[0]} but the photo is {photo.shape[1]}x{photo.shape[0]}"
        )
    settings = settings or CompositeSettings()
    size = (photo.shape[1], photo.shape[0])
    up = upsample_render(render, size)
    if settings.mode == "off":
        return Composite(up, np.ones(mask.shape, np.float32), up, np.ones_like(mask))
    ring = max(settings.band, 8)
    window = _work_window(mask, margin=settings.band + ring + 4)
    if window is None:  # nothing edited: the photo itself
        return Composite(photo.copy(), np.zeros(mask.shape, np.float32), up, mask)
    # Everything happens in the window around the mask; the photo outside it is copied untouched.
    photo_w, mask_w, up_w = photo[window], mask[window], up[window]
    if settings.harmonize:
        up_w = harmonize_colours(up_w, photo_w, mask_w, ring=ring)
        up = up.copy()
        up[window] = up_w
    alpha_w = feather_alpha(mask_w, settings.band)
    if settings.mode == "seamless":
        image_w = poisson_band(photo_w, up_w, alpha_w)
    elif settings.mode == "pyramid":
        image_w = pyramid_band(photo_w, up_w, alpha_w)
    else:
        image_w = _alpha_blend(photo_w, up_w, alpha_w)
    image, alpha = photo.copy(), np.zeros(mask.shape, np.float32)
    image[window], alpha[window] = image_w, alpha_w
    return Composite(image, alpha, up, mask)


def _work_window(mask: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """The bounding box of ``mask`` grown by ``margin`` pixels (clipped), or None for an empty mask."""
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    if rows.size == 0:
        return None
    top, bottom = max(rows[0] - margin, 0), min(rows[-1] + margin + 1, mask.shape[0])
    left, right = max(cols[0] - margin, 0), min(cols[-1] + margin + 1, mask.shape[1])
    return slice(int(top), int(bottom)), slice(int(left), int(right))
