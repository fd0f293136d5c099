"""What regionpaint remembers about plugins between runs: which are disabled, which load errors were shown.

A small JSON file (``plugins.json``) in the data folder (platformdirs' ``user_data_dir("regionpaint")``,
or ``REGIONPAINT_DATA_DIR``), read by the CLI and the editor alike, so disabling a plugin in the
Plugins dialog also disables it for ``regionpaint render``. Qt-free; a damaged file reads as empty.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from regionpaint import untrusted
from regionpaint.locations import data_dir

log = logging.getLogger(__name__)

STATE_FILE = "plugins.json"


def state_path() -> Path:
    return data_dir() / STATE_FILE


def _read() -> dict:
    path = state_path()
    try:
        # Bounded (regionpaint.untrusted): every command reads this file, so a damaged one must never crash.
        data = untrusted.read_json(path)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable (%s); plugin settings start afresh", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _write(data: dict) -> None:
    path = state_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # two processes may save at once
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a read-only data folder must not stop the app
        log.warning("%s: cannot save plugin settings: %s", path, exc)


def disabled_plugins() -> set[str]:
    """Names (entry-point or distribution) of plugins that must not load."""
    return {str(name) for name in _read().get("disabled", [])}


def set_enabled(name: str, enabled: bool) -> None:
    data = _read()
    disabled = {str(n) for n in data.get("disabled", [])}
    disabled.discard(name) if enabled else disabled.add(name)
    data["disabled"] = sorted(disabled)
    _write(data)


def unseen_errors(errors: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The ``(plugin, error)`` pairs not reported before; remembers them, so each is reported once.

    An error that goes away is forgotten, so it is reported again if it comes back.
    """
    data = _read()
    seen = {tuple(item) for item in data.get("reported_errors", []) if isinstance(item, list) and len(item) == 2}
    current = {(str(p), str(e)) for p, e in errors}
    new = [pair for pair in errors if pair not in seen]
    if current != seen:
        data["reported_errors"] = sorted([list(pair) for pair in current])
        _write(data)
    return new
