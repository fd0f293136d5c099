"""The batch pipeline of one process: loader threads -> batched generation -> a writer thread.

* A thread pool reads and preprocesses ahead (label, instance and style files into render requests, with
  ``render``'s own request builder), keeping a few batches in flight.
* The calling thread renders ``batch_size`` requests at a time with ``engine.generate_batch``. When a batch
  fails with an input error it renders its requests one by one, so only the bad input is skipped.
* A writer thread encodes PNGs, writes them atomically (temporary file + rename) and appends the manifest
  record; the next batch renders meanwhile.
* ``stop`` (set on Ctrl+C / SIGTERM, or by another rank) is checked between batches: the current batch is
  written, nothing is left half done.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regionpaint.app.batch.discovery import BatchItem
from regionpaint.app.batch.manifest import ManifestWriter, sha256_file, write_atomic
from regionpaint.app.render.guard import check_render_pixels

log = logging.getLogger(__name__)

# Errors that belong to one input (a bad file, ids out of range, a missing photo), not to the run.
ITEM_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, KeyError, RuntimeError)


@dataclass
class Job:
    """One output to render: the item, its settings (render flags) and what they hash to."""

    item: BatchItem
    settings: dict[str, Any]
    fingerprint: str
    output: Path


@dataclass
class Outcome:
    rendered: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input path, message)
    stopped: bool = False


def _item_errors() -> tuple[type[BaseException], ...]:
    from regionpaint.engines.base import EngineError

    return (EngineError, *ITEM_ERRORS)


def _message(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return text or type(exc).__name__


class BatchPipeline:
    """Renders ``jobs`` with ``engine``; ``make_request(job)`` builds a RenderRequest (runs on loader threads);
    ``record(job, result, sha256)`` returns the manifest record; ``on_written(n)`` counts finished outputs."""

    def __init__(
        self,
        engine: Any,
        jobs: Sequence[Job],
        make_request: Callable[[Job], Any],
        record: Callable[[Job, Any, str], dict[str, Any]],
        manifest: ManifestWriter,
        batch_size: int = 1,
        loaders: int = 2,
        stop: threading.Event | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_written: Callable[[int], None] | None = None,
        on_failed: Callable[[str, str], None] | None = None,
        prepare: Callable[[Any], None] | None = None,
    ) -> None:
        self.engine, self.jobs = engine, list(jobs)
        self.make_request, self.record, self.manifest = make_request, record, manifest
        self.batch_size, self.loaders = max(1, batch_size), max(1, loaders)
        self.stop = stop or threading.Event()
        self.should_stop = should_stop or (lambda: False)
        self.on_written = on_written or (lambda n: None)
        self.on_failed = on_failed or (lambda path, message: None)
        # Per-request engine state (SEAN mean codes from the request's own sources) forces one at a time.
        self.prepare = prepare
        self.outcome = Outcome()
        self._lock = threading.Lock()

    # ---- loading ----------------------------------------------------------------------------------
    def _load(self, job: Job) -> tuple[Job, Any, str | None]:
        try:
            request = self.make_request(job)
            check_render_pixels(self.engine, request)  # the pixel cap, before the batch allocates for it
            return job, request, None
        except _item_errors() as exc:
            return job, None, _message(exc)

    def _loaded(self, pool: ThreadPoolExecutor) -> Iterator[tuple[Job, Any, str | None]]:
        ahead = self.batch_size * 2 + self.loaders
        pending: deque[Future] = deque()
        jobs = iter(self.jobs)
        for job in jobs:
            pending.append(pool.submit(self._load, job))
            if len(pending) >= ahead:
                break
        while pending:
            yield pending.popleft().result()
            for job in jobs:
                pending.append(pool.submit(self._load, job))
                break
        # Futures left when the caller stops early are cancelled by the pool's shutdown.

    # ---- rendering ----------------------------------------------------------------------------------
    def _fail(self, job: Job, message: str) -> None:
        with self._lock:
            self.outcome.failed.append((str(job.item.label), message))
        self.on_failed(str(job.item.label), message)

    def _render(self, batch: list[tuple[Job, Any]]) -> list[tuple[Job, Any]]:
        requests = [request for _, request in batch]
        if self.prepare is None and len(batch) > 1:
            try:
                return list(zip([job for job, _ in batch], self.engine.generate_batch(requests), strict=True))
            except _item_errors() as exc:
                log.info("batch failed (%s): rendering its %d maps one by one", _message(exc), len(batch))
        done = []
        for job, request in batch:
            try:
                if self.prepare is not None:
                    self.prepare(request)
                done.append((job, self.engine.generate_batch([request])[0]))
            except _item_errors() as exc:
                self._fail(job, _message(exc))
        return done

    def run(self) -> Outcome:
        """Render every job (until stopped); returns what was rendered and what failed."""
        writes: queue.Queue = queue.Queue(maxsize=self.batch_size * 3)
        writer = threading.Thread(target=self._write_loop, args=(writes,), name="batch-writer", daemon=True)
        writer.start()
        pool = ThreadPoolExecutor(self.loaders, thread_name_prefix="batch-loader")
        try:
            batch: list[tuple[Job, Any]] = []
            for job, request, error in self._loaded(pool):
                if error is not None:
                    self._fail(job, error)
                    continue
                batch.append((job, request))
                if len(batch) == self.batch_size:
                    for done in self._render(batch):
                        writes.put(done)
                    batch = []
                    if self._stopping():
                        break
            else:
                for done in self._render(batch):
                    writes.put(done)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            writes.put(None)
            writer.join()
        return self.outcome

    def _stopping(self) -> bool:
        if self.stop.is_set() or self.should_stop():
            self.outcome.stopped = True
            return True
        return False

    # ---- writing ----------------------------------------------------------------------------------
    def _write_loop(self, writes: queue.Queue) -> None:
        while (entry := writes.get()) is not None:
            job, result = entry
            try:
                self._write(job, result)
            except _item_errors() as exc:
                self._fail(job, f"cannot write {job.output}: {_message(exc)}")

    def _write(self, job: Job, result: Any) -> None:
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(result.image).save(buffer, format="PNG")
        data = buffer.getvalue()
        write_atomic(job.output, data)
        digest = sha256_file(job.output)
        self.manifest.append(self.record(job, result, digest or ""))
        with self._lock:
            self.outcome.rendered += 1
        self.on_written(1)


def default_batch_size(device: Any) -> int:
    """Images per generator call: CPUs gain little from large batches; GPUs fill up with a few."""
    kind = getattr(device, "type", str(device))
    if kind == "cuda":
        try:
            import torch

            free, _total = torch.cuda.mem_get_info(device)
            return 8 if free > 16 * 2**30 else 4
        except Exception:  # noqa: BLE001 (a query failing only means the safe default)
            return 4
    return 4 if kind == "mps" else 2
