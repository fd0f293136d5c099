"""Canvas tools: brush, flood fill, polygon fill, rectangle fill, eyedropper, relabel region, smart fill, snap brush.

The canvas hands every tool points in document coordinates in Qt's convention (pixel ``x`` covers
``[x, x + 1)``); the model puts pixel centres on integers, so tools subtract half a pixel before
calling an edit. A stroke or a fill is exactly one undo step: the brush groups its dabs with
``history.begin/end``, the other tools make a single edit.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsRectItem

from regionpaint.app.model import edits
from regionpaint.app.model.titles import paint_title
from regionpaint.app.qt.editor_state import EditorState

if TYPE_CHECKING:
    from regionpaint.app.qt.canvas.view import CanvasView

log = logging.getLogger(__name__)

MIN_BRUSH_SIZE = 1
MAX_BRUSH_SIZE = 200
#: A click this close (in screen pixels) to the first vertex closes the polygon.
CLOSE_POLYGON_PIXELS = 8


def to_model(point: QPointF) -> tuple[float, float]:
    """Qt scene point -> model coordinates (pixel centres on integers)."""
    return point.x() - 0.5, point.y() - 0.5


def pixel_at(point: QPointF) -> tuple[int, int]:
    return math.floor(point.x()), math.floor(point.y())


def preview_pen(dashed: bool = False) -> QPen:
    """A thin white pen that stays thin at any zoom."""
    pen = QPen(QColor(255, 255, 255))
    pen.setCosmetic(True)
    pen.setWidthF(1.5)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen


@dataclass
class BrushSettings:
    size: int = 24  # diameter in pixels
    tip: str = "round"  # or "square"

    @property
    def radius(self) -> float:
        """The model's radius for a brush of ``size`` pixels across (size 1 paints one pixel)."""
        return (self.size - 1) / 2


class Tool:
    """Base class: every handler is optional. ``canvas`` is set while the tool is active."""

    id = ""
    title = ""
    shortcut = ""
    hint = ""
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, controller: ToolController) -> None:
        self.controller = controller
        self.canvas: CanvasView | None = None

    @property
    def state(self) -> EditorState:
        return self.controller.state

    def activate(self, canvas: CanvasView) -> None:
        self.canvas = canvas

    def deactivate(self) -> None:
        self.cancel()
        self.canvas = None

    def press(self, point: QPointF) -> None: ...

    def drag(self, point: QPointF) -> None: ...

    def release(self, point: QPointF) -> None: ...

    def hover(self, point: QPointF) -> None: ...

    def double_click(self, point: QPointF) -> None: ...

    def key(self, key: int) -> bool:
        """Handle a key press; return True when used. Esc cancels what is in progress; with nothing in
        progress it is not used, and the canvas clears the region selection with it."""
        if key == Qt.Key.Key_Escape and self.in_progress():
            self.cancel()
            return True
        return False

    def in_progress(self) -> bool:
        """A stroke, a drag or a polygon is under way (Esc cancels it)."""
        return False

    def cancel(self) -> None: ...

    def _add(self, item):
        """Put a preview item into the canvas's tool layer (above everything, follows the active side)."""
        if self.canvas is not None:
            item.setParentItem(self.canvas.tool_layer)
        return item

    def _remove(self, item) -> None:
        if item is not None and item.scene() is not None:
            item.scene().removeItem(item)


