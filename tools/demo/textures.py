"""Noise, texture and shading helpers shared by the procedural face and street generators.

Every helper is vectorised numpy/OpenCV and deterministic given its ``np.random.Generator``. Fields are
``float32`` arrays of shape ``(H, W)`` (scalars per pixel) or ``(H, W, 3)`` (linear-ish RGB in 0..255);
:func:`to_uint8` turns a finished photo into bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

RGB = tuple[int, int, int]
Shape = tuple[int, int]  # (H, W)


# ---------------------------------------------------------------- random generators


def as_rng(seed_or_rng: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed (or the Generator itself)."""
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    return np.random.default_rng(seed_or_rng)


def region_rng(base: int, *keys: int) -> np.random.Generator:
    """An independent Generator for one region (``keys``: class id, instance number, ...).

    Each region draws from its own stream so that painting one region never shifts the random numbers of
    another: changing one region's style then changes only that region's pixels.
    """
    return np.random.default_rng([int(base), *(int(k) for k in keys)])


def jitter_rgb(rng: np.random.Generator, rgb: Sequence[float], amount: float) -> RGB:
    """``rgb`` with each channel moved by up to ``amount`` (same shift plus a smaller per-channel one)."""
    shift = rng.uniform(-amount, amount) + rng.uniform(-amount / 3, amount / 3, size=3)
    return tuple(int(v) for v in np.clip(np.asarray(rgb, np.float64) + shift, 0, 255))  # type: ignore[return-value]


def mix_rgb(a: Sequence[float], b: Sequence[float], t: float) -> RGB:
    """Linear blend ``a * (1 - t) + b * t`` of two colours, rounded to ints."""
    out = np.asarray(a, np.float64) * (1 - t) + np.asarray(b, np.float64) * t
    return tuple(int(round(v)) for v in np.clip(out, 0, 255))  # type: ignore[return-value]


def scale_rgb(rgb: Sequence[float], factor: float) -> RGB:
    """``rgb`` times ``factor`` (darker below 1), clipped to 0..255."""
    return tuple(int(round(v)) for v in np.clip(np.asarray(rgb, np.float64) * factor, 0, 255))  # type: ignore[return-value]


# ---------------------------------------------------------------- noise


def value_noise(rng: np.random.Generator, shape: Shape, cell: float, octaves: int = 1) -> np.ndarray:
    """Smooth noise: (H, W) float32, roughly zero mean and unit std.

    ``cell`` is the feature size in pixels of the coarsest octave; each further octave halves it and
    weighs half as much. Made by upsampling a small random grid with bicubic interpolation.
    """
    h, w = shape
    total = np.zeros(shape, np.float32)
    weight_sum = 0.0
    for octave in range(octaves):
        size = max(cell / (2**octave), 1.0)
        # One grid point per cell plus one, stretched straight to (w, h): the cells come out within a
        # pixel or so of ``size`` and no pixels are computed only to be cropped away.
        gh, gw = int(math.ceil(h / size)) + 1, int(math.ceil(w / size)) + 1
        grid = rng.standard_normal((gh, gw), dtype=np.float32)
        total += np.float32(0.5**octave) * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        weight_sum += 0.25**octave
    return total / np.float32(math.sqrt(weight_sum))


