"""Thumbnails of style sources and of whole mixes (the regions table shows a region's mix as pictures)."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPainter, QPalette, QPixmap

from regionpaint.app.model.document import Document, StyleMix
from regionpaint.app.qt.images import thumbnail
from regionpaint.engines.base import MEAN_STYLE_SOURCE, RANDOM_STYLE_SOURCE

ENGINE_STYLE_GLYPHS = {MEAN_STYLE_SOURCE: "μ", RANDOM_STYLE_SOURCE: "⚄"}


class StyleThumbnails:
    """Square thumbnails of a document's style sources, cached by source identity."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._cache: dict[tuple[str, int], QPixmap] = {}

    def of(self, doc: Document, name: str) -> QPixmap:
        if name in ENGINE_STYLE_GLYPHS:
            return self._glyph(ENGINE_STYLE_GLYPHS[name])
        source = doc.style_sources.get(name)
        if source is None:
            return self._glyph("?")
        key = (name, id(source))
        if key not in self._cache:
            self._cache[key] = self._square(thumbnail(source.image, self.size))
        return self._cache[key]

    def mix_strip(self, doc: Document, mix: StyleMix, dimmed: bool = False) -> QPixmap:
        """The thumbnails of a mix side by side, each with its weight written under it."""
        size, text_height = self.size, 11
        strip = QPixmap(max(1, len(mix)) * (size + 3), size + text_height)
        strip.fill(Qt.GlobalColor.transparent)
        painter = QPainter(strip)
        font = QFont(painter.font())
        font.setPixelSize(9)
        painter.setFont(font)
        if dimmed:
            painter.setOpacity(0.45)
        for index, (name, weight) in enumerate(mix):
            x = index * (size + 3)
            painter.drawPixmap(x, 0, self.of(doc, name))
            painter.setPen(QGuiApplication.palette().color(QPalette.ColorRole.Text))
            painter.drawText(QRect(x, size, size, text_height), Qt.AlignmentFlag.AlignCenter, f"{weight:.0%}")
        painter.end()
        return strip

    def _square(self, pixmap: QPixmap) -> QPixmap:
        square = QPixmap(self.size, self.size)
        square.fill(QColor(30, 30, 30))
        painter = QPainter(square)
        painter.drawPixmap((self.size - pixmap.width()) // 2, (self.size - pixmap.height()) // 2, pixmap)
        painter.end()
        return square

    def _glyph(self, text: str) -> QPixmap:
        square = QPixmap(self.size, self.size)
        square.fill(QColor(70, 70, 90))
        painter = QPainter(square)
        painter.setPen(QColor(235, 235, 235))
        font = QFont(painter.font())
        font.setPixelSize(max(8, self.size * 2 // 3))
        painter.setFont(font)
        painter.drawText(square.rect(), Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
        return square
