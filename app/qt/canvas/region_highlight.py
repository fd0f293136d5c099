"""The regions selected in the table, highlighted on the canvas: the rest dimmed, the selection outlined.

One RGBA layer is built from the label map for the selected class ids and shown over the photo (and over
the result in side-by-side). Label edits rebuild it at most every ``REFRESH_MS`` while painting.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PySide6.QtCore import QObject, QPointF, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene

from regionpaint.app.qt.images import boundary_mask, qimage_view_rgba

REFRESH_MS = 120
DIM = (0, 0, 0, 120)  # outside the selection
OUTLINE = (255, 214, 0, 255)  # the selection's border


def highlight_rgba(label: np.ndarray, class_ids: Iterable[int]) -> np.ndarray:
    """(H, W, 4) uint8: dim outside the classes ``class_ids``, outline their border, clear inside."""
    ids = np.fromiter(class_ids, dtype=np.int64)
    lookup = np.zeros(max(int(label.max()), int(ids.max(initial=0))) + 1, bool)
    lookup[ids] = True
    selected = lookup[label]  # a table lookup: far quicker than np.isin on a 2048x1024 map
    # One uint32 per pixel (the four RGBA bytes): ~10x quicker than filling four channels.
    dim, outline = (np.array(colour, np.uint8).view(np.uint32)[0] for colour in (DIM, OUTLINE))
    pixels = np.where(selected, np.uint32(0), dim)
    pixels[boundary_mask(selected) & selected] = outline
    return pixels.view(np.uint8).reshape(*label.shape, 4)


class RegionHighlight(QObject):
    """Two scene items (document side and result side) showing :func:`highlight_rgba` for a selection."""

    def __init__(self, scene: QGraphicsScene, z_value: float = 5) -> None:
        super().__init__(scene)
        self.items = (QGraphicsPixmapItem(), QGraphicsPixmapItem())
        for item in self.items:
            item.setZValue(z_value)
            item.setVisible(False)
            scene.addItem(item)
        self.class_ids: tuple[int, ...] = ()
        self._label: np.ndarray | None = None
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

    def place(self, result_offset: QPointF | None) -> None:
        """Show on the document side, and on the result side at ``result_offset`` (None: not shown there)."""
        self.items[0].setVisible(self.active)
        self.items[1].setVisible(self.active and result_offset is not None)
        if result_offset is not None:
            self.items[1].setPos(result_offset)

    def _rebuild(self) -> None:
        if not self.active or self._label is None:
            for item in self.items:
                item.setVisible(False)
            return
        rgba = highlight_rgba(self._label, self.class_ids)
        pixmap = QPixmap.fromImage(qimage_view_rgba(rgba).copy())
        for item in self.items:
            item.setPixmap(pixmap)
        self.items[0].setVisible(True)
