"""One batch at a time per output folder: a lock the operating system releases when its process ends.

Two batches writing one folder would both render the maps neither had finished (their manifests do
not see each other's work in progress). :class:`FolderLock` takes ``OUT/.regionpaint-batch.lock``:

* The lock is the kernel's (``flock`` on POSIX, ``msvcrt.locking`` on Windows), held through an open file
  descriptor. A batch killed with ``kill -9`` cannot leave a stale lock: its process's descriptors close
  and the lock goes with them. A lock *file* left behind is harmless; only a held lock refuses.
* The file says who holds it (pid, host, start time), so the refusal can tell the person which batch.
* Released by deleting the file while still holding the lock. A batch that opened the old file just
  before sees, after locking it, that the name now points elsewhere (or nowhere) and tries again.

POSIX ``flock`` on network file systems is as reliable as the file system's lock support (NFSv4: yes).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from regionpaint.file_lock import try_lock

LOCK_NAME = ".regionpaint-batch.lock"
_WINDOWS_LOCK_OFFSET = 1 << 20  # a byte past the owner note: locked bytes cannot be read by others on Windows


class FolderLocked(ValueError):
    """Another batch holds the output folder; the message names the folder and that batch."""


class FolderLock:
    """``with FolderLock(out): ...`` holds ``out`` for this process (made if missing) or raises FolderLocked."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for _attempt in range(10):  # a retry only when a holder released between our open and our lock
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            locked = try_lock(fd, windows_offset=_WINDOWS_LOCK_OFFSET)
            if locked is None:
                os.close(fd)
                raise OSError(f"{str(self.folder)!r}: this file system cannot lock {LOCK_NAME}; choose another --out")
            if not locked:
                owner = self._read_owner(fd)
                os.close(fd)
                raise FolderLocked(
                    f"{str(self.folder)!r}: another regionpaint batch is writing to this folder ({owner}); "
                    "wait for it to finish, or choose another --out"
                )
            if self._still_named(fd):
                self._fd = fd
                self._write_owner(fd)
                return
            os.close(fd)
        raise FolderLocked(f"{str(self.folder)!r}: the batch lock {LOCK_NAME} keeps changing; try again")

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink()  # while still locked: nobody can hold the file we delete
        except OSError:  # Windows refuses to delete an open file; the lock itself goes with the descriptor
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- the owner note ------------------------------------------------------------------------------------
    def _still_named(self, fd: int) -> bool:
        try:
            named = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return os.name == "nt" or (named.st_dev, named.st_ino) == (mine.st_dev, mine.st_ino)

    @staticmethod
    def _write_owner(fd: int) -> None:
        note = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(note) + "\n").encode())

    @staticmethod
    def _read_owner(fd: int) -> str:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            note: Any = json.loads(os.read(fd, 4096).decode("utf-8", "replace"))
            return f"pid {int(note['pid'])} on {note['host']!r}, started {note['started']}"
        except (OSError, ValueError, KeyError, TypeError):  # written this very moment, or not by us
            return "it has not said which yet"
