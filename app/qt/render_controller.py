"""Automatic re-rendering: debounce edits, keep at most one render running, let the newest request win.

Every change of a render input restarts a short timer; when it fires, a request is built from the
document on the UI thread (copies of the label maps, so painting can go on) and handed to the worker
thread. While a render runs, newer requests replace each other in a one-slot queue: stale ones are
dropped, never rendered. The UI thread never waits for the engine.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
import weakref

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from app.qt.editor_state import EditorState
from app.qt.render_worker import RenderJob, RenderOutcome, RenderWorker
from app.render_request import RenderRequestError, request_from_document

log = logging.getLogger(__name__)

DEBOUNCE_MS = 200

#: Every render thread the editor started and has not stopped yet (tests check that none is left).
live_threads: weakref.WeakSet[QThread] = weakref.WeakSet()


class RenderController(QObject):
    renderStarted = Signal(object)  # RenderJob
    renderFinished = Signal(object)  # RenderOutcome, shown on the canvas
    renderFailed = Signal(str)
    busyChanged = Signal(bool)
    idle = Signal()  # nothing running and nothing queued
    _submit = Signal(object)

    def __init__(self, state: EditorState, debounce_ms: int = DEBOUNCE_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.auto_render = True
        # Fast preview (RenderRequest.fast): edits render in fast mode, then the exact render follows when
        # the editor is idle, so what stays on screen (and what Export writes) is the exact result.
        self.fast_preview = True
        self._timer = QTimer(self, singleShot=True, interval=debounce_ms)
        self._timer.timeout.connect(self.render_now)
        self._ids = itertools.count(1)
        self._thread: QThread | None = None
        self._worker: RenderWorker | None = None
        self._running: RenderJob | None = None
        self._pending: RenderJob | None = None
        self._edited_at: float | None = None
        self.dropped = 0  # stale requests replaced before they ran
        self.last_outcome: RenderOutcome | None = None
        self.last_latency: float | None = None  # edit -> result on screen, seconds
        state.renderInputsChanged.connect(self.schedule)
        state.documentReplaced.connect(self._on_document_replaced)

    # -- scheduling --------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A render is running."""
        return self._running is not None

    @property
    def scheduled(self) -> bool:
        """A render will start: the debounce timer runs or a request waits behind the running one."""
        return self._timer.isActive() or self._pending is not None

    @property
    def has_thread(self) -> bool:
        """The render thread was started (it starts with the first render)."""
        return self._thread is not None

    def schedule(self) -> None:
        """Ask for a render soon (restarts the debounce timer)."""
        if self._edited_at is None:
            self._edited_at = time.perf_counter()
        if self.auto_render:
            self._timer.start()

    def _on_document_replaced(self) -> None:
        self._pending = None
        self._edited_at = None
        doc = self.state.document
        if doc is not None and doc.engine.checkpoint and self.auto_render:
            self.schedule()

    def render_now(self) -> RenderJob | None:
        """Build a request from the document and run it now, or queue it behind the running render."""
        self._timer.stop()
        doc = self.state.document
        if doc is None:
            return None
        # An engine not recognised yet (no id, first render of this checkpoint): the worker fits the request.
        capabilities = self.state.capabilities() if self.state.engine_id() else None
        try:
            engine_id, checkpoint, device, request = request_from_document(doc, capabilities)
            request = dataclasses.replace(request, fast=self.fast_preview)
        except RenderRequestError as exc:
            self._edited_at = None
            self.renderFailed.emit(str(exc))
            return None
        job = RenderJob(
            next(self._ids),
            self.state.document_serial,
            engine_id or "",
            checkpoint,
            device,
            request,
            options=dict(doc.engine.options),
            fitted=capabilities is not None,
            edited=self._edited_at or time.perf_counter(),
        )
        self._edited_at = None
        if self._running is not None:
            if self._pending is not None:
                self.dropped += 1
                log.debug("render %d superseded by %d", self._pending.job_id, job.job_id)
            self._pending = job
            return job
        self._start(job)
        return job

    def _start(self, job: RenderJob, announce: bool = True) -> None:
        self._ensure_thread()
        self._running = job
        self.busyChanged.emit(True)
        if announce:  # the exact follow-up of a fast preview is the same request, not a new render
            self.renderStarted.emit(job)
        self._submit.emit(job)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        self._thread = QThread()
        self._thread.setObjectName("regionpaint-render")
        self._worker = RenderWorker()
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.render)
        self._worker.done.connect(self._on_done)
        self._thread.start()
        live_threads.add(self._thread)

    # -- results -----------------------------------------------------------------------------
    def _on_done(self, outcome: RenderOutcome) -> None:
        self._running = None
        self.last_outcome = outcome
        doc = self.state.document
        current = doc is not None and self.state.document_serial == outcome.job.document_id
        if outcome.ok and current:
            self.state.note_recognised_engine(outcome.job.checkpoint, outcome.engine_id)
            self.state.note_render_info(outcome.info)
            doc.set_render(outcome.image, outcome.seconds)
            self.last_latency = time.perf_counter() - outcome.job.edited
            self.renderFinished.emit(outcome)
        elif not outcome.ok and current:
            self.renderFailed.emit(outcome.error or "render failed")
        if self._pending is not None:
            job, self._pending = self._pending, None
            self._start(job)
            return
        if outcome.ok and current and outcome.job.request.fast and not self._timer.isActive():
            self._start(self._exact_job(outcome.job), announce=False)
            return
        self.busyChanged.emit(False)
        self.idle.emit()

    def _exact_job(self, job: RenderJob) -> RenderJob:
        """The exact render of a fast preview's request (a new job id; same document and edit time)."""
        return dataclasses.replace(job, job_id=next(self._ids), request=dataclasses.replace(job.request, fast=False))

    # -- shutting down -----------------------------------------------------------------------
    def shutdown(self) -> None:
        """Drop queued work, let a running render finish and stop the thread (the loaded model stays
        in the process-wide cache; :func:`app.qt.render_worker.release_engines` frees it)."""
        self._timer.stop()
        self._pending = None
        if self._thread is None:
            return
        self._thread.quit()
        self._thread.wait()
        live_threads.discard(self._thread)
        self._thread = None
        self._worker = None
        if self._running is not None:
            self._running = None
            self.busyChanged.emit(False)
