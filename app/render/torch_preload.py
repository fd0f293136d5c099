"""Load torch's native library without holding the GIL, so the first render does not freeze the window.

``import torch`` on the render thread still stops the UI thread for ~300 ms (measured on the dev
machines): the dynamic loader maps libtorch and runs its static initialisers inside the import, and
CPython holds the GIL for all of it. Calling ``dlopen`` through ctypes as a *foreign function* releases
the GIL for the call, so the render thread can do that heavy part first while the UI thread keeps
running; the ``import torch`` that follows finds the library loaded and stops the UI for ~40 ms.

Best effort: any problem (another platform, a layout we do not know) leaves loading to ``import torch``.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

_done = False


def _library() -> Path | None:
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return None
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    # libtorch pulls in libtorch_cpu, libc10 (and the CUDA libraries of a CUDA build) as dependencies.
    path = Path(spec.origin).parent / "lib" / f"libtorch{suffix}"
    return path if path.is_file() else None


def preload_torch_libraries() -> bool:
    """dlopen libtorch with the GIL released; True when it was loaded here. Call on the render thread."""
    global _done
    if _done or "torch" in sys.modules or not sys.platform.startswith(("linux", "darwin")):
        return False
    _done = True
    try:
        path = _library()
        if path is None:
            return False
        dlopen = ctypes.CDLL(None).dlopen  # a foreign function: ctypes drops the GIL while it runs
        dlopen.restype = ctypes.c_void_p
        dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
        handle = dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_GLOBAL)
    except (OSError, AttributeError) as exc:
        log.debug("torch preload skipped: %s", exc)
        return False
    if not handle:
        log.debug("torch preload: dlopen(%s) failed; import torch will load it", path)
        return False
    return True
