"""Issue 17: the editor as a new user meets it (zoom before a click, style panel state, sizes, demos...)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from regionpaint.app.bundled_demo import DEMO_DIR
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


# -- bug 4: the style panel shows the state, one action assigns ----------------------------------
HAIR, SKIN = 13, 1


def styled_face():
    from regionpaint.app.model import edits
    from regionpaint.app.model.labelsets import CELEBAMASK_HQ
    from tests.qt_support import style_source

    doc = face_document()
    edits.add_style_source(doc, "A", style_source(1))
    edits.add_style_source(doc, "B", style_source(2))
    edits.assign_style(doc, CELEBAMASK_HQ, (("A", 1.0),))
    doc.history.clear()
    return doc


def test_choosing_a_source_assigns_it_and_the_controls_keep_showing_the_mix(qtbot, tmp_path):
    doc = styled_face()
    window = quiet_window(qtbot, tmp_path, doc)
    panel = window.regions_panel
    mix = panel.region_mix
    panel.select_regions([HAIR])
    assert (mix.source_a.currentText(), mix.source_b.currentText()) == ("A", "—")
    mix.source_a.setCurrentText("B")  # one action: the hair is B now
    assert doc.style_of_region(HAIR) == (("B", 1.0),)
    assert doc.style_of_region(SKIN) == (("A", 1.0),)
    assert doc.history.entries == ["hair: A → B"]
    assert mix.source_a.currentText() == "B", "the control does not snap back after the refresh"
    assert mix.source_b.currentText() == "—" and not mix.slider.isEnabled(), "no 'B 0 % B'"
    mix.source_b.setCurrentText("A")  # blend A in: starts half way
    assert doc.style_of_region(HAIR) == (("B", 0.5), ("A", 0.5))
    mix.slider.setValue(25)
    assert [w for _, w in doc.style_of_region(HAIR)] == pytest.approx([0.75, 0.25])
    assert mix.value_label.text() == "25%"
    panel.select_regions([SKIN])
    assert (mix.source_a.currentText(), mix.source_b.currentText()) == ("A", "—"), "shows skin's mix"
    panel.select_regions([SKIN, HAIR])
    assert mix.source_a.currentText() == "(various)", "two different mixes are not shown as one"
    window.state.undo()
    window.state.undo()
    panel.select_regions([HAIR])
    assert mix.source_a.currentText() == "B" and doc.style_of_region(HAIR) == (("B", 1.0),)


def test_style_controls_an_engine_lacks_are_hidden_with_the_reason(qtbot, tmp_path):
    from regionpaint.app.model import edits

    doc = styled_face()
    window = quiet_window(qtbot, tmp_path, doc)
    panel = window.regions_panel
    assert panel.selected_box.isVisible() and not panel.engine_note.isVisible()
    edits.set_engine_settings(doc, engine_id="spade")  # region styles: no; a global z: yes
    assert not panel.selected_box.isVisible() and panel.master_box.isVisible()
    assert panel.engine_note.isVisible() and "one style for the whole image" in panel.engine_note.text()
    assert not panel.master_mix.slider.isVisible(), "no interpolation without the capability"
    edits.set_engine_settings(doc, engine_id="pix2pixhd")
    assert not panel.master_box.isVisible() and "takes no style photos" in panel.engine_note.text()
    edits.set_engine_settings(doc, engine_id="sean")
    assert panel.selected_box.isVisible() and panel.random_button.isVisible()


# -- history entries say what changed ------------------------------------------------------------
def test_history_rows_name_the_change_and_fold_repeated_strokes(qtbot, tmp_path):
    from regionpaint.app.model import edits
    from regionpaint.app.model.labelsets import CELEBAMASK_HQ

    doc = styled_face()
    window = quiet_window(qtbot, tmp_path, doc)
    rows = window.history_panel.list
    for x in range(12):
        edits.paint_stroke(doc, CELEBAMASK_HQ, [(2 + 4 * x, 40)], HAIR, 1.0)
    edits.set_engine_settings(doc, seed=3)
    texts = [rows.item(i).text() for i in range(rows.count())]
    assert texts == ["Opened document", "Brush hair ×12", "Seed 0 → 3"]
    window.state.undo()
    window.state.undo()  # one stroke at a time; the run splits where the current step is
    texts = [rows.item(i).text() for i in range(rows.count())]
    assert texts == ["Opened document", "Brush hair ×11", "Brush hair", "Seed 0 → 3"]
    assert rows.currentRow() == 1
    rows.itemClicked.emit(rows.item(3))
    assert doc.engine.seed == 3 and doc.history.index == 13


# -- bug 9: the real output size, and typing a size renders once -----------------------------------
def test_size_boxes_show_the_rendered_size_and_typing_edits_once(qtbot, tmp_path):
    import numpy as np
    from PySide6.QtTest import QTest

    from regionpaint.app.qt.panels.engine import SIZE_DEBOUNCE_MS

    doc = face_document()
    window = quiet_window(qtbot, tmp_path, doc)
    size = window.engine_panel.render_settings
    assert size.width_box.text() == "auto" and not size.width_box.isEnabled(), "nothing rendered yet"
    doc.set_render(np.zeros((128, 256, 3), np.uint8), 0.1)  # what a Cityscapes checkpoint renders
    assert (size.width_box.value(), size.height_box.value()) == (256, 128)
    assert not size.width_box.isEnabled() and "256×128" in size.custom_size.toolTip()
    size.custom_size.setChecked(True)
    assert doc.engine.output_size == (256, 128), "custom starts from the real size"
    doc.history.clear()
    box = size.width_box
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, "1024")
    QTest.keyClick(box, Qt.Key.Key_Up)
    assert doc.history.entries == [], "nothing is applied while typing"
    qtbot.waitUntil(lambda: doc.engine.output_size == (1032, 128), timeout=5 * SIZE_DEBOUNCE_MS)
    assert doc.history.entries == ["Size 256×128 → 1032×128"], "one edit for the whole typing"


# -- bug 10: the demo models are in the checkpoint list of a new document ---------------------------
def test_a_new_document_lists_the_bundled_demo_models(qtbot, tmp_path):
    from regionpaint.app.bundled_demo import DEMO_MODELS_DIR

    models = sorted(DEMO_MODELS_DIR.glob("*.safetensors"))
    if not models:
        pytest.skip("the demo models are not built")
    window = quiet_window(qtbot, tmp_path, face_document())
    picker = window.engine_panel.choices.checkpoint
    texts = [picker.itemText(i) for i in range(picker.count())]
    assert "Demo models" in texts
    header = texts.index("Demo models")
    assert not picker.model().item(header).isEnabled(), "the heading is not a choice"
    listed = [picker.itemData(i) for i in range(header + 1, picker.count())]
    assert [str(path) for path in models] == [p for p in listed if p and p.endswith(".safetensors")]
    picker.setCurrentIndex(header + 1)
    picker.activated.emit(header + 1)
    assert window.document.engine.checkpoint == str(models[0])


# -- bug 6: a label map of another aspect ratio does not squash the photo ---------------------------
def test_new_document_refuses_to_squash_and_offers_crop_or_pad(qtbot, tmp_path):
    import numpy as np
    from PIL import Image

    from regionpaint.app.qt.dialogs.new_document import NewDocumentDialog
    from regionpaint.app.qt.file_actions import label_sets

    label = np.full((64, 64), 7, np.uint8)  # 1:1 Cityscapes map (road)
    label[:20] = 23
    Image.fromarray(label).save(tmp_path / "map.png")
    photo = np.zeros((100, 200, 3), np.uint8)  # 2:1 photo, a bright square in the middle
    photo[25:75, 75:125] = 255
    Image.fromarray(photo).save(tmp_path / "photo.png")
    dialog = NewDocumentDialog(label_sets())
    qtbot.addWidget(dialog)
    dialog.set_paths(tmp_path / "photo.png", tmp_path / "map.png")
    assert dialog.resize_check.isChecked() and dialog.aspect.currentData() == "refuse"
    assert "another aspect ratio" in dialog.sizes.text()
    assert dialog.create_document() is None
    assert "aspect ratio" in dialog.error.text() and "photo.png" in dialog.error.text()
    dialog.aspect.setCurrentIndex(dialog.aspect.findData("crop"))
    assert dialog.error.text() == "", "the old error goes once the input changed"
    doc = dialog.create_document()
    assert doc is not None and doc.photo.shape == (64, 64, 3)
    # Cropped, not squashed: the centre square stays square (its width equals its height).
    bright = doc.photo[..., 0] > 128
    rows, cols = np.flatnonzero(bright.any(axis=1)), np.flatnonzero(bright.any(axis=0))
    assert abs(len(rows) - len(cols)) <= 1 and len(rows) == pytest.approx(32, abs=2)
    dialog.aspect.setCurrentIndex(dialog.aspect.findData("pad"))
    doc = dialog.create_document()
    bright = doc.photo[..., 0] > 128
    rows, cols = np.flatnonzero(bright.any(axis=1)), np.flatnonzero(bright.any(axis=0))
    assert abs(len(rows) - len(cols)) <= 1 and len(rows) == pytest.approx(16, abs=2)


# -- bug 3: "Open in editor" on a run of another engine / label set -----------------------------------
def fake_run(folder, engine: str, label_nc: int):
    import json

    folder.mkdir()
    (folder / "opt.txt").write_text(f"----\n                 label_nc: {label_nc}                   \n----\n")
    (folder / "train_options.json").write_text(json.dumps({"engine": engine, "label_nc": label_nc}))
    return folder


def test_open_in_editor_switches_engine_and_checkpoint_together(qtbot, tmp_path):
    from regionpaint.app.model import edits

    doc = styled_face()
    edits.set_engine_settings(doc, engine_id="sean", checkpoint="/somewhere/sean_faces")
    doc.history.clear()
    window = quiet_window(qtbot, tmp_path, doc)
    run = fake_run(tmp_path / "spade_faces", "spade", 19)  # CelebAMask-HQ classes, another engine
    window.jobs_panel.open_in_editor.emit(str(run))
    assert (doc.engine.engine_id, doc.engine.checkpoint) == ("spade", str(run)), "not SEAN with a SPADE checkpoint"
    assert len(doc.history.entries) == 1, "one undo step"
    window.state.undo()
    assert (doc.engine.engine_id, doc.engine.checkpoint) == ("sean", "/somewhere/sean_faces")


def test_open_in_editor_of_another_label_set_asks_and_opens_a_new_document(qtbot, tmp_path, monkeypatch):
    import numpy as np
    from PIL import Image

    from regionpaint.app.model import edits
    from regionpaint.app.qt.dialogs.new_document import NewDocumentDialog

    doc = styled_face()
    edits.set_engine_settings(doc, engine_id="sean", checkpoint="/somewhere/sean_faces")
    window = quiet_window(qtbot, tmp_path, doc)
    run = fake_run(tmp_path / "spade_cityscapes", "spade", 35)
    street = np.full((32, 64), 7, np.uint8)
    Image.fromarray(street).save(tmp_path / "street.png")
    offered = []

    def fill_and_accept(dialog):
        offered.append(dialog.label_set.currentData())
        dialog.set_paths(None, tmp_path / "street.png")
        return dialog.create_document() is not None

    monkeypatch.setattr(NewDocumentDialog, "exec", fill_and_accept)
    window.ask_new_document_for_run = lambda *_: False
    window.jobs_panel.open_in_editor.emit(str(run))
    assert window.document is doc and doc.engine.engine_id == "sean", "declined: the open document is untouched"
    window.ask_new_document_for_run = lambda parent, path, run_set, doc_set: (
        (run_set, doc_set)
        == (
            "cityscapes",
            "celebamask-hq",
        )
    )
    window.jobs_panel.open_in_editor.emit(str(run))
    new = window.document
    assert new is not doc and offered == ["cityscapes"]
    assert (new.label_set_id, new.engine.engine_id, new.engine.checkpoint) == ("cityscapes", "spade", str(run))
    assert new.history.entries == [], "the run's engine is part of the new document"
    assert doc.engine.engine_id == "sean", "the old document was not changed"


# -- bug 8: the jobs panel has room, and a stopped job leaves no defunct process -----------------------
def process_state(pid: int) -> str | None:
    """The kernel's state letter of ``pid`` ("Z" for a zombie), None when it is gone."""
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_a_job_that_stopped_is_reaped(qtbot, tmp_path):
    import os
    import sys

    if not os.path.isdir("/proc/self"):
        pytest.skip("needs /proc")
    from regionpaint.app.qt.panels.jobs import POLL_MS, JobsPanel
    from regionpaint.app.training.jobs import TrainingJob

    # A stand-in trainer: reports "stopped" (as after Stop) and exits a moment later, as the real one does.
    trainer = tmp_path / "trainer.py"
    trainer.write_text(
        "import json, sys, time\n"
        "print(json.dumps({'event': 'start', 'engine': 'spade', 'total_steps': 5}), flush=True)\n"
        "print(json.dumps({'event': 'stopped', 'step': 1}), flush=True)\n"
        "time.sleep(0.5)\n"
    )
    launcher = tmp_path / "python"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{trainer}"\n')
    launcher.chmod(0o755)
    panel = JobsPanel(python=str(launcher))
    qtbot.addWidget(panel)
    job = TrainingJob(["train", "--engine", "spade"], tmp_path / "run", python=str(launcher)).start()
    panel.add_job(job)
    qtbot.waitUntil(lambda: job.state.finished, timeout=10_000)
    pid = job.pid
    qtbot.wait(1000 + 4 * POLL_MS)  # the process has exited by now
    assert process_state(pid) in (None,), f"the stopped job is left as a defunct process ({process_state(pid)})"
    assert job.returncode == 0


