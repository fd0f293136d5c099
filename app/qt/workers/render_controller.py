"""Automatic re-rendering: debounce edits, keep at most one render running, let the newest request win.

Every change of a render input restarts a superqt debouncer; when it fires, a job is built from the
document on the UI thread (copies of the label maps, so painting can go on) and run by a superqt
generator worker (:func:`regionpaint.app.qt.workers.render_worker.render_steps`) on a one-thread pool, over the shared
Qt-free render service. While a render runs, newer jobs replace each other in a one-slot queue: stale
ones are dropped, never rendered. The UI thread never waits for the engine.

A continuous control (the A↔B slider) being dragged is different (:meth:`RenderController.begin_continuous`):
each change renders at once when the render thread is free, in fast preview; while a render runs, changes
only mark the document as newer, and the newest value is rendered when it returns (one in flight, newest
wins). The exact render follows once the drag ends, not after each preview: an exact render started
mid-drag made the next value wait for it (3-9 s to see a value under load, where a stroke took 2 s).

Opening a document is not an edit: its checkpoint starts loading on the render thread at once
(:meth:`RenderController.warm_up`), and its render (exact) follows on the next turn of the event loop
without the debounce. After an exact render of a checkpoint whose fast time is unknown, the fast render
of the same request runs once, timed and not shown, so :func:`fast_preview_pays` can decide the first edit.

A hanging engine never hangs the editor. The watchdog covers whatever occupies the render thread, a warm-up
(``load()``) as well as a render: past ``timeout_s`` the editor offers Stop waiting, which leaves the stuck
thread to itself and starts a fresh one. Closing the window waits a bounded time for the render thread
(:meth:`RenderController.shutdown_wait_s`: 2 s, more for a checkpoint that rendered before, never over 30 s); a
thread still stuck then cannot be stopped (Python threads cannot be killed), so once the window has closed
and its state is saved, :func:`exit_if_render_threads_stuck` ends the process with ``os._exit`` instead of
letting the interpreter (and Qt, destroying the thread's pool) wait for that thread forever.

Workers are started on the pool through their ``run`` method, not as QRunnables: PySide keeps a reference to
every QRunnable started on a pool for the pool's lifetime, which kept each job (its label maps and style
images) alive, ~0.65 MB per render.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import os
import sys
import time
import weakref

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from superqt.utils import QSignalDebouncer, create_worker

from regionpaint.app.qt.editor_state import EditorState
from regionpaint.app.qt.workers.render_worker import (
    CheckpointFacts,
    EditorRenderJob,
    EditorRenderOutcome,
    WarmUp,
    WarmUpOutcome,
    render_steps,
    warm_up_steps,
)
from regionpaint.app.render.from_document import RenderRequestError, job_from_document
from regionpaint.app.render.guard import DEFAULT_RENDER_TIMEOUT_S, engine_label
from regionpaint.app.render.photo_edit import photo_edit_from_document
from regionpaint.engines.acceleration import autotune

log = logging.getLogger(__name__)

DEBOUNCE_MS = 200
# Fast preview pays only where the fast path is clearly faster than the exact one it is followed by; on a CPU
# without bf16 matrix units it can be as slow (measured: SPADE 512x256 fast 4.04 s, exact 3.93 s).
FAST_PREVIEW_WORTH = 0.8  # fast must take at most this share of the exact time
# Closing the window waits this long for a render in progress to finish cleanly: longer than most demo renders
# (0.03-1 s on a CPU), short enough that a window closed on a hung engine still goes within a few seconds.
SHUTDOWN_WAIT_S = 2.0
# A render of a checkpoint that rendered before in this session gets, on top, this many times the slowest of
# those renders (measured on the face demo: 0.3 to 4.9 s on a busy 2-core machine, the first ones slowest),
# up to SHUTDOWN_WAIT_MAX_S: such a render is rarely stuck, and letting it finish lets the interpreter exit
# normally rather than through exit_if_render_threads_stuck.
SHUTDOWN_WAIT_FACTOR = 3
SHUTDOWN_WAIT_MAX_S = 30.0


def fast_preview_pays(fast_s: float | None, exact_s: float | None) -> bool:
    """Whether to keep previewing in fast mode, from the last fast and exact render times of a checkpoint
    (unknown times: yes, until both are measured)."""
    if fast_s is None or exact_s is None or exact_s <= 0:
        return True
    return fast_s <= FAST_PREVIEW_WORTH * exact_s


#: Every render thread pool the editor started and has not stopped yet (tests check that none is left).
live_pools: weakref.WeakSet[QThreadPool] = weakref.WeakSet()


class _AbandonedPools:
    """Render thread pools given up on (fault containment): kept referenced, and parented to nothing, until
    their stuck render returns. Destroying a QThreadPool waits for its threads, which would freeze the
    window on a hung engine."""

    def __init__(self) -> None:
        self.pools: list[QThreadPool] = []

    def add(self, pool: QThreadPool) -> None:
        pool.setParent(None)
        self.pools.append(pool)

    def drop_finished(self) -> None:
        for pool in list(self.pools):
            if pool.activeThreadCount() == 0:
                self.pools.remove(pool)
                live_pools.discard(pool)

    def running(self) -> list[QThreadPool]:
        self.drop_finished()
        return list(self.pools)


_abandoned = _AbandonedPools()


def render_threads_stuck() -> bool:
    """Whether a render thread given up on (Stop waiting, or still busy when closing stopped waiting) still runs."""
    return bool(_abandoned.running())


def exit_if_render_threads_stuck(status: int) -> None:
    """End the process now when a render thread is stuck: a hung ``generate()`` or ``load()`` cannot be
    interrupted, and the interpreter (and Qt, destroying its thread pools) would wait for it at exit forever.

    Call only after the windows have closed, the autosave has stopped and the settings were written: this
    skips the rest of the interpreter's shutdown (``os._exit``). Nothing happens when no thread is stuck."""
    if not render_threads_stuck():
        return
    log.warning("a render thread is stuck in its engine; exiting without waiting for it")
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # closed or absent streams have nothing to flush
            pass
    os._exit(status)


