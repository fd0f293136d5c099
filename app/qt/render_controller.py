"""Automatic re-rendering: debounce edits, keep at most one render running, let the newest request win.

Every change of a render input restarts a short timer; when it fires, a request is built from the
document on the UI thread (copies of the label maps, so painting can go on) and handed to the worker
thread. While a render runs, newer requests replace each other in a one-slot queue: stale ones are
dropped, never rendered. The UI thread never waits for the engine.
"""

from __future__ import annotations

import itertools
import logging
import time
import weakref

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from app.qt.editor_state import EditorState
from app.qt.render_worker import RenderJob, RenderOutcome, RenderWorker
from app.render.guard import DEFAULT_RENDER_TIMEOUT_S, engine_label
from app.render_request import RenderRequestError, request_from_document

log = logging.getLogger(__name__)

DEBOUNCE_MS = 200

#: Every render thread the editor started and has not stopped yet (tests check that none is left).
live_threads: weakref.WeakSet[QThread] = weakref.WeakSet()


class _AbandonedThreads:
    """Render threads given up on: kept referenced until they finish (a QThread destroyed while it runs
    takes the process down), then stopped and dropped."""

    def __init__(self) -> None:
        self.pairs: list[tuple[QThread, QObject]] = []

    def add_pair(self, thread: QThread, worker: QObject) -> None:
        self.pairs.append((thread, worker))
        thread.finished.connect(self.stop_finished)

    def stop_finished(self) -> None:
        for thread, worker in list(self.pairs):
            if thread.isFinished():
                self.pairs.remove((thread, worker))
                live_threads.discard(thread)

    def running(self) -> list[QThread]:
        return [thread for thread, _ in self.pairs if thread.isRunning()]


_abandoned = _AbandonedThreads()


class RenderController(QObject):
    renderStarted = Signal(object)  # RenderJob
    renderFinished = Signal(object)  # RenderOutcome, shown on the canvas
    renderFailed = Signal(str)
    busyChanged = Signal(bool)
    idle = Signal()  # nothing running and nothing queued
    renderOverdue = Signal(object)  # RenderJob running longer than timeout_s: the UI offers to stop waiting
    _submit = Signal(object)

    def __init__(self, state: EditorState, debounce_ms: int = DEBOUNCE_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.auto_render = True
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
        # Fault containment: a render running past timeout_s can be abandoned (cancel_render).
        self.timeout_s: float = DEFAULT_RENDER_TIMEOUT_S
        self._watchdog = QTimer(self, singleShot=True)
        self._watchdog.timeout.connect(self._on_overdue)
        self.abandoned = 0  # renders given up on (their threads were left to finish on their own)
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

    def _start(self, job: RenderJob) -> None:
        self._ensure_thread()
        self._running = job
        self._watchdog.start(int(self.timeout_s * 1000))
        self.busyChanged.emit(True)
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
        if self._running is None or outcome.job.job_id != self._running.job_id:
            return  # the answer of a render given up on
        self._watchdog.stop()
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
        self.busyChanged.emit(False)
        self.idle.emit()

    # -- fault containment: renders that do not come back ---------------------------------------
    def _on_overdue(self) -> None:
        if self._running is not None:
            log.warning("render %d has run for more than %.0f s", self._running.job_id, self.timeout_s)
            self.renderOverdue.emit(self._running)

    def cancel_render(self) -> bool:
        """Stop waiting for the running render: its thread is left to finish (or hang) on its own, and a
        fresh thread takes the next render. Returns False when nothing was running."""
        job = self._running
        if job is None:
            return False
        self._watchdog.stop()
        seconds = time.perf_counter() - job.created
        thread, worker = self._thread, self._worker
        if thread is not None and worker is not None:
            self._submit.disconnect(worker.render)
            worker.done.disconnect(self._on_done)
            worker.done.connect(thread.quit)  # the thread ends as soon as the stuck render returns
            _abandoned.add_pair(thread, worker)
        self._thread = self._worker = None
        self._running = None
        self.abandoned += 1
        name = engine_label(job.engine_id) if job.engine_id else "the engine"
        self.renderFailed.emit(
            f"Stopped waiting for {name} after {seconds:.0f} s; the editor goes on, and the next render "
            "starts fresh (choose another engine or checkpoint if this one hangs again)"
        )
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._start(pending)
            return True
        self.busyChanged.emit(False)
        self.idle.emit()
        return True

    # -- shutting down -----------------------------------------------------------------------
    def shutdown(self) -> None:
        """Drop queued work, let a running render finish and stop the thread (the loaded model stays
        in the process-wide cache; :func:`app.qt.render_worker.release_engines` frees it)."""
        self._timer.stop()
        self._watchdog.stop()
        self._pending = None
        _abandoned.stop_finished()
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
