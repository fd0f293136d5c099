"""File › New from photo: a document from a photo alone, labelled by a segmenter or starting all background.

The segmenter runs on a worker thread (DRN-D-105 takes tens of seconds on a CPU); the dialog shows a
busy bar meanwhile and stays responsive. The weights file picked for a segmenter is remembered; without
one, the weights installed by the model manager are used, and when there are none the dialog offers to get
them (the Models dialog) and points to the smart fill meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from regionpaint.app.model.document import Document, DocumentError
from regionpaint.app.qt.dialogs.new_document import IMAGE_FILTER
from regionpaint.app.qt.settings import EditorSettings

log = logging.getLogger(__name__)

WEIGHTS_FILTER = "Weights (*.pth *.pt *.safetensors);;All files (*)"
EMPTY_MAP = ""


class FileField(QWidget):
    """A line edit with a Browse… button for one kind of file."""

    def __init__(self, title: str, filters: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title, self.filters = title, filters
        self.edit = QLineEdit()
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse)

    def _browse(self) -> None:
        start = str(Path(self.edit.text()).parent) if self.edit.text() else ""
        path, _ = QFileDialog.getOpenFileName(self, self.title, start, self.filters)
        if path:
            self.edit.setText(path)

    @property
    def path(self) -> Path | None:
        text = self.edit.text().strip()
        return Path(text) if text else None


def installed_weights(segmenter_id: str) -> Path | None:
    """The weights the model manager installed for a segmenter (None without)."""
    from regionpaint.app.model_manager.manager import installed_segmenter_weights

    try:
        return installed_segmenter_weights(segmenter_id)
    except ValueError as exc:  # a damaged catalog or record: the person can still browse for a file
        log.info("installed weights for %s: %s", segmenter_id, exc)
        return None


def catalog_entry_for(segmenter_id: str):
    from regionpaint.app.model_manager.catalog import load_catalog

    entries = load_catalog().entries_for("segmenter", segmenter_id)
    return entries[0] if entries else None


def open_models_dialog(parent: QWidget, entry_name: str) -> None:
    """The Models dialog, modal over this one, scrolled to the entry to download."""
    from regionpaint.app.qt.dialogs.models import ModelsDialog

    dialog = ModelsDialog(parent)
    dialog.focus_entry(entry_name)
    dialog.exec()


def segmenter_entries() -> dict:
    from regionpaint.plugins.manager import get_plugin_manager

    return get_plugin_manager().segmenters()


class NewFromPhotoDialog(QDialog):
    """Asks for a photo, a label set and how to start: a segmenter (with its weights) or an empty map."""

    def __init__(self, label_sets: dict, settings: EditorSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New from photo")
        self.setMinimumWidth(560)
        self.label_sets, self.settings = label_sets, settings
        self.segmenters = {sid: e.segmenter_class for sid, e in segmenter_entries().items()}
        self.document: Document | None = None
        self.worker = None
        self.photo = FileField("Photo", IMAGE_FILTER)
        self.label_set = QComboBox()
        for label_set_id, label_set in label_sets.items():
            self.label_set.addItem(label_set.display_name, label_set_id)
        self.start = QComboBox()
        self.start.addItem("Empty map (everything background), label with the tools", EMPTY_MAP)
        for segmenter_id, cls in self.segmenters.items():
            self.start.addItem(f"Segment with {cls.display_name}", segmenter_id)
        self.weights = FileField("Segmenter weights", WEIGHTS_FILTER)
        self.offer = QLabel()
        self.offer.setObjectName("getWeightsOffer")
        self.offer.setWordWrap(True)
        self.get_weights = QPushButton("Get the weights…")
        self.get_weights.setObjectName("getWeights")
        self.get_weights.clicked.connect(self._get_weights)
        self.get_models: Callable[[QWidget, str], None] = open_models_dialog  # tests replace it
        offer_row = QHBoxLayout()  # the button under the message, on the right: the message has the full width
        offer_row.addStretch(1)
        offer_row.addWidget(self.get_weights)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d9534f;")
        form = QFormLayout()
        form.addRow("Photo", self.photo)
        form.addRow("Start with", self.start)
        form.addRow("Label set", self.label_set)
        form.addRow("Weights", self.weights)
        form.addRow(self.offer)
        form.addRow(offer_row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.busy)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.start.currentIndexChanged.connect(self._start_changed)
        self._start_changed()

    # -- choices -----------------------------------------------------------------------------
    @property
    def segmenter_id(self) -> str:
        return self.start.currentData()

    def choose(self, photo: Path | None = None, segmenter_id: str | None = None, label_set_id: str | None = None,
               weights: Path | None = None) -> None:  # fmt: skip
        """Fill the fields (tests and scripts); None leaves a field as it is. ``EMPTY_MAP`` ("") starts all
        background; ``label_set_id`` matters for an empty map only."""
        if photo is not None:
            self.photo.edit.setText(str(photo))
        if segmenter_id is not None:
            self.start.setCurrentIndex(max(0, self.start.findData(segmenter_id)))
        if label_set_id is not None and not self.segmenter_id:
            self.label_set.setCurrentIndex(max(0, self.label_set.findData(label_set_id)))
        if weights is not None:
            self.weights.edit.setText(str(weights))

    def _start_changed(self) -> None:
        cls = self.segmenters.get(self.segmenter_id)
        self.error.clear()  # a message about the previous choice does not stay
        # A segmenter decides the label set; an empty map can use any.
        self.label_set.setEnabled(cls is None)
        self.weights.setEnabled(cls is not None and cls.needs_weights)
        if cls is not None:
            self.label_set.setCurrentIndex(max(0, self.label_set.findData(cls.label_set)))
            remembered = self.settings.segmenter_weights(cls.id)
            if remembered is None and cls.needs_weights:
                remembered = installed_weights(cls.id)
            self.weights.edit.setText("" if remembered is None else str(remembered))
        self.weights.edit.setPlaceholderText(cls.weights_hint if cls is not None and cls.needs_weights else "")
        self._show_offer(cls)

    def _show_offer(self, cls) -> None:
        """No weights for the chosen segmenter: say where to get them (the catalog's entry, with a button to
        its download) and that the smart fill needs none."""
        from regionpaint.app.segmentation import missing_weights_message

        missing = cls is not None and cls.needs_weights and self.weights.path is None
        entry = catalog_entry_for(cls.id) if missing else None
        self.offer_entry = entry.name if entry is not None else ""
        self.offer.setText(missing_weights_message(cls) if missing else "")
        self.offer.setVisible(missing)
        self.get_weights.setVisible(entry is not None)
        self.adjustSize()  # wrapped messages come and go: keep every line in view

    def _get_weights(self) -> None:
        if self.offer_entry:
            self.get_models(self, self.offer_entry)
            self._start_changed()  # picks up the weights if they were installed

    # -- creating the document ---------------------------------------------------------------------
    def accept(self) -> None:
        if self.worker is not None:
            return
        photo = self.photo.path
        if photo is None or not photo.is_file():
            self.error.setText("Choose the photo to label." if photo is None else f"{photo}: no such file")
            return
        label_set = self.label_sets.get(self.label_set.currentData())
        if label_set is None:
            self.error.setText("Choose a label set.")
            return
        cls = self.segmenters.get(self.segmenter_id)
        if cls is None:
            self._create(photo, label_set, None)
            return
        weights = self.weights.path
        if cls.needs_weights and weights is None:
            from regionpaint.app.segmentation import missing_weights_message

            self.offer.hide()  # the error line says the same, in red: once is enough
            self.error.setText(missing_weights_message(cls))
            self.adjustSize()
            return
        self._run_segmenter(photo, label_set, cls, weights)

    def _create(self, photo: Path, label_set, segmenter) -> bool:
        from regionpaint.app.segmentation import document_from_photo

        try:
            self.document = document_from_photo(photo, label_set, segmenter)
        except (DocumentError, OSError) as exc:
            self.error.setText(str(exc))
            return False
        super().accept()
        return True

    def _run_segmenter(self, photo: Path, label_set, cls, weights: Path | None) -> None:
        from superqt.utils import create_worker

        from regionpaint.app.segmentation import document_from_photo, load_segmenter

        def work() -> Document:
            return document_from_photo(photo, label_set, load_segmenter(cls.id, weights))

        def done(document: Document) -> None:
            self.document = document
            if weights is not None:
                self.settings.set_segmenter_weights(cls.id, weights)
            QDialog.accept(self)

        self.worker = create_worker(work, _start_thread=False, _ignore_errors=True)
        self.worker.returned.connect(done)
        self.worker.errored.connect(lambda exc: self.error.setText(str(exc)))
        self.worker.finished.connect(self._finished)
        self._set_busy(True)
        self.error.setText(f"Segmenting with {cls.display_name}…")
        self.worker.start()

    def _finished(self) -> None:
        self.worker = None
        self._set_busy(False)
        if self.error.text().endswith("…"):
            self.error.setText("")

    def _set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not busy)
        for widget in (self.photo, self.start, self.weights):
            widget.setEnabled(not busy and (widget is not self.weights or self.segmenter_id != EMPTY_MAP))
