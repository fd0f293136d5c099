"""What a training run folder renders with: its engine and label set, read from its option files (no torch).

"Open in editor" uses this to decide whether the run fits the open document (same label set: switch
engine and checkpoint together) or needs a document of its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from regionpaint import untrusted
from regionpaint.app.render_spec import label_set_for_classes

log = logging.getLogger(__name__)

TRAIN_OPTIONS = "train_options.json"  # written by `regionpaint train` beside opt.txt


@dataclass(frozen=True)
class RunInfo:
    engine_id: str  # "" when the folder does not say (the render recognises it)
    label_set_id: str  # "" when no registered label set has the run's class count


def read_run(folder: Path, engine_hint: str = "") -> RunInfo:
    """Engine (the job's ``--engine``, else ``train_options.json``) and label set (``label_nc`` of opt.txt)."""
    options = _read_json(folder / TRAIN_OPTIONS)
    engine_id = engine_hint or str(options.get("engine") or "")
    label_nc = options.get("label_nc")
    if label_nc is None:
        label_nc = _opt_txt_value(folder / "opt.txt", "label_nc")
    label_set_id = ""
    try:
        from regionpaint.plugins.manager import get_plugin_manager

        found = label_set_for_classes(int(label_nc), get_plugin_manager().label_sets().values())
        label_set_id = "" if found is None else found.id
    except (TypeError, ValueError):
        pass
    return RunInfo(engine_id, label_set_id)


def _read_json(path: Path) -> dict:
    try:
        value = untrusted.read_json(path)  # bounded: a damaged run file must not crash the editor
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _opt_txt_value(path: Path, key: str) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        name, sep, rest = line.partition(":")
        if sep and name.strip() == key:
            return rest.split("[")[0].strip()
    return None
