"""Photo editing in the editor: the compositing controls of the engine panel, and re-compositing without a render.

Compositing happens in the render worker (``EditorRenderJob.photo_edit``); when only the blend changes (mode, band
width, colour harmonisation) :class:`Recompositor` puts the last network output onto the photo again on the
UI thread, in milliseconds, without running the network.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QSpinBox, QWidget

from regionpaint.app.model import edits
from regionpaint.app.model.document import COMPOSITE_MODES
from regionpaint.app.qt.editor_state import EditorState
from regionpaint.app.render.photo_edit import recomposite_document

log = logging.getLogger(__name__)

MODE_TITLES = {"off": "Off (raw render)", "feather": "Feather", "seamless": "Seamless (Poisson)"}


class CompositeControls(QWidget):
    """Off / Feather / Seamless, band width, colour matching, the edit-mask and raw-render views, for photo
    documents."""

    editMaskToggled = Signal(bool)

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.mode = QComboBox()
        self.mode.setObjectName("compositeMode")
        for mode in COMPOSITE_MODES:
            self.mode.addItem(MODE_TITLES[mode], mode)
        self.mode.setToolTip("How the render goes onto the photo: only the edited pixels change")
        self.band = QSpinBox()
        self.band.setObjectName("compositeBand")
        self.band.setRange(0, 512)
        self.band.setSuffix(" px")
        self.band.setKeyboardTracking(False)
        self.band.setToolTip("Width of the blend across the edge of the edit, in photo pixels")
        self.harmonize = QCheckBox("Match colours")
        self.harmonize.setToolTip("Match the render's colours to the photo's around the edit")
        self.show_mask = QCheckBox("Show edit mask")
        self.show_mask.setObjectName("showEditMask")
        self.show_mask.setToolTip("Tint the pixels the edit changes (derived from the edits, never painted)")
        # A view switch, not an edit: outside the edit the composite is the photo itself, so a new engine's
        # output is hidden there until something is edited. This shows the whole of it (Ctrl+Shift+R).
        self.show_raw = QCheckBox("Show raw render")
        self.show_raw.setObjectName("showRawRender")
        self.show_raw.setToolTip("Show the network's whole output, not composited onto the photo (Ctrl+Shift+R)")
        row = QHBoxLayout()
        row.addWidget(self.band)
        row.addWidget(self.harmonize)
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Composite", self.mode)
        layout.addRow("Band", row)
        masks = QHBoxLayout()
        masks.addWidget(self.show_mask)
        masks.addWidget(self.show_raw)
        layout.addRow("", masks)
        self.mode.activated.connect(lambda _: self._edit(mode=self.mode.currentData()))
        self.band.valueChanged.connect(lambda value: self._edit(band=int(value)))
        self.harmonize.toggled.connect(lambda on: self._edit(harmonize=bool(on)))
        self.show_mask.toggled.connect(self.editMaskToggled)
        state.documentReplaced.connect(self.refresh)
        state.compositeChanged.connect(self.refresh)
        self.refresh()

    def _edit(self, **changes) -> None:
        self.state.edit(edits.set_composite_settings, **changes)

    def refresh(self) -> None:
        doc = self.state.document
        photo_edit = doc is not None and doc.is_photo_edit
        self.setEnabled(photo_edit)
        self.setToolTip("" if photo_edit else "Compositing needs a document made from a photo and its segmentation")
        if doc is None:
            return
        settings = doc.composite
        for widget in (self.mode, self.band, self.harmonize):
            widget.blockSignals(True)
        index = self.mode.findData(settings.mode)
        self.mode.setCurrentIndex(max(index, 0))
        self.band.setValue(settings.band)
        self.band.setEnabled(settings.mode != "off")
        self.harmonize.setChecked(settings.harmonize)
        self.harmonize.setEnabled(settings.mode != "off")
        for widget in (self.mode, self.band, self.harmonize):
            widget.blockSignals(False)


class Recompositor(QObject):
    """Puts the last network output onto the photo again when only the compositing settings change."""

    def __init__(self, state: EditorState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        state.compositeChanged.connect(self.recomposite)

    def recomposite(self) -> bool:
        """True when the shown result was recomposited (there was a render to reuse)."""
        doc = self.state.document
        if doc is None or doc.last_render is None or not doc.is_photo_edit:
            return False
        # Without ``raw`` the shown image is the network's own output (compositing was off).
        raw = doc.last_render.raw if doc.last_render.raw is not None else doc.last_render.image
        capabilities = self.state.render_capabilities or self.state.capabilities()
        image = recomposite_document(doc, raw, capabilities)
        doc.set_render(image, doc.last_render.seconds, None if image is raw else raw)
        return True
