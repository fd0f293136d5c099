"""A small overview in the canvas's corner while zoomed in: the whole image and the part in view.

Shown only when the image does not fit the view. Click or drag in it to move the view there.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from regionpaint.app.qt.editor_state import EditorState
from regionpaint.app.qt.images import qimage_from_rgb

SIZE = 180  # longest side of the overview, in screen pixels
MARGIN = 10
REFRESH_MS = 300  # label edits refresh the overview of a photo-less document at most this often


class Navigator(QWidget):
    def __init__(self, canvas, state: EditorState) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.state = state
        self.setObjectName("navigator")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self._thumb = QPixmap()
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self._rebuild_thumb)
        canvas.installEventFilter(self)
        canvas.zoomChanged.connect(lambda _zoom: self.update_view())
        canvas.horizontalScrollBar().valueChanged.connect(lambda _v: self.update_view())
        canvas.verticalScrollBar().valueChanged.connect(lambda _v: self.update_view())
        state.documentReplaced.connect(self._rebuild_thumb)
        state.labelsChanged.connect(lambda _box: self._timer.start() if self._follows_labels() else None)
        self.hide()
        self._rebuild_thumb()

    # -- what is shown -----------------------------------------------------------------------
    def _follows_labels(self) -> bool:
        doc = self.state.document
        return doc is not None and doc.photo is None

    def _rebuild_thumb(self) -> None:
        doc, label_set = self.state.document, self.state.label_set
        if doc is None or label_set is None:
            self._thumb = QPixmap()
            self.update_view()
            return
        rgb = doc.photo if doc.photo is not None else label_set.to_color(doc.label)
        step = max(1, int(np.ceil(max(doc.width, doc.height) / SIZE)))
        small = np.ascontiguousarray(rgb[::step, ::step])
        self._thumb = QPixmap.fromImage(qimage_from_rgb(small)).scaled(
            SIZE, SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.setFixedSize(self._thumb.size())
        self.update_view()

    def visible_fraction(self) -> QRectF:
        """The part of the image in view, in fractions of its width and height (0..1)."""
        doc = self.state.document
        if doc is None:
            return QRectF(0, 0, 1, 1)
        seen = self.canvas.mapToScene(self.canvas.viewport().rect()).boundingRect()
        image = QRectF(0, 0, doc.width, doc.height)
        part = seen.intersected(image)
        return QRectF(part.x() / doc.width, part.y() / doc.height, part.width() / doc.width, part.height() / doc.height)

    def update_view(self) -> None:
        """Show when part of the image is out of view; keep to the bottom-right corner."""
        fraction = self.visible_fraction()
        zoomed = fraction.width() < 0.999 or fraction.height() < 0.999
        visible = zoomed and not self._thumb.isNull() and self.state.document is not None
        if visible:
            viewport = self.canvas.viewport().geometry()
            self.move(viewport.right() - self.width() - MARGIN, viewport.bottom() - self.height() - MARGIN)
            self.raise_()
        self.setVisible(visible)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._thumb)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 70))
        fraction = self.visible_fraction()
        view = QRectF(
            fraction.x() * self.width(),
            fraction.y() * self.height(),
            fraction.width() * self.width(),
            fraction.height() * self.height(),
        )
        painter.drawPixmap(view, self._thumb, view)  # the part in view, undimmed
        painter.setPen(QPen(QColor(255, 214, 0), 2))
        painter.drawRect(view.adjusted(1, 1, -1, -1))
        painter.setPen(QPen(QColor(20, 20, 20), 1))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))

    # -- moving the view ---------------------------------------------------------------------
    def centre_on(self, pos: QPointF) -> None:
        doc = self.state.document
        if doc is None or self.width() == 0:
            return
        self.canvas.centerOn(QPointF(pos.x() / self.width() * doc.width, pos.y() / self.height() * doc.height))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt naming)
        self.centre_on(event.position())
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt naming)
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.centre_on(event.position())
        event.accept()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt naming)
        if event.type() == QEvent.Type.Resize:
            self.update_view()
        return False
