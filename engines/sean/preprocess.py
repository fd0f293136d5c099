"""The official SPADE/SEAN data transforms (``data/base_dataset.py``), numpy + PIL only.

Label and instance maps go through PIL NEAREST, photos through PIL BICUBIC, with the same
``preprocess_mode`` logic as ``get_params`` / ``get_transform``. One deliberate difference: the crop
position is always (0, 0). The official ``get_params`` draws it with ``random.randint`` (it only matters
when the resized map is larger than ``crop_size``); a renderer must be deterministic.
"""

from __future__ import annotations

import numpy as np

from regionpaint.engines.base import InputError
from regionpaint.engines.inputs import id_map, rgb_image
from regionpaint.engines.layers import imageops
from regionpaint.engines.sean.config import SeanConfig


def _crop_zero_padded(array: np.ndarray, size: int) -> np.ndarray:
    """PIL ``crop((0, 0, size, size))``: areas outside the image come back as zeros."""
    h, w = array.shape[:2]
    if h >= size and w >= size:
        return imageops.crop(array, 0, 0, size, size)
    out = np.zeros((size, size) + array.shape[2:], dtype=array.dtype)
    out[: min(h, size), : min(w, size)] = array[:size, :size]
    return out


def _resize_size(width: int, height: int, config: SeanConfig) -> tuple[int, int] | None:
    """(W, H) of the official resize/scale step for an input of (width, height), None for no resize."""
    mode, load = config.preprocess_mode, config.load_size
    if "resize" in mode:
        return load, load
    if "scale_width" in mode:
        return imageops.scale_width_size(width, height, load)
    if "scale_shortside" in mode:
        short, long = min(width, height), max(width, height)
        if short == load:
            return width, height
        long = int(load * long / short)
        return (short, long) if width == short else (long, short)  # the official code keeps `short` here
    if mode == "fixed":
        return config.crop_size, round(config.crop_size / config.aspect_ratio)
    if mode == "none":
        return int(round(width / 32) * 32), int(round(height / 32) * 32)  # __make_power_2, base 32
    raise InputError(f"unknown preprocess_mode {mode!r} in the checkpoint options")


def transform(array: np.ndarray, config: SeanConfig, size: tuple[int, int] | None = None) -> np.ndarray:
    """Official preprocessing of an (H, W) id map (NEAREST) or (H, W, 3) photo (BICUBIC).

    ``size`` = (W, H) replaces the official steps by one resize to that size (renders at a custom size).
    """
    if size is not None:
        return imageops.resize(array, size)
    h, w = array.shape[:2]
    target = _resize_size(w, h, config)
    if target is not None:
        array = imageops.resize(array, target)
    if "crop" in config.preprocess_mode:
        array = _crop_zero_padded(array, config.crop_size)
    return array


def as_rgb(image: np.ndarray, what: str) -> np.ndarray:
    """(H, W, 3) uint8 from RGB, RGBA or grey input (engines/inputs.py)."""
    return rgb_image(image, what)


def as_ids(array: np.ndarray, what: str) -> np.ndarray:
    """(H, W) non-negative integer id map; uint8 where the ids fit (wider types kept for ids > 255)."""
    array = id_map(array, what)
    if array.dtype != np.uint8 and int(array.max(initial=0)) <= 255:
        array = array.astype(np.uint8)
    return array
