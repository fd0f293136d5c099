"""Scene items of the canvas: the label overlay (repainted box by box) and the rendered result."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPixmap, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsSimpleTextItem

from regionpaint.app.model.history import Box
from regionpaint.app.model.labelsets import LabelSet
from regionpaint.app.qt.images import paint_label_rgba, qimage_from_rgb, qimage_view_rgba


class LabelOverlayItem(QGraphicsItem):
    """The label map drawn in its class colours (or as outlines) over the photo, one scene unit per pixel.

    It keeps an RGBA buffer of the whole map and a QImage sharing it; an edit recolours only its box
    and repaints only that part, so a brush dab on a 2048x1024 map costs the dab, not the map.
    """

    def __init__(self) -> None:
        super().__init__()
        self._rgba = np.zeros((1, 1, 4), np.uint8)
        self._image = qimage_view_rgba(self._rgba)
        self.outline = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._rgba.shape[1], self._rgba.shape[0])

    def rebuild(self, label: np.ndarray, label_set: LabelSet) -> None:
        height, width = label.shape
        self.prepareGeometryChange()
        self._rgba = np.zeros((height, width, 4), np.uint8)
        self._image = qimage_view_rgba(self._rgba)
        paint_label_rgba(self._rgba, label, label_set, Box(0, 0, width, height), self.outline)
        self.update()

    def refresh(self, label: np.ndarray, label_set: LabelSet, box: Box | None) -> None:
        """Recolour the pixels of ``box`` (all when None) from the label map."""
        if label.shape != self._rgba.shape[:2]:
            self.rebuild(label, label_set)
            return
        height, width = label.shape
        box = Box(0, 0, width, height) if box is None else box.clipped(width, height)
        if box.is_empty():
            return
        touched = paint_label_rgba(self._rgba, label, label_set, box, self.outline)
        self.update(QRectF(touched.x0, touched.y0, touched.width, touched.height))

    def colors_at(self, x: int, y: int) -> tuple[int, int, int, int]:
        return tuple(int(v) for v in self._rgba[y, x])

    def paint(self, painter: QPainter, option, widget=None) -> None:
        # Nearest-neighbour on purpose: a label map must stay crisp at any zoom.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        exposed = option.exposedRect.toAlignedRect().intersected(self._image.rect())
        if not exposed.isEmpty():
            painter.drawImage(exposed, self._image, exposed)


class ResultItem(QGraphicsPixmapItem):
    """The last render, stretched over the document's rectangle whatever size the network produced."""

    def __init__(self) -> None:
        super().__init__()
        self.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._placeholder = QGraphicsRectItem(self)
        self._placeholder.setBrush(QBrush(QColor(48, 48, 52)))
        self._placeholder.setPen(QPen(Qt.PenStyle.NoPen))
        self._text = QGraphicsSimpleTextItem("No render yet", self._placeholder)
        self._text.setBrush(QBrush(QColor(200, 200, 200)))
        self._text.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self._doc_size = (1, 1)

    def show_image(self, rgb: np.ndarray | None, doc_size: tuple[int, int]) -> None:
        self._doc_size = doc_size
        width, height = doc_size
        if rgb is None:
            self.setPixmap(QPixmap())
            self.resetTransform()
            self._placeholder.setRect(0, 0, width, height)
            self._placeholder.show()
            self._text.setPos(width / 2 - 40, height / 2)
            return
        self._placeholder.hide()
        self.setPixmap(QPixmap.fromImage(qimage_from_rgb(rgb)))
        self.setTransform(QTransform.fromScale(width / rgb.shape[1], height / rgb.shape[0]))

    def set_placeholder_text(self, text: str) -> None:
        self._text.setText(text)


def photo_pixmap(photo: np.ndarray | None, size: tuple[int, int]) -> QPixmap:
    """The photo, or a neutral grey sheet when the document has none (label-only documents)."""
    if photo is not None:
        return QPixmap.fromImage(qimage_from_rgb(photo))
    image = QImage(size[0], size[1], QImage.Format.Format_RGB888)
    image.fill(QColor(128, 128, 128))
    return QPixmap.fromImage(image)


class EditMaskItem(QGraphicsPixmapItem):
    """The edit mask (the pixels an edit changes) as a translucent tint with a solid edge, over the result."""

    TINT = (255, 0, 200)

    def show_mask(self, mask: np.ndarray | None) -> None:
        if mask is None or not mask.any():
            self.setPixmap(QPixmap())
            return
        import cv2

        rgba = np.zeros((*mask.shape, 4), np.uint8)
        rgba[mask] = (*self.TINT, 90)
        edge = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(bool)
        rgba[edge] = (*self.TINT, 255)
        self.setPixmap(QPixmap.fromImage(qimage_view_rgba(rgba).copy()))