class BrushTool(Tool):
    id, title, shortcut = "brush", "Brush", "B"
    hint = "Drag to paint the current label; [ and ] change the size"

    def __init__(self, controller: ToolController) -> None:
        super().__init__(controller)
        self._last: tuple[float, float] | None = None
        self._outline: QGraphicsEllipseItem | QGraphicsRectItem | None = None

    def activate(self, canvas: CanvasView) -> None:
        super().activate(canvas)
        self.controller.brushChanged.connect(self._rebuild_outline)
        self._rebuild_outline()

    def deactivate(self) -> None:
        self.controller.brushChanged.disconnect(self._rebuild_outline)
        self._remove(self._outline)
        self._outline = None
        super().deactivate()

    def press(self, point: QPointF) -> None:
        history = self.state.history
        if history is None or self._last is not None:
            return
        history.begin(paint_title("Brush", self.state.label_set, self.state.current_label))
        self._last = to_model(point)
        self._paint([self._last])
        self.hover(point)

    def drag(self, point: QPointF) -> None:
        self.hover(point)
        if self._last is None:
            return
        current = to_model(point)
        self._paint([self._last, current])
        self._last = current

    def release(self, point: QPointF) -> None:
        if self._last is None:
            return
        self._last = None
        self.state.history.end()

    def in_progress(self) -> bool:
        return self._last is not None

    def cancel(self) -> None:
        if self._last is not None:
            self._last = None
            self.state.history.abort()
            self.state.history.end()

    def _paint(self, points: list[tuple[float, float]]) -> None:
        brush = self.controller.brush
        self.state.label_edit(edits.paint_stroke, points, self.state.current_label, brush.radius, brush.tip)

    def hover(self, point: QPointF) -> None:
        if self._outline is None:
            return
        half = self.controller.brush.size / 2
        self._outline.setRect(QRectF(point.x() - half, point.y() - half, 2 * half, 2 * half))
        self._outline.show()

    def _rebuild_outline(self) -> None:
        old_rect = self._outline.rect() if self._outline is not None else None
        self._remove(self._outline)
        tip = self.controller.brush.tip
        self._outline = self._add(QGraphicsEllipseItem() if tip == "round" else QGraphicsRectItem())
        self._outline.setPen(preview_pen())
        self._outline.setZValue(10)
        if old_rect is not None:
            self.hover(old_rect.center())
        else:
            self._outline.hide()


class FloodFillTool(Tool):
    id, title, shortcut = "fill", "Flood fill", "F"
    hint = "Click a region to fill it (same-class neighbours) with the current label"

    def press(self, point: QPointF) -> None:
        self.state.label_edit(edits.flood_fill, to_model(point), self.state.current_label)


class RelabelTool(Tool):
    id, title, shortcut = "relabel", "Relabel region", "L"
    hint = "Click a region to give the whole connected region the current label"

    def press(self, point: QPointF) -> None:
        self.state.label_edit(edits.relabel_region, to_model(point), self.state.current_label)


class EyedropperTool(Tool):
    id, title, shortcut = "eyedropper", "Eyedropper", "I"
    hint = "Click to pick the label (and the object, for pix2pixHD) under the cursor"

    def press(self, point: QPointF) -> None:
        doc = self.state.document
        x, y = pixel_at(point)
        if doc is None or not (0 <= x < doc.width and 0 <= y < doc.height):
            return
        self.state.set_current_label(int(doc.label[y, x]))
        if doc.instance is not None:
            self.state.set_picked_instance(int(doc.instance[y, x]))


class RectangleTool(Tool):
    id, title, shortcut = "rectangle", "Rectangle fill", "R"
    hint = "Drag a rectangle to fill it with the current label"

    def __init__(self, controller: ToolController) -> None:
        super().__init__(controller)
        self._start: QPointF | None = None
        self._preview: QGraphicsRectItem | None = None

    def press(self, point: QPointF) -> None:
        self._start = QPointF(point)
        self._preview = self._add(QGraphicsRectItem())
        self._preview.setPen(preview_pen(dashed=True))
        self.drag(point)

    def drag(self, point: QPointF) -> None:
        if self._start is None or self._preview is None:
            return
        corner = QPointF(math.floor(self._start.x()), math.floor(self._start.y()))
        opposite = QPointF(math.floor(point.x()), math.floor(point.y()))
        self._preview.setRect(QRectF(corner, opposite).normalized().adjusted(0, 0, 1, 1))

    def release(self, point: QPointF) -> None:
        if self._start is None:
            return
        start, self._start = self._start, None
        self._remove(self._preview)
        self._preview = None
        self.state.label_edit(edits.fill_rectangle, to_model(start), to_model(point), self.state.current_label)

    def in_progress(self) -> bool:
        return self._start is not None

    def cancel(self) -> None:
        self._start = None
        self._remove(self._preview)
        self._preview = None


