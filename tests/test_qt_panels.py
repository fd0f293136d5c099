"""The panels: palette, regions, style gallery, engine settings, history, dialogs, files and settings."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

from regionpaint.app.model import edits, open_project
from regionpaint.app.model.labelsets import CELEBAMASK_HQ
from regionpaint.app.model.shortcuts import CANVAS_CLICKS, SHORTCUTS
from regionpaint.app.qt.dialogs.new_document import NewDocumentDialog, ShortcutsDialog
from regionpaint.app.qt.file_actions import label_sets
from regionpaint.app.qt.settings import EditorSettings
from tests.qt_support import face_document, make_window, no_leaked_threads, style_source  # noqa: F401

HAIR, SKIN = 13, 1


def test_palette_search_enter_and_number_keys(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    palette, state = window.palette_panel, window.state
    assert state.current_label == 0, "starts with the class covering most of the image"
    palette.search.setText("hai")
    assert palette.visible_ids() == [HAIR]
    QTest.keyClick(palette.search, Qt.Key.Key_Return)
    assert state.current_label == HAIR
    assert palette.current.name.text() == "13 · hair"
    QTest.keyClick(palette.search, Qt.Key.Key_2)  # typing in the search box is not a shortcut
    assert palette.search.text() == "hai2" and state.current_label == HAIR
    window.canvas.setFocus()
    slots = list(palette.quick.slots)
    QTest.keyClick(window.canvas, Qt.Key.Key_2)
    assert state.current_label == slots[1]
    assert palette.quick.slots == slots, "picking from a slot does not reorder the slots"


def test_regions_panel_shares_styles_and_assignment(qtbot, tmp_path):
    doc = face_document()
    edits.add_style_source(doc, "A", style_source(1))
    edits.add_style_source(doc, "B", style_source(2))
    doc.history.clear()
    window = make_window(qtbot, tmp_path, doc)
    panel = window.regions_panel
    table = panel.table
    assert table.rowCount() == 3
    shares = [float(table.item(row, 1).text().rstrip("%")) for row in range(3)]
    assert abs(sum(shares) - 100) < 0.2
    panel.select_regions([SKIN, HAIR])
    assert panel.selected_regions() == [SKIN, HAIR]
    panel.region_mix.source_a.setCurrentText("B")  # choosing the source assigns it
    assert doc.region_styles == {SKIN: (("B", 1.0),), HAIR: (("B", 1.0),)}
    assert not table.item(1, 2).icon().isNull(), "the style column shows the source's thumbnail"
    assert panel.selected_regions() == [SKIN, HAIR], "the selection survives the refresh"
    panel.master_mix.source_a.setCurrentText("A")
    panel.master_mix.source_b.setCurrentText("B")
    panel.master_mix.slider.setValue(25)
    assert doc.default_style == (("A", 0.75), ("B", 0.25)) and doc.region_styles == {}
    assert doc.history.entries == [
        "skin, hair: engine style → B",
        "all regions: engine style → A",  # each choice in the control is applied at once
        "all regions: A → 50% A + 50% B",
        "all regions: 50% A + 50% B → 75% A + 25% B",
    ]
    for _ in range(3):
        window.state.undo()
    assert doc.region_styles[HAIR] == (("B", 1.0),), "style changes undo like label edits"
    assert not panel.random_button.isEnabled(), "no engine with mean styles is known yet"
    assert panel.random_button.toolTip()


def test_a_slider_drag_is_one_undo_step(qtbot, tmp_path):
    doc = face_document()
    edits.add_style_source(doc, "A", style_source(1))
    edits.add_style_source(doc, "B", style_source(2))
    doc.history.clear()
    window = make_window(qtbot, tmp_path, doc)
    mix = window.regions_panel.region_mix
    window.regions_panel.select_regions([HAIR])
    mix.source_a.setCurrentText("A")
    mix.source_b.setCurrentText("B")
    doc.history.clear()
    mix.dragStarted.emit()
    for value in (10, 20, 40, 60):
        mix.slider.setValue(value)
    mix.dragFinished.emit()
    assert doc.history.entries == ["hair: 50% A + 50% B → 40% A + 60% B"], "one step, named by what it did"
    (first, a), (second, b) = doc.region_styles[HAIR]
    assert (first, second) == ("A", "B") and (a, b) == pytest.approx((0.4, 0.6))


def test_style_gallery_adds_files_and_pairs_dropped_ones(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    doc, gallery = window.document, window.styles_panel.gallery
    photo = tmp_path / "photo.jpg"
    Image.fromarray(style_source(3, 128, 96).image).save(photo)
    label = tmp_path / "photo_label.png"
    Image.fromarray(face_document().label).save(label)  # 64x48: half the photo's size
    assert gallery.add_source_files(photo, label) == "A"
    assert doc.style_sources["A"].label.shape == (96, 128), "the segmentation is scaled to its photo"
    gallery.add_dropped([label, photo])
    assert list(doc.style_sources) == ["A", "B"] and doc.style_sources["B"].label is not None
    assert gallery.list.count() == 2
    gallery.add_source_files(tmp_path / "missing.png")
    assert "missing.png" in window.notice.message
    assert doc.history.entries == ["Add style A", "Add style B"]


def test_engine_settings_go_through_undo(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    doc, panel = window.document, window.engine_panel
    panel.render_settings.seed.setValue(42)
    panel.render_settings.noise.setChecked(False)
    panel.render_settings.custom_size.setChecked(True)
    assert doc.engine.seed == 42 and doc.engine.noise is False and doc.engine.output_size == doc.size
    engines = [panel.choices.engine.itemData(i) for i in range(panel.choices.engine.count())]
    assert {"spade", "sean", "pix2pixhd"} <= set(engines)
    window.state.undo()
    window.state.undo()
    assert doc.engine.noise is True and doc.engine.output_size is None
    assert panel.render_settings.noise.isChecked(), "the panel follows undo"


def test_checkpoint_picker_scans_the_models_folder(qtbot, tmp_path):
    official = tmp_path / "data" / "models" / "my_faces"
    official.mkdir(parents=True)
    (official / "latest_net_G.pth").write_bytes(b"")
    (tmp_path / "data" / "models" / "notes.txt").write_text("not a checkpoint")
    window = make_window(qtbot, tmp_path, face_document())
    picker = window.engine_panel.choices.checkpoint
    titles = [picker.itemText(i) for i in range(picker.count())]
    assert "my_faces" in titles and "notes" not in titles and "Add checkpoint folder…" in titles
    picker.setCurrentIndex(titles.index("my_faces"))
    picker.activated.emit(titles.index("my_faces"))
    assert window.document.engine.checkpoint == str(official)


def test_history_panel_jumps_back_and_forth(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    doc, history_list = window.document, window.history_panel.list
    for label_id in (17, 18):
        edits.fill_rectangle(doc, CELEBAMASK_HQ, (0, 0), (3, 3), label_id)
    assert [history_list.item(i).text() for i in range(3)] == [
        "Opened document",
        "Rectangle fill neck",
        "Rectangle fill cloth",
    ]
    history_list.itemClicked.emit(history_list.item(0))
    assert doc.label[0, 0] == 0 and doc.history.index == 0
    history_list.itemClicked.emit(history_list.item(2))
    assert doc.label[0, 0] == 18


def test_new_document_dialog_guesses_the_label_set(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    photo, label = tmp_path / "photo.png", tmp_path / "label.png"
    Image.fromarray(face_document(128, 96).photo).save(photo)
    Image.fromarray(face_document().label).save(label)  # half size: resampled to the label's size
    dialog = NewDocumentDialog(label_sets(), window)
    qtbot.addWidget(dialog)
    dialog.set_paths(photo, label)
    assert dialog.label_set.currentData() == "celebamask-hq"
    assert "CelebAMask-HQ" in dialog.guess.text()
    doc = dialog.create_document()
    assert doc is not None and doc.size == (64, 48) and doc.photo.shape == (48, 64, 3)
    dialog.set_paths(None, tmp_path / "nothing.png")
    assert dialog.create_document() is None and "nothing.png" in dialog.error.text()


def test_save_open_export_and_recent_files(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    doc = window.document
    edits.fill_rectangle(doc, CELEBAMASK_HQ, (0, 0), (3, 3), 17)
    assert window.windowTitle().startswith("Untitled*")
    project = tmp_path / "saved.rpaint"
    assert window.files.save_to(project)
    assert window.windowTitle().startswith("saved.rpaint —") and not window.state.dirty
    assert np.array_equal(open_project(project).label, doc.label)
    assert window.files.export_labels(colour=False, path=tmp_path / "ids.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "ids.png")), doc.label)
    assert window.files.export_labels(colour=True, path=tmp_path / "colours.png")
    assert np.asarray(Image.open(tmp_path / "colours.png"))[0, 0].tolist() == [255, 153, 51]
    assert not window.files.export_result(tmp_path / "result.png"), "nothing rendered yet"
    doc.set_render(np.zeros((8, 8, 3), np.uint8), 0.1)
    assert window.files.export_result(tmp_path / "result.jpg")
    assert window.settings.recent_files() == [project.resolve()]
    assert not window.open_project(tmp_path / "missing.rpaint")
    assert "missing.rpaint" in window.notice.message and window.document is doc


def test_window_state_and_settings_are_remembered(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    window.tools.set_brush_size(57)
    window.canvas.set_view_mode("result")
    window.close()
    settings = EditorSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    assert settings.value("tools/brush_size", 0, int) == 57
    again = make_window(qtbot, tmp_path, face_document())
    assert again.tools.brush.size == 57 and again.canvas.view_mode == "result"
    assert again.tool_bar.brush_size.value() == 57


def test_shortcuts_dialog_lists_every_bound_shortcut(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == len(SHORTCUTS) + len(CANVAS_CLICKS)
    for shortcut in SHORTCUTS:
        if shortcut.bound and shortcut.action not in ("zoom_in", "zoom_out"):
            assert window.actions[shortcut.action].shortcut().toString() == shortcut.keys, shortcut.action
    for key, tool in (
        ("B", "brush"),
        ("F", "fill"),
        ("P", "polygon"),
        ("R", "rectangle"),
        ("I", "eyedropper"),
        ("L", "relabel"),
    ):
        assert window.actions[f"tool_{tool}"].shortcut().toString() == key


def test_f1_lists_every_canvas_click_binding_and_the_canvas_has_no_other(qtbot, tmp_path):
    """Issue 28, bug 8: F1 omitted Alt-click (pick the label) and Ctrl / Ctrl+Shift-click (select regions).
    Every modifier combination is clicked on the canvas: what it does must be what the table says, and each
    entry of the table is in the F1 list, so a binding added to the canvas alone fails here."""
    from itertools import combinations

    from PySide6.QtWidgets import QApplication

    from tests.test_editor_first_use import click_with

    window = make_window(qtbot, tmp_path, face_document())
    window.render_controller.auto_render = False  # clicks only: no renders needed
    doc, panel, canvas = window.document, window.regions_panel, window.canvas
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    rows = {
        dialog.table.item(row, 0).text(): dialog.table.item(row, 1).text() for row in range(dialog.table.rowCount())
    }
    assert {"Alt+click", "Ctrl+click", "Ctrl+Shift+click"} <= set(rows)

    from regionpaint.app.model.shortcuts import canvas_click

    for binding in CANVAS_CLICKS:
        assert rows.get(binding.keys) == binding.description, f"{binding.keys} is not in the F1 list"

    hair_x, hair_y = 32.5, 2.5  # face_document: hair on top, skin in the middle
    hair = int(doc.label[2, 32])
    skin = int(doc.label[24, 32])
    names = {"Alt": Qt.KeyboardModifier.AltModifier, "Ctrl": Qt.KeyboardModifier.ControlModifier}
    names["Shift"] = Qt.KeyboardModifier.ShiftModifier
    window.tools.set_tool("brush")
    for count in range(4):
        for held in combinations(names, count):
            window.state.set_current_label(0)
            panel.select_regions([skin])
            before = doc.label.copy()
            modifiers = Qt.KeyboardModifier.NoModifier
            for name in held:
                modifiers |= names[name]
            click_with(canvas, hair_x, hair_y, modifiers)
            QApplication.processEvents()
            binding = canvas_click(held)
            painted = not np.array_equal(doc.label, before)
            effect = (
                "tool" if painted
                else "pick_label" if window.state.current_label == hair
                else "add_to_selection" if sorted(panel.selected_regions()) == sorted([skin, hair])
                else "select_region" if panel.selected_regions() == [hair]
                else "nothing"
            )  # fmt: skip
            assert effect == (binding.action if binding else "tool"), f"{'+'.join(held) or 'plain'} click: {effect}"
            if painted:
                window.state.undo()
                assert np.array_equal(doc.label, before)
