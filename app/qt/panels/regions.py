"""The regions panel: classes present in the label map, their pixel share and style, and style controls.

Select one or several regions (or none, meaning all): the style control then shows their actual
mix, and choosing a source, a second source or a weight there assigns it at once (one undo step);
roll a random style (seeded dice) or reset to the mean style. The "All regions"
slider sets one mix for the whole image. Every change is one undo step; a slider drag is one step.
"""

from __future__ import annotations

import logging
import random

from PySide6.QtCore import QItemSelectionModel, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from regionpaint.app.model import edits
from regionpaint.app.model.document import StyleMix
from regionpaint.app.model.titles import describe_regions, style_title
from regionpaint.app.qt.editor_state import EditorState
from regionpaint.app.qt.images import swatch_icon
from regionpaint.app.qt.panels.mix_slider import MixSlider
from regionpaint.app.qt.panels.style_thumbnails import StyleThumbnails
from regionpaint.engines.base import (
    LATENT_Z,
    MEAN_STYLE,
    MEAN_STYLE_SOURCE,
    RANDOM_STYLE_SOURCE,
    REGION_STYLES,
    STYLE_INTERPOLATION,
)

log = logging.getLogger(__name__)

SHARE_REFRESH_MS = 150  # pixel shares are recounted at most this often while painting
THUMB = 22
STYLE_COLUMN_THUMBS = 3  # a region's mix shows up to this many sources at full size
MAX_SEED = 2**31 - 1


