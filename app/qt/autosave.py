"""Autosave and crash recovery.

Each running editor owns ``session-<pid>.json``, ``autosave-<pid>.rpaint`` and ``journal-<pid>.bin`` in
the autosave folder. From the first unsaved edit, every finished edit (stroke, fill, style or engine
change, undo, redo) is appended to the journal (:mod:`app.model.journal`) and handed to the OS at once,
so a crash loses at most the stroke in progress. N seconds after the first unsaved edit, a snapshot of
the document is written on a background thread (painting never waits for PNG encoding) and the
journal is compacted to what came after it. A clean exit, or saving the document, deletes the files;
so on the next start, a session file whose process is gone (exited, killed, or a zombie nobody has
reaped) that still has a snapshot or journal means a crash, and the editor offers to recover it.
File › Recover… offers them again. Prompts are plain callables, so tests need no dialogs.
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
from app.model.journal import EditJournal, JournalError, read_records, replay
from app.model.labelsets import LabelSet
from app.model.project import ProjectError, open_project, save_project
from app.qt.editor_state import EditorState

log = logging.getLogger(__name__)


#: Retry soon when a snapshot was due mid-stroke or while the previous one was still being written.
RETRY_MS = 1000
#: A journal this large is compacted into a fresh snapshot without waiting for the timer.
COMPACT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Recoverable:
    autosave: Path
    session: Path
    saved_at: datetime
    source: Path | None  # the project the crashed session was editing, if it had been saved
    journal: Path | None = None  # the crashed session's edit journal, when it has one
    snapshot_seq: int = 0  # the last journal record the snapshot holds

    def describe(self) -> str:
        name = self.source.name if self.source else "Untitled"
        return f"{name} — unsaved work from {self.saved_at:%Y-%m-%d %H:%M:%S}"


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (Linux), or None where there is no /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return []  # /proc exists but the process does not
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def process_start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot, Linux), to tell a reused pid from the original."""
    fields = _proc_stat(pid) if Path("/proc/self/stat").exists() else None
    try:
        return int(fields[19]) if fields else None
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int, start_ticks: int | None = None) -> bool:
    """Whether the process with this id runs (an unknown answer counts as alive: never steal a live session).

    A zombie (killed, not yet reaped by its parent) is not alive: its work is lost unless recovered.
    With ``start_ticks``, a process that reuses the id but started at another time is not the owner.
    """
    if pid <= 0:
        return False
    if Path("/proc/self/stat").exists():
        fields = _proc_stat(pid)
        if fields == []:
            return False
        if fields:
            if fields[0] in ("Z", "X", "x"):
                return False
            if start_ticks is not None and process_start_ticks(pid) not in (None, start_ticks):
                return False
            return True
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
        self.journal_file = self.folder / f"journal-{self.pid}.bin"
        self.source: Path | None = None

    def start_session(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_session(saved=None, snapshot_seq=0)

    def set_source(self, source: Path | None) -> None:
        """Note the project being edited, so a recovery can name it (and save back to it)."""
        if source != self.source:
            self.source = source
            self._write_session(saved=None, snapshot_seq=0)

    def save(self, doc: Document, source: Path | None, snapshot_seq: int = 0) -> None:
        """Write the autosave (atomically) and note it, with the last journal record it holds, in the session file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        save_project(doc, self.autosave_file)
        self.source = source
        self._write_session(saved=time.time(), snapshot_seq=snapshot_seq)

    def remove_autosave(self) -> None:
        self.autosave_file.unlink(missing_ok=True)

    def end_session(self) -> None:
        """A clean exit: nothing to recover."""
        self.remove_autosave()
        self.journal_file.unlink(missing_ok=True)
        self.session_file.unlink(missing_ok=True)

    def recoverable(self) -> list[Recoverable]:
        """Autosaves of sessions whose process is gone, newest first; stale session files are removed."""
        found = []
        for session in sorted(self.folder.glob("session-*.json")):
            info = self._read_session(session) or {}
            pid = _int(info.get("pid"), -1)
            ticks = info.get("start_ticks")
            if pid == self.pid or pid_alive(pid, ticks if isinstance(ticks, int) else None):
                continue
            autosave = self.folder / f"autosave-{pid}.rpaint"
            journal = self.folder / f"journal-{pid}.bin"
            files = [path for path in (autosave, journal) if path.is_file()]
            if not files:
                session.unlink(missing_ok=True)  # crashed before anything needed saving
                continue
            source = info.get("source")
            newest = max(path.stat().st_mtime for path in files)
            saved_at = datetime.fromtimestamp(newest)
            found.append(
                Recoverable(
                    autosave,
                    session,
                    saved_at,
                    Path(source) if isinstance(source, str) and source else None,
                    journal if journal.is_file() else None,
                    _int(info.get("snapshot_seq"), 0),
                )
            )
        return sorted(found, key=lambda item: item.saved_at, reverse=True)

    def load(self, item: Recoverable, label_sets: dict[str, LabelSet] | None = None) -> Document:
        """The crashed session's document: its snapshot with the journal replayed on top.

        Raises ProjectError (naming the file) when neither the snapshot nor the journal gives a document.
        """
        snapshot, problem = None, None
        if item.autosave.is_file():
            try:
                snapshot = open_project(item.autosave, label_sets)
            except ProjectError as exc:
                problem = exc  # the journal may still hold a whole base
        records = []
        if item.journal is not None:
            try:
                records = read_records(item.journal)
            except JournalError as exc:
                log.warning("%s", exc)
        doc, applied = replay(records, snapshot, item.snapshot_seq if snapshot is not None else 0)
        if doc is None:
            raise problem or ProjectError(f"{item.journal or item.autosave}: nothing recoverable in it")
        log.info("recovered %s with %d journal records", item.autosave, applied)
        return doc

    def forget(self, item: Recoverable) -> None:
        item.autosave.unlink(missing_ok=True)
        if item.journal is not None:
            item.journal.unlink(missing_ok=True)
        item.session.unlink(missing_ok=True)

    def _write_session(self, saved: float | None, snapshot_seq: int) -> None:
        data = {
            "pid": self.pid,
            "start_ticks": process_start_ticks(self.pid),
            "started": time.time(),
            "source": None if self.source is None else str(self.source),
            "saved": saved,
            "snapshot_seq": snapshot_seq,
        }
        temp = self.session_file.with_suffix(f".{threading.get_ident()}.tmp")
        temp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temp, self.session_file)

    def _read_session(self, path: Path) -> dict | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.info("ignoring unreadable session file %s", path)
            return None
        return data if isinstance(data, dict) else None


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


class AutosaveManager(QObject):
    """Journals every finished edit; saves a snapshot ``interval_s`` seconds after the first unsaved edit."""

    def __init__(self, state: EditorState, store: AutosaveStore, interval_s: int, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.store = store
        self.journal = EditJournal(store.journal_file)
        self._changed = False
        self._thread: threading.Thread | None = None
        self._compact_through: int | None = None
        self.last_error: str | None = None
        self._interval_ms = max(1, interval_s) * 1000
        # Single shot, started by the first change after a snapshot: the interval counts from the
        # first unsaved edit, not from when the editor started.
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self._on_timer)
        state.renderInputsChanged.connect(self._on_change)
        state.historyChanged.connect(self._on_history)
        state.dirtyChanged.connect(self._on_dirty)
        state.documentReplaced.connect(self._on_replaced)

    def start(self) -> None:
        self.store.start_session()

    @property
    def timer_active(self) -> bool:
        return self._timer.isActive()

    def _on_change(self) -> None:
        self._changed = True
        if not self._timer.isActive():
            self._timer.start(self._interval_ms)

    def _on_dirty(self, dirty: bool) -> None:
        if dirty:
            self._journal_edit()  # the first unsaved change starts the journal with the whole document
            if not self._timer.isActive():
                self._timer.start(self._interval_ms)
        else:
            self._discard()  # saved (or replaced): the file on disk holds everything

    def _on_history(self) -> None:
        if self.state.dirty:
            self._journal_edit()

    def _on_replaced(self) -> None:
        self._discard()
        self.store.set_source(self.state.project_path)
        self._changed = self.state.dirty

    def _journal_edit(self) -> None:
        doc = self.state.document
        if doc is None or doc.history.is_grouping:
            return  # mid-stroke: the finished stroke is journaled when its group closes
        try:
            self._compact_if_due()
            if not self.journal.started:
                self.journal.start(doc)
            else:
                self.journal.record(doc)
        except (OSError, ValueError) as exc:  # a full disk must not take the editor down
            log.warning("edit journal failed: %s", exc)
            self.last_error = str(exc)
            self.journal.close()
            return
        if self.journal.size_bytes() > COMPACT_BYTES and not self._saving():
            self.autosave_now()

    def _discard(self) -> None:
        self._timer.stop()
        self._changed = False
        if self._thread is not None:
            self._thread.join()  # a snapshot still being written would reappear after its removal
        self._compact_through = None
        self.journal.remove()
        self.store.remove_autosave()

    def _saving(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _compact_if_due(self) -> None:
        if self._compact_through is not None and not self._saving():
            through, self._compact_through = self._compact_through, None
            self.journal.compact(through)

    def _on_timer(self) -> None:
        if not self.autosave_now() and self._changed and self.state.dirty:
            self._timer.start(RETRY_MS)
        else:
            self._compact_if_due()

    def autosave_now(self, wait: bool = False) -> bool:
        """Snapshot if needed; returns True when a save was started. ``wait`` blocks until it is written."""
        doc = self.state.document
        if doc is None or not self.state.dirty:
            self._changed = False
            self.store.remove_autosave()
            return False
        if not self._changed or self._saving():
            return False
        if doc.history.is_grouping:
            return False  # mid-stroke: the retry saves the finished stroke
        self._changed = False
        copy, source, seq = snapshot(doc), self.state.project_path, self.journal.seq
        self._thread = threading.Thread(target=self._save, args=(copy, source, seq), name="regionpaint-autosave")
        self._thread.start()
        if wait:
            self._thread.join()
            self._compact_if_due()
        return True

    def _save(self, doc: Document, source: Path | None, seq: int) -> None:
        try:
            self.store.save(doc, source, snapshot_seq=seq)
            self.last_error = None
            self._compact_through = seq  # the GUI thread compacts: it is the one appending
        except Exception as exc:  # a full disk must not take the editor down; the next change retries
            log.warning("autosave failed: %s", exc)
            self.last_error = str(exc)
            self._changed = True

    def stop(self, clean: bool) -> None:
        """Stop the timer, wait for a save in progress; ``clean`` deletes the session's files."""
        self._timer.stop()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.journal.close()
        if clean:
            self.store.end_session()
