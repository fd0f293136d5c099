"""Make the editor screenshots in docs/ from procedural demo documents and the reference checkpoints in ../shared.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_screenshots.py

Builds two documents from the procedural generator (tools.demo: a street scene rendered by the SPADE
reference checkpoint; a face with two style sources rendered by the SEAN reference checkpoint), opens
each in the editor, waits for the render, and saves a reduced screenshot (< 300 KB) next to this file.
The reference checkpoints are tiny random-weight networks, so the renders look like textured noise.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402
from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import regionpaint.app.qt  # noqa: E402,F401  (first: installs the PySide6 work-around)
from regionpaint.app.model import Document, StyleSourceData, edits  # noqa: E402
from regionpaint.app.model.labelsets import CELEBAMASK_HQ, CITYSCAPES  # noqa: E402
from tools.demo import make_face, make_street  # noqa: E402

log = logging.getLogger("make_screenshots")
SHARED = REPO.parent / "shared"
DOCS = Path(__file__).resolve().parent
WINDOW_SIZE = (1440, 900)
SAVED_WIDTH = 1440
MAX_BYTES = 300_000
HAIR = 13


def street_document():
    street = make_street(seed=3, size=(1024, 512))
    doc = Document(street.label, CITYSCAPES.id, photo=street.photo, instance=street.instance)
    checkpoint = SHARED / "refs" / "spade_cityscapes" / "checkpoints" / "spade_cityscapes"
    edits.set_engine_settings(doc, checkpoint=str(checkpoint), device="cpu")
    # A visible edit: a patch of grass painted over the road.
    edits.fill_polygon(doc, CITYSCAPES, [(380, 440), (640, 430), (700, 505), (330, 510)], 22)
    return doc


def face_document():
    face = make_face(seed=4, size=512)
    doc = Document(face.label, CELEBAMASK_HQ.id, photo=face.photo, instance=None)
    for name, seed in (("A", 4), ("B", 9)):
        source = make_face(seed=seed, size=512)
        edits.add_style_source(doc, name, StyleSourceData(source.photo, source.label, None, f"face {seed}"))
    edits.assign_style(doc, CELEBAMASK_HQ, (("A", 1.0),))
    edits.assign_style(doc, CELEBAMASK_HQ, (("A", 0.3), ("B", 0.7)), [HAIR])
    edits.set_crossover(doc, "up_2", "B")
    checkpoint = SHARED / "refs" / "sean_celebahq" / "checkpoints" / "sean_celebahq"
    edits.set_engine_settings(doc, checkpoint=str(checkpoint), device="cpu", noise=False)
    return doc


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def shoot(doc, out: Path, scratch: Path, select: list[int] | None = None) -> None:
    from regionpaint.app.qt.main_window import MainWindow
    from regionpaint.app.qt.settings import EditorSettings

    settings = EditorSettings(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings, data_folder=scratch, autosave=False, remember_window=False)
    window.ask_unsaved = lambda *_: "discard"
    window.resize(*WINDOW_SIZE)
    window.show()
    window.set_document(doc)
    window.render_controller.render_now()
    for _ in range(1200):  # at most two minutes
        wait(100)
        if not window.render_controller.busy:
            break
    if select:
        window.regions_panel.select_regions(select)
    wait(400)
    path = scratch / "raw.png"
    window.grab().save(str(path))
    window.close()
    save_small(path, out)


def save_small(raw: Path, out: Path) -> None:
    """Downscale and quantise until the PNG is under MAX_BYTES."""
    image = Image.open(raw).convert("RGB")
    width = SAVED_WIDTH
    while True:
        small = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
        # Octree keeps the UI's and the label map's flat colours exact; photos posterise a little.
        small.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)
        if out.stat().st_size <= MAX_BYTES or width < 800:
            break
        width -= 80
    log.info("%s: %dx%d, %d KB", out.name, width, small.height, out.stat().st_size // 1000)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not SHARED.is_dir():
        log.error("%s is missing: the screenshots are made from its samples", SHARED)
        return 1
    application = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as scratch:
        shoot(street_document(), DOCS / "editor-cityscapes-spade.png", Path(scratch))
        shoot(face_document(), DOCS / "editor-faces-sean.png", Path(scratch), select=[HAIR])
    application.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
