"""``regionpaint gui --label MAP``: the editor starts on a new document made from a label map alone (no photo, so
the result is the engine's output as it is, never a composite onto a photo). A bad map is one line on the
terminal, before any window opens."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image

from regionpaint.app.commands.gui import label_document
from tests.conftest import REPO
from tests.qt_support import make_window, no_leaked_threads  # noqa: F401


def test_gui_label_names_a_bad_label_map_in_one_line_before_any_window(tmp_path):
    missing = tmp_path / "missing.png"
    result = subprocess.run(
        [sys.executable, "-m", "regionpaint", "gui", "--label", str(missing)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("regionpaint: error: ") and str(missing) in lines[0], lines


def test_gui_label_opens_a_document_without_a_photo(qtbot, tmp_path):
    label = np.zeros((32, 48), np.uint8)
    label[8:24, 12:36] = 13  # hair, a CelebAMask-HQ id
    Image.fromarray(label).save(tmp_path / "label.png")
    document = label_document(str(tmp_path / "label.png"), "celebamask-hq")
    window = make_window(qtbot, tmp_path)
    window.open_at_start(None, document=document)  # what `gui --label` does once the window shows
    doc = window.document
    assert doc is document and doc.photo is None and not doc.is_photo_edit
    assert np.array_equal(doc.label, label) and doc.label_set_id == "celebamask-hq"
