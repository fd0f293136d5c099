"""The editor's side of a render: what runs on the render thread, as a superqt generator worker.

:class:`regionpaint.app.qt.workers.render_controller.RenderController` turns the document into a
:class:`EditorRenderJob` on the UI thread and hands it to :func:`render_steps` on its one-thread pool. Everything
there goes through the process's Qt-free :class:`regionpaint.app.render.service.RenderService` (the same one
``regionpaint render`` uses): it resolves the engine, says what the checkpoint offers (yielded first, so panels can
show the right controls while the model loads), fits the request, loads through the engine cache and renders. Every
error becomes a one-line message in the :class:`EditorRenderOutcome`: the editor survives a bad checkpoint or
running out of memory."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regionpaint.app.render.service import RenderJob as ServiceJob  # the service's job, wrapped here
from regionpaint.app.render.torch_preload import preload_torch_libraries
from regionpaint.engines.acceleration import autotune
from regionpaint.engines.base import EngineError, RenderRequest
from regionpaint.plugins.manager import PluginError

log = logging.getLogger(__name__)


@dataclass
class EditorRenderJob:
    """One render the editor asked for: the service job plus when and for which document it was made."""

    job_id: int
    document_id: int  # EditorState.document_serial when the job was built
    job: ServiceJob
    created: float = field(default_factory=time.perf_counter)
    edited: float = field(default_factory=time.perf_counter)  # when the edit that asked for it happened
    photo_edit: Any = None  # regionpaint.app.render.photo_edit.PhotoEdit: composite the render onto the photo
    # Timed, never shown: the fast path rendered once after the exact render on opening, so the fast preview
    # heuristic knows both times (and the fast path is warm) before the first edit.
    trial: bool = False

    @property
    def request(self) -> RenderRequest:
        return self.job.request

    @property
    def checkpoint(self) -> str:
        return self.job.checkpoint

    @property
    def engine_id(self) -> str:
        return self.job.engine_id

    @property
    def device(self) -> str:
        return self.job.device


@dataclass
class EditorRenderOutcome:
    job: EditorRenderJob
    image: np.ndarray | None = None  # (H, W, 3) uint8 RGB
    seconds: float = 0.0  # the engine's own time (generate only)
    engine_id: str = ""
    device: str = ""
    loaded: bool = False  # this job loaded the checkpoint
    info: dict[str, Any] = field(default_factory=dict)  # the engine's RenderResult.info
    capabilities: frozenset[str] | None = None  # what the checkpoint offers (None: not known)
    error: str | None = None
    raw: np.ndarray | None = None  # the network's output when ``image`` is a composite onto the photo

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class CheckpointFacts:
    """Yielded by the render thread as soon as the checkpoint is inspected (before it loads)."""

    checkpoint: str
    engine_id: str
    capabilities: frozenset[str]


@dataclass(frozen=True)
class WarmUp:
    """What to load before the first render asks for it: the document's engine and checkpoint on its device.
    ``checkpoint`` and ``engine_id`` both empty: only import torch (the editor is opening, no document yet)."""

    engine_id: str = ""
    checkpoint: str = ""
    device: str = "auto"


@dataclass
class WarmUpOutcome:
    warm: WarmUp
    engine_id: str = ""  # the engine now loaded in the service's cache ("" when nothing was loaded)
    seconds: float = 0.0
    error: str | None = None  # the render that follows meets the same problem and reports it

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


def render_steps(ticket: EditorRenderJob, service: Any = None) -> Iterator[CheckpointFacts]:
    """The render thread's work: yields the checkpoint's facts, returns a :class:`EditorRenderOutcome`."""
    from regionpaint.app.render.service import default_service

    preload_torch_libraries()  # once: keeps the first render from freezing the window
    service = service or default_service()
    job = ticket.job
    caps: frozenset[str] | None = None
    try:
        engine_class = service.engine_class(job.engine_id, job.checkpoint)
        caps = service.capabilities(engine_class.id, job.checkpoint)
        yield CheckpointFacts(job.checkpoint, engine_class.id, caps)
        with autotune.rendering():  # the kernel timings queued in the background wait for the render to end
            outcome = service.render(job)
        image, raw = outcome.result.image, None
        if ticket.photo_edit is not None and ticket.photo_edit.settings.mode != "off":
            # Compositing (photo edits): only the edited pixels change; the rest stays the photo's.
            composite = ticket.photo_edit.composite(outcome.request, outcome.result.image, outcome.capabilities)
            image, raw = composite.image, outcome.result.image
    except Exception as exc:  # every failure is reported; the thread and the editor live on
        if not isinstance(exc, (EngineError, PluginError)):
            log.exception("render %d failed", ticket.job_id)
        return EditorRenderOutcome(ticket, capabilities=caps, error=describe_error(exc, job.device))
    return EditorRenderOutcome(
        ticket,
        image=image,
        raw=raw,
        seconds=float(outcome.result.seconds),
        engine_id=outcome.engine_id,
        device=outcome.device,
        loaded=outcome.loaded,
        info=dict(outcome.result.info),
        capabilities=outcome.capabilities,
    )


def warm_up_steps(warm: WarmUp, service: Any = None) -> Iterator[CheckpointFacts]:
    """Render-thread work ahead of the first render: torch's libraries and import, then the checkpoint loaded
    into the service's engine cache (so the first render finds it loaded). Yields the checkpoint's facts
    like :func:`render_steps`; returns a :class:`WarmUpOutcome`. Never raises: a failure is the first
    render's to report."""
    from regionpaint.app.render.service import default_service

    start = time.perf_counter()
    preload_torch_libraries()
    if not (warm.engine_id or warm.checkpoint):
        _import_torch()
        return WarmUpOutcome(warm, seconds=time.perf_counter() - start)
    service = service or default_service()
    try:
        engine_class = service.engine_class(warm.engine_id, warm.checkpoint)
        caps = service.capabilities(engine_class.id, warm.checkpoint)
        yield CheckpointFacts(warm.checkpoint, engine_class.id, caps)
        service.load(engine_class, warm.checkpoint or None, warm.device)
    except Exception as exc:  # noqa: BLE001 - reported by the render that follows, with the same cause
        log.debug("warm-up of %s failed: %s", warm.checkpoint or warm.engine_id, exc)
        return WarmUpOutcome(warm, error=describe_error(exc, warm.device), seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    log.debug("warmed up %s (%s) in %.2f s", warm.checkpoint or warm.engine_id, engine_class.id, seconds)
    return WarmUpOutcome(warm, engine_class.id, seconds)


def _import_torch() -> None:
    try:
        import torch  # noqa: F401  (on the render thread: the UI thread never waits for it)
    except ImportError:  # an engine that needs it says so when it loads
        pass


def release_engines() -> None:
    """Free the loaded model (at exit, or to give the GPU memory back)."""
    from regionpaint.app.render.service import release_default_service

    release_default_service()
