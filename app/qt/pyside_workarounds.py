"""Work-arounds for bugs in the Qt bindings, applied once when :mod:`regionpaint.app.qt` is imported.

PySide6 6.12.0 on CPython 3.11 releases one reference to ``None`` too many on every call of a
method that returns nothing (``setText``, ``update``, ...). ``None`` starts with a few thousand
references, so after some thousands of such calls Python aborts with "Fatal Python error:
none_dealloc", i.e. the editor dies within minutes of painting. PySide6 6.11.3 does not have the bug,
and CPython 3.12+ does not count references to ``None`` (it is immortal there).

Why it stays although pyproject.toml excludes 6.12.0: the pin keeps pip from choosing that release,
but not a user's own environment (a conda or distro PySide6, or a later release with the same bug),
and the editor crashing mid-session loses work. The probe costs one QObject and 64 calls at start-up
and changes nothing where the bug is absent (6.11.3 here: ``protect_none_refcount`` returns False).

The fix here is detected, not version-matched: call a void method a few times and see whether
``None`` lost references. If it did, give ``None`` so many references (2**40) that the leak can
never reach zero. Nothing else changes; the proper cure is a PySide6 release without the bug.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

PROBE_CALLS = 64
EXTRA_REFERENCES = 1 << 40


def none_loses_references() -> bool:
    """True when a void PySide6 call drops a reference to None (the 6.12.0 / CPython 3.11 bug)."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(PROBE_CALLS):
        probe.setObjectName("probe")
    return before - sys.getrefcount(None) >= PROBE_CALLS // 2


def protect_none_refcount() -> bool:
    """Apply the work-around when the bug is present; returns True when it was applied."""
    if sys.version_info >= (3, 12) or hasattr(sys, "gettotalrefcount") or sys.implementation.name != "cpython":
        return False  # immortal None, a debug build's refcount checks, or another object layout
    if not none_loses_references():
        return False
    # ob_refcnt is the first field of every object in a release build of CPython 3.11.
    refcount = ctypes.c_ssize_t.from_address(id(None))
    refcount.value += EXTRA_REFERENCES
    import PySide6

    log.warning(
        "PySide6 %s leaks references to None on this Python; applied a work-around. "
        "Use PySide6-Essentials 6.11.3 (or a fixed later release) to get rid of it.",
        PySide6.__version__,
    )
    return True
