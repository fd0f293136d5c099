"""Rendering from the editor with a real engine: debounced, one at a time, newest wins, errors survive.

Uses the SEAN reference checkpoint in ../shared (tests skip where it is absent); nothing here mocks
the engine.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from regionpaint.app.model import edits
from regionpaint.app.qt.workers.render_controller import DEBOUNCE_MS
from tests.qt_support import (  # noqa: F401
    SEAN_CHECKPOINT,
    drag,
    face_document,
    make_window,
    no_leaked_threads,
    sean_document,
    style_source,
)

# Renders full-size reference networks, trains or starts processes: `./dev test -m "not slow"` skips it.
pytestmark = pytest.mark.slow

RENDER_TIMEOUT_MS = 60_000
HAIR = 13


def wait_until_idle(qtbot, window) -> None:
    controller = window.render_controller
    qtbot.waitUntil(lambda: not controller.busy and not controller.scheduled, timeout=RENDER_TIMEOUT_MS)


def wait_for_render(qtbot, window) -> None:
    """Wait for the next exact render to finish; a failed render fails the test with the engine's message."""
    controller = window.render_controller
    outcome: dict[str, object] = {}

    def on_done(result) -> None:
        if not result.job.request.fast:  # a fast preview is followed by the exact render: wait for that one
            outcome.setdefault("ok", result)

    def on_failed(message: str) -> None:
        outcome.setdefault("error", message)

    controller.renderFinished.connect(on_done)
    controller.renderFailed.connect(on_failed)
    try:
        qtbot.waitUntil(lambda: bool(outcome), timeout=RENDER_TIMEOUT_MS)
    finally:
        controller.renderFinished.disconnect(on_done)
        controller.renderFailed.disconnect(on_failed)
    assert "error" not in outcome, f"render failed: {outcome['error']}"


def test_a_style_slider_move_renders_once_with_the_new_weights(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, sean_document())
    controller, doc = window.render_controller, window.document
    wait_for_render(qtbot, window)  # the render on opening
    first = doc.last_render.image.copy()
    started = []
    controller.renderStarted.connect(started.append)

    panel = window.regions_panel
    panel.select_regions([HAIR])
    panel.region_mix.source_a.setCurrentText("A")
    panel.region_mix.source_b.setCurrentText("B")
    panel.region_mix.slider.setValue(30)
    wait_for_render(qtbot, window)
    qtbot.wait(3 * DEBOUNCE_MS)  # nothing else may follow

    assert len(started) == 1
    mix = started[0].request.region_styles[HAIR]
    assert [name for name, _ in mix] == ["A", "B"]
    assert [weight for _, weight in mix] == pytest.approx([0.7, 0.3])
    assert doc.region_styles[HAIR] == mix
    assert doc.history.entries == ["hair: A → 50% A + 50% B", "hair: 50% A + 50% B → 70% A + 30% B"]
    hair = np.asarray(doc.label) == HAIR  # the render is 256x256 like the label
    changed = np.abs(doc.last_render.image.astype(int) - first.astype(int)).sum(axis=2) > 0
    assert changed[hair].mean() > 0.5, "the hair region is rendered with the new mix"
    assert "SEAN" in window.render_label.text()


def test_random_and_mean_styles_render_from_the_gallery(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, sean_document())
    doc, panel = window.document, window.regions_panel
    wait_for_render(qtbot, window)
    assert panel.random_button.isEnabled() and panel.mean_button.isEnabled()
    panel.select_regions([HAIR])
    seed = doc.engine.seed
    panel.random_button.click()
    assert doc.region_styles[HAIR] == (("@random", 1.0),) and doc.engine.seed != seed
    assert doc.history.entries == ["hair: random style"], "new seed and style are one step"
    wait_for_render(qtbot, window)
    panel.mean_button.click()
    wait_for_render(qtbot, window)
    assert window.notice.message == ""


def test_a_corrupt_checkpoint_shows_a_message_and_the_editor_keeps_working(qtbot, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "latest_net_G.pth").write_bytes(b"this is not a checkpoint" * 8)
    doc = face_document()
    edits.set_engine_settings(doc, checkpoint=str(broken), device="cpu")
    doc.history.clear()
    window = make_window(qtbot, tmp_path)
    # Opened after the window: the opening render starts at once (no debounce) and may fail quickly.
    with qtbot.waitSignal(window.render_controller.renderFailed, timeout=RENDER_TIMEOUT_MS) as failure:
        window.set_document(doc)
    assert "latest_net_G.pth" in failure.args[0]
    assert "latest_net_G.pth" in window.notice.message
    assert "Render failed" in window.statusBar().currentMessage()
    wait_until_idle(qtbot, window)

    before = doc.label.copy()
    window.state.set_current_label(17)
    drag(window.canvas, [(5.5, 40.5), (30.5, 40.5)])
    assert (doc.label != before).any(), "painting still works"
    window.state.undo()
    assert np.array_equal(doc.label, before)

    if not SEAN_CHECKPOINT.is_dir():
        return
    edits.add_style_source(doc, "A", style_source(1))
    window.engine_panel.choices.choose_checkpoint(SEAN_CHECKPOINT)
    wait_for_render(qtbot, window)
    assert window.notice.message == "", "a good render clears the notice"


def test_rendering_never_blocks_the_event_loop(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, sean_document())
    controller = window.render_controller
    ticks: list[float] = []
    probe = QTimer(interval=10)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    probe.start()
    wait_for_render(qtbot, window)  # loads torch and the model unless an earlier test did
    first = float(np.diff(ticks).max())

    ticks.clear()
    window.state.edit(edits.assign_style, window.state.label_set, (("A", 0.5), ("B", 0.5)), [HAIR])
    wait_for_render(qtbot, window)
    probe.stop()
    warm = float(np.diff(ticks).max())
    print(
        f"longest event-loop gap: first render {first * 1000:.0f} ms, next render {warm * 1000:.0f} ms; "
        f"edit to screen {controller.last_latency:.2f} s"
    )
    assert warm < 0.15, f"the event loop stalled for {warm * 1000:.0f} ms during a render"


def test_the_newest_request_wins_and_stale_ones_are_dropped(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, sean_document())
    controller = window.render_controller
    wait_until_idle(qtbot, window)  # the render on opening, and the fast path's timing after it
    started = []
    controller.renderStarted.connect(started.append)
    for seed in range(1, 6):  # all on the UI thread, while the first of them renders
        window.state.edit(edits.set_engine_settings, seed=seed)
        controller.render_now()
    wait_until_idle(qtbot, window)
    assert [job.request.seed for job in started] == [1, 5]
    assert controller.dropped == 3


def test_without_a_checkpoint_nothing_renders(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    qtbot.wait(2 * DEBOUNCE_MS)
    assert not window.render_controller.has_thread
    assert window.render_label.text() == "No checkpoint chosen"
    assert window.notice.message == ""
