"""The canvas: photo, label overlay and rendered result in a zoomable, pannable QGraphicsView.

View modes: labels over the photo, the result alone, or both side by side (placed beside or below,
whichever fits the view better). Holding ``\\`` peeks at the original photo. Wheel, ``+``/``-`` and
fit zoom; space-drag or the middle button pans. Mouse input goes to the active tool in document
coordinates, on either side of a side-by-side view.
"""

from __future__ import annotations

import logging
import math

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QFrame,
    QGraphicsItemGroup,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QLineEdit,
)

from regionpaint.app.model.history import Box
from regionpaint.app.model.shortcuts import canvas_click
from regionpaint.app.qt.canvas.items import EditMaskItem, LabelOverlayItem, ResultItem, photo_pixmap
from regionpaint.app.qt.canvas.region_highlight import RegionHighlight
from regionpaint.app.qt.canvas.tools import ToolController
from regionpaint.app.qt.canvas.wipe_view import WipeView
from regionpaint.app.qt.editor_state import EditorState

log = logging.getLogger(__name__)

VIEW_LABELS, VIEW_RESULT, VIEW_SIDE_BY_SIDE, VIEW_WIPE = "labels", "result", "side_by_side", "wipe"
VIEW_MODES = (VIEW_LABELS, VIEW_RESULT, VIEW_SIDE_BY_SIDE, VIEW_WIPE)
ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.02, 64.0
GAP = 16  # scene pixels between the two halves of a side-by-side view
PEEK_KEY = Qt.Key.Key_Backslash
# Modifier keys by the names of the click table (app/model/shortcuts.py: CANVAS_CLICKS, which F1 lists too).
MODIFIER_NAMES = (
    (Qt.KeyboardModifier.AltModifier, "Alt"),
    (Qt.KeyboardModifier.ControlModifier, "Ctrl"),
    (Qt.KeyboardModifier.ShiftModifier, "Shift"),
    (Qt.KeyboardModifier.MetaModifier, "Meta"),
)


def held_modifiers(modifiers: Qt.KeyboardModifier) -> frozenset[str]:
    return frozenset(name for flag, name in MODIFIER_NAMES if modifiers & flag)


