"""Crash safety with real processes: kill -9 of the editor loses at most the stroke in progress, and the
restart offers the work at once (a killed, unreaped editor is a zombie, not a live owner)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

from regionpaint.app.qt.autosave import AutosaveStore, pid_alive
from regionpaint.app.qt.settings import autosave_dir
from tests.editor_crash_session import loop_stroke
from tests.qt_support import face_document, make_window, no_leaked_threads  # noqa: F401
from tests.recovery_support import read_until, start_session

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120


def recover_in_new_editor(qtbot, tmp_path: Path):
    """Start an editor on the same data folder, as a person would after the crash, and accept recovery."""
    window = make_window(qtbot, tmp_path, autosave=True)
    offers = []
    window.ask_recover = lambda parent, what, saved_at: offers.append(what) or True
    assert window.offer_recovery(), "recovery must be offered on the very next start"
    assert len(offers) == 1
    return window


def test_kill_9_mid_stroke_loses_only_that_stroke_and_recovery_is_offered_at_once(qtbot, tmp_path):
    process = start_session(tmp_path / "data", "mouse")
    try:
        lines = read_until(process, "mid-stroke")
        process.send_signal(signal.SIGKILL)
        # Not reaped: the killed editor is a zombie, which must not count as a live owner.
        qtbot.waitUntil(lambda: not pid_alive(process.pid), timeout=5000)
        assert Path(f"/proc/{process.pid}").exists() or sys.platform != "linux"
        window = recover_in_new_editor(qtbot, tmp_path)
    finally:
        process.kill()
        process.wait()
    done = [line for line in lines if line.startswith("done")]
    assert "snapshot" in lines and len(done) == 7
    last_finished = int(done[-1].split()[-1])
    in_progress = int(lines[-1].split()[-1])
    assert in_progress != last_finished, "the stroke in progress had painted something"
    doc = window.document
    assert zlib.crc32(doc.label.tobytes()) == last_finished, "every finished stroke is recovered"
    assert doc.region_styles[13] == (("B", 1.0),) and "B" in doc.style_sources
    assert window.state.dirty


def test_kill_9_at_an_arbitrary_moment_loses_at_most_one_stroke(qtbot, tmp_path):
    process = start_session(tmp_path / "data", "loop")
    try:
        read_until(process, "done 25 ")
        process.send_signal(signal.SIGKILL)
        rest = process.stdout.read().split("\n")  # what it printed before the kill landed
        window = recover_in_new_editor(qtbot, tmp_path)
    finally:
        process.kill()
        process.wait()
    printed = (
        max(int(line.split()[1]) for line in rest if line.startswith("done"))
        if any(line.startswith("done") for line in rest)
        else 25
    )
    expected = face_document()
    states = {}
    for number in range(printed + 1):
        loop_stroke(expected, number)
        states[number + 1] = expected.label.copy()
    recovered = window.document.label
    matches = [count for count, label in states.items() if np.array_equal(label, recovered)]
    # The last stroke reported, or the one after it (journaled, killed before it printed).
    assert matches and matches[-1] >= printed, (matches, printed)


def test_kill_9_during_project_save_leaves_the_previous_file_intact(tmp_path):
    from regionpaint.app.model.project import open_project, save_project

    path = tmp_path / "work.rpaint"
    doc = face_document(1024, 768)
    save_project(doc, path)
    before = path.read_bytes()
    script = (
        "import sys, numpy as np\n"
        "from regionpaint.app.model.project import save_project\n"
        "from tests.qt_support import face_document\n"
        "doc = face_document(1024, 768)\n"
        "doc.label[:] = 5\n"
        "doc.photo = np.random.default_rng(1).integers(0, 255, doc.photo.shape, dtype=np.uint8)\n"
        "print('saving', flush=True)\n"
        "while True:\n"
        "    save_project(doc, sys.argv[1])\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for delay in (0.05, 0.2, 0.4):
        process = subprocess.Popen(
            [sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO
        )
        assert process.stdout.readline().strip() == "saving"
        import time

        time.sleep(delay)  # somewhere inside a save (each takes ~0.1-0.3 s)
        process.send_signal(signal.SIGKILL)
        process.wait()
        opened = open_project(path)  # whole and valid: either the old file or a completed new one
        assert opened.label.shape == (768, 1024)
        assert set(np.unique(opened.label)) in ({5}, set(np.unique(doc.label)))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "work.rpaint"]
    assert all(name.startswith(".work.rpaint.") for name in leftovers)  # temp files only, never the target
    assert before  # the first version was a complete file too


def test_a_zombie_and_a_reused_pid_are_not_live_owners(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    import time

    deadline = time.time() + 10
    while time.time() < deadline and Path(f"/proc/{process.pid}/stat").exists():
        if Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.02)
    if sys.platform == "linux":
        assert not pid_alive(process.pid), "an exited child nobody reaped yet is a zombie, not a running editor"
    process.wait()
    assert pid_alive(os.getpid())
    assert not pid_alive(os.getpid(), start_ticks=1) or sys.platform != "linux", "another process with my pid"
    store = AutosaveStore(autosave_dir(tmp_path), pid=process.pid)
    store.start_session()
    store.save(face_document(), None)
    store.abandon()  # the process is gone: the kernel let go of its session lock
    assert [item.autosave for item in AutosaveStore(autosave_dir(tmp_path)).recoverable()] == [store.autosave_file]
