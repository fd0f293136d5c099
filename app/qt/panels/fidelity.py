"""The fidelity readout: after each render, a segmenter labels the result and every region's IoU
against the label map shows, worst first (the label-fidelity measure of the SPADE/pix2pixHD papers,
region by region).

The segmenter (and its weights file, remembered in the settings) is chosen here; it runs on a
worker thread, one at a time: a render that arrives meanwhile is scored when the worker is free.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from regionpaint.app.qt.dialogs.new_from_photo import WEIGHTS_FILTER, FileField, segmenter_entries
from regionpaint.app.qt.editor_state import EditorState
from regionpaint.app.qt.images import swatch_icon
from regionpaint.app.qt.settings import EditorSettings

log = logging.getLogger(__name__)

OFF = ""


class FidelityPanel(QWidget):
    scored = Signal(object)  # {class id: IoU} of the latest scored render

    def __init__(self, state: EditorState, settings: EditorSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.settings = state, settings
        self.worker = None
        self._pending = False
        self.ious: dict[int, float] = {}
        self.segmenter = QComboBox()
        self.segmenter.setToolTip("Segments each render to measure how well it keeps to the label map")
        self.weights = FileField("Segmenter weights", WEIGHTS_FILTER)
        self.summary = QLabel("Choose a segmenter to score renders.")
        self.summary.setWordWrap(True)
        self.summary.setObjectName("fidelitySummary")
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Region", "IoU"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        form = QFormLayout()
        form.addRow("Segmenter", self.segmenter)
        form.addRow("Weights", self.weights)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.segmenter.currentIndexChanged.connect(self._segmenter_changed)
        self.weights.edit.editingFinished.connect(self._weights_changed)
        self.weights.edit.textChanged.connect(lambda _t: self._weights_changed())
        state.documentReplaced.connect(self._fill_segmenters)
        state.renderChanged.connect(self.score_latest)
        self._fill_segmenters()

    # -- choosing the segmenter --------------------------------------------------------------
    @property
    def segmenter_id(self) -> str:
        return self.segmenter.currentData() or OFF

    def _fill_segmenters(self) -> None:
        """Offer the segmenters whose label set is the document's."""
        label_set = self.state.label_set
        self.segmenter.blockSignals(True)
        self.segmenter.clear()
        self.segmenter.addItem("Off", OFF)
        for segmenter_id, entry in segmenter_entries().items():
            if label_set is None or entry.segmenter_class.label_set == label_set.id:
                self.segmenter.addItem(entry.segmenter_class.display_name, segmenter_id)
        remembered = self.settings.fidelity_segmenter()
        self.segmenter.setCurrentIndex(max(0, self.segmenter.findData(remembered)))
        self.segmenter.blockSignals(False)
        self._segmenter_changed(remember=False)
        self._show({})

    def choose(self, segmenter_id: str, weights=None) -> None:
        """Pick a segmenter (and weights file): what a person does in the panel's fields."""
        self.segmenter.setCurrentIndex(max(0, self.segmenter.findData(segmenter_id)))
        if weights is not None:
            self.weights.edit.setText(str(weights))

    def _segmenter_changed(self, _index: int = 0, remember: bool = True) -> None:
        segmenter_id = self.segmenter_id
        if remember:
            self.settings.set_fidelity_segmenter(segmenter_id)
        self.weights.setEnabled(bool(segmenter_id))
        remembered = self.settings.segmenter_weights(segmenter_id) if segmenter_id else None
        self.weights.edit.blockSignals(True)
        self.weights.edit.setText("" if remembered is None else str(remembered))
        self.weights.edit.blockSignals(False)
        self._show({})
        self.score_latest()

    def _weights_changed(self) -> None:
        path = self.weights.path
        if self.segmenter_id and path is not None and path.is_file():
            self.settings.set_segmenter_weights(self.segmenter_id, path)
            self.score_latest()  # the last render, with the new weights

    # -- scoring -----------------------------------------------------------------------------
    def score_latest(self) -> None:
        """Score the document's latest render (later, if a scoring is still running)."""
        doc = self.state.document
        if not self.segmenter_id or doc is None or doc.last_render is None:
            return
        if self.worker is not None:
            self._pending = True
            return
        entry = segmenter_entries().get(self.segmenter_id)
        path = self.weights.path
        if entry is not None and entry.segmenter_class.needs_weights and (path is None or not path.is_file()):
            # "file: hint." rather than "file (hint)." : a hint may end in ")" itself (DRN's "(.pth)")
            self.summary.setText(f"Choose the weights file: {entry.segmenter_class.weights_hint}.")
            return
        from superqt.utils import create_worker

        from regionpaint.app.model.fidelity import region_iou
        from regionpaint.app.segmentation import load_segmenter, resize_nearest

        segmenter_id, weights = self.segmenter_id, self.weights.path
        render, label = doc.last_render.image, doc.label.copy()
        serial = self.state.document_serial

        def work() -> tuple[dict[int, float], float]:
            start = time.perf_counter()
            segmenter = load_segmenter(segmenter_id, weights)
            predicted = segmenter.segment(render)
            return region_iou(predicted, resize_nearest(label, render.shape[1::-1])), time.perf_counter() - start

        def done(result: tuple[dict[int, float], float]) -> None:
            if serial == self.state.document_serial:
                self._show(*result)

        self.worker = create_worker(work, _start_thread=False, _ignore_errors=True)
        self.worker.returned.connect(done)
        self.worker.errored.connect(self._failed)
        self.worker.finished.connect(self._finished)
        self.summary.setText("Scoring the render…")
        self.worker.start()

    def _failed(self, exc: Exception) -> None:
        self.summary.setText(f"Cannot score: {exc}")

    def _finished(self) -> None:
        self.worker = None
        if self._pending:
            self._pending = False
            self.score_latest()

    def _show(self, ious: dict[int, float], seconds: float | None = None) -> None:
        self.ious = dict(ious)
        self.table.setRowCount(0)
        if not ious:
            if not self.segmenter_id:
                self.summary.setText("Choose a segmenter to score renders.")
            return
        label_set = self.state.label_set
        ordered = sorted(ious.items(), key=lambda item: item[1])
        self.table.setRowCount(len(ordered))
        for row, (class_id, iou) in enumerate(ordered):
            color = label_set.dontcare_color if class_id == label_set.dontcare_id else label_set.colors[class_id]
            name = QTableWidgetItem(swatch_icon(color), f"{class_id} · {self.state.label_name(class_id)}")
            name.setData(Qt.ItemDataRole.UserRole, class_id)
            value = QTableWidgetItem(f"{100 * iou:.1f} %")
            value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, value)
        mean = 100 * float(np.mean(list(ious.values())))
        took = f" · {seconds:.1f} s" if seconds is not None else ""
        self.summary.setText(f"Render vs. label map: mean IoU {mean:.1f} % over {len(ious)} regions{took}")
        self.scored.emit(self.ious)