class RenderController(QObject):
    renderStarted = Signal(object)  # EditorRenderJob
    renderFinished = Signal(object)  # EditorRenderOutcome, shown on the canvas
    renderFailed = Signal(str)
    busyChanged = Signal(bool)
    idle = Signal()  # nothing running and nothing queued
    renderOverdue = Signal(object)  # EditorRenderJob running longer than timeout_s: the UI offers to stop waiting
    warmedUp = Signal(object)  # WarmUpOutcome: torch imported and (with a checkpoint) the engine loaded

    def __init__(self, state: EditorState, debounce_ms: int = DEBOUNCE_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.auto_render = True
        # Kernel choices not yet measured on this machine take their first guess, and are timed on a background
        # thread while no render runs (engines/acceleration/autotune.py): a render never waits for a timing.
        autotune.tune_in_background()
        # Fast preview (RenderRequest.fast): edits render in fast mode, then the exact render follows when
        # the editor is idle, so what stays on screen (and what Export writes) is the exact result.
        self.fast_preview = True
        # With fast preview: torch.compile the fast generator in the background (engines/acceleration/compiled.py).
        self.compile_fast = False
        # Engine seconds of the last fast and exact render per (engine, checkpoint, device): fast preview
        # stops where it does not pay (fast_preview_pays), measured in this session, never guessed.
        self.render_times: dict[tuple[str, str, str], dict[bool, float]] = {}
        # The slowest successful render per (engine, checkpoint, device), fast or exact: how long closing the
        # window may wait for a render of that checkpoint (shutdown_wait_s).
        self.slowest_render_s: dict[tuple[str, str, str], float] = {}
        self._debouncer = QSignalDebouncer(self)
        self._debouncer.setTimeout(debounce_ms)
        self._debouncer.triggered.connect(self.render_now)
        self._debounce_pending = False
        # A freshly opened document renders on the next turn of the event loop, without the debounce.
        self._open_timer = QTimer(self, singleShot=True, interval=0)
        self._open_timer.timeout.connect(self._render_opened)
        # Every worker started on the pool, kept until the pool is idle: a worker is freed (its Python
        # wrapper, and with it the C++ QRunnable) only once no run() can still be returning. Dropping the
        # last reference in a slot of its own `returned` signal, while its thread was still leaving run(),
        # could crash (seen as a segfault in CI during an opening's warm-up).
        self._live_workers: list = []
        self._ids = itertools.count(1)
        # One thread that lives as long as the controller: torch keeps per-thread state (threads, caches).
        self._pool: QThreadPool | None = None
        self._worker = None  # the superqt worker of the running job
        self._running: EditorRenderJob | None = None
        self._warming: WarmUp | None = None  # the warm-up on the render thread (watched like a render)
        self._warming_since = 0.0
        self._warm_worker = None  # the superqt worker of the warm-up
        self._pending: EditorRenderJob | None = None
        self._edited_at: float | None = None
        self.continuous = False  # a continuous control is being dragged (begin_continuous)
        self._newer = False  # dragging: the document changed since the running render's job was built
        self.started = 0  # renders started (previews, exact follow-ups and timing trials)
        self.dropped = 0  # stale requests replaced before they ran
        self.last_outcome: EditorRenderOutcome | None = None
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
        return self._debounce_pending or self._pending is not None or self._newer or self._open_timer.isActive()

    @property
    def has_thread(self) -> bool:
        """The render thread was started (it starts with the first render)."""
        return self._pool is not None

    def schedule(self) -> None:
        """Ask for a render soon (restarts the debounce timer)."""
        if self._edited_at is None:
            self._edited_at = time.perf_counter()
        if self.auto_render and self.continuous:
            # No debounce while dragging: render now if the thread is free, else the newest value when it is.
            if self._running is not None:
                self._newer = True
            else:
                self.render_now()
        elif self.auto_render:
            self._debounce_pending = True
            self._debouncer.throttle()

    def begin_continuous(self) -> None:
        """A continuous control is being dragged: until :meth:`end_continuous`, each change renders in fast
        preview as soon as the render thread is free, the newest value only, with no exact render between."""
        self.continuous = True

    def end_continuous(self) -> None:
        """The drag ended: the exact render of the last value follows (after the preview of it, if one runs)."""
        self.continuous = False
        if self._running is not None or self._pending is not None or self._newer or self._debounce_pending:
            return  # _on_done goes on from there, exact follow-up included
        shown = self.last_outcome
        doc = self.state.document
        if self.auto_render and shown is not None and shown.ok and shown.job.request.fast and doc is not None:
            if self.state.document_serial == shown.job.document_id:
                self._start(self._exact_job(shown.job), announce=False)

    def _on_document_replaced(self) -> None:
        self._pending = None
        self._newer = False
        self._edited_at = None
        doc = self.state.document
        # Engines without weights render with no checkpoint chosen.
        ready = doc is not None and (doc.engine.checkpoint or not self.state.engine_needs_checkpoint())
        if ready and self.auto_render:
            # Load the checkpoint on the render thread now, while the window finishes opening; the render
            # itself follows on the next turn of the event loop (after the opening code is done with the
            # document), queued behind the load on the same thread.
            self.warm_up()
            self._debouncer.cancel()
            self._debounce_pending = False
            self._open_timer.start()

    def _render_opened(self) -> None:
        # Exact at once: there is no edit waiting for a quick answer, and a preview would be replaced anyway.
        self._render(preview=False)

    def warm_up(self) -> bool:
        """Start, on the render thread, importing torch and (with a document) loading its engine and checkpoint
        into the render service's cache, ahead of any render. Never waits; ``warmedUp`` says when it is done.
        False when nothing was started (the render thread is busy: what runs there warms up by itself).

        The watchdog covers the warm-up as it does a render: a ``load()`` that does not come back is overdue
        after ``timeout_s`` and can be given up on (:meth:`cancel_render`)."""
        if self._running is not None or self._warming is not None:
            return False
        doc = self.state.document
        warm = WarmUp()
        if doc is not None:
            warm = WarmUp(doc.engine.engine_id or "", doc.engine.checkpoint or "", doc.engine.device or "auto")
            if not warm.checkpoint and self.state.engine_needs_checkpoint():
                warm = WarmUp()
        worker = create_worker(warm_up_steps, warm, _start_thread=False)
        worker.yielded.connect(self._on_facts)
        worker.returned.connect(self._on_warmed)
        worker.errored.connect(self._on_warm_up_errored)
        self._warm_worker = worker
        self._warming, self._warming_since = warm, time.perf_counter()
        self._watchdog.start(int(self.timeout_s * 1000))
        self._start_worker(worker)
        return True

    def _on_warmed(self, outcome: WarmUpOutcome) -> None:
        if outcome.warm is not self._warming:
            return  # a warm-up given up on, coming back late
        self._warming, self._warm_worker = None, None
        if self._running is not None:  # the render queued behind the warm-up starts now: its own full time
            self._watchdog.start(int(self.timeout_s * 1000))
        else:
            self._watchdog.stop()
        self.warmedUp.emit(outcome)

    def _on_warm_up_errored(self, exc: BaseException) -> None:
        # warm_up_steps reports its failures in its outcome; this is the net for one that escaped it.
        if self._warming is not None and self._sent_by(self._warm_worker):
            self._on_warmed(WarmUpOutcome(self._warming, error=str(exc) or type(exc).__name__))

    def _sent_by(self, worker) -> bool:
        """In a slot: whether the signal came from ``worker`` (not from a worker given up on). Slots are bound
        methods rather than lambdas capturing the job: nothing a connection holds outlives the controller."""
        return worker is not None and self.sender() is worker.signals

    def _start_worker(self, worker) -> None:
        pool = self._ensure_pool()
        if self._live_workers and pool.waitForDone(0):  # nothing queued or running: every run() has returned
            self._live_workers.clear()
        self._live_workers.append(worker)
        # The bound run(), not the worker: PySide keeps every QRunnable started on a pool referenced for the
        # pool's lifetime (with its signal connections and its job), which leaked each render's inputs.
        # self._live_workers keeps the worker alive until its run() has returned.
        pool.start(worker.run)

    def render_now(self) -> EditorRenderJob | None:
        """Build a job from the document and run it now, or queue it behind the running render."""
        return self._render(preview=True)

    def _render(self, preview: bool) -> EditorRenderJob | None:
        self._open_timer.stop()
        self._debouncer.cancel()
        self._debounce_pending = False
        doc = self.state.document
        if doc is None:
            return None
        try:
            service_job = job_from_document(doc, needs_checkpoint=self.state.engine_needs_checkpoint())
            fast = preview and self.fast_preview and self._fast_pays(service_job)
            compile_ = fast and self.compile_fast
            service_job.request = dataclasses.replace(service_job.request, fast=fast, compile=compile_)
        except RenderRequestError as exc:
            self._edited_at = None
            self.renderFailed.emit(str(exc))
            return None
        job = EditorRenderJob(
            next(self._ids),
            self.state.document_serial,
            service_job,
            edited=self._edited_at or time.perf_counter(),
            photo_edit=photo_edit_from_document(doc),
        )
        self._edited_at = None
        if self._running is not None:
            if self._pending is not None:
                self.dropped += 1
                log.debug("render %d superseded by %d", self._pending.job_id, job.job_id)
            self._pending = job
            if self._running.trial:  # a render waits behind the timing trial: now the editor is busy
                self.busyChanged.emit(True)
            return job
        self._start(job)
        return job

    def _ensure_pool(self) -> QThreadPool:
        if self._pool is None:
            self._pool = QThreadPool(self)
            self._pool.setMaxThreadCount(1)
            self._pool.setExpiryTimeout(-1)
            live_pools.add(self._pool)
        return self._pool

    def _start(self, job: EditorRenderJob, announce: bool = True) -> None:
        self._ensure_pool()
        self._running = job
        self.started += 1
        if self._warming is None:  # behind a warm-up, the render's time starts when the warm-up is done
            self._watchdog.start(int(self.timeout_s * 1000))
        if not job.trial:  # a timing trial in the background is not a render the person waits for
            self.busyChanged.emit(True)
        if announce:  # the exact follow-up of a fast preview is the same request, not a new render
            self.renderStarted.emit(job)
        worker = create_worker(render_steps, job, _start_thread=False)
        worker.yielded.connect(self._on_facts)
        worker.returned.connect(self._on_done)
        worker.errored.connect(self._on_render_errored)
        self._worker = worker
        self._start_worker(worker)

    def _on_render_errored(self, exc: BaseException) -> None:
        # render_steps reports its failures in its outcome; this is the net for one that escaped it.
        if self._running is not None and self._sent_by(self._worker):
            self._on_done(EditorRenderOutcome(self._running, error=str(exc) or "render failed"))

    def _on_facts(self, facts: CheckpointFacts) -> None:
        self.state.note_checkpoint_facts(facts.checkpoint, facts.engine_id, facts.capabilities)

    # -- results -----------------------------------------------------------------------------
    def _on_done(self, outcome: EditorRenderOutcome) -> None:
        if outcome.job is not self._running:
            return  # a job of before shutdown(), or the answer of a render given up on
        self._watchdog.stop()
        self._running = None
        self._worker = None
        key = self._timing_key(outcome.job.job)
        times = self.render_times.setdefault(key, {})
        if outcome.ok:
            self.slowest_render_s[key] = max(self.slowest_render_s.get(key, 0.0), float(outcome.seconds))
        if outcome.job.trial:  # timed only: the exact render stays on screen; a failing fast path never previews
            times[True] = float(outcome.seconds) if outcome.ok else math.inf
            self._next_or_idle()
            return
        self.last_outcome = outcome
        doc = self.state.document
        current = doc is not None and self.state.document_serial == outcome.job.document_id
        if outcome.ok:
            times[bool(outcome.job.request.fast)] = float(outcome.seconds)
        if outcome.ok and current:
            self.state.note_recognised_engine(outcome.job.checkpoint, outcome.engine_id)
            self.state.note_render_info(outcome.info)
            self.state.render_capabilities = outcome.capabilities
            doc.set_render(outcome.image, outcome.seconds, outcome.raw)
            self.last_latency = time.perf_counter() - outcome.job.edited
            self.renderFinished.emit(outcome)
        elif not outcome.ok and current:
            self.renderFailed.emit(outcome.error or "render failed")
        if self._pending is not None:
            job, self._pending = self._pending, None
            self._start(job)
            return
        if self._start_newer():
            return
        if outcome.ok and current and outcome.job.request.fast and not self._debounce_pending and not self.continuous:
            self._start(self._exact_job(outcome.job), announce=False)
            return
        if outcome.ok and current and self._fast_unmeasured(outcome.job) and not self.scheduled:
            self._start(self._fast_trial_job(outcome.job), announce=False)
            return
        self.busyChanged.emit(False)
        self.idle.emit()

    def _next_or_idle(self) -> None:
        if self._pending is not None:
            job, self._pending = self._pending, None
            self._start(job)
            return
        if self._start_newer():
            return
        self.busyChanged.emit(False)
        self.idle.emit()

    def _start_newer(self) -> bool:
        """Dragging: render the newest value (built from the document now) if a change came in meanwhile."""
        if not self._newer:
            return False
        self._newer = False
        return self.render_now() is not None

    @staticmethod
    def _timing_key(job) -> tuple[str, str, str]:
        return (job.engine_id, job.checkpoint, job.device)

    def _fast_pays(self, job) -> bool:
        times = self.render_times.get(self._timing_key(job), {})
        return fast_preview_pays(times.get(True), times.get(False))

    def _fast_unmeasured(self, job: EditorRenderJob) -> bool:
        """An exact render of a checkpoint whose fast time is not known yet (the render on opening is exact)."""
        times = self.render_times.get(self._timing_key(job.job), {})
        return self.fast_preview and not job.request.fast and True not in times

    def _fast_trial_job(self, job: EditorRenderJob) -> EditorRenderJob:
        """The fast render of an exact render's request, timed and not shown (see ``EditorRenderJob.trial``)."""
        request = dataclasses.replace(job.request, fast=True, compile=self.compile_fast)
        trial = dataclasses.replace(job.job, request=request)
        return dataclasses.replace(job, job_id=next(self._ids), job=trial, trial=True)

    def _exact_job(self, job: EditorRenderJob) -> EditorRenderJob:
        """The exact render of a fast preview's request (a new job id; same document and edit time)."""
        exact = dataclasses.replace(job.job, request=dataclasses.replace(job.request, fast=False, compile=False))
        return dataclasses.replace(job, job_id=next(self._ids), job=exact)

    # -- fault containment: renders that do not come back ---------------------------------------
    def _on_overdue(self) -> None:
        # A render waiting behind a stuck warm-up is what the person waits for; a warm-up alone is named itself.
        overdue = self._running or self._warming
        if overdue is not None:
            log.warning("%s has run for more than %.0f s", self._describe(overdue), self.timeout_s)
            self.renderOverdue.emit(overdue)

    @staticmethod
    def _describe(work: EditorRenderJob | WarmUp) -> str:
        if isinstance(work, WarmUp):
            return f"loading {work.engine_id or work.checkpoint or 'the engine'}"
        return f"render {work.job_id}"

    def cancel_render(self) -> bool:
        """Stop waiting for the running render (or warm-up): its pool's thread is left to finish (or hang) on its
        own, and a fresh pool takes the next render. Returns False when nothing was running."""
        job, warm = self._running, self._warming
        if job is None and warm is None:
            return False
        self._watchdog.stop()
        seconds = time.perf_counter() - (self._warming_since if warm is not None else job.created)
        self._abandon_pool()
        self._running = None
        self.abandoned += 1
        engine_id = (job or warm).engine_id
        name = engine_label(engine_id) if engine_id else "the engine"
        what = "" if job is not None else " to load"
        self.renderFailed.emit(
            f"Stopped waiting for {name}{what} after {seconds:.0f} s; the editor goes on, and the next render "
            "starts fresh (choose another engine or checkpoint if this one hangs again)"
        )
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._start(pending)
            return True
        if self._start_newer():
            return True
        if job is not None:
            self.busyChanged.emit(False)
            self.idle.emit()
        return True

    def _abandon_pool(self) -> None:
        """Give up on the render thread: what is queued there never starts, what runs there is left to finish
        on its own (its late answers are ignored), and the next render gets a fresh pool."""
        if self._pool is not None:
            self._pool.clear()  # queued work (a render behind a stuck warm-up) never starts
            self._pool.workers = self._live_workers  # kept with the abandoned pool until it returns
            _abandoned.add(self._pool)
        self._pool, self._worker, self._warm_worker, self._live_workers = None, None, None, []
        self._warming = None

    # -- shutting down -----------------------------------------------------------------------
    def shutdown_wait_s(self) -> float:
        """How long closing waits for the render thread: :data:`SHUTDOWN_WAIT_S`, plus
        :data:`SHUTDOWN_WAIT_FACTOR` times the slowest render of the running render's checkpoint in this session
        (at most :data:`SHUTDOWN_WAIT_MAX_S` in all). A warm-up, or a render of a checkpoint that has not
        rendered yet (a first render, an engine that hung from the start), gets the minimum."""
        job = self._running
        if job is None or self._warming is not None:
            return SHUTDOWN_WAIT_S
        slowest = self.slowest_render_s.get(self._timing_key(job.job), 0.0)
        return min(SHUTDOWN_WAIT_MAX_S, SHUTDOWN_WAIT_S + SHUTDOWN_WAIT_FACTOR * slowest)

    def shutdown(self, wait_s: float | None = None) -> bool:
        """Drop queued work, give a running render (or warm-up) up to ``wait_s`` seconds to finish (default:
        :meth:`shutdown_wait_s`), and stop the thread (the loaded model stays in the process-wide cache;
        :func:`regionpaint.app.qt.workers.render_worker.release_engines` frees it). Never waits longer: a render still
        running then is given up on (see :meth:`cancel_render`), and False is returned
        (:func:`exit_if_render_threads_stuck` ends the process at exit)."""
        wait_s = self.shutdown_wait_s() if wait_s is None else wait_s
        self._debouncer.cancel()
        self._debounce_pending = False
        self._open_timer.stop()
        self._watchdog.stop()
        self._pending = None
        self._newer = False
        _abandoned.drop_finished()
        if self._pool is None:
            return True
        self._pool.clear()
        finished = self._pool.waitForDone(max(0, int(wait_s * 1000)))
        if finished:
            live_pools.discard(self._pool)
            self._pool, self._worker, self._warm_worker = None, None, None
            self._live_workers.clear()  # after waitForDone: every run() has returned
            self._warming = None
        else:
            log.warning("a render thread did not finish within %.1f s of closing; leaving it", wait_s)
            self._abandon_pool()
        if self._running is not None:
            self._running = None
            self.busyChanged.emit(False)
        return finished
