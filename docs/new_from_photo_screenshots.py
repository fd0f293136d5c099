"""Screenshots of File › New from photo without segmenter weights, and of a photo alone awaiting its labels.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/new_from_photo_screenshots.py

1. ``new-from-photo-no-weights.png``: the dialog with BiSeNet chosen and no weights installed (where to get
   them, and that smart fill needs none), above the same dialog after OK with DRN-D-105, whose weights have
   no download left.
2. ``new-from-photo-accept-labels.png``: the bundled demo face's photo started as an empty map, its hair
   and skin labelled with a smart-fill stroke each, and the bar that turns the labels into the photo's segmentation.

A scratch data folder stands in for the user's, so no installed weights are found.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import regionpaint.app.qt  # noqa: E402,F401  (first: installs the PySide6 work-around)
from docs.make_screenshots import save_small, wait  # noqa: E402
from docs.segmenter_screenshots import make_window, wait_until  # noqa: E402

log = logging.getLogger("new_from_photo_screenshots")
DOCS = Path(__file__).resolve().parent
HAIR, SKIN = 13, 1


def dialog_shot(scratch: Path) -> None:
    from regionpaint.app.qt.dialogs.new_from_photo import NewFromPhotoDialog
    from regionpaint.app.qt.file_actions import label_sets
    from regionpaint.app.qt.settings import EditorSettings

    settings = EditorSettings(QSettings(str(scratch / "dialog.ini"), QSettings.Format.IniFormat))
    photo = scratch / "photo.png"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(photo)
    shots = []
    for segmenter, press_ok in (("bisenet-face", False), ("drn-d-105", True)):
        dialog = NewFromPhotoDialog(label_sets(), settings)
        dialog.choose(photo=photo, segmenter_id=segmenter)
        dialog.resize(640, 10)
        dialog.show()
        if press_ok:
            dialog.accept()
        wait(200)
        dialog.adjustSize()
        wait(200)
        raw = scratch / f"dialog-{segmenter}.png"
        dialog.grab().save(str(raw))
        shots.append(Image.open(raw).convert("RGB"))
        dialog.close()
    width = max(shot.width for shot in shots)
    sheet = Image.new("RGB", (width, sum(shot.height for shot in shots) + 12), "white")
    top = 0
    for shot in shots:
        sheet.paste(shot, (0, top))
        top += shot.height + 12
    sheet.save(DOCS / "new-from-photo-no-weights.png", optimize=True)
    log.info("new-from-photo-no-weights.png: %dx%d", sheet.width, sheet.height)


def accept_labels_shot(scratch: Path) -> None:
    from regionpaint.app.bundled_demo import FACE_DEMO
    from regionpaint.app.model import edits
    from regionpaint.app.model.project import open_project
    from regionpaint.app.qt.dialogs.new_from_photo import EMPTY_MAP, NewFromPhotoDialog
    from regionpaint.app.qt.file_actions import label_sets

    demo = open_project(FACE_DEMO)
    photo = scratch / "face.png"
    Image.fromarray(demo.photo).save(photo)
    window = make_window(scratch)
    window.render_controller.auto_render = False  # the labels are the point here
    dialog = NewFromPhotoDialog(label_sets(), window.settings, window)
    dialog.choose(photo=photo, segmenter_id=EMPTY_MAP, label_set_id="celebamask-hq")
    dialog.accept()
    doc = dialog.document
    edits.set_engine_settings(doc, engine_id=demo.engine.engine_id, checkpoint=demo.engine.checkpoint)
    doc.history.clear()
    window.set_document(doc)
    window.photo_labels_bar.offer()  # as File › New from photo does
    window.tools.set_tool("smart_fill")
    tool = window.tools.active
    for class_id, where in ((HAIR, 0.1), (SKIN, 0.5)):  # a stroke along the top of the hair, one across the face
        rows, cols = np.nonzero(demo.label == class_id)
        row = int(np.quantile(rows, where))
        xs = sorted(cols[rows == row])
        window.state.set_current_label(class_id)
        tool.fill([(float(x) + 0.5, row + 0.5) for x in xs[len(xs) // 4 : 3 * len(xs) // 4 : 4]])
        wait_until(lambda: tool.worker is None)
    window.canvas.set_view_mode("labels")
    window.canvas.fit()
    wait(500)
    window.grab().save(str(scratch / "raw.png"))
    save_small(scratch / "raw.png", DOCS / "new-from-photo-accept-labels.png")
    window.close()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    application = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["REGIONPAINT_DATA_DIR"] = str(Path(scratch) / "data")  # nothing installed
        dialog_shot(Path(scratch))
        accept_labels_shot(Path(scratch))
    application.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
