"""What the editor remembers between sessions (QSettings) and where it keeps its files.

``REGIONPAINT_DATA_DIR`` overrides the data folder (platformdirs' ``user_data_dir("regionpaint")``), so
tests and screenshot runs never touch a person's models, autosaves or settings.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from regionpaint.locations import APP_NAME, DATA_DIR_ENV, data_dir  # noqa: F401 - data_dir: the editor's callers

log = logging.getLogger(__name__)

MAX_RECENT_FILES = 10
DEFAULT_AUTOSAVE_SECONDS = 60


def models_dir(root: Path | None = None) -> Path:
    """Checkpoints dropped here (one folder or file each) appear in the checkpoint picker."""
    return (root or data_dir()) / "models"


def autosave_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "autosave"


def default_qsettings() -> QSettings:
    """The platform's settings store, or an ini file in the data folder when it is overridden."""
    if os.environ.get(DATA_DIR_ENV):
        return QSettings(str(data_dir() / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings(APP_NAME, APP_NAME)


class EditorSettings:
    """Typed access to the editor's QSettings (tests pass a QSettings on an ini file in a temp folder)."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else default_qsettings()

    # -- plain values ------------------------------------------------------------------------
    def value(self, key: str, default: Any, kind: type = str) -> Any:
        raw = self.store.value(key, default)
        if raw is None:
            return default
        try:
            if kind is bool:
                # ini files give strings back: "true"/"false".
                return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
            return kind(raw)
        except (TypeError, ValueError):
            log.warning("setting %s has an unusable value %r; using %r", key, raw, default)
            return default

    def set_value(self, key: str, value: Any) -> None:
        self.store.setValue(key, value)

    def _list(self, key: str) -> list[str]:
        raw = self.store.value(key, [])
        if raw is None or raw == "":
            return []
        if isinstance(raw, str):
            return [raw]
        return [str(item) for item in raw]

    # -- recent files ------------------------------------------------------------------------
    def recent_files(self) -> list[Path]:
        """Most recent first; files that no longer exist are skipped."""
        return [Path(p) for p in self._list("files/recent") if Path(p).exists()]

    def add_recent_file(self, path: Path) -> None:
        path = Path(path).resolve()
        others = [p for p in self._list("files/recent") if Path(p) != path]
        self.store.setValue("files/recent", [str(path), *others][:MAX_RECENT_FILES])

    def last_folder(self, purpose: str) -> str:
        return self.value(f"files/last_folder/{purpose}", "")

    def set_last_folder(self, purpose: str, path: Path) -> None:
        folder = path if path.is_dir() else path.parent
        self.store.setValue(f"files/last_folder/{purpose}", str(folder))

    # -- checkpoints -------------------------------------------------------------------------
    def checkpoint_paths(self) -> list[Path]:
        """Checkpoint folders or files added with "Add checkpoint folder…"."""
        return [Path(p) for p in self._list("engine/checkpoints")]

    def add_checkpoint_path(self, path: Path) -> None:
        paths = [str(p) for p in self.checkpoint_paths() if Path(p) != Path(path)]
        self.store.setValue("engine/checkpoints", [str(path), *paths])

    def last_checkpoint(self, label_set_id: str) -> str:
        """The checkpoint last rendered with a document of this label set ("" when none)."""
        return self.value(f"engine/last_checkpoint/{label_set_id}", "")

    def set_last_checkpoint(self, label_set_id: str, checkpoint: str) -> None:
        self.store.setValue(f"engine/last_checkpoint/{label_set_id}", checkpoint)

    # -- segmenters -------------------------------------------------------------------------
    def segmenter_weights(self, segmenter_id: str) -> Path | None:
        """The weights file last picked for a segmenter (None when none was, or it is gone)."""
        value = self.value(f"segmenters/{segmenter_id}/weights", "")
        return Path(value) if value and Path(value).is_file() else None

    def set_segmenter_weights(self, segmenter_id: str, path: Path) -> None:
        self.store.setValue(f"segmenters/{segmenter_id}/weights", str(path))

    def fidelity_segmenter(self) -> str:
        """The segmenter the fidelity readout uses ("" = the readout is off)."""
        return self.value("segmenters/fidelity", "")

    def set_fidelity_segmenter(self, segmenter_id: str) -> None:
        self.store.setValue("segmenters/fidelity", segmenter_id)

    # -- window ------------------------------------------------------------------------------
    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.store.setValue("window/geometry", geometry)
        self.store.setValue("window/state", state)

    def window_geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def window_state(self) -> QByteArray | None:
        value = self.store.value("window/state")
        return value if isinstance(value, QByteArray) else None

    def render_timeout_seconds(self) -> int:
        """How long a render may run before the editor offers to stop waiting for it."""
        from regionpaint.app.render.guard import DEFAULT_RENDER_TIMEOUT_S

        return max(1, self.value("render/timeout_seconds", DEFAULT_RENDER_TIMEOUT_S, int))

    def autosave_seconds(self) -> int:
        return max(5, self.value("autosave/seconds", DEFAULT_AUTOSAVE_SECONDS, int))

    def sync(self) -> None:
        self.store.sync()
