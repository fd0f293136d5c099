"""Autosave and crash recovery, driven by the editor.

Every editor session keeps its recovery files in the autosave folder under a session id of its own
(:mod:`regionpaint.app.model.recovery`: never keyed on the pid). From the first unsaved edit, every finished edit
(stroke, fill, style, engine or composite change, undo, redo) is appended to the journal
(:mod:`regionpaint.app.model.journal`) and handed to the OS at once, so a crash loses at most the stroke in
progress; the journal's base is the whole document as it was when last clean, every member and setting,
and its records say how the undo history moved, so recovery gives back the document and its history. N
seconds after the first unsaved edit, a snapshot of the document is written on a background thread
(painting never waits for PNG encoding); once the journal's edits pass :data:`KEEP_HISTORY_BYTES`, it is
compacted to what came after the latest snapshot. A clean exit, or saving the document, deletes the
files. Each document the editor opens gets a key, written into the session file and every journal record,
so that a journal is only ever replayed onto its own document. Prompts are plain callables, so tests need
no dialogs.
"""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from regionpaint.app.model.document import Document
from regionpaint.app.model.file_stamp import FileStamp
from regionpaint.app.model.journal import EditJournal
from regionpaint.app.model.recovery import (  # noqa: F401 - re-exported: where callers have always found them
    AutosaveStore,
    Recoverable,
    Recovered,
    SessionLock,
    pid_alive,
    process_start_ticks,
)
from regionpaint.app.qt.editor_state import EditorState

log = logging.getLogger(__name__)


#: Retry soon when a snapshot was due mid-stroke or while the previous one was still being written.
RETRY_MS = 1000
#: The journal keeps every edit since its base (so recovery rebuilds the whole undo history) until they take
#: this much; then a snapshot is written and the journal compacted to what came after it (the history
#: recovered then starts at that snapshot). Measured on the 2048×1024 Cityscapes photo document: a 500-px
#: brush stroke takes 58 kB (its box of label and instance pixels), so ~1,100 such strokes; replaying 200 of
#: them takes 0.3 s. (The limit that triggered a snapshot before the history was journaled was also 64 MiB.)
KEEP_HISTORY_BYTES = 64 * 1024 * 1024


def snapshot(doc: Document) -> Document:
    """A copy that later edits cannot change: pixel layers are copied, everything else is immutable."""
    copy = Document(doc.label, doc.label_set_id, photo=doc.photo, instance=doc.instance)
    if doc.baseline is not None:
        copy.set_baseline(doc.baseline, doc.baseline_instance)
    copy.replace_fields(
        style_sources=dict(doc.style_sources),
        region_styles=dict(doc.region_styles),
        default_style=doc.default_style,
        crossover=dict(doc.crossover),
        engine=doc.engine,
        composite=doc.composite,
    )
    copy.last_render = doc.last_render
    return copy


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
        state.compositeChanged.connect(self._on_change)
        state.historyChanged.connect(self._on_history)
        state.dirtyChanged.connect(self._on_dirty)
        state.documentReplaced.connect(self._on_replaced)

    def start(self) -> None:
        self.store.start_session()

    @property
    def timer_active(self) -> bool:
        return self._timer.isActive()

    def note_source(self, source: Path | None, stamp: FileStamp | None) -> None:
        """The document was opened from, or saved to, ``source`` (with that file's stamp then)."""
        self.store.set_source(source, stamp)

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
            self._discard()  # saved: the file on disk holds everything
            self._prime()

    def _on_history(self) -> None:
        if self.state.dirty:
            self._journal_edit()

    def _on_replaced(self) -> None:
        self._discard()
        # A key of its own for every document: the journal's records carry it, so a journal is never
        # replayed onto another document.
        self.journal.document = uuid.uuid4().hex
        self.store.set_document(self.journal.document, self.state.project_path)
        self._prime()
        self._changed = self.state.dirty

    def _prime(self) -> None:
        """The document is clean: it is the base of the next journal (so its first edit can be undone after
        recovery too)."""
        if self.state.document is not None:
            self.journal.prime(self.state.document)

    def _journal_edit(self) -> None:
        doc = self.state.document
        if doc is None or doc.history.is_grouping:
            return  # mid-stroke: the finished stroke is journaled when its group closes
        try:
            self._compact_if_due()
            if not self.journal.started:
                self.journal.start(doc)
            self.journal.record(doc)
        except (OSError, ValueError) as exc:  # a full disk must not take the editor down
            log.warning("edit journal failed: %s", exc)
            self.last_error = str(exc)
            self.journal.close()
            return
        if self.journal.bytes_since_base > KEEP_HISTORY_BYTES and not self._saving():
            self._changed = True
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
        compact = self.journal.bytes_since_base > KEEP_HISTORY_BYTES
        args = (copy, source, seq, self.journal.document, compact)
        self._thread = threading.Thread(target=self._save, args=args, name="regionpaint-autosave")
        self._thread.start()
        if wait:
            self._thread.join()
            self._compact_if_due()
        return True

    def _save(self, doc: Document, source: Path | None, seq: int, document: str, compact: bool) -> None:
        try:
            self.store.save(doc, source, snapshot_seq=seq, document=document)
            self.last_error = None
            if compact:  # below the limit the journal keeps every step, for the history recovery rebuilds
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
