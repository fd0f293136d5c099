"""Loaded engines, cached per (engine, checkpoint, device).

One model at a time: asking for another checkpoint or device releases the previous engine first,
so switching engines in the editor never holds two generators in GPU memory.

A load runs outside the cache's lock, so a ``load()`` that never returns (a plugin's deadlock, a stuck
network drive) blocks only the thread it runs on: the editor gives up on that thread and the next engine
loads at once. Every load is numbered; one that finishes after a newer load (or a release) began is not
kept, so a load given up on can never replace the engine that was loaded after it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from regionpaint.engines.base import Engine

log = logging.getLogger(__name__)


class EngineCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the fields below; never held while an engine loads
        self._key: tuple[str, str, str] | None = None
        self._engine: Engine | None = None
        self._generation = 0  # bumped by every load and release: a finishing load keeps its engine only if unchanged

    def get(self, engine_class: type[Engine], checkpoint: str | Path | None, device: str = "auto") -> Engine:
        """The loaded engine for this checkpoint and device, loading (and evicting) as needed.

        ``checkpoint`` None: an engine that needs no weights (``needs_checkpoint = False``)."""
        key = (engine_class.id, str(Path(checkpoint).resolve()) if checkpoint else "", device)
        with self._lock:
            if self._key == key and self._engine is not None:
                return self._engine
            self._release_locked()  # one model at a time: the previous one goes before the next loads
            generation = self._generation
        engine = engine_class()
        engine.load(checkpoint, device)
        with self._lock:
            if self._generation == generation:
                self._key, self._engine = key, engine
                log.info("loaded %s from %s on %s", engine_class.id, checkpoint, engine.device)
                return engine
        # Another load or a release began while this one ran (this one was given up on): the caller gets the
        # engine it asked for, but the cache keeps what came later.
        log.info("loaded %s from %s after a newer load began; not cached", engine_class.id, checkpoint)
        return engine

    def release(self) -> None:
        with self._lock:
            self._release_locked()

    def _release_locked(self) -> None:
        self._generation += 1
        engine, self._key, self._engine = self._engine, None, None
        if engine is not None:
            engine.release()
