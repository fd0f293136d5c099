"""The editor's "Fast preview": edits render fast first, then the exact render replaces it when idle.

Uses the SEAN reference checkpoint in ../shared (skips where absent) through the real render thread.
"""

from __future__ import annotations

import numpy as np

from app.model import edits
from tests.qt_support import make_window, no_leaked_threads, sean_document  # noqa: F401
from tests.test_qt_render import RENDER_TIMEOUT_MS, wait_until_idle


def _finished_modes(controller) -> list[bool]:
    modes: list[bool] = []
    controller.renderFinished.connect(lambda outcome: modes.append(outcome.job.request.fast))
    return modes


def test_an_edit_renders_fast_then_exact_and_the_exact_render_stays(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, sean_document())
    controller = window.render_controller
    assert window.engine_panel.fast_preview.isChecked() and controller.fast_preview
    wait_until_idle(qtbot, window)
    modes = _finished_modes(controller)
    window.state.edit(edits.set_engine_settings, seed=7)
    qtbot.waitUntil(lambda: len(modes) == 2 and not controller.busy, timeout=RENDER_TIMEOUT_MS)
    assert modes == [True, False]
    shown = window.document.last_render.image.copy()

    window.engine_panel.fast_preview.setChecked(False)  # the checkbox reaches the controller
    assert controller.fast_preview is False
    window.state.edit(edits.set_engine_settings, seed=8)
    window.state.edit(edits.set_engine_settings, seed=7)
    qtbot.waitUntil(
        lambda: len(modes) >= 3 and not controller.busy and not controller.scheduled, timeout=RENDER_TIMEOUT_MS
    )
    assert modes[2:] == [False]  # exact only: no preview, no follow-up
    # The exact render after the preview is the exact render itself, not the fast one.
    assert np.array_equal(window.document.last_render.image, shown)
