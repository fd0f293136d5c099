"""``REGIONPAINT_STARTUP_PROBE=out.json``: when the editor's window showed and its first render reached the canvas.

A measuring aid for ``bench/editor_startup.py`` and for anyone timing start-up by hand::

    REGIONPAINT_STARTUP_PROBE=/tmp/startup.json regionpaint gui --demo

Without the variable nothing here runs. With it, :func:`attach_from_env` (called by
:func:`regionpaint.app.qt.main.run_editor` just before the window shows) records wall-clock times (``time.time()``,
seconds since the epoch, so the launching process can subtract its own launch time):

* ``window_shown``: the main window's first Show event;
* ``window_painted``: the first paint of any of its widgets (what a person first sees of it);
* ``first_render_done``: the first ``renderFinished`` of the render controller (fast preview or exact);
* ``first_render``: the canvas's first paint after it, i.e. the first rendered pixels on screen;
* ``first_exact``: the canvas's first paint after the first exact render (the one that stays on screen).
* ``settled``: when the render thread went idle after that (the load phase below starts then);
* ``document_opened``, ``checkpoint_loaded``: where the time before the first render went (the second from
  the render controller's warm-up, where it has one; ``torch_imported`` for a warm-up without a document).

With ``REGIONPAINT_STARTUP_PROBE_LOAD_S=S`` (S > 0) it then paints label dabs through the editor's own
brush edit every :data:`EDIT_INTERVAL_MS` for S seconds, so renders run back to back, while a
:data:`TICK_MS` timer on the UI thread records how late each tick fires (``lateness_ms``) and how many
renders finished (``renders_during_load``). Then it writes the JSON file and quits the editor (unsaved
edits discarded). Without a load phase it writes and quits after the first exact render.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

PROBE_ENV = "REGIONPAINT_STARTUP_PROBE"
LOAD_ENV = "REGIONPAINT_STARTUP_PROBE_LOAD_S"
TICK_MS = 10  # the lateness timer's interval
# A label dab this often while measuring lateness: just over the editor's 200 ms debounce, so every dab asks for a
# render (dabs closer together are one edit to the debouncer) and renders follow each other without pause.
EDIT_INTERVAL_MS = 250
GIVE_UP_S = 180.0  # write what was recorded and quit if no exact render came by then


class StartupProbe(QObject):
    """Records start-up times of one main window (see the module docstring) and writes them to ``out``."""

    def __init__(self, window: Any, out: Path, load_s: float = 0.0) -> None:
        super().__init__(window)
        self.window, self.out, self.load_s = window, Path(out), float(load_s)
        self.times: dict[str, float] = {"probe_attached": time.time()}
        self.lateness_ms: list[float] = []
        self.renders_during_load = 0
        self._render_seen = False  # a render finished and its paint is awaited
        self._exact_seen = False
        self._loading = False
        self._last_tick = 0.0
        self._dab = 0
        self._written = False
        window.installEventFilter(self)
        # Until the window's first paint only: an application-wide filter sees every event.
        QApplication.instance().installEventFilter(self)
        window.canvas.viewport().installEventFilter(self)
        window.render_controller.renderFinished.connect(self._on_render_finished)
        window.state.documentReplaced.connect(lambda: self.times.setdefault("document_opened", time.time()))
        warmed_up = getattr(window.render_controller, "warmedUp", None)  # absent in editors before the warm-up
        if warmed_up is not None:
            warmed_up.connect(self._on_warmed_up)
        QTimer.singleShot(int(GIVE_UP_S * 1000), self._finish)

    # -- start-up ------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Paint and "window_painted" not in self.times and self._in_window(watched):
            self.times["window_painted"] = time.time()
            QApplication.instance().removeEventFilter(self)
        if watched is self.window and kind == QEvent.Type.Show:
            self.times.setdefault("window_shown", time.time())
        elif kind == QEvent.Type.Paint and watched is self.window.canvas.viewport():
            if self._render_seen:
                self.times.setdefault("first_render", time.time())
            if self._exact_seen and "first_exact" not in self.times:
                self.times["first_exact"] = time.time()
                self._when_idle(self._after_first_exact)
        return False

    def _in_window(self, watched: QObject) -> bool:
        window = getattr(watched, "window", None)
        return callable(window) and window() is self.window

    def _on_warmed_up(self, outcome: Any) -> None:
        key = "checkpoint_loaded" if outcome.warm.checkpoint or outcome.warm.engine_id else "torch_imported"
        self.times.setdefault(key, time.time())

    def _on_render_finished(self, outcome: Any) -> None:
        if self._loading:
            self.renders_during_load += 1
            return
        self.times.setdefault("first_render_done", time.time())
        self._render_seen = True
        if not outcome.job.request.fast:
            self._exact_seen = True
        self.window.canvas.viewport().update()  # the paint that shows it is what we time

    def _when_idle(self, then) -> None:
        """``then`` once the render thread has nothing left to do for the opening (a render or a timing trial)."""
        controller = self.window.render_controller
        if not controller.busy and not controller.scheduled:
            QTimer.singleShot(0, then)
            return

        def on_idle() -> None:
            controller.idle.disconnect(on_idle)
            QTimer.singleShot(0, then)

        controller.idle.connect(on_idle)

    def _after_first_exact(self) -> None:
        self.times["settled"] = time.time()
        if self.load_s <= 0:
            self._finish()
            return
        self._loading = True
        self.times["load_start"] = time.time()
        self._ticker = QTimer(self, interval=TICK_MS, timerType=Qt.TimerType.PreciseTimer)
        self._ticker.timeout.connect(self._tick)
        self._editor = QTimer(self, interval=EDIT_INTERVAL_MS)
        self._editor.timeout.connect(self._paint_dab)
        self._last_tick = time.perf_counter()
        self._ticker.start()
        self._editor.start()
        self._paint_dab()
        QTimer.singleShot(int(self.load_s * 1000), self._finish)

    # -- the event loop under continuous rendering ---------------------------------------------------
    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness_ms.append(max(0.0, (now - self._last_tick) * 1000 - TICK_MS))
        self._last_tick = now

    def _paint_dab(self) -> None:
        """One brush dab through the editor's edit path, alternating two labels so every dab changes pixels."""
        from regionpaint.app.model import edits

        state = self.window.state
        doc = state.document
        if doc is None or state.label_set is None:
            return
        ids = sorted(int(c) for c in set(doc.label[:: max(1, doc.height // 8), :: max(1, doc.width // 8)].ravel()))
        label = ids[self._dab % len(ids)] if ids else 0
        x = doc.width * (0.3 + 0.4 * ((self._dab * 7) % 10) / 10)
        y = doc.height * (0.3 + 0.4 * ((self._dab * 3) % 10) / 10)
        self._dab += 1
        state.label_edit(edits.paint_stroke, [(x, y)], label, max(2.0, doc.width / 40))

    # -- the report ----------------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        controller = self.window.render_controller
        return {
            "times": dict(self.times),
            "tick_ms": TICK_MS,
            "lateness_ms": [round(value, 3) for value in self.lateness_ms],
            "renders_during_load": self.renders_during_load,
            "renders_dropped": controller.dropped,
            "load_s": self.load_s,
        }

    def _finish(self) -> None:
        if self._written:
            return
        self._written = True
        self.times["finished"] = time.time()
        for timer in (getattr(self, "_ticker", None), getattr(self, "_editor", None)):
            if timer is not None:
                timer.stop()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.out.write_text(json.dumps(self.report()), encoding="utf-8")
        log.info("startup probe written to %s", self.out)
        self.window.ask_unsaved = lambda *_: "discard"  # the probe's dabs are not the person's work
        self.window.close()
        QApplication.quit()


def attach_from_env(window: Any) -> StartupProbe | None:
    """A probe on ``window`` when ``REGIONPAINT_STARTUP_PROBE`` names a file, else None (the usual case)."""
    out = os.environ.get(PROBE_ENV)
    if not out:
        return None
    try:
        load_s = float(os.environ.get(LOAD_ENV) or 0)
    except ValueError:
        load_s = 0.0
    return StartupProbe(window, Path(out), load_s)
