"""One orientation rule for a photo and the maps that describe it (label and instance maps).

A camera stores pixels as the sensor saw them and records in EXIF how to turn them for display. regionpaint
shows every photo upright. A map is turned by the same rule, so it lines up with the photo it describes:

1. a map with an orientation of its own (an EXIF ``Orientation`` tag, even 1 = "upright as stored") is turned
   by it;
2. a map without one describes its photo *as the photo is stored*, so whatever turns the photo upright turns
   the map too: a segmenter that ignored EXIF (the official datasets' ``Image.open``) wrote it that way;
3. unless its shape shows it is upright already: it has the upright photo's aspect ratio and not the stored
   one (a segmenter that turned the photo first wrote it that way).

Whenever a map is turned by its photo's orientation (rule 2) the readers say so: a ``regionpaint:`` warning
line on the command line, a notice in the editor. ``regionpaint segment`` tags the maps it writes with
orientation 1, so rule 1 keeps them as they are.

Pure numpy: arrays of any dtype and channel count are turned the way ``PIL.ImageOps.exif_transpose`` turns
an image (the tests check every orientation against it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .aspect import same_aspect

#: The EXIF tag number of Orientation.
ORIENTATION_TAG = 0x0112

#: How each EXIF orientation is made upright, in numpy (rows = y, columns = x), as Pillow's exif_transpose.
_TURNS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # FLIP_LEFT_RIGHT
    3: lambda a: a[::-1, ::-1],  # ROTATE_180
    4: lambda a: a[::-1, :],  # FLIP_TOP_BOTTOM
    5: lambda a: np.swapaxes(a, 0, 1),  # TRANSPOSE
    6: lambda a: np.rot90(a, -1),  # ROTATE_270 (PIL rotates counter-clockwise): 90 degrees clockwise
    7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),  # TRANSVERSE
    8: lambda a: np.rot90(a, 1),  # ROTATE_90: 90 degrees counter-clockwise
}

_WORDS = {
    2: "mirrored left to right",
    3: "turned 180°",
    4: "flipped top to bottom",
    5: "mirrored and turned 90° counter-clockwise",
    6: "turned 90° clockwise",
    7: "mirrored and turned 90° clockwise",
    8: "turned 90° counter-clockwise",
}


def valid(orientation: object) -> int | None:
    """The orientation as an int 1..8, or None for a missing or meaningless value."""
    return orientation if isinstance(orientation, int) and orientation in _TURNS else None


def swaps_axes(orientation: int) -> bool:
    """True when turning upright exchanges width and height (orientations 5 to 8)."""
    return orientation >= 5


def upright(array: np.ndarray, orientation: int) -> np.ndarray:
    """``array`` (H, W[, C]) as stored, turned upright by EXIF ``orientation`` (a contiguous copy unless 1)."""
    if orientation == 1:
        return array
    return np.ascontiguousarray(_TURNS[orientation](array))


def describe(orientation: int) -> str:
    """What turning upright does, in words ("turned 90° clockwise")."""
    return _WORDS.get(orientation, "as stored")


def stored_size(upright_size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """(W, H) as stored in the file, from the upright (W, H)."""
    return (upright_size[1], upright_size[0]) if swaps_axes(orientation) else upright_size


def map_turn(
    photo_orientation: int, photo_upright_size: tuple[int, int], map_size: tuple[int, int], map_own: int | None
) -> tuple[int, bool]:
    """(orientation to turn a map upright by, whether it is the photo's) under the module's rule.

    ``photo_upright_size`` and ``map_size`` are (W, H); ``map_own`` is the map's own EXIF orientation or None.
    """
    if map_own is not None:
        return map_own, False
    if photo_orientation == 1:
        return 1, False
    as_stored = stored_size(photo_upright_size, photo_orientation)
    if same_aspect(map_size, photo_upright_size) and not same_aspect(map_size, as_stored):
        return 1, False  # rule 3: drawn on the upright photo already
    return photo_orientation, True


__all__ = ["ORIENTATION_TAG", "describe", "map_turn", "stored_size", "swaps_axes", "upright", "valid"]
