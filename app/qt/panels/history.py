"""The history panel: every undo step by what it changed; click one to go back (or forward) to it.

A run of steps with the same title (twelve brush strokes with car) shows as one row, "Brush car ×12";
clicking it goes to the end of the run, and undo still takes one stroke at a time. Runs never span the
current position, so the applied and the undone steps stay apart.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from regionpaint.app.qt.editor_state import EditorState

ORIGINAL = "Opened document"


def history_rows(entries: list[str], index: int) -> list[tuple[str, int, int]]:
    """(text, first step, last step) per row, steps counted from 1; row 0 is the opened document (0, 0)."""
    rows: list[tuple[str, int, int]] = [(ORIGINAL, 0, 0)]
    start = 1
    while start <= len(entries):
        end = start
        while end < len(entries) and entries[end] == entries[start - 1] and not (end == index):
            end += 1
        title = entries[start - 1]
        count = end - start + 1
        rows.append((f"{title} ×{count}" if count > 1 else title, start, end))
        start = end + 1
    return rows


class HistoryPanel(QWidget):
    """Row 0 is the document as opened; each row is the state after its last step. Undone steps are greyed."""

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.list = QListWidget()
        self.list.setObjectName("historyList")
        self.list.setWordWrap(True)
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
        current = None
        for text, first, last in history_rows(history.entries, history.index):
            item = QListWidgetItem(text)
            if first > history.index:
                item.setForeground(undone)
                font = QFont(item.font())
                font.setItalic(True)
                item.setFont(font)
            if last > first:
                item.setToolTip(f"Steps {first}–{last}")
            item.setData(Qt.ItemDataRole.UserRole, last)
            self.list.addItem(item)
            if last == history.index:
                current = item
        self.list.setCurrentItem(current)
        if current is not None:
            self.list.scrollToItem(current)

    def _on_clicked(self, item: QListWidgetItem) -> None:
        history = self.state.history
        if history is not None and not history.is_grouping:
            history.go_to(int(item.data(Qt.ItemDataRole.UserRole)))
