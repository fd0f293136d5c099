"""Loaded engines, cached per (engine, checkpoint, device).

One model at a time: asking for another checkpoint or device releases the previous engine first,
so switching engines in the editor never holds two generators in GPU memory.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from engines.base import Engine

log = logging.getLogger(__name__)


class EngineCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[str, str, str] | None = None
        self._engine: Engine | None = None

    def get(self, engine_class: type[Engine], checkpoint: str | Path | None, device: str = "auto") -> Engine:
        """The loaded engine for this checkpoint and device, loading (and evicting) as needed.

        ``checkpoint`` None: an engine that needs no weights (``needs_checkpoint = False``)."""
        key = (engine_class.id, str(Path(checkpoint).resolve()) if checkpoint else "", device)
        with self._lock:
            if self._key == key and self._engine is not None:
                return self._engine
            self._release_locked()
            engine = engine_class()
            engine.load(checkpoint, device)
            self._key, self._engine = key, engine
            log.info("loaded %s from %s on %s", engine_class.id, checkpoint, engine.device)
            return engine

    def release(self) -> None:
        with self._lock:
            self._release_locked()

    def _release_locked(self) -> None:
        if self._engine is not None:
            self._engine.release()
        self._key, self._engine = None, None
