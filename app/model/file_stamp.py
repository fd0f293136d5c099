"""What a file on disk was when the editor read or wrote it: to notice that someone else saved over it since.

Two editors on one project: the second save would silently replace the first one's strokes. The editor keeps
the :class:`FileStamp` of the project as it opened or last saved it, and asks before saving over a file whose
stamp has changed. Saves replace the file by renaming a new one over it, so any save (by regionpaint or most
other programs) gives it a new inode; size and modification time catch in-place writes. When those differ
but the bytes are the same (a copy put back, ``touch``), the SHA-256 of the content says it is unchanged.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regionpaint import untrusted

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FileStamp:
    """A file's identity (device, inode), size, modification time (ns) and SHA-256 of its content."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    sha256: str

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> FileStamp | None:
        """The stamp of ``path`` now; None when it does not exist, cannot be read, or is no regular file (a FIFO
        would block the read forever: opening it is refused without blocking, see regionpaint.untrusted)."""
        try:
            with untrusted.open_regular(path) as handle:
                info = os.fstat(handle.fileno())
                digest = hashlib.sha256()
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
        except (OSError, untrusted.UntrustedFileError):
            return None
        return cls(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, digest.hexdigest())

    def unchanged(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` still holds what this stamp describes (a missing file has changed)."""
        try:
            info = os.stat(path)
        except OSError:
            return False
        if (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns) == (
            self.device,
            self.inode,
            self.size,
            self.mtime_ns,
        ):
            return True
        if info.st_size != self.size:
            return False
        now = FileStamp.of(path)
        return now is not None and now.sha256 == self.sha256

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "inode": self.inode,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "sha256": self.sha256,
        }

    @classmethod
    def from_json(cls, data: Any) -> FileStamp | None:
        """The stamp ``to_json`` wrote, or None for anything else (a session file is read as untrusted)."""
        if not isinstance(data, dict):
            return None
        numbers = [data.get(key) for key in ("device", "inode", "size", "mtime_ns")]
        digest = data.get("sha256")
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers):
            return None
        if not (isinstance(digest, str) and len(digest) == 64):
            return None
        return cls(*numbers, digest)


def same_file(a: Path | None, b: Path | None) -> bool:
    """Whether two paths name the same file (resolved; by inode where both exist)."""
    if a is None or b is None:
        return False
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return Path(a).resolve() == Path(b).resolve()
