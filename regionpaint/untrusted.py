"""Readers for files regionpaint did not write itself: images, JSON and anything else a user opens.

One place decides what an untrusted file may make the app do. Three rules hold for every caller:

- **Regular files only.** A FIFO, socket or device named as a label map, project or checkpoint would
  block ``open()`` forever (the editor's UI thread included); :func:`open_regular` refuses it without
  blocking, naming what the path is.
- **Images are decoded in-process, from an allowlist of formats.** Pillow picks a decoder from the
  file's first bytes, not its name, and its EPS plugin hands a file starting with ``%!PS-Adobe`` to
  Ghostscript: a PostScript program named ``label.png`` would run. :data:`IMAGE_FORMATS` holds only
  formats Pillow decodes itself.
- **JSON is bounded** in size, nesting depth and number size (:func:`loads_json`): a 100,000-level
  ``doc.json`` or a 400-digit weight turns into one :class:`UntrustedFileError` line, not a
  ``RecursionError`` or ``OverflowError`` from deep inside the reader.

Importable without torch, Qt or the rest of regionpaint (the document model uses it).
"""

from __future__ import annotations

import json
import math
import os
import stat
from typing import IO, Any

#: Formats Pillow decodes in this process. Left out on purpose: EPS (runs Ghostscript), and the rarely
#: used formats whose decoders are the least exercised. A photo or label map in any other format can be
#: converted to PNG first.
IMAGE_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF", "PPM")

#: JSON nesting deeper than this is refused. regionpaint's own files nest at most ~6 levels
#: (doc.json: document > region_styles > entry > mix > pair); 64 leaves room for plugins' data.
MAX_JSON_DEPTH = 64
#: Integers with more digits than this are refused (the largest legitimate number in our files is a
#: byte count or a seed: < 20 digits). Python itself refuses > 4300 digits, but a 400-digit int already
#: overflows every float conversion downstream.
MAX_JSON_INT_DIGITS = 40
#: The largest JSON text read (bytes). Project manifests and sidecars are a few kB; a journal header
#: stays under 1 MB even with hundreds of style sources.
MAX_JSON_BYTES = 16 * 1024 * 1024


class UntrustedFileError(ValueError):
    """A file cannot be read safely: what it is, or what is wrong with it. The message names the file."""


def describe_kind(mode: int) -> str:
    """What a non-regular ``st_mode`` is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def check_regular(path: str | os.PathLike[str], source: str | None = None) -> None:
    """Raise :class:`UntrustedFileError` unless ``path`` is a regular file (symlinks followed).

    ``FileNotFoundError`` and ``PermissionError`` pass through, so callers keep their own wording.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise UntrustedFileError(f"{source or path}: is {describe_kind(mode)}, not a file regionpaint can read")


def open_regular(path: str | os.PathLike[str], source: str | None = None) -> IO[bytes]:
    """Open a regular file for binary reading, never blocking on a FIFO or device.

    The file is opened non-blocking first (opening a FIFO with no writer would wait forever) and
    checked with ``fstat`` on the open descriptor, so a path swapped between a check and the open cannot
    slip through.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UntrustedFileError(f"{source or path}: is {describe_kind(mode)}, not a file regionpaint can read")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def open_image(fp: str | os.PathLike[str] | IO[bytes], source: str | None = None):
    """``PIL.Image.open`` restricted to :data:`IMAGE_FORMATS`; paths must name regular files.

    Returns the lazily decoded image (call ``load()``). Pillow's own errors pass through unchanged, so
    each caller words them for its context; a file of another format raises ``PIL.UnidentifiedImageError``.
    """
    from PIL import Image

    if isinstance(fp, (str, os.PathLike)):
        handle = open_regular(fp, source)
        try:
            image = Image.open(handle, formats=IMAGE_FORMATS)
        except BaseException:
            handle.close()
            raise
        # Pillow closes a file it did not open itself only when asked; tie it to the image.
        image._exclusive_fp = True  # noqa: SLF001 - Pillow's own flag for "close fp with the image"
        return image
    return Image.open(fp, formats=IMAGE_FORMATS)


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_JSON_INT_DIGITS:
        raise ValueError(f"a {digits}-digit number (at most {MAX_JSON_INT_DIGITS} digits are read)")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:24]} is out of range")
    return value


def _parse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number regionpaint reads")


def _depth_within(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            items = item.values()
        elif isinstance(item, list):
            items = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in items if isinstance(child, (dict, list)))
    return True


def loads_json(text: str | bytes, source: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON from an untrusted file with bounded size, depth and numbers.

    Raises :class:`UntrustedFileError` with ``source`` and the problem in one line for anything it
    cannot read: bad syntax, nesting deeper than ``max_depth``, huge or non-finite numbers, bad UTF-8.
    """
    if len(text) > MAX_JSON_BYTES:
        raise UntrustedFileError(f"{source}: {len(text)} bytes of JSON, more than regionpaint reads ({MAX_JSON_BYTES})")
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except RecursionError:
        raise UntrustedFileError(f"{source}: JSON nested too deeply (more than {max_depth} levels)") from None
    except UnicodeDecodeError as exc:
        raise UntrustedFileError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise UntrustedFileError(f"{source}: not valid JSON ({exc.msg}, {where})") from None
    except ValueError as exc:
        raise UntrustedFileError(f"{source}: {exc}") from None
    if not _depth_within(value, max_depth):
        raise UntrustedFileError(f"{source}: JSON nested too deeply (more than {max_depth} levels)")
    return value


def read_json(path: str | os.PathLike[str], source: str | None = None, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Read and parse a JSON file with :func:`loads_json`'s bounds; regular files only, size checked first."""
    source = source or str(path)
    with open_regular(path, source) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > MAX_JSON_BYTES:
            raise UntrustedFileError(f"{source}: {size} bytes of JSON, more than regionpaint reads ({MAX_JSON_BYTES})")
        data = handle.read(MAX_JSON_BYTES + 1)
    return loads_json(data, source, max_depth)


__all__ = [
    "IMAGE_FORMATS",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_JSON_INT_DIGITS",
    "UntrustedFileError",
    "check_regular",
    "loads_json",
    "open_image",
    "open_regular",
    "read_json",
    "describe_kind",
]
