"""The bar above the canvas while a photo alone is being labelled: label it, then accept the labels.

A document made from a photo alone with an empty map has no baseline (the photo's own segmentation), so its
renders cannot be composited onto the photo. The person labels it (smart fill follows the photo's edges)
and presses **Accept labels**: the labels become the baseline (:func:`accept_photo_labels`) and every later
edit composites onto the photo, as in a document made from a photo and its segmentation.
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from regionpaint.app.model.edit_mask import accept_photo_labels, awaits_photo_labels
from regionpaint.app.qt.editor_state import EditorState

MESSAGE = (
    "This photo has no segmentation yet. Label it (the Smart fill tool, S, follows its edges), then accept the "
    "labels: after that, edits are composited onto the photo and everything else stays the photo's own pixels."
)


class PhotoLabelsBar(QFrame):
    """Shown after File › New from photo made an empty map, until :meth:`accept_labels` makes the labels the
    baseline. Other documents with a photo and no baseline (a street demo that edits labels only, a project
    saved before its labels were accepted) get no bar; Edit › Accept labels (:attr:`action`) serves them."""

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("photoLabelsBar")
        self.setStyleSheet("#photoLabelsBar { background: #2d4157; border-bottom: 1px solid #47698c; }"
                           "#photoLabelsBar QLabel { color: #e3edf7; }")  # fmt: skip
        self.text = QLabel(MESSAGE, wordWrap=True)
        self.accept_button = QPushButton("Accept labels", objectName="acceptPhotoLabels")
        self.accept_button.setToolTip(
            "Make these labels the photo's segmentation (the baseline edits are made against)"
        )
        self.accept_button.clicked.connect(self.accept_labels)
        # The same for the Edit menu, enabled while there is something to accept.
        self.action = QAction("&Accept labels as the photo's segmentation", self)
        self.action.setStatusTip(self.accept_button.toolTip())
        self.action.triggered.connect(self.accept_labels)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.accept_button)
        self._offered_serial = -1  # the document (EditorState.document_serial) the bar was offered for
        state.documentReplaced.connect(self.refresh)
        self.refresh()

    def offer(self) -> None:
        """Show the bar for the current document (just made from a photo alone) while it awaits its labels."""
        self._offered_serial = self.state.document_serial
        self.refresh()

    def refresh(self) -> None:
        waiting = awaits_photo_labels(self.state.document)
        self.setVisible(waiting and self._offered_serial == self.state.document_serial)
        self.action.setEnabled(waiting)

    def accept_labels(self) -> bool:
        """The labels as they are now become the baseline; True when there was something to accept."""
        accepted = accept_photo_labels(self.state.document)
        self.refresh()
        return accepted
