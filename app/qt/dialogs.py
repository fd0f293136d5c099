"""Dialogs: a new document from a photo and its segmentation, the shortcut list, and yes/no prompts."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.model.document import Document, DocumentError
from app.model.imports import ImportFileError, new_document, read_label_map_and_set
from app.qt.shortcuts import SHORTCUTS

log = logging.getLogger(__name__)

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"


class PathField(QWidget):
    """A line edit with a Browse… button."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)

    def _browse(self) -> None:
        start = str(Path(self.edit.text()).parent) if self.edit.text() else ""
        path, _ = QFileDialog.getOpenFileName(self, self.title, start, IMAGE_FILTER)
        if path:
            self.edit.setText(path)

    @property
    def path(self) -> Path | None:
        text = self.edit.text().strip()
        return Path(text) if text else None


class NewDocumentDialog(QDialog):
    """Asks for the photo, its segmentation (+ instance map) and the label set, guessed from the segmentation."""

    def __init__(self, label_sets: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New document")
        self.setMinimumWidth(560)
        self.label_sets = label_sets
        self.document: Document | None = None
        self.photo = PathField("Photo")
        self.label = PathField("Segmentation (index or colour PNG)")
        self.instance = PathField("Instance map (optional)")
        self.label_set = QComboBox()
        for label_set_id, label_set in label_sets.items():
            self.label_set.addItem(label_set.display_name, label_set_id)
        self.guess = QLabel()
        self.resize_check = QCheckBox("Resample the photo and instance map to the segmentation's size")
        self.resize_check.setChecked(True)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d9534f;")
        form = QFormLayout()
        form.addRow("Photo", self.photo)
        form.addRow("Segmentation", self.label)
        form.addRow("Instance map", self.instance)
        form.addRow("Label set", self.label_set)
        form.addRow("", self.guess)
        form.addRow("", self.resize_check)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.label.edit.editingFinished.connect(self.guess_label_set)
        self.label.edit.textChanged.connect(lambda _text: self.guess_label_set())

    def set_paths(self, photo: Path | None, label: Path, instance: Path | None = None) -> None:
        self.photo.edit.setText("" if photo is None else str(photo))
        self.instance.edit.setText("" if instance is None else str(instance))
        self.label.edit.setText(str(label))

    def guess_label_set(self) -> str | None:
        """Select the label set that fits the segmentation; returns its id (None when nothing fits)."""
        path = self.label.path
        if path is None or not path.is_file():
            self.guess.setText("")
            return None
        try:
            _, label_set = read_label_map_and_set(path)
        except (ImportFileError, DocumentError) as exc:
            self.guess.setText(f"No label set fits: {exc}")
            return None
        index = self.label_set.findData(label_set.id)
        if index >= 0:
            self.label_set.setCurrentIndex(index)
        self.guess.setText(f"Guessed from the segmentation: {label_set.display_name}")
        return label_set.id

    def create_document(self) -> Document | None:
        """Read the files; on failure the message shows in the dialog and None is returned."""
        if self.label.path is None:
            self.error.setText("Choose the segmentation (label map) of the photo.")
            return None
        label_set = self.label_sets[self.label_set.currentData()]
        try:
            self.document = new_document(
                self.photo.path, self.label.path, self.instance.path, label_set, resize=self.resize_check.isChecked()
            )
        except (ImportFileError, DocumentError) as exc:
            self.error.setText(str(exc))
            return None
        return self.document

    def accept(self) -> None:
        if self.create_document() is not None:
            super().accept()


class ShortcutsDialog(QDialog):
    """Help > Shortcuts: the same table the window binds its actions from."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(640, 660)
        table = QTableWidget(len(SHORTCUTS), 3)
        table.setHorizontalHeaderLabels(["Keys", "Does", "Group"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, shortcut in enumerate(SHORTCUTS):
            for column, text in enumerate((shortcut.keys, shortcut.description, shortcut.group)):
                table.setItem(row, column, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)


def ask_recover(parent: QWidget | None, path: Path, saved_at: datetime) -> bool | str:
    """The default recovery prompt at start-up: True (recover), False (discard) or "later" (keep it for
    File › Recover…)."""
    box = QMessageBox(parent)
    box.setWindowTitle("Recover unsaved work?")
    box.setText(
        f"regionpaint did not exit cleanly last time. Unsaved work from {saved_at:%Y-%m-%d %H:%M} can be "
        "recovered.\n\nRecover it now? (Later keeps it: File › Recover… offers it again.)"
    )
    recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
    later = box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
    box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(recover)
    box.exec()
    clicked = box.clickedButton()
    return True if clicked is recover else "later" if clicked is later else False


def choose_recovery(parent: QWidget | None, descriptions: list[str]) -> int | None:
    """File › Recover…: which of the recoverable sessions to open (an index), or None."""
    from PySide6.QtWidgets import QInputDialog

    if not descriptions:
        QMessageBox.information(parent, "Recover", "There is no unsaved work from other sessions to recover.")
        return None
    text, ok = QInputDialog.getItem(
        parent, "Recover unsaved work", "Sessions that did not exit cleanly:", descriptions, 0, False
    )
    return descriptions.index(text) if ok and text in descriptions else None


def ask_unsaved(parent: QWidget | None, name: str) -> str:
    """ "save", "discard" or "cancel" for a document with unsaved changes."""
    box = QMessageBox(parent)
    box.setWindowTitle("Unsaved changes")
    box.setText(f"Save the changes to {name}?")
    box.setStandardButtons(
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel
    )
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    box.setTextFormat(Qt.TextFormat.PlainText)
    answer = box.exec()
    return {
        QMessageBox.StandardButton.Save: "save",
        QMessageBox.StandardButton.Discard: "discard",
    }.get(QMessageBox.StandardButton(answer), "cancel")
