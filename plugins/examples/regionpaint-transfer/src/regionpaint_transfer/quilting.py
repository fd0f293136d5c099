"""Image quilting (Efros & Freeman, SIGGRAPH 2001): a region's texture from patches of a source region.

Patches of ``patch`` x ``patch`` pixels are laid on a grid with ``overlap`` pixels shared between
neighbours. At each grid cell a few candidate patches from inside the source region are compared with
what is already painted in the overlap; one of the best is taken and joined along the minimum-error
boundary cut, so seams follow the texture instead of a straight line.

With ``layout`` the candidates come from the same relative place of the source region (the top of the
hair from the top of the source's hair), so shading and structure carry over, not only the texture.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Candidate top-left corners kept per source region (sampled when more). Neighbouring corners give
# nearly the same patch, so a sample loses little; the layout search scans all of them at every cell.
MAX_POSITIONS = 8_000
TOLERANCE = 0.1  # with noise on, any candidate within 10 % of the best overlap error may be taken


def patch_positions(mask: np.ndarray, patch: int) -> np.ndarray:
    """(N, 2) top-left corners (y, x) of ``patch``-sized windows lying inside ``mask`` (mostly, if none fully)."""
    import cv2

    h, w = mask.shape
    if h < patch or w < patch:
        return np.zeros((0, 2), dtype=np.int64)
    ii = cv2.integral(mask.astype(np.uint8))
    inside = ii[patch:, patch:] - ii[:-patch, patch:] - ii[patch:, :-patch] + ii[:-patch, :-patch]
    for share in (1.0, 0.75, 0.5):  # thin regions: accept windows that are mostly inside
        found = np.argwhere(inside >= share * patch * patch)
        if len(found):
            return found
    return np.zeros((0, 2), dtype=np.int64)


def _relative(points: np.ndarray) -> np.ndarray:
    """(N, 2) points as fractions of their bounding box (0..1 on each axis)."""
    low, high = points.min(0), points.max(0)
    return (points - low) / np.maximum(high - low, 1.0)


def _min_cut(error: np.ndarray) -> np.ndarray:
    """Per row of ``error`` (rows, width), the column where the cheapest top-to-bottom seam passes."""
    cost = error.copy()
    rows, width = cost.shape
    for i in range(1, rows):
        prev = cost[i - 1]
        left = np.concatenate(([np.inf], prev[:-1]))
        right = np.concatenate((prev[1:], [np.inf]))
        cost[i] += np.minimum(np.minimum(left, prev), right)
    seam = np.empty(rows, dtype=np.int64)
    seam[-1] = int(np.argmin(cost[-1]))
    for i in range(rows - 2, -1, -1):
        j = seam[i + 1]
        lo, hi = max(j - 1, 0), min(j + 2, width)
        seam[i] = lo + int(np.argmin(cost[i, lo:hi]))
    return seam


def _new_pixels(patch: np.ndarray, existing: np.ndarray, filled: np.ndarray, overlap: int) -> np.ndarray:
    """Which pixels of ``patch`` replace ``existing``: everything unpainted, and what lies past the seams."""
    size = patch.shape[0]
    take = np.ones((size, size), dtype=bool)
    error = ((patch - existing) ** 2).sum(-1)
    if overlap > 0 and filled[:, :overlap].any():  # seam through the left overlap
        seam = _min_cut(error[:, :overlap])
        take &= np.arange(size)[None, :] >= seam[:, None]
    if overlap > 0 and filled[:overlap, :].any():  # seam through the top overlap
        seam = _min_cut(error[:overlap, :].T)
        take &= np.arange(size)[:, None] >= seam[None, :]
    return take | ~filled


def quilt(
    source: np.ndarray,
    positions: np.ndarray,
    target_mask: np.ndarray,
    patch: int,
    overlap: int,
    candidates: int,
    rng: np.random.Generator | None,
    layout: bool = True,
) -> np.ndarray:
    """Texture for ``target_mask`` (h, w) from ``source`` (H, W, 3) float32 patches at ``positions``.

    ``rng`` None: deterministic (the best of an evenly spread set of candidates at each cell).
    Returns (h, w, 3) float32; only pixels under ``target_mask`` are meaningful.
    """
    h, w = target_mask.shape
    step = max(1, patch - overlap)
    canvas = np.zeros((h + patch, w + patch, 3), dtype=np.float32)
    filled = np.zeros((h + patch, w + patch), dtype=bool)
    windows = sliding_window_view(source, (patch, patch, 3))[:, :, 0]  # (H-p+1, W-p+1, p, p, 3), no copy
    if len(positions) > MAX_POSITIONS:
        picker = rng if rng is not None else np.random.default_rng(0)
        positions = positions[picker.choice(len(positions), MAX_POSITIONS, replace=False)]
    count = len(positions)
    k = min(candidates, count)
    pool = min(count, max(4 * k, 32))  # nearest positions a layout-following candidate is drawn from
    relative = _relative(positions.astype(np.float32) + patch / 2)
    cell = 0
    for y in range(0, h, step):
        for x in range(0, w, step):
            if not target_mask[y : y + patch, x : x + patch].any():
                continue
            if layout:
                where = np.array([(y + patch / 2) / max(h, 1), (x + patch / 2) / max(w, 1)], np.float32)
                nearest = np.argpartition(((relative - where) ** 2).sum(1), pool - 1)[:pool]
                picked = rng.choice(pool, k, replace=False) if rng is not None else np.arange(k) * (pool // k)
                chosen = positions[nearest[picked]]
            elif rng is not None:
                chosen = positions[rng.choice(count, k, replace=False)]
            else:  # spread over the list, shifted per cell so neighbours differ
                chosen = positions[(np.arange(k) * (count // k) + cell * 7919) % count]
            cell += 1
            stack = windows[chosen[:, 0], chosen[:, 1]]  # (k, p, p, 3)
            existing = canvas[y : y + patch, x : x + patch]
            done = filled[y : y + patch, x : x + patch]
            errors = (((stack - existing[None]) ** 2).sum(-1) * done[None]).reshape(k, -1).sum(1)
            if rng is not None:
                good = np.flatnonzero(errors <= errors.min() * (1 + TOLERANCE) + 1e-6)
                best = int(rng.choice(good))
            else:
                best = int(np.argmin(errors))
            new = stack[best]
            take = _new_pixels(new, existing, done, overlap)
            existing[take] = new[take]
            done[:] = True
    return canvas[:h, :w]
