"""A section that folds away and remembers whether it was open (superqt's QCollapsible + the editor's settings).

The window keeps every control, but the ones a person sets once (device, output size, compile, engine
specifics) start folded so the panels read as what an artist changes most: model, styles, render.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget
from superqt import QCollapsible

from regionpaint.app.qt.settings import EditorSettings

SETTING_PREFIX = "panels/expanded/"


class RememberedSection(QCollapsible):
    """A QCollapsible whose open/closed state is kept in ``settings`` under ``key`` (closed by default)."""

    def __init__(
        self,
        title: str,
        key: str,
        settings: EditorSettings | None,
        content: QWidget | None = None,
        expanded_by_default: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, parent, expandedIcon="▾", collapsedIcon="▸")
        self.setObjectName(f"section_{key}")
        self.setDuration(0)  # no animation: panels resize at once, and screenshots and tests see the end state
        self.settings = settings
        self.key = SETTING_PREFIX + key
        if content is not None:
            self.addWidget(content)
        expanded = settings.value(self.key, expanded_by_default, bool) if settings else expanded_by_default
        if expanded:
            self.expand(animate=False)
        else:
            self.collapse(animate=False)
        self.toggled.connect(self._remember)

    def _remember(self, expanded: bool) -> None:
        if self.settings is not None:
            self.settings.set_value(self.key, bool(expanded))
