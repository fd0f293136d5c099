"""Photo and label map of different shapes: crop or pad the photo to the map's aspect ratio before scaling.

Scaling a 2048×1024 photo onto a 512×512 map would squash it; a new document refuses that unless the
person chose to crop or pad (training refuses such pairs too).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .document import SizeMismatchError

AspectFit = Literal["refuse", "crop", "pad"]
ASPECT_FITS: tuple[AspectFit, ...] = ("refuse", "crop", "pad")
#: Aspect ratios closer than this (relative) count as the same: 1 pixel of rounding on a 512 map.
ASPECT_TOLERANCE = 0.01


def same_aspect(size_a: tuple[int, int], size_b: tuple[int, int]) -> bool:
    """True when (W, H) sizes ``size_a`` and ``size_b`` have the same aspect ratio (within 1 %)."""
    ratio_a, ratio_b = size_a[0] / size_a[1], size_b[0] / size_b[1]
    return abs(ratio_a / ratio_b - 1) <= ASPECT_TOLERANCE


def fit_aspect(array: np.ndarray, target: tuple[int, int], how: AspectFit, what: str = "photo") -> np.ndarray:
    """``array`` (H, W[, C]) centre-cropped or zero-padded to the aspect ratio of ``target`` (W, H).

    ``how="refuse"`` raises :class:`SizeMismatchError` when the aspect ratios differ. The result still has
    to be scaled to ``target``; only its shape's proportions change.
    """
    height, width = array.shape[:2]
    if same_aspect((width, height), target):
        return array
    if how == "refuse":
        raise SizeMismatchError(
            f"{what} is {width}×{height} but the label map is {target[0]}×{target[1]}: a different aspect ratio, "
            "so scaling would squash it. Choose crop or pad, or use a label map of the photo's shape"
        )
    want = target[0] / target[1]
    if how == "crop":
        new_w, new_h = (round(height * want), height) if width / height > want else (width, round(width / want))
        top, left = (height - new_h) // 2, (width - new_w) // 2
        return array[top : top + new_h, left : left + new_w]
    new_w, new_h = (width, round(width / want)) if width / height > want else (round(height * want), height)
    padded = np.zeros((new_h, new_w, *array.shape[2:]), array.dtype)
    top, left = (new_h - height) // 2, (new_w - width) // 2
    padded[top : top + height, left : left + width] = array
    return padded
