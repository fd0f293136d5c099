"""The history panel: every undo step by title; click one to go back (or forward) to it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from app.qt.editor_state import EditorState

ORIGINAL = "Opened document"


class HistoryPanel(QWidget):
    """Row 0 is the document as opened; row i is the state after step i. Undone steps are greyed."""

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.list = QListWidget()
        self.list.setObjectName("historyList")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.list)
        self.list.itemClicked.connect(self._on_clicked)
        state.documentReplaced.connect(self.refresh)
        state.historyChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        history = self.state.history
        self.list.clear()
        if history is None:
            return
        undone = QBrush(QColor(130, 130, 130))
        for row, title in enumerate([ORIGINAL, *history.entries]):
            item = QListWidgetItem(title)
            if row > history.index:
                item.setForeground(undone)
                font = QFont(item.font())
                font.setItalic(True)
                item.setFont(font)
            item.setData(Qt.ItemDataRole.UserRole, row)
            self.list.addItem(item)
        current = self.list.item(history.index)
        self.list.setCurrentItem(current)
        self.list.scrollToItem(current)

    def _on_clicked(self, item: QListWidgetItem) -> None:
        history = self.state.history
        if history is not None and not history.is_grouping:
            history.go_to(int(item.data(Qt.ItemDataRole.UserRole)))
