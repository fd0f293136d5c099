"""Drag a style thumbnail from the gallery onto a region (on the canvas, or its row in the regions table).

The gallery's drags carry the source name under :data:`STYLE_MIME`; a :class:`StyleDropTarget` on a
widget finds the class id under the drop point and assigns the source to it as one undo step.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, Qt
from PySide6.QtWidgets import QWidget

from regionpaint.app.model import edits
from regionpaint.app.qt.editor_state import EditorState

STYLE_MIME = "application/x-regionpaint-style-source"


def style_mime(name: str) -> QMimeData:
    data = QMimeData()
    data.setData(STYLE_MIME, name.encode("utf-8"))
    data.setText(name)
    return data


def dropped_style(mime: QMimeData) -> str | None:
    if not mime.hasFormat(STYLE_MIME):
        return None
    return bytes(mime.data(STYLE_MIME)).decode("utf-8") or None


class StyleDropTarget(QObject):
    """Accepts style drags on ``widget``; ``class_at(pos)`` names the region under a widget position."""

    def __init__(self, widget: QWidget, state: EditorState, class_at: Callable[[QPoint], int | None]) -> None:
        super().__init__(widget)
        self.state = state
        self.class_at = class_at
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt naming)
        kind = event.type()
        if kind not in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            return False
        name = dropped_style(event.mimeData())
        if name is None:
            return False  # files and other drags keep their own handling
        if kind == QEvent.Type.DragEnter:
            # Take the drag wherever it enters (an edge, between rows) so that the moves keep coming;
            # each move then says whether there is a region under the cursor.
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            return True
        pos = event.position()
        class_id = self.class_at(pos.toPoint() if hasattr(pos, "toPoint") else pos)
        if class_id is None:
            event.ignore()
            return True
        if kind == QEvent.Type.Drop:
            self.assign(name, class_id)
        # Copy, never move: a "move" would make the gallery drop the thumbnail it was dragged from.
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        return True

    def assign(self, name: str, class_id: int) -> bool:
        return self.state.label_edit(edits.assign_style, ((name, 1.0),), [class_id])
