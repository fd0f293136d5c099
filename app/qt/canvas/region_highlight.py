"""The regions selected in the table, highlighted on the canvas: the rest dimmed, the selection outlined.

The label view (labels over the photo, the left half of side by side) gets the rest dimmed and the selection
outlined; the result (the result view, the right half of side by side, the wipe) gets the outline only: the
result is what the person judges, and a selection must not darken it. Label edits rebuild the layers at most
every ``REFRESH_MS`` while painting.

The outline is at least one *screen* pixel wide: the layers are drawn nearest-neighbour, so zoomed out to 40 %
a one-pixel line is drawn only where a sampled row or column falls on it, and the straight edges of a
rectangle fill vanished altogether. Zoomed out, the outline is ``ceil(1 / zoom)`` image pixels thick.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from PySide6.QtCore import QObject, QPointF, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene

from regionpaint.app.qt.images import boundary_mask, qimage_view_rgba

REFRESH_MS = 120
DIM = (0, 0, 0, 120)  # outside the selection
OUTLINE = (255, 214, 0, 255)  # the selection's border
MAX_OUTLINE_PX = 64  # zoomed out further than 1/64 the outline stops growing (the view's minimum zoom is 0.02)


def outline_width(zoom: float) -> int:
    """Image pixels of outline that make at least one screen pixel at ``zoom`` (screen px per image px)."""
    return max(1, min(MAX_OUTLINE_PX, math.ceil(1 / zoom - 1e-6))) if zoom > 0 else 1  # 1e-6: zoom 0.5 -> 2


def selection_outline(label: np.ndarray, class_ids: Iterable[int], width: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(selected, outline): (H, W) bool masks of the classes ``class_ids`` and of their border, ``width``
    pixels thick on the inside."""
    ids = np.fromiter(class_ids, dtype=np.int64)
    lookup = np.zeros(max(int(label.max()), int(ids.max(initial=0))) + 1, bool)
    lookup[ids] = True
    selected = lookup[label]  # a table lookup: far quicker than np.isin on a 2048x1024 map
    outline = boundary_mask(selected) & selected
    if width > 1:
        import cv2

        kernel = np.ones((2 * width - 1, 2 * width - 1), np.uint8)
        outline = cv2.dilate(outline.view(np.uint8), kernel).view(bool) & selected
    return selected, outline


def highlight_rgba(label: np.ndarray, class_ids: Iterable[int], width: int = 1, dim: bool = True) -> np.ndarray:
    """(H, W, 4) uint8: the selection's outline (``width`` px), the rest dimmed (``dim``), clear inside."""
    return _layer(*selection_outline(label, class_ids, width), dim)


def _layer(selected: np.ndarray, outline: np.ndarray, dim: bool) -> np.ndarray:
    # One uint32 per pixel (the four RGBA bytes): ~10x quicker than filling four channels.
    dimmed, edge = (np.array(colour, np.uint8).view(np.uint32)[0] for colour in (DIM, OUTLINE))
    pixels = np.where(selected, np.uint32(0), dimmed) if dim else np.zeros(selected.shape, np.uint32)
    pixels[outline] = edge
    return pixels.view(np.uint8).reshape(*selected.shape, 4)


class RegionHighlight(QObject):
    """Two scene items: ``items[0]`` over the label view (dimmed + outline), ``items[1]`` over the result
    (outline only); see :func:`highlight_rgba`."""

    def __init__(self, scene: QGraphicsScene, z_value: float = 5) -> None:
        super().__init__(scene)
        self.items = (QGraphicsPixmapItem(), QGraphicsPixmapItem())
        for item in self.items:
            item.setZValue(z_value)
            item.setVisible(False)
            scene.addItem(item)
        self.class_ids: tuple[int, ...] = ()
        self.width = 1  # outline, image pixels (outline_width of the view's zoom)
        self._label: np.ndarray | None = None
        self._on_labels = True  # where the view shows the labels, and where the result (None: not shown)
        self._result_at: QPointF | None = None
        self._stale = {0, 1}  # layers not rebuilt since the selection or the labels changed (built when shown)
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self._rebuild)

    @property
    def active(self) -> bool:
        return bool(self.class_ids)

    def show(self, label: np.ndarray | None, class_ids: Iterable[int]) -> None:
        self.class_ids = tuple(sorted(int(c) for c in class_ids))
        self._label = label
        self._rebuild()

    def labels_changed(self, label: np.ndarray) -> None:
        """The label map changed (a stroke): rebuild soon, not on every dab."""
        self._label = label
        if self.active and not self._timer.isActive():
            self._timer.start()

    def set_zoom(self, zoom: float) -> None:
        """The view's zoom changed: thicken (or thin) the outline so that it stays visible."""
        width = outline_width(zoom)
        if width != self.width:
            self.width = width
            if self.active:
                self._rebuild()

    def place(self, on_labels: bool, result_offset: QPointF | None) -> None:
        """Dim and outline over the label view when ``on_labels``; outline the result at ``result_offset``
        (None: the result is not shown)."""
        self._on_labels, self._result_at = on_labels, result_offset
        if result_offset is not None:
            self.items[1].setPos(result_offset)
        if self._stale & self._wanted():
            self._build(self._stale & self._wanted())
        self._show_items()

    def _wanted(self) -> set[int]:
        return {index for index, shown in enumerate((self._on_labels, self._result_at is not None)) if shown}

    def _show_items(self) -> None:
        ready = self.active and self._label is not None
        self.items[0].setVisible(ready and self._on_labels)
        self.items[1].setVisible(ready and self._result_at is not None)

    def _rebuild(self) -> None:
        self._stale = {0, 1}
        self._build(self._wanted())
        self._show_items()

    def _build(self, layers: set[int]) -> None:
        """Build ``layers``, the ones shown: painting in the label view with a selection costs one layer."""
        if not layers or not self.active or self._label is None:
            return
        masks = selection_outline(self._label, self.class_ids, self.width)  # once for both layers
        for index in layers:
            self.items[index].setPixmap(QPixmap.fromImage(qimage_view_rgba(_layer(*masks, index == 0)).copy()))
        self._stale -= layers