class PolygonTool(Tool):
    id, title, shortcut = "polygon", "Polygon fill", "P"
    hint = "Click the corners; double-click, Enter or a click on the first corner fills; Backspace undoes a corner"

    def __init__(self, controller: ToolController) -> None:
        super().__init__(controller)
        self._points: list[QPointF] = []
        self._path: QGraphicsPathItem | None = None
        self._cursor: QPointF | None = None

    def press(self, point: QPointF) -> None:
        if len(self._points) >= 3 and self._near_first(point):
            self.finish()
            return
        self._points.append(QPointF(point))
        self._update_preview()

    def double_click(self, point: QPointF) -> None:
        # The double click's first press already added this corner.
        self.finish()

    def hover(self, point: QPointF) -> None:
        self._cursor = QPointF(point)
        self._update_preview()

    def drag(self, point: QPointF) -> None:
        self.hover(point)

    def key(self, key: int) -> bool:
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish()
            return True
        if key == Qt.Key.Key_Backspace and self._points:
            self._points.pop()
            self._update_preview()
            return True
        return super().key(key)

    def finish(self) -> None:
        points, self._points = [to_model(p) for p in self._points], []
        self._update_preview()
        if len(points) >= 3:
            self.state.label_edit(edits.fill_polygon, points, self.state.current_label)

    def in_progress(self) -> bool:
        return bool(self._points)

    def cancel(self) -> None:
        self._points = []
        self._update_preview()

    @property
    def corners(self) -> int:
        return len(self._points)

    def _near_first(self, point: QPointF) -> bool:
        scale = self.canvas.transform().m11() if self.canvas is not None else 1.0
        return QLineF(self._points[0], point).length() * scale <= CLOSE_POLYGON_PIXELS

    def _update_preview(self) -> None:
        if not self._points:
            self._remove(self._path)
            self._path = None
            return
        if self._path is None:
            self._path = self._add(QGraphicsPathItem())
            self._path.setPen(preview_pen(dashed=True))
        path = QPainterPath(self._points[0])
        for point in self._points[1:]:
            path.lineTo(point)
        if self._cursor is not None:
            path.lineTo(self._cursor)
        self._path.setPath(path)


class SnapBrushTool(BrushTool):
    """The brush, with its outline pulled to the photo's edges (a plain brush on a document without photo)."""

    id, title, shortcut = "snap_brush", "Snap-to-edges brush", "E"
    hint = "Drag to paint the current label; the paint stops at the photo's edges near the brush's rim"

    def press(self, point: QPointF) -> None:
        history = self.state.history
        if history is None or self._last is not None:
            return
        history.begin("Snap brush")
        self._last = to_model(point)
        self._paint([self._last])
        self.hover(point)

    def _paint(self, points: list[tuple[float, float]]) -> None:
        from regionpaint.app.model import smart_fill

        self.state.label_edit(
            smart_fill.snap_paint_stroke, points, self.state.current_label, self.controller.brush.radius
        )