def test_jobs_have_their_own_dock_with_room(qtbot, tmp_path):
    from PySide6.QtWidgets import QDockWidget

    window = quiet_window(qtbot, tmp_path, face_document())
    dock = window.jobs_panel.parentWidget()
    while dock is not None and not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    assert dock is not None and dock.windowTitle() == "Training jobs", "not squeezed into the engine tabs"
    assert window.side_tabs.indexOf(window.jobs_panel) < 0
    assert window.jobs_panel.minimumWidth() >= 360
    scroll = window.jobs_panel.scroll
    assert scroll.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    window.findChild(QDockWidget, "dock_training_jobs")
    window.show_jobs()
    assert dock.isVisible()


# -- regions table ↔ canvas; Alt-click picks with any tool ---------------------------------------------
def click_with(canvas, x: float, y: float, modifiers) -> None:
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent

    from tests.qt_support import view_pos

    pos = QPointF(view_pos(canvas, x, y))
    for kind, held in (
        (QEvent.Type.MouseButtonPress, Qt.MouseButton.LeftButton),
        (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton),
    ):
        event = QMouseEvent(kind, pos, canvas.viewport().mapToGlobal(pos), Qt.MouseButton.LeftButton, held, modifiers)
        QApplication.sendEvent(canvas.viewport(), event)


