"""Issue 23 item 11 and issue 22 item 3: a save never silently loses work on disk.

- Two editors on one file: the second save notices that the file changed on disk since it was opened and
  asks (Save anyway / Save as… / Cancel) instead of overwriting the other editor's strokes.
- A save that would write less than the file it replaces (members such as the baseline missing) says so and
  asks first.
"""

from __future__ import annotations

import zipfile

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from regionpaint.app.model import edits
from regionpaint.app.model.project import open_project
from tests.qt_support import make_window, no_leaked_threads  # noqa: F401
from tests.recovery_support import label_crc, save_photo_project


def paint(window, label: int, row: int) -> None:
    doc = window.document
    window.state.label_edit(edits.fill_rectangle, (0, row), (doc.width // 2, row + 8), label)


def answering(answer: str, asked: list):
    def ask(parent, path, reasons):
        asked.append((path, list(reasons)))
        return answer

    return ask


def test_two_editors_on_one_file_the_second_save_asks_before_overwriting(qtbot, tmp_path, monkeypatch):
    project = tmp_path / "street.rpaint"
    save_photo_project(project)
    first = make_window(qtbot, tmp_path / "a", autosave=False)
    second = make_window(qtbot, tmp_path / "b", autosave=False)
    assert first.open_project(project) and second.open_project(project)
    paint(first, 26, 10)
    paint(second, 24, 40)
    asked: list = []
    first.ask_save_over = second.ask_save_over = answering("cancel", asked)
    assert first.files.save() and asked == [], "the first save finds the file as it was opened"
    first_strokes = project.read_bytes()

    assert not second.files.save(), "Cancel: nothing written"
    assert len(asked) == 1 and asked[0][0] == project and "changed on disk" in asked[0][1][0]
    assert project.read_bytes() == first_strokes and second.state.dirty

    other = tmp_path / "mine.rpaint"
    monkeypatch.setattr("regionpaint.app.qt.file_actions.QFileDialog.getSaveFileName", lambda *a, **k: (str(other), ""))
    second.ask_save_over = answering("save_as", asked)
    assert second.files.save(), "Save as…: the work goes to another file"
    assert project.read_bytes() == first_strokes, "the other editor's strokes are still in the file"
    assert label_crc(open_project(other)) == label_crc(second.document)
    assert second.state.project_path == other

    paint(first, 21, 60)
    assert first.files.save() and len(asked) == 2, "its own file did not change since its own save"
    paint(second, 8, 70)
    second.state.project_path = project  # back to the shared file, knowing it changed
    second.files.disk_stamp = None
    assert second.files.save(), "no stamp for this file: nothing to compare, nothing asked"


def test_save_anyway_overwrites_and_then_stops_asking(qtbot, tmp_path):
    project = tmp_path / "street.rpaint"
    save_photo_project(project)
    first = make_window(qtbot, tmp_path / "a", autosave=False)
    second = make_window(qtbot, tmp_path / "b", autosave=False)
    assert first.open_project(project) and second.open_project(project)
    paint(first, 26, 10)
    assert first.files.save()
    asked: list = []
    second.ask_save_over = answering("save", asked)
    paint(second, 24, 40)
    assert second.files.save() and len(asked) == 1
    assert label_crc(open_project(project)) == label_crc(second.document)
    paint(second, 8, 60)
    assert second.files.save() and len(asked) == 1, "the file is its own save now"


def test_a_save_that_would_drop_members_says_so_and_asks(qtbot, tmp_path):
    """What the old recovery produced (a photo document without its baseline) must not silently replace the
    project that has one."""
    project = tmp_path / "street.rpaint"
    save_photo_project(project)
    before = project.read_bytes()
    window = make_window(qtbot, tmp_path, autosave=False)
    assert window.open_project(project)
    window.document.set_baseline(None)
    paint(window, 26, 10)
    asked: list = []
    window.ask_save_over = answering("cancel", asked)
    assert not window.files.save()
    assert project.read_bytes() == before
    ((path, reasons),) = asked
    assert path == project and any("baseline.png" in reason and "baseline_instance.png" in reason for reason in reasons)
    window.ask_save_over = answering("save", asked)
    assert window.files.save()
    assert "baseline.png" not in zipfile.ZipFile(project).namelist(), "Save anyway does what it says"


def test_a_save_with_every_member_asks_nothing(qtbot, tmp_path):
    project = tmp_path / "street.rpaint"
    original = save_photo_project(project)
    window = make_window(qtbot, tmp_path, autosave=False)
    assert window.open_project(project)
    asked: list = []
    window.ask_save_over = answering("cancel", asked)
    paint(window, 26, 10)
    assert window.files.save() and asked == []
    np.testing.assert_array_equal(open_project(project).baseline, original.baseline)


def test_the_save_over_question_offers_save_anyway_save_as_and_cancel(qtbot, tmp_path):
    from regionpaint.app.qt.dialogs.save_prompts import ask_save_over

    answers = []
    for label in ("Save anyway", "Save as…", "Cancel"):

        def click(label=label) -> None:
            box = QApplication.activeModalWidget()
            assert isinstance(box, QMessageBox)
            assert "changed on disk" in box.text()
            assert sorted(button.text() for button in box.buttons()) == ["Cancel", "Save anyway", "Save as…"]
            next(button for button in box.buttons() if button.text() == label).click()

        QTimer.singleShot(0, click)
        answers.append(ask_save_over(None, tmp_path / "street.rpaint", ["It changed on disk since you opened it."]))
    assert answers == ["save", "save_as", "cancel"]
