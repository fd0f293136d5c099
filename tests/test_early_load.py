"""The editor's head start (app/render/early_load.py): `gui --open DOC` loads torch and DOC's checkpoint on a
background thread while the window is built, and the render thread renders from what it loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from regionpaint.app.bundled_demo import DEMO_MODELS_DIR, FACE_DEMO
from regionpaint.app.render.early_load import THREAD_NAME, planned_checkpoint
from tests.conftest import REPO
from tests.qt_support import NOTE_TORCH_IMPORTERS

needs_demo = pytest.mark.skipif(not FACE_DEMO.is_file(), reason=f"{FACE_DEMO} is not built")


@needs_demo
def test_the_plan_is_the_checkpoint_the_document_names_resolved_beside_it():
    engine_id, checkpoint, device = planned_checkpoint(FACE_DEMO)
    assert (engine_id, device) == ("sean", "auto")
    assert checkpoint == str((DEMO_MODELS_DIR / "sean_faces.safetensors").resolve())


def test_no_plan_for_what_is_not_a_readable_project(tmp_path):
    text = tmp_path / "notes.rpaint"
    text.write_text("not a zip")
    assert planned_checkpoint(text) is None
    no_checkpoint = tmp_path / "empty.rpaint"
    with zipfile.ZipFile(no_checkpoint, "w") as archive:
        archive.writestr("doc.json", json.dumps({"engine": {"engine_id": "sean", "checkpoint": ""}}))
    assert planned_checkpoint(no_checkpoint) is None
    os.mkfifo(tmp_path / "fifo.rpaint")  # never blocks: untrusted.open_regular refuses it
    assert planned_checkpoint(tmp_path / "fifo.rpaint") is None


# In a fresh interpreter: the head start, then what the render thread does first (warm-up), then a render.
HEAD_START = (
    NOTE_TORCH_IMPORTERS
    + r"""
import threading
from pathlib import Path
from regionpaint.app.render import early_load
from regionpaint.app.render.service import default_service
from regionpaint.app.qt.workers.render_worker import WarmUp, warm_up_steps

assert "torch" not in sys.modules
assert early_load.start(Path(sys.argv[1])) is True
assert early_load.start(Path(sys.argv[1])) is False  # once per process
engine_id, checkpoint, device = early_load.planned_checkpoint(Path(sys.argv[1]))
steps = warm_up_steps(WarmUp(engine_id, checkpoint, device))  # waits for the head start, then finds it loaded
try:
    while True:
        next(steps)
except StopIteration as done:
    outcome = done.value
print(json.dumps({"importers": sorted(set(importers)), "held": default_service().holds(engine_id, checkpoint, device),
                  "warm_ok": outcome.ok, "loaded_early": "checkpoint_loaded" in early_load.times}))
"""
)


@needs_demo
def test_the_head_start_imports_torch_off_the_main_thread_and_leaves_the_checkpoint_loaded(tmp_path):
    env = {**os.environ, "REGIONPAINT_LOAD_PLUGINS": "", "REGIONPAINT_DATA_DIR": str(tmp_path / "data")}
    code = "import json\n" + HEAD_START
    done = subprocess.run([sys.executable, "-c", code, str(FACE_DEMO)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["importers"] == [THREAD_NAME], report
    assert report == {**report, "held": True, "warm_ok": True, "loaded_early": True}


# The real `gui --demo` with the start-up probe: the head start's thread imports torch, the first render follows.
GUI_RUN = (
    NOTE_TORCH_IMPORTERS
    + r"""
from regionpaint.app.cli import main
status = main(["gui", "--demo"])
print("torch imported by:", sorted(set(importers)))
sys.exit(status)
"""
)


@pytest.mark.slow
@needs_demo
def test_gui_demo_imports_torch_on_the_head_start_thread_and_renders(tmp_path):
    out = tmp_path / "probe.json"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "REGIONPAINT_DATA_DIR": str(tmp_path / "data"),
        "REGIONPAINT_STARTUP_PROBE": str(out),
    }
    done = subprocess.run([sys.executable, "-c", GUI_RUN], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    importers = next(line for line in done.stdout.splitlines() if line.startswith("torch imported by:"))
    assert importers == f"torch imported by: ['{THREAD_NAME}']"
    times = json.loads(out.read_text())["times"]
    assert times["early_checkpoint_loaded"] <= times["first_render"] <= times["first_exact"]
