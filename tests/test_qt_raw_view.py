"""The raw render is one click (or Ctrl+Shift+R) away: on a photo edit the composite is the photo itself outside
the edit, so before any edit a new engine's output is nowhere to be seen. "Show raw render" (Engine panel, View
menu) shows the network's whole output instead; it is a view setting, not an edit."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from tests.qt_support import face_demo_document, make_window, no_leaked_threads  # noqa: F401
from tests.test_qt_render import wait_for_render

pytestmark = pytest.mark.slow


def shown_result(window) -> np.ndarray:
    """The RGB pixels of the picture the canvas shows as the result (at the picture's own size)."""
    image = window.canvas.result_item.pixmap().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def test_show_raw_render_shows_the_networks_output_of_a_photo_edit(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_demo_document())
    doc = window.document
    wait_for_render(qtbot, window)
    raw = doc.last_render.raw
    assert raw is not None  # composited: the network's output is kept beside the composite
    np.testing.assert_array_equal(shown_result(window), doc.photo)  # no edit yet: the composite is the photo

    box = window.engine_panel.composite_controls.show_raw
    assert box.isVisibleTo(window) and box.isEnabled() and box.text() == "Show raw render"
    box.click()
    np.testing.assert_array_equal(shown_result(window), raw)
    assert window.actions["raw_render"].isChecked()  # the View menu item agrees
    assert doc.history.entries == []  # a view, not an edit

    QTest.keyClick(window.canvas, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    np.testing.assert_array_equal(shown_result(window), doc.photo)
    assert not box.isChecked() and not window.actions["raw_render"].isChecked()
