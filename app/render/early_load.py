"""The editor's head start: import torch and load the opening document's checkpoint while the window is built.

``regionpaint gui --open DOC`` (and ``--demo``) calls :func:`start` before it imports Qt. A background thread
then loads libtorch (GIL released: :func:`regionpaint.app.render.torch_preload.preload_torch_libraries`), imports
torch and loads the engine and checkpoint that DOC's ``doc.json`` names into the process's render service, the
cache the render thread renders from. Before, all of that began only once the window was built and the document
opened: the window waited on nothing, and the first render waited on everything.

The render thread calls :func:`wait_once` before its own first load, so the two never load the same checkpoint
at once; only the first caller waits, and at most :data:`WAIT_S` seconds, so a ``load()`` that hangs here cannot
hang the render thread that the editor starts after giving up on the first one (Stop waiting).

Best effort throughout: a project that cannot be read, an unknown engine, a failing load all leave the work to
the render thread, which reports the problem as it always did. What this thread loads is a guess made before
the window offers recovered work: if the document that opens uses another checkpoint, the render thread loads
that one as before (the cache holds one model at a time).
"""

from __future__ import annotations

import logging
import threading
import time
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

THREAD_NAME = "regionpaint-early-load"
# The render thread waits this long at most for the head start, then loads by itself. Generous: torch's import
# alone took 20 s at load average 20 on 2 cores, and a load that truly hangs is caught sooner by the editor's
# watchdog (Stop waiting starts a fresh render thread, which does not wait again).
WAIT_S = 300.0
PROJECT_JSON = "doc.json"

_lock = threading.Lock()
_thread: threading.Thread | None = None
_waited = False
#: Wall-clock times (``time.time()``) of the head start's steps, for the start-up probe: "torch_imported",
#: "checkpoint_loaded".
times: dict[str, float] = {}


def planned_checkpoint(project: Path) -> tuple[str, str, str] | None:
    """(engine id, checkpoint, device) that ``project``'s ``doc.json`` names, the checkpoint resolved beside the
    project as opening it does; None when it names none or cannot be read (opening it will say why)."""
    from regionpaint.untrusted import loads_json, open_regular

    try:
        with open_regular(project) as handle, zipfile.ZipFile(handle) as archive:
            info = archive.getinfo(PROJECT_JSON)
            if info.file_size > 1 << 20:  # doc.json is a few kB; anything larger is not worth a guess
                return None
            data = loads_json(archive.read(info), f"{project}:{PROJECT_JSON}")
    except Exception as exc:  # noqa: BLE001 - a guess only: any problem is the real open's to report
        log.debug("no head start for %s: %s", project, exc)
        return None
    engine = data.get("engine") if isinstance(data, dict) else None
    if not isinstance(engine, dict):
        return None
    engine_id, checkpoint, device = (engine.get(key) or "" for key in ("engine_id", "checkpoint", "device"))
    if not all(isinstance(value, str) for value in (engine_id, checkpoint, device)) or not checkpoint:
        return None
    if not Path(checkpoint).is_absolute() and (project.parent / checkpoint).exists():
        checkpoint = str((project.parent / checkpoint).resolve())  # as app/model/project.py resolves it
    return engine_id, checkpoint, device or "auto"


def start(project: str | Path | None) -> bool:
    """Start the head start for ``project`` (once per process); False when there is nothing to load."""
    global _thread
    if project is None:
        return False
    planned = planned_checkpoint(Path(project))
    if planned is None:
        return False
    with _lock:
        if _thread is not None:
            return False
        _thread = threading.Thread(target=_load, args=planned, name=THREAD_NAME, daemon=True)
        _thread.start()
    return True


def _load(engine_id: str, checkpoint: str, device: str) -> None:
    from regionpaint.app.render.torch_preload import preload_torch_libraries

    try:
        preload_torch_libraries()
        import torch  # noqa: F401  (off the UI thread: the window never waits for it)

        times["torch_imported"] = time.time()
        from regionpaint.app.render.service import default_service

        service = default_service()
        engine_class = service.engine_class(engine_id, checkpoint)
        service.capabilities(engine_class.id, checkpoint)  # read once, cached: the render thread asks first thing
        service.load(engine_class, checkpoint, device)
        times["checkpoint_loaded"] = time.time()
    except Exception as exc:  # noqa: BLE001 - the render thread loads again and reports it
        log.debug("head start for %s failed: %s", checkpoint, exc)


def wait_once(timeout_s: float = WAIT_S) -> None:
    """On the render thread, before loading: let the head start finish (only the first caller waits)."""
    global _waited
    with _lock:
        thread, first = _thread, not _waited
        _waited = True
    if thread is not None and first and thread is not threading.current_thread():
        thread.join(timeout_s)

