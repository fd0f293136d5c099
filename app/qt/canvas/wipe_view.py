"""The before/after wipe: the photo left of a draggable divider, the rendered result right of it.

:class:`WipeView` adds two things to the canvas's scene, over the photo: a clip rectangle (the part
right of the divider) holding its own copy of the result pixmap, and the divider with a round handle and
the captions "Photo" / "Result". The canvas asks :meth:`WipeView.near_divider` on a press to tell a
divider drag from a tool stroke.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
)

#: A press this close (screen pixels) to the divider drags it instead of painting.
GRAB_PIXELS = 10
HANDLE_RADIUS = 9  # screen pixels


class DividerItem(QGraphicsItem):
    """The divider line and its handle, drawn with cosmetic pens (same thickness at any zoom)."""

    def __init__(self) -> None:
        super().__init__()
        self.height = 1.0

    def set_height(self, height: float) -> None:
        self.prepareGeometryChange()
        self.height = float(height)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt naming)
        return QRectF(-2, 0, 4, self.height)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        pen = QPen(QColor(255, 255, 255), 2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawLine(QPointF(0, 0), QPointF(0, self.height))


class HandleItem(QGraphicsItem):
    """The round grip in the middle of the divider, a fixed size on screen."""

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt naming)
        return QRectF(-HANDLE_RADIUS - 2, -HANDLE_RADIUS - 2, 2 * HANDLE_RADIUS + 4, 2 * HANDLE_RADIUS + 4)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(255, 255, 255), 2))
        painter.setBrush(QBrush(QColor(40, 40, 44)))
        painter.drawEllipse(QPointF(0, 0), HANDLE_RADIUS, HANDLE_RADIUS)
        painter.drawLine(QPointF(-4, 0), QPointF(4, 0))


class WipeView:
    def __init__(self, scene: QGraphicsScene, z_value: float = 3) -> None:
        self.fraction = 0.5  # the divider's x, as a fraction of the image width
        self.size = (1, 1)
        self.clip = QGraphicsRectItem()
        self.clip.setPen(QPen(Qt.PenStyle.NoPen))
        self.clip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
        self.result = QGraphicsPixmapItem(self.clip)
        self.result.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.divider = DividerItem()
        self.handle = HandleItem(self.divider)
        self.handle.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.captions = (QGraphicsSimpleTextItem("Photo"), QGraphicsSimpleTextItem("Result"))
        for caption in self.captions:
            caption.setParentItem(self.divider)
            caption.setBrush(QBrush(QColor(255, 255, 255)))
            caption.setPen(QPen(QColor(0, 0, 0, 200), 0.8))  # readable on a light sky too
            caption.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.clip.setZValue(z_value)
        self.divider.setZValue(z_value + 0.5)
        scene.addItem(self.clip)
        scene.addItem(self.divider)
        self.set_visible(False)

    # -- geometry ------------------------------------------------------------------------------
    def set_size(self, width: int, height: int) -> None:
        self.size = (width, height)
        self.divider.set_height(height)
        self.handle.setPos(0, height / 2)
        self.set_fraction(self.fraction)

    def set_fraction(self, fraction: float) -> None:
        self.fraction = max(0.0, min(1.0, float(fraction)))
        width, height = self.size
        x = self.divider_x
        self.clip.setRect(QRectF(x, 0, width - x, height))
        self.divider.setPos(x, 0)
        caption_width = self.captions[0].boundingRect().width()
        self.captions[0].setPos(0, 0)
        self.captions[0].setTransform(_screen_offset(-caption_width - 8, 6))
        self.captions[1].setTransform(_screen_offset(8, 6))

    @property
    def divider_x(self) -> float:
        return self.fraction * self.size[0]

    def near_divider(self, scene_point: QPointF, zoom: float) -> bool:
        if not self.divider.isVisible():
            return False
        inside = 0 <= scene_point.y() <= self.size[1]
        return inside and abs(scene_point.x() - self.divider_x) * zoom <= GRAB_PIXELS

    def drag_to(self, scene_point: QPointF) -> None:
        self.set_fraction(scene_point.x() / max(1, self.size[0]))

    # -- what is shown -------------------------------------------------------------------------
    def set_visible(self, visible: bool) -> None:
        self.clip.setVisible(visible)
        self.divider.setVisible(visible)

    def show_result(self, source: QGraphicsPixmapItem) -> None:
        """Copy the canvas's result item (its pixmap and its scale to the document)."""
        self.result.setPixmap(source.pixmap())
        self.result.setTransform(source.transform())


def _screen_offset(dx: float, dy: float) -> QTransform:
    return QTransform.fromTranslate(dx, dy)
