"""The style gallery: style sources (a photo and its segmentation), crossover, and engine-specific styles.

Sources come from "Add…" (a photo, then its segmentation) or by dropping files: two files dropped
together pair up as photo + segmentation (the one that reads as a label map of the document's label
set is the segmentation). Below the gallery: SEAN's per-block crossover strip, SPADE-VAE's choice
between the style photo and a random z, and pix2pixHD's per-object feature cluster.
"""

from __future__ import annotations

import logging
import string
from pathlib import Path

from PySide6.QtCore import QMimeData, QSize, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from regionpaint.app.model import edits
from regionpaint.app.model.document import DocumentError, StyleSourceData
from regionpaint.app.model.imports import ImportFileError, collected_notices, read_label_map, read_style_pair
from regionpaint.app.qt.canvas.style_drops import STYLE_MIME, style_mime
from regionpaint.app.qt.collapsible import RememberedSection
from regionpaint.app.qt.editor_state import EditorState
from regionpaint.app.qt.panels.engine_options import EngineOptions
from regionpaint.app.qt.panels.style_thumbnails import StyleThumbnails
from regionpaint.app.qt.settings import EditorSettings
from regionpaint.engines.base import CROSSOVER, FEATURE_SOURCE_OPTION, INSTANCE_CLUSTERS_OPTION, INSTANCE_FEATURES

log = logging.getLogger(__name__)

GALLERY_THUMB = 72
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"
NO_SOURCE = "—"


def next_source_name(taken: set[str]) -> str:
    """A, B, ..., Z, then A2, B2, ...: short names that read well in mixes and the crossover strip."""
    for round_ in range(1, 1000):
        for letter in string.ascii_uppercase:
            name = letter if round_ == 1 else f"{letter}{round_}"
            if name not in taken:
                return name
    raise RuntimeError("no free style source name")


def load_style_source(image_path: Path, label_path: Path | None, label_set) -> StyleSourceData:
    """Read a style photo and (optionally) its segmentation by the rule the command line uses
    (:func:`read_style_pair`: turned by the photo's EXIF orientation, scaled to the photo, another aspect
    ratio refused)."""
    image, label = read_style_pair(image_path, label_path, label_set)
    return StyleSourceData(image, label, None, display_name=image_path.name)


class StyleList(QListWidget):
    """The gallery's thumbnails; dragging one carries its source name
    (see :mod:`regionpaint.app.qt.canvas.style_drops`)."""

    def mimeTypes(self) -> list[str]:  # noqa: N802 (Qt naming)
        return [STYLE_MIME]

    def mimeData(self, items) -> QMimeData:  # noqa: N802 (Qt naming)
        names = [item.data(Qt.ItemDataRole.UserRole) for item in items]
        return style_mime(names[0] if names else "")


