"""Faults stay contained: a broken engine is reported with its plugin's name, out-of-memory gives advice,
a hanging render can be given up on, and the editor keeps rendering with the other engines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import regionpaint.plugins.manager
from regionpaint.app.model import edits
from regionpaint.app.model.project import open_project
from regionpaint.app.render.guard import EngineFault, check_result, describe_fault, guarded_generate, is_out_of_memory
from regionpaint.engines.base import RenderRequest, RenderResult
from tests import broken_engines
from tests.broken_engines import PLUGIN_NAME, manager_with_broken_plugin
from tests.qt_support import make_window, no_leaked_threads  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
FACES = REPO / "assets" / "demo" / "faces.rpaint"


@pytest.fixture
def broken_registry(monkeypatch):
    manager = manager_with_broken_plugin()
    monkeypatch.setattr(regionpaint.plugins.manager, "get_plugin_manager", lambda: manager)
    return manager


def request() -> RenderRequest:
    return RenderRequest(label=np.zeros((24, 32), np.uint8))


def engine(engine_id: str):
    manager = regionpaint.plugins.manager.get_plugin_manager()
    instance = manager.engine_class(engine_id)()
    instance.load("unused")
    return instance


@pytest.mark.parametrize(
    "engine_id, words",
    [
        ("broken-raise", ["ZeroDivisionError", "division by zero"]),
        ("broken-exit", ["SystemExit", "called sys.exit"]),  # a plugin's exit must not end the app
        ("broken-shape", ["shape (24, 32)", "(H, W, 3)"]),
        ("broken-dtype", ["float32", "uint8"]),
        ("broken-oom", ["ran out of memory", "smaller output size than 32x24"]),
    ],
)
def test_a_broken_engine_is_reported_with_its_plugin(broken_registry, engine_id, words):
    with pytest.raises(EngineFault) as caught:
        guarded_generate(engine(engine_id), request())
    message = str(caught.value)
    assert f"engine {engine_id!r} (plugin {PLUGIN_NAME!r})" in message
    for word in words:
        assert word in message
    assert "\n" not in message


def test_out_of_memory_is_recognised_in_every_form(broken_registry):
    class OutOfMemoryError(RuntimeError):  # what torch.cuda.OutOfMemoryError is called
        pass

    for exc in (
        MemoryError(),
        OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("not enough memory: you tried to allocate 8 GB"),
    ):
        assert is_out_of_memory(exc)
        message = describe_fault(exc, "broken-raise", "cuda:0", request())
        assert "ran out of memory on cuda:0" in message and "the CPU device" in message
    assert not is_out_of_memory(RuntimeError("size mismatch"))
    assert "CPU device" not in describe_fault(MemoryError(), "broken-raise", "cpu", request())


def test_a_result_of_the_wrong_size_is_refused(broken_registry):
    ok = RenderResult(np.zeros((24, 32, 3), np.uint8), None)
    check_result(ok, request(), engine("broken-raise"))
    with pytest.raises(EngineFault, match="returned a 16x24 image for a 32x24 render"):
        check_result(RenderResult(np.zeros((24, 16, 3), np.uint8), None), request(), engine("broken-raise"))


def test_the_cli_reports_a_broken_plugin_engine_in_one_line(broken_registry, tmp_path, capsys):
    from regionpaint.app.cli import main

    code = main(["render", "--project", str(FACES), "--engine", "broken-raise", "--out", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("regionpaint: error: ") and PLUGIN_NAME in err and "Traceback" not in err


def faces_window(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, open_project(FACES))
    window.render_controller.auto_render = False
    return window


def render_and_wait(qtbot, window):
    controller = window.render_controller
    with qtbot.waitSignal(controller.idle, timeout=120_000):
        controller.render_now()
    return controller.last_outcome


def test_the_editor_reports_broken_engines_and_keeps_rendering_with_the_others(qtbot, tmp_path, broken_registry):
    window = faces_window(qtbot, tmp_path)
    doc = window.document
    good = doc.engine
    for engine_id in ("broken-raise", "broken-shape", "broken-dtype", "broken-oom"):
        edits.set_engine_settings(doc, good.replaced(engine_id=engine_id))
        outcome = render_and_wait(qtbot, window)
        assert not outcome.ok and PLUGIN_NAME in outcome.error, outcome.error
        assert PLUGIN_NAME in window.notice.message
    edits.set_engine_settings(doc, good)
    outcome = render_and_wait(qtbot, window)
    assert outcome.ok, outcome.error
    assert doc.last_render is not None and doc.last_render.image.shape[2] == 3


def test_a_hanging_render_can_be_given_up_on_and_a_fresh_worker_takes_the_next(qtbot, tmp_path, broken_registry):
    from regionpaint.app.qt.workers.render_controller import _abandoned

    broken_engines.RELEASE_HANG.clear()
    window = faces_window(qtbot, tmp_path)
    controller = window.render_controller
    controller.timeout_s = 0.3
    doc = window.document
    good = doc.engine
    edits.set_engine_settings(doc, good.replaced(engine_id="broken-hang"))
    try:
        with qtbot.waitSignal(controller.renderOverdue, timeout=30_000):
            controller.render_now()
        assert controller.busy
        assert "has been rendering for over" in window.notice.message
        assert window.notice.action_button.isVisible() and window.notice.action_button.text() == "Stop waiting"
        assert window.actions["cancel_render"].isEnabled()
        window.notice.action_button.click()  # what the person does
        assert not controller.busy and controller.abandoned == 1
        assert "Stopped waiting for engine 'broken-hang'" in window.notice.message
        assert PLUGIN_NAME in window.notice.message
        edits.set_engine_settings(doc, good)
        outcome = render_and_wait(qtbot, window)
        assert outcome.ok, outcome.error  # a fresh worker thread rendered with the demo SEAN model
    finally:
        broken_engines.RELEASE_HANG.set()
    qtbot.waitUntil(lambda: not _abandoned.running(), timeout=30_000)
    controller.shutdown()


def test_a_crash_in_generate_is_one_line_in_a_real_cli_process_and_debug_shows_the_traceback(tmp_path):
    """In-process runs above share pytest's log handlers; a real process has regionpaint's own, which printed
    the engine's whole traceback before the one-line error."""
    import os
    import subprocess
    import sys

    from tests.broken_engines import install_entry_point

    site = install_entry_point(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]), "REGIONPAINT_LOAD_PLUGINS": PLUGIN_NAME}
    env["REGIONPAINT_DATA_DIR"] = str(tmp_path / "data")
    args = ["render", "--project", str(FACES), "--engine", "broken-raise", "--out", str(tmp_path / "o.png")]

    def run(*options: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "regionpaint", *options, *args]
        return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)

    plain = run()
    assert plain.returncode == 2
    assert plain.stderr.splitlines() == [
        f"regionpaint: error: engine 'broken-raise' (plugin {PLUGIN_NAME!r}, package broken-test-plugin 0.1) failed "
        "while rendering (ZeroDivisionError: division by zero deep inside the network); "
        "`regionpaint --debug ...` shows the traceback"
    ]
    debug = run("--debug")
    assert "Traceback (most recent call last)" in debug.stderr and "raise ZeroDivisionError" in debug.stderr
