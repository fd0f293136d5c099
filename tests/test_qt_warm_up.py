"""Opening a document: the render thread loads its checkpoint before any render asks, the opening render is exact
and not debounced, the fast path is timed once without being shown, and the start-up probe reports its times.

Uses the bundled face demo (SEAN, a small checkpoint in assets/demo) through the real render thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from regionpaint.app.bundled_demo import FACE_DEMO
from tests.conftest import REPO
from tests.qt_support import NOTE_TORCH_IMPORTERS, face_demo_document, make_window, no_leaked_threads  # noqa: F401
from tests.test_qt_render import RENDER_TIMEOUT_MS, wait_until_idle


def test_opening_a_document_loads_its_checkpoint_on_the_render_thread_before_any_render(qtbot, tmp_path):
    from regionpaint.app.render.service import default_service

    default_service().release()  # whatever an earlier test loaded: this one must load it again
    doc = face_demo_document()
    window = make_window(qtbot, tmp_path)
    controller = window.render_controller
    events: list[str] = []
    controller.warmedUp.connect(lambda outcome: events.append(f"warmed:{outcome.engine_id}:{outcome.ok}"))
    controller.renderStarted.connect(lambda job: events.append("started:" + ("fast" if job.request.fast else "exact")))
    shown: list = []
    controller.renderFinished.connect(shown.append)

    window.set_document(doc)
    # The load is on the render thread already; the render waits for the next turn of the event loop, no debounce.
    assert controller.has_thread and events == [] and controller.scheduled
    wait_until_idle(qtbot, window)

    assert "warmed:sean:True" in events and "started:exact" in events and "started:fast" not in events
    assert [outcome.job.request.fast for outcome in shown] == [False], "exact on opening; the fast trial is not shown"
    first = shown[0]
    assert not first.loaded, "the warm-up had loaded the checkpoint: the first render found it in the cache"
    assert default_service().holds("sean", doc.engine.checkpoint, "cpu")
    times = controller.render_times[(first.job.engine_id, first.job.checkpoint, first.job.device)]
    assert set(times) == {False, True}, "exact and fast are both timed before the first edit"


def test_the_warm_up_signal_comes_with_the_engine_loaded(qtbot, tmp_path):
    from regionpaint.app.render.service import default_service

    default_service().release()
    doc = face_demo_document()
    doc_checkpoint = doc.engine.checkpoint
    window = make_window(qtbot, tmp_path)
    controller = window.render_controller
    controller.auto_render = False  # only the warm-up: nothing renders
    with qtbot.waitSignal(controller.warmedUp, timeout=RENDER_TIMEOUT_MS) as warmed:
        window.set_document(doc)
        assert controller.warm_up() is True
    outcome = warmed.args[0]
    assert outcome.ok and outcome.engine_id == "sean", outcome.error
    assert default_service().holds("sean", doc_checkpoint, "cpu")
    assert controller.last_outcome is None, "a warm-up is not a render"
    controller.shutdown()


# The real `gui --demo` with the probe, in a fresh interpreter that notes which thread imports torch.
PROBE_RUN = (
    NOTE_TORCH_IMPORTERS
    + r"""
from regionpaint.app.cli import main
status = main(["gui", "--demo"])
print("torch imported by:", sorted(set(importers)))
sys.exit(status)
"""
)


@pytest.mark.slow
def test_the_startup_probe_reports_the_times_and_torch_stays_off_the_ui_thread(tmp_path):
    if not FACE_DEMO.is_file():
        pytest.skip(f"{FACE_DEMO} is not built")
    out = tmp_path / "probe.json"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "REGIONPAINT_DATA_DIR": str(tmp_path / "data"),
        "REGIONPAINT_STARTUP_PROBE": str(out),
        "REGIONPAINT_STARTUP_PROBE_LOAD_S": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE_RUN], cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-2000:]
    importers = next(line for line in done.stdout.splitlines() if line.startswith("torch imported by:"))
    assert "MainThread" not in importers and "[]" not in importers, importers
    report = json.loads(out.read_text())
    times = report["times"]
    for key in ("window_shown", "window_painted", "document_opened", "checkpoint_loaded"):
        assert key in times, key
    assert times["window_shown"] <= times["first_render"] <= times["first_exact"] <= times["settled"]
    assert times["document_opened"] <= times["checkpoint_loaded"] <= times["first_render"]
    assert report["lateness_ms"] and all(value >= 0 for value in report["lateness_ms"])
    assert report["load_s"] == 1.0 and report["tick_ms"] == 10
