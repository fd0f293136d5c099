"""PySide6's source scan of every imported module, skipped for libraries that never use PySide6 (torch above all).

Once ``PySide6.QtCore`` is imported, shiboken replaces ``__import__``, and after every import of a new module it
asks ``shibokensupport.feature._mod_uses_pyside(module)``, which reads the module's whole source with
``inspect.getsource`` and searches it for "PySide6" (to know which modules may opt in to
``from __feature__ import snake_case``). The editor imports torch on its render thread after Qt is up, and
torch is about a thousand modules: measured on the 2-core Xeon, 250-360 ms of the render thread's warm-up
(about a third of ``import torch``) went to reading torch's sources for that search, all of it before the
first render (a sampling of the render thread during ``regionpaint gui --demo``; napari/napari#8584 found the same).

:func:`skip_source_scan` wraps that function so modules of the libraries in :data:`PYSIDE_FREE` answer "does
not use PySide6" at once; every other module is scanned as before. A module that opts in to a ``__feature__``
is registered by the ``from __feature__ import ...`` statement itself, before this question is asked, so
nothing a feature needs is lost. Where shiboken has no such function (another release), nothing changes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)

# Top-level packages that never import PySide6: torch and what it pulls in, and this app's other
# numerical dependencies; and regionpaint itself, whose Qt modules use PySide6 but never a ``__feature__``
# (a module that does is registered by its own ``from __feature__ import`` first, so it is never asked).
PYSIDE_FREE = frozenset(
    {
        "torch", "torchgen", "functorch", "sympy", "mpmath", "networkx", "jinja2", "markupsafe", "filelock",
        "fsspec", "typing_extensions", "numpy", "PIL", "cv2", "safetensors", "tqdm", "platformdirs", "pluggy",
        "opt_einsum", "optree", "packaging", "setuptools", "pkg_resources", "google", "yaml", "regionpaint",
    }
)  # fmt: skip


def skip_source_scan(free: frozenset[str] = PYSIDE_FREE) -> bool:
    """Make PySide6's per-import source scan answer at once for modules of ``free`` packages (top-level names,
    or dotted prefixes such as ``pkg.sub``). True when installed (or already)."""
    feature = sys.modules.get("shibokensupport.feature")
    scan: Callable | None = getattr(feature, "_mod_uses_pyside", None)
    if scan is None:
        log.debug("no shibokensupport.feature._mod_uses_pyside here: PySide6's import scan left as it is")
        return False
    if getattr(scan, "skips", None) is not None:
        return True

    dotted = tuple(p for p in free if "." in p)

    def mod_uses_pyside(module) -> bool:
        name = getattr(module, "__name__", "") or ""
        if name.partition(".")[0] in free or any(name == p or name.startswith(p + ".") for p in dotted):
            return False
        return scan(module)

    mod_uses_pyside.skips = free  # type: ignore[attr-defined]
    mod_uses_pyside.scan = scan  # type: ignore[attr-defined]
    feature._mod_uses_pyside = mod_uses_pyside
    return True
