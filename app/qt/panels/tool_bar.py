"""The tool bar: tools, brush size and tip, label overlay opacity and mode, view mode."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QComboBox, QLabel, QSlider, QSpinBox, QToolBar, QWidget

from regionpaint.app.qt.canvas.tools import MAX_BRUSH_SIZE, MIN_BRUSH_SIZE, ToolController
from regionpaint.app.qt.canvas.view import VIEW_LABELS, VIEW_RESULT, VIEW_SIDE_BY_SIDE, VIEW_WIPE, CanvasView

VIEW_TITLES = {VIEW_LABELS: "Labels", VIEW_RESULT: "Result", VIEW_SIDE_BY_SIDE: "Side by side", VIEW_WIPE: "Wipe"}


class EditorToolBar(QToolBar):
    """Tool actions come from the window (they carry the shortcuts); the rest is built here."""

    def __init__(
        self,
        tools: ToolController,
        canvas: CanvasView,
        tool_actions: dict[str, QAction],
        view_actions: dict[str, QAction],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Tools", parent)
        self.setObjectName("toolsToolBar")
        self.tools = tools
        self.canvas = canvas
        group = QActionGroup(self)
        for tool_id, action in tool_actions.items():
            action.setCheckable(True)
            action.setChecked(tool_id == tools.active.id)
            group.addAction(action)
            self.addAction(action)
        self.addSeparator()

        self.brush_size = QSpinBox()
        self.brush_size.setRange(MIN_BRUSH_SIZE, MAX_BRUSH_SIZE)
        self.brush_size.setSuffix(" px")
        self.brush_size.setToolTip("Brush size ([ and ])")
        self.brush_tip = QComboBox()
        self.brush_tip.addItem("Round", "round")
        self.brush_tip.addItem("Square", "square")
        self.brush_tip.setToolTip("Brush tip (Shift+B)")
        self.addWidget(QLabel(" Brush "))
        self.addWidget(self.brush_size)
        self.addWidget(self.brush_tip)
        self.addSeparator()

        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setFixedWidth(90)
        self.opacity.setToolTip("Label overlay opacity")
        self.overlay_mode = QComboBox()
        self.overlay_mode.addItem("Colours", False)
        self.overlay_mode.addItem("Outlines", True)
        self.overlay_mode.setToolTip("Label overlay: filled colours or outlines (O)")
        self.addWidget(QLabel(" Labels "))
        self.addWidget(self.opacity)
        self.addWidget(self.overlay_mode)
        self.addSeparator()
        view_group = QActionGroup(self)
        for mode, action in view_actions.items():
            action.setCheckable(True)
            action.setChecked(mode == canvas.view_mode)
            view_group.addAction(action)
            self.addAction(action)

        self.brush_size.valueChanged.connect(tools.set_brush_size)
        self.brush_tip.currentIndexChanged.connect(lambda i: tools.set_brush_tip(self.brush_tip.itemData(i)))
        self.opacity.valueChanged.connect(lambda value: canvas.set_overlay_opacity(value / 100))
        self.overlay_mode.currentIndexChanged.connect(
            lambda i: canvas.set_outline_mode(bool(self.overlay_mode.itemData(i)))
        )
        tools.toolChanged.connect(lambda tool_id: tool_actions[tool_id].setChecked(True))
        tools.brushChanged.connect(self.sync)
        canvas.viewModeChanged.connect(lambda mode: view_actions[mode].setChecked(True))
        canvas.overlayChanged.connect(self.sync)
        self.sync()

    def sync(self) -> None:
        """Show the current brush and overlay state without emitting."""
        for widget in (self.brush_size, self.brush_tip, self.opacity, self.overlay_mode):
            widget.blockSignals(True)
        self.brush_size.setValue(self.tools.brush.size)
        self.brush_tip.setCurrentIndex(self.brush_tip.findData(self.tools.brush.tip))
        self.opacity.setValue(round(self.canvas.overlay_opacity * 100))
        self.overlay_mode.setCurrentIndex(1 if self.canvas.overlay_item.outline else 0)
        for widget in (self.brush_size, self.brush_tip, self.opacity, self.overlay_mode):
            widget.blockSignals(False)
