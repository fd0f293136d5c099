"""Reading the official ``opt.txt`` files (never ``opt.pkl``: unpickling runs arbitrary code).

Two layouts exist:

* SPADE / SEAN: ``            label_nc: 19                     [default: 13]`` (right-aligned keys,
  optional ``[default: ...]`` comment after a tab).
* pix2pixHD: ``label_nc: 35`` between ``------------ Options -------------`` and ``End`` lines.

Values are kept as strings; typed accessors convert them with defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

_DEFAULT_COMMENT = re.compile(r"\s*\[default:.*\]\s*$")


def parse_opt_text(text: str) -> dict[str, str]:
    """Parse the text of an official opt.txt into {option: value string}."""
    options: dict[str, str] = {}
    for raw in text.splitlines():
        line = _DEFAULT_COMMENT.sub("", raw.split("\t")[0]).strip()
        if not line or line.startswith("---") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        options[key.strip()] = value.strip()
    return options


#: An official opt.txt is a few kB; a larger one is read only this far (its options come first).
MAX_OPT_TXT_BYTES = 1024 * 1024


#: Numeric options that must be positive when given (a zero aspect ratio divides by zero; a zero width builds
#: no network), with the largest value a real checkpoint uses times a wide margin. Sizes: official
#: checkpoints load at most 2048 pixels wide (pix2pixHD); 16384 is 8x that. A render's pixels are capped on
#: top of this (regionpaint.limits), since two in-range sides can still multiply to gigapixels.
POSITIVE_OPTIONS = {
    "aspect_ratio": 100.0,
    "crop_size": 16384,
    "load_size": 16384,
    "loadSize": 16384,  # pix2pixHD's names for the same two sizes
    "fineSize": 16384,
    "ngf": 65536,
    "ndf": 65536,
    "z_dim": 65536,
    "style_length": 65536,
    "feat_num": 65536,
}


def check_opt_values(opt: Mapping[str, str], where: str | Path) -> None:
    """Raise CheckpointError naming ``where`` for a numeric option outside what any checkpoint uses."""
    from regionpaint.engines.base import CheckpointError

    for key, largest in POSITIVE_OPTIONS.items():
        text = opt.get(key)
        if text in (None, ""):
            continue
        try:
            value = float(text)
        except ValueError:
            continue  # not a number: the engines fall back to the default, as the official code would fail
        if not (0 < value <= largest) or (key == "aspect_ratio" and value < 1 / largest):
            raise CheckpointError(f"{where}: option {key} = {text!r} is out of range (a damaged options file?)")


def read_opt_txt(path: str | Path) -> dict[str, str]:
    """Options of an official ``opt.txt`` (read up to :data:`MAX_OPT_TXT_BYTES`), values range-checked.

    Regular files only: a FIFO named opt.txt is refused by name instead of blocking the reader.
    """
    from regionpaint.engines.base import CheckpointError
    from regionpaint.untrusted import UntrustedFileError, open_regular

    try:
        with open_regular(path) as handle:
            data = handle.read(MAX_OPT_TXT_BYTES)
    except UntrustedFileError as exc:
        raise CheckpointError(str(exc)) from None
    except OSError as exc:
        raise CheckpointError(f"{path}: opt.txt cannot be read ({exc.strerror or type(exc).__name__})") from exc
    options = parse_opt_text(data.decode("utf-8", errors="replace"))
    check_opt_values(options, path)
    return options


def opt_str(opt: Mapping[str, str], key: str, default: str = "") -> str:
    return opt.get(key, default)


def opt_int(opt: Mapping[str, str], key: str, default: int) -> int:
    value = opt.get(key)
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def opt_float(opt: Mapping[str, str], key: str, default: float) -> float:
    value = opt.get(key)
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


def opt_bool(opt: Mapping[str, str], key: str, default: bool = False) -> bool:
    value = opt.get(key)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("true", "1", "yes")


def format_opt_text(opt: Mapping[str, object]) -> str:
    """Write options in the SPADE layout (which both official parsers' readers and ours accept)."""
    lines = ["----------------- Options ---------------"]
    for key in sorted(opt):
        lines.append(f"{key:>25}: {opt[key]!s:<30}")
    lines.append("----------------- End -------------------")
    return "\n".join(lines) + "\n"
