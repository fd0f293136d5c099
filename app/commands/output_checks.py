"""Checks on where a command will write, made before it reads or renders anything.

A render can take minutes; finding out afterwards that ``--out`` is a folder, has no image extension, or
lies in a folder that cannot be written wastes them. Worse, ``--out`` naming one of the command's own inputs
(``render --label map.png --out map.png``) would destroy it: that needs ``--force``. Messages quote file
names (``repr``), so a name with spaces or odd characters reads unambiguously.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from regionpaint.untrusted import IMAGE_FORMATS, describe_kind

#: What messages suggest, in this order (others Pillow writes in IMAGE_FORMATS are accepted too: .jpeg, .tiff, ...).
PREFERRED_EXTENSIONS = (".png", ".jpg", ".webp", ".bmp", ".tif", ".gif")


class OutputError(ValueError):
    """An output path that cannot be (or must not be) written; the message names it and the flag."""


def q(path: str | os.PathLike[str]) -> str:
    """A file name quoted for a message: ``'name'`` (``repr`` of the string, control characters escaped)."""
    return repr(os.fspath(path))


def image_extensions() -> dict[str, str]:
    """``{".png": "PNG", ...}``: extensions Pillow writes, in formats regionpaint also reads back."""
    from PIL import Image

    Image.init()
    return {
        ext: fmt for ext, fmt in Image.registered_extensions().items() if fmt in IMAGE_FORMATS and fmt in Image.SAVE
    }


def check_file_output(path: str | os.PathLike[str], flag: str) -> Path:
    """``path`` can be written as a file: not a folder or device, in a folder that exists (or can be made)
    and is writable. Returns it as a Path."""
    target = Path(path)
    try:
        mode = os.stat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):  # the folder check below says what is missing or wrong
        mode = None
    except OSError as exc:
        raise OutputError(f"{flag} {q(target)}: cannot be checked ({exc.strerror or exc})") from exc
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"{flag} {q(target)}: is a folder; name the file to write in it")
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"{flag} {q(target)}: is {describe_kind(mode)}, not a file regionpaint can write")
    if mode is not None and not os.access(target, os.W_OK):
        raise OutputError(f"{flag} {q(target)}: exists and is not writable")
    _check_folder_writable(target.parent, flag, target)
    return target


def check_image_output(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """As :func:`check_file_output`, and the extension names an image format regionpaint writes."""
    target = check_file_output(path, flag)
    known = image_extensions()
    suffix = target.suffix.lower()
    if suffix not in known:
        what = f"unknown image file extension {target.suffix!r}" if suffix else "no file extension"
        choices = ", ".join(ext for ext in PREFERRED_EXTENSIONS if ext in known)
        raise OutputError(f"{flag} {q(target)}: {what}; name an image file {choices}")
    return target


def check_folder_output(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """``path`` is a folder, or can be made one, and is writable."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise OutputError(f"{flag} {q(target)}: is not a folder (an output folder is made, or filled, there)")
    _check_folder_writable(target, flag, target)
    return target


def refuse_overwriting_inputs(
    outputs: Mapping[str, str | os.PathLike[str]],
    inputs: Iterable[tuple[str, str | os.PathLike[str]]],
    force: bool = False,
) -> None:
    """Raise :class:`OutputError` when an output (``{flag: path}``) is one of the ``(flag, path)`` inputs,
    or two outputs are one file. Same file means the same file on disk (links and ``..`` included)."""
    named = list(outputs.items())
    for index, (flag, out) in enumerate(named):
        for other_flag, other in named[index + 1 :]:
            if _same_file(out, other):
                raise OutputError(f"{flag} and {other_flag} are the same file {q(out)}; give each its own name")
        if force:
            continue
        for input_flag, source in inputs:
            if _same_file(out, source):
                raise OutputError(
                    f"{flag} {q(out)}: is also the input {input_flag} {q(source)}; writing there would destroy "
                    "it. Choose another name, or add --force to overwrite it"
                )


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): the same name is still the same file
        return os.path.abspath(a) == os.path.abspath(b)


def _check_folder_writable(folder: Path, flag: str, target: Path) -> None:
    """The nearest existing folder at or above ``folder`` is a folder we may write in (missing folders
    below it are made when the output is written)."""
    existing = Path(os.path.abspath(folder))
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{flag} {q(target)}: {q(existing)} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{flag} {q(target)}: cannot write in the folder {q(existing)} (permission denied)")
