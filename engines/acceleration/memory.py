"""How render and training processes keep their working memory: glibc told not to give it back.

A generator forward allocates the same few hundred MB of large temporaries on every call. glibc serves
blocks above ``M_MMAP_THRESHOLD`` with a fresh ``mmap`` and unmaps them on free, and trims the heap top
above ``M_TRIM_THRESHOLD``; every call then faults the same pages in again (measured on full-size SEAN:
~1.4 M minor faults and ~2.6 s of system time per forward, and a run-to-run spread of 4.5-8 s).
:func:`keep_working_memory` turns both off, so freed blocks stay in the heap and the next call reuses
them: the process keeps its peak working set (about one forward's temporaries) instead of paying for it
again. ``bench.engine_speed`` measures the difference side by side (``--allocator default``).

Set ``REGIONPAINT_MALLOC=default`` to leave the allocator alone. Elsewhere than glibc this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

# glibc <malloc.h> parameter numbers.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
# mallopt takes an int: the largest trim threshold it accepts (never trim the heap top in practice).
NEVER_TRIM = 2**31 - 1
ENV = "REGIONPAINT_MALLOC"

_applied: bool | None = None


def keep_working_memory() -> bool:
    """Stop glibc from returning freed large blocks to the OS (once per process).

    Returns True when the settings are in effect (now or from an earlier call), False where they do not
    apply (not Linux/glibc, or ``REGIONPAINT_MALLOC=default``).
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get(ENV, "").strip().lower() == "default" or not sys.platform.startswith("linux"):
        return False
    libc = _glibc()
    if libc is None:
        return False
    # M_MMAP_MAX 0: every block comes from the heap, so a free never unmaps it; no trim: the heap keeps it.
    ok = bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, NEVER_TRIM))
    if not ok:
        log.debug("mallopt refused the working-memory settings")
    _applied = ok
    return ok


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
        libc.gnu_get_libc_version  # noqa: B018  (only glibc has it: musl's mallopt is a stub)
    except (OSError, AttributeError):
        return None
    return libc


def release_free_memory() -> None:
    """Hand the heap's free pages back to the OS now (``malloc_trim(0)``), e.g. after releasing a model."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def peak_rss_mb() -> float | None:
    """This process's peak resident set (VmHWM) in MiB, or None where /proc is absent."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux ``clear_refs`` 5), so :func:`peak_rss_mb` measures from now."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True
