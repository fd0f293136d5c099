"""Issue 23, items 10 and 5: recovery is keyed on the document and the session, never on the pid alone, and a
journal recovery cannot read is set aside (renamed, kept), never a crash on every start.

Each crash is a real editor process (tests/editor_crash_session.py) killed with SIGKILL; recovery happens in a
new editor window, as after a real restart.
"""

from __future__ import annotations

import os
import shutil

import pytest

from regionpaint.app.model.journal import read_records
from regionpaint.app.qt.autosave import AutosaveStore
from regionpaint.app.qt.settings import autosave_dir
from tests.qt_support import face_document, make_window, no_leaked_threads  # noqa: F401
from tests.recovery_support import edit_project_and_kill, framed, journal_record, label_crc, save_photo_project

STROKES = 5


def accept(window) -> list:
    offers = []
    window.ask_recover = lambda parent, what, saved_at: offers.append(what) or True
    return offers


def test_gui_open_of_the_crashed_document_offers_its_recovery(qtbot, tmp_path):
    """``gui --open DOC`` (and File › Open of DOC) offers the unsaved work of DOC instead of the file alone."""
    project = tmp_path / "street.rpaint"
    save_photo_project(project)
    crcs = edit_project_and_kill(tmp_path / "data", project, STROKES)
    window = make_window(qtbot, tmp_path, autosave=True)
    offers = accept(window)
    assert window.open_project(project)  # File › Open, and what gui --open does
    assert len(offers) == 1, "opening the crashed document offers its unsaved work"
    assert label_crc(window.document) == crcs[-1], "5 of 5 strokes"
    assert window.state.project_path == project and window.state.dirty


def test_gui_open_offers_that_documents_work_and_names_the_others(qtbot, tmp_path):
    data = tmp_path / "data"
    x_path, y_path = tmp_path / "x.rpaint", tmp_path / "y.rpaint"
    save_photo_project(x_path)
    save_photo_project(y_path)
    x_crcs = edit_project_and_kill(data, x_path, 2)
    y_crcs = edit_project_and_kill(data, y_path, 3)
    window = make_window(qtbot, tmp_path, autosave=True)
    offers = accept(window)
    window.open_at_start(x_path)  # regionpaint gui --open x.rpaint
    assert len(offers) == 1 and offers[0].startswith("x.rpaint")
    assert label_crc(window.document) == x_crcs[-1]
    assert "1 session" in window.notice.message, "the other document's work is not forgotten"
    window.choose_recovery = lambda parent, descriptions: 0
    window.files.save()
    window.notice.action_button.click()  # Recover…
    assert window.state.project_path == y_path and label_crc(window.document) == y_crcs[-1]


def test_an_editor_that_gets_the_crashed_ones_pid_keeps_its_work(qtbot, tmp_path, monkeypatch):
    """PID namespaces (Flatpak) hand the same pid to the next editor: it must offer, not delete or truncate,
    the crashed one's work, even after editing and closing cleanly."""
    project = tmp_path / "street.rpaint"
    save_photo_project(project)
    data = tmp_path / "data"
    process_pid = []
    from tests import recovery_support

    real_start = recovery_support.start_session

    def start(*args, **kwargs):
        process = real_start(*args, **kwargs)
        process_pid.append(process.pid)
        return process

    monkeypatch.setattr(recovery_support, "start_session", start)
    crcs = edit_project_and_kill(data, project, STROKES)
    monkeypatch.setattr(os, "getpid", lambda: process_pid[0])  # this editor gets the crashed one's pid

    first = make_window(qtbot, tmp_path, face_document(), autosave=True)
    offers = []
    first.ask_recover = lambda parent, what, saved_at: offers.append(what) or "later"
    first.offer_recovery()
    assert len(offers) == 1, "offered although this editor has the crashed one's pid"
    fill_rectangle = __import__("regionpaint.app.model.edits", fromlist=["edits"]).fill_rectangle
    first.state.label_edit(fill_rectangle, (0, 0), (9, 9), 17)
    first.close()  # a normal open, edit and close

    second = make_window(qtbot, tmp_path, autosave=True)
    accept(second)
    assert second.offer_recovery()
    assert label_crc(second.document) == crcs[-1], "5 of 5 strokes survive the other editor's session"
    assert second.state.project_path == project


