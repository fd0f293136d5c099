"""Checking render inputs once for every engine: id maps, RGB images, label ids against a checkpoint.

Torch-free. Errors are :class:`regionpaint.engines.base.InputError` messages that say what is wrong and what fits.
"""

from __future__ import annotations

import numpy as np

from regionpaint.engines.base import InputError

DONTCARE_ID = 255  # the official "unknown" id; with a don't-care channel it renders as label_nc
_MAX_LISTED = 10


def id_map(array: object, what: str, negative_ok: bool = False) -> np.ndarray:
    """An (H, W) non-negative integer id map (an (H, W, 1) array is squeezed); InputError otherwise.

    ``negative_ok`` leaves negative ids to :func:`check_label_ids`, which names them with the valid range."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim != 2 or array.dtype.kind not in "iub":
        raise InputError(f"{what} must be an (H, W) integer id map, got {array.dtype} {array.shape}")
    if array.size == 0:
        raise InputError(f"{what} is empty ({array.shape[1]}x{array.shape[0]} pixels)")
    if not negative_ok and array.size and array.dtype.kind == "i" and int(array.min()) < 0:
        raise InputError(f"{what} has negative ids")
    return array


def rgb_image(image: object, what: str) -> np.ndarray:
    """(H, W, 3) uint8 from RGB, RGBA or grey uint8 input (PIL ``convert('RGB')`` semantics for these)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise InputError(f"{what} must be an (H, W, 3) uint8 RGB image, got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image[:, :, :3])


def check_label_ids(
    label: np.ndarray,
    label_nc: int,
    engine: str,
    *,
    dontcare: bool = False,
    label_set: str | None = None,
    what: str = "label map",
) -> None:
    """Raise InputError naming the ids a checkpoint has no channel for.

    Valid: 0..label_nc-1; with a don't-care channel also 255 (and label_nc itself, which is where the
    official code puts 255).
    """
    if label.size == 0:
        return
    low, high = int(label.min()), int(label.max())
    if low >= 0 and high < label_nc:
        return
    allowed_extra = {DONTCARE_ID, label_nc} if dontcare else set()
    bad = [int(i) for i in np.unique(label) if i < 0 or (i >= label_nc and int(i) not in allowed_extra)]
    if not bad:
        return
    listed = ", ".join(str(i) for i in bad[:_MAX_LISTED]) + (", ..." if len(bad) > _MAX_LISTED else "")
    extra = f", or {DONTCARE_ID} (don't care)" if dontcare else f"; {engine} has no don't-care id"
    named = f"{label_set} " if label_set else ""
    raise InputError(
        f"{what}: label ids {listed} are out of range for this {named}{engine} checkpoint "
        f"(label_nc {label_nc}: ids 0..{label_nc - 1}{extra})"
    )
