"""Operating-system errors in words a person can act on.

``[Errno 2] No such file or directory: '/x/.y.rpaint.m6xgvrfo.tmp'`` names a temporary file the person never
made; "the folder /x does not exist" says what to fix. The errno decides the words; anything unknown keeps
the system's own text (without the ``[Errno N]`` prefix).
"""

from __future__ import annotations

import errno
from pathlib import Path

_WORDS = {
    errno.ENOENT: "the folder {folder} does not exist",
    errno.ENOTDIR: "{folder} is not a folder",
    errno.EACCES: "you have no permission to write in {folder}",
    errno.EPERM: "you have no permission to write in {folder}",
    errno.EROFS: "{folder} is on a read-only disk",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "your disk quota is used up",
    errno.EISDIR: "{path} is a folder",
    errno.ENAMETOOLONG: "the file name is too long",
}


def write_error_words(path: Path, exc: OSError) -> str:
    """Why writing ``path`` failed: "the folder /x does not exist", "the disk is full", ..."""
    words = _WORDS.get(exc.errno or -1)
    if words is None:
        return exc.strerror or str(exc)
    return words.format(folder=Path(path).parent, path=path)
