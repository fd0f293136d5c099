"""Autosave and crash recovery.

Each running editor owns ``session-<pid>.json`` and ``autosave-<pid>.rpaint`` in the autosave folder.
While the document has unsaved changes it is saved there every N seconds (a snapshot, written on a
background thread, so painting never waits for PNG encoding). A clean exit deletes both files; so
on the next start, a session file whose process is gone and that still has an autosave means a crash,
and the editor offers to recover it. The prompt is a plain callable, so tests need no dialogs.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from app.model.document import Document
from app.model.project import save_project
from app.qt.editor_state import EditorState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recoverable:
    autosave: Path
    session: Path
    saved_at: datetime
    source: Path | None  # the project the crashed session was editing, if it had been saved


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (an unknown answer counts as alive: never steal a live session)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        ctypes.windll.kernel32.CloseHandle(handle)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def snapshot(doc: Document) -> Document:
    """A copy that later edits cannot change: pixel layers are copied, everything else is immutable."""
    copy = Document(doc.label, doc.label_set_id, photo=doc.photo, instance=doc.instance)
    copy.replace_fields(
        style_sources=dict(doc.style_sources),
        region_styles=dict(doc.region_styles),
        default_style=doc.default_style,
        crossover=dict(doc.crossover),
        engine=doc.engine,
    )
    copy.last_render = doc.last_render
    return copy


class AutosaveStore:
    """The files of one session and the search for crashed sessions (no Qt)."""

    def __init__(self, folder: Path, pid: int | None = None) -> None:
        self.folder = Path(folder)
        self.pid = os.getpid() if pid is None else pid
        self.session_file = self.folder / f"session-{self.pid}.json"
        self.autosave_file = self.folder / f"autosave-{self.pid}.rpaint"

    def start_session(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_session(source=None, saved=None)

    def save(self, doc: Document, source: Path | None) -> None:
        """Write the autosave (atomically) and note it in the session file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        save_project(doc, self.autosave_file)
        self._write_session(source=source, saved=time.time())

    def remove_autosave(self) -> None:
        self.autosave_file.unlink(missing_ok=True)

    def end_session(self) -> None:
        """A clean exit: nothing to recover."""
        self.remove_autosave()
        self.session_file.unlink(missing_ok=True)

    def recoverable(self) -> list[Recoverable]:
        """Autosaves of sessions whose process is gone, newest first; stale session files are removed."""
        found = []
        for session in sorted(self.folder.glob("session-*.json")):
            info = self._read_session(session)
            pid = int(info.get("pid", -1)) if info is not None else -1
            if pid == self.pid or pid_alive(pid):
                continue
            autosave = self.folder / f"autosave-{pid}.rpaint"
            if not autosave.is_file():
                session.unlink(missing_ok=True)  # crashed before anything needed saving
                continue
            source = info.get("source") if info else None
            saved_at = datetime.fromtimestamp(info.get("saved") or autosave.stat().st_mtime)
            found.append(Recoverable(autosave, session, saved_at, Path(source) if source else None))
        return sorted(found, key=lambda item: item.saved_at, reverse=True)

    def forget(self, item: Recoverable) -> None:
        item.autosave.unlink(missing_ok=True)
        item.session.unlink(missing_ok=True)

    def _write_session(self, source: Path | None, saved: float | None) -> None:
        data = {
            "pid": self.pid,
            "started": time.time(),
            "source": None if source is None else str(source),
            "saved": saved,
        }
        temp = self.session_file.with_suffix(".tmp")
        temp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temp, self.session_file)

    def _read_session(self, path: Path) -> dict | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.info("ignoring unreadable session file %s", path)
            return None
        return data if isinstance(data, dict) else None


class AutosaveManager(QObject):
    """Saves a snapshot every ``interval_s`` seconds while there are changes not yet autosaved."""

    def __init__(self, state: EditorState, store: AutosaveStore, interval_s: int, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.store = store
        self._changed = False
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self._timer = QTimer(self, interval=max(1, interval_s) * 1000)
        self._timer.timeout.connect(self.autosave_now)
        state.renderInputsChanged.connect(self._on_change)
        state.documentReplaced.connect(self._on_replaced)

    def start(self) -> None:
        self.store.start_session()
        self._timer.start()

    def _on_change(self) -> None:
        self._changed = True

    def _on_replaced(self) -> None:
        self._changed = self.state.dirty

    def autosave_now(self, wait: bool = False) -> bool:
        """Save if needed; returns True when a save was started. ``wait`` blocks until it is written."""
        doc = self.state.document
        if doc is None or not self.state.dirty:
            self._changed = False
            self.store.remove_autosave()
            return False
        if not self._changed or (self._thread is not None and self._thread.is_alive()):
            return False
        if doc.history.is_grouping:
            return False  # mid-stroke: the next tick saves the finished stroke
        self._changed = False
        copy, source = snapshot(doc), self.state.project_path
        self._thread = threading.Thread(target=self._save, args=(copy, source), name="regionpaint-autosave")
        self._thread.start()
        if wait:
            self._thread.join()
        return True

    def _save(self, doc: Document, source: Path | None) -> None:
        try:
            self.store.save(doc, source)
            self.last_error = None
        except Exception as exc:  # a full disk must not take the editor down; the next tick retries
            log.warning("autosave failed: %s", exc)
            self.last_error = str(exc)
            self._changed = True

    def stop(self, clean: bool) -> None:
        """Stop the timer, wait for a save in progress; ``clean`` deletes the session's files."""
        self._timer.stop()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if clean:
            self.store.end_session()
