"""Cyclic garbage collection on the UI thread only.

CPython runs its cyclic collector on whichever thread happens to allocate past the threshold. On a render
thread that is building a network (thousands of new objects) it collects whatever cycles are pending,
including closed windows, dialogs and their signal lambdas: their Qt destructors then run off the UI
thread, which crashes Qt (seen in CI as a segfault in the UI thread's event loop while the warm-up thread
loaded a checkpoint). So, as pyqtgraph's GarbageCollector does, automatic collection is switched off and
the UI thread collects on a timer, generation by generation with CPython's own thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 500


class MainThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.collect)
        self.timer.start()

    def collect(self) -> None:
        """What CPython would have collected by now, here on the UI thread."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return


def install(app: QCoreApplication | None = None) -> MainThreadGarbageCollector | None:
    """Collect garbage on the UI thread of ``app`` from now on (once per application); None without one."""
    app = app or QCoreApplication.instance()
    if app is None:
        return None
    existing = app.findChild(MainThreadGarbageCollector)
    return existing or MainThreadGarbageCollector(app)
