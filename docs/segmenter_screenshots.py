"""Screenshots for starting from any photo: the smart fill on a photo without segmentation, and the fidelity readout.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/segmenter_screenshots.py

1. ``smart-fill-face.png``: the CelebA-HQ fixture photo 28083 opened with File › New from photo and an
   empty map, then the hair, skin and clothes labelled with one smart-fill stroke each (the tool's own path).
2. ``fidelity-readout.png``: the bundled SEAN demo face rendered, next to the Fidelity tab scoring the
   render region by region. No segmenter weights ship with regionpaint: ``DEMO_SEGMENTER_WEIGHTS=FILE``
   names a BiSeNet state dict to use (the committed picture used one trained for 15 CPU minutes by
   ``docs/train_demo_face_parser.py`` on the
   procedural demo faces, not the public face-parsing weights); without it, random weights in the public
   layout are used and every IoU reads 0.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import regionpaint.app.qt  # noqa: E402,F401  (first: installs the PySide6 work-around)
from docs.make_screenshots import WINDOW_SIZE, save_small, wait  # noqa: E402

log = logging.getLogger("segmenter_screenshots")
SHARED = REPO.parent / "shared"
DOCS = Path(__file__).resolve().parent
FACE = SHARED / "refs" / "sean_celebahq" / "datasets" / "CelebA-HQ" / "test" / "images_A" / "28083.jpg"
# One stroke per region, in the photo's pixels (1024x1024), drawn along each region as a person would.
STROKES = {
    "hair": [(296, 256), (401, 127), (480, 40)],
    "skin": [(579, 180), (550, 324), (520, 469)],
    "cloth": [(256, 1003), (212, 1013), (168, 1020)],
}


def make_window(scratch: Path):
    from regionpaint.app.qt.main_window import MainWindow
    from regionpaint.app.qt.settings import EditorSettings

    settings = EditorSettings(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings, data_folder=scratch, autosave=False, remember_window=False)
    window.ask_unsaved = lambda *_: "discard"
    window.resize(*WINDOW_SIZE)
    window.show()
    return window


def wait_until(condition, seconds: float = 300) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        wait(100)
    raise TimeoutError("gave up waiting")


def smart_fill_shot(scratch: Path) -> None:
    from regionpaint.app.qt.dialogs.new_from_photo import NewFromPhotoDialog
    from regionpaint.app.qt.file_actions import label_sets

    window = make_window(scratch)
    dialog = NewFromPhotoDialog(label_sets(), window.settings, window)
    dialog.choose(photo=FACE, segmenter_id="", label_set_id="celebamask-hq")
    dialog.accept()
    window.set_document(dialog.document)
    window.tools.set_tool("smart_fill")
    tool = window.tools.active
    for name, stroke in STROKES.items():
        window.state.set_current_label(window.state.label_set.id_of(name))
        tool.fill(stroke)
        wait_until(lambda: tool.worker is None)
    window.canvas.set_view_mode("labels")
    window.canvas.fit()
    wait(500)
    window.grab().save(str(scratch / "raw.png"))
    window.close()
    save_small(scratch / "raw.png", DOCS / "smart-fill-face.png")


def fidelity_shot(scratch: Path) -> None:
    from bench.segment_speed import LISTINGS, random_weights

    weights = Path(os.environ.get("DEMO_SEGMENTER_WEIGHTS", "")) if os.environ.get("DEMO_SEGMENTER_WEIGHTS") else None
    if weights is None:
        weights = scratch / "bisenet_random.pth"
        random_weights(LISTINGS / "bisenet_keys.txt", weights)
    window = make_window(scratch)
    window.open_project(REPO / "assets" / "demo" / "faces.rpaint")
    window.side_tabs.setCurrentWidget(window.fidelity_panel)
    window.fidelity_panel.choose("bisenet-face", weights)
    window.render_controller.render_now()
    wait_until(lambda: window.document.last_render is not None and not window.render_controller.busy)
    wait_until(lambda: window.fidelity_panel.worker is None and bool(window.fidelity_panel.ious))
    window.fidelity_panel.table.scrollToBottom()  # worst first: the end of the list has the best-kept regions
    wait(500)
    window.grab().save(str(scratch / "raw.png"))
    window.close()
    save_small(scratch / "raw.png", DOCS / "fidelity-readout.png")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not FACE.is_file():
        log.error("%s is missing", FACE)
        return 1
    application = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as scratch:
        smart_fill_shot(Path(scratch))
        fidelity_shot(Path(scratch))
    application.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
