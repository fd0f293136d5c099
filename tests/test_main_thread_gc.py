"""Garbage cycles are collected on the UI thread (app/qt/workers/main_thread_gc.py), never on a render thread."""

from __future__ import annotations

import gc
import threading

from regionpaint.app.qt.workers import main_thread_gc


class Cycle:
    """A reference cycle that records the thread its finaliser ran on."""

    collected_on: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.collected_on.append(threading.current_thread().name)


def test_automatic_collection_is_off_and_the_ui_thread_collects_on_a_timer(qtbot, qapp):
    collector = main_thread_gc.install(qapp)
    assert collector is main_thread_gc.install(qapp)  # once per application
    assert not gc.isenabled() and collector.timer.isActive()
    Cycle.collected_on.clear()
    Cycle()

    def churn() -> None:  # a render thread allocating far past the collector's thresholds
        for _ in range(5_000):
            Cycle()  # garbage cycles, far past the generation-0 threshold

    worker = threading.Thread(target=churn, name="render-thread")
    worker.start()
    worker.join()
    assert Cycle.collected_on == []  # nothing was collected on the render thread
    qtbot.waitUntil(lambda: bool(Cycle.collected_on), timeout=5000)
    qtbot.waitUntil(lambda: len(Cycle.collected_on) == 5_001, timeout=10000)
    assert set(Cycle.collected_on) == {threading.current_thread().name}