class RegionsPanel(QWidget):
    selectionChanged = Signal(list)

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.thumbs = StyleThumbnails(THUMB)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("regionsTable")
        self.table.setHorizontalHeaderLabels(["Region", "Share", "Style"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setIconSize(QSize(STYLE_COLUMN_THUMBS * (THUMB + 3), THUMB + 11))
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 18)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(2, STYLE_COLUMN_THUMBS * (THUMB + 3) + 12)

        self.selected_box = QGroupBox("Style of all regions (none selected)")
        self.region_mix = MixSlider()
        self.region_note = QLabel()
        self.region_note.setObjectName("regionStyleNote")
        self.region_note.setWordWrap(True)
        self.clear_button = QPushButton("Use default")
        self.clear_button.setToolTip("Selected regions follow the all-regions style again")
        self.random_button = QPushButton("⚄ Random")
        self.mean_button = QPushButton("Mean")
        self.master_box = QGroupBox("All regions")
        self.master_mix = MixSlider()
        self.engine_note = QLabel()
        self.engine_note.setObjectName("styleEngineNote")
        self.engine_note.setWordWrap(True)
        self._build_layout()
        self._drag_regions: list[int] | None = None
        self._drag_before: list[StyleMix] = []

        self._share_timer = QTimer(self, singleShot=True, interval=SHARE_REFRESH_MS)
        self._share_timer.timeout.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.itemDoubleClicked.connect(self._paint_with_row)
        self.clear_button.clicked.connect(self._clear_selected)
        self.region_mix.mixEdited.connect(self._on_region_mix)
        self.master_mix.mixEdited.connect(self._on_master_mix)
        self.region_mix.dragStarted.connect(lambda: self._begin_drag(self._targets()))
        self.master_mix.dragStarted.connect(lambda: self._begin_drag(None))
        for slider in (self.region_mix, self.master_mix):
            slider.dragFinished.connect(self._end_drag)
        self.random_button.clicked.connect(self.roll_random_style)
        self.mean_button.clicked.connect(self.reset_to_mean)
        state.documentReplaced.connect(self.refresh)
        state.labelsChanged.connect(lambda _box: self._share_timer.start())
        state.stylesChanged.connect(self.refresh)
        state.capabilitiesChanged.connect(self._update_enabled)
        self.refresh()

    def _build_layout(self) -> None:
        engine_row = QHBoxLayout()
        engine_row.addWidget(self.random_button)
        engine_row.addWidget(self.mean_button)
        engine_row.addWidget(self.clear_button)
        selected_layout = QVBoxLayout(self.selected_box)
        selected_layout.addWidget(self.region_mix)
        selected_layout.addWidget(self.region_note)
        selected_layout.addLayout(engine_row)
        QVBoxLayout(self.master_box).addWidget(self.master_mix)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.engine_note)
        layout.addWidget(self.selected_box)
        layout.addWidget(self.master_box)

    # -- table -------------------------------------------------------------------------------
    def refresh(self) -> None:
        doc, label_set = self.state.document, self.state.label_set
        chosen = set(self.selected_regions())
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        if doc is not None and label_set is not None:
            shares = label_set.present_ids(doc.label)
            self.table.setRowCount(len(shares))
            for row, (class_id, share) in enumerate(shares):
                self._fill_row(row, class_id, share)
            self._select_rows([row for row, (class_id, _) in enumerate(shares) if class_id in chosen])
        self.table.blockSignals(False)
        names = [] if doc is None else list(doc.style_sources)
        self.region_mix.set_sources(names)
        self.master_mix.set_sources(names)
        self.master_mix.show_mix(() if doc is None else doc.default_style)
        self._sync_region_mix()
        self._update_enabled()

    def _fill_row(self, row: int, class_id: int, share: float) -> None:
        doc, label_set = self.state.document, self.state.label_set
        color = label_set.dontcare_color if class_id == label_set.dontcare_id else label_set.colors[class_id]
        name = QTableWidgetItem(swatch_icon(color), f"{class_id} · {self.state.label_name(class_id)}")
        name.setData(Qt.ItemDataRole.UserRole, class_id)
        percent = QTableWidgetItem(f"{share:.1%}")
        percent.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        own = class_id in doc.region_styles
        mix = doc.style_of_region(class_id)
        style = QTableWidgetItem()
        if mix:
            style.setIcon(self.thumbs.mix_strip(doc, mix, dimmed=not own))
        style.setToolTip(_describe_mix(mix, own))
        for column, item in enumerate((name, percent, style)):
            self.table.setItem(row, column, item)

    def selected_regions(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [int(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)) for row in rows]

    def class_at_row(self, viewport_pos) -> int | None:
        """The class id of the table row at a viewport position (a drop target), None between rows."""
        row = self.table.rowAt(viewport_pos.y())
        return None if row < 0 else int(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole))

    def select_regions(self, class_ids: list[int]) -> None:
        rows = [
            row
            for row in range(self.table.rowCount())
            if int(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)) in class_ids
        ]
        self._select_rows(rows)

    def _select_rows(self, rows: list[int]) -> None:
        # selectRow() would replace the selection in ExtendedSelection mode; add rows one by one instead.
        model = self.table.selectionModel()
        model.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in rows:
            model.select(self.table.model().index(row, 0), flags)
        if rows:
            self.table.scrollTo(self.table.model().index(rows[0], 0))

    def _on_selection(self) -> None:
        self._sync_region_mix()
        self.selectionChanged.emit(self.selected_regions())

    def _sync_region_mix(self) -> None:
        """Show the selected regions' actual mix (the all-regions style when none is selected)."""
        doc, regions = self.state.document, self.selected_regions()
        if doc is None:
            self.region_mix.show_mix(())
            self.region_note.setText("")
            return
        if not regions:
            self.selected_box.setTitle("Style of all regions (none selected)")
            self.region_mix.show_mix(doc.default_style)
            self.region_note.setText("Select regions in the table (or Ctrl+click the canvas) to style them apart")
            return
        names = [self.state.label_name(class_id) for class_id in regions]
        self.selected_box.setTitle(f"Style of {names[0]}" if len(names) == 1 else f"Style of {len(names)} regions")
        mixes = {doc.style_of_region(class_id) for class_id in regions}
        self.region_mix.show_mix(mixes.pop() if len(mixes) == 1 else None)
        following = [class_id for class_id in regions if class_id not in doc.region_styles]
        if len(following) == len(regions):
            note = "Follows the all-regions style"
        elif following:
            note = f"{len(following)} of them follow the all-regions style"
        else:
            note = ""
        self.region_note.setText(note)

    def _paint_with_row(self, item: QTableWidgetItem) -> None:
        self.state.set_current_label(int(self.table.item(item.row(), 0).data(Qt.ItemDataRole.UserRole)))

    # -- edits -------------------------------------------------------------------------------
    def _targets(self) -> list[int] | None:
        """Selected regions, or None (all regions) when nothing is selected."""
        return self.selected_regions() or None

    def _clear_selected(self) -> None:
        regions = self.selected_regions()
        if regions:
            self.state.label_edit(edits.assign_style, None, regions)

    def _on_region_mix(self, mix: StyleMix) -> None:
        self.state.label_edit(edits.assign_style, mix, self._targets())

    def _on_master_mix(self, mix: StyleMix) -> None:
        self.state.label_edit(edits.assign_style, mix, None)

    def _begin_drag(self, regions: list[int] | None) -> None:
        """A slider drag is one undo step, named by what it did once it ends ("hair: A → 40 % A + 60 % B")."""
        history, doc = self.state.history, self.state.document
        if history is None or doc is None:
            return
        self._drag_regions = regions
        self._drag_before = [doc.default_style] if regions is None else [doc.style_of_region(c) for c in regions]
        history.begin("Style")

    def _end_drag(self) -> None:
        history, doc = self.state.history, self.state.document
        if history is None or not history.is_grouping:
            return
        regions = self._drag_regions
        after = doc.default_style if regions is None else doc.style_of_region(regions[0])
        history.end(style_title(self.state.label_set, regions, self._drag_before, after))

    def roll_random_style(self) -> None:
        """A new seed and '@random' codes for the selected regions (all when none), as one step."""
        seed = random.randint(0, MAX_SEED)
        regions = describe_regions(self.state.label_set, self._targets())
        self._engine_style(RANDOM_STYLE_SOURCE, f"{regions}: random style", seed)

    def reset_to_mean(self) -> None:
        self._engine_style(MEAN_STYLE_SOURCE, f"{describe_regions(self.state.label_set, self._targets())}: mean style")

    def _engine_style(self, name: str, title: str, seed: int | None = None) -> None:
        history = self.state.history
        if history is None:
            return
        with history.group(title):
            if seed is not None:
                self.state.edit(edits.set_engine_settings, seed=seed)
            self.state.label_edit(edits.assign_style, ((name, 1.0),), self._targets())

    # -- what the engine allows -----------------------------------------------------------------
    def _update_enabled(self) -> None:
        """Show only the style controls the engine has, and say why the others are missing."""
        doc = self.state.document
        known = bool(self.state.engine_id())
        caps = self.state.capabilities()
        engine_class = self.state.engine_class()
        engine = engine_class.display_name if engine_class is not None else "This engine"
        has_sources = doc is not None and bool(doc.style_sources)
        per_region = not known or REGION_STYLES in caps
        whole_image = per_region or LATENT_Z in caps
        mixing = not known or STYLE_INTERPOLATION in caps
        self.selected_box.setVisible(per_region)
        self.master_box.setVisible(whole_image)
        if not whole_image:
            note = f"{engine} takes no style photos: it renders from the label map alone."
        elif not per_region:
            note = f"{engine} renders one style for the whole image: choose it under All regions."
        elif not has_sources and doc is not None:
            note = "Add a style source (Style sources › Add…) to restyle regions."
        else:
            note = ""
        self.engine_note.setText(note)
        self.engine_note.setVisible(bool(note))
        self.region_mix.setEnabled(has_sources)
        self.clear_button.setEnabled(per_region and has_sources)
        self.master_mix.setEnabled(has_sources)
        for slider in (self.region_mix, self.master_mix):
            slider.source_b.setVisible(mixing)
            slider.slider.setVisible(mixing)
            slider.value_label.setVisible(mixing)
        with_labels = doc is not None and any(s.label is not None for s in doc.style_sources.values())
        mean_ok = MEAN_STYLE in caps and with_labels
        self.random_button.setVisible(not known or MEAN_STYLE in caps)
        self.mean_button.setVisible(not known or MEAN_STYLE in caps)
        if MEAN_STYLE not in caps:
            why = "Needs an engine with mean styles (SEAN)" if known else "Render once so the engine is known"
        elif not with_labels:
            why = "Add a style source with its segmentation first: mean styles are computed from the gallery"
        else:
            why = ""
        self.random_button.setEnabled(mean_ok)
        self.mean_button.setEnabled(mean_ok)
        self.random_button.setToolTip(why or "A random style from the gallery's statistics, with a new seed")
        self.mean_button.setToolTip(why or "The mean style of the gallery for the selected regions")


def _describe_mix(mix: StyleMix, own: bool) -> str:
    if not mix:
        return "The engine's own style"
    text = " + ".join(f"{weight:.0%} {name}" for name, weight in mix)
    return text if own else f"{text} (all-regions style)"
