"""pix2pixHD's own ``--resize_or_crop`` pipelines (``data/base_dataset.py``), torch-free.

Official ``get_transform`` steps, in order:

1. ``'resize' in mode`` (``resize_and_crop``): resize to ``loadSize x loadSize``;
   else ``'scale_width' in mode`` (``scale_width``, ``scale_width_and_crop``): width ``loadSize``,
   height ``int(loadSize * h / w)`` (unchanged when the width already is ``loadSize``).
2. ``'crop' in mode``: a ``fineSize`` square at ``get_params``' random position, only when the image is
   larger than it in some direction (PIL's crop pads with zeros outside the image).
3. ``mode == 'none'``: ``__make_power_2``: each side rounded (Python ``round``, half to even) to a
   multiple of ``base = 2**n_downsample_global`` (``* 2**n_local_enhancers`` for ``netG local``),
   resized only if that changes the size.

Label and instance maps use NEAREST, photos BICUBIC. No flip at test time. Unknown modes do nothing
(as the official, which simply matches none of the steps).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from regionpaint.engines.layers.imageops import resize_bicubic, resize_nearest, scale_width_size
from regionpaint.engines.loading.options import opt_int, opt_str

Resize = Callable[[np.ndarray, tuple[int, int]], np.ndarray]


@dataclass(frozen=True)
class Preprocessing:
    resize_or_crop: str = "scale_width"
    load_size: int = 1024
    fine_size: int = 512
    base: int = 16  # __make_power_2 base

    @classmethod
    def from_opt(cls, opt: Mapping[str, str], base: int, default_mode: str = "scale_width") -> Preprocessing:
        """Options from opt.txt; where absent the official defaults (loadSize 1024, fineSize 512) and
        ``default_mode`` (the loader passes ``none`` for netG local, as the official test_1024p.sh)."""
        return cls(
            resize_or_crop=opt_str(opt, "resize_or_crop", default_mode) or default_mode,
            load_size=opt_int(opt, "loadSize", 1024),
            fine_size=opt_int(opt, "fineSize", 512),
            base=base,
        )

    @property
    def crops(self) -> bool:
        return "crop" in self.resize_or_crop

    def crop_position(self, size_wh: tuple[int, int], seed: int | None) -> tuple[int, int]:
        """The official ``get_params`` crop position, drawn from ``random.Random(seed or 0)``.

        The official draws from the global ``random`` without seeding; a seed makes it reproducible
        (same values as the official after ``random.seed(seed)``).
        """
        if not self.crops:
            return 0, 0
        w, h = size_wh
        new_w, new_h = w, h
        if self.resize_or_crop == "resize_and_crop":
            new_w = new_h = self.load_size
        elif self.resize_or_crop == "scale_width_and_crop":
            new_w, new_h = self.load_size, self.load_size * h // w
        rng = random.Random(0 if seed is None else seed)
        x = rng.randint(0, max(0, new_w - self.fine_size))
        y = rng.randint(0, max(0, new_h - self.fine_size))
        return x, y

    def _apply(self, array: np.ndarray, resize: Resize, crop_pos: tuple[int, int]) -> np.ndarray:
        mode = self.resize_or_crop
        if "resize" in mode:
            array = resize(array, (self.load_size, self.load_size))
        elif "scale_width" in mode:
            array = resize(array, scale_width_size(array.shape[1], array.shape[0], self.load_size))
        if "crop" in mode:
            array = padded_crop(array, crop_pos, self.fine_size)
        if mode == "none":
            array = make_power_2(array, self.base, resize)
        return array

    def ids(self, array: np.ndarray, crop_pos: tuple[int, int] = (0, 0)) -> np.ndarray:
        """(H, W) label or instance ids -> network size, NEAREST."""
        return self._apply(array, resize_nearest, crop_pos)

    def photo(self, image: np.ndarray, crop_pos: tuple[int, int] = (0, 0)) -> np.ndarray:
        """(H, W, 3) uint8 photo -> network size, BICUBIC."""
        return self._apply(image, resize_bicubic, crop_pos)

    def output_size(self, size_wh: tuple[int, int]) -> tuple[int, int]:
        """(W, H) after the pipeline for an input of (W, H)."""
        w, h = size_wh
        mode = self.resize_or_crop
        if "resize" in mode:
            w = h = self.load_size
        elif "scale_width" in mode:
            w, h = scale_width_size(w, h, self.load_size)
        if "crop" in mode and (w > self.fine_size or h > self.fine_size):
            w = h = self.fine_size
        if mode == "none":
            w, h = power_2_size((w, h), self.base)
        return w, h


def padded_crop(array: np.ndarray, pos: tuple[int, int], size: int) -> np.ndarray:
    """Official ``__crop``: a ``size`` square at ``pos`` if the image exceeds it; zeros outside (PIL)."""
    h, w = array.shape[:2]
    if not (w > size or h > size):
        return array
    x, y = pos
    out = np.zeros((size, size, *array.shape[2:]), dtype=array.dtype)
    src = array[y : y + size, x : x + size]
    out[: src.shape[0], : src.shape[1]] = src
    return out


def power_2_size(size_wh: tuple[int, int], base: int) -> tuple[int, int]:
    w, h = size_wh
    return int(round(w / base) * base), int(round(h / base) * base)


def make_power_2(array: np.ndarray, base: int, resize: Resize) -> np.ndarray:
    """Official ``__make_power_2``: round both sides to multiples of ``base`` (resize only if needed)."""
    size = power_2_size((array.shape[1], array.shape[0]), base)
    if size == (array.shape[1], array.shape[0]):
        return array
    return resize(array, size)