def test_table_selection_highlights_the_region_and_ctrl_click_selects_it(qtbot, tmp_path):
    doc = styled_face()
    window = quiet_window(qtbot, tmp_path, doc)
    canvas, panel = window.canvas, window.regions_panel
    panel.select_regions([HAIR])
    assert canvas.highlight.active and canvas.highlight.items[0].isVisible()
    image = canvas.highlight.items[0].pixmap().toImage()
    hair_y, hair_x = 2, 32  # face_document: hair on top, in the middle
    assert doc.label[hair_y, hair_x] == HAIR and doc.label[24, 2] == 0
    assert image.pixelColor(hair_x, hair_y + 3).alpha() == 0, "the selected region is shown as it is"
    assert image.pixelColor(2, 24).alpha() > 0, "the others are dimmed"
    before = doc.label.copy()
    click_with(canvas, 32.5, 24.5, Qt.KeyboardModifier.ControlModifier)  # skin, in the middle
    assert panel.selected_regions() == [SKIN], "Ctrl-click selects the region under the cursor"
    assert (doc.label == before).all() and doc.history.entries == [], "and does not paint"
    click_with(canvas, 32.5, 2.5, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert panel.selected_regions() == [SKIN, HAIR], "Ctrl+Shift-click adds"
    panel.select_regions([])
    assert not canvas.highlight.active and not canvas.highlight.items[0].isVisible()


def test_alt_click_picks_the_label_with_any_tool(qtbot, tmp_path):
    doc = styled_face()
    window = quiet_window(qtbot, tmp_path, doc)
    window.tools.set_tool("rectangle")
    window.state.set_current_label(SKIN)
    before = doc.label.copy()
    click_with(window.canvas, 32.5, 2.5, Qt.KeyboardModifier.AltModifier)
    assert window.state.current_label == HAIR
    assert window.tools.active.id == "rectangle" and (doc.label == before).all()


# -- drag a style thumbnail onto a region -----------------------------------------------------------
def drop_on(widget, pos, mime) -> bool:
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    enter = QDragEnterEvent(
        pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(
        QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, drop)
    return drop.isAccepted()


def test_dragging_a_style_thumbnail_onto_a_region_assigns_it(qtbot, tmp_path):
    from tests.qt_support import view_pos

    doc = styled_face()
    window = quiet_window(qtbot, tmp_path, doc)
    gallery = window.styles_panel.gallery.list
    item_b = gallery.item(1)
    mime = gallery.mimeData([item_b])  # what a drag of B's thumbnail carries
    assert drop_on(window.canvas.viewport(), view_pos(window.canvas, 32.5, 2.5), mime)
    assert doc.style_of_region(HAIR) == (("B", 1.0),) and doc.history.entries == ["hair: A → B"]
    table = window.regions_panel.table
    skin_row = next(r for r in range(table.rowCount()) if table.item(r, 0).data(Qt.ItemDataRole.UserRole) == SKIN)
    pos = table.visualItemRect(table.item(skin_row, 0)).center()
    assert drop_on(table.viewport(), pos, gallery.mimeData([gallery.item(1)]))  # the gallery was rebuilt
    assert doc.style_of_region(SKIN) == (("B", 1.0),)
    assert doc.history.entries == ["hair: A → B", "skin: A → B"]


# -- quick-pick keys keep a stable order -------------------------------------------------------------
def test_quick_slots_keep_their_keys_and_pinned_slots_stay(qtbot, tmp_path):
    window = quiet_window(qtbot, tmp_path, face_document())
    quick, state = window.palette_panel.quick, window.state
    start = list(quick.slots)
    assert start == [0, SKIN, HAIR], "largest first"
    state.set_current_label(HAIR)
    state.set_current_label(0)
    assert quick.slots == start, "using a label in a slot does not re-sort the slots"
    for class_id in (2, 3, 4, 5, 6, 7, 8):  # fill the ten slots
        state.set_current_label(class_id)
    assert quick.slots == [*start, 2, 3, 4, 5, 6, 7, 8]
    quick.toggle_pin(1)  # pin skin (used longest ago)
    state.set_current_label(9)
    assert quick.slots[1] == SKIN, "a pinned slot is not replaced"
    assert quick.slots[2] == 9 and quick.slots[0] == 0, "the new label takes the slot used longest ago, in place"
    assert quick.buttons[1].text() == "2•"


# -- 100 % zoom and the navigator ---------------------------------------------------------------------
def test_z_zooms_to_actual_pixels_and_the_navigator_moves_the_view(qtbot, tmp_path):
    from PySide6.QtTest import QTest

    window = quiet_window(qtbot, tmp_path, face_document(1600, 1200))
    canvas, navigator = window.canvas, window.navigator
    qtbot.wait(50)
    assert canvas.zoom < 1 and not navigator.isVisible(), "the whole image is in view: no overview"
    QTest.keyClick(canvas, Qt.Key.Key_Z)
    qtbot.wait(50)
    assert canvas.zoom == pytest.approx(1.0)
    assert navigator.isVisible(), "zoomed in: the overview shows"
    part = navigator.visible_fraction()
    assert part.width() < 1 and part.height() < 1
    QTest.mouseClick(navigator, Qt.MouseButton.LeftButton, pos=QPoint(2, 2))  # the top-left corner
    assert navigator.visible_fraction().x() == pytest.approx(0, abs=0.01)
    assert navigator.visible_fraction().y() == pytest.approx(0, abs=0.01)
    QTest.mouseClick(navigator, Qt.MouseButton.LeftButton, pos=QPoint(navigator.width() - 2, navigator.height() - 2))
    right = navigator.visible_fraction()
    assert right.right() == pytest.approx(1, abs=0.01) and right.bottom() == pytest.approx(1, abs=0.01)
    window.actions["fit"].trigger()
    qtbot.wait(50)
    assert not navigator.isVisible()


# -- the start screen ---------------------------------------------------------------------------------
def test_the_start_screen_opens_a_demo_a_recent_file_or_a_new_document(qtbot, tmp_path, monkeypatch):
    from regionpaint.app.bundled_demo import bundled_demos
    from regionpaint.app.model import save_project

    demos = bundled_demos()
    if not demos:
        pytest.skip("the demos are not built")
    window = quiet_window(qtbot, tmp_path)
    start = window.start_screen
    assert window.central_pages.currentWidget() is start, "no empty 'No document' canvas"
    assert [b.text() for b in start.demo_buttons] == [title for title, _ in demos]
    assert not start.demo_buttons[0].icon().isNull(), "each demo shows its photo"
    assert start.recent_empty.isVisible() and not start.recent.isVisible()
    start.demo_buttons[1].click()  # the street scene
    assert window.document is not None and window.document.label_set_id == "cityscapes"
    assert window.central_pages.currentWidget() is window.canvas
    mine = tmp_path / "mine.rpaint"
    save_project(face_document(), mine)
    window.settings.add_recent_file(mine)
    window.state.set_document(None, None)  # the document is closed
    assert window.central_pages.currentWidget() is start
    assert start.recent.isVisible() and start.recent.item(0).toolTip() == str(mine.resolve())
    start.recent.itemClicked.emit(start.recent.item(0))
    assert window.state.project_path == mine.resolve()
    window.state.set_document(None, None)
    from regionpaint.app.qt.dialogs.new_document import NewDocumentDialog

    asked = []
    monkeypatch.setattr(NewDocumentDialog, "exec", lambda dialog: asked.append(dialog.windowTitle()) or 0)
    start.new_button.click()
    assert asked == ["New document"], "New from a photo opens the New dialog"


# -- the before/after wipe ------------------------------------------------------------------------------
def test_the_wipe_shows_photo_left_and_result_right_of_a_draggable_divider(qtbot, tmp_path):
    import numpy as np

    from tests.qt_support import drag

    doc = face_document(200, 100)
    doc.photo[:] = (0, 0, 255)  # blue photo
    window = quiet_window(qtbot, tmp_path, doc)
    doc.set_render(np.full((100, 200, 3), (255, 0, 0), np.uint8), 0.1)  # red result
    canvas = window.canvas
    window.actions["view_wipe"].trigger()
    assert canvas.view_mode == "wipe" and window.tool_bar.actions()  # a tool-bar button like the others
    qtbot.wait(50)

    def colour_at(x: float, y: float):
        frame = canvas.viewport().grab().toImage()
        pos = canvas.mapFromScene(QPointF(x, y))
        return frame.pixelColor(pos).getRgb()[:3]

    assert colour_at(40, 50)[2] > 200 and colour_at(40, 50)[0] < 60, "left of the divider: the photo"
    assert colour_at(160, 50)[0] > 200 and colour_at(160, 50)[2] < 60, "right of it: the result"
    label_before = doc.label.copy()
    drag(canvas, [(100.2, 50), (30, 50)])  # grab the divider in the middle, drag it left
    assert canvas.wipe.fraction == pytest.approx(0.15, abs=0.02)
    assert (doc.label == label_before).all() and doc.history.entries == [], "dragging the divider does not paint"
    assert colour_at(40, 50)[0] > 200, "now the result shows there"


# -- Help -------------------------------------------------------------------------------------------------
def test_about_names_the_version_and_the_loaded_plugins(qtbot, tmp_path):
    from regionpaint import __version__
    from regionpaint.plugins.manager import get_plugin_manager

    window = quiet_window(qtbot, tmp_path)
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    titles = [action.text() for action in help_menu.actions()]
    assert "Keyboard shortcuts" in titles and "This list" not in titles
    next(a for a in help_menu.actions() if "About" in a.text()).trigger()
    text = window.about_dialog.text.text()
    assert f"regionpaint {__version__}" in text
    for name, info in get_plugin_manager().plugins.items():
        assert name in text
        for engine_id in info.engines:
            assert engine_id in text


def test_model_titles_for_weights_crossover_and_engine_settings():
    from regionpaint.app.model import edits
    from regionpaint.app.model.labelsets import CELEBAMASK_HQ

    doc = styled_face()
    edits.set_style_weight(doc, CELEBAMASK_HQ, HAIR, "B", 0.25)
    edits.set_crossover(doc, "up_2", "B")
    edits.set_engine_settings(doc, checkpoint="/models/sean_faces.safetensors")
    edits.set_engine_settings(doc, output_size=(512, 256))
    edits.set_engine_settings(doc, seed=4, noise=False)
    assert doc.history.entries == [
        "hair: A → 75% A + 25% B",
        "Crossover up_2: — → B",
        "Checkpoint sean_faces.safetensors",
        "Size checkpoint's size → 512×256",
        "Engine settings",  # two changes at once
    ]
