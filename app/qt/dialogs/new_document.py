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

from regionpaint import untrusted
from regionpaint.app.model.aspect import same_aspect
from regionpaint.app.model.document import Document, DocumentError
from regionpaint.app.model.imports import ImportFileError, collected_notices, new_document, read_label_map_and_set
from regionpaint.app.model.shortcuts import help_rows

log = logging.getLogger(__name__)

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"
ASPECT_CHOICES = (
    ("Refuse (never squash the photo)", "refuse"),
    ("Crop the photo to the label map's shape", "crop"),
    ("Pad the photo to the label map's shape", "pad"),
)


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

    def __init__(self, label_sets: dict, parent: QWidget | None = None, label_set_id: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("New document")
        self.setMinimumWidth(560)
        self.label_sets = label_sets
        self.document: Document | None = None
        self.notices: list[str] = []  # what reading the files did on its own (a map turned like its photo)
        self.photo = PathField("Photo")
        self.label = PathField("Segmentation (index or colour PNG)")
        self.instance = PathField("Instance map (optional)")
        self.label_set = QComboBox()
        for set_id, label_set in label_sets.items():
            self.label_set.addItem(label_set.display_name, set_id)
        self.preferred_label_set = label_set_id
        if label_set_id:
            self.label_set.setCurrentIndex(max(0, self.label_set.findData(label_set_id)))
        self.guess = QLabel()
        self.resize_check = QCheckBox("Resample the photo and instance map to the segmentation's size")
        self.resize_check.setChecked(True)
        self.aspect = QComboBox()
        self.aspect.setObjectName("aspectFit")
        for title, how in ASPECT_CHOICES:
            self.aspect.addItem(title, how)
        self.aspect.setToolTip("A photo of another aspect ratio is never squashed onto the label map")
        self.sizes = QLabel()
        self.sizes.setObjectName("newDocumentSizes")
        self.sizes.setWordWrap(True)
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
        form.addRow("Other aspect ratio", self.aspect)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.sizes)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.label.edit.editingFinished.connect(self.guess_label_set)
        self.label.edit.textChanged.connect(lambda _text: self.guess_label_set())
        # A message about old input must not stay once the input changed.
        for field in (self.photo, self.label, self.instance):
            field.edit.textChanged.connect(self._input_changed)
        self.aspect.currentIndexChanged.connect(self._input_changed)
        self.resize_check.toggled.connect(self._input_changed)
        self.label_set.currentIndexChanged.connect(lambda _i: self.error.clear())

    def _input_changed(self, *_args) -> None:
        self.error.clear()
        self.sizes.setText(self._describe_sizes())
        self.adjustSize()  # wrapped messages come and go: keep every line in view

    def _describe_sizes(self) -> str:
        """Photo and label map sizes (read from the file headers), and what will happen to them."""
        photo, label = _image_size(self.photo.path), _image_size(self.label.path)
        if photo is None or label is None or photo == label:
            return ""
        text = f"Photo {photo[0]}×{photo[1]}, label map {label[0]}×{label[1]}"
        if not self.resize_check.isChecked():
            return text + ": sizes differ (tick Resample)"
        if same_aspect(photo, label):
            return text + ": the photo is scaled to the label map"
        how = self.aspect.currentData()
        if how == "refuse":
            return text + ": another aspect ratio; choose crop or pad above"
        return text + f": the photo is {'cropped' if how == 'crop' else 'padded'} to the map's shape, then scaled"

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
        preferred = self.label_sets.get(self.preferred_label_set)
        if preferred is not None:  # chosen by the caller (a trained run's label set): keep it if the map fits
            try:
                read_label_map_and_set(path, preferred)
            except (ImportFileError, DocumentError):
                pass
            else:
                self.label_set.setCurrentIndex(max(0, self.label_set.findData(preferred.id)))
                self.guess.setText(f"The segmentation fits {preferred.display_name}")
                return preferred.id
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
            with collected_notices() as notices:
                self.document = new_document(
                    self.photo.path,
                    self.label.path,
                    self.instance.path,
                    label_set,
                    resize=self.resize_check.isChecked(),
                    aspect=self.aspect.currentData(),
                )
            self.notices = list(notices)
        except (ImportFileError, DocumentError) as exc:
            self.error.setText(str(exc))
            self.adjustSize()
            return None
        return self.document

    def accept(self) -> None:
        if self.create_document() is not None:
            super().accept()


def _image_size(path: Path | None) -> tuple[int, int] | None:
    """(W, H) from an image file's header, None when there is no readable file."""
    if path is None or not path.is_file():
        return None
    try:
        with untrusted.open_image(path) as image:
            return image.size
    except (OSError, ValueError):
        return None


class ShortcutsDialog(QDialog):
    """Help > Shortcuts: the same tables the window binds its actions and the canvas its clicks from."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(640, 660)
        rows = help_rows()
        table = QTableWidget(len(rows), 3)
        table.setHorizontalHeaderLabels(["Keys", "Does", "Group"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, texts in enumerate(rows):
            for column, text in enumerate(texts):
                table.setItem(row, column, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)


def ask_recover(parent: QWidget | None, what: str | Path, saved_at: datetime) -> bool | str:
    """The default recovery prompt: True (recover), False (discard) or "later" (keep it for File › Recover…).

    ``what`` names the work (the document and when it was last changed)."""
    box = QMessageBox(parent)
    box.setWindowTitle("Recover unsaved work?")
    box.setText(
        f"regionpaint did not exit cleanly last time. This unsaved work can be recovered:\n\n{what}\n\n"
        "Recover it now? (Later keeps it: File › Recover… offers it again.)"
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


def ask_new_document_for_run(parent: QWidget | None, run: Path, run_label_set: str, doc_label_set: str) -> bool:
    """The default prompt when a trained run's label set is not the open document's."""
    answer = QMessageBox.question(
        parent,
        "Open in a new document?",
        f"{run.name} was trained on {run_label_set} labels; the open document uses {doc_label_set}.\n\n"
        "Create a new document (photo and label map) for it? You are asked to save the open one first.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes


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
