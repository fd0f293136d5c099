"""A non-modal notice above the canvas: errors stay readable without stopping the work."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget


class NoticeBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setStyleSheet(
            "#noticeBar { background: #5c2b29; border-bottom: 1px solid #8a3d3a; }#noticeBar QLabel { color: #f4dcda; }"
        )
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # An optional action beside the message ("Stop waiting" for a render that does not come back).
        self.action_button = QToolButton()
        self.action_button.hide()
        self.action_button.clicked.connect(self._run_action)
        self._action = None
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(close)
        self.hide()

    def show_message(self, message: str, action_text: str = "", action=None) -> None:
        """Show ``message``; with ``action_text`` and ``action`` (a callable), a button that runs it."""
        self.text.setText(message)
        self._action = action
        self.action_button.setText(action_text)
        self.action_button.setVisible(bool(action_text and action))
        self.show()

    def _run_action(self) -> None:
        action, self._action = self._action, None
        self.action_button.hide()
        self.hide()
        if action is not None:
            action()

    @property
    def message(self) -> str:
        return "" if self.isHidden() else self.text.text()
