"""A real editor (``regionpaint gui``) whose engine hangs forever, run as its own process by
tests/test_hang_containment.py (not a test module).

``python -m tests.editor_hang_session ENGINE_ID MODE``, with the broken test plugin installed through an entry
point (tests/broken_engines.py) and ``REGIONPAINT_DATA_DIR`` pointing at a folder whose ``settings.ini`` sets a
short render limit. The face demo opens rendered by ENGINE_ID (``broken-hang``: ``generate()`` never returns;
``broken-hang-load``: ``load()`` never returns); once the editor says the render is overdue:

- ``close``: prints ``closing`` and closes the window (the QCloseEvent a window manager sends);
- ``stop-then-close``: presses Stop waiting, prints ``stopped``, then ``closing`` and closes the window.

The test measures the time from ``closing`` to the process's exit.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(engine_id: str, mode: str) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from tests import broken_engines

    broken_engines.HANG_SECONDS = None  # nobody releases it: the process must exit with the thread still stuck
    app = QApplication(sys.argv[:1])
    from regionpaint.app.bundled_demo import FACE_DEMO
    from regionpaint.app.cli import main as cli_main
    from regionpaint.app.qt.main_window import MainWindow

    def say(text: str) -> None:
        print(text, flush=True)

    def close(window) -> None:
        say("closing")
        window.close()

    def on_overdue(window) -> None:
        if mode == "stop-then-close":
            window.notice.action_button.click()  # Stop waiting, as the person does
            say("stopped" if not window.render_controller.busy else "still busy")
            QTimer.singleShot(300, lambda: close(window))
        else:
            close(window)

    def attach() -> None:
        windows = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow)]
        if not windows:
            QTimer.singleShot(20, attach)
            return
        window = windows[0]
        window.ask_unsaved = lambda *_: "discard"  # choosing the engine is an edit: no question on closing
        overdue = window.render_controller.renderOverdue
        overdue.connect(lambda _job: QTimer.singleShot(0, lambda: on_overdue(window)))
        say("attached")

    QTimer.singleShot(0, attach)
    return cli_main(["gui", "--open", str(FACE_DEMO), "--engine", engine_id])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