class SmartFillTool(Tool):
    """Grow the current label from a stroke (or, with Shift, a box) along the photo's edges (GrabCut).

    GrabCut takes a second or more on a large photo, so the mask is found on a worker thread and applied
    as one undo step when it arrives (unless the document changed meanwhile).
    """

    id, title, shortcut = "smart_fill", "Smart fill", "S"
    hint = "Drag a stroke over an object to fill it with the current label; Shift+drag a box around it"

    def __init__(self, controller: ToolController) -> None:
        super().__init__(controller)
        self._points: list[QPointF] = []
        self._box = False
        self._preview: QGraphicsPathItem | None = None
        self.worker = None  # the running superqt worker, if any

    def press(self, point: QPointF) -> None:
        from PySide6.QtWidgets import QApplication

        if self.state.document is None or self.worker is not None:
            return
        self._box = bool(QApplication.keyboardModifiers() & Qt.KeyboardModifier.ShiftModifier)
        self._points = [QPointF(point)]
        self._preview = self._add(QGraphicsPathItem())
        self._preview.setPen(preview_pen(dashed=self._box))
        self._update_preview()

    def drag(self, point: QPointF) -> None:
        if not self._points:
            return
        if self._box:
            self._points[1:] = [QPointF(point)]
        else:
            self._points.append(QPointF(point))
        self._update_preview()

    def release(self, point: QPointF) -> None:
        if not self._points:
            return
        self.drag(point)
        points = [to_model(p) for p in self._points]
        box = self._box
        self.cancel()
        self.fill(points, box=box)

    def fill(self, points: list[tuple[float, float]], box: bool = False) -> None:
        """Find the object on a worker thread, then commit it (model coordinates)."""
        from superqt.utils import create_worker

        from regionpaint.app.model import smart_fill

        doc, label_set = self.state.document, self.state.label_set
        if doc is None or label_set is None:
            return
        if doc.photo is None:
            self.state.message.emit("Smart fill follows the photo's edges; this document has no photo")
            return
        serial, label_id = self.state.document_serial, self.state.current_label
        photo = doc.photo
        if box:
            work = lambda: smart_fill.box_grabcut_mask(photo, points[0], points[-1])  # noqa: E731
        else:
            work = lambda: smart_fill.stroke_grabcut_mask(photo, points)  # noqa: E731
        worker = create_worker(work, _start_thread=False, _ignore_errors=True)

        def apply(found) -> None:
            if found is None or self.state.document_serial != serial or self.state.document is not doc:
                return
            self.state.label_edit(smart_fill.commit_fill_mask, found[0], found[1], label_id)

        worker.returned.connect(apply)
        worker.errored.connect(lambda exc: self.state.message.emit(f"Smart fill failed: {exc}"))
        worker.finished.connect(self._finished)
        self.worker = worker
        self.controller.busyChanged.emit(True)
        worker.start()

    def _finished(self) -> None:
        self.worker = None
        self.controller.busyChanged.emit(False)

    def in_progress(self) -> bool:
        return bool(self._points)

    def cancel(self) -> None:
        self._points = []
        self._remove(self._preview)
        self._preview = None

    def _update_preview(self) -> None:
        if self._preview is None or not self._points:
            return
        if self._box:
            rect = QRectF(self._points[0], self._points[-1]).normalized()
            path = QPainterPath()
            path.addRect(rect)
        else:
            path = QPainterPath(self._points[0])
            for p in self._points[1:]:
                path.lineTo(p)
        self._preview.setPath(path)


TOOL_CLASSES: tuple[type[Tool], ...] = (
    BrushTool,
    FloodFillTool,
    PolygonTool,
    RectangleTool,
    EyedropperTool,
    RelabelTool,
    SmartFillTool,
    SnapBrushTool,
)


class ToolController(QObject):
    """Which tool is active, and the brush every painting tool shares."""

    toolChanged = Signal(str)
    brushChanged = Signal()
    busyChanged = Signal(bool)  # a tool works on a thread (smart fill)

    def __init__(self, state: EditorState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.brush = BrushSettings()
        self.tools: dict[str, Tool] = {cls.id: cls(self) for cls in TOOL_CLASSES}
        self.active: Tool = self.tools["brush"]
        self._canvas: CanvasView | None = None

    def attach(self, canvas: CanvasView) -> None:
        self._canvas = canvas
        self.active.activate(canvas)

    def set_tool(self, tool_id: str) -> None:
        tool = self.tools[tool_id]
        if tool is self.active:
            return
        if self._canvas is not None:
            self.active.deactivate()
            tool.activate(self._canvas)
        self.active = tool
        self.toolChanged.emit(tool_id)

    def set_brush_size(self, size: int) -> None:
        size = max(MIN_BRUSH_SIZE, min(MAX_BRUSH_SIZE, int(size)))
        if size != self.brush.size:
            self.brush.size = size
            self.brushChanged.emit()

    def grow_brush(self, direction: int) -> None:
        """``]`` / ``[``: about 10 % per press, at least one pixel."""
        step = max(1, round(self.brush.size * 0.1))
        self.set_brush_size(self.brush.size + direction * step)

    def set_brush_tip(self, tip: str) -> None:
        if tip not in ("round", "square"):
            raise ValueError(f"brush tip must be 'round' or 'square', got {tip!r}")
        if tip != self.brush.tip:
            self.brush.tip = tip
            self.brushChanged.emit()
