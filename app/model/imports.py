"""Reading photos, label maps and instance maps from image files, and making a document of them.

Every error is a :class:`ImportFileError` (a ``DocumentError``) whose one-line message starts
with the file it is about. What a reader did on its own (a map turned like its photo by the EXIF
orientation rule of :mod:`regionpaint.app.model.orientation`, the first frame of an animation used) is logged as a
warning: the command line prints it as a ``regionpaint:`` line, the editor collects it with
:func:`collected_notices` and shows it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import numpy as np
from PIL import Image

from regionpaint import limits, untrusted

from . import orientation as orient
from .aspect import AspectFit, fit_aspect, same_aspect
from .document import Document, DocumentError, scale_id_map
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
        _note_frames(image, source)
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


def _note_frames(image: Image.Image, source: str) -> None:
    """Say so when an animation (APNG, GIF, WebP) or a multi-page TIFF is read: only its first frame is used."""
    try:
        frames = int(getattr(image, "n_frames", 1)) if getattr(image, "is_animated", False) else 1
        image.seek(0)
    except (OSError, EOFError, ValueError, SyntaxError):  # a damaged later frame: decoding frame 0 still decides
        return
    if frames > 1:
        log.warning("%s: has %d frames (an animation or a multi-page file); only the first is used", source, frames)


def _check_pixel_count(image: Image.Image, source: str) -> None:
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImportFileError(
            f"{source}: image declares {width}x{height} pixels, more than regionpaint opens "
            f"({MAX_IMAGE_PIXELS // 1_000_000} megapixels)"
        )


def exif_orientation(image: Image.Image, source: str = "") -> int | None:
    """The decoded image's own EXIF orientation (1..8), or None when it has none (or an unreadable one)."""
    try:
        return orient.valid(image.getexif().get(orient.ORIENTATION_TAG))
    except (OSError, SyntaxError, ValueError, TypeError, KeyError) as exc:
        log.warning("%s: ignoring unreadable EXIF orientation (%s)", source, exc)
        return None


