"""Issue 28 in the editor: crossover stages named for what they change, the advanced settings folded (and
remembered), a new document that starts with a model, the result pane saying what is missing, Save as and
Export beside the document, and a status line in plain words."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from regionpaint.app.bundled_demo import DEMO_MODELS_DIR
from regionpaint.app.model import edits
from regionpaint.app.model.project import save_project
from regionpaint.app.qt import file_actions
from regionpaint.app.qt.main_window import NO_MODEL_PLACEHOLDER
from regionpaint.app.render import status_words
from tests.qt_support import face_demo_document, face_document, make_window, no_leaked_threads  # noqa: F401
from tests.test_qt_render import wait_for_render as wait_for_exact_render


def wait_for_render(qtbot, window) -> None:
    """The exact render, then whatever follows it (the timed fast trial after opening), so closing the
    window at the end of the test does not abandon a render on a loaded machine."""
    wait_for_exact_render(qtbot, window)
    controller = window.render_controller
    qtbot.waitUntil(lambda: not controller.busy and not controller.scheduled, timeout=120_000)


def test_crossover_stages_show_plain_names_and_keep_the_block_name_in_the_tooltip(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_demo_document())
    wait_for_render(qtbot, window)  # the capabilities (crossover) are known once the checkpoint loaded
    strip = window.styles_panel.crossover
    qtbot.waitUntil(lambda: bool(strip.combos))
    titles = {label.objectName(): label for label in strip.findChildren(type(window.render_label))}
    assert titles["crossoverTitle_head_0"].text() == "Coarse shape"
    assert titles["crossoverTitle_up_3"].text() == "Fine texture"
    assert "head_0" in titles["crossoverTitle_head_0"].toolTip()
    assert not any("_" in label.text() for label in titles.values())


def test_advanced_settings_start_folded_and_the_choice_is_remembered(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    section = window.engine_panel.advanced
    device = window.engine_panel.choices.device
    assert not section.isExpanded()
    qtbot.wait(50)
    assert device.visibleRegion().isEmpty()  # folded away, still there
    section.expand(animate=False)
    qtbot.waitUntil(lambda: not device.visibleRegion().isEmpty())
    window.close()
    again = make_window(qtbot, tmp_path, face_document())  # the same settings file
    assert again.engine_panel.advanced.isExpanded()
    assert not again.styles_panel.engine_options_section.isExpanded()  # each section has its own memory


def test_a_new_document_starts_with_the_best_model_and_renders(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, None)
    doc = face_demo_document()  # a photo (its own style source) and a face label map
    edits.set_engine_settings(doc, checkpoint="")
    doc.history.clear()
    window.files.start_with_best_model(doc)
    assert Path(doc.engine.checkpoint) == DEMO_MODELS_DIR / "sean_faces.safetensors"
    assert not doc.history.can_undo  # part of the new document, not an edit
    window.set_document(doc, None)
    wait_for_render(qtbot, window)
    assert doc.last_render is not None


def test_asked_for_engine_settings_win_over_the_best_model(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, None)
    doc = face_document()
    window.files.start_with_best_model(doc, {"checkpoint": "/runs/mine.safetensors"})
    assert doc.engine.checkpoint == "/runs/mine.safetensors"


def test_the_result_pane_says_what_is_missing(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())  # no checkpoint
    assert window.canvas.result_item._text.text() == NO_MODEL_PLACEHOLDER
    assert "Models" in NO_MODEL_PLACEHOLDER and "Engine" in NO_MODEL_PLACEHOLDER


def test_save_as_and_export_open_beside_the_document(qtbot, tmp_path, monkeypatch):
    folder = tmp_path / "projects"
    folder.mkdir()
    project = folder / "my face.rpaint"
    doc = face_demo_document()
    save_project(doc, project)
    window = make_window(qtbot, tmp_path, None)
    assert window.files.open_project(project, ask=False)
    asked = []

    def ask(_parent, _title, start, _filters):
        asked.append(start)
        return "", ""  # the person cancels

    monkeypatch.setattr(file_actions.QFileDialog, "getSaveFileName", ask)
    window.files.save_as()
    assert Path(asked[-1]) == project
    wait_for_render(qtbot, window)
    window.files.export_result()
    assert Path(asked[-1]) == folder / "my face_result.png"
    window.files.export_labels(colour=True)
    assert Path(asked[-1]) == folder / "my face_labels_colour.png"


def test_the_status_line_says_loading_then_what_it_renders(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, None)
    said = []
    window.render_controller.renderStarted.connect(lambda _job: said.append(window.render_label.text()))
    window.set_document(face_demo_document(), None)
    wait_for_render(qtbot, window)
    assert said and set(said) <= {status_words.LOADING, status_words.RENDERING, status_words.PREVIEWING}
    assert window.render_label.text().startswith("SEAN · final in ")
    assert "SEAN on cpu" in window.render_label.toolTip()
    # A render with the model already loaded does not say it loads it again.
    said.clear()
    window.render_controller.render_now()
    wait_for_render(qtbot, window)
    assert said and status_words.LOADING not in said


def test_the_last_rendered_model_is_remembered_per_label_set(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_demo_document())
    wait_for_render(qtbot, window)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert settings.value("engine/last_checkpoint/celebamask-hq") == window.document.engine.checkpoint
