"""The label palette: the current label (always visible), quick slots 1..0, and a searchable class list.

The quick slots start with the classes that cover most of the image and take in the labels a person
uses, each keeping its key (pinned slots are never replaced), so the classes painted with are one key away.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from regionpaint.app.qt.editor_state import EditorState
from regionpaint.app.qt.images import swatch_icon

log = logging.getLogger(__name__)

QUICK_SLOTS = 10  # keys 1..9 and 0


class CurrentLabelView(QWidget):
    """A large swatch with the id and name of the label the tools paint with."""

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.swatch = QLabel()
        self.swatch.setFixedSize(36, 36)
        self.name = QLabel()
        self.name.setObjectName("currentLabelName")
        font = self.name.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.name.setFont(font)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.swatch)
        layout.addWidget(self.name, 1)
        state.currentLabelChanged.connect(self.refresh)
        state.documentReplaced.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        label_set = self.state.label_set
        if label_set is None:
            self.name.setText("No document")
            self.swatch.clear()
            return
        class_id = self.state.current_label
        color = label_set.dontcare_color if class_id == label_set.dontcare_id else label_set.colors[class_id]
        self.swatch.setPixmap(swatch_icon(color, 36).pixmap(36, 36))
        self.name.setText(f"{class_id} · {self.state.label_name(class_id)}")


class QuickLabelBar(QWidget):
    """Ten buttons, 1..9 and 0, for the labels used most, in a stable order.

    A slot keeps its key: a label used again stays where it is, and a new label takes the slot used
    longest ago, so the keys never move under the person's fingers. Right-click pins a slot (a pinned
    label is never replaced).
    """

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.slots: list[int] = []
        self.pinned: set[int] = set()  # class ids
        self._last_used: dict[int, int] = {}  # class id -> use counter (bigger: more recent)
        self._uses = 0
        self.buttons: list[QToolButton] = []
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for index in range(QUICK_SLOTS):
            button = QToolButton()
            button.setIconSize(QSize(14, 14))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            button.clicked.connect(lambda _=False, i=index: self.pick(i))
            button.customContextMenuRequested.connect(lambda _pos, i=index: self.toggle_pin(i))
            layout.addWidget(button)
            self.buttons.append(button)
        layout.addStretch(1)
        state.documentReplaced.connect(self.reset)
        state.currentLabelChanged.connect(self.remember)
        self.reset()

    def reset(self) -> None:
        """Fill the slots with the classes that cover most of the image (largest first); pins stay first."""
        doc, label_set = self.state.document, self.state.label_set
        self.slots = []
        self._last_used = {}
        if doc is not None and label_set is not None:
            valid = {int(i) for i in label_set.valid_ids()}
            self.pinned &= valid
            shares = sorted(label_set.present_ids(doc.label), key=lambda pair: -pair[1])
            ranked = [c for c in sorted(self.pinned) if c in valid] + [c for c, _ in shares if c not in self.pinned]
            self.slots = ranked[:QUICK_SLOTS]
        self._refresh()

    def remember(self, class_id: int) -> None:
        """A label just used keeps its slot; a new one takes the slot used longest ago (never a pinned one)."""
        if self.state.label_set is None:
            return
        self._uses += 1
        self._last_used[class_id] = self._uses
        if class_id in self.slots:
            return
        if len(self.slots) < QUICK_SLOTS:
            self.slots.append(class_id)
        else:
            free = [i for i, c in enumerate(self.slots) if c not in self.pinned]
            if not free:
                return
            oldest = min(free, key=lambda i: self._last_used.get(self.slots[i], 0))
            self.slots[oldest] = class_id
        self._refresh()

    def toggle_pin(self, index: int) -> None:
        if 0 <= index < len(self.slots):
            self.pinned ^= {self.slots[index]}
            self._refresh()

    def pick(self, index: int) -> None:
        if 0 <= index < len(self.slots):
            self.state.set_current_label(self.slots[index])

    def _refresh(self) -> None:
        label_set = self.state.label_set
        for index, button in enumerate(self.buttons):
            key = (index + 1) % 10
            if label_set is None or index >= len(self.slots):
                button.setVisible(False)
                continue
            class_id = self.slots[index]
            color = label_set.dontcare_color if class_id == label_set.dontcare_id else label_set.colors[class_id]
            pinned = class_id in self.pinned
            button.setIcon(swatch_icon(color, 14))
            button.setText(f"{key}•" if pinned else str(key))
            state = "pinned; right-click to unpin" if pinned else "right-click to pin"
            button.setToolTip(f"{key}: {self.state.label_name(class_id)} (id {class_id}) · {state}")
            button.setVisible(True)


class SearchField(QLineEdit):
    """The label search box; Esc is ``escapePressed`` (the palette leaves the field)."""

    escapePressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escapePressed.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class LabelPalette(QWidget):
    """Current label, quick slots, a search box and every class of the document's label set.

    The search is a detour from painting: Enter picks the first label shown and Esc gives up (clearing the
    search); both emit ``searchFinished``, on which the window gives the keyboard back to the canvas, so the
    next key is a shortcut (R: rectangle) again and not one more letter of the search.
    """

    labelActivated = Signal(int)
    searchFinished = Signal()

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.current = CurrentLabelView(state)
        self.quick = QuickLabelBar(state)
        self.search = SearchField()
        self.search.setPlaceholderText("Search labels (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setObjectName("labelList")
        self.list.setUniformItemSizes(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.current)
        layout.addWidget(self.quick)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._pick_first_visible)
        self.search.escapePressed.connect(self._give_up_search)
        self.list.currentItemChanged.connect(self._on_item_changed)
        state.documentReplaced.connect(self._rebuild)
        state.currentLabelChanged.connect(self._select_current)
        self._rebuild()

    def _rebuild(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        label_set = self.state.label_set
        if label_set is not None:
            for class_id in label_set.valid_ids():
                class_id = int(class_id)
                color = label_set.dontcare_color if class_id == label_set.dontcare_id else label_set.colors[class_id]
                item = QListWidgetItem(swatch_icon(color), f"{class_id:>3}  {label_set.name_of(class_id)}")
                item.setData(Qt.ItemDataRole.UserRole, class_id)
                self.list.addItem(item)
        self.list.blockSignals(False)
        self._filter(self.search.text())
        self._select_current(self.state.current_label)

    def _filter(self, text: str) -> None:
        wanted = text.strip().lower()
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setHidden(bool(wanted) and wanted not in item.text().lower())

    def visible_ids(self) -> list[int]:
        return [
            int(self.list.item(row).data(Qt.ItemDataRole.UserRole))
            for row in range(self.list.count())
            if not self.list.item(row).isHidden()
        ]

    def _pick_first_visible(self) -> None:
        visible = self.visible_ids()
        if visible:  # nothing shown: the person goes on typing
            self.state.set_current_label(visible[0])
            self.labelActivated.emit(visible[0])
            self.searchFinished.emit()

    def _give_up_search(self) -> None:
        self.search.clear()
        self.searchFinished.emit()

    def _on_item_changed(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is not None:
            self.state.set_current_label(int(item.data(Qt.ItemDataRole.UserRole)))

    def _select_current(self, class_id: int) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if int(item.data(Qt.ItemDataRole.UserRole)) == class_id:
                self.list.blockSignals(True)
                self.list.setCurrentItem(item)
                self.list.blockSignals(False)
                self.list.scrollToItem(item)
                return

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()
