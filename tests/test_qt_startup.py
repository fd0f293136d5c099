"""Start-up: the window appears without torch, torch loads on the render thread, ``gui --screenshot`` works."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PIL import Image

from regionpaint.app.model import save_project
from tests.conftest import REPO
from tests.qt_support import NOTE_TORCH_IMPORTERS, face_document, no_leaked_threads, street_document  # noqa: F401

# Renders full-size reference networks, trains or starts processes: `./dev test -m "not slow"` skips it.
pytestmark = pytest.mark.slow

# Runs in a fresh interpreter: notes which thread imports torch, builds the window, lets it try to render.
START_WINDOW = (
    NOTE_TORCH_IMPORTERS
    + r"""
import numpy as np

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from regionpaint.app.model import edits
from regionpaint.app.model.document import Document
from regionpaint.app.qt.main_window import MainWindow
from regionpaint.app.qt.settings import EditorSettings

app = QApplication([])
doc = Document(np.zeros((32, 32), np.uint8), "celebamask-hq")
edits.set_engine_settings(doc, checkpoint=sys.argv[1], device="cpu")
settings = EditorSettings(QSettings(sys.argv[2], QSettings.Format.IniFormat))
window = MainWindow(doc, settings=settings, autosave=False)
window.show()
app.processEvents()
print("torch after the window:", "torch" in sys.modules)
failed = []
window.render_controller.renderFailed.connect(failed.append)
while not failed:
    app.processEvents()
window.close()
print("torch imported by:", importers)
print("message:", failed[0])
"""
)


def run_python(code: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "REGIONPAINT_LOAD_PLUGINS": ""}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_window_appears_without_torch_and_the_render_thread_imports_it(tmp_path):
    result = run_python(START_WINDOW, str(tmp_path / "missing_checkpoint"), str(tmp_path / "settings.ini"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "torch after the window: False" in lines
    importers = next(line for line in lines if line.startswith("torch imported by:"))
    assert "MainThread" not in importers and "[]" not in importers, importers
    assert "missing_checkpoint" in next(line for line in lines if line.startswith("message:"))


def test_gui_screenshot_renders_the_document_first(tmp_path):
    project = tmp_path / "street.rpaint"
    save_project(street_document(), project)
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "REGIONPAINT_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "regionpaint", "--debug", "gui", "--open", str(project), "--screenshot", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with Image.open(out) as image:
        assert image.size[0] >= 1000 and image.size[1] >= 600
    assert "rendered by spade" in result.stderr, "the screenshot waited for the render"
    assert not (tmp_path / "data" / "autosave").exists(), "a screenshot run leaves no autosave behind"


def test_gui_screenshot_without_a_checkpoint(tmp_path):
    project = tmp_path / "plain.rpaint"
    save_project(face_document(), project)
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "REGIONPAINT_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "regionpaint", "gui", "--open", str(project), "--screenshot", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.is_file()


def test_many_qt_calls_do_not_exhaust_the_references_to_none():
    """PySide6 6.12.0 on CPython 3.11 drops a reference to None per void call
    (see regionpaint.app.qt.pyside_workarounds)."""
    code = (
        "import regionpaint.app.qt, sys\n"
        "from PySide6.QtCore import QObject\n"
        "probe = QObject()\n"
        "for _ in range(50_000):\n"
        "    probe.setObjectName('x')\n"
        "print('alive')\n"
    )
    result = run_python(code)
    assert result.returncode == 0 and "alive" in result.stdout, result.stderr[-2000:]
