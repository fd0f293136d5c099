"""The training dialog and jobs panel inside the editor window: a finished job's checkpoint renders the document."""

from __future__ import annotations

from regionpaint.app.qt.panels.jobs import JobsPanel
from tests.qt_support import face_document, make_window, no_leaked_threads  # noqa: F401


def test_window_has_a_jobs_tab_and_a_train_menu(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    assert isinstance(window.jobs_panel, JobsPanel)
    assert window.jobs_dock.widget() is window.jobs_panel
    menus = [action.text() for action in window.menuBar().actions()]
    assert "T&rain" in menus


def test_open_in_editor_sets_the_documents_checkpoint_as_an_undoable_step(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document())
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    window.jobs_panel.open_in_editor.emit(str(run_folder))
    doc = window.state.document
    assert doc.engine.checkpoint == str(run_folder)
    assert window.side_tabs.currentWidget() is window.engine_panel
    window.state.undo()
    assert doc.engine.checkpoint != str(run_folder)


def test_open_in_editor_without_a_document_only_lists_the_checkpoint(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    window.jobs_panel.open_in_editor.emit(str(run_folder))
    assert "open a document" in window.statusBar().currentMessage()
    assert run_folder in [p for p in window.settings.checkpoint_paths()]
