"""Starting the editor: the QApplication, the main window, crash recovery, and ``--screenshot``.

``run_editor(open_path, screenshot)`` is the entry point of ``regionpaint gui``. With a screenshot
path it opens the document, waits for its render (at most :data:`SCREENSHOT_RENDER_TIMEOUT_S`),
saves a picture of the whole window and exits, without touching the person's settings or autosaves.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

SCREENSHOT_RENDER_TIMEOUT_S = 120
SCREENSHOT_SETTLE_MS = 400  # lets layouts and the last repaint finish before grabbing
SCREENSHOT_SIZE = (1440, 900)


def run_editor(
    open_path: str | None = None,
    screenshot: str | None = None,
    engine: str | None = None,
    checkpoint: str | None = None,
    document=None,
) -> int:
    """The editor until it closes; ``document`` (a new, unsaved Document, e.g. ``gui --label``) opens instead
    of ``open_path``."""
    from PySide6.QtWidgets import QApplication

    from regionpaint.app.qt.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("regionpaint")
    app.setOrganizationName("regionpaint")
    if screenshot:
        return _run_screenshot(app, open_path, Path(screenshot), engine, checkpoint, document)
    window = MainWindow()
    # No torch warm-up here: measured, importing it while the window is built only delays the window (the two
    # threads share the GIL); opening the document starts the render thread's warm-up (docs/performance.md).
    if engine or checkpoint:
        window.choose_engine(engine or "", checkpoint or "")
    _attach_startup_probe(window)
    window.show()
    # Offers crashed sessions' work, --open's too.
    window.open_at_start(Path(open_path) if open_path else None, document=document)
    status = app.exec()
    _exit_if_render_threads_stuck(status)
    _release_engines()
    return status


def _exit_if_render_threads_stuck(status: int) -> None:
    # The window has closed, the autosave has stopped and the settings are written: a hung engine's thread
    # (it cannot be killed) must not keep the process alive, nor a release of the engine it still runs in.
    from regionpaint.app.qt.workers.render_controller import exit_if_render_threads_stuck

    exit_if_render_threads_stuck(status)


def _attach_startup_probe(window) -> None:
    # REGIONPAINT_STARTUP_PROBE=out.json (bench/editor_startup.py): start-up times; nothing without it.
    import os

    from regionpaint.app.qt.workers.startup_probe import PROBE_ENV, attach_from_env

    if os.environ.get(PROBE_ENV):
        window._startup_probe = attach_from_env(window)


def _release_engines() -> None:
    from regionpaint.app.qt.workers.render_worker import release_engines

    release_engines()


def _run_screenshot(
    app, open_path: str | None, out: Path, engine: str | None = None, checkpoint: str | None = None, document=None
) -> int:
    # Throw-away settings: a screenshot run must not change (or depend on) the person's window layout.
    with tempfile.TemporaryDirectory(prefix="regionpaint-screenshot-") as scratch:
        return _screenshot_in(app, open_path, out, Path(scratch), engine, checkpoint, document)


def _screenshot_in(
    app,
    open_path: str | None,
    out: Path,
    scratch: Path,
    engine: str | None = None,
    checkpoint: str | None = None,
    document=None,
) -> int:
    from PySide6.QtCore import QSettings, QTimer

    from regionpaint.app.qt.main_window import MainWindow
    from regionpaint.app.qt.settings import EditorSettings

    settings = EditorSettings(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings, autosave=False, remember_window=False)
    window.resize(*SCREENSHOT_SIZE)
    if engine or checkpoint:
        window.choose_engine(engine or "", checkpoint or "")
    window.show()
    if document is not None:
        window.set_document(document, None)
    elif open_path and not window.open_project(Path(open_path)):
        log.error("could not open %s", open_path)
    controller = window.render_controller
    done = {"grabbed": False}

    def grab() -> None:
        if done["grabbed"]:
            return
        done["grabbed"] = True
        outcome = controller.last_outcome
        if outcome is None:
            log.warning("screenshot %s: no render (none finished within %d s)", out, SCREENSHOT_RENDER_TIMEOUT_S)
        elif not outcome.ok:
            log.warning("screenshot %s: the render failed: %s", out, outcome.error)
        else:
            log.info("screenshot %s: rendered by %s in %.2f s", out, outcome.engine_id, outcome.seconds)
        QTimer.singleShot(SCREENSHOT_SETTLE_MS, lambda: (_save_screenshot(window, out), window.close(), app.quit()))

    doc = window.document
    if doc is not None and (doc.engine.checkpoint or not window.state.engine_needs_checkpoint()):
        controller.idle.connect(grab)
        controller.render_now()
        QTimer.singleShot(SCREENSHOT_RENDER_TIMEOUT_S * 1000, grab)
    else:
        QTimer.singleShot(SCREENSHOT_SETTLE_MS, grab)
    window.ask_unsaved = lambda *_: "discard"
    status = app.exec()
    window.shutdown()
    _exit_if_render_threads_stuck(status if out.is_file() else 1)
    _release_engines()
    return status if out.is_file() else 1


def _save_screenshot(window, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        log.error("could not write screenshot %s", path)
    else:
        log.info("saved screenshot %s", path)
