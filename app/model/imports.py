"""Reading photos, label maps and instance maps from image files, and making a document of them.

Every error is a :class:`ImportFileError` (a ``DocumentError``) whose one-line message starts
with the file it is about.
"""

from __future__ import annotations

import logging
import os
from typing import IO

import numpy as np
from PIL import Image, ImageOps

from regionpaint import limits, untrusted

from .aspect import AspectFit, fit_aspect
from .document import Document, DocumentError
from .edit_mask import start_photo_edit
from .labelsets import LabelIdError, LabelSet, UnknownColorsError, guess_label_set

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

#: PIL modes that hold one integer id per pixel.
INDEX_MODES = ("L", "P", "1", "I", "I;16", "I;16L", "I;16B", "I;16N")
#: PIL modes read as colour-coded label maps.
COLOR_MODES = ("RGB", "RGBA")


#: The most pixels an image may declare; checked from its header before the pixels are decoded, so a
#: small file that claims to be 100 000 x 100 000 is refused instead of allocating tens of gigabytes.
MAX_IMAGE_PIXELS = 100_000_000


class ImportFileError(DocumentError):
    """A file could not be used: unreadable, corrupt, wrong kind, bad ids or colours."""


def open_image(
    path: PathLike | IO[bytes], source: str | None = None, budget: limits.PixelBudget | None = None
) -> Image.Image:
    """Open and fully decode an image file, so that truncation shows up here and not later.

    ``source`` names the file in messages (default: the path). ``budget`` (a project's pixels left to
    decode) is charged with the image's declared size before its pixels are decoded.
    """
    source = source or str(path)
    try:
        # One reader with a format allowlist: nothing a user opens reaches Ghostscript or another program,
        # and a FIFO or device is refused instead of blocking (regionpaint.untrusted).
        image = untrusted.open_image(path, source)
        _check_pixel_count(image, source)
        if budget is not None:
            budget.spend(image.width * image.height, source)
        image.load()
    except (ImportFileError, limits.PixelLimitError):
        raise
    except untrusted.UntrustedFileError as exc:
        raise ImportFileError(str(exc)) from exc
    except FileNotFoundError as exc:
        raise ImportFileError(f"{source}: no such file") from exc
    except IsADirectoryError as exc:
        raise ImportFileError(f"{source}: is a folder, not an image file") from exc
    except PermissionError as exc:
        raise ImportFileError(f"{source}: permission denied") from exc
    except Image.UnidentifiedImageError as exc:
        formats = ", ".join(untrusted.IMAGE_FORMATS)
        raise ImportFileError(f"{source}: not an image file regionpaint reads (it reads {formats})") from exc
    except Image.DecompressionBombError as exc:
        raise ImportFileError(
            f"{source}: image declares more pixels than can be opened safely (a damaged or hostile file)"
        ) from exc
    except MemoryError as exc:
        raise ImportFileError(f"{source}: image is too large for the memory available") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports truncated data as OSError and broken chunks as SyntaxError/ValueError.
        raise ImportFileError(f"{source}: corrupt or truncated image ({exc})") from exc
    return image


def _check_pixel_count(image: Image.Image, source: str) -> None:
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImportFileError(
            f"{source}: image declares {width}x{height} pixels, more than regionpaint opens "
            f"({MAX_IMAGE_PIXELS // 1_000_000} megapixels)"
        )


