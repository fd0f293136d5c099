"""Photo editing in the editor, with the bundled SEAN face demo (a photo being edited): renders are composited
onto the photo, the blend controls recomposite without running the network, the edit mask can be shown, and
the export is the composite at the photo's resolution."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QAction

from regionpaint.app.model import edits
from regionpaint.app.model.labelsets import CELEBAMASK_HQ
from tests.qt_support import face_demo_document, face_document, make_window, no_leaked_threads  # noqa: F401
from tests.test_qt_render import wait_for_render

HAIR, BACKGROUND = 13, 0


@pytest.fixture
def demo_doc():
    return face_demo_document()


def _first(mask: np.ndarray) -> tuple[int, int]:
    rows, cols = np.nonzero(mask)
    return int(cols[len(cols) // 2]), int(rows[len(rows) // 2])


def far_from(doc, class_id: int, distance: int = 24) -> np.ndarray:
    from regionpaint.app.model.edit_mask import grow_mask

    return ~grow_mask(doc.label == class_id, distance)


def test_the_face_demo_edits_its_photo(qtbot, tmp_path, demo_doc):
    window = make_window(qtbot, tmp_path, demo_doc)
    doc, controls = window.document, window.engine_panel.composite_controls
    wait_for_render(qtbot, window)
    assert controls.isEnabled() and controls.mode.currentData() == "feather"
    # Nothing edited yet: the composite is the photo itself, the network's output is kept beside it.
    np.testing.assert_array_equal(doc.last_render.image, doc.photo)
    assert doc.last_render.raw is not None and doc.last_render.raw.shape[0] < doc.photo.shape[0]

    window.state.edit(edits.assign_style, CELEBAMASK_HQ, (("B", 1.0),), [HAIR])
    wait_for_render(qtbot, window)
    image, raw = doc.last_render.image, doc.last_render.raw
    far = far_from(doc, HAIR)
    np.testing.assert_array_equal(image[far], doc.photo[far])
    hair = doc.label == HAIR
    assert np.abs(image[hair].astype(int) - doc.photo[hair]).mean() > 20

    # Seamless instead of feather: recomposited from the kept output, no new render.
    started = []
    window.render_controller.renderStarted.connect(started.append)
    controls.mode.setCurrentIndex(controls.mode.findData("seamless"))
    controls.mode.activated.emit(controls.mode.currentIndex())
    assert doc.composite.mode == "seamless" and doc.history.entries[-1] == "Compositing"
    assert doc.last_render.raw is raw and not np.array_equal(doc.last_render.image, image)
    np.testing.assert_array_equal(doc.last_render.image[far], doc.photo[far])
    controls.mode.setCurrentIndex(controls.mode.findData("off"))
    controls.mode.activated.emit(controls.mode.currentIndex())
    np.testing.assert_array_equal(doc.last_render.image, raw)  # off: the network's own output
    qtbot.wait(400)
    assert started == []

    # The edit mask over the canvas: the hair, grown by the engine's reach.
    menu_action = next(a for a in window.menuBar().findChildren(QAction) if a.text() == "Show &edit mask")
    menu_action.trigger()  # View > Show edit mask, the same switch as the panel's
    assert controls.show_mask.isChecked()
    item = window.canvas.edit_mask_item
    assert item.isVisible() and (item.pixmap().width(), item.pixmap().height()) == doc.size
    from regionpaint.app.render.photo_edit import document_edit_mask

    shown = document_edit_mask(doc, window.state.render_capabilities, (raw.shape[1], raw.shape[0]))
    assert shown[hair].all() and not shown[far].any()
    assert item.pixmap().toImage().pixelColor(*_first(hair)).alpha() > 0  # tinted where the hair is

    # Export: the composite at the photo's resolution.
    window.state.undo()  # back to seamless (the undo recomposites too)
    assert doc.composite.mode == "seamless" and doc.last_render.raw is not None
    np.testing.assert_array_equal(doc.last_render.image[far], doc.photo[far])
    out = tmp_path / "result.png"
    assert window.files.export_result(out)
    exported = np.asarray(Image.open(out).convert("RGB"))
    assert exported.shape == doc.photo.shape
    np.testing.assert_array_equal(exported, doc.last_render.image)


def test_compositing_controls_are_off_for_documents_without_a_photo(qtbot, tmp_path):
    doc = face_document()
    doc.photo = None
    window = make_window(qtbot, tmp_path, doc)
    assert not window.engine_panel.composite_controls.isEnabled()
