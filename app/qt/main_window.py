"""The editor's main window (the foundation's shell: menus, status bar, an empty canvas area)."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("regionpaint")
        self.resize(1100, 720)
        self.document = None
        self.project_path: Path | None = None
        placeholder = QLabel("Open a project (Ctrl+O) to start editing.")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        placeholder.setObjectName("canvasPlaceholder")
        self.setCentralWidget(placeholder)
        self._build_menus()
        self.statusBar().showMessage("Ready")

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open…", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self._ask_open)
        file_menu.addAction(open_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.menuBar().addMenu("&Edit")
        self.menuBar().addMenu("&View")
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About regionpaint", self)
        about.triggered.connect(
            lambda: QMessageBox.about(self, "regionpaint", "Repaint semantic regions and render them with GANs.")
        )
        help_menu.addAction(about)

    def _ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", "", "regionpaint projects (*.rpaint)")
        if path:
            self.open_project(Path(path))

    def open_project(self, path: Path) -> bool:
        """Open a .rpaint file; a bad file shows a message and leaves the window as it was."""
        from app.model.project import open_project

        try:
            self.document = open_project(path)
        except Exception as exc:  # any failure is reported, the editor keeps running
            log.warning("cannot open %s: %s", path, exc)
            QMessageBox.warning(self, "Cannot open project", str(exc))
            return False
        self.project_path = path
        self.setWindowTitle(f"{path.name} — regionpaint")
        self.statusBar().showMessage(f"Opened {path}")
        return True
