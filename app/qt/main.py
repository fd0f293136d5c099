"""Starting the editor: the QApplication, the main window, and ``--screenshot`` for docs and checks."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def run_editor(open_path: str | None = None, screenshot: str | None = None) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.qt.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("regionpaint")
    app.setOrganizationName("regionpaint")
    window = MainWindow()
    window.show()
    if open_path:
        window.open_project(Path(open_path))
    if screenshot:
        # Let layouts settle before grabbing the window.
        QTimer.singleShot(300, lambda: (_save_screenshot(window, Path(screenshot)), app.quit()))
    return app.exec()


def _save_screenshot(window, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        log.error("could not write screenshot %s", path)