def test_a_journal_from_another_document_is_never_replayed_onto_this_one(qtbot, tmp_path):
    """Two crashed editors, X and Y. X's journal replaced by Y's (as pid-keyed files could): recovering X gives
    X's snapshot, says the journal belongs to another document, and keeps that journal."""
    data = tmp_path / "data"
    x_path, y_path = tmp_path / "x.rpaint", tmp_path / "y.rpaint"
    save_photo_project(x_path)
    save_photo_project(y_path)
    x_crcs = edit_project_and_kill(data, x_path, 3, snapshot_after=2)
    edit_project_and_kill(data, y_path, 5)  # more records than X's snapshot holds: they would apply on top of it
    items = {item.source.name: item for item in AutosaveStore(autosave_dir(data)).recoverable()}
    assert set(items) == {"x.rpaint", "y.rpaint"}
    foreign = items["y.rpaint"].journal.read_bytes()
    shutil.copyfile(items["y.rpaint"].journal, items["x.rpaint"].journal)

    window = make_window(qtbot, tmp_path, autosave=True)
    window.ask_recover = lambda *_: "later"
    window.offer_recovery()
    listed = []
    window.choose_recovery = lambda parent, descriptions: (
        listed.extend(descriptions)
        or next(index for index, text in enumerate(descriptions) if text.startswith("x.rpaint"))
    )
    assert window.recover_sessions()
    assert window.state.project_path == x_path
    assert label_crc(window.document) == x_crcs[1], "X's snapshot (2 strokes), not Y's document"
    assert "another document" in window.notice.message
    kept = [path for path in autosave_dir(data).iterdir() if path.is_file() and path.read_bytes() == foreign]
    assert len(kept) >= 1, "the foreign journal is kept"


def deep_header(seq: int, settings: dict) -> bytes:
    depth = 100_000  # far past Python's recursion limit
    return framed(b'{"seq": %d, "kind": "edit", "arrays": [], "x": ' % seq + b"[" * depth + b"]" * depth + b"}")


def huge_weight(seq: int, settings: dict) -> bytes:
    settings = dict(settings, default_style=[["photo", int("9" * 400)]])
    return journal_record({"seq": seq, "kind": "edit", "arrays": [], "settings": settings})


@pytest.mark.parametrize("poison", [deep_header, huge_weight], ids=["deep-header", "400-digit-weight"])
def test_a_journal_recovery_cannot_read_is_set_aside_and_said(qtbot, tmp_path, poison):
    project = tmp_path / "street.rpaint"
    save_photo_project(project)
    data = tmp_path / "data"
    crcs = edit_project_and_kill(data, project, 3)
    (item,) = AutosaveStore(autosave_dir(data)).recoverable()
    records = read_records(item.journal)
    settings = next(record.header["settings"] for record in reversed(records) if "settings" in record.header)
    with open(item.journal, "ab") as journal:
        journal.write(poison(records[-1].seq + 1, settings))
    poisoned = item.journal.read_bytes()

    window = make_window(qtbot, tmp_path, autosave=True)
    accept(window)
    assert window.offer_recovery()  # no RecursionError / OverflowError out of the start-up
    assert label_crc(window.document) == crcs[-1], "the edits before the unreadable record are recovered"
    assert "could not be read" in window.notice.message and "kept as" in window.notice.message
    kept = [path for path in autosave_dir(data).iterdir() if path.is_file() and path.read_bytes() == poisoned]
    assert len(kept) == 1, "the journal is kept (renamed), not deleted"
    window.close()

    again = make_window(qtbot, tmp_path, autosave=True)
    offers = accept(again)
    assert not again.offer_recovery() and offers == [], "the next start is not stopped by it again"
