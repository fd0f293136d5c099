"""The editor's "Fast preview": edits render fast first, then the exact render replaces it when idle.

Uses the SEAN reference checkpoint in ../shared (skips where absent) through the real render thread.
"""

from __future__ import annotations

import numpy as np

from regionpaint.app.model import edits
from tests.qt_support import make_window, no_leaked_threads, sean_document  # noqa: F401
from tests.test_qt_render import RENDER_TIMEOUT_MS, wait_until_idle


def _finished_modes(controller) -> list[bool]:
    modes: list[bool] = []
    controller.renderFinished.connect(lambda outcome: modes.append(outcome.job.request.fast))
    return modes


def test_an_edit_renders_fast_then_exact_and_the_exact_render_stays(qtbot, tmp_path, monkeypatch):
    import regionpaint.app.qt.workers.render_controller as render_controller

    monkeypatch.setattr(render_controller, "FAST_PREVIEW_WORTH", 1e9)  # preview whatever the measured times
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


def test_fast_preview_pays_only_where_fast_is_measured_faster():
    from regionpaint.app.qt.workers.render_controller import fast_preview_pays

    assert fast_preview_pays(None, None) and fast_preview_pays(0.5, None), "until both are measured"
    assert fast_preview_pays(0.5, 1.0)
    assert not fast_preview_pays(4.04, 3.93), "SPADE on a CPU without bf16 matrix units"


def test_where_fast_is_not_faster_an_edit_renders_exact_only(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, sean_document())
    controller = window.render_controller
    wait_until_idle(qtbot, window)
    job = controller.last_outcome.job.job
    controller.render_times[(job.engine_id, job.checkpoint, job.device)] = {True: 2.0, False: 1.0}
    modes = _finished_modes(controller)
    window.state.edit(edits.set_engine_settings, seed=7)
    qtbot.waitUntil(lambda: bool(modes) and not controller.busy and not controller.scheduled, timeout=RENDER_TIMEOUT_MS)
    assert modes == [False], "no preview where it does not pay: one exact render"


def test_compile_is_opt_in_follows_fast_preview_and_reaches_only_the_fast_render(qtbot, tmp_path, monkeypatch):
    import regionpaint.app.qt.workers.render_controller as render_controller
    from regionpaint.app.qt.panels.engine import COMPILE_SETTING

    monkeypatch.setattr(render_controller, "FAST_PREVIEW_WORTH", 1e9)
    window = make_window(qtbot, tmp_path, sean_document())
    controller, box = window.render_controller, window.engine_panel.compile_fast
    assert not box.isChecked() and controller.compile_fast is False  # off until asked for
    window.engine_panel.fast_preview.setChecked(False)
    assert not box.isEnabled()  # compiles the fast path only
    window.engine_panel.fast_preview.setChecked(True)
    assert box.isEnabled()
    box.setChecked(True)
    assert controller.compile_fast is True
    assert window.settings.value(COMPILE_SETTING, False, bool) is True  # remembered for the next session
    wait_until_idle(qtbot, window)
    requests = []
    controller.renderFinished.connect(lambda outcome: requests.append(outcome.job.request))
    window.state.edit(edits.set_engine_settings, seed=11)
    qtbot.waitUntil(lambda: len(requests) == 2 and not controller.busy, timeout=RENDER_TIMEOUT_MS)
    assert [(r.fast, r.compile) for r in requests] == [(True, True), (False, False)]