class StyleGallery(QWidget):
    """Thumbnails of the document's style sources, with add/remove and drag-and-drop."""

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.thumbs = StyleThumbnails(GALLERY_THUMB)
        self.list = StyleList()
        self.list.setObjectName("styleGallery")
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(GALLERY_THUMB, GALLERY_THUMB))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setMinimumHeight(GALLERY_THUMB + 40)
        self.list.setAcceptDrops(False)  # the whole panel takes drops
        self.list.setDragEnabled(True)  # a thumbnail dragged onto a region (canvas or table) styles it
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.list.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Add a style photo and its segmentation (or drop both files here)")
        self.remove_button = QPushButton("Remove")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.setAcceptDrops(True)
        self.add_button.clicked.connect(self.ask_add)
        self.remove_button.clicked.connect(self.remove_selected)
        state.documentReplaced.connect(self.refresh)
        state.stylesChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        doc = self.state.document
        self.list.clear()
        if doc is not None:
            for name, source in doc.style_sources.items():
                text = f"{name} · {source.display_name}" if source.display_name else name
                if source.label is None:
                    text += " (no segmentation)"
                item = QListWidgetItem(self.thumbs.of(doc, name), text)
                item.setData(Qt.ItemDataRole.UserRole, name)
                item.setToolTip(text)
                self.list.addItem(item)
        self.add_button.setEnabled(doc is not None)
        self.remove_button.setEnabled(doc is not None and bool(doc.style_sources))

    def add_source_files(self, image_path: Path, label_path: Path | None = None) -> str | None:
        """Add a source from files as one undo step; returns its name, or None after a message."""
        doc = self.state.document
        if doc is None:
            return None
        try:
            with collected_notices() as notices:
                source = load_style_source(
                    Path(image_path), None if label_path is None else Path(label_path), self.state.label_set
                )
        except (ImportFileError, DocumentError) as exc:
            self.state.message.emit(str(exc))
            return None
        if notices:  # e.g. its segmentation turned like the photo by the EXIF orientation
            self.state.message.emit(" ".join(notices))
        name = next_source_name(set(doc.style_sources))
        return name if self.state.edit(edits.add_style_source, name, source) else None

    def ask_add(self) -> None:
        image, _ = QFileDialog.getOpenFileName(self, "Style photo", "", IMAGE_FILTER)
        if not image:
            return
        label, _ = QFileDialog.getOpenFileName(
            self, "Its segmentation (Cancel: none; SEAN needs one)", str(Path(image).parent), IMAGE_FILTER
        )
        self.add_source_files(Path(image), Path(label) if label else None)

    def remove_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.state.edit(edits.remove_style_source, item.data(Qt.ItemDataRole.UserRole))

    # -- drag and drop -------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if (
            self.state.document is not None
            and event.mimeData().hasUrls()
            and not event.mimeData().hasFormat(STYLE_MIME)
        ):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        event.acceptProposedAction()
        self.add_dropped(paths)

    def add_dropped(self, paths: list[Path]) -> None:
        """Pair dropped files into (photo, segmentation): a file that reads as a label map is a segmentation."""
        labels = [p for p in paths if self._is_label_map(p)]
        photos = [p for p in paths if p not in labels]
        if len(photos) == 1 and len(labels) <= 1:
            self.add_source_files(photos[0], labels[0] if labels else None)
        elif len(photos) == len(labels) and photos:
            for photo, label in zip(sorted(photos), sorted(labels), strict=True):
                self.add_source_files(photo, label)
        else:
            for photo in photos:
                self.add_source_files(photo, None)

    def _is_label_map(self, path: Path) -> bool:
        try:
            read_label_map(path, self.state.label_set)
        except (ImportFileError, DocumentError):
            return False
        return True