def fine_noise(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Per-pixel grain: (H, W) float32 standard normal (sensor noise, skin pores, asphalt grit)."""
    return rng.standard_normal(shape, dtype=np.float32)


def streak_noise(rng: np.random.Generator, shape: Shape, angle_deg: float, length: int) -> np.ndarray:
    """Noise smeared along one direction (fibres, folds, brow hairs): (H, W) float32, unit std.

    ``angle_deg`` is measured from the x axis, image y pointing down; ``length`` is the streak length in px.
    """
    length = max(int(length) | 1, 3)
    kernel = np.zeros((length, length), np.float32)
    c = length // 2
    dx, dy = math.cos(math.radians(angle_deg)) * c, math.sin(math.radians(angle_deg)) * c
    cv2.line(kernel, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1.0, 1)
    kernel /= kernel.sum()
    smeared = cv2.filter2D(fine_noise(rng, shape), -1, kernel, borderType=cv2.BORDER_REFLECT)
    return smeared / np.float32(max(float(smeared.std()), 1e-6))


def radial_strands(
    rng: np.random.Generator,
    shape: Shape,
    center: tuple[float, float],
    strands: int = 300,
    stretch: float = 40.0,
    origin: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """Hair strands radiating from ``center`` (x, y): (H, W) float32, unit std.

    Noise that varies fast across the angle around ``center`` and slowly along the radius, looked up per
    pixel in polar coordinates with one ``cv2.remap``; ``strands`` strands go round the full circle and
    each keeps its brightness over about ``stretch`` pixels of radius. ``center`` is in image pixels and
    ``origin`` (y, x) places the (H, W) window in the image.
    """
    h, w = shape
    rings = int(math.hypot(h + abs(origin[0] - center[1]), w + abs(origin[1] - center[0])) / stretch) + 4
    table = rng.standard_normal((rings, strands), dtype=np.float32)
    table = np.concatenate([table, table[:, :1]], axis=1)  # wrap around 2*pi without a seam
    ys, xs = coordinates(shape, origin)
    angle = np.arctan2(ys - center[1], xs - center[0])
    radius = np.hypot(ys - center[1], xs - center[0])
    map_x = ((angle + np.pi) / (2 * np.pi) * strands).astype(np.float32)
    map_y = (radius / stretch).astype(np.float32)
    out = cv2.remap(table, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out / np.float32(max(float(out.std()), 1e-6))


# ---------------------------------------------------------------- patterns and gradients


def coordinates(shape: Shape, origin: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates ``(ys, xs)``, each (H, W) float32, of a window whose top-left pixel is ``origin`` (y, x)."""
    h, w = shape
    ys = np.arange(origin[0], origin[0] + h, dtype=np.float32)[:, None]
    xs = np.arange(origin[1], origin[1] + w, dtype=np.float32)[None, :]
    return np.broadcast_to(ys, shape), np.broadcast_to(xs, shape)


def linear_gradient(shape: Shape, angle_deg: float) -> np.ndarray:
    """Ramp from -1 to 1 across the image along ``angle_deg`` (0 = left to right): (H, W) float32."""
    h, w = shape
    ys, xs = coordinates(shape)
    cos, sin = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    ramp = (xs / max(w - 1, 1) - 0.5) * cos + (ys / max(h - 1, 1) - 0.5) * sin
    return ramp * np.float32(2.0 / max(abs(cos) + abs(sin), 1e-6))  # the corners reach -1 and 1


def stripes(
    shape: Shape, period: float, angle_deg: float, phase: float = 0.0, origin: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """Anti-aliased stripes, 1 on half of each ``period`` px and 0 on the other: (H, W) float32.

    ``angle_deg`` is the direction across the stripes; ``origin`` places a cropped window in the image so
    that stripes continue across windows.
    """
    ys, xs = coordinates(shape, origin)
    t = xs * math.cos(math.radians(angle_deg)) + ys * math.sin(math.radians(angle_deg))
    wave = np.sin((t / period + phase) * 2 * np.pi)
    # Steepen the sine so each edge ramps over about one pixel (anti-aliased but crisp).
    return np.clip(0.5 + wave * (period / (2 * np.pi)), 0, 1).astype(np.float32)


# ---------------------------------------------------------------- shading from a mask


def inside_distance(mask: np.ndarray) -> np.ndarray:
    """Distance in px from each pixel of ``mask`` (H, W) bool to the nearest pixel outside it: float32."""
    padded = np.pad(mask.astype(np.uint8), 1)  # the image border counts as outside
    return cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]


def edge_shade(distance: np.ndarray, width: float, strength: float) -> np.ndarray:
    """Multiplicative darkening near a region's border: (H, W) float32, ``1 - strength`` at the edge, 1 inside.

    Rounded objects catch less light where their surface turns away; ``width`` (px) sets how far it reaches.
    """
    return 1.0 - np.float32(strength) * np.exp(-distance / np.float32(max(width, 1e-3)))


def mean_one(factor: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``factor`` (h, w) divided by its mean over ``mask``, so shading moves pixels but not the region's mean.

    This keeps the mean colour of a painted region at its style colour, which is what makes the style
    parameters meaningful (and testable).
    """
    mean = float(factor[mask].mean()) if mask.any() else 1.0
    return factor / np.float32(max(mean, 1e-6))


def mask_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of the True pixels of ``mask`` (end exclusive), or None if it is empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def colour_field(rgb: Sequence[float], factor: np.ndarray) -> np.ndarray:
    """``rgb`` times a per-pixel ``factor`` (H, W): (H, W, 3) float32."""
    return factor[..., None] * np.asarray(rgb, np.float32)


def blend(a: np.ndarray, b: np.ndarray | Sequence[float], t: np.ndarray) -> np.ndarray:
    """``a * (1 - t) + b * t`` with ``a`` (H, W, 3), ``b`` (H, W, 3) or an RGB colour, ``t`` (H, W) in 0..1."""
    b_arr = np.asarray(b, np.float32)
    return a + (b_arr - a) * t[..., None]


def paint_region(photo: np.ndarray, mask: np.ndarray, margin: int, canvas, painter) -> None:
    """Paint one region into ``photo`` (H, W, 3) float32 in place.

    ``painter(canvas.window(y0, y1, x0, x1), part)`` paints the region's bounding box grown by ``margin``
    (room for shadows cast onto neighbours); only the pixels of ``mask`` are pasted.
    """
    box = mask_bbox(mask)
    if box is None:
        return
    y0, y1 = max(box[0] - margin, 0), min(box[1] + margin, mask.shape[0])
    x0, x1 = max(box[2] - margin, 0), min(box[3] + margin, mask.shape[1])
    part = mask[y0:y1, x0:x1]
    paste(photo[y0:y1, x0:x1], painter(canvas.window(y0, y1, x0, x1), part), part)


def paste(dst: np.ndarray, src: np.ndarray, mask: np.ndarray) -> None:
    """Copy ``src`` (h, w, 3) into ``dst`` (h, w, 3) float32, a view is fine, where ``mask`` (h, w) bool is set.

    ``cv2.copyTo`` does this many times faster than numpy's masked assignment.
    """
    src = np.ascontiguousarray(src, dtype=np.float32)
    out = cv2.copyTo(src, np.ascontiguousarray(mask, dtype=np.uint8), dst)
    if out is not dst:  # OpenCV reallocated (it should not, with matching shape and type): copy the slow way
        dst[mask] = src[mask]


def to_uint8(photo: np.ndarray) -> np.ndarray:
    """Round and clip a float (H, W, 3) photo to uint8."""
    return np.clip(np.rint(photo), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- polygons


def ellipse_points(
    cx: float, cy: float, ax: float, ay: float, start: float = 0, stop: float = 360, n: int = 64
) -> np.ndarray:
    """(n, 2) float points of an ellipse arc, angles in degrees (0 = +x, 90 = +y i.e. down)."""
    t = np.radians(np.linspace(start, stop, n, endpoint=stop - start < 360))
    return np.stack([cx + ax * np.cos(t), cy + ay * np.sin(t)], axis=1)


_SHIFT = 4  # sub-pixel bits for cv2 drawing: shapes land between pixels instead of snapping to them


def fill_polygon(
    target: np.ndarray, points: np.ndarray | Sequence[np.ndarray], value: int, offset: tuple[float, float] = (0, 0)
) -> None:
    """Fill one polygon, or the union of several, of float (x, y) pixel points into ``target`` with ``value``.

    ``offset`` (x, y) is subtracted from the points first (to draw into a window of a larger image).
    """
    polys = [points] if isinstance(points, np.ndarray) else list(points)
    for poly in polys:  # one call each: fillPoly's even-odd rule would cut the overlaps out of a union
        fixed = np.round((np.asarray(poly, np.float64) - offset) * (1 << _SHIFT)).astype(np.int32)
        cv2.fillPoly(target, [fixed], int(value), lineType=cv2.LINE_8, shift=_SHIFT)


def draw_polyline(target: np.ndarray, points: np.ndarray, value: int, thickness: float) -> None:
    """Draw an open thick polyline of float (x, y) points into ``target``."""
    fixed = np.round(np.asarray(points, np.float64) * (1 << _SHIFT)).astype(np.int32)
    cv2.polylines(
        target, [fixed], False, int(value), thickness=max(int(round(thickness)), 1), lineType=cv2.LINE_8, shift=_SHIFT
    )


def draw_ring(target: np.ndarray, cx: float, cy: float, radius: float, thickness: float, value: int) -> None:
    """Draw a circle outline (a wheel) centred at float pixel (cx, cy) into ``target``."""
    centre = (int(round(cx * (1 << _SHIFT))), int(round(cy * (1 << _SHIFT))))
    cv2.circle(
        target,
        centre,
        int(round(radius * (1 << _SHIFT))),
        int(value),
        max(int(round(thickness)), 1),
        cv2.LINE_8,
        _SHIFT,
    )
