"""Resizing and cropping with the exact PIL semantics the official data loaders use.

The official datasets resize label and instance maps with ``PIL.Image.NEAREST`` (centre sampling,
not torch's legacy nearest) and photos with ``PIL.Image.BICUBIC``; torch-free so the document model
and the CLI can preview network-size maps without loading torch.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def _to_pil(array: np.ndarray) -> Image.Image:
    if array.ndim == 3:
        return Image.fromarray(np.ascontiguousarray(array.astype(np.uint8)), "RGB")
    if array.dtype == np.uint8:
        return Image.fromarray(array, "L")
    # Instance ids above 255: mode "I" (int32) resizes with NEAREST exactly like the official I;16 path.
    return Image.fromarray(np.ascontiguousarray(array.astype(np.int32)), "I")


def _from_pil(image: Image.Image, like: np.ndarray) -> np.ndarray:
    out = np.asarray(image)
    return out.astype(like.dtype, copy=False) if like.ndim == 2 else out


def resize_nearest(array: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """Resize an (H, W) id map to ``size_wh`` = (W, H) with PIL NEAREST; dtype is kept."""
    if (array.shape[1], array.shape[0]) == tuple(size_wh):
        return array.copy()
    return _from_pil(_to_pil(array).resize(tuple(size_wh), Image.NEAREST), array)


def resize_bicubic(image: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """Resize an (H, W, 3) uint8 RGB image to (W, H) with PIL BICUBIC."""
    if (image.shape[1], image.shape[0]) == tuple(size_wh):
        return image.copy()
    return np.asarray(_to_pil(image).resize(tuple(size_wh), Image.BICUBIC))


def resize(array: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """Nearest for id maps (2-D), bicubic for RGB photos (3-D), as the official loaders do."""
    return resize_bicubic(array, size_wh) if array.ndim == 3 else resize_nearest(array, size_wh)


def crop(array: np.ndarray, x: int, y: int, width: int, height: int) -> np.ndarray:
    """PIL ``crop((x, y, x+width, y+height))`` restricted to the official use (crop inside the image)."""
    return array[y : y + height, x : x + width].copy()


def scale_width_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """The official ``__scale_width``: (W, H) = (target, int(target * h / w)); unchanged if already there."""
    if width == target_width:
        return width, height
    return target_width, int(target_width * height / width)
