"""The render worker: loads engines and runs them on its own thread (the only place torch is imported).

A :class:`RenderWorker` lives on a QThread; :class:`app.qt.render_controller.RenderController` hands
it one :class:`RenderJob` at a time and receives a :class:`RenderOutcome`, success or failure. Every
error becomes a one-line message: the editor must survive a bad checkpoint or running out of memory.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from app.qt.torch_preload import preload_torch_libraries
from engines.base import EngineError, RenderRequest
from engines.common.memory import keep_working_memory
from plugins.manager import PluginError

log = logging.getLogger(__name__)


@dataclass
class RenderJob:
    """One render: what the controller built from the document at ``created`` (perf_counter seconds)."""

    job_id: int
    document_id: int  # EditorState.document_serial when the job was built
    engine_id: str
    checkpoint: str
    device: str
    request: RenderRequest
    options: dict[str, Any] = field(default_factory=dict)  # the document's engine options
    fitted: bool = True  # False: the engine was unknown, fit the request once it is recognised
    created: float = field(default_factory=time.perf_counter)
    edited: float = field(default_factory=time.perf_counter)  # when the edit that asked for it happened


@dataclass
class RenderOutcome:
    job: RenderJob
    image: np.ndarray | None = None  # (H, W, 3) uint8 RGB
    seconds: float = 0.0  # the engine's own time (generate only)
    engine_id: str = ""
    device: str = ""
    loaded: bool = False  # this job loaded the checkpoint
    info: dict[str, Any] = field(default_factory=dict)  # the engine's RenderResult.info
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def describe_error(exc: BaseException, device: str = "") -> str:
    """A one-line message a person can act on."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if isinstance(exc, MemoryError) or name == "OutOfMemoryError" or "out of memory" in text.lower():
        where = f" on {device}" if device else ""
        return f"Out of memory{where}: try the CPU device or a smaller output size ({text or name})"
    if isinstance(exc, (EngineError, PluginError)):
        return text or name
    return f"{name}: {text}" if text else name


_shared_cache: Any = None  # engines.cache.EngineCache shared by every window of the process
_shared_cache_lock = threading.Lock()


def engine_cache() -> Any:
    """The process's engine cache: one loaded model at a time, kept when a document or window closes,
    so reopening with the same checkpoint does not load it again."""
    global _shared_cache
    with _shared_cache_lock:
        if _shared_cache is None:
            from engines.cache import EngineCache

            _shared_cache = EngineCache()
        return _shared_cache


def release_engines() -> None:
    """Free the loaded model (at exit, or to give the GPU memory back)."""
    with _shared_cache_lock:
        if _shared_cache is not None:
            _shared_cache.release()


class RenderWorker(QObject):
    """Runs jobs on the thread it was moved to; emits :attr:`done` with a :class:`RenderOutcome`."""

    done = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._recognised: dict[tuple[str, float], str] = {}
        self._last_engine: Any = None

    @Slot(object)
    def render(self, job: RenderJob) -> None:
        preload_torch_libraries()  # once: keeps the first render from freezing the window
        keep_working_memory()  # once: renders reuse their temporaries (engines/common/memory.py)
        try:
            outcome = self._render(job)
        except Exception as exc:  # every failure is reported; the thread and the editor live on
            if not isinstance(exc, (EngineError, PluginError)):
                log.exception("render %d failed", job.job_id)
            outcome = RenderOutcome(job, error=describe_error(exc, job.device))
        self.done.emit(outcome)

    def _render(self, job: RenderJob) -> RenderOutcome:
        from app.render_request import fit_request_to_engine, prepare_engine_styles

        engine_class = self._engine_class(job.engine_id, job.checkpoint)
        request = job.request
        if not job.fitted:
            request = fit_request_to_engine(request, job.options, engine_class.capabilities)
        engine = engine_cache().get(engine_class, job.checkpoint, job.device)
        loaded, self._last_engine = engine is not self._last_engine, engine
        prepare_engine_styles(engine, request)
        result = engine.generate(request)
        return RenderOutcome(
            job,
            image=result.image,
            seconds=float(result.seconds),
            engine_id=engine_class.id,
            device=str(engine.device),
            loaded=loaded,
            info=dict(result.info),
        )

    def _engine_class(self, engine_id: str, checkpoint: str) -> type:
        from plugins.manager import get_plugin_manager

        manager = get_plugin_manager()
        if engine_id:
            return manager.engine_class(engine_id)
        path = Path(checkpoint)
        try:
            key = (str(path.resolve()), path.stat().st_mtime)
        except OSError:
            key = (str(path), 0.0)
        if key not in self._recognised:
            from engines.common.checkpoint import inspect_checkpoint

            self._recognised[key] = manager.engine_for_checkpoint(inspect_checkpoint(path)).id
        return manager.engine_class(self._recognised[key])
