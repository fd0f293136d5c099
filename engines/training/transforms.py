"""The official training-time preprocessing (``data/base_dataset.py`` of SPADE and pix2pixHD), numpy + PIL.

One random draw per sample (:func:`draw_params`: crop position and flip, official ``get_params``) is applied
to the label (NEAREST), the instance map (NEAREST) and the photo (BICUBIC) alike:

1. ``resize`` in the mode: square ``load_size``; ``scale_width``: width ``load_size``; ``scale_shortside``:
   short side ``load_size``;
2. ``crop`` in the mode: a ``crop_size`` square at the drawn position (SPADE always crops, PIL filling zeros
   outside; pix2pixHD only when the image is larger than the crop);
3. ``none``: sides rounded to a multiple of the base (32 for SPADE, ``2**n_downsample_global`` [x
   ``2**n_local_enhancers``] for pix2pixHD); ``fixed``: resized to ``crop_size x round(crop_size / aspect)``;
4. a horizontal flip unless ``no_flip``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from regionpaint.engines.layers.imageops import resize_bicubic, resize_nearest, scale_width_size


@dataclass(frozen=True)
class Preprocess:
    mode: str
    load_size: int
    crop_size: int
    aspect_ratio: float = 1.0
    flip: bool = True
    power_base: int = 32
    crop_only_if_larger: bool = False  # pix2pixHD's __crop

    def output_size(self, size_wh: tuple[int, int]) -> tuple[int, int]:
        """(W, H) of a sample of (W, H) after the pipeline."""
        w, h = _resized_size(self, size_wh)
        if "crop" in self.mode and (not self.crop_only_if_larger or w > self.crop_size or h > self.crop_size):
            w = h = self.crop_size
        if self.mode == "none":
            w, h = _power_2(w, self.power_base), _power_2(h, self.power_base)
        if self.mode == "fixed":
            w, h = self.crop_size, round(self.crop_size / self.aspect_ratio)
        return w, h


@dataclass(frozen=True)
class Params:
    crop_pos: tuple[int, int]
    flip: bool


def draw_params(pre: Preprocess, size_wh: tuple[int, int], rng: random.Random) -> Params:
    """Official ``get_params``: a crop position inside the resized image and a coin for the flip."""
    w, h = size_wh
    new_w, new_h = w, h
    if pre.mode == "resize_and_crop":
        new_w = new_h = pre.load_size
    elif pre.mode == "scale_width_and_crop":
        new_w, new_h = pre.load_size, pre.load_size * h // w
    elif pre.mode == "scale_shortside_and_crop":
        short, long = min(w, h), max(w, h)
        long = int(pre.load_size * long / short)
        new_w, new_h = (short, long) if w == short else (long, short)  # the official keeps `short` here
    x = rng.randint(0, max(0, new_w - pre.crop_size))
    y = rng.randint(0, max(0, new_h - pre.crop_size))
    return Params((x, y), rng.random() > 0.5)


def _power_2(value: int, base: int) -> int:
    return int(round(value / base) * base)


def _resized_size(pre: Preprocess, size_wh: tuple[int, int]) -> tuple[int, int]:
    w, h = size_wh
    if "resize" in pre.mode:
        return pre.load_size, pre.load_size
    if "scale_width" in pre.mode:
        return scale_width_size(w, h, pre.load_size)
    if "scale_shortside" in pre.mode:
        short, long = min(w, h), max(w, h)
        if short == pre.load_size:
            return w, h
        long = int(pre.load_size * long / short)
        return (short, long) if w == short else (long, short)
    return w, h


def _crop(array: np.ndarray, pos: tuple[int, int], size: int) -> np.ndarray:
    """PIL ``crop((x, y, x + size, y + size))``: zeros where the box leaves the image."""
    x, y = pos
    out = np.zeros((size, size) + array.shape[2:], dtype=array.dtype)
    src = array[y : y + size, x : x + size]
    out[: src.shape[0], : src.shape[1]] = src
    return out


def apply(pre: Preprocess, array: np.ndarray, params: Params, train: bool = True) -> np.ndarray:
    """Run the pipeline on an (H, W) id map (NEAREST) or an (H, W, 3) photo (BICUBIC)."""
    resize = resize_bicubic if array.ndim == 3 else resize_nearest
    h, w = array.shape[:2]
    size = _resized_size(pre, (w, h))
    if size != (w, h):
        array = resize(array, size)
    if "crop" in pre.mode:
        h, w = array.shape[:2]
        if not pre.crop_only_if_larger or w > pre.crop_size or h > pre.crop_size:
            array = _crop(array, params.crop_pos, pre.crop_size)
    if pre.mode == "none":
        h, w = array.shape[:2]
        target = (_power_2(w, pre.power_base), _power_2(h, pre.power_base))
        if target != (w, h):
            array = resize(array, target)
    if pre.mode == "fixed":
        array = resize(array, (pre.crop_size, round(pre.crop_size / pre.aspect_ratio)))
    if train and pre.flip and params.flip:
        array = array[:, ::-1]
    return np.ascontiguousarray(array)
