"""Stopping a run cleanly: SIGINT / SIGTERM ask the trainer to save a checkpoint and return.

The handler only sets a flag; the trainer checks it between iterations (on every rank), writes the
checkpoint and emits ``stopped``. A second SIGINT while stopping raises KeyboardInterrupt (an impatient user
still gets out; the last complete checkpoint stays in place because every file is written atomically).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StopRequest:
    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def request(self, reason: str = "requested") -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @contextmanager
    def signal_handlers(self) -> Iterator[StopRequest]:
        """Route SIGINT/SIGTERM to :meth:`request` while the block runs (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {}

        def handle(signum, frame) -> None:
            if self.requested and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.request(signal.Signals(signum).name)

        # SIGBREAK: what the job runner's CTRL_BREAK_EVENT becomes on Windows.
        signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGBREAK] if hasattr(signal, "SIGBREAK") else [])
        for sig in signals:
            previous[sig] = signal.signal(sig, handle)
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