class CanvasView(QGraphicsView):
    cursorMoved = Signal(int, int)  # document pixel under the cursor, (-1, -1) outside
    viewModeChanged = Signal(str)
    overlayChanged = Signal()  # opacity or colour/outline mode
    zoomChanged = Signal(float)
    regionClicked = Signal(QPointF, bool)  # document point of a Ctrl-click; True with Shift (add to the selection)
    selectionCleared = Signal()  # Esc with regions selected (and no stroke or shape in progress to cancel)
    rawVisibleChanged = Signal(bool)  # the raw render (not the composite) is shown

    def __init__(self, state: EditorState, tools: ToolController, parent=None) -> None:
        super().__init__(parent)
        self.state = state
        self.tools = tools
        self.setScene(QGraphicsScene(self))
        self.setObjectName("canvas")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QColor(38, 38, 42))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor)

        self.photo_item = QGraphicsPixmapItem()
        self.photo_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.overlay_item = LabelOverlayItem()
        self.overlay_item.setZValue(1)
        self.result_item = ResultItem()
        self.result_item.setZValue(2)
        self.tool_layer = QGraphicsItemGroup()
        self.tool_layer.setZValue(10)
        for item in (self.photo_item, self.overlay_item, self.result_item, self.tool_layer):
            self.scene().addItem(item)
        self.highlight = RegionHighlight(self.scene())
        self.zoomChanged.connect(self.highlight.set_zoom)
        self.wipe = WipeView(self.scene())
        self._dragging_wipe = False

        self.view_mode = VIEW_LABELS
        self.raw_visible = False  # show the network's own output rather than its composite onto the photo
        self.overlay_opacity = 0.6
        self.peeking = False
        self._result_offset = QPointF(0, 0)
        self._space_held = False
        self._panning_from: QPointF | None = None
        # True while the view shows the whole image and should keep doing so as the window resizes;
        # any zoom or pan by the person ends it (else the scrollbars a zoom brings re-fit the view).
        self._fit_pending = True
        self._tool_pressed = False  # the left press went to the active tool (not Alt/Ctrl-click)
        self._init_edit_mask()

        state.documentReplaced.connect(self._on_document_replaced)
        state.labelsChanged.connect(self._on_labels_changed)
        state.renderChanged.connect(self._on_render_changed)
        tools.attach(self)
        self._on_document_replaced()

    # -- document --------------------------------------------------------------------------
    def _doc_size(self) -> tuple[int, int]:
        doc = self.state.document
        return (1, 1) if doc is None else doc.size

    def _on_document_replaced(self) -> None:
        doc = self.state.document
        visible = doc is not None
        for item in (self.photo_item, self.overlay_item, self.result_item):
            item.setVisible(visible)
        if doc is None:
            self.scene().setSceneRect(QRectF(0, 0, 1, 1))
            return
        self.highlight.show(doc.label, [])
        self.photo_item.setPixmap(photo_pixmap(doc.photo, doc.size))
        self.wipe.set_size(*doc.size)
        self.overlay_item.rebuild(doc.label, self.state.label_set)
        self._on_render_changed()
        self._fit_pending = True
        self._arrange()
        self.fit()

    def _on_labels_changed(self, box: Box | None) -> None:
        doc = self.state.document
        if doc is not None:
            self.overlay_item.refresh(doc.label, self.state.label_set, box)
            self.highlight.labels_changed(doc.label)

    def highlight_regions(self, class_ids: list[int]) -> None:
        """Dim everything but the regions ``class_ids`` (the table's selection); [] shows all plainly."""
        doc = self.state.document
        self.highlight.show(None if doc is None else doc.label, class_ids if doc is not None else [])
        self._arrange()

    def class_at(self, point: QPointF) -> int | None:
        doc = self.state.document
        x, y = math.floor(point.x()), math.floor(point.y())
        if doc is None or not (0 <= x < doc.width and 0 <= y < doc.height):
            return None
        return int(doc.label[y, x])

    def _on_render_changed(self) -> None:
        doc = self.state.document
        if doc is None:
            return
        image = None if doc.last_render is None else doc.last_render.image
        if self.raw_visible and doc.last_render is not None and doc.last_render.raw is not None:
            image = doc.last_render.raw  # the network's own output: a photo edit hides it outside the edit
        self.result_item.show_image(image, doc.size)
        self.wipe.show_result(self.result_item)

    def set_raw_visible(self, visible: bool) -> None:
        """Show the raw render (the network's output) instead of its composite onto the photo; a view
        setting, not an edit. Documents without a photo show the raw render either way."""
        if bool(visible) != self.raw_visible:
            self.raw_visible = bool(visible)
            self._on_render_changed()
            self.rawVisibleChanged.emit(self.raw_visible)

    # -- the edit mask (photo edits) ---------------------------------------------------------
    def _init_edit_mask(self) -> None:
        self.edit_mask_item = EditMaskItem()
        self.edit_mask_item.setZValue(3)
        self.edit_mask_item.setVisible(False)
        self.scene().addItem(self.edit_mask_item)
        self.edit_mask_visible = False
        # Recomputed after the edits settle, not on every brush dab.
        self._mask_timer = QTimer(self, singleShot=True, interval=60)
        self._mask_timer.timeout.connect(self.refresh_edit_mask)
        for signal in (
            self.state.labelsChanged,
            self.state.instancesChanged,
            self.state.stylesChanged,
            self.state.engineChanged,
            self.state.renderChanged,
            self.state.compositeChanged,
            self.state.documentReplaced,
        ):
            signal.connect(lambda *_: self._mask_timer.start() if self.edit_mask_visible else None)

    def set_edit_mask_visible(self, visible: bool) -> None:
        """Show the edit mask (what the edits change against the photo) over the result, or the photo."""
        self.edit_mask_visible = bool(visible)
        self.refresh_edit_mask()

    def refresh_edit_mask(self) -> None:
        from regionpaint.app.render.photo_edit import document_edit_mask

        doc = self.state.document
        mask = None
        if self.edit_mask_visible and doc is not None:
            raw = None if doc.last_render is None else doc.last_render.raw
            render_size = None if raw is None else (raw.shape[1], raw.shape[0])
            capabilities = self.state.render_capabilities or self.state.capabilities()
            mask = document_edit_mask(doc, capabilities, render_size)
        self.edit_mask_item.show_mask(mask)
        self.edit_mask_item.setVisible(mask is not None)
        self.edit_mask_item.setPos(self._result_offset if self.result_item.isVisible() else QPointF(0, 0))

    # -- what is shown -----------------------------------------------------------------------
    def set_view_mode(self, mode: str) -> None:
        if mode not in VIEW_MODES:
            log.warning("unknown view mode %r; showing labels", mode)
            mode = VIEW_LABELS
        if mode != self.view_mode:
            self.view_mode = mode
            self._arrange()
            self.fit()
            self.viewModeChanged.emit(mode)

    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay_opacity = max(0.0, min(1.0, float(opacity)))
        self._arrange()
        self.overlayChanged.emit()

    def set_outline_mode(self, outline: bool) -> None:
        if outline != self.overlay_item.outline:
            self.overlay_item.outline = outline
            doc = self.state.document
            if doc is not None:
                self.overlay_item.rebuild(doc.label, self.state.label_set)
            self.overlayChanged.emit()

    def set_peeking(self, peeking: bool) -> None:
        """While peeking, only the original photo shows (the label map alone for photo-less documents)."""
        if peeking != self.peeking:
            self.peeking = peeking
            self._arrange()

    def _arrange(self) -> None:
        """Place and show the layers for the view mode; the result sits beside or below in side-by-side."""
        doc = self.state.document
        if doc is None:
            return
        width, height = doc.size
        mode = self.view_mode
        has_photo = doc.photo is not None
        self._result_offset = QPointF(0, 0)
        if mode == VIEW_SIDE_BY_SIDE:
            self._result_offset = QPointF(width + GAP, 0) if self._beside_fits_better() else QPointF(0, height + GAP)
        self.result_item.setPos(self._result_offset)
        wipe = mode == VIEW_WIPE
        show_result = mode not in (VIEW_LABELS, VIEW_WIPE) and not self.peeking
        self.result_item.setVisible(show_result)
        self.wipe.set_visible(wipe and not self.peeking)
        self.photo_item.setVisible(mode != VIEW_RESULT or self.peeking)
        # The wipe compares photo and result; a document without a photo shows its labels as "before".
        overlay_visible = mode != VIEW_RESULT and (not wipe or not has_photo) and (not self.peeking or not has_photo)
        self.overlay_item.setVisible(overlay_visible)
        self.overlay_item.setOpacity(1.0 if self.peeking else self.overlay_opacity)
        # The selection dims the label view only; over the result (and the wipe) it is outlined.
        if self.peeking:
            self.highlight.place(False, None)
        else:
            on_labels = mode in (VIEW_LABELS, VIEW_SIDE_BY_SIDE)
            self.highlight.place(on_labels, self._result_offset if show_result or wipe else None)
        self.edit_mask_item.setPos(self._result_offset if show_result else QPointF(0, 0))
        self.scene().setSceneRect(self._content_rect())

    def _beside_fits_better(self) -> bool:
        width, height = self._doc_size()
        view = self.viewport().size()
        beside = min(view.width() / (2 * width + GAP), view.height() / height)
        below = min(view.width() / width, view.height() / (2 * height + GAP))
        return beside >= below

    def _content_rect(self) -> QRectF:
        width, height = self._doc_size()
        rect = QRectF(0, 0, width, height)
        if self.view_mode == VIEW_SIDE_BY_SIDE:
            rect = rect.united(QRectF(self._result_offset, QRectF(0, 0, width, height).size()))
        return rect

    # -- zoom and pan ------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        if self.state.document is None:
            return
        self._fit_pending = True
        self.fitInView(self._content_rect().adjusted(-4, -4, 4, 4), Qt.AspectRatioMode.KeepAspectRatio)
        self.zoomChanged.emit(self.zoom)

    def zoom_by(self, factor: float) -> None:
        self._fit_pending = False
        target = max(MIN_ZOOM, min(MAX_ZOOM, self.zoom * factor))
        if not math.isclose(target, self.zoom):
            self.scale(target / self.zoom, target / self.zoom)
            self.zoomChanged.emit(self.zoom)

    def zoom_actual(self) -> None:
        """100 %: one image pixel per screen pixel, about the view's centre."""
        centre = self.mapToScene(self.viewport().rect().center())
        self.zoom_by(1.0 / self.zoom)
        self.centerOn(centre)

    def zoom_in(self) -> None:
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / ZOOM_STEP)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(ZOOM_STEP**steps)
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_pending and self.state.document is not None:
            self._arrange()
            self.fit()

    # -- mouse: tools and panning --------------------------------------------------------------
    def document_point(self, view_pos: QPointF) -> QPointF:
        """Document coordinates (Qt convention) of a viewport position, on whichever half it falls."""
        scene = self.mapToScene(view_pos.toPoint())
        point = QPointF(scene)
        width, height = self._doc_size()
        inside_result = QRectF(self._result_offset, QRectF(0, 0, width, height).size()).contains(scene)
        offset = self._result_offset if self.view_mode == VIEW_SIDE_BY_SIDE and inside_result else QPointF(0, 0)
        self.tool_layer.setPos(offset)
        return point - offset

    def _start_pan(self, event: QMouseEvent) -> bool:
        if event.button() == Qt.MouseButton.MiddleButton or (
            self._space_held and event.button() == Qt.MouseButton.LeftButton
        ):
            self._panning_from = event.position()
            self._fit_pending = False
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return True
        return False

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if self._start_pan(event):
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self.state.document is not None:
            point = self.document_point(event.position())
            if self.view_mode == VIEW_WIPE and self.wipe.near_divider(
                self.mapToScene(event.position().toPoint()), self.zoom
            ):
                self._dragging_wipe = True
                self.viewport().setCursor(Qt.CursorShape.SplitHCursor)
            elif (click := canvas_click(held_modifiers(event.modifiers()))) is not None:
                if click.action == "pick_label":  # with any tool
                    self.tools.tools["eyedropper"].press(point)
                else:  # "select_region" / "add_to_selection": the region in the table
                    self.regionClicked.emit(point, click.action == "add_to_selection")
            else:
                self._tool_pressed = True
                self.tools.active.press(point)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.state.document is not None:
            self.tools.active.double_click(self.document_point(event.position()))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._panning_from is not None:
            delta = event.position() - self._panning_from
            self._panning_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
            event.accept()
            return
        if self.state.document is None:
            return
        if self._dragging_wipe:
            self.wipe.drag_to(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        point = self.document_point(event.position())
        self._report_cursor(point)
        if event.buttons() & Qt.MouseButton.LeftButton:
            if self._tool_pressed:  # not after an Alt- or Ctrl-click
                self.tools.active.drag(point)
        else:
            self.tools.active.hover(point)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        pan_buttons = (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton)
        if self._panning_from is not None and event.button() in pan_buttons:
            self._panning_from = None
            cursor = Qt.CursorShape.OpenHandCursor if self._space_held else Qt.CursorShape.CrossCursor
            self.viewport().setCursor(cursor)
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self._dragging_wipe:
            self._dragging_wipe = False
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self.state.document is not None:
            if self._tool_pressed:
                self._tool_pressed = False
                self.tools.active.release(self.document_point(event.position()))
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def enterEvent(self, event) -> None:
        # Keys held over the canvas (peek, pan) need focus; take it unless someone is typing elsewhere.
        if not isinstance(QApplication.focusWidget(), (QLineEdit, QAbstractSpinBox)):
            self.setFocus(Qt.FocusReason.MouseFocusReason)
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:
        self.cursorMoved.emit(-1, -1)
        super().leaveEvent(event)

    def _report_cursor(self, point: QPointF) -> None:
        width, height = self._doc_size()
        x, y = math.floor(point.x()), math.floor(point.y())
        inside = 0 <= x < width and 0 <= y < height
        self.cursorMoved.emit(x if inside else -1, y if inside else -1)

    # -- keys held: peek and pan ---------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.isAutoRepeat() and event.key() in (PEEK_KEY, Qt.Key.Key_Space):
            event.accept()
            return
        if event.key() == PEEK_KEY:
            self.set_peeking(True)
        elif event.key() == Qt.Key.Key_Space:
            self._space_held = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        elif self.tools.active.key(event.key()):
            pass
        elif event.key() == Qt.Key.Key_Escape and self.highlight.active:
            self.selectionCleared.emit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.isAutoRepeat():
            event.accept()
            return
        if event.key() == PEEK_KEY:
            self.set_peeking(False)
        elif event.key() == Qt.Key.Key_Space:
            self._space_held = False
            if self._panning_from is None:
                self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        else:
            super().keyReleaseEvent(event)
            return
        event.accept()

    def focusOutEvent(self, event) -> None:
        # A key released while another widget has focus never reaches us; do not stay stuck.
        self.set_peeking(False)
        self._space_held = False
        super().focusOutEvent(event)