class CrossoverStrip(QGroupBox):
    """SEAN: which style source each residual block takes its style from (— = the regions' own mixes)."""

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__("Crossover: a style for each stage, coarse shape to fine texture", parent)
        self.state = state
        self.combos: dict[str, QComboBox] = {}
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(6, 6, 6, 6)
        state.documentReplaced.connect(self.refresh)
        state.stylesChanged.connect(self.refresh)
        state.capabilitiesChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        doc = self.state.document
        blocks = self.state.style_blocks()
        self.setVisible(doc is not None and CROSSOVER in self.state.capabilities() and bool(blocks))
        if tuple(self.combos) != blocks:
            self._rebuild(blocks)
        if doc is None:
            return
        names = [NO_SOURCE, *doc.style_sources]
        for block, combo in self.combos.items():
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(names)
            combo.setCurrentIndex(max(0, combo.findText(doc.crossover.get(block, NO_SOURCE))))
            combo.blockSignals(False)

    def _rebuild(self, blocks: tuple[str, ...]) -> None:
        for combo in self.combos.values():
            combo.deleteLater()
        while self._grid.count():
            widget = self._grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.combos = {}
        columns = 4
        names = self.state.style_block_titles()
        for index, block in enumerate(blocks):
            # A person's words on screen; the generator's block name for whoever knows the network.
            title = QLabel(names.get(block, block))
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            title.setToolTip(f"Generator block {block}")
            title.setObjectName(f"crossoverTitle_{block}")
            combo = QComboBox()
            combo.setToolTip(
                f"{names.get(block, block)}: the style source every region takes in this stage "
                f"(— keeps the regions' own styles). Generator block {block}."
            )
            combo.currentTextChanged.connect(lambda text, block=block: self._on_choice(block, text))
            self._grid.addWidget(title, 2 * (index // columns), index % columns)
            self._grid.addWidget(combo, 2 * (index // columns) + 1, index % columns)
            self.combos[block] = combo

    def _on_choice(self, block: str, text: str) -> None:
        if text:
            self.state.edit(edits.set_crossover, block, None if text == NO_SOURCE else text)


class ObjectFeatures(QGroupBox):
    """pix2pixHD feature checkpoints: features from the clusters (with a cluster per picked object) or
    encoded from a style photo."""

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__("Object features", parent)
        self.state = state
        self.source = QComboBox()
        self.source.setToolTip("Where the per-object features come from")
        self.object_label = QLabel("Pick an object with the eyedropper (I)")
        self.cluster = QSpinBox()
        self.cluster.setRange(-1, 99)
        self.cluster.setSpecialValueText("auto")
        self.cluster.setKeyboardTracking(False)
        self.cluster.setToolTip("Feature cluster for this object (auto: the engine's choice)")
        source_row = QHBoxLayout()
        source_row.addWidget(QLabel("Features from"))
        source_row.addWidget(self.source, 1)
        object_row = QHBoxLayout()
        object_row.addWidget(self.object_label, 1)
        object_row.addWidget(QLabel("Cluster"))
        object_row.addWidget(self.cluster)
        layout = QVBoxLayout(self)
        layout.addLayout(source_row)
        layout.addLayout(object_row)
        self.cluster.valueChanged.connect(self._on_cluster)
        self.source.activated.connect(self._on_source)
        state.documentReplaced.connect(self.refresh)
        state.engineChanged.connect(self.refresh)
        state.capabilitiesChanged.connect(self.refresh)
        state.pickedInstanceChanged.connect(lambda _id: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        doc, picked = self.state.document, self.state.picked_instance
        # Shown for checkpoints that take per-object features (an encoder or feature clusters).
        self.setVisible(doc is not None and INSTANCE_FEATURES in self.state.capabilities())
        if doc is None:
            return
        chosen = doc.engine.options.get(FEATURE_SOURCE_OPTION)
        self.source.blockSignals(True)
        self.source.clear()
        self.source.addItem("Feature clusters", "")
        for name in doc.style_sources:
            self.source.addItem(f"Style photo {name}", name)
        self.source.setCurrentIndex(max(0, self.source.findData(chosen or "")))
        self.source.blockSignals(False)
        self.cluster.setEnabled(picked is not None and not chosen)
        if picked is None:
            return
        class_id = picked // 1000 if picked >= 1000 else picked
        self.object_label.setText(f"Object {picked} ({self.state.label_name(class_id)})")
        clusters = doc.engine.options.get(INSTANCE_CLUSTERS_OPTION, {})
        self.cluster.blockSignals(True)
        self.cluster.setValue(int(clusters.get(str(picked), -1)))
        self.cluster.blockSignals(False)

    def _on_source(self, index: int) -> None:
        doc = self.state.document
        if doc is not None:
            options = {**doc.engine.options, FEATURE_SOURCE_OPTION: self.source.itemData(index) or None}
            self.state.edit(edits.set_engine_settings, options=options)

    def _on_cluster(self, value: int) -> None:
        doc, picked = self.state.document, self.state.picked_instance
        if doc is None or picked is None:
            return
        clusters = dict(doc.engine.options.get(INSTANCE_CLUSTERS_OPTION, {}))
        if value < 0:
            clusters.pop(str(picked), None)
        else:
            clusters[str(picked)] = value
        self.state.edit(edits.set_engine_settings, options={**doc.engine.options, INSTANCE_CLUSTERS_OPTION: clusters})


class StylesPanel(QWidget):
    """Gallery on top, engine-specific style controls below (each shown only when the engine has it)."""

    def __init__(
        self, state: EditorState, settings: EditorSettings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.gallery = StyleGallery(state)
        self.crossover = CrossoverStrip(state)
        self.engine_options = EngineOptions(state)
        self.engine_options.titled = False  # the folding section carries the heading
        self.engine_options.setTitle("")
        # An engine's own options are advanced: folded until opened (remembered), shown only when it has some.
        self.engine_options_section = RememberedSection(
            "Engine options", "engine_options", settings, self.engine_options
        )
        self.engine_options_section.setVisible(self.engine_options.isVisibleTo(self))
        self.engine_options.availabilityChanged.connect(self.engine_options_section.setVisible)
        self.engine_options.availabilityChanged.connect(
            lambda _shown: self.engine_options_section.setText(self.engine_options.heading)
        )
        self.features = ObjectFeatures(state)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.gallery, 1)
        layout.addWidget(self.crossover)
        layout.addWidget(self.engine_options_section)
        layout.addWidget(self.features)
