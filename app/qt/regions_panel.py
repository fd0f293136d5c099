"""The regions panel: classes present in the label map, their pixel share and style, and style controls.

Select one or several regions (or none, meaning all) and: assign a style source, interpolate
between two sources, roll a random style (seeded dice) or reset to the mean style. The "All regions"
slider sets one mix for the whole image. Every change is one undo step; a slider drag is one step.
"""

from __future__ import annotations

import logging
import random

from PySide6.QtCore import QItemSelectionModel, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
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

from app.model import edits
from app.model.document import StyleMix
from app.qt.editor_state import EditorState
from app.qt.images import swatch_icon
from app.qt.mix_slider import MixSlider
from app.qt.style_thumbnails import StyleThumbnails
from engines.base import (
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

        self.source_combo = QComboBox()
        self.assign_selected = QPushButton("To selected")
        self.assign_all = QPushButton("To all")
        self.clear_button = QPushButton("Use default")
        self.clear_button.setToolTip("Selected regions follow the all-regions style again")
        self.region_mix = MixSlider()
        self.random_button = QPushButton("⚄ Random")
        self.mean_button = QPushButton("Mean")
        self.master_mix = MixSlider()
        self._build_layout()

        self._share_timer = QTimer(self, singleShot=True, interval=SHARE_REFRESH_MS)
        self._share_timer.timeout.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.itemDoubleClicked.connect(self._paint_with_row)
        self.assign_selected.clicked.connect(lambda: self._assign_source(self.selected_regions()))
        self.assign_all.clicked.connect(lambda: self._assign_source(None))
        self.clear_button.clicked.connect(self._clear_selected)
        self.region_mix.mixEdited.connect(self._on_region_mix)
        self.master_mix.mixEdited.connect(self._on_master_mix)
        for slider, title in ((self.region_mix, "Region style"), (self.master_mix, "Style for all regions")):
            slider.dragStarted.connect(lambda title=title: self._begin_drag(title))
            slider.dragFinished.connect(self._end_drag)
        self.random_button.clicked.connect(self.roll_random_style)
        self.mean_button.clicked.connect(self.reset_to_mean)
        state.documentReplaced.connect(self.refresh)
        state.labelsChanged.connect(lambda _box: self._share_timer.start())
        state.stylesChanged.connect(self.refresh)
        state.capabilitiesChanged.connect(self._update_enabled)
        self.refresh()

    def _build_layout(self) -> None:
        assign_row = QHBoxLayout()
        assign_row.addWidget(QLabel("Source"))
        assign_row.addWidget(self.source_combo, 1)
        assign_row.addWidget(self.assign_selected)
        assign_row.addWidget(self.assign_all)
        engine_row = QHBoxLayout()
        engine_row.addWidget(self.random_button)
        engine_row.addWidget(self.mean_button)
        engine_row.addWidget(self.clear_button)
        selected = QGroupBox("Selected regions")
        selected_layout = QVBoxLayout(selected)
        selected_layout.addLayout(assign_row)
        selected_layout.addWidget(self.region_mix)
        selected_layout.addLayout(engine_row)
        master = QGroupBox("All regions")
        QVBoxLayout(master).addWidget(self.master_mix)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.table, 1)
        layout.addWidget(selected)
        layout.addWidget(master)

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
        self.source_combo.clear()
        self.source_combo.addItems(names)
        self.region_mix.set_sources(names)
        self.master_mix.set_sources(names)
        if doc is not None and doc.default_style:
            self.master_mix.show_mix(doc.default_style)
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
        doc, regions = self.state.document, self.selected_regions()
        if doc is not None and regions:
            self.region_mix.show_mix(doc.style_of_region(regions[0]))

    def _paint_with_row(self, item: QTableWidgetItem) -> None:
        self.state.set_current_label(int(self.table.item(item.row(), 0).data(Qt.ItemDataRole.UserRole)))

    # -- edits -------------------------------------------------------------------------------
    def _targets(self) -> list[int] | None:
        """Selected regions, or None (all regions) when nothing is selected."""
        return self.selected_regions() or None

    def _assign_source(self, regions: list[int] | None) -> None:
        name = self.source_combo.currentText()
        if name:
            self.state.label_edit(edits.assign_style, ((name, 1.0),), regions)

    def _clear_selected(self) -> None:
        regions = self.selected_regions()
        if regions:
            self.state.label_edit(edits.assign_style, None, regions)

    def _on_region_mix(self, mix: StyleMix) -> None:
        self.state.label_edit(edits.assign_style, mix, self._targets())

    def _on_master_mix(self, mix: StyleMix) -> None:
        self.state.label_edit(edits.assign_style, mix, None)

    def _begin_drag(self, title: str) -> None:
        history = self.state.history
        if history is not None:
            history.begin(title)

    def _end_drag(self) -> None:
        history = self.state.history
        if history is not None and history.is_grouping:
            history.end()

    def roll_random_style(self) -> None:
        """A new seed and '@random' codes for the selected regions (all when none), as one step."""
        self._engine_style(RANDOM_STYLE_SOURCE, "Random style", seed=random.randint(0, MAX_SEED))

    def reset_to_mean(self) -> None:
        self._engine_style(MEAN_STYLE_SOURCE, "Mean style")

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
        doc = self.state.document
        known = bool(self.state.engine_id())
        caps = self.state.capabilities()
        has_sources = doc is not None and bool(doc.style_sources)
        per_region = not known or REGION_STYLES in caps
        whole_image = per_region or LATENT_Z in caps
        mixing = not known or STYLE_INTERPOLATION in caps
        reason = "" if per_region else "This engine renders one style for the whole image"
        for widget in (self.assign_selected, self.clear_button):
            widget.setEnabled(per_region and has_sources)
            widget.setToolTip(reason)
        self.assign_all.setEnabled(whole_image and has_sources)
        self.region_mix.setEnabled(per_region and mixing and has_sources)
        self.master_mix.setEnabled(mixing and has_sources)
        with_labels = doc is not None and any(s.label is not None for s in doc.style_sources.values())
        mean_ok = MEAN_STYLE in caps and with_labels
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
