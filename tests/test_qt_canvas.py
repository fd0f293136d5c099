"""The canvas and its tools: mouse input edits the label map, one undo step per stroke or fill."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt
from PySide6.QtTest import QTest

from tests.qt_support import click, drag, face_document, make_window, mouse, no_leaked_threads, view_pos  # noqa: F401

HAIR, SKIN, NECK = 13, 1, 17


def test_brush_drag_paints_one_undo_step_and_undo_restores(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    doc, canvas = window.document, window.canvas
    before = doc.label.copy()
    window.state.set_current_label(NECK)
    window.tools.set_brush_size(3)
    drag(canvas, [(5.5, 40.5), (20.5, 40.5), (40.5, 40.5)])
    assert (doc.label[40, 6:40] == NECK).all(), "the stroke covers the dragged path without gaps"
    assert (doc.label != before).sum() > 30
    assert doc.history.entries == ["Brush neck"], "the whole drag is one step, named after its label"
    assert canvas.overlay_item.colors_at(20, 40)[:3] == (255, 153, 51), "the overlay shows the new colour"
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.label, before)
    assert canvas.overlay_item.colors_at(20, 40)[:3] != (255, 153, 51)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert (doc.label[40, 6:40] == NECK).all()


def test_escape_during_a_stroke_cancels_it(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    doc, canvas = window.document, window.canvas
    before = doc.label.copy()
    window.state.set_current_label(NECK)
    mouse(canvas, QEvent.Type.MouseButtonPress, view_pos(canvas, 10.5, 40.5))
    mouse(canvas, QEvent.Type.MouseMove, view_pos(canvas, 30.5, 40.5))
    assert (doc.label != before).any()
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    mouse(canvas, QEvent.Type.MouseButtonRelease, view_pos(canvas, 30.5, 40.5))
    assert np.array_equal(doc.label, before)
    assert doc.history.entries == []


def test_flood_fill_relabels_the_connected_region(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    doc = window.document
    QTest.keyClick(window.canvas, Qt.Key.Key_F)
    assert window.tools.active.id == "fill"
    window.state.set_current_label(NECK)
    skin = doc.label == SKIN
    click(window.canvas, 32.5, 30.5)
    assert (doc.label[skin] == NECK).all() and (doc.label[~skin] != NECK).all()
    assert doc.history.entries == ["Flood fill neck"]
    window.state.undo()
    assert (doc.label[skin] == SKIN).all()


def test_rectangle_and_polygon_fills(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    doc, canvas = window.document, window.canvas
    window.state.set_current_label(NECK)
    QTest.keyClick(canvas, Qt.Key.Key_R)
    drag(canvas, [(2.5, 2.5), (6.5, 5.5)])
    assert (doc.label[2:6, 2:7] == NECK).all() and (doc.label == NECK).sum() == 20
    QTest.keyClick(canvas, Qt.Key.Key_P)
    for x, y in ((50.5, 30.5), (60.5, 30.5), (60.5, 44.5)):
        click(canvas, x, y)
    assert window.tools.active.corners == 3
    QTest.keyClick(canvas, Qt.Key.Key_Return)
    assert doc.label[40, 59] == NECK and doc.label[40, 52] != NECK  # inside / outside the triangle
    assert doc.history.entries == ["Rectangle fill neck", "Polygon fill neck"]


def test_eyedropper_and_relabel(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    doc, canvas = window.document, window.canvas
    QTest.keyClick(canvas, Qt.Key.Key_I)
    click(canvas, 32.5, 4.5)
    assert window.state.current_label == HAIR
    assert "13 · hair" in window.palette_panel.current.name.text()
    QTest.keyClick(canvas, Qt.Key.Key_L)
    click(canvas, 32.5, 30.5)  # skin becomes hair
    assert doc.label[30, 32] == HAIR and doc.history.entries == ["Relabel as hair"]


def test_brush_size_keys_view_modes_peek_and_zoom(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    canvas, tools = window.canvas, window.tools
    size = tools.brush.size
    QTest.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert tools.brush.size > size and window.tool_bar.brush_size.value() == tools.brush.size
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert tools.brush.size < size
    QTest.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert canvas.view_mode == "result" and canvas.result_item.isVisible()
    assert not canvas.overlay_item.isVisible()
    QTest.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert canvas.overlay_item.isVisible()
    QTest.keyPress(canvas, Qt.Key.Key_Backslash)
    assert canvas.peeking and not canvas.overlay_item.isVisible() and canvas.photo_item.isVisible()
    QTest.keyRelease(canvas, Qt.Key.Key_Backslash)
    assert not canvas.peeking and canvas.overlay_item.isVisible()
    fitted = canvas.zoom
    canvas.zoom_in()
    assert canvas.zoom > fitted
    QTest.keyClick(window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert abs(canvas.zoom - fitted) < 1e-6


def test_side_by_side_paints_from_either_half(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    canvas, doc = window.canvas, window.document
    canvas.set_view_mode("side_by_side")
    offset = canvas.result_item.pos()
    assert offset.x() > 0 or offset.y() > 0
    window.state.set_current_label(NECK)
    window.tools.set_tool("fill")
    click(canvas, 32.5 + offset.x(), 30.5 + offset.y())  # a click on the result half
    assert doc.label[30, 32] == NECK


def test_outline_mode_draws_only_boundaries(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    canvas = window.canvas
    QTest.keyClick(canvas, Qt.Key.Key_O)
    assert canvas.overlay_item.outline
    assert canvas.overlay_item.colors_at(32, 24)[3] == 0, "inside a region: transparent"
    assert canvas.overlay_item.colors_at(0, 0)[3] == 0
    top = int(np.flatnonzero(window.document.label[:, 32] == SKIN)[0])  # skin's first row in column 32
    assert canvas.overlay_item.colors_at(32, top)[3] == 255, "on a boundary: drawn"
    assert canvas.overlay_item.colors_at(32, top - 1)[3] == 255, "both sides of the boundary"
