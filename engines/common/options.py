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


def read_opt_txt(path: str | Path) -> dict[str, str]:
    from engines.base import CheckpointError

    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_OPT_TXT_BYTES)
    except OSError as exc:
        raise CheckpointError(f"{path}: opt.txt cannot be read ({exc.strerror or type(exc).__name__})") from exc
    return parse_opt_text(data.decode("utf-8", errors="replace"))


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