def photo_from_image(image: Image.Image, source: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a decoded image, turned upright by its EXIF orientation."""
    try:
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as exc:
        log.warning("%s: ignoring unreadable EXIF orientation (%s)", source, exc)
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        raise ImportFileError(f"{source}: {image.mode} (16/32-bit grey) is not a photo; is it a label map?")
    return np.asarray(image.convert("RGB"))


def read_photo(path: PathLike) -> np.ndarray:
    """Read a photo in any format Pillow knows: (H, W, 3) uint8 RGB, EXIF orientation applied."""
    return photo_from_image(open_image(path), str(path))


def index_from_image(image: Image.Image, source: str) -> np.ndarray:
    """Raw per-pixel ids of an index image (modes L, P, 1, I, I;16): (H, W) uint8/uint16/int32.

    For mode P this is the palette index, not the palette colour.
    """
    if image.mode not in INDEX_MODES:
        raise ImportFileError(f"{source}: mode {image.mode} is not an index image (want L, P, I or I;16)")
    if image.mode == "1":
        image = image.convert("L")
    array = np.asarray(image)
    if array.dtype.byteorder == ">":  # mode I;16B
        array = array.astype(array.dtype.newbyteorder("="))
    return array


def _is_grey(rgb: np.ndarray) -> bool:
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def _narrowest_label_array(ids: np.ndarray, source: str) -> np.ndarray:
    """Class ids as uint8, or uint16 when they need it."""
    low, high = (int(ids.min()), int(ids.max())) if ids.size else (0, 0)
    if low < 0 or high > 65535:
        raise ImportFileError(f"{source}: holds ids {low}..{high}; class ids must lie in 0..65535")
    return ids.astype(np.uint8 if high <= 255 else np.uint16, copy=False)


def label_from_image(image: Image.Image, source: str, label_set: LabelSet | None = None) -> tuple[np.ndarray, LabelSet]:
    """Class ids of a decoded label image and the label set they belong to.

    Index images (L, P, I, I;16; and RGB that is grey everywhere) give their raw ids; RGB/RGBA
    images are colour visualisations converted with ``label_set.from_color`` (alpha is
    ignored). Without a ``label_set`` one is guessed, which is ambiguous for maps that use few
    ids: let the person confirm it. Returns ``((H, W) uint8 or uint16 ids, label set)``.
    """
    rgb = None
    if image.mode in COLOR_MODES:
        rgb = np.asarray(image.convert("RGB"))
        if _is_grey(rgb):
            # A grey RGB file is an index map saved by a tool that always writes RGB.
            ids, rgb = rgb[..., 0], None
    elif image.mode in INDEX_MODES:
        ids = index_from_image(image, source)
    else:
        raise ImportFileError(f"{source}: mode {image.mode} is neither an index nor a colour label map")
    if label_set is None:
        label_set = guess_label_set(index_map=ids) if rgb is None else guess_label_set(rgb=rgb)
        if label_set is None:
            kind = "ids" if rgb is None else "colours"
            raise ImportFileError(f"{source}: its {kind} fit no known label set; choose the label set")
        log.info("%s: guessed label set %s", source, label_set.id)
    try:
        if rgb is not None:
            ids = label_set.from_color(rgb, source=source)
        else:
            label_set.check_ids(ids, source=source)
    except (LabelIdError, UnknownColorsError) as exc:
        raise ImportFileError(str(exc)) from exc
    return _narrowest_label_array(ids, source), label_set


def read_label_map(path: PathLike, label_set: LabelSet | None = None) -> np.ndarray:
    """Read an index PNG or a colour-visualised label PNG: (H, W) uint8/uint16 class ids.

    Ids are checked against ``label_set`` (guessed when None); see :func:`label_from_image`.
    """
    return label_from_image(open_image(path), str(path), label_set)[0]


def read_label_map_and_set(path: PathLike, label_set: LabelSet | None = None) -> tuple[np.ndarray, LabelSet]:
    """Like :func:`read_label_map`, also returning the label set used (the guessed one when None)."""
    return label_from_image(open_image(path), str(path), label_set)


def instance_from_image(image: Image.Image, source: str) -> np.ndarray:
    """Instance ids of a decoded single-channel image (8-bit, 16-bit or 32-bit): (H, W) int32, unscaled."""
    if image.mode not in INDEX_MODES:
        raise ImportFileError(
            f"{source}: mode {image.mode} is not an instance map (want a single-channel 8/16-bit PNG)"
        )
    return index_from_image(image, source).astype(np.int32)


def read_instance_map(path: PathLike) -> np.ndarray:
    """Read an instance map (e.g. Cityscapes ``*_instanceIds.png``, 16-bit): (H, W) int32."""
    return instance_from_image(open_image(path), str(path))


def new_document(
    photo_path: PathLike | None,
    label_path: PathLike,
    instance_path: PathLike | None = None,
    label_set: LabelSet | None = None,
    resize: bool = False,
    size: tuple[int, int] | None = None,
    aspect: AspectFit = "refuse",
) -> Document:
    """A new document from a photo (optional), a label map and an instance map (optional).

    The label set is guessed from the label map when not given. Sizes must agree unless
    ``resize`` (then everything is resampled to ``size`` (W, H), by default the label map's). A photo or
    instance map of another aspect ratio is refused (scaling would squash it) unless ``aspect`` is
    ``"crop"`` or ``"pad"`` (see :func:`app.model.aspect.fit_aspect`).
    With a photo, the document is a photo edit: the label map is the photo's own segmentation, kept as
    the baseline, and the photo is the style source ``photo`` of every region
    (:func:`app.model.edit_mask.start_photo_edit`).
    """
    ids, label_set = read_label_map_and_set(label_path, label_set)
    photo = None if photo_path is None else read_photo(photo_path)
    instance = None if instance_path is None else read_instance_map(instance_path)
    if resize:
        target = (ids.shape[1], ids.shape[0])
        if photo is not None:
            photo = fit_aspect(photo, target, aspect, f"{photo_path}")
        if instance is not None:
            instance = fit_aspect(instance, target, aspect, f"{instance_path}")
    paths = {"label": label_path, "photo": photo_path, "instance": instance_path}
    names = {role: str(path) for role, path in paths.items() if path is not None}
    doc = Document(ids, label_set.id, photo=photo, instance=instance, resize=resize, size=size, names=names)
    start_photo_edit(doc)
    return doc
