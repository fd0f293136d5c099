"""Issue 17: the editor as a new user meets it (zoom before a click, style panel state, sizes, demos...)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.bundled_demo import DEMO_DIR
from tests.qt_support import face_document, make_window, no_leaked_threads  # noqa: F401

STREETS = DEMO_DIR / "streets.rpaint"


def quiet_window(qtbot, tmp_path, doc=None):
    """A window that renders only when asked (tests stay CPU-light)."""
    window = make_window(qtbot, tmp_path)
    window.render_controller.auto_render = False
    if doc is not None:
        window.set_document(doc)
    return window


def wheel(canvas, steps: int = 1) -> None:
    pos = QPointF(canvas.viewport().rect().center())
    event = QWheelEvent(
        pos,
        QPointF(canvas.viewport().mapToGlobal(pos.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas.viewport(), event)


# -- bug 1: zoom before the first click ------------------------------------------------------------
def test_wheel_zoom_and_plus_work_before_any_click_on_the_canvas(qtbot, tmp_path):
    window = quiet_window(qtbot, tmp_path, face_document(256, 128))
    canvas = window.canvas
    qtbot.wait(50)
    fitted = canvas.zoom
    wheel(canvas, 2)
    qtbot.wait(50)  # scrollbars appear and resize the viewport
    assert canvas.zoom == pytest.approx(fitted * 1.25**2, rel=1e-3), "the wheel zoom was undone by a re-fit"
    window.actions["zoom_in"].trigger()
    qtbot.wait(50)
    assert canvas.zoom == pytest.approx(fitted * 1.25**3, rel=1e-3)
    window.actions["fit"].trigger()
    qtbot.wait(50)  # the scrollbars go, and the fit follows the larger viewport
    assert canvas.zoom == pytest.approx(fitted, rel=1e-3)
    window.resize(1000, 700)  # after Fit, the view follows the window again
    qtbot.wait(50)
    assert canvas.zoom < fitted
