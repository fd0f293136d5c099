"""A kernel lock on an open file, taken without waiting: released by the kernel when its process ends.

The one primitive behind the editor's session locks (crash recovery) and the batch output-folder lock. A
process killed with ``kill -9`` cannot leave a stale lock: its descriptors close and the lock goes with them.
``flock`` on POSIX, ``msvcrt.locking`` on Windows. Importable without the rest of regionpaint.
"""

from __future__ import annotations

import os


def try_lock(fd: int, windows_offset: int = 0) -> bool | None:
    """Lock ``fd`` exclusively without waiting: True (locked now), False (another holds it), None (this file
    system or platform cannot lock).

    ``windows_offset``: the byte ``msvcrt.locking`` locks; Windows locks bytes, and a locked byte cannot be
    read by others, so a file that carries a note for them locks a byte past it.
    """
    try:
        import fcntl
    except ImportError:
        fcntl = None
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError:  # e.g. ENOLCK: a network file system without lock support
            return None
        return True
    try:
        import msvcrt
    except ImportError:
        return None
    os.lseek(fd, windows_offset, os.SEEK_SET)
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True