def photo_from_image(image: Image.Image, source: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a decoded image, turned upright by its EXIF orientation."""
    return _photo_pixels(image, source, exif_orientation(image, source) or 1)


def _photo_pixels(image: Image.Image, source: str, orientation: int) -> np.ndarray:
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        raise ImportFileError(f"{source}: {image.mode} (16/32-bit grey) is not a photo; is it a label map?")
    return orient.upright(np.asarray(image.convert("RGB")), orientation)


@dataclass(frozen=True, eq=False)
class UprightPhoto:
    """A photo turned upright by its EXIF orientation; the maps that describe it are read with it, so they
    are turned by the same rule (:mod:`regionpaint.app.model.orientation`) and line up with it."""

    pixels: np.ndarray  # (H, W, 3) uint8 RGB, upright
    source: str  # the file, for messages
    orientation: int = 1  # the file's EXIF orientation (1: stored upright)

    @property
    def size(self) -> tuple[int, int]:
        """(W, H) upright."""
        return self.pixels.shape[1], self.pixels.shape[0]

    def fit_map(self, ids: np.ndarray, own_orientation: int | None, source: str) -> np.ndarray:
        """A map of this photo (H, W ids as stored in its file) turned upright by the rule; says when it
        was turned like the photo."""
        turn, like_photo = orient.map_turn(self.orientation, self.size, (ids.shape[1], ids.shape[0]), own_orientation)
        if like_photo:
            log.warning(
                "%s: turned like %s (%s by its EXIF orientation), as the map has no orientation of its own",
                source,
                self.source,
                orient.describe(turn),
            )
        return orient.upright(ids, turn)

    def read_label_map(self, path: PathLike, label_set: LabelSet | None = None) -> tuple[np.ndarray, LabelSet]:
        """This photo's label map from ``path`` (see :func:`label_from_image`), turned to line up with it."""
        image = open_image(path)
        ids, label_set = label_from_image(image, str(path), label_set)
        return self.fit_map(ids, exif_orientation(image, str(path)), str(path)), label_set

    def read_instance_map(self, path: PathLike) -> np.ndarray:
        """This photo's instance map from ``path``, turned to line up with it."""
        image = open_image(path)
        ids = instance_from_image(image, str(path))
        return self.fit_map(ids, exif_orientation(image, str(path)), str(path))

    def check_aspect(self, ids: np.ndarray, source: str) -> None:
        """Refuse a map of another aspect ratio: scaling it to the photo would squash it."""
        check_same_aspect(ids, self.size, source, self.source)


def check_same_aspect(ids: np.ndarray, photo_size: tuple[int, int], source: str, photo: str = "the photo") -> None:
    """Raise :class:`ImportFileError` unless the map ``ids`` (H, W) has the aspect ratio of ``photo_size`` (W, H).

    A map of the same shape at another resolution is fine (it is scaled); another shape would be squashed.
    """
    size = (ids.shape[1], ids.shape[0])
    if not same_aspect(size, photo_size):
        raise ImportFileError(
            f"{source}: {size[0]}x{size[1]} has another aspect ratio than {photo} ({photo_size[0]}x{photo_size[1]}), "
            "so scaling it to the photo would squash it; use a map of the photo's shape"
        )


def read_upright_photo(path: PathLike) -> UprightPhoto:
    """Read a photo (see :func:`read_photo`) with the orientation its maps are read by."""
    image = open_image(path)
    orientation = exif_orientation(image, str(path)) or 1
    return UprightPhoto(_photo_pixels(image, str(path), orientation), str(path), orientation)


def read_photo(path: PathLike) -> np.ndarray:
    """Read a photo in any format Pillow knows: (H, W, 3) uint8 RGB, EXIF orientation applied."""
    return read_upright_photo(path).pixels


def read_style_pair(
    image_path: PathLike, label_path: PathLike | None, label_set: LabelSet | None = None, name: str = ""
) -> tuple[np.ndarray, np.ndarray | None]:
    """A style photo (upright) and its segmentation turned to line up with it, at the photo's size.

    One rule for ``render --style``, ``batch`` and the editor's Style sources panel: a segmentation of another
    aspect ratio is refused, naming the file and both sizes (the engines scale both to the network's size,
    which would squash it); one of the photo's shape at another resolution is scaled to the photo (nearest). By
    a whole factor (CelebA-HQ's 1024 px photos with 512 px maps) that is pixel repetition, which gives the
    engines' own resize the same network-size map as the original (the SEAN parity runs of
    tests/test_render_cli.py pass such pairs). Projects store the pair at one size
    (:class:`~regionpaint.app.model.document.StyleSourceData`). ``name`` (the style source's) starts the message.
    """
    photo = read_upright_photo(image_path)
    if label_path is None:
        return photo.pixels, None
    label, _ = photo.read_label_map(label_path, label_set)
    photo.check_aspect(label, f"style source {name!r}: {label_path}" if name else str(label_path))
    if label.shape != photo.pixels.shape[:2]:
        log.info("scaling %s to the size of %s", label_path, image_path)
        label = scale_id_map(label, photo.size)
    return photo.pixels, label


@contextmanager
def collected_notices() -> Iterator[list[str]]:
    """The warnings the readers give on this thread while the block runs (a map turned like its photo, the
    first frame of an animation used), for the editor to show; the list fills as they come."""
    notices: list[str] = []
    thread = threading.get_ident()

    class Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == thread:
                notices.append(record.getMessage())

    handler = Collector(logging.WARNING)
    log.addHandler(handler)
    try:
        yield notices
    finally:
        log.removeHandler(handler)


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

    Ids are checked against ``label_set`` (guessed when None); see :func:`label_from_image`. A map with an
    EXIF orientation of its own is turned upright by it; to read a photo's map, use
    :meth:`UprightPhoto.read_label_map`.
    """
    return read_label_map_and_set(path, label_set)[0]


def read_label_map_and_set(path: PathLike, label_set: LabelSet | None = None) -> tuple[np.ndarray, LabelSet]:
    """Like :func:`read_label_map`, also returning the label set used (the guessed one when None)."""
    image = open_image(path)
    ids, label_set = label_from_image(image, str(path), label_set)
    return orient.upright(ids, exif_orientation(image, str(path)) or 1), label_set


def instance_from_image(image: Image.Image, source: str) -> np.ndarray:
    """Instance ids of a decoded single-channel image (8-bit, 16-bit or 32-bit): (H, W) int32, unscaled."""
    if image.mode not in INDEX_MODES:
        raise ImportFileError(
            f"{source}: mode {image.mode} is not an instance map (want a single-channel 8/16-bit PNG)"
        )
    return index_from_image(image, source).astype(np.int32)


def read_instance_map(path: PathLike) -> np.ndarray:
    """Read an instance map (e.g. Cityscapes ``*_instanceIds.png``, 16-bit): (H, W) int32 (its own EXIF
    orientation applied, as for label maps)."""
    image = open_image(path)
    return orient.upright(instance_from_image(image, str(path)), exif_orientation(image, str(path)) or 1)


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
    ``"crop"`` or ``"pad"`` (see :func:`regionpaint.app.model.aspect.fit_aspect`).
    With a photo, the document is a photo edit: the label map is the photo's own segmentation, kept as
    the baseline, and the photo is the style source ``photo`` of every region
    (:func:`regionpaint.app.model.edit_mask.start_photo_edit`).
    """
    if photo_path is None:
        ids, label_set = read_label_map_and_set(label_path, label_set)
        photo = None
        instance = None if instance_path is None else read_instance_map(instance_path)
    else:  # the maps describe the photo: one orientation rule turns all three (regionpaint.app.model.orientation)
        upright = read_upright_photo(photo_path)
        ids, label_set = upright.read_label_map(label_path, label_set)
        instance = None if instance_path is None else upright.read_instance_map(instance_path)
        photo = upright.pixels
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
