"""The autosave folder: one set of files per editor session, and the search for the work of crashed ones.

Each running editor session owns, in the autosave folder, files named by a random session id (never by
the pid: an editor in a PID namespace, Flatpak say, gets the crashed one's pid again)::

    session-<id>.json    the pid, the document being edited (its key and the project it came from, with the
                         project's stamp as opened), and which journal record the snapshot holds
    session-<id>.lock    locked (flock) for as long as the session runs: the kernel lets go when the process
                         dies, however it dies, so a lock nobody holds means a crashed session
    journal-<id>.bin     the edit journal (app/model/journal.py)
    autosave-<id>.rpaint the last snapshot

A clean exit or a save deletes the session's journal and snapshot. On the next start, a session whose lock
nobody holds and that still has a journal or a snapshot is offered for recovery; its lock is then held by
the editor that offered it (so a second editor started at the same time does not offer it too) until it is
recovered, discarded, or that editor exits. A journal or snapshot that recovery cannot read, or a journal
that belongs to another document, is set aside (renamed ``*.unreadable-<time>`` / ``*.foreign-<time>``, kept,
never replayed) and the person is told. Session files of older versions (named by pid) are still found.

No Qt here; :mod:`regionpaint.app.qt.autosave` drives it from the editor.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from regionpaint.app.model.document import Document
from regionpaint.app.model.file_stamp import FileStamp
from regionpaint.app.model.journal import JournalContents, JournalError, read_journal, replay_journal
from regionpaint.app.model.labelsets import LabelSet
from regionpaint.app.model.project import ProjectError, open_project, save_project
from regionpaint.file_lock import try_lock
from regionpaint.untrusted import UntrustedFileError, read_json

log = logging.getLogger(__name__)

#: A session id: 32 hex digits (uuid4), or the pid of a session file written by an older version.
_SESSION_NAME = re.compile(r"^session-([0-9a-f]{32}|[0-9]{1,10})\.json$")
#: A session file is a few hundred bytes; anything larger is not one of ours.
MAX_SESSION_BYTES = 64 * 1024


# -- is the process alive? ------------------------------------------------------------------------
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
    Only for session files of older versions: sessions now hold a :class:`SessionLock`.
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


# -- the session lock ---------------------------------------------------------------------------
class SessionLock:
    """An exclusive lock on a file, held while a session runs; the kernel releases it when the process dies.

    ``flock`` (POSIX) or ``msvcrt.locking`` (Windows), taken without waiting. The ``filelock`` package does
    the same but adds ~60 ms to the editor's start-up (measured: ``python -X importtime -c "import filelock"``,
    filelock 4.3); :func:`regionpaint.file_lock.try_lock` is what it would do here (the batch lock uses it
    too). Locks belong to an open file, so two sessions in one process (tests) exclude each other too.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, create: bool = True) -> bool:
        """Take the lock; False when another session holds it or locking is not possible here."""
        if self._fd is not None:
            return True
        flags = os.O_RDWR | (os.O_CREAT if create else 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError:
            return False
        if try_lock(fd):
            self._fd = fd
            return True
        os.close(fd)
        return False

    def __del__(self) -> None:
        try:
            self.release()  # a store dropped without ending its session lets go of what it claimed
        except Exception:  # noqa: BLE001 - at interpreter exit os may be gone; the kernel lets go anyway
            pass

    def release(self, remove: bool = False) -> None:
        if getattr(self, "_fd", None) is None:
            return
        if remove:
            self.path.unlink(missing_ok=True)  # before unlocking: no one can lock the old file after us
        os.close(self._fd)  # closing the file drops the lock
        self._fd = None

    @staticmethod
    def is_held(path: Path) -> bool | None:
        """Whether a live session holds the lock at ``path``; None when there is no lock file or no answer."""
        try:
            fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None
        try:
            locked = try_lock(fd)
            if locked is None:
                return None
            return not locked  # taking it succeeded: nobody held it (closing below lets it go again)
        finally:
            os.close(fd)


# -- what a crashed session left ----------------------------------------------------------------
@dataclass(frozen=True)
class Recoverable:
    autosave: Path
    session: Path
    saved_at: datetime
    source: Path | None  # the project the crashed session was editing, if it had been saved
    journal: Path | None = None  # the crashed session's edit journal, when it has one
    snapshot_seq: int = 0  # the last journal record the snapshot holds
    session_id: str = ""
    document: str | None = None  # the key of the document it was editing (None: an older version's session)
    snapshot_document: str | None = None  # the key of the document the snapshot is of
    source_stamp: FileStamp | None = None  # the project file as that session opened or last saved it

    def describe(self) -> str:
        name = self.source.name if self.source else "Untitled"
        where = f" ({self.source})" if self.source else ""
        return f"{name} — unsaved work from {self.saved_at:%Y-%m-%d %H:%M:%S}{where}"


@dataclass
class Recovered:
    """A recovered document, and what the person should be told about how it was recovered."""

    document: Document
    notes: list[str] = field(default_factory=list)


class AutosaveStore:
    """The files of one session and the search for crashed sessions (no Qt)."""

    def __init__(self, folder: Path, pid: int | None = None, session_id: str | None = None) -> None:
        self.folder = Path(folder)
        self.pid = os.getpid() if pid is None else pid
        self.session_id = session_id or uuid.uuid4().hex
        self.session_file = self.folder / f"session-{self.session_id}.json"
        self.lock_file = self.folder / f"session-{self.session_id}.lock"
        self.autosave_file = self.folder / f"autosave-{self.session_id}.rpaint"
        self.journal_file = self.folder / f"journal-{self.session_id}.bin"
        self.source: Path | None = None
        self.source_stamp: FileStamp | None = None
        self.document = ""  # the key of the document being edited (regionpaint.app.qt.autosave gives each its own)
        self._saved: float | None = None
        self._snapshot_seq = 0
        self._snapshot_document = ""
        self._lock = SessionLock(self.lock_file)
        self._claims: dict[str, SessionLock] = {}  # crashed sessions this editor offered, by id

    def start_session(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self._lock.acquire():
            log.warning("%s: cannot be locked; crashed sessions are told apart by their pid", self.lock_file)
        self._write_session()

    def set_document(self, document: str, source: Path | None, stamp: FileStamp | None = None) -> None:
        """Note the document being edited (its key, and the project it came from with that file's stamp), so
        that a recovery can name it, save back to it, and notice whether it changed on disk since."""
        self.document, self.source, self.source_stamp = document, source, stamp
        self._write_session()

    def set_source(self, source: Path | None, stamp: FileStamp | None = None) -> None:
        """The document was saved (to ``source``): name the file and its stamp now."""
        self.set_document(self.document, source, stamp)

    def save(self, doc: Document, source: Path | None, snapshot_seq: int = 0, document: str | None = None) -> None:
        """Write the autosave (atomically) and note it, with the last journal record it holds, in the session file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        save_project(doc, self.autosave_file)
        self._saved, self._snapshot_seq = time.time(), snapshot_seq
        self._snapshot_document = self.document if document is None else document
        self.source = source
        self._write_session()

    def remove_autosave(self) -> None:
        self.autosave_file.unlink(missing_ok=True)

    def end_session(self) -> None:
        """A clean exit: nothing to recover. Crashed sessions offered but not recovered are offered again."""
        self.remove_autosave()
        self.journal_file.unlink(missing_ok=True)
        self.session_file.unlink(missing_ok=True)
        self._lock.release(remove=True)
        for claim in self._claims.values():
            claim.release()
        self._claims.clear()

    def abandon(self) -> None:
        """Let go of the session's lock and claims, leaving its files: what a crash does (tests use it)."""
        self._lock.release()
        for claim in self._claims.values():
            claim.release()
        self._claims.clear()

    # -- finding crashed sessions ---------------------------------------------------------------
    def recoverable(self) -> list[Recoverable]:
        """The work of sessions that are not running, newest first; stale session files are removed.

        Each one found is claimed (its lock held by this store) so that another editor does not offer it too.
        """
        found = []
        for session in sorted(self.folder.glob("session-*.json")):
            match = _SESSION_NAME.match(session.name)
            if match is None or match.group(1) == self.session_id:
                continue
            session_id = match.group(1)
            info = self._read_session(session) or {}
            if not self._claim(session_id, info):
                continue
            autosave = self.folder / f"autosave-{session_id}.rpaint"
            journal = self.folder / f"journal-{session_id}.bin"
            files = [path for path in (autosave, journal) if path.is_file()]
            if not files:
                self._forget_files(session_id, session, (autosave, journal))  # crashed before there was work
                continue
            source = info.get("source")
            newest = max(path.stat().st_mtime for path in files)
            found.append(
                Recoverable(
                    autosave,
                    session,
                    datetime.fromtimestamp(newest),
                    Path(source) if isinstance(source, str) and source else None,
                    journal if journal.is_file() else None,
                    _int(info.get("snapshot_seq"), 0),
                    session_id,
                    _text(info.get("document")),
                    _text(info.get("snapshot_document")),
                    FileStamp.from_json(info.get("source_stamp")),
                )
            )
        return sorted(found, key=lambda item: item.saved_at, reverse=True)

    def _claim(self, session_id: str, info: dict) -> bool:
        """Whether the session is not running, holding its lock from now on (True: its work may be offered)."""
        if session_id in self._claims:
            return True
        lock = SessionLock(self.folder / f"session-{session_id}.lock")
        if lock.path.exists():
            if lock.acquire(create=False):
                self._claims[session_id] = lock
                return True
            if SessionLock.is_held(lock.path) is True:
                return False  # a running editor's session (or one another editor is offering)
        # No lock (an older version's session) or no answer from it: the pid and its start time decide.
        pid, ticks = _int(info.get("pid"), -1), info.get("start_ticks")
        return not pid_alive(pid, ticks if isinstance(ticks, int) and not isinstance(ticks, bool) else None)

    # -- recovering --------------------------------------------------------------------------------
    def load(self, item: Recoverable, label_sets: dict[str, LabelSet] | None = None) -> Recovered:
        """The crashed session's document: its snapshot and journal replayed, with its undo history.

        A journal or snapshot that cannot be read, or a journal of another document, is set aside (kept,
        renamed) and said in :attr:`Recovered.notes`; what could be read is recovered. Raises ProjectError
        (naming the file) when nothing gives a document.
        """
        notes: list[str] = []
        snapshot = None
        if item.autosave.is_file():
            if item.document is not None and item.snapshot_document != item.document:
                log.info("%s is a snapshot of another document of its session; not used", item.autosave)
            else:
                try:
                    snapshot = open_project(item.autosave, label_sets)
                except ProjectError as exc:
                    kept = self.set_aside(item.autosave, "unreadable")
                    notes.append(f"The autosave snapshot could not be read ({exc}); it is kept as {kept}.")
        contents = JournalContents([])
        if item.journal is not None and item.journal.is_file():
            try:
                contents = read_journal(item.journal)
            except JournalError as exc:
                contents = JournalContents([], str(exc))
            if item.document is not None and any(record.document != item.document for record in contents.records):
                kept = self.set_aside(item.journal, "foreign")
                notes.append(
                    f"The edit journal {item.journal.name} belongs to another document, so it was not replayed "
                    f"onto this one; it is kept as {kept}."
                )
                contents = JournalContents([])
        result = replay_journal(contents.records, snapshot, item.snapshot_seq if snapshot is not None else 0)
        problem = contents.problem or result.problem
        if problem and item.journal is not None and item.journal.is_file():
            kept = self.set_aside(item.journal, "unreadable")
            notes.append(
                f"The edit journal could not be read to its end: {problem}. The edits before it are recovered; "
                f"the journal is kept as {kept}."
                if result.document is not None
                else f"The edit journal could not be read: {problem}. It is kept as {kept}."
            )
        if result.document is None:
            what = item.journal or item.autosave
            raise ProjectError(f"{what}: nothing recoverable in it. " + " ".join(notes))
        log.info("recovered %s with %d journal records", item.session.name, result.applied)
        return Recovered(result.document, notes)

    def set_aside(self, path: Path, why: str) -> Path:
        """Rename a recovery file regionpaint will not use (kept for the person, never deleted by regionpaint)."""
        kept = path.with_name(f"{path.name}.{why}-{datetime.now():%Y%m%d-%H%M%S}")
        try:
            os.replace(path, kept)
        except OSError as exc:
            log.warning("could not set %s aside: %s", path, exc)
            return path
        log.warning("set aside %s as %s", path, kept.name)
        return kept

    def forget(self, item: Recoverable) -> None:
        """The work was recovered or discarded: delete the crashed session's files."""
        self._forget_files(item.session_id, item.session, (item.autosave, item.journal))

    def _forget_files(self, session_id: str, session: Path, files: tuple[Path | None, ...]) -> None:
        for path in files:
            if path is not None:
                path.unlink(missing_ok=True)
        session.unlink(missing_ok=True)
        claim = self._claims.pop(session_id, None)
        if claim is not None:
            claim.release(remove=True)

    # -- the session file --------------------------------------------------------------------------
    def _write_session(self) -> None:
        data = {
            "session": self.session_id,
            "pid": self.pid,
            "start_ticks": process_start_ticks(self.pid),
            "document": self.document,
            "source": None if self.source is None else str(self.source),
            "source_stamp": None if self.source_stamp is None else self.source_stamp.to_json(),
            "saved": self._saved,
            "snapshot_seq": self._snapshot_seq,
            "snapshot_document": self._snapshot_document,
        }
        temp = self.session_file.with_name(f"{self.session_file.name}.{threading.get_ident()}.tmp")
        temp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temp, self.session_file)

    def _read_session(self, path: Path) -> dict | None:
        try:
            if path.stat().st_size > MAX_SESSION_BYTES:
                raise UntrustedFileError(f"{path}: larger than a session file")
            data = read_json(path)
        except (OSError, UntrustedFileError) as exc:
            log.info("ignoring unreadable session file %s (%s)", path, exc)
            return None
        return data if isinstance(data, dict) else None


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
