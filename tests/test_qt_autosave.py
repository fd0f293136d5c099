"""Autosave and crash recovery: saves while dirty, nothing left after a clean exit, recovery offered once."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from regionpaint.app.model import edits, open_project
from regionpaint.app.model.labelsets import CELEBAMASK_HQ
from regionpaint.app.model.project import save_project
from regionpaint.app.qt.autosave import AutosaveStore, pid_alive
from regionpaint.app.qt.settings import autosave_dir
from tests.qt_support import face_document, make_window, no_leaked_threads  # noqa: F401


def dead_pid() -> int:
    """The id of a process that has exited (a crashed editor, as far as the store can tell)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def crashed_session(folder, painted_label: int = 17):
    """Leave the files a crashed editor leaves: its session file and an autosave of an edited document."""
    store = AutosaveStore(folder, pid=dead_pid())
    store.start_session()
    doc = face_document()
    edits.fill_rectangle(doc, CELEBAMASK_HQ, (0, 0), (9, 9), painted_label)
    store.save(doc, None)
    store.abandon()  # the process is gone: the kernel let go of its session lock
    return store, doc


def test_autosave_writes_while_dirty_and_a_clean_exit_removes_it(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document(), autosave=True)
    manager = window.autosave
    store = manager.store
    assert store.session_file.is_file() and not store.autosave_file.exists()
    assert not manager.autosave_now(wait=True), "nothing to save while the document is unchanged"
    edits.fill_rectangle(window.document, CELEBAMASK_HQ, (0, 0), (5, 5), 17)
    assert manager.autosave_now(wait=True)
    assert np.array_equal(open_project(store.autosave_file).label, window.document.label)
    assert not manager.autosave_now(wait=True), "no second save without a new change"
    assert json.loads(store.session_file.read_text())["saved"] is not None
    window.close()
    assert not store.autosave_file.exists() and not store.session_file.exists()


def test_a_crashed_session_is_offered_and_recovered(qtbot, tmp_path):
    folder = autosave_dir(tmp_path / "data")
    crashed, crashed_doc = crashed_session(folder)
    window = make_window(qtbot, tmp_path, autosave=True)
    offers = []
    window.ask_recover = lambda parent, what, saved_at: offers.append(what) or True
    assert window.offer_recovery()
    assert len(offers) == 1 and offers[0].startswith("Untitled — unsaved work from")
    assert np.array_equal(window.document.label, crashed_doc.label)
    assert window.state.dirty, "recovered work is unsaved work"
    assert not crashed.autosave_file.exists() and not crashed.session_file.exists()
    assert not window.offer_recovery(), "offered once"


def test_declining_recovery_deletes_the_autosave(qtbot, tmp_path):
    folder = autosave_dir(tmp_path / "data")
    crashed, _ = crashed_session(folder)
    window = make_window(qtbot, tmp_path, autosave=True)
    window.ask_recover = lambda *_: False
    assert not window.offer_recovery()
    assert window.document is None
    assert not crashed.autosave_file.exists()


def test_sessions_that_are_still_running_are_not_offered(tmp_path):
    alive = AutosaveStore(tmp_path, pid=dead_pid())  # its pid is gone, but it holds its session lock: it runs
    alive.start_session()
    alive.save(face_document(), None)
    mine = AutosaveStore(tmp_path)
    assert mine.recoverable() == []
    clean = AutosaveStore(tmp_path, pid=dead_pid())
    clean.start_session()  # crashed before there was anything to save
    clean.abandon()
    assert mine.recoverable() == []
    assert not clean.session_file.exists() and not clean.lock_file.exists(), "stale session files are tidied away"
    alive.end_session()


def test_session_files_of_older_versions_are_told_apart_by_pid(tmp_path):
    """Before session ids, files were named by the pid and had no lock: the pid and its start time decide."""
    running, gone = 1, dead_pid()  # pid 1 always runs
    for pid in (running, gone):
        (tmp_path / f"session-{pid}.json").write_text(json.dumps({"pid": pid, "source": None, "snapshot_seq": 0}))
        save_project(face_document(), tmp_path / f"autosave-{pid}.rpaint")
    assert pid_alive(running)
    items = AutosaveStore(tmp_path).recoverable()
    assert [item.autosave.name for item in items] == [f"autosave-{gone}.rpaint"]


def test_the_snapshot_timer_counts_from_the_first_unsaved_edit(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document(), autosave=True)
    manager = window.autosave
    timer = manager._timer
    qtbot.wait(50)
    assert not timer.isActive(), "no countdown while nothing is unsaved"
    window.state.label_edit(edits.fill_rectangle, (0, 0), (5, 5), 17)
    assert timer.isActive() and timer.remainingTime() > timer.interval() - 1000
    assert manager.store.journal_file.is_file(), "the edit is journaled at once, before any snapshot"
    assert not manager.store.autosave_file.exists()
    window.close()
    assert not manager.store.journal_file.exists()


def test_saving_the_document_discards_its_journal(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, face_document(), autosave=True)
    store = window.autosave.store
    window.state.label_edit(edits.fill_rectangle, (0, 0), (5, 5), 17)
    assert store.journal_file.is_file()
    window.state.set_dirty(False)  # what a successful save does
    assert not store.journal_file.exists() and not store.autosave_file.exists()
    assert not window.autosave._timer.isActive()


def test_file_recover_lists_sessions_again_after_later(qtbot, tmp_path):
    folder = autosave_dir(tmp_path / "data")
    crashed, crashed_doc = crashed_session(folder)
    window = make_window(qtbot, tmp_path, autosave=True)
    window.ask_recover = lambda *_: "later"
    assert not window.offer_recovery()
    assert crashed.autosave_file.exists(), "Later keeps the work for File › Recover…"
    listed = []
    window.choose_recovery = lambda parent, descriptions: listed.extend(descriptions) or 0
    assert window.actions["recover"].text().startswith("Re&cover")
    window.actions["recover"].trigger()
    assert len(listed) == 1 and "Untitled" in listed[0]
    assert np.array_equal(window.document.label, crashed_doc.label)
    assert not crashed.autosave_file.exists()
    listed.clear()
    window.choose_recovery = lambda parent, descriptions: listed.extend(descriptions) or None
    assert not window.recover_sessions() and listed == []
