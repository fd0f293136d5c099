"""The start screen, shown while no document is open: open a demo, a recent file, start from a photo, or get
the official models.

Plain widgets and signals; the window connects them to its file actions. Demo thumbnails are read from
the photo inside each ``.rpaint`` file (a zip), so nothing is decoded but that one picture.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from regionpaint.app.bundled_demo import bundled_demos

log = logging.getLogger(__name__)

THUMB = QSize(200, 120)
PHOTO_MEMBERS = ("photo.png", "photo.jpg")


def project_thumbnail(path: Path, size: QSize = THUMB) -> QPixmap:
    """The photo stored in a ``.rpaint`` file, scaled to ``size``; an empty pixmap when it has none."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            member = next((name for name in PHOTO_MEMBERS if name in names), None)
            data = archive.read(member) if member else b""
    except (OSError, zipfile.BadZipFile) as exc:
        log.info("no thumbnail for %s: %s", path, exc)
        return QPixmap()
    pixmap = QPixmap()
    if data and pixmap.loadFromData(data):
        return pixmap.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return QPixmap()


class StartScreen(QWidget):
    newRequested = Signal()  # a new document from a photo and its label map
    openRequested = Signal()  # File › Open…
    openPath = Signal(Path)  # a demo or a recent file
    modelsRequested = Signal()  # File › Models…: the official checkpoints

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startScreen")
        title = QLabel("regionpaint")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 2.2)
        font.setBold(True)
        title.setFont(font)
        subtitle = QLabel("Repaint the regions of a photo and render them with a GAN. Start with one of these:")
        subtitle.setWordWrap(True)
        self.new_button = QPushButton("New from a photo…")
        self.new_button.setToolTip("A photo and its segmentation (label map) — Ctrl+N")
        self.open_button = QPushButton("Open a project…")
        self.open_button.setToolTip("A .rpaint project — Ctrl+O")
        self.models_button = QPushButton("Get the official models…")
        self.models_button.setObjectName("startModels")
        self.models_button.setToolTip(
            "SPADE, SEAN and pix2pixHD as their authors trained them, and the segmenters that label photos"
        )
        for button in (self.new_button, self.open_button, self.models_button):
            button.setMinimumHeight(34)
        self.demos = QHBoxLayout()
        self.demos.setSpacing(12)
        self.demo_buttons: list[QToolButton] = []
        self.recent = QListWidget()
        self.recent.setObjectName("recentFiles")
        self.recent.setMaximumHeight(170)
        self.recent_empty = QLabel("No recent files yet.")

        start_row = QHBoxLayout()
        start_row.addWidget(self.new_button)
        start_row.addWidget(self.open_button)
        start_row.addWidget(self.models_button)
        start_row.addStretch(1)
        column = QVBoxLayout()
        column.addWidget(title)
        column.addWidget(subtitle)
        column.addSpacing(12)
        column.addWidget(_heading("Try a demo"))
        column.addLayout(self.demos)
        column.addSpacing(12)
        column.addWidget(_heading("Your own picture"))
        column.addLayout(start_row)
        column.addSpacing(12)
        column.addWidget(_heading("Recent files"))
        column.addWidget(self.recent)
        column.addWidget(self.recent_empty)
        column.addStretch(1)
        card = QFrame()
        card.setObjectName("startCard")
        card.setMaximumWidth(760)
        card.setLayout(column)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(card, 4)
        outer.addStretch(1)
        self.new_button.clicked.connect(self.newRequested)
        self.open_button.clicked.connect(self.openRequested)
        self.models_button.clicked.connect(self.modelsRequested)
        self.recent.itemClicked.connect(self._open_item)

    def refresh(self, recent: list[Path]) -> None:
        """List the bundled demos (with their photos) and the recent files that still exist."""
        while self.demos.count():
            widget = self.demos.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.demo_buttons = []
        for title, path in bundled_demos():
            button = QToolButton()
            button.setText(title)
            button.setToolTip(str(path))
            button.setIcon(QIcon(project_thumbnail(path)))
            button.setIconSize(THUMB)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setAutoRaise(False)
            button.clicked.connect(lambda _=False, p=path: self.openPath.emit(p))
            self.demos.addWidget(button)
            self.demo_buttons.append(button)
        if not self.demo_buttons:
            self.demos.addWidget(QLabel("The demos are not built (python -m tools.demo.build)."))
        self.demos.addStretch(1)
        self.recent.clear()
        for path in recent:
            item = QListWidgetItem(f"{path.name}    —    {path.parent}")
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(str(path))
            self.recent.addItem(item)
        self.recent.setVisible(bool(recent))
        self.recent_empty.setVisible(not recent)

    def _open_item(self, item: QListWidgetItem) -> None:
        self.openPath.emit(Path(item.data(Qt.ItemDataRole.UserRole)))


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    font = QFont(label.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.15)
    label.setFont(font)
    return label
