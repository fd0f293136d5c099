"""numpy <-> Qt images: photos, label colours, outlines and thumbnails."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap

from regionpaint.app.model.history import Box
from regionpaint.app.model.labelsets import LabelSet


def qimage_from_rgb(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of an (H, W, 3) uint8 RGB array."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def qimage_view_rgba(rgba: np.ndarray) -> QImage:
    """A QImage that *shares* an (H, W, 4) uint8 array: keep the array alive as long as the image."""
    height, width = rgba.shape[:2]
    return QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)


def thumbnail(rgb: np.ndarray, size: int) -> QPixmap:
    """A square-bounded thumbnail (longest side ``size`` px) of an (H, W, 3) image."""
    image = Image.fromarray(rgb)
    image.thumbnail((size, size), Image.Resampling.BILINEAR)
    return QPixmap.fromImage(qimage_from_rgb(np.asarray(image)))


def swatch_icon(color: tuple[int, int, int], size: int = 16) -> QIcon:
    """A filled square with a thin dark border (black classes stay visible on dark themes)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*color))
    painter = QPainter(pixmap)
    painter.setPen(QColor(60, 60, 60))
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return QIcon(pixmap)


def grown(box: Box, pixels: int, width: int, height: int) -> Box:
    return Box(box.x0 - pixels, box.y0 - pixels, box.x1 + pixels, box.y1 + pixels).clipped(width, height)


def boundary_mask(label: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels whose class differs from a 4-neighbour (both sides of every edge)."""
    edges = np.zeros(label.shape, dtype=bool)
    horizontal = label[:, 1:] != label[:, :-1]
    vertical = label[1:, :] != label[:-1, :]
    edges[:, 1:] |= horizontal
    edges[:, :-1] |= horizontal
    edges[1:, :] |= vertical
    edges[:-1, :] |= vertical
    return edges


def paint_label_rgba(target: np.ndarray, label: np.ndarray, label_set: LabelSet, box: Box, outline: bool) -> Box:
    """Recolour ``box`` of an (H, W, 4) RGBA overlay from the (H, W) label map; returns the box touched.

    Colour mode: every pixel gets its class colour, opaque. Outline mode: only pixels on a class
    boundary are drawn, so the photo shows through; the box grows by one pixel because an edit
    moves the boundary on both of its sides.
    """
    height, width = label.shape
    if outline:
        box = grown(box, 1, width, height)
        # One more pixel of context so that edges at the border of the box are computed correctly.
        context = grown(box, 1, width, height)
        rows, cols = context.slices
        edges = boundary_mask(label[rows, cols])
        inner = edges[box.y0 - context.y0 : box.y1 - context.y0, box.x0 - context.x0 : box.x1 - context.x0]
    rows, cols = box.slices
    target[rows, cols, :3] = label_set.to_color(label[rows, cols])
    target[rows, cols, 3] = 255 if not outline else np.where(inner, 255, 0).astype(np.uint8)
    return box


def transparent_pixmap(width: int, height: int) -> QPixmap:
    pixmap = QPixmap(width, height)
    pixmap.fill(Qt.GlobalColor.transparent)
    return pixmap
