"""Issue 22, item 3: kill -9 of an editor on a photo document, then recovery, gives back the whole document
(every member, every setting, the history), and Ctrl+S after it writes every member back."""

from __future__ import annotations

import zipfile

import numpy as np
from PIL import Image

from regionpaint.app.model.project import open_project
from tests.qt_support import make_window, no_leaked_threads  # noqa: F401
from tests.recovery_support import COMPOSITE, edit_project_and_kill, label_crc, save_photo_project

STROKES = 5


def assert_same_photo_document(doc, original) -> None:
    """Everything but the label map (which the strokes changed) is the original's."""
    np.testing.assert_array_equal(doc.photo, original.photo)
    np.testing.assert_array_equal(doc.baseline, original.baseline)
    np.testing.assert_array_equal(doc.baseline_instance, original.baseline_instance)
    assert doc.is_photo_edit
    assert (doc.composite.mode, doc.composite.band, doc.composite.harmonize) == tuple(COMPOSITE.values())
    assert doc.last_render is not None
    np.testing.assert_array_equal(doc.last_render.image, original.last_render.image)
    np.testing.assert_array_equal(doc.last_render.raw, original.last_render.raw)
    assert doc.last_render.seconds == original.last_render.seconds
    assert doc.engine == original.engine
    assert doc.default_style == original.default_style and doc.region_styles == original.region_styles
    assert list(doc.style_sources) == list(original.style_sources)


def test_kill_9_of_a_photo_document_recovers_every_member_setting_and_the_history(qtbot, tmp_path):
    project = tmp_path / "aachen.rpaint"
    original = save_photo_project(project)
    members_before = set(zipfile.ZipFile(project).namelist())
    assert {"baseline.png", "baseline_instance.png", "render_raw.png"} <= members_before
    crcs = edit_project_and_kill(tmp_path / "data", project, STROKES)
    assert len(crcs) == STROKES and len(set(crcs)) == STROKES, "every stroke painted something"

    window = make_window(qtbot, tmp_path, autosave=True)
    offers = []
    window.ask_recover = lambda parent, what, saved_at: offers.append(what) or True
    assert window.offer_recovery() and len(offers) == 1
    doc = window.document
    assert label_crc(doc) == crcs[-1], "5 of 5 strokes"
    assert_same_photo_document(doc, original)
    assert window.engine_panel.composite_controls.isEnabled(), "Composite is not greyed out"
    assert window.engine_panel.composite_controls.mode.currentData() == "seamless"
    assert len(doc.history.entries) == STROKES and doc.history.index == STROKES, doc.history.entries
    assert window.state.project_path == project and window.state.dirty

    # Ctrl+Z works on the recovered steps: the last stroke comes off, the one before it is there.
    window.state.undo()
    assert label_crc(doc) == crcs[-2]
    window.state.redo()
    assert label_crc(doc) == crcs[-1]

    # Export writes the composite at the photo's size, not the network's 256×128.
    out = tmp_path / "export.png"
    assert window.files.export_result(out)
    assert Image.open(out).size == (original.width, original.height)

    # Ctrl+S writes every member back into the project it came from.
    window.actions["save"].trigger()
    assert not window.state.dirty
    assert members_before <= set(zipfile.ZipFile(project).namelist())
    saved = open_project(project)
    assert label_crc(saved) == crcs[-1]
    assert_same_photo_document(saved, original)


def test_a_snapshot_of_a_photo_document_keeps_its_baseline_composite_and_render(qtbot, tmp_path):
    """Past the snapshot interval the recovery starts from the snapshot: it too holds the whole document."""
    project = tmp_path / "aachen.rpaint"
    original = save_photo_project(project)
    crcs = edit_project_and_kill(tmp_path / "data", project, 3, snapshot_after=2)
    window = make_window(qtbot, tmp_path, autosave=True)
    window.ask_recover = lambda *_: True
    assert window.offer_recovery()
    assert label_crc(window.document) == crcs[-1]
    assert_same_photo_document(window.document, original)
