"""A hanging engine never hangs the app: quitting always quits, a stuck ``load()`` blocks no other engine, the
warm-up is watched like a render, and ``regionpaint render --timeout`` gives up with one line.

The hanging engines are the broken test plugin's (tests/broken_engines.py): ``broken-hang`` never returns from
``generate()``, ``broken-hang-load`` never returns from ``load()``. The quitting tests run the real editor
(``regionpaint gui``) as its own process with the plugin installed through an entry point, close its window
while the engine hangs, and wait for the process to end.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import regionpaint.plugins.manager
from regionpaint.app.bundled_demo import FACE_DEMO
from regionpaint.app.model import edits
from tests import broken_engines
from tests.broken_engines import PLUGIN_NAME, install_entry_point, manager_with_broken_plugin
from tests.conftest import REPO
from tests.qt_support import face_demo_document, make_window, no_leaked_threads  # noqa: F401

# From closing the window to the process's end. Measured ~2-3 s (up to 2 s of grace for a render to finish, then
# the UI's shutdown); a hang lasts forever in these sessions, so any exit at all is the fix working. The bound
# leaves room for a loaded 2-core machine tearing Qt down.
EXIT_BOUND_S = 30
# Starting the editor (Qt, plugins, the demo) and reaching the 1 s render limit, on a loaded 2-core machine.
START_TIMEOUT_S = 240
# How long a join may take before a thread is called blocked: far above the few milliseconds an uncontended
# load of a weightless engine takes, far below "forever".
BLOCKED_S = 30


@pytest.fixture
def broken_registry(monkeypatch):
    manager = manager_with_broken_plugin()
    monkeypatch.setattr(regionpaint.plugins.manager, "get_plugin_manager", lambda: manager)
    return manager


@pytest.fixture
def hang_released_after():
    """Hangs in this process last until the test ends (no thread may be left behind)."""
    from regionpaint.app.qt.workers.render_controller import _abandoned

    broken_engines.RELEASE_HANG.clear()
    yield
    broken_engines.RELEASE_HANG.set()
    deadline = time.monotonic() + BLOCKED_S
    while _abandoned.running() and time.monotonic() < deadline:
        time.sleep(0.05)


# -- the engine cache: a load that never returns blocks nobody else -----------------------------------------
def test_a_hung_load_does_not_block_loading_another_engine(broken_registry, hang_released_after):
    from regionpaint.engines.caching.engine_cache import EngineCache

    cache = EngineCache()
    hanging = broken_registry.engine_class("broken-hang-load")
    other = broken_registry.engine_class("broken-raise")
    stuck = threading.Thread(target=cache.get, args=(hanging, "unused", "cpu"), daemon=True)
    stuck.start()
    time.sleep(0.2)  # the stuck load is under way (a join below would not tell a late start from a block)
    loaded = {}
    other_load = threading.Thread(target=lambda: loaded.update(engine=cache.get(other, "unused", "cpu")), daemon=True)
    other_load.start()
    other_load.join(BLOCKED_S)
    assert not other_load.is_alive(), "loading another engine waited for the hung load"
    assert loaded["engine"].id == "broken-raise"
    broken_engines.RELEASE_HANG.set()  # the stuck load returns at last: too late to replace the newer engine
    stuck.join(BLOCKED_S)
    assert not stuck.is_alive()
    assert cache.get(other, "unused", "cpu") is loaded["engine"], "a load given up on must not evict the newer one"


# -- the editor, in this process ---------------------------------------------------------------------------
def _faces_window(qtbot, tmp_path, engine_id: str):
    doc = face_demo_document()
    good = doc.engine
    edits.set_engine_settings(doc, good.replaced(engine_id=engine_id))
    doc.history.clear()
    window = make_window(qtbot, tmp_path)
    controller = window.render_controller
    controller.timeout_s = 0.3
    controller.auto_render = False
    window.set_document(doc)
    return window, good


def test_a_hung_warm_up_is_watched_and_another_engine_renders_after_stop_waiting(
    qtbot, tmp_path, broken_registry, hang_released_after
):
    window, good = _faces_window(qtbot, tmp_path, "broken-hang-load")
    controller = window.render_controller
    with qtbot.waitSignal(controller.renderOverdue, timeout=BLOCKED_S * 1000) as overdue:
        assert controller.warm_up() is True  # loads the checkpoint on the render thread: never returns
    assert overdue.args[0].engine_id == "broken-hang-load"
    assert "Stop waiting" == window.notice.action_button.text()
    window.notice.action_button.click()
    assert controller.abandoned == 1
    # SEAN now loads through the same engine cache the stuck load went into, on a fresh render thread.
    edits.set_engine_settings(window.document, good)
    with qtbot.waitSignal(controller.idle, timeout=BLOCKED_S * 1000):
        controller.render_now()
    assert controller.last_outcome.ok, controller.last_outcome.error
    assert controller.last_outcome.engine_id == "sean"
    controller.shutdown()


def test_shutdown_does_not_wait_for_a_hung_render(qtbot, tmp_path, broken_registry, hang_released_after):
    from regionpaint.app.qt.workers.render_controller import _abandoned, render_threads_stuck

    window, _good = _faces_window(qtbot, tmp_path, "broken-hang")
    controller = window.render_controller
    controller.timeout_s = 3600  # not overdue: closing while a render simply runs on
    controller.render_now()
    qtbot.waitUntil(lambda: controller.busy, timeout=BLOCKED_S * 1000)
    # shutdown() on the UI thread, as closing does. Were it to wait for the render, the watcher would end the
    # hang after BLOCKED_S and the assertion below would say so (instead of the test hanging forever).
    watcher = threading.Timer(BLOCKED_S, broken_engines.RELEASE_HANG.set)
    watcher.start()
    try:
        stopped = controller.shutdown()
    finally:
        watcher.cancel()
    assert not broken_engines.RELEASE_HANG.is_set(), "shutdown() waited for the hung render"
    assert stopped is False and not controller.busy and not controller.has_thread
    assert render_threads_stuck() and _abandoned.running()


# -- the editor as its own process: closing the window ends it ----------------------------------------------
def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.strip())
    lines.put(None)


def run_hanging_editor(tmp_path: Path, engine_id: str, mode: str) -> dict:
    """Start the editor on the face demo rendered by ``engine_id``; it closes its window once the render is
    overdue (tests/editor_hang_session.py). Returns its output lines, exit code and seconds from closing to exit."""
    if not FACE_DEMO.is_file():
        pytest.skip(f"{FACE_DEMO} is not built")
    site = install_entry_point(tmp_path / "site")
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.ini").write_text("[render]\ntimeout_seconds=1\n")  # overdue after 1 s
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]),
        "REGIONPAINT_LOAD_PLUGINS": PLUGIN_NAME,
        "REGIONPAINT_DATA_DIR": str(data),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.editor_hang_session", engine_id, mode],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "closing" not in seen:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                pytest.fail(f"the editor ended before closing: {seen} {process.stderr.read()[-3000:]}")
            seen.append(line)
        closed_at = time.monotonic()
        try:
            code = process.wait(timeout=EXIT_BOUND_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the editor was still running {EXIT_BOUND_S} s after its window closed ({seen})")
        seconds = time.monotonic() - closed_at
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    return {"lines": seen, "code": code, "seconds": seconds, "stderr": process.stderr.read(), "data": data}


def _assert_quit_cleanly(session: dict) -> None:
    assert session["code"] == 0, session["stderr"][-3000:]
    assert "Traceback" not in session["stderr"], session["stderr"][-3000:]
    # The close path ran to its end before the process went: the window's geometry was saved, and the autosave
    # session was ended (a clean stop deletes its journal, so nothing is offered for recovery next time).
    assert "geometry" in (session["data"] / "settings.ini").read_text()
    assert not list((session["data"] / "autosave").glob("journal-*.bin"))


@pytest.mark.slow
def test_closing_the_window_while_generate_hangs_ends_the_process(tmp_path):
    session = run_hanging_editor(tmp_path, "broken-hang", "close")
    _assert_quit_cleanly(session)


@pytest.mark.slow
def test_closing_the_window_after_stop_waiting_ends_the_process(tmp_path):
    session = run_hanging_editor(tmp_path, "broken-hang", "stop-then-close")
    assert "stopped" in session["lines"], session["lines"]
    _assert_quit_cleanly(session)


@pytest.mark.slow
def test_closing_the_window_while_load_hangs_ends_the_process(tmp_path):
    session = run_hanging_editor(tmp_path, "broken-hang-load", "close")
    _assert_quit_cleanly(session)


# -- the command line: render --timeout ---------------------------------------------------------------------
def test_render_timeout_gives_up_on_a_hanging_engine_in_one_line(tmp_path):
    if not FACE_DEMO.is_file():
        pytest.skip(f"{FACE_DEMO} is not built")
    site = install_entry_point(tmp_path / "site")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]),
        "REGIONPAINT_LOAD_PLUGINS": PLUGIN_NAME,
        "REGIONPAINT_DATA_DIR": str(tmp_path / "data"),
    }
    out = tmp_path / "out.png"
    args = ["render", "--project", str(FACE_DEMO), "--engine", "broken-hang", "--timeout", "1", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "regionpaint", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCKED_S * 4,  # the engine's hang lasts 120 s: an exit before that is the timeout's
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("regionpaint: error: ")
    assert "broken-hang" in lines[0] and PLUGIN_NAME in lines[0] and "--timeout 1" in lines[0]
    assert not out.exists()
